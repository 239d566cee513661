"""VPLAN (Zhou et al., "Improving Audio-Visual Video Parsing with Pseudo Visual Labels").

PLG (Sec. IV-A, eq. 3-4): CLIP segment-level visual pseudo labels.
Richness-aware loss (Sec. IV-B, eq. 5-9).
PLD (Sec. IV-C, eq. 10-11): pseudo-label denoising by flipping high forward-loss labels.
"""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from avvp_lib.methods.baseline import smooth
from avvp_lib.losses import EPS, SegmentLoss, bce, segment_bce
from avvp_lib.models.han import HANOutput
from avvp_lib.supervision import Targets
from avvp_lib.text_encoders import TextEncoder, cosine
from avvp_lib.vocabulary import CLASSES, NATURAL_NAMES, VPLAN_PROMPTS


# ---------------------------------------------------------------- PLG (eq. 3-4)
def class_prompts(template: str) -> list[str]:
    """The 25 class prompts of a template ("P1".."P4" or a string with "[CLS]")."""
    template = VPLAN_PROMPTS.get(template, template)
    if "[CLS]" not in template:
        raise ValueError(f"prompt template {template!r} has no [CLS] placeholder")
    return [template.replace("[CLS]", NATURAL_NAMES[c]) for c in CLASSES]


def plg_scores(segment_features: Tensor, text_features: Tensor) -> Tensor:
    """VPLAN eq. 3: ``s_t = softmax(cos(f_t, f^T))`` over classes, no logit scale. [N, T, C]."""
    return torch.softmax(cosine(segment_features, text_features), dim=-1)


def plg_labels(scores: Tensor, video_labels: Tensor, tau: float = 0.04) -> Tensor:
    """VPLAN eq. 4: ``m_t = 1(s_t >= tau)``; segment pseudo label ``m_t * y^{v∪a}``. [N, T, C]."""
    return (scores >= tau).float() * video_labels[:, None, :]


def video_level(segment_labels: Tensor) -> Tensor:
    """Video-level pseudo label: a class is present if any segment has it (Sec. IV-A). [N, C]."""
    return (segment_labels.sum(dim=1) > 0).float()


def generate_pseudo_labels(features: np.ndarray, video_labels: np.ndarray, encoder: TextEncoder,
                           prompt: str = "P1", tau: float = 0.04) -> np.ndarray:
    """PLG end to end: CLIP segment features [N, T, D] -> segment pseudo labels [N, T, C] (uint8)."""
    text = encoder.encode_text(class_prompts(prompt))
    scores = plg_scores(torch.as_tensor(features), text)
    return plg_labels(scores, torch.as_tensor(video_labels, dtype=torch.float32), tau).to(torch.uint8).numpy()


def video_precision_recall(pred_video: np.ndarray, gt_segments: np.ndarray) -> dict[str, float]:
    """Table I: video-level visual precision / recall (%) of ``pred_video`` [N, C] against ``gt_segments`` [N, T, C].

    Per video, precision = TP / #predicted classes and recall = TP / #GT visual classes (0 where
    the denominator is 0), then averaged over all videos of the split; average = (P + R) / 2.
    With the weak label as prediction this gives the paper's '-' row on real LLP val exactly
    (66.96 / 87.88 / 77.42; tested).
    """
    return {k: float(v.mean()) for k, v in video_precision_recall_per_video(pred_video, gt_segments).items()}


def video_precision_recall_per_video(pred_video: np.ndarray, gt_segments: np.ndarray) -> dict[str, np.ndarray]:
    """``video_precision_recall`` of every video [N]; the table's numbers are their means over videos."""
    gt = gt_segments.max(axis=1).astype(bool)
    pred = pred_video.astype(bool)
    tp = (pred & gt).sum(axis=1)
    per_video = lambda denom: 100 * np.where(denom > 0, tp / np.maximum(denom, 1), 0.0)  # noqa: E731
    p, r = per_video(pred.sum(axis=1)), per_video(gt.sum(axis=1))
    return {"precision": p, "recall": r, "average": (p + r) / 2}


