"""Where things live: every path is resolved from the repository root, never the caller's cwd."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
OUTPUTS_DIR = REPO_ROOT / "outputs"
# The real LLP annotations shipped beside the checkout (never copied into it).
SHARED_LLP_DIR = Path(os.environ.get("AVVP_SHARED_LLP", REPO_ROOT.parent / "shared" / "llp"))


def resolve(path: str | os.PathLike) -> Path:
    """Absolute path; a relative one is taken from the repository root."""
    p = Path(path)
    return p if p.is_absolute() else REPO_ROOT / p
