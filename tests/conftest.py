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


@pytest.fixture
def interrupt_after_first_epoch(monkeypatch):
    """Make the trainer checkpoint after every epoch and raise KeyboardInterrupt right after its first
    per-epoch history write; returns ``restore()`` that puts the real writer back (for the resumed run)."""
    import avvp_lib.train as trainer

    monkeypatch.setattr(trainer, "CHECKPOINT_SECONDS", 0.0)

    real_write, calls = trainer._write_history, {"n": 0}

    def crash(path, history):
        real_write(path, history)
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(trainer, "_write_history", crash)
    return lambda: monkeypatch.setattr(trainer, "_write_history", real_write)


class TableEncoder:
    """A text encoder of fixed vectors, one per prompt: any other prompt is a KeyError (so the exact strings are tested)."""

    def __init__(self, table: dict[str, list[float]]):
        self.table = table

    def encode_text(self, prompts: list[str]):
        import torch

        return torch.nn.functional.normalize(torch.tensor([self.table[p] for p in prompts], dtype=torch.float32), dim=-1)


@pytest.fixture
def table_encoder():
    """``TableEncoder``: a hand-made text encoder for label tests computed by hand."""
    return TableEncoder
