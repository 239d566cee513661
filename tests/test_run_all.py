"""run_all.sh says what went wrong, refuses a missing device at once, leaves HF_HUB_OFFLINE to the caller (items 3, 5)."""
import json
import os
import subprocess
import sys

import nbformat
import pytest
import torch

from avvp_lib.notebook_failure import failure_line
from avvp_lib.paths import REPO_ROOT

ADVICE = "could not load ViT-B-16 pretrained='openai'. set AVVP_CLIP_CHECKPOINT_VITB16=/path/to/checkpoint"


def _wrapper(tmp_path):
    """A python that records the HF_HUB_OFFLINE it was started with (run_all.sh's AVVP_PYTHON)."""
    record = tmp_path / "hf_hub_offline.txt"
    script = tmp_path / "python"
    script.write_text(f'#!/bin/sh\necho "${{HF_HUB_OFFLINE-unset}}" >> {record}\nexec {sys.executable} "$@"\n')
    script.chmod(0o755)
    return script, record


def _run_all(tmp_path, *args):
    python, record = _wrapper(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    env.update(AVVP_PYTHON=str(python), PYTHONPATH=str(REPO_ROOT))
    proc = subprocess.run(["bash", str(REPO_ROOT / "run_all.sh"), *args], capture_output=True, text=True, env=env, timeout=300)
    return proc, record.read_text().split()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_run_all_refuses_cuda_at_once_and_leaves_hf_hub_offline_alone(tmp_path):
    proc, seen = _run_all(tmp_path, "--profile", "smoke", "--device", "cuda")
    assert proc.returncode == 2 and "CUDA is not available" in proc.stderr
    assert "==" not in proc.stdout  # no notebook started
    assert set(seen) == {"unset"}  # not forced on a user who has network


def test_run_all_takes_profile_names_from_the_library(tmp_path):
    from avvp_lib.experiments import PROFILES

    proc, _ = _run_all(tmp_path, "--profile", "nope")
    assert proc.returncode == 2 and all(name in proc.stderr for name in PROFILES) and "==" not in proc.stdout
    proc, _ = _run_all(tmp_path, "--profile", "llp-short")  # a real-LLP profile needs its data
    assert proc.returncode == 2 and "--data-dir" in proc.stderr


def test_run_all_failure_shows_the_bundles_error_line(tmp_path):
    proc, _ = _run_all(tmp_path, "--profile", "llp", "--data-dir", str(tmp_path / "no_features"))
    assert proc.returncode == 1
    assert f"01_feature_extraction.ipynb failed: FileNotFoundError: profile 'llp' expects LLP features under {tmp_path}" \
        in proc.stderr, proc.stderr


def test_failure_line_prefers_the_notebook_error_over_kernel_noise(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print('ok')"),
                nbformat.v4.new_code_cell(f"class WeightsUnavailable(RuntimeError): pass\nraise WeightsUnavailable({ADVICE!r})")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "in.ipynb")
    log = tmp_path / "run.log"
    with log.open("w") as f:
        proc = subprocess.run([sys.executable, "-m", "papermill", str(tmp_path / "in.ipynb"), str(tmp_path / "out.ipynb"),
                               "--log-output", "--no-progress-bar"], stdout=f, stderr=subprocess.STDOUT)
    assert proc.returncode != 0
    with log.open("a") as f:
        f.write("zmq.error.ZMQError: Socket operation on non-socket\n")  # what a dying kernel adds
    assert failure_line(tmp_path / "out.ipynb", log) == f"WeightsUnavailable: {ADVICE}"
    assert failure_line(tmp_path / "missing.ipynb", log) == f"WeightsUnavailable: {ADVICE}"  # from the log alone
    json.loads((tmp_path / "out.ipynb").read_text())  # the executed copy is kept for the user
