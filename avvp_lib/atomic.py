"""Writes that a crash or a second process cannot tear.

Each writer streams into its own uniquely named hidden temporary file beside the target,
flushes and fsyncs it, then renames it over the target (atomic on POSIX). On any failure
(a full disk, an interrupt) the temporary file is removed, so nothing partial is left.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch


_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Binary file object whose content replaces ``path`` only when the block ends without error."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; results and caches get the usual permissions
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (a no-op where directories cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike, data: bytes | str) -> None:
    """Replace ``path`` with ``data`` (str is written as UTF-8)."""
    with atomic_writer(path) as f:
        f.write(data.encode() if isinstance(data, str) else data)


def atomic_save_npy(path: str | os.PathLike, arr: np.ndarray) -> None:
    with atomic_writer(path) as f:
        np.save(f, arr, allow_pickle=False)


def atomic_torch_save(obj: object, path: str | os.PathLike) -> None:
    with atomic_writer(path) as f:
        torch.save(obj, f)
