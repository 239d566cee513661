"""Write-then-rename: an interrupted write never leaves a half-written file under the final name."""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import torch


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write ``data`` to a hidden temporary file beside ``path``, then rename it to ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    os.replace(tmp, path)


def atomic_save_npy(path: Path, arr: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, arr)
    atomic_write(path, buf.getvalue())


def atomic_torch_save(obj: object, path: Path) -> None:
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write(path, buf.getvalue())
