import numpy as np
import pytest

from avvp_lib.data.features import FeatureError, feature_path, load_features, segment_features, segment_mean


def _write(root, kind, vid, arr):
    p = feature_path(root, kind, vid)
    p.parent.mkdir(parents=True, exist_ok=True)
    np.save(p, arr)
    return p


def test_load_and_cache(tmp_path):
    rng = np.random.default_rng(0)
    arrs = {v: rng.standard_normal((80, 2048)).astype(np.float32) for v in ("aaaaaaaaaaa", "bbbbbbbbbbb")}
    for v, a in arrs.items():
        _write(tmp_path, "res152", v, a)
    first = load_features(tmp_path, "res152", list(arrs), progress=False)
    assert first.shape == (2, 10, 2048) and first.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(first[1], arrs["bbbbbbbbbbb"].reshape(10, 8, 2048).mean(1), rtol=1e-6)
    assert len(list((tmp_path / "cache").glob("res152_*.npy"))) == 1
    np.testing.assert_array_equal(load_features(tmp_path, "res152", list(arrs), progress=False), first)
    raw = load_features(tmp_path, "res152", list(arrs), "frames", progress=False)
    assert raw.shape == (2, 80, 2048)


def test_segment_mean_commutes_with_linear_map():
    rng = np.random.default_rng(1)
    frames, w = rng.standard_normal((80, 64)), rng.standard_normal((64, 16))
    np.testing.assert_allclose(segment_mean(frames @ w), segment_mean(frames) @ w, atol=1e-10)


def test_errors_name_the_file(tmp_path):
    with pytest.raises(FeatureError, match="missing.*ccccccccccc"):
        load_features(tmp_path, "vggish", ["ccccccccccc"], progress=False)
    p = _write(tmp_path, "vggish", "ddddddddddd", np.zeros((9, 128), np.float32))
    with pytest.raises(FeatureError, match=f"{p}.*shape \\(9, 128\\), expected \\(10, 128\\)"):
        load_features(tmp_path, "vggish", ["ddddddddddd"], progress=False)
    bad = np.zeros((10, 128), np.float32)
    bad[3, 3] = np.nan
    p = _write(tmp_path, "vggish", "eeeeeeeeeee", bad)
    with pytest.raises(FeatureError, match="NaN"):
        load_features(tmp_path, "vggish", ["eeeeeeeeeee"], progress=False)
    with pytest.raises(FeatureError, match="unknown feature kind"):
        load_features(tmp_path, "resnet", ["eeeeeeeeeee"], progress=False)


@pytest.mark.parametrize("rule", ["mean", "middle"])
def test_clip_frame_files_and_segment_files_load_alike(tmp_path, rule):
    """(80, 512) float16 per-frame CLIP files (the LSLD release) and (10, 512) files of the same
    segments load to the same segment features under each rule."""
    rng = np.random.default_rng(0)
    frames = rng.standard_normal((3, 80, 512)).astype(np.float16)
    ids = ["aaaaaaaaaaa", "bbbbbbbbbbb", "ccccccccccc"]
    segments = [segment_features(f.astype(np.float32), "clip_vitb16", rule) for f in frames]
    for vid, f, s in zip(ids, frames, segments):
        for root, arr in ((tmp_path / "frames", f), (tmp_path / "segments", s)):
            feature_path(root, "clip_vitb16", vid).parent.mkdir(parents=True, exist_ok=True)
            np.save(feature_path(root, "clip_vitb16", vid), arr)
    a = load_features(tmp_path / "frames", "clip_vitb16", ids, rule, progress=False)
    b = load_features(tmp_path / "segments", "clip_vitb16", ids, rule, progress=False)
    assert a.shape == (3, 10, 512) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    expected = frames[:, 4::8] if rule == "middle" else frames.astype(np.float32).reshape(3, 10, 8, 512).mean(2)
    np.testing.assert_allclose(a, expected, rtol=1e-6)
    other = "middle" if rule == "mean" else "mean"
    assert not np.allclose(load_features(tmp_path / "frames", "clip_vitb16", ids, other, progress=False), a)
