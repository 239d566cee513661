"""The extractor on the real LLP clip and on generated edge-case clips, with tiny random encoders."""
import shutil
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from avvp_lib.clip_encoder import WeightsUnavailable
from avvp_lib.data.features import load_features
from avvp_lib.extract.models import tiny_clip_encoder, tiny_vggish
from avvp_lib.extract.pipeline import ExtractConfig, extract_directory
from avvp_lib.extract.video import SAMPLE_CLIP, DecodeError, decode_video
from avvp_lib.extract.vggish import VGGish, load_vggish, log_mel_examples

UPSTREAM_FRAMES = SAMPLE_CLIP.parent.parent / "upstream" / "AVVP-ECCV20" / "frame" / "BjCEufrlXm4"


def make_clip(path: Path, seconds: float, audio: bool = True, fps: int = 10) -> Path:
    """A small MPEG-4 clip whose frame brightness encodes its index; a 440 Hz tone if ``audio``."""
    with av.open(str(path), "w") as out:
        v = out.add_stream("mpeg4", rate=fps)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = out.add_stream("aac", rate=16000) if audio else None
        for i in range(int(seconds * fps)):
            img = np.full((48, 64, 3), (i * 5) % 256, np.uint8)
            out.mux(v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        out.mux(v.encode())
        if a is not None:
            t = np.arange(int(seconds * 16000)) / 16000
            samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for s in range(0, len(samples), 1024):
                chunk = samples[s:s + 1024][None]
                frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
                frame.sample_rate, frame.pts, frame.time_base = 16000, s, Fraction(1, 16000)
                out.mux(a.encode(frame))
            out.mux(a.encode())
    return path


@pytest.fixture(scope="module")
def encoders():
    return {"clip_encoder": tiny_clip_encoder(), "vggish": tiny_vggish()}


def test_real_llp_clip_end_to_end(llp_dir, tmp_path, encoders):
    (tmp_path / "v").mkdir()
    shutil.copy(llp_dir / "BjCEufrlXm4.mp4", tmp_path / "v")
    cfg = ExtractConfig(kinds=("clip_vitb16", "clip_vitb32", "vggish"), device="cpu")
    summary = extract_directory(tmp_path / "v", tmp_path / "f", cfg, progress=False, **encoders)
    assert summary["done"] == 1 and summary["failed"] == 0
    for kind, shape, dtype in (("clip_vitb16", (80, 512), np.float16), ("clip_vitb32", (80, 512), np.float16),
                               ("vggish", (10, 128), np.float32)):
        arr = np.load(tmp_path / "f" / "feats" / kind / "BjCEufrlXm4.npy")
        assert arr.shape == shape and arr.dtype == dtype and np.isfinite(arr).all()
    frames = np.load(tmp_path / "f" / "feats" / "clip_vitb16" / "BjCEufrlXm4.npy").astype(np.float32)
    assert not np.allclose(np.linalg.norm(frames, axis=-1), 1.0, atol=1e-3)  # unnormalised, as the LSLD release
    middle = load_features(tmp_path / "f", "clip_vitb16", ["BjCEufrlXm4"], "middle", cache=False, progress=False)
    mean = load_features(tmp_path / "f", "clip_vitb16", ["BjCEufrlXm4"], "mean", cache=False, progress=False)
    np.testing.assert_array_equal(middle[0], frames[4::8])
    np.testing.assert_allclose(mean[0], frames.reshape(10, 8, -1).mean(1), rtol=1e-6)


def test_frames_follow_the_upstream_8fps_frames(llp_dir):
    if not UPSTREAM_FRAMES.is_dir():
        pytest.skip(f"upstream frames not found at {UPSTREAM_FRAMES}")
    from PIL import Image

    clip = decode_video(llp_dir / "BjCEufrlXm4.mp4")
    assert clip.frames.shape == (80, 240, 320, 3) and clip.has_audio and clip.audio.shape == (160000,)
    ref = np.stack([np.asarray(Image.open(p).convert("RGB"), np.float32) for p in sorted(UPSTREAM_FRAMES.glob("*.jpg"))])
    upstream_pick = np.round(np.linspace(0, len(ref) - 1, 80)).astype(int)  # HAN's 80-of-N selection
    nearest = [int(np.abs(ref - f.astype(np.float32)).mean(axis=(1, 2, 3)).argmin()) for f in clip.frames]
    assert np.abs(np.array(nearest) - upstream_pick).max() <= 2


@pytest.mark.parametrize("seconds", [7, 12])
def test_short_and_long_clips(tmp_path, seconds):
    clip = decode_video(make_clip(tmp_path / "c.mp4", seconds))
    assert clip.frames.shape[0] == 80 and clip.audio.shape == (160000,)
    brightness = clip.frames.mean(axis=(1, 2, 3))
    if seconds < 10:  # the last frame repeats, audio is zero-padded
        assert np.allclose(brightness[seconds * 8:], brightness[-1], atol=2)
        assert np.abs(clip.audio[int(seconds * 16000) + 2000:]).max() == 0
    else:  # trimmed to the first 10 s: frame 79 is at 9.875 s, video frame 98 of 120
        assert abs(brightness[79] - (98 * 5) % 256) < 8
        assert np.abs(clip.audio[-1000:]).max() > 0.1


def test_directory_with_bad_files_resumes(tmp_path, encoders, monkeypatch):
    vids = tmp_path / "v"
    vids.mkdir()
    make_clip(vids / "aaaaaaaaaaa.mp4", 10)
    make_clip(vids / "bbbbbbbbbbb.mp4", 10, audio=False)
    full = make_clip(tmp_path / "full.mp4", 10)
    (vids / "ccccccccccc.mp4").write_bytes(full.read_bytes()[:2000])  # truncated
    make_clip(vids / "ddddddddddd.mp4", 7)
    cfg = ExtractConfig(kinds=("clip_vitb16", "vggish"), device="cpu")

    import avvp_lib.extract.pipeline as pipeline

    real_embed, calls = pipeline.embed_audio, {"n": 0}

    def interrupt_on_second_video(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_embed(*args, **kwargs)

    monkeypatch.setattr(pipeline, "embed_audio", interrupt_on_second_video)
    with pytest.raises(KeyboardInterrupt):
        extract_directory(vids, tmp_path / "f", cfg, progress=False, **encoders)
    assert not list((tmp_path / "f").rglob(".*.tmp"))  # no partial file
    monkeypatch.setattr(pipeline, "embed_audio", real_embed)
    summary = extract_directory(vids, tmp_path / "f", cfg, progress=False, **encoders)
    # a finished; b (no audio) and c (truncated) recorded in failures.csv; d was interrupted
    assert (summary["skipped"], summary["failed_earlier"], summary["failed"], summary["done"]) == (1, 2, 0, 1)
    failures = (tmp_path / "f" / "failures.csv").read_text()
    assert "bbbbbbbbbbb,vggish,no audio stream" in failures and "ccccccccccc,all," in failures
    assert (tmp_path / "f" / "feats" / "clip_vitb16" / "bbbbbbbbbbb.npy").is_file()
    again = extract_directory(vids, tmp_path / "f", cfg, progress=False, **encoders)
    assert (again["skipped"], again["failed_earlier"], again["done"], again["failed"]) == (2, 2, 0, 0)
    assert failures == (tmp_path / "f" / "failures.csv").read_text()  # known failures are not retried
    (vids / "ccccccccccc.mp4").write_bytes(full.read_bytes())  # the user re-downloads the broken video
    retry = extract_directory(vids, tmp_path / "f", cfg, progress=False, retry_failed=True, **encoders)
    assert (retry["retried"], retry["done"], retry["failed"]) == (2, 2, 0)
    after = (tmp_path / "f" / "failures.csv").read_text().splitlines()
    assert after == ["video,kind,reason", "bbbbbbbbbbb,vggish,no audio stream"]  # still silent, recorded once
    assert (tmp_path / "f" / "feats" / "vggish" / "ccccccccccc.npy").is_file()


def test_clip_named_video_files_map_to_the_video_id(tmp_path, encoders):
    (tmp_path / "v").mkdir()
    make_clip(tmp_path / "v" / "a-b_cdefghi_30_40.mp4", 10)
    extract_directory(tmp_path / "v", tmp_path / "f", ExtractConfig(kinds=("vggish",), device="cpu"), progress=False,
                      **encoders)
    assert [p.name for p in (tmp_path / "f" / "feats" / "vggish").iterdir()] == ["a-b_cdefghi.npy"]


def test_decode_errors_and_missing_weights(tmp_path):
    with pytest.raises(DecodeError, match="no such file"):
        decode_video(tmp_path / "none.mp4")
    (tmp_path / "junk.mp4").write_bytes(b"not a video")
    with pytest.raises(DecodeError):
        decode_video(tmp_path / "junk.mp4")
    with pytest.raises(WeightsUnavailable, match="--vggish-weights"):
        load_vggish(None)
    with pytest.raises(ValueError, match="cannot extract"):
        ExtractConfig(kinds=("res152",))


def test_vggish_frontend_and_weights_round_trip(tmp_path):
    ex = log_mel_examples(np.zeros(160000, np.float32))
    assert ex.shape == (10, 1, 96, 64)
    model = VGGish()
    path = tmp_path / "vggish.pth"
    import torch

    torch.save(model.state_dict(), path)
    loaded = load_vggish(path)
    assert loaded(ex[:2]).shape == (2, 128)
