"""The losses every method builds on (bottom of the package: imports nothing from it).

A segment-level loss is any callable ``(seg_prob [B, T, C], seg_target [B, T, C], video_label
[B, C]) -> scalar``; methods hand theirs to ``supervision.Targets`` (``segment_bce`` here,
VPLAN's richness-aware loss in ``methods.vplan``).
"""
from __future__ import annotations

from typing import Callable

import torch.nn.functional as F
from torch import Tensor

EPS = 1e-7  # upstream clamps probabilities to [1e-7, 1 - 1e-7] before the BCE
SegmentLoss = Callable[[Tensor, Tensor, Tensor], Tensor]


def bce(prob: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
    """Mean binary cross-entropy on clamped probabilities (targets may be soft)."""
    return F.binary_cross_entropy(prob.clamp(EPS, 1 - EPS), target, weight=weight)


def segment_bce(seg_prob: Tensor, seg_target: Tensor, video_label: Tensor) -> Tensor:
    """Segment-level BCE over every segment and class: VPLAN's naive L'_S = BCE(P^v, Y^v) (Sec. V-C),
    and LSLD's segment loss against the (soft) denoised labels (end of Sec. 3.4)."""
    return bce(seg_prob, seg_target)
