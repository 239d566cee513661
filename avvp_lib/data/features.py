"""Per-video feature files (``<root>/feats/<kind>/<video_id>.npy``) loaded into one array.

Folder names follow upstream (``vggish``, ``res152``, ``r2plus1d_18``) plus CLIP image
features (``clip_vitb16``, ``clip_vitb32``) and other projects' released kinds
(``data/released.py``). A file is ``<video_id>.npy`` or ``<video_id>_<start>_<end>.npy``
(``data/feature_files.py``). Frame-level kinds hold 80 frames per video (8 per one-second
segment): ``res152`` (80, 2048) as AVVP-ECCV20, CLIP (80, 512) float16 unnormalised as the
official LSLD release; CLIP files of (10, 512) (one vector per segment) load too.
A frame-level file becomes 10 segment features by a ``segment_rule`` (``SEGMENT_RULES``) that
the method chooses: ``"mean"`` of the 8 frames (HAN's res152 pooling, LSLD's CLIP), or the
``"middle"`` frame (VPLAN samples one frame per segment). A split is read once into a
contiguous float32 array and cached per rule (``data.cache``: beside the features in
``<root>/cache/`` by default), so the second load is one file read.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from avvp_lib.data.cache import FeatureCache, feature_cache_dir
from avvp_lib.data.feature_files import locate
from avvp_lib.data.files import read_npy
from avvp_lib.data.released import RELEASED_REDUCERS, RELEASED_SHAPES
from avvp_lib.vocabulary import NUM_SEGMENTS

FEATURE_SHAPES: dict[str, tuple[int, int]] = {  # the kinds the synthetic world writes, in the shape written
    "vggish": (10, 128),
    "res152": (80, 2048),  # 8 frames per one-second segment
    "r2plus1d_18": (10, 512),
    "clip_vitb16": (80, 512),  # per frame, as the official LSLD release
    "clip_vitb32": (80, 512),
    "clap_audioset": (10, 512),  # LAION-CLAP audio segment features, as the official LSLD release
}
# what the loader reads: the kinds above and other projects' releases
READABLE_SHAPES: dict[str, tuple[int, int]] = {**FEATURE_SHAPES, **RELEASED_SHAPES}
# Other shapes a kind is accepted in: CLIP features already reduced to one vector per segment.
ALSO_ACCEPTED: dict[str, tuple[tuple[int, int], ...]] = {"clip_vitb16": ((10, 512),), "clip_vitb32": ((10, 512),)}
FRAMES_PER_SEGMENT = 8
SEGMENT_RULES = ("mean", "middle", "frames")  # "frames": keep all 80 frames (no reduction)


class FeatureError(ValueError):
    """A feature file is missing, mis-shaped or non-finite; the message names it."""


def feature_path(root: Path, kind: str, vid: str) -> Path:
    return Path(root) / "feats" / kind / f"{vid}.npy"


def check_feature(arr: np.ndarray, kind: str, path: Path) -> np.ndarray:
    """Validate one video's feature array against its kind's shapes; return it as float32."""
    allowed = (READABLE_SHAPES[kind], *ALSO_ACCEPTED.get(kind, ()))
    if arr.shape not in allowed:
        raise FeatureError(f"{path}: shape {arr.shape}, expected {' or '.join(map(str, allowed))} for feature kind {kind!r}")
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


def middle_frame(frames: np.ndarray) -> np.ndarray:
    """The middle frame of every segment (index 4 of 8, at t + 0.5 s): [..., 80, D] -> [..., 10, D]."""
    return frames[..., FRAMES_PER_SEGMENT // 2::FRAMES_PER_SEGMENT, :]


def segment_features(arr: np.ndarray, kind: str, rule: str = "mean") -> np.ndarray:
    """One video's checked features -> [10, D] segments: 80 frames by ``rule``, released maps reduced.

    A (10, D) array is returned unchanged; ``rule="frames"`` keeps 80 frames as they are.
    """
    if rule not in SEGMENT_RULES:
        raise ValueError(f"unknown segment rule {rule!r}; expected one of {SEGMENT_RULES}")
    if kind in RELEASED_REDUCERS:
        return RELEASED_REDUCERS[kind](arr)
    if rule == "frames" or arr.shape[-2] != NUM_SEGMENTS * FRAMES_PER_SEGMENT:
        return arr
    return segment_mean(arr) if rule == "mean" else middle_frame(arr)


def load_features(root: str | Path, kind: str, video_ids: list[str], segment_rule: str = "mean",
                  cache: bool = True, progress: bool = True, cache_dir: str | Path | None = None) -> np.ndarray:
    """Load ``kind`` features for ``video_ids`` as one float32 array [N, T, D].

    Each video becomes 10 segments (``segment_features``: 80 frames by ``segment_rule``, VALOR's
    CLAP maps pooled; ``"frames"`` keeps the 80). Raises ``FeatureError`` naming the file for a
    missing file, wrong shape or non-finite value; nothing is padded. ``cache_dir``: see ``data.cache``.
    """
    if kind not in READABLE_SHAPES:
        raise FeatureError(f"unknown feature kind {kind!r}; known: {sorted(READABLE_SHAPES)}")
    if segment_rule not in SEGMENT_RULES:
        raise ValueError(f"unknown segment rule {segment_rule!r}; expected one of {SEGMENT_RULES}")
    root = Path(root)
    located = locate(root, kind, list(video_ids))
    missing = [v for v, p in located.items() if p is None]
    if missing:
        raise FeatureError(f"{len(missing)} {kind} feature file(s) missing, first: {feature_path(root, kind, missing[0])} "
                           f"(expected {READABLE_SHAPES[kind]} float arrays in {root / 'feats' / kind}; "
                           "missing='skip' drops such videos)")
    paths = [located[v] for v in video_ids]
    dim = READABLE_SHAPES[kind][1]
    shape = (len(paths), None if segment_rule == "frames" else NUM_SEGMENTS, dim)
    stored = (FeatureCache(feature_cache_dir(root, cache_dir), kind, video_ids, paths, {"segment_rule": segment_rule})
              if cache else None)
    if stored is not None and (hit := stored.read(shape)) is not None:
        return hit
    arrays = [segment_features(check_feature(read_npy(p), kind, p), kind, segment_rule)
              for p in tqdm(paths, desc=f"load {kind}", disable=not progress, leave=False)]
    if len({a.shape for a in arrays}) > 1:
        shapes = sorted({a.shape for a in arrays})
        raise FeatureError(f"{kind} files in {root / 'feats' / kind} mix shapes {shapes}; use one shape per kind")
    out = np.stack(arrays) if arrays else np.zeros((0, NUM_SEGMENTS, dim), np.float32)
    if stored is not None:
        stored.write(out)
    return out
