"""A finished run is never reused for other inputs; one process at a time trains a run (issue #15, items 1 and 4)."""
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from avvp_lib.config import DataConfig, RunConfig, TrainConfig
from avvp_lib.methods import LSLDConfig
from avvp_lib.paths import REPO_ROOT
from avvp_lib import runs
from avvp_lib.runs import RunLockedError, StaleRunError, code_digest, run_lock
from avvp_lib.synthetic.world import WORLD_FILE
from avvp_lib.train import train

TINY = TrainConfig(epochs=1, batch_size=32, step_size=1, seed=3)
KINDS = ("vggish", "clip_vitb16")


def _copy_world(smoke_world, dest, synthetic=True):
    """The smoke world's CSVs and two small feature kinds (a few MB), optionally without its manifest."""
    dest.mkdir()
    for p in smoke_world.glob("*.csv"):
        shutil.copy(p, dest)
    if synthetic:
        shutil.copy(smoke_world / WORLD_FILE, dest)
    for kind in KINDS:
        shutil.copytree(smoke_world / "feats" / kind, dest / "feats" / kind)
    return dest


def _config(data_dir, **kw):
    return RunConfig(name="fp", data=DataConfig(data_dir=str(data_dir), visual=("clip_vitb16",)), train=TINY, **kw)


def test_changed_features_are_not_served_from_an_old_run(smoke_world, tmp_path):
    data = _copy_world(smoke_world, tmp_path / "data")
    cfg = _config(data)
    first = train(cfg, tmp_path / "runs", "cpu", progress=False)
    for p in (data / "feats" / "vggish").glob("*.npy"):  # the same values written again: still the same data
        np.save(p, np.load(p))
    assert train(cfg, tmp_path / "runs", "cpu", progress=False).test == first.test
    for p in (data / "feats" / "vggish").glob("*.npy"):  # all audio features zeroed
        np.save(p, np.zeros((10, 128), np.float32))
    with pytest.raises(StaleRunError, match="feature vggish changed.*--retrain"):
        train(cfg, tmp_path / "runs", "cpu", progress=False)
    again = train(cfg, tmp_path / "runs", "cpu", progress=False, retrain=True)
    assert again.run_dir == first.run_dir and again.test != first.test
    recorded = json.loads((again.run_dir / "results.json").read_text())["fingerprint"]
    assert set(recorded["features"]) == set(KINDS) and "AVVP_train.csv" in recorded["annotations"]


def test_code_digest_follows_imports_and_ignores_docs(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "train.py").write_text("from pkg import model\nimport pkg.loss\n")
    (pkg / "model.py").write_text('"""A model."""\ndef f(x):\n    return x + 1\n')
    (pkg / "loss.py").write_text("W = 3\n")
    (pkg / "figures.py").write_text("SIZE = 1\n")  # not imported by the trainer
    digest = lambda: code_digest("pkg.train", pkg)  # noqa: E731
    first = digest()
    for name, text in [("model.py", '"""Another docstring."""\ndef f(x):  # a comment\n\n    return x + 1\n'),
                       ("figures.py", "SIZE = 2\n")]:
        (pkg / name).write_text(text)
        code_digest.cache_clear()
        assert digest() == first, name
    for name, text in [("model.py", "def f(x):\n    return x + 2\n"), ("loss.py", "W = 4\n")]:
        (pkg / name).write_text(text)
        code_digest.cache_clear()
        assert digest() != first, name
        first = digest()


def test_changed_training_code_is_not_served_from_an_old_run(smoke_world, tmp_path, monkeypatch):
    data = _copy_world(smoke_world, tmp_path / "data")
    first = train(_config(data), tmp_path / "runs", "cpu", progress=False)
    assert json.loads((first.run_dir / "results.json").read_text())["fingerprint"]["code"] == code_digest()
    monkeypatch.setattr(runs, "code_digest", lambda: "0" * 16)
    with pytest.raises(StaleRunError, match="training code changed"):
        train(_config(data), tmp_path / "runs", "cpu", progress=False)
    again = train(_config(data), tmp_path / "runs", "cpu", progress=False, retrain=True)
    assert json.loads((again.run_dir / "results.json").read_text())["fingerprint"]["code"] == "0" * 16


def test_changed_annotations_are_named(smoke_world, tmp_path):
    data = _copy_world(smoke_world, tmp_path / "data")
    train(_config(data), tmp_path / "runs", "cpu", progress=False)
    test_csv = data / "AVVP_test_pd.csv"
    lines = test_csv.read_text().splitlines(keepends=True)
    test_csv.write_text("".join(lines[:-1]))  # one test video fewer
    with pytest.raises(StaleRunError, match="annotation file AVVP_test_pd.csv changed"):
        train(_config(data), tmp_path / "runs", "cpu", progress=False)


