"""JoMoLD (Cheng et al., "Joint-Modal Label Denoising for Weakly-Supervised Audio-Visual Video Parsing", ECCV 2022).

The three modes of the official code (MCG-NJU/JoMoLD ``main.py``):

1. ``train_noise_estimator``: a model trained on the weak labels (a prerequisite run, ``estimator_config``);
2. ``calculate_noise_ratio``: per class and modality, the share of labelled training videos
   whose confidence falls below a threshold (``estimate_noise_ratios``; npz keys audio/visual);
3. ``train_label_denoising``: retraining in which, in every mini-batch, each class drops the
   labels of the largest loss in one modality that also have the smallest loss in the other
   (``joint_modal_denoise``), the noise ratios ramping up over a warm-up (``warm_up_factor``).

Step 3 changes the targets batch by batch with the model being trained, so ``JoMoLDTargets``
overrides ``Targets.loss`` and learns the epoch from ``Targets.start_epoch``. Choices, each
named: the losses that pick the labels come from the training forward pass itself (detached);
the code runs a second, no-grad forward in train mode (another dropout draw) with HAN's
cross-modal attention switched off (``with_ca=False``), which a backbone-agnostic method cannot
do; the estimator is the run's own backbone (the code trains it without cross-modal attention);
the code's segment contrastive (NCE) loss is not reproduced. ``schedules.SCHEDULES["jomold"]`` holds
the code's schedule. The JoMoLD paper text was not available here: "code" below means read from
the official code.
"""
from __future__ import annotations

import dataclasses
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from avvp_lib.atomic import atomic_write
from avvp_lib.methods.baseline import HANLabels, smooth
from avvp_lib.models.han import HANOutput
from avvp_lib.paths import resolve
from avvp_lib.losses import EPS, bce
from avvp_lib.supervision import Targets
from avvp_lib.vocabulary import NUM_CLASSES

WARM_UP_RULES = ("code", "linear")


@dataclass(frozen=True)
class JoMoLDConfig:
    """JoMoLD supervision (defaults: the code's arguments).

    ``warm_up``: "code" applies the code's update ``r <- min(r, r * t)`` to the running ratio, so
    with ``warm_up_epochs`` < 1 nothing is dropped in the first epoch and the full ratio applies
    from the second; "linear" (this bundle's reading of the intent) uses ``r0 * min(1, t)``.
    """

    method: ClassVar[str] = "jomold"
    audio_keep: float = 1.0  # a_smooth
    visual_keep: float = 0.9  # v_smooth
    audio_threshold: float = 0.6  # a_thres
    visual_threshold: float = 1.8  # v_thres
    warm_up_epochs: float = 0.9  # warm_up_epoch
    warm_up: str = "code"  # "code" | "linear"
    audio_weight: float = 2.0  # visual and video weights are 1 (code)
    noise_ratio_file: str | None = None  # JoMoLD-format npz to use instead of steps 1-2


# ---------------------------------------------------------------- step 1
def estimator_config(run_config, cfg: JoMoLDConfig):
    """Step 1: the noise estimator, the run's config trained on the smoothed weak labels, named after it."""
    return run_config.replace(name=f"{run_config.name}_estimator", supervision=HANLabels(cfg.audio_keep, cfg.visual_keep))


def jomold_requires(run_config) -> tuple:
    """Step 1's noise estimator, unless the noise ratios come from a file."""
    cfg = run_config.supervision
    return () if cfg.noise_ratio_file else (estimator_config(run_config, cfg),)