# ---------------------------------------------------------------- richness-aware loss (eq. 6-8)
def category_richness(segment_labels: Tensor, video_labels: Tensor) -> Tensor:
    """VPLAN eq. 6: ``cr_t = sum_c Y_tc / sum_c y_c`` [N, T]; 0 for a video with an empty label."""
    return segment_labels.sum(-1) / video_labels.sum(-1, keepdim=True).clamp(min=1)


def segment_richness(segment_labels: Tensor) -> Tensor:
    """VPLAN eq. 7: ``sr_c = (1/T) sum_t Y_tc`` [N, C]."""
    return segment_labels.mean(dim=1)


SR_AVERAGES = ("all", "labelled")


def richness_loss(seg_prob: Tensor, pseudo_labels: Tensor, video_labels: Tensor, sr_over: str = "all") -> Tensor:
    """VPLAN eq. 8: ``L_S = BCE(pcr, cr) + BCE(psr, sr)``.

    ``sr_over="all"`` (eq. 8 as printed): the ``psr``/``sr`` BCE is the mean over all C = 25
    classes. ``"labelled"`` is this bundle's variant: the mean over the classes of ``y^{v∪a}``
    only, about 15x heavier on LLP-like labels.
    Decisions the paper leaves open (this bundle's): predictions are masked by the weak label
    ``y^{v∪a}`` before the richness is computed, so ``pcr`` stays in [0, 1] (unmasked, it can
    exceed 1) and classes outside the label are 0 on both sides; a video with an empty label
    contributes ``cr = pcr = 0`` (no 0/0). Pseudo labels are masked by ``y^{v∪a}`` too (PLG's
    are by construction), so ``cr`` stays in [0, 1].
    """
    if sr_over not in SR_AVERAGES:
        raise ValueError(f"sr_over must be one of {SR_AVERAGES}, got {sr_over!r}")
    pseudo_labels = pseudo_labels * video_labels[:, None, :]
    masked = seg_prob * video_labels[:, None, :]
    cr, pcr = category_richness(pseudo_labels, video_labels), category_richness(masked, video_labels)
    sr, psr = segment_richness(pseudo_labels), segment_richness(masked)
    if sr_over == "all":
        return bce(pcr, cr) + bce(psr, sr)
    sr_loss = torch.nn.functional.binary_cross_entropy(psr.clamp(EPS, 1 - EPS), sr, reduction="none")
    return bce(pcr, cr) + (sr_loss * video_labels).sum() / video_labels.sum().clamp(min=1)


# ---------------------------------------------------------------- PLD (eq. 10-11)
def forward_loss(seg_prob: Tensor, pseudo_labels: Tensor) -> Tensor:
    """``M = BCE(P^v, Y^v)`` elementwise [N, T, C] (Sec. IV-C), in float32 whatever the inputs."""
    p = seg_prob.float().clamp(EPS, 1 - EPS)
    y = pseudo_labels.float()
    return -(y * p.log() + (1 - y) * (1 - p).log())


def masked_forward_loss(seg_prob: Tensor, pseudo_labels: Tensor) -> Tensor:
    """VPLAN eq. 10: ``M' = rpt_T(y^v) * M``, the forward loss of the classes in ``y^v`` only. [N, T, C]."""
    return forward_loss(seg_prob, pseudo_labels) * video_level(pseudo_labels)[:, None, :]


def denoise_pseudo_labels(seg_prob: Tensor, pseudo_labels: Tensor, k: int = 5, alpha: float = 10.0) -> Tensor:
    """VPLAN eq. 11: flip the pseudo labels whose forward loss ``M'`` (eq. 10) is abnormally large.

    Per video and class ``mu_j = alpha * mean(K smallest of M'_{.j})``, ``phi_j = 1(M'_{.j} >= mu_j)``;
    flip where ``phi``. Read literally, eq. 11 flips every label of a masked-out class (0 >= 0):
    as intended by the text, only classes in the video-level pseudo label ``y^v`` are denoised.
    """
    if not 1 <= k <= pseudo_labels.shape[1]:
        raise ValueError(f"K must lie in [1, T={pseudo_labels.shape[1]}], got {k}")
    yv = video_level(pseudo_labels)
    masked = masked_forward_loss(seg_prob, pseudo_labels)
    mu = alpha * masked.topk(k, dim=1, largest=False).values.mean(dim=1, keepdim=True)
    flip = (masked >= mu) & (yv[:, None, :] > 0)
    return torch.where(flip, 1 - pseudo_labels, pseudo_labels)


