"""HAN's baseline supervision: video-level targets by label smoothing (VPLAN eq. 2, LSLD eq. 2)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from avvp_lib.supervision import Targets
from avvp_lib.vocabulary import NUM_SEGMENTS


def video_label_everywhere(labels: np.ndarray, segments: int = NUM_SEGMENTS) -> np.ndarray:
    """Weak labels [N, C] repeated on every segment [N, T, C]: the segment labels of no method."""
    return np.repeat(np.asarray(labels)[:, None, :], segments, axis=1).astype(np.uint8)


def smooth(labels: torch.Tensor, keep: float) -> torch.Tensor:
    """Label smoothing ``keep * y + (1 - keep) / 2`` (upstream: audio 1.0, visual 0.9)."""
    return keep * labels + (1 - keep) * 0.5


@dataclass(frozen=True)
class HANLabels:
    method: ClassVar[str] = "han"
    audio_keep: float = 1.0
    visual_keep: float = 0.9


def han_segment_labels(cfg: HANLabels, split: str, ctx) -> np.ndarray:
    """HAN has no segment labels: the weak label on every segment of the split. [N, T, C] uint8."""
    return video_label_everywhere(ctx.split(split).labels)


def build_han_targets(cfg: HANLabels, ctx) -> Targets:
    y = torch.as_tensor(ctx.train.labels, dtype=torch.float32)
    return Targets(video=y, audio=smooth(y, cfg.audio_keep), visual=smooth(y, cfg.visual_keep))
