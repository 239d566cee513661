"""Reading data files so that every failure is one error naming the file, the problem and the fix."""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np

NPY_FIX = "re-create it (re-run the feature extraction for this video) or delete it"


class DataFileError(ValueError):
    """A data file exists but cannot be read; the message names it and says what to do."""


def read_npy(path: str | os.PathLike, fix: str = NPY_FIX) -> np.ndarray:
    """One array from a ``.npy`` file; never unpickles (a pickled file is refused, not executed)."""
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise DataFileError(f"{path}: empty file (0 bytes); {fix}")
        arr = np.load(path, allow_pickle=False)
    except DataFileError:
        raise
    except FileNotFoundError:
        raise DataFileError(f"{path}: file not found; {fix}") from None
    except (ValueError, EOFError, OSError, pickle.UnpicklingError) as err:
        problem = "pickled data, not a plain .npy array" if "pickle" in str(err) else f"truncated or not a .npy file: {err}"
        raise DataFileError(f"{path}: cannot read ({problem}); {fix}") from None
    if not isinstance(arr, np.ndarray):  # an .npz archive renamed to .npy
        arr.close()
        raise DataFileError(f"{path}: an .npz archive, not a single .npy array; {fix}")
    return arr
