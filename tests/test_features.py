import numpy as np
import pytest

from avvp_lib.data.features import FeatureError, feature_path, load_features, segment_mean


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
    raw = load_features(tmp_path, "res152", list(arrs), reduce_frames=False, progress=False)
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
