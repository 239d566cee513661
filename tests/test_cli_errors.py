"""Configs and devices are checked before any work; the CLI prints one line per expected error (issue #15, item 3)."""
import pytest
import torch
import yaml

from avvp_lib.__main__ import load_config, main
from avvp_lib.devices import DeviceError, pick_device
from avvp_lib.paths import REPO_ROOT

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")


def _cli_error(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_yaml_strings_become_numbers(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("name: x\ntrain:\n  lr: 1e-3\n  epochs: 4\ndata:\n  visual: [clip_vitb16]\n")
    cfg = load_config(p)
    assert cfg.train.lr == 1e-3 and isinstance(cfg.train.lr, float) and cfg.data.visual == ("clip_vitb16",)


@pytest.mark.parametrize("text, message", [
    ("name: x\ntrain: {epochs: four}\n", "config.train.epochs must be an integer, got 'four'"),
    ("name: x\ntrain: {epochs: 0}\n", "train.epochs must be at least 1"),
    ("name: x\ntrain: {lr: fast}\n", "config.train.lr must be a number"),
    ("name: x\ntrain: {select_metric: accuracy}\n", "select_metric must be one of"),
    ("name: x\ntrain: {inference: vote}\n", "inference must be one of"),
    ("name: x\ndata: {visual: res152}\n", "config.data.visual must be a list"),
    ("", "empty config file"),
    ("name: x\ntrain: [1, 2\n", "not valid YAML"),
    ("- just\n- a list\n", "a run config is a mapping"),
])
def test_bad_config_is_one_line_naming_the_file(tmp_path, capsys, text, message):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    err = _cli_error(capsys, ["train", "--config", str(p), "--runs-dir", str(tmp_path / "runs"), "--device", "cpu"])
    assert str(p) in err and message in err
    assert not (tmp_path / "runs").exists()  # refused before any work


def test_unreadable_config_is_one_line(tmp_path, capsys):
    (tmp_path / "dir.yaml").mkdir()
    assert "dir.yaml" in _cli_error(capsys, ["train", "--config", str(tmp_path / "dir.yaml")])
    (tmp_path / "latin1.json").write_bytes(b'{"name": "caf\xe9"}')
    assert "not UTF-8" in _cli_error(capsys, ["train", "--config", str(tmp_path / "latin1.json")])


@no_cuda
def test_cuda_is_refused_at_once_without_cuda(tmp_path, capsys):
    with pytest.raises(DeviceError, match="CUDA is not available"):
        pick_device("cuda")
    with pytest.raises(DeviceError, match="unknown device 'gpu'"):
        pick_device("gpu")
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump({"name": "x"}))
    assert "CUDA is not available" in _cli_error(capsys, ["train", "--config", str(p), "--device", "cuda"])
    (tmp_path / "videos").mkdir()
    err = _cli_error(capsys, ["extract", "--videos", str(tmp_path / "videos"), "--out", str(tmp_path / "f"),
                              "--kinds", "vggish", "--device", "cuda"])
    assert "CUDA is not available" in err and not (tmp_path / "f").exists()


def test_relative_paths_are_taken_from_the_repository_root(tmp_path, capsys, monkeypatch):
    rel = "outputs/test_cli_errors_config.yaml"
    (REPO_ROOT / "outputs").mkdir(exist_ok=True)
    (REPO_ROOT / rel).write_text("name: x\ntrain: {epochs: four}\n")
    monkeypatch.chdir(tmp_path)  # not the repository root
    try:
        err = _cli_error(capsys, ["train", "--config", rel])
    finally:
        (REPO_ROOT / rel).unlink()
    assert str(REPO_ROOT / rel) in err and "must be an integer" in err


def test_unloadable_vggish_weights_are_one_line(tmp_path, capsys):
    (tmp_path / "videos").mkdir()
    weights = tmp_path / "vggish.pth"
    weights.write_bytes(b"PK\x03\x04 truncated download")
    err = _cli_error(capsys, ["extract", "--videos", str(tmp_path / "videos"), "--out", str(tmp_path / "f"),
                              "--kinds", "vggish", "--vggish-weights", str(weights)])
    assert f"{weights}: not a loadable VGGish state dict" in err
