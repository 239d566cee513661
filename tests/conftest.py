"""Shared fixtures. HF_HUB_OFFLINE=1: an accidental weight download fails at once instead of retrying."""
from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"

import pytest  # noqa: E402

from avvp_lib.paths import SHARED_LLP_DIR, resolve  # noqa: E402

LLP_SKIP_REASON = f"real LLP annotations not found at {SHARED_LLP_DIR} (set AVVP_SHARED_LLP)"


@pytest.fixture(scope="session")
def llp_dir():
    """The real LLP annotation folder beside the checkout; tests skip when absent (CI fails on that skip)."""
    if not (SHARED_LLP_DIR / "AVVP_train.csv").is_file():
        pytest.skip(LLP_SKIP_REASON)
    return SHARED_LLP_DIR


@pytest.fixture(scope="session")
def smoke_world():
    """The smoke synthetic world (built once, deterministic; shared with the notebooks)."""
    from avvp_lib.synthetic.world import WorldConfig, build_world

    return build_world(resolve("data/synthetic_smoke"), WorldConfig(size="smoke"), progress=False)
