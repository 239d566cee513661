"""VPLAN (Zhou et al., "Improving Audio-Visual Video Parsing with Pseudo Visual Labels").

PLG (Sec. IV-A, eq. 3-4): CLIP segment-level visual pseudo labels.
Richness-aware loss (Sec. IV-B, eq. 5-9).
PLD (Sec. IV-C, eq. 10-11): pseudo-label denoising by flipping high forward-loss labels.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from avvp_lib.data.features import load_features
from avvp_lib.methods.baseline import smooth
from avvp_lib.paths import resolve
from avvp_lib.supervision import EPS, Targets, bce
from avvp_lib.text_encoders import TextEncoder, cosine, get_text_encoder
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
    """Table I: video-level visual precision/recall (%) against the visual GT.

    Micro-averaged over all (video, class) pairs: P = sum TP / sum predicted, R = sum TP / sum GT
    (a per-video average is undefined for videos with no predicted visual event).
    """
    gt = gt_segments.max(axis=1).astype(bool)
    pred = pred_video.astype(bool)
    tp = (pred & gt).sum()
    p, r = 100 * tp / max(pred.sum(), 1), 100 * tp / max(gt.sum(), 1)
    return {"precision": float(p), "recall": float(r), "average": float((p + r) / 2)}


# ---------------------------------------------------------------- richness-aware loss (eq. 6-8)
def category_richness(segment_labels: Tensor, video_labels: Tensor) -> Tensor:
    """VPLAN eq. 6: ``cr_t = sum_c Y_tc / sum_c y_c`` [N, T]; 0 for a video with an empty label."""
    return segment_labels.sum(-1) / video_labels.sum(-1, keepdim=True).clamp(min=1)


def segment_richness(segment_labels: Tensor) -> Tensor:
    """VPLAN eq. 7: ``sr_c = (1/T) sum_t Y_tc`` [N, C]."""
    return segment_labels.mean(dim=1)


def richness_loss(seg_prob: Tensor, pseudo_labels: Tensor, video_labels: Tensor) -> Tensor:
    """VPLAN eq. 8: ``L_S = BCE(pcr, cr) + BCE(psr, sr)``.

    Decisions the paper leaves open: predictions are masked by the weak label ``y^{v∪a}`` before
    the richness is computed, so ``pcr`` stays in [0, 1] (unmasked, it can exceed 1) and classes
    outside the video label do not count; ``psr`` and ``sr`` run over the classes of ``y^{v∪a}``
    only (other classes are 0 on both sides and excluded from the mean); a video with an empty
    label contributes ``cr = pcr = 0`` (no 0/0). Pseudo labels are masked by ``y^{v∪a}`` too
    (PLG's are by construction), so ``cr`` stays in [0, 1].
    """
    pseudo_labels = pseudo_labels * video_labels[:, None, :]
    masked = seg_prob * video_labels[:, None, :]
    cr, pcr = category_richness(pseudo_labels, video_labels), category_richness(masked, video_labels)
    sr, psr = segment_richness(pseudo_labels), segment_richness(masked)
    sr_loss = torch.nn.functional.binary_cross_entropy(psr.clamp(EPS, 1 - EPS), sr, reduction="none")
    sr_term = (sr_loss * video_labels).sum() / video_labels.sum().clamp(min=1)
    return bce(pcr, cr) + sr_term


# ---------------------------------------------------------------- PLD (eq. 10-11)
def forward_loss(seg_prob: Tensor, pseudo_labels: Tensor) -> Tensor:
    """``M = BCE(P^v, Y^v)`` elementwise [N, T, C] (Sec. IV-C)."""
    p = seg_prob.clamp(EPS, 1 - EPS)
    return -(pseudo_labels * p.log() + (1 - pseudo_labels) * (1 - p).log())


def denoise_pseudo_labels(seg_prob: Tensor, pseudo_labels: Tensor, k: int = 5, alpha: float = 10.0) -> Tensor:
    """VPLAN eq. 10-11: flip the pseudo labels whose forward loss is abnormally large.

    ``M' = rpt_T(y^v) * M`` (eq. 10); per video and class ``mu_j = alpha * mean(K smallest of
    M'_{.j})``, ``phi_j = 1(M'_{.j} >= mu_j)`` (eq. 11); flip where ``phi``. Read literally, eq. 11
    flips every label of a masked-out class (0 >= 0): as intended by the text, only classes in
    the video-level pseudo label ``y^v`` are denoised.
    """
    if not 1 <= k <= pseudo_labels.shape[1]:
        raise ValueError(f"K must lie in [1, T={pseudo_labels.shape[1]}], got {k}")
    yv = video_level(pseudo_labels)
    masked = forward_loss(seg_prob, pseudo_labels) * yv[:, None, :]
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
    clip_kind: str = "clip_vitb16"  # CLIP features used for PLG only
    prompt: str = "P1"
    tau: float = 0.04
    pld_k: int = 5
    pld_alpha: float = 10.0
    audio_keep: float = 1.0  # audio target: label smoothing as HAN (eq. 5, second term)


def plg_for_split(data_dir: str, split, cfg: VPLANConfig) -> np.ndarray:
    """PLG segment pseudo labels of a loaded split (features cached on disk by the loader)."""
    feats = load_features(resolve(data_dir), cfg.clip_kind, split.video_ids, progress=False)
    return generate_pseudo_labels(feats, split.labels, get_text_encoder(resolve(data_dir), cfg.clip_kind), cfg.prompt, cfg.tau)


def pld_pretrain_config(run_config):
    """The eq. 9 run (PLG + richness loss) whose predictions PLD denoises with."""
    sup = dataclasses.replace(run_config.supervision, pseudo="plg", seg_loss="richness")
    return run_config.replace(name="vplan_plg_rl", supervision=sup)


def pld_for_split(pretrained_predictions: dict[str, np.ndarray], plg: np.ndarray, cfg: VPLANConfig) -> np.ndarray:
    seg_prob = torch.as_tensor(pretrained_predictions["frame"][:, :, 1])
    return denoise_pseudo_labels(seg_prob, torch.as_tensor(plg, dtype=torch.float32), cfg.pld_k, cfg.pld_alpha).to(torch.uint8).numpy()


def build_vplan_targets(cfg: VPLANConfig, ctx) -> Targets:
    if cfg.pseudo not in ("plg", "pld"):
        raise ValueError(f"VPLAN pseudo must be 'plg' or 'pld', got {cfg.pseudo!r}")
    labels = plg_for_split(ctx.config.data.data_dir, ctx.train, cfg)
    if cfg.pseudo == "pld":
        labels = pld_for_split(ctx.run(pld_pretrain_config(ctx.config)).predictions("train"), labels, cfg)
    seg = torch.as_tensor(labels, dtype=torch.float32)
    y = torch.as_tensor(ctx.train.labels, dtype=torch.float32)
    return Targets(video=y, audio=smooth(y, cfg.audio_keep), visual=video_level(seg), seg_visual=seg,
                   seg_loss=cfg.seg_loss, seg_weight=cfg.lam)
