"""The one interface between pseudo-label methods and the training loop.

Every method in the papers is a change of targets or of loss, so a method hands the
trainer a ``Targets`` object built once per run (all tensors [N, ...] over the train split,
on the training device) and the loop only calls ``targets.loss(output, batch_indices)``:

    L = BCE(p^{v∪a}, y^{v∪a})                      # always (HAN eq. 2, first term)
      + BCE(p^a, audio)             if audio is not None
      + BCE(p^v, visual)            if visual is not None
      + seg_weight * seg_loss(P^v, seg_visual, y)   if seg_loss is not None
      + seg_audio_weight * seg_audio_loss(P^a, seg_audio, y)   if seg_audio_loss is not None

HAN: audio/visual = label smoothing; VPLAN eq. 5: visual = PLG video-level pseudo label,
eq. 9: + lambda * richness loss (or the naive segment BCE, Table III row 3); LSLD: visual
term dropped, segment BCE against the (soft) denoised labels; LSLD's official code also drops
the audio term for a segment BCE (weight 3) against CLAP-denoised audio labels.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor

from avvp_lib.losses import SegmentLoss, bce
from avvp_lib.models.han import HANOutput


@dataclass
class Targets:
    video: Tensor  # [N, C] weak label y^{v∪a}
    audio: Tensor | None  # [N, C] video-level audio target, or None to drop that term
    visual: Tensor | None  # [N, C] video-level visual target, or None to drop that term
    seg_visual: Tensor | None = None  # [N, T, C] segment-level visual targets (binary or soft)
    seg_loss: SegmentLoss | None = None  # e.g. losses.segment_bce, methods.vplan.richness_loss
    seg_weight: float = 1.0
    seg_audio: Tensor | None = None  # [N, T, C] segment-level audio targets (binary or soft)
    seg_audio_loss: SegmentLoss | None = None
    seg_audio_weight: float = 1.0

    def __post_init__(self) -> None:
        for loss, target, name in ((self.seg_loss, self.seg_visual, "seg_visual"),
                                   (self.seg_audio_loss, self.seg_audio, "seg_audio")):
            if loss is not None and target is None:
                raise ValueError(f"segment loss {getattr(loss, '__name__', loss)!r} needs {name} targets")

    def to(self, device: torch.device | str) -> "Targets":
        move = lambda t: None if t is None else t.to(device)  # noqa: E731
        return replace(self, video=move(self.video), audio=move(self.audio), visual=move(self.visual),
                       seg_visual=move(self.seg_visual), seg_audio=move(self.seg_audio))

    def start_epoch(self, epoch: int) -> None:
        """Called by the trainer before each epoch (0-based); targets that change during training override it."""

    def loss(self, out: HANOutput, idx: Tensor) -> Tensor:
        y = self.video[idx]
        total = bce(out.global_prob, y)
        if self.audio is not None:
            total = total + bce(out.audio_prob, self.audio[idx])
        if self.visual is not None:
            total = total + bce(out.visual_prob, self.visual[idx])
        if self.seg_loss is not None:
            total = total + self.seg_weight * self.seg_loss(out.frame_prob[:, :, 1], self.seg_visual[idx], y)
        if self.seg_audio_loss is not None:
            total = total + self.seg_audio_weight * self.seg_audio_loss(out.frame_prob[:, :, 0], self.seg_audio[idx], y)
        return total
