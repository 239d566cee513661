"""`parse`: the real LLP clip through a run trained on the smoke world, with tiny random encoders."""
import csv
import shutil

import numpy as np
import pytest

from avvp_lib.__main__ import main
from avvp_lib.config import DataConfig, RunConfig, TrainConfig
from avvp_lib.extract.models import tiny_clip_encoder, tiny_vggish
from avvp_lib.parse import EVENT_FIELDS, check_extractable, detect_events, parse_videos
from avvp_lib.train import train
from avvp_lib.vocabulary import CLASS_INDEX


@pytest.fixture(scope="module")
def clip_run(smoke_world, tmp_path_factory):
    cfg = RunConfig(name="parse", data=DataConfig(data_dir=str(smoke_world), visual=("clip_vitb16",)),
                    train=TrainConfig(epochs=1, batch_size=32, step_size=1))
    return train(cfg, tmp_path_factory.mktemp("runs"), "cpu", progress=False).run_dir


def test_detect_events_runs_and_mean_probability():
    frame = np.zeros((10, 2, 25), np.float32)
    frame[2:5, 0, CLASS_INDEX["Dog"]] = [0.6, 0.9, 0.9]  # audio Dog at 2-5 s
    frame[7:, 1, CLASS_INDEX["Dog"]] = 0.8  # visual Dog at 7-10 s
    frame[:, 1, CLASS_INDEX["Cat"]] = 0.9  # masked: video-level Cat below 0.5
    video = np.zeros(25, np.float32)
    video[CLASS_INDEX["Dog"]] = 0.7
    events = detect_events(frame, video, video, video)
    assert [(e.modality, e.label, e.onset, e.offset) for e in events] == [("audio", "Dog", 2, 5), ("visual", "Dog", 7, 10)]
    assert events[0].mean_probability == pytest.approx(0.8)


def test_real_clip_through_parse(llp_dir, clip_run, tmp_path):
    vids = tmp_path / "videos"
    vids.mkdir()
    shutil.copy(llp_dir / "BjCEufrlXm4.mp4", vids)
    (vids / "brokenvideo.mp4").write_bytes(b"not a video")
    summary = parse_videos([vids], clip_run, tmp_path / "out", clip_encoders={"clip_vitb16": tiny_clip_encoder()},
                           vggish=tiny_vggish(), device="cpu", progress=False)
    assert summary["done"] == 1 and summary["failed"] == 1
    with (tmp_path / "out" / "BjCEufrlXm4" / "events.csv").open() as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert tuple(reader.fieldnames) == EVENT_FIELDS
    for r in rows:
        assert r["modality"] in ("audio", "visual") and r["class"] in CLASS_INDEX
        assert 0 <= int(r["onset"]) < int(r["offset"]) <= 10 and 0.5 <= float(r["mean_probability"]) <= 1
    assert summary["events"] == len(rows)
    assert (tmp_path / "out" / "BjCEufrlXm4" / "timeline.png").stat().st_size > 10_000
    failures = (tmp_path / "out" / "failures.csv").read_text()
    assert "brokenvideo.mp4" in failures and "BjCEufrlXm4" not in failures


def test_parse_refuses_what_it_cannot_extract_and_missing_weights(llp_dir, clip_run, tmp_path, capsys, monkeypatch):
    with pytest.raises(ValueError, match=r"\['res152', 'r2plus1d_18'\].*cannot extract"):
        check_extractable(("vggish", "res152", "r2plus1d_18"))
    monkeypatch.delenv("AVVP_CLIP_CHECKPOINT_VITB16", raising=False)
    code = main(["parse", str(llp_dir / "BjCEufrlXm4.mp4"), "--run", str(clip_run), "--out", str(tmp_path),
                 "--clip-checkpoint", f"clip_vitb16={tmp_path / 'absent.pt'}", "--device", "cpu"])
    assert code == 2 and "CLIP checkpoint not found" in capsys.readouterr().err
    assert main(["parse", "x.mp4", "--run", str(tmp_path), "--device", "cpu"]) == 2
    assert "results.json not found" in capsys.readouterr().err


def test_parse_cli_with_local_weights(llp_dir, clip_run, tmp_path, capsys):
    """The CLI path end to end: a TorchScript-free open_clip state dict and a VGGish state dict on disk."""
    import torch

    enc = tiny_clip_encoder()
    clip_pt, vggish_pt = tmp_path / "clip.pt", tmp_path / "vggish.pt"
    torch.save(enc.model.state_dict(), clip_pt)
    torch.save(tiny_vggish().state_dict(), vggish_pt)
    # the tiny state dict does not fit ViT-B-16: the error names the checkpoint instead of crashing later
    code = main(["parse", str(llp_dir / "BjCEufrlXm4.mp4"), "--run", str(clip_run), "--out", str(tmp_path / "o"),
                 "--clip-checkpoint", f"clip_vitb16={clip_pt}", "--vggish-weights", str(vggish_pt), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and "could not load ViT-B-16-quickgelu" in err
