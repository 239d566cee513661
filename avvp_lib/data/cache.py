"""The feature cache: one contiguous array per (feature folder, kind, video ids, derivation rule).

A cache file is named ``<kind>_<spec>_<files>.npy``: ``spec`` hashes everything that shapes
the derived array (source folder, kind, ids in order, and the caller's parameters such as the
segment rule), ``files`` hashes every source file's size, modification and status-change times and inode,
so a file replaced with its old timestamp (``cp -p``, ``rsync -t``, ``tar x``, two files
swapped) still changes the key (no tool can set the status-change time back). Writing a cache deletes the copies it supersedes (same ``spec``).
A cache that does not read back as the expected array is reported, deleted and rebuilt.

The folder is ``<data>/cache`` unless ``cache_dir`` or ``$AVVP_CACHE_DIR`` names another one;
when the data folder is read-only the cache goes to ``outputs/feature_cache``; when no cache
can be written, loading still works (a warning says so).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from pathlib import Path

import numpy as np

from avvp_lib.atomic import atomic_save_npy
from avvp_lib.data.files import DataFileError, read_npy
from avvp_lib.paths import OUTPUTS_DIR, resolve

CACHE_ENV = "AVVP_CACHE_DIR"


class CacheWarning(UserWarning):
    """A feature cache could not be used (corrupt, or not writable); loading goes on without it."""


def _digest(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj).encode()).hexdigest()[:16]


def files_signature(paths: list[Path]) -> str:
    """Hash of every file's folder and name, size, modification and status-change times (ns) and inode."""
    h = hashlib.sha256()
    for p in paths:
        st = os.stat(p)
        h.update(f"{p.parent.name}/{p.name}\t{st.st_size}\t{st.st_mtime_ns}\t{st.st_ctime_ns}\t{st.st_ino}\n".encode())
    return h.hexdigest()[:16]


def feature_cache_dir(root: Path, cache_dir: str | os.PathLike | None = None) -> Path:
    """Where the caches of the features under ``root`` live (module docstring)."""
    chosen = cache_dir or os.environ.get(CACHE_ENV)
    if chosen:
        return resolve(chosen)
    beside = Path(root) / "cache"
    return beside if os.access(beside if beside.is_dir() else root, os.W_OK) else OUTPUTS_DIR / "feature_cache"


class FeatureCache:
    """The cache file of one derived feature array; ``read`` / ``write`` never raise for a bad cache."""

    def __init__(self, folder: Path, kind: str, video_ids: list[str], files: list[Path], params: dict):
        self.folder, self.kind = Path(folder), kind
        source = str(files[0].parent.resolve()) if files else ""
        self.spec = _digest([source, kind, list(video_ids), params])
        self.key = f"{self.spec}_{files_signature(files)}"
        self.path = self.folder / f"{kind}_{self.key}.npy"

    def read(self, shape: tuple[int | None, ...]) -> np.ndarray | None:
        """The cached array if it exists and is a float32 array of ``shape`` (``None``: any size); a bad one is deleted."""
        if not self.path.is_file():
            return None
        try:
            arr = read_npy(self.path, fix="it is deleted and rebuilt")
            fits = arr.ndim == len(shape) and all(e is None or a == e for a, e in zip(arr.shape, shape))
            if not fits or arr.dtype != np.float32:
                raise DataFileError(f"{self.path}: holds {arr.dtype} {arr.shape}, expected float32 {shape}; "
                                    "it is deleted and rebuilt")
        except DataFileError as err:
            warnings.warn(f"corrupt feature cache: {err}", CacheWarning, stacklevel=3)
            self.path.unlink(missing_ok=True)
            return None
        return arr

    def write(self, arr: np.ndarray) -> None:
        """Store ``arr`` and delete superseded copies; warn (and skip caching) when the folder is not writable."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_save_npy(self.path, arr)
        except OSError as err:
            warnings.warn(f"cannot write the feature cache in {self.folder} ({err}); features load without it. "
                          f"Set {CACHE_ENV} to a writable folder to cache them.", CacheWarning, stacklevel=3)
            return
        for old in self.superseded():
            old.unlink(missing_ok=True)

    def superseded(self) -> list[Path]:
        """Caches of the same spec built from other file versions, and caches named by the older scheme."""
        mine = re.compile(rf"{re.escape(self.kind)}_{self.spec}_[0-9a-f]{{16}}\.npy")
        legacy = re.compile(rf"{re.escape(self.kind)}_[0-9a-f]{{16}}\.npy")  # keyed on the newest mtime only
        return [p for p in self.folder.glob(f"{self.kind}_*.npy")
                if p != self.path and (mine.fullmatch(p.name) or legacy.fullmatch(p.name))]
