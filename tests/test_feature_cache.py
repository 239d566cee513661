"""The feature cache never serves stale values; unreadable files are named (issue #15, items 1 and 2)."""
import os
import pickle

import numpy as np
import pytest

from avvp_lib.data.cache import CacheWarning
from avvp_lib.data.features import feature_path, load_features
from avvp_lib.data.files import DataFileError

IDS = ["aaaaaaaaaaa", "bbbbbbbbbbb"]


def _world(root, kind="vggish", dim=128):
    arrs = {}
    for i, v in enumerate(IDS):
        p = feature_path(root, kind, v)
        p.parent.mkdir(parents=True, exist_ok=True)
        arrs[v] = np.full((10, dim), float(i), np.float32)
        np.save(p, arrs[v])
    return arrs


def _caches(folder):
    return sorted(folder.glob("vggish_*.npy"))


def test_file_rewritten_with_its_old_timestamp_is_seen(tmp_path):
    _world(tmp_path)
    p = feature_path(tmp_path, "vggish", IDS[0])
    st = p.stat()
    assert load_features(tmp_path, "vggish", IDS, progress=False)[0, 0, 0] == 0
    np.save(p, np.full((10, 128), 7.0, np.float32))  # same size, then the old times back (cp -p, rsync -t)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert load_features(tmp_path, "vggish", IDS, progress=False)[0, 0, 0] == 7
    assert len(_caches(tmp_path / "cache")) == 1  # the superseded copy is deleted


def test_two_files_swapped_are_seen(tmp_path):
    _world(tmp_path)
    a, b = (feature_path(tmp_path, "vggish", v) for v in IDS)
    first = load_features(tmp_path, "vggish", IDS, progress=False)
    tmp = a.with_name("swap.npy")
    os.rename(a, tmp), os.rename(b, a), os.rename(tmp, b)  # renames keep every mtime
    np.testing.assert_array_equal(load_features(tmp_path, "vggish", IDS, progress=False), first[::-1])


def test_corrupt_cache_is_named_and_rebuilt(tmp_path):
    _world(tmp_path)
    good = load_features(tmp_path, "vggish", IDS, progress=False)
    (cache,) = _caches(tmp_path / "cache")
    cache.write_bytes(cache.read_bytes()[:200])  # truncated by a crash or a full disk
    with pytest.warns(CacheWarning, match=f"{cache}.*rebuilt"):
        np.testing.assert_array_equal(load_features(tmp_path, "vggish", IDS, progress=False), good)
    np.testing.assert_array_equal(np.load(cache), good)


def test_cache_dir_outside_the_data_folder(tmp_path):
    _world(tmp_path / "data")
    load_features(tmp_path / "data", "vggish", IDS, progress=False, cache_dir=tmp_path / "elsewhere")
    assert len(_caches(tmp_path / "elsewhere")) == 1 and not (tmp_path / "data" / "cache").exists()


def test_unwritable_cache_folder_still_loads(tmp_path):
    arrs = _world(tmp_path)
    (tmp_path / "cache").write_text("not a folder")  # what a read-only data folder looks like to mkdir
    with pytest.warns(CacheWarning, match="cannot write the feature cache"):
        out = load_features(tmp_path, "vggish", IDS, progress=False)
    np.testing.assert_array_equal(out[1], arrs[IDS[1]])


def test_cache_key_includes_the_segment_rule(tmp_path):
    rng = np.random.default_rng(0)
    for v in IDS:
        p = feature_path(tmp_path, "res152", v)
        p.parent.mkdir(parents=True, exist_ok=True)
        np.save(p, rng.standard_normal((80, 2048)).astype(np.float32))
    assert load_features(tmp_path, "res152", IDS, progress=False).shape == (2, 10, 2048)
    assert load_features(tmp_path, "res152", IDS, segment_rule="frames", progress=False).shape == (2, 80, 2048)
    assert load_features(tmp_path, "res152", IDS, progress=False).shape == (2, 10, 2048)


@pytest.mark.parametrize("damage, problem", [
    (lambda p: p.write_bytes(b""), "empty file"),
    (lambda p: p.write_bytes(p.read_bytes()[:300]), "truncated"),
    (lambda p: np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True), "pickled"),
    (lambda p: p.write_bytes(pickle.dumps([1, 2])), "pickled"),
])
def test_unreadable_feature_file_is_named(tmp_path, damage, problem):
    _world(tmp_path)
    p = feature_path(tmp_path, "vggish", IDS[1])
    damage(p)
    with pytest.raises(DataFileError, match=f"{p}: .*{problem}.*re-create it"):
        load_features(tmp_path, "vggish", IDS, progress=False)