# ---------------------------------------------------------------- supervision
@dataclass(frozen=True)
class VPLANConfig:
    """VPLAN supervision. Table III rows: pseudo plg + seg_loss none / bce (L'_S) / richness; pld + richness."""

    method: ClassVar[str] = "vplan"
    pseudo: str = "plg"  # "plg" | "pld"
    seg_loss: str = "richness"  # "none" | "bce" (naive L'_S) | "richness" (L_S, eq. 8)
    lam: float = 0.5  # eq. 9
    richness_sr_over: str = "all"  # eq. 8 as printed; "labelled" = this bundle's variant (SR_AVERAGES)
    clip_kind: str = "clip_vitb16"  # CLIP features used for PLG only
    clip_segment_rule: str = "middle"  # one frame per segment (Sec. IV-A); data.features.SEGMENT_RULES
    prompt: str = "P1"
    tau: float = 0.04
    pld_k: int = 5
    pld_alpha: float = 10.0
    # eq. 9 model PLD denoises with: "own" (the run's backbone) or "han" (Table V: VPLAN's labels on other
    # backbones; the bundle's reading, as the paper applies "our pseudo labels"); omitted when "own"
    pld_model: str = field(default="own", metadata={"omit_if_default": True})
    audio_keep: float = 1.0  # audio target: label smoothing as HAN (eq. 5, second term)


def plg_for_split(cfg: VPLANConfig, split: str, ctx) -> np.ndarray:
    """PLG segment pseudo labels [N, T, C] of a split of the build context (its CLIP features and text encoder)."""
    feats = ctx.features(cfg.clip_kind, split, cfg.clip_segment_rule)
    return generate_pseudo_labels(feats, ctx.split(split).labels, ctx.text_encoder(cfg.clip_kind), cfg.prompt, cfg.tau)


PLD_ONLY_FIELDS = ("pld_k", "pld_alpha", "pld_model")  # settings eq. 9's model does not depend on


def eq9_supervision(sup, pseudo: str, pld_only: tuple[str, ...]):
    """``sup`` as its eq. 9 model's supervision: the unrefined ``pseudo`` labels, the richness loss, and the
    PLD-only settings ``pld_only`` at their defaults, so every PLD variant of a run shares one model."""
    defaults = {f.name: f.default for f in dataclasses.fields(sup) if f.name in pld_only}
    return dataclasses.replace(sup, pseudo=pseudo, seg_loss="richness", **defaults)


def pld_prerequisite(run_config):
    """The eq. 9 run (PLG + richness loss, Sec. IV-C) whose predictions PLD denoises with.

    The run's own config with the PLD-only settings at their defaults, so every PLD setting of
    Table II shares one model; ``pld_model="han"`` trains it on HAN instead of the run's backbone.
    Named ``vplan_plg_rl`` (Table III row 4) on HAN, ``vplan_<backbone>_plg_rl`` on another backbone.
    """
    sup = run_config.supervision
    model = dataclasses.replace(run_config.model, name="han", options={}) if sup.pld_model == "han" else run_config.model
    eq9 = eq9_supervision(sup, "plg", PLD_ONLY_FIELDS)
    name = "vplan_plg_rl" if model.name == "han" else f"vplan_{model.name}_plg_rl"
    return run_config.replace(name=name, model=model, supervision=eq9)


def vplan_requires(run_config) -> tuple:
    """PLD needs its eq. 9 model (``pld_prerequisite``); PLG needs no other run."""
    return (pld_prerequisite(run_config),) if run_config.supervision.pseudo == "pld" else ()