def test_missing_clip_checkpoint_is_not_served_from_an_old_run(smoke_world, tmp_path, monkeypatch):
    """Real-CLIP path (no synthetic manifest), with a tiny random open_clip model as the 'checkpoint'."""
    import avvp_lib.text_encoders as text_encoders
    from avvp_lib.extract.models import tiny_clip_encoder

    data = _copy_world(smoke_world, tmp_path / "data", synthetic=False)
    checkpoint = tmp_path / "vitb16.pt"
    checkpoint.write_bytes(b"weights v1")
    monkeypatch.setenv("AVVP_CLIP_CHECKPOINT_VITB16", str(checkpoint))
    monkeypatch.setattr(text_encoders, "_clip_text_encoder", lambda kind, device, pretrained: tiny_clip_encoder())
    cfg = _config(data, supervision=LSLDConfig())
    first = train(cfg, tmp_path / "runs", "cpu", progress=False)
    encoder = json.loads((first.run_dir / "results.json").read_text())["fingerprint"]["text_encoder"]
    assert encoder["checkpoint"] == str(checkpoint) and len(encoder["sha256"]) == 64
    checkpoint.unlink()
    with pytest.raises(StaleRunError, match="text encoder was .*missing file"):
        train(cfg, tmp_path / "runs", "cpu", progress=False)


HOLD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from avvp_lib.runs import run_lock
    with run_lock(Path(sys.argv[1])):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def test_second_process_waits_and_names_the_holder(tmp_path, capsys):
    run_dir = tmp_path / "run-abc"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(run_dir), "2"], stdout=subprocess.PIPE, env=env, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(RunLockedError, match=f"being trained by process {holder.pid}"):
        with run_lock(run_dir, wait=False):
            pass
    t0 = time.monotonic()
    with run_lock(run_dir):
        waited = time.monotonic() - t0
    holder.wait()
    assert waited > 0.5 and f"waiting for process {holder.pid}" in capsys.readouterr().err


def test_two_trainings_of_one_run_at_once(smoke_world, tmp_path):
    data = _copy_world(smoke_world, tmp_path / "data")
    cfg = {"name": "twice", "data": {"data_dir": str(data), "visual": ["clip_vitb16"]},
           "train": {"epochs": 4, "batch_size": 16, "step_size": 2}}
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    cmd = [sys.executable, "-m", "avvp_lib", "train", "--config", str(tmp_path / "c.json"),
           "--runs-dir", str(tmp_path / "runs"), "--device", "cpu"]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    results = [json.loads(o[0]) for o in outs]
    assert results[0] == results[1]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [f"{results[0]['run_dir'].rsplit('/', 1)[1]}"]


def test_interrupted_run_does_not_resume_on_other_data(smoke_world, tmp_path, interrupt_after_first_epoch):
    data = _copy_world(smoke_world, tmp_path / "data")
    cfg = _config(data).replace(train=TrainConfig(epochs=2, batch_size=32, step_size=1, seed=3))
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "runs", "cpu", progress=False)
    interrupt_after_first_epoch()
    for p in (data / "feats" / "vggish").glob("*.npy"):
        np.save(p, np.zeros((10, 128), np.float32))
    with pytest.raises(StaleRunError, match="interrupted run of other inputs: feature vggish changed"):
        train(cfg, tmp_path / "runs", "cpu", progress=False)
    fresh = train(cfg, tmp_path / "runs", "cpu", progress=False, retrain=True)
    assert fresh.history()[0]["epoch"] == 1 and len(fresh.history()) == 2
    assert fresh.test == train(cfg, tmp_path / "other_runs", "cpu", progress=False).test  # as if never interrupted


def test_a_grid_refuses_or_retrains_stale_finished_runs(smoke_world, tmp_path):
    """The grid path (train_many, as reproduce uses) checks finished runs too, and --retrain retrains them."""
    from avvp_lib.train import train_many

    data = _copy_world(smoke_world, tmp_path / "data")
    cfgs = [_config(data), _config(data, supervision=LSLDConfig())]
    first = train_many(cfgs, tmp_path / "runs", "cpu", progress=False)
    for p in (data / "feats" / "vggish").glob("*.npy"):  # all audio features zeroed
        np.save(p, np.zeros((10, 128), np.float32))
    with pytest.raises(StaleRunError, match="feature vggish changed"):
        train_many(cfgs, tmp_path / "runs", "cpu", progress=False)
    again = train_many(cfgs, tmp_path / "runs", "cpu", progress=False, retrain=True)
    assert [r.run_dir for r in again] == [r.run_dir for r in first] and again[0].test != first[0].test


def test_a_changed_eval_audio_file_is_named(smoke_world, tmp_path):
    """Scoring against another audio GT file (--eval-audio) records that file; editing it makes the run stale."""
    import dataclasses

    data = _copy_world(smoke_world, tmp_path / "data")
    legacy = tmp_path / "legacy_eval_audio.csv"
    shutil.copy(data / "AVVP_eval_audio.csv", legacy)
    cfg = _config(data)
    cfg = cfg.replace(data=dataclasses.replace(cfg.data, eval_audio=str(legacy)))
    train(cfg, tmp_path / "runs", "cpu", progress=False)
    lines = legacy.read_text().splitlines(keepends=True)
    legacy.write_text("".join(lines[:-1]))  # one GT row fewer
    with pytest.raises(StaleRunError, match="eval_audio"):
        train(cfg, tmp_path / "runs", "cpu", progress=False)
