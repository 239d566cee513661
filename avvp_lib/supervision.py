"""The one interface between pseudo-label methods and the training loop.

Every method in the papers is a change of targets or of loss, so a method hands the
trainer a ``Targets`` object built once per run (all tensors [N, ...] over the train split,
on the training device) and the loop only calls ``targets.loss(output, batch_indices)``:

    L = BCE(p^{v∪a}, y^{v∪a})                      # always (HAN eq. 2, first term)
      + BCE(p^a, audio)                             # video-level audio target
      + BCE(p^v, visual)            if visual is not None
      + seg_weight * SEG_LOSS(P^v, seg_visual, y)   if seg_loss != "none"

HAN: audio/visual = label smoothing; VPLAN eq. 5: visual = PLG video-level pseudo label,
eq. 9: + lambda * richness loss (or the naive segment BCE, Table III row 3); LSLD: visual
term dropped, segment BCE against the (soft) denoised labels.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from avvp_lib.models.han import HANOutput

EPS = 1e-7  # upstream clamps probabilities to [1e-7, 1 - 1e-7] before the BCE


def bce(prob: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
    """Mean binary cross-entropy on clamped probabilities (targets may be soft)."""
    return F.binary_cross_entropy(prob.clamp(EPS, 1 - EPS), target, weight=weight)


def segment_bce(seg_prob: Tensor, seg_target: Tensor, video_label: Tensor) -> Tensor:
    """Segment-level visual BCE: VPLAN's naive L'_S = BCE(P^v, Y^v), and LSLD's segment loss."""
    return bce(seg_prob, seg_target)


def _richness(seg_prob: Tensor, seg_target: Tensor, video_label: Tensor) -> Tensor:
    from avvp_lib.methods.vplan import richness_loss

    return richness_loss(seg_prob, seg_target, video_label)


SEGMENT_LOSSES: dict[str, Callable[[Tensor, Tensor, Tensor], Tensor]] = {"bce": segment_bce, "richness": _richness}


@dataclass
class Targets:
    video: Tensor  # [N, C] weak label y^{v∪a}
    audio: Tensor  # [N, C] video-level audio target
    visual: Tensor | None  # [N, C] video-level visual target, or None to drop that term
    seg_visual: Tensor | None = None  # [N, T, C] segment-level visual targets (binary or soft)
    seg_loss: str = "none"  # "none" | "bce" | "richness"
    seg_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.seg_loss != "none" and self.seg_loss not in SEGMENT_LOSSES:
            raise ValueError(f"unknown segment loss {self.seg_loss!r}; expected 'none' or one of {sorted(SEGMENT_LOSSES)}")
        if self.seg_loss != "none" and self.seg_visual is None:
            raise ValueError(f"segment loss {self.seg_loss!r} needs seg_visual targets")

    def to(self, device: torch.device | str) -> "Targets":
        move = lambda t: None if t is None else t.to(device)  # noqa: E731
        return Targets(move(self.video), move(self.audio), move(self.visual), move(self.seg_visual),
                       self.seg_loss, self.seg_weight)

    def start_epoch(self, epoch: int) -> None:
        """Called by the trainer before each epoch (0-based); targets that change during training override it."""

    def loss(self, out: HANOutput, idx: Tensor) -> Tensor:
        y = self.video[idx]
        total = bce(out.global_prob, y) + bce(out.audio_prob, self.audio[idx])
        if self.visual is not None:
            total = total + bce(out.visual_prob, self.visual[idx])
        if self.seg_loss != "none":
            seg = SEGMENT_LOSSES[self.seg_loss](out.frame_prob[:, :, 1], self.seg_visual[idx], y)
            total = total + self.seg_weight * seg
        return total