def pld_for_split(pretrained_predictions: dict[str, np.ndarray], plg: np.ndarray, cfg: VPLANConfig) -> np.ndarray:
    """PLD labels of a split from the eq. 9 model's stored float32 visual segment probabilities."""
    seg_prob = torch.as_tensor(pretrained_predictions["frame"][:, :, 1], dtype=torch.float32)
    return denoise_pseudo_labels(seg_prob, torch.as_tensor(plg, dtype=torch.float32), cfg.pld_k, cfg.pld_alpha).to(torch.uint8).numpy()


def vplan_segment_labels(cfg: VPLANConfig, split: str, ctx) -> np.ndarray:
    """The segment pseudo labels of a split: PLG (eq. 3-4), denoised by PLD (eq. 10-11) when ``pseudo="pld"``."""
    if cfg.pseudo not in ("plg", "pld"):
        raise ValueError(f"VPLAN pseudo must be 'plg' or 'pld', got {cfg.pseudo!r}")
    labels = plg_for_split(cfg, split, ctx)
    if cfg.pseudo == "pld":
        (eq9,) = vplan_requires(ctx.config)
        labels = pld_for_split(ctx.run(eq9).predictions(split), labels, cfg)
    return labels


def segment_loss(cfg: VPLANConfig) -> SegmentLoss | None:
    """Eq. 9's segment term: none (eq. 5 alone), the naive ``L'_S`` (Table III row 3) or ``L_S`` (eq. 8)."""
    if cfg.seg_loss not in ("none", "bce", "richness"):
        raise ValueError(f"VPLAN seg_loss must be 'none', 'bce' or 'richness', got {cfg.seg_loss!r}")
    if cfg.seg_loss == "richness":
        return functools.partial(richness_loss, sr_over=cfg.richness_sr_over)
    return segment_bce if cfg.seg_loss == "bce" else None


def basic_video_loss(out: HANOutput, y: Tensor, audio_target: Tensor, visual_pseudo: Tensor) -> Tensor:
    """VPLAN eq. 5: ``L_V = BCE(p^{v∪a}, y^{v∪a}) + BCE(p^a, ybar^a) + BCE(p^v, yhat^v)``, the PLG video-level
    pseudo label ``yhat^v`` replacing HAN's smoothed visual target."""
    return bce(out.global_prob, y) + bce(out.audio_prob, audio_target) + bce(out.visual_prob, visual_pseudo)


def total_loss(out: HANOutput, y: Tensor, audio_target: Tensor, seg_pseudo: Tensor, lam: float,
               seg_loss: SegmentLoss | None) -> Tensor:
    """VPLAN eq. 9: ``L_total = L_V + lambda * L_S`` (``seg_loss``: ``L_S`` of eq. 8, the naive ``L'_S`` of
    Table III row 3, or None for eq. 5 alone); ``yhat^v`` of eq. 5 is ``video_level(seg_pseudo)``."""
    total = basic_video_loss(out, y, audio_target, video_level(seg_pseudo))
    return total if seg_loss is None else total + lam * seg_loss(out.frame_prob[:, :, 1], seg_pseudo, y)


@dataclass
class VPLANTargets(Targets):
    """Targets whose loss is VPLAN's objective, eq. 9 (``total_loss``)."""

    def loss(self, out: HANOutput, idx: Tensor) -> Tensor:
        return total_loss(out, self.video[idx], self.audio[idx], self.seg_visual[idx], self.seg_weight, self.seg_loss)


def build_vplan_targets(cfg: VPLANConfig, ctx) -> VPLANTargets:
    """VPLAN eq. 9 against the train split's segment pseudo labels (PLG, or PLD with ``pseudo="pld"``)."""
    seg = torch.as_tensor(vplan_segment_labels(cfg, "train", ctx), dtype=torch.float32)
    y = torch.as_tensor(ctx.train.labels, dtype=torch.float32)
    return VPLANTargets(video=y, audio=smooth(y, cfg.audio_keep), visual=video_level(seg), seg_visual=seg,
                        seg_loss=segment_loss(cfg), seg_weight=cfg.lam)
