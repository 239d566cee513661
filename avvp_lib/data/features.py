"""Per-video feature files (``<root>/feats/<kind>/<video_id>.npy``) loaded into one array.

Folder names follow upstream (``vggish``, ``res152``, ``r2plus1d_18``) plus CLIP segment
features (``clip_vitb16``, ``clip_vitb32``) and other projects' released kinds (``data/released.py``).
A file is ``<video_id>.npy`` or ``<video_id>_<start>_<end>.npy`` (``data/feature_files.py``). A split
is read once into a contiguous float32 array and cached next to the features (``<root>/cache/``) so
the second load is one file read.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from avvp_lib.atomic import atomic_save_npy
from avvp_lib.data.feature_files import locate
from avvp_lib.data.released import RELEASED_REDUCERS, RELEASED_SHAPES

FEATURE_SHAPES: dict[str, tuple[int, int]] = {
    "vggish": (10, 128),
    "res152": (80, 2048),  # 8 frames per one-second segment
    "r2plus1d_18": (10, 512),
    "clip_vitb16": (10, 512),
    "clip_vitb32": (10, 512),
}
# what the loader reads: the kinds above (the synthetic world writes them) and other projects' releases
READABLE_SHAPES: dict[str, tuple[int, int]] = {**FEATURE_SHAPES, **RELEASED_SHAPES}
FRAMES_PER_SEGMENT = 8


class FeatureError(ValueError):
    """A feature file is missing, mis-shaped or non-finite; the message names it."""


def feature_path(root: Path, kind: str, vid: str) -> Path:
    return Path(root) / "feats" / kind / f"{vid}.npy"


def check_feature(arr: np.ndarray, kind: str, path: Path) -> np.ndarray:
    """Validate one video's feature array against ``READABLE_SHAPES``; return it as float32."""
    expected = READABLE_SHAPES[kind]
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


def segment_features(arr: np.ndarray, kind: str) -> np.ndarray:
    """One video's checked features -> the model's [10, D] input (frames averaged, released maps reduced)."""
    if kind in RELEASED_REDUCERS:
        return RELEASED_REDUCERS[kind](arr)
    return segment_mean(arr) if arr.shape[0] == FRAMES_PER_SEGMENT * 10 else arr


def _cache_key(kind: str, ids: list[str], reduce_frames: bool, newest_mtime: int) -> str:
    h = hashlib.sha256(json.dumps([kind, ids, reduce_frames, newest_mtime]).encode()).hexdigest()
    return h[:16]


def load_features(root: str | Path, kind: str, video_ids: list[str], reduce_frames: bool = True,
                  cache: bool = True, progress: bool = True) -> np.ndarray:
    """Load ``kind`` features for ``video_ids`` as one float32 array [N, T, D].

    Each video is reduced to 10 segments (``segment_features``: 80 frames averaged by 8, VALOR's
    CLAP maps pooled) unless ``reduce_frames`` is False. Raises ``FeatureError`` naming the file for a missing file,
    wrong shape or non-finite value; nothing is padded.
    """
    if kind not in READABLE_SHAPES:
        raise FeatureError(f"unknown feature kind {kind!r}; known: {sorted(READABLE_SHAPES)}")
    root = Path(root)
    located = locate(root, kind, list(video_ids))
    missing = [v for v, p in located.items() if p is None]
    if missing:
        raise FeatureError(f"{len(missing)} {kind} feature file(s) missing, first: {feature_path(root, kind, missing[0])} "
                           f"(expected {READABLE_SHAPES[kind]} float arrays in {root / 'feats' / kind}; "
                           "missing='skip' drops such videos)")
    paths = [located[v] for v in video_ids]
    newest = max((os.stat(p).st_mtime_ns for p in paths), default=0)
    reduce = reduce_frames
    cache_file = root / "cache" / f"{kind}_{_cache_key(kind, list(video_ids), reduce, newest)}.npy"
    if cache and cache_file.is_file():
        return np.load(cache_file)
    first = []
    for p in tqdm(paths, desc=f"load {kind}", disable=not progress, leave=False):
        arr = check_feature(np.load(p), kind, p)
        first.append(segment_features(arr, kind) if reduce else arr)
    out = np.stack(first) if first else np.zeros((0, *READABLE_SHAPES[kind]), np.float32)
    if cache:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        atomic_save_npy(cache_file, out)
    return out