# ---------------------------------------------------------------- step 2
def estimate_noise_ratios(audio_prob: np.ndarray, visual_prob: np.ndarray, labels: np.ndarray,
                          cfg: JoMoLDConfig = JoMoLDConfig()) -> dict[str, np.ndarray]:
    """Step 2 (code ``calculate_noise_ratio``): per-class noise ratios, float64 [C] per modality.

    Confidence of a labelled event in a modality: ``p_c * target_c / mean_n p_c`` (the estimator's
    video-level probability times the smoothed target, over the class's mean probability on all
    training videos); the ratio is the share of the class's labelled videos whose confidence is
    below the modality's threshold (0 for a class no video has; the code divides 0 by 0 there).
    The code averages per-batch means of shuffled batches; here the mean runs over all videos.
    """
    y = np.asarray(labels, dtype=np.float64)
    positives = (y > 0).sum(0)
    out = {}
    for name, prob, keep, threshold in (("audio", audio_prob, cfg.audio_keep, cfg.audio_threshold),
                                        ("visual", visual_prob, cfg.visual_keep, cfg.visual_threshold)):
        prob = np.asarray(prob, dtype=np.float64)
        confidence_times_mean = prob * (keep * y + (1 - keep) * 0.5)
        noisy = (y > 0) & (confidence_times_mean < threshold * prob.mean(0))
        out[name] = np.divide(noisy.sum(0), positives, out=np.zeros(y.shape[1]), where=positives > 0)
    return out


def save_noise_ratios(path: str | Path, ratios: dict[str, np.ndarray]) -> None:
    """Write ratios in JoMoLD's ``noise_ratios.npz`` format (keys audio, visual; float64 [25])."""
    buf = io.BytesIO()
    np.savez(buf, audio=np.asarray(ratios["audio"], np.float64), visual=np.asarray(ratios["visual"], np.float64))
    atomic_write(Path(path), buf.getvalue())


