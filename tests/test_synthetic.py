import dataclasses
import json
import shutil

import numpy as np
import pytest

from avvp_lib.data.splits import load_split
from avvp_lib.synthetic.llp_statistics import derive_statistics, load_statistics
from avvp_lib.synthetic.world import SIZES, WORLD_FILE, LabelSampler, WorldConfig, _place_runs, build_world, is_synthetic


def test_smoke_world_is_llp_format(smoke_world):
    counts = dict(zip(("train", "val", "test"), SIZES["smoke"]))
    for split, n in counts.items():
        s = load_split(smoke_world, split, ("vggish", "res152", "r2plus1d_18", "clip_vitb16", "clip_vitb32"), progress=False)
        assert len(s) == n and s.gt_visual.shape == (n, 10, 25)
        assert (s.labels == (s.gt_audio | s.gt_visual).max(1)).all()
    assert json.loads((smoke_world / WORLD_FILE).read_text())["synthetic"] is True
    assert is_synthetic(smoke_world)


def test_deterministic_per_seed(tmp_path, smoke_world):
    other = build_world(tmp_path / "w", WorldConfig(size="smoke"), progress=False)
    for name in ("AVVP_train.csv", "AVVP_eval_visual.csv", "synthetic_train_eval_audio.csv"):
        assert (other / name).read_text() == (smoke_world / name).read_text()
    for kind in ("clip_vitb16", "res152"):
        np.testing.assert_array_equal(np.load(other / "feats" / kind / "sv000000007.npy"),
                                      np.load(smoke_world / "feats" / kind / "sv000000007.npy"))
    third = build_world(tmp_path / "w2", WorldConfig(size="smoke", seed=1), progress=False)
    assert (third / "AVVP_train.csv").read_text() != (smoke_world / "AVVP_train.csv").read_text()


def test_interrupted_build_resumes(tmp_path, monkeypatch, smoke_world):
    import avvp_lib.synthetic.world as world

    real, calls = world.FeatureSampler.sample, {"n": 0}

    def interrupt_after_ten(self, *args):
        calls["n"] += 1
        if calls["n"] > 10:
            raise KeyboardInterrupt
        return real(self, *args)

    monkeypatch.setattr(world.FeatureSampler, "sample", interrupt_after_ten)
    with pytest.raises(KeyboardInterrupt):
        build_world(tmp_path / "w", WorldConfig(size="smoke"), progress=False)
    assert json.loads((tmp_path / "w" / WORLD_FILE).read_text())["complete"] is False
    monkeypatch.undo()
    out = build_world(tmp_path / "w", WorldConfig(size="smoke"), progress=False)
    assert json.loads((out / WORLD_FILE).read_text())["complete"] is True
    for name in ("feats/vggish/st000000003.npy", "feats/res152/se000000079.npy"):  # before / after the interrupt
        np.testing.assert_array_equal(np.load(out / name), np.load(smoke_world / name))
    assert (out / "AVVP_eval_audio.csv").read_text() == (smoke_world / "AVVP_eval_audio.csv").read_text()


def test_a_world_folder_belongs_to_one_world(tmp_path, smoke_world):
    from avvp_lib.synthetic.world import WorldMismatchError

    out = tmp_path / "w"  # the seed-0 smoke world's manifest and labels (no need to build it again)
    out.mkdir()
    for name in (WORLD_FILE, "AVVP_train.csv"):
        shutil.copy(smoke_world / name, out)
    assert build_world(out, WorldConfig(size="smoke"), progress=False) == out  # the same world: nothing to do
    before = (out / "AVVP_train.csv").read_text()
    with pytest.raises(WorldMismatchError, match="seed 0.*not .*seed 1.*w_seed1"):
        build_world(out, WorldConfig(size="smoke", seed=1), progress=False)
    assert (out / "AVVP_train.csv").read_text() == before  # nothing of the seed-1 world written
    assert json.loads((out / WORLD_FILE).read_text())["config"]["seed"] == 0
    noisier = dataclasses.replace(WorldConfig(size="smoke").model, noise_audio=9.0)  # e.g. a new calibration
    with pytest.raises(WorldMismatchError, match="another feature model.*calibration.json"):
        build_world(out, WorldConfig(size="smoke", model=noisier), progress=False)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "AVVP_train.csv").write_text("filename\tevent_labels\n")
    with pytest.raises(WorldMismatchError, match="holds no synthetic world manifest"):
        build_world(tmp_path / "other", WorldConfig(size="smoke"), progress=False)


def test_cli_synth_refuses_another_seed(tmp_path, capsys, smoke_world):
    from avvp_lib.__main__ import main

    (tmp_path / "w").mkdir()
    shutil.copy(smoke_world / WORLD_FILE, tmp_path / "w")
    assert main(["synth", "--size", "smoke", "--seed", "1", "--out", str(tmp_path / "w")]) == 2
    assert "holds the synthetic world" in capsys.readouterr().err


def test_notebook_seed_builds_its_own_folder(monkeypatch, tmp_path):
    import avvp_lib.notebook as notebook

    built = []
    monkeypatch.setattr(notebook, "build_world", lambda root, cfg: built.append((root, cfg.seed)))
    session = notebook.setup(profile="smoke", device="cpu", seed=1)
    assert built == [(session.data_dir, 1)] and session.data_dir.name == "synthetic_smoke_seed1"


def test_label_statistics_follow_llp():
    stats = load_statistics()
    sampler = LabelSampler(stats)
    rng = np.random.default_rng(0)
    labels = np.array([(a | v).max(0) for a, v in (sampler.sample(rng) for _ in range(2000))])
    real = np.zeros(25)
    total = 0
    for s, n in stats["label_sets"]["sets"]:
        real[s] += n
        total += n
    assert abs(labels.sum(1).mean() - real.sum() / total) < 0.1  # labels per video
    assert np.corrcoef(labels.mean(0), real / total)[0, 1] > 0.95  # class frequencies


def test_statistics_file_matches_the_real_annotations(llp_dir):
    derived = derive_statistics(llp_dir)
    assert derived == load_statistics()


@pytest.mark.parametrize("n, k", [(1, 1), (4, 2), (10, 3), (6, 4), (5, 5)])
def test_place_runs(n, k):
    seq = _place_runs(np.random.default_rng(n * 10 + k), n, k)
    assert seq.sum() == n and len(seq) == 10


def test_unknown_size():
    with pytest.raises(ValueError, match="unknown world size"):
        WorldConfig(size="huge").counts
