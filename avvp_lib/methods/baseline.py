"""HAN's baseline supervision: video-level targets by label smoothing (VPLAN eq. 2, LSLD eq. 2)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from avvp_lib.supervision import Targets


def smooth(labels: torch.Tensor, keep: float) -> torch.Tensor:
    """Label smoothing ``keep * y + (1 - keep) / 2`` (upstream: audio 1.0, visual 0.9)."""
    return keep * labels + (1 - keep) * 0.5


@dataclass(frozen=True)
class HANLabels:
    method: ClassVar[str] = "han"
    audio_keep: float = 1.0
    visual_keep: float = 0.9


def build_han_targets(cfg: HANLabels, ctx) -> Targets:
    y = torch.as_tensor(ctx.train.labels, dtype=torch.float32)
    return Targets(video=y, audio=smooth(y, cfg.audio_keep), visual=smooth(y, cfg.visual_keep))