def load_noise_ratios(path: str | Path) -> dict[str, np.ndarray]:
    """Read a JoMoLD-format ``noise_ratios.npz``; a clear error names the file when it is not one."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            ratios = {k: z[k].astype(np.float64) for k in ("audio", "visual")}
    except (OSError, ValueError, KeyError) as e:
        raise ValueError(f"{path}: not a JoMoLD noise-ratio file (npz with keys 'audio', 'visual'): {e}") from e
    for k, r in ratios.items():
        if r.shape != (NUM_CLASSES,) or not np.isfinite(r).all() or (r < 0).any() or (r > 1).any():
            raise ValueError(f"{path}: '{k}' must hold {NUM_CLASSES} ratios in [0, 1], got shape {r.shape}")
    return ratios


# ---------------------------------------------------------------- step 3
def warm_up_factor(progress: float, warm_up_epochs: float) -> float:
    """Step 3 warm-up (code): ``min(1, t)``, t = iterations done / (warm_up_epochs * iterations per
    epoch), counted from 0 at the first batch; no warm-up when ``warm_up_epochs <= 0``."""
    return 1.0 if warm_up_epochs <= 0 else min(1.0, progress / warm_up_epochs)


def modality_losses(prob: Tensor, target: Tensor) -> Tensor:
    """Per-video, per-class BCE [B, C] on clamped probabilities (code: ``BCELoss(reduction='none')``)."""
    return F.binary_cross_entropy(prob.clamp(EPS, 1 - EPS), target, reduction="none")


def _rank_within(values: Tensor, member: Tensor, descending: bool) -> Tensor:
    """Rank [B, C] of each value among the members of its column (0 = first); non-members rank last."""
    key = values.masked_fill(~member, float("-inf") if descending else float("inf"))
    return key.argsort(dim=0, descending=descending, stable=True).argsort(dim=0)


def joint_modal_denoise(loss_audio: Tensor, loss_visual: Tensor, labels: Tensor, ratio_audio: Tensor,
                        ratio_visual: Tensor) -> tuple[Tensor, Tensor]:
    """Step 3 joint-modal selection (code ``train_label_denoising``): labels to drop, (audio, visual) bool [B, C].

    Per class c, with ``n_c`` labelled videos in the batch and ``k = floor(r_c * n_c)``: a visual
    label is dropped when it is among the k largest visual losses AND among the k smallest audio
    losses of those videos; an audio label when among the k largest audio losses AND the k
    smallest visual losses (``k`` from that modality's ratio). Ties keep batch order.
    """
    y = labels > 0
    n = y.sum(0)
    drops = []
    for own, other, ratio in ((loss_audio, loss_visual, ratio_audio), (loss_visual, loss_audio, ratio_visual)):
        k = (ratio.to(own.device) * n).long()  # truncation, as the code's IntTensor cast
        drops.append(y & (_rank_within(own, y, True) < k) & (_rank_within(other, y, False) < k))
    return drops[0], drops[1]


@dataclass
class JoMoLDTargets(Targets):
    """Targets whose audio/visual labels are denoised per batch by ``joint_modal_denoise``.

    Loss (code): ``audio_weight * BCE(p^a, a~) + BCE(p^v, v~) + BCE(p^{v∪a}, y)``; the fused
    target is the weak label, never denoised.
    """

    noise_audio: Tensor | None = None  # [C] estimated noise ratios
    noise_visual: Tensor | None = None
    iters_per_epoch: int = 1
    warm_up_epochs: float = 0.9
    warm_up: str = "code"
    audio_weight: float = 2.0
    _epoch: int = field(default=0, init=False, repr=False)
    _step: int = field(default=0, init=False, repr=False)
    _factor: float = field(default=1.0, init=False, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.warm_up not in WARM_UP_RULES:
            raise ValueError(f"JoMoLD warm_up must be one of {WARM_UP_RULES}, got {self.warm_up!r}")
        if self.visual is None or self.noise_audio is None or self.noise_visual is None:
            raise ValueError("JoMoLD targets need visual targets and both noise ratios")

    def to(self, device: torch.device | str) -> "JoMoLDTargets":
        move = {k: getattr(self, k).to(device) for k in ("video", "audio", "visual", "noise_audio", "noise_visual")}
        return dataclasses.replace(self, **move)

    def start_epoch(self, epoch: int) -> None:
        self._epoch, self._step, self._factor = epoch, 0, 1.0

    def ratio_factor(self) -> float:
        """The warm-up factor for the next batch; "code" compounds it within an epoch, as the code does."""
        t = warm_up_factor((self._epoch * self.iters_per_epoch + self._step) / self.iters_per_epoch, self.warm_up_epochs)
        return self._factor * t if self.warm_up == "code" else t

    def denoised(self, out: HANOutput, idx: Tensor, factor: float = 1.0) -> tuple[Tensor, Tensor]:
        """The batch's audio and visual targets with the selected labels set to 0."""
        audio, visual = self.audio[idx], self.visual[idx]
        drop_a, drop_v = joint_modal_denoise(modality_losses(out.audio_prob.detach(), audio),
                                             modality_losses(out.visual_prob.detach(), visual), self.video[idx],
                                             factor * self.noise_audio, factor * self.noise_visual)
        return audio.masked_fill(drop_a, 0.0), visual.masked_fill(drop_v, 0.0)

    def loss(self, out: HANOutput, idx: Tensor) -> Tensor:
        self._factor = self.ratio_factor()
        self._step += 1
        audio, visual = self.denoised(out, idx, self._factor)
        return (bce(out.global_prob, self.video[idx]) + self.audio_weight * bce(out.audio_prob, audio)
                + bce(out.visual_prob, visual))


def noise_ratios_for(ctx, cfg: JoMoLDConfig) -> dict[str, np.ndarray]:
    """Steps 1-2: the estimator's train predictions turned into noise ratios (or the given file)."""
    if cfg.noise_ratio_file:
        return load_noise_ratios(resolve(cfg.noise_ratio_file))
    (estimator,) = jomold_requires(ctx.config)
    pred = ctx.run(estimator).predictions("train")
    return estimate_noise_ratios(pred["audio"], pred["visual"], ctx.train.labels, cfg)


def build_jomold_targets(cfg: JoMoLDConfig, ctx) -> JoMoLDTargets:
    ratios = noise_ratios_for(ctx, cfg)
    y = torch.as_tensor(ctx.train.labels, dtype=torch.float32)
    return JoMoLDTargets(video=y, audio=smooth(y, cfg.audio_keep), visual=smooth(y, cfg.visual_keep),
                         noise_audio=torch.as_tensor(ratios["audio"], dtype=torch.float32),
                         noise_visual=torch.as_tensor(ratios["visual"], dtype=torch.float32),
                         iters_per_epoch=math.ceil(len(ctx.train) / ctx.config.train.batch_size),
                         warm_up_epochs=cfg.warm_up_epochs, warm_up=cfg.warm_up, audio_weight=cfg.audio_weight)
