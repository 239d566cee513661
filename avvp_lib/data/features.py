"""Per-video feature files (``<root>/feats/<kind>/<video_id>.npy``) loaded into one array.

Folder names follow upstream (``vggish``, ``res152``, ``r2plus1d_18``) plus CLIP segment
features (``clip_vitb16``, ``clip_vitb32``). A split is read once into a contiguous float32
array and cached (``data.cache``: beside the features in ``<root>/cache/`` by default) so the
second load is one file read.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from avvp_lib.data.cache import FeatureCache, feature_cache_dir
from avvp_lib.data.files import read_npy

FEATURE_SHAPES: dict[str, tuple[int, int]] = {
    "vggish": (10, 128),
    "res152": (80, 2048),  # 8 frames per one-second segment
    "r2plus1d_18": (10, 512),
    "clip_vitb16": (10, 512),
    "clip_vitb32": (10, 512),
}
FRAMES_PER_SEGMENT = 8


class FeatureError(ValueError):
    """A feature file is missing, mis-shaped or non-finite; the message names it."""


def feature_path(root: Path, kind: str, vid: str) -> Path:
    return Path(root) / "feats" / kind / f"{vid}.npy"


def check_feature(arr: np.ndarray, kind: str, path: Path) -> np.ndarray:
    """Validate one video's feature array against ``FEATURE_SHAPES``; return it as float32."""
    expected = FEATURE_SHAPES[kind]
    if arr.shape != expected:
        raise FeatureError(f"{path}: shape {arr.shape}, expected {expected} for feature kind {kind!r}")
    if not np.isfinite(arr).all():
        raise FeatureError(f"{path}: contains NaN or inf values")
    return arr.astype(np.float32, copy=False)


def segment_mean(frames: np.ndarray) -> np.ndarray:
    """Average every 8 frame features into one segment feature: [..., 80, D] -> [..., 10, D].

    HAN projects the 80 frames linearly and then averages each 8; a linear map commutes
    with the mean, so averaging first gives the same result for an eighth of the work.
    """
    *lead, t, d = frames.shape
    return frames.reshape(*lead, t // FRAMES_PER_SEGMENT, FRAMES_PER_SEGMENT, d).mean(axis=-2)


def load_features(root: str | Path, kind: str, video_ids: list[str], reduce_frames: bool = True,
                  cache: bool = True, progress: bool = True, cache_dir: str | Path | None = None) -> np.ndarray:
    """Load ``kind`` features for ``video_ids`` as one float32 array [N, T, D].

    ``res152`` is reduced from 80 frames to 10 segments (``segment_mean``) unless
    ``reduce_frames`` is False. Raises ``FeatureError`` naming the file for a missing file,
    wrong shape or non-finite value; nothing is padded. ``cache_dir``: see ``data.cache``.
    """
    if kind not in FEATURE_SHAPES:
        raise FeatureError(f"unknown feature kind {kind!r}; known: {sorted(FEATURE_SHAPES)}")
    root = Path(root)
    paths = [feature_path(root, kind, v) for v in video_ids]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise FeatureError(f"{len(missing)} {kind} feature file(s) missing, first: {missing[0]} "
                           f"(expected {FEATURE_SHAPES[kind]} float arrays in {root / 'feats' / kind})")
    reduce = reduce_frames and kind == "res152"
    t, d = FEATURE_SHAPES[kind]
    shape = (len(paths), t // FRAMES_PER_SEGMENT if reduce else t, d)
    stored = FeatureCache(feature_cache_dir(root, cache_dir), kind, video_ids, paths, {"reduce": reduce}) if cache else None
    if stored is not None and (hit := stored.read(shape)) is not None:
        return hit
    first = []
    for p in tqdm(paths, desc=f"load {kind}", disable=not progress, leave=False):
        arr = check_feature(read_npy(p), kind, p)
        first.append(segment_mean(arr) if reduce else arr)
    out = np.stack(first) if first else np.zeros(shape, np.float32)
    if stored is not None:
        stored.write(out)
    return out
