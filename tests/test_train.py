import dataclasses
import json

import pytest

from avvp_lib.config import DataConfig, RunConfig, TrainConfig, config_hash, from_dict, to_dict
from avvp_lib.methods import LSLDConfig, VPLANConfig
import avvp_lib.train as trainer
from avvp_lib.train import train

TINY = TrainConfig(epochs=2, batch_size=32, lr=3e-4, step_size=1, gamma=0.5, seed=3)


@pytest.fixture
def cfg(smoke_world):
    return RunConfig(name="tiny", data=DataConfig(data_dir=str(smoke_world)), train=TINY)


def test_deterministic_on_cpu(cfg, tmp_path):
    a = train(cfg, tmp_path / "a", "cpu", progress=False)
    b = train(cfg, tmp_path / "b", "cpu", progress=False)
    assert a.test == b.test and a.val == b.val
    assert set(a.test) >= {"seg_a", "evt_event"} and a.history()[-1]["epoch"] == 2
    preds = a.predictions("train")
    assert preds["frame"].shape == (240, 10, 2, 25)


def test_finished_run_is_loaded_not_recomputed(cfg, tmp_path):
    first = train(cfg, tmp_path, "cpu", progress=False)
    mtime = (first.run_dir / "results.json").stat().st_mtime_ns
    again = train(cfg.replace(name="same-config-other-name"), tmp_path, "cpu", progress=False)
    assert again.run_dir == first.run_dir and (first.run_dir / "results.json").stat().st_mtime_ns == mtime


def test_interrupted_run_resumes_to_the_same_result(cfg, tmp_path, interrupt_after_first_epoch):
    restore = interrupt_after_first_epoch
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "run", "cpu", progress=False)
    restore()
    reference = train(cfg, tmp_path / "ref", "cpu", progress=False)
    run_dir = next((tmp_path / "run").iterdir())
    assert (run_dir / "last.pt").is_file() and not (run_dir / "results.json").exists()
    resumed = train(cfg, tmp_path / "run", "cpu", progress=False)
    assert resumed.test == reference.test and not (run_dir / "last.pt").exists()


def test_interrupted_before_a_checkpoint_starts_over(cfg, tmp_path, interrupt_after_first_epoch, monkeypatch):
    monkeypatch.setattr(trainer, "CHECKPOINT_SECONDS", 1e9)  # no epoch reaches the checkpoint interval
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "run", "cpu", progress=False)
    interrupt_after_first_epoch()
    run_dir = next((tmp_path / "run").iterdir())
    assert (run_dir / "metrics.csv").is_file() and not (run_dir / "last.pt").exists()
    resumed = train(cfg, tmp_path / "run", "cpu", progress=False)
    assert resumed.test == train(cfg, tmp_path / "ref", "cpu", progress=False).test


def test_config_round_trip_and_errors(cfg):
    for sup in (VPLANConfig(pseudo="pld", tau=0.041), LSLDConfig(alpha=3.5, no_event="none")):
        c = cfg.replace(supervision=sup)
        assert from_dict(json.loads(json.dumps(to_dict(c)))) == c
        assert config_hash(c) != config_hash(cfg)
    assert config_hash(cfg.replace(name="x")) == config_hash(cfg)
    bad = to_dict(cfg)
    bad["train"]["learning_rate"] = 1e-3
    with pytest.raises(KeyError, match="learning_rate.*config.train"):
        from_dict(bad)
    bad = to_dict(cfg)
    bad["supervision"] = {"method": "vplann"}
    with pytest.raises(KeyError, match="method must be one of"):
        from_dict(bad)


def test_methods_plug_into_the_same_loop(smoke_world, tmp_path):
    base = RunConfig(name="m", data=DataConfig(data_dir=str(smoke_world)), train=dataclasses.replace(TINY, epochs=1))
    runs = [base.replace(supervision=VPLANConfig(pseudo="pld")),
            base.replace(data=DataConfig(data_dir=str(smoke_world), visual=("clip_vitb16",)), supervision=LSLDConfig())]
    for c in runs:
        r = train(c, tmp_path, "cpu", progress=False)
        assert all(0 <= v <= 100 for v in r.test.values())
    assert any(p.name.startswith("vplan_plg_rl-") for p in tmp_path.iterdir())  # PLD's eq. 9 prerequisite


def test_an_int_for_a_float_field_is_the_same_run():
    """LSLD Table 4(a)'s alpha=4 cell is the LSLD default run (alpha=4.0), not a second run."""
    a = RunConfig(name="a", supervision=LSLDConfig(alpha=4, beta=0.4))
    b = RunConfig(name="b", supervision=LSLDConfig(alpha=4.0, beta=0.4))
    assert config_hash(a) == config_hash(b) and to_dict(a)["supervision"]["alpha"] == 4.0


def test_a_tie_in_validation_goes_to_the_later_epoch(cfg, tmp_path):
    """The official loops keep a model whose score equals the best so far (``F >= best_F``)."""
    frozen = train(cfg.replace(train=dataclasses.replace(TINY, epochs=3, lr=1e-12)), tmp_path, "cpu", progress=False)
    scores = [h["val_seg_type"] for h in frozen.history()]
    assert len(set(scores)) == 1  # lr 1e-12: the same model, the same score, every epoch
    assert frozen.best_epoch == 3
