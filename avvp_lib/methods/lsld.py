"""LSLD (Fan et al., "Revisit Weakly-Supervised Audio-Visual Video Parsing from the Language Perspective").

Language prompts for every subset of a video's events plus "other" (Sec. 3.2), segment-level
label denoising by the most similar prompt (Sec. 3.3, eq. 3), dynamic re-weighting of
unreliable segments (Sec. 3.4, eq. 4).
"""
from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from avvp_lib.data.features import load_features
from avvp_lib.methods.baseline import smooth, video_label_everywhere
from avvp_lib.paths import resolve
from avvp_lib.supervision import Targets
from avvp_lib.text_encoders import TextEncoder, cosine, get_text_encoder
from avvp_lib.vocabulary import CLASSES, LSLD_DESCRIPTIONS, NO_EVENT_PROMPTS, NUM_CLASSES

REWEIGHT_MODES = ("none", "dynamic", "stable", "with_only", "without_only")


def descriptions(variant: str) -> list[str]:
    if variant not in LSLD_DESCRIPTIONS:
        raise KeyError(f"unknown description variant {variant!r}; expected one of {sorted(LSLD_DESCRIPTIONS)}")
    return [LSLD_DESCRIPTIONS[variant][c] for c in CLASSES]


def subset_prompts(classes: tuple[int, ...], descs: list[str], no_event: str = "other") -> tuple[list[str], np.ndarray]:
    """Sec. 3.2: one prompt per non-empty subset of ``classes`` ("A and B") plus the no-event prompt.

    Returns the prompts and their label rows [P, 25] (the no-event prompt has none).
    ``no_event``: "other" (paper), "none", or "not" ("not A and not B", Table 3).
    """
    if no_event not in NO_EVENT_PROMPTS:
        raise ValueError(f"unknown no-event prompt {no_event!r}; expected one of {NO_EVENT_PROMPTS}")
    prompts, rows = [], []
    for size in range(1, len(classes) + 1):
        for subset in itertools.combinations(classes, size):
            prompts.append(" and ".join(descs[c] for c in subset))
            rows.append(np.isin(np.arange(NUM_CLASSES), subset))
    prompts.append("not " + " and not ".join(descs[c] for c in classes) if no_event == "not" else no_event)
    rows.append(np.zeros(NUM_CLASSES, bool))
    return prompts, np.array(rows, dtype=np.uint8)


def prompt_similarity(segment_features: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
    """LSLD eq. 3: softmax over the video's prompts of cosine similarities, no logit scale. [..., T, P]."""
    return torch.softmax(cosine(segment_features, text_features), dim=-1)


def denoise_segments(features: np.ndarray, video_labels: np.ndarray, encoder: TextEncoder,
                     variant: str = "playing", no_event: str = "other", max_labels: int = 0) -> np.ndarray:
    """Sec. 3.3: each segment takes the label subset of its most similar prompt. [N, T, C] uint8.

    Videos sharing a label set share prompts, so they are scored together and every distinct
    prompt is encoded once. ``max_labels`` > 0 keeps the video label on every segment of videos
    with more labels (upstream uses 3); 0 denoises all (2^k prompts for k labels).
    """
    descs = descriptions(variant)
    out = video_label_everywhere(video_labels, features.shape[1])
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for i, row in enumerate(video_labels):
        cls = tuple(int(c) for c in np.flatnonzero(row))
        if cls and (max_labels <= 0 or len(cls) <= max_labels):
            groups[cls].append(i)
    for cls, idx in groups.items():
        prompts, rows = subset_prompts(cls, descs, no_event)
        sim = prompt_similarity(torch.as_tensor(features[idx]), encoder.encode_text(prompts))
        out[idx] = rows[sim.argmax(dim=-1).numpy()]
    return out


def class_similarity(features: np.ndarray, encoder: TextEncoder, texts: list[str]) -> np.ndarray:
    """Cosine similarity of every segment to every class text (no softmax). [N, T, C]."""
    return cosine(torch.as_tensor(features), encoder.encode_text(texts)).numpy()


def unreliable_segments(sim: np.ndarray, labels: np.ndarray, video_labels: np.ndarray, quantile: float = 0.05,
                        scope: str = "video") -> tuple[np.ndarray, np.ndarray]:
    """Sec. 3.4: segments in the overlap of the with-c and without-c similarity distributions.

    Per class c, over the segments of videos labelled c (``scope="video"``; ``"all"``: every
    training segment, as upstream), "with" = denoised label has c, "without" = it lacks c.
    The overlap is ``[lo, hi]`` with ``lo`` the ``quantile`` of the with-similarities and ``hi``
    the ``1 - quantile`` of the without-similarities; if ``hi > lo``, with-segments below ``hi``
    and without-segments above ``lo`` are unreliable. ``quantile=0`` is upstream's min/max rule,
    which a single outlier stretches over everything; the default 0.05 ignores such tails.
    Returns boolean masks (unreliable-with, unreliable-without) [N, T, C].
    """
    if scope not in ("video", "all"):
        raise ValueError(f"scope must be 'video' or 'all', got {scope!r}")
    unrel_with = np.zeros(labels.shape, bool)
    unrel_without = np.zeros(labels.shape, bool)
    for c in range(labels.shape[-1]):
        in_scope = np.broadcast_to(video_labels[:, None, c] > 0, labels.shape[:2]) if scope == "video" \
            else np.ones(labels.shape[:2], bool)
        with_c = in_scope & (labels[..., c] > 0)
        without_c = in_scope & (labels[..., c] == 0)
        if not with_c.any() or not without_c.any():
            continue
        s = sim[..., c]
        lo, hi = np.quantile(s[with_c], quantile), np.quantile(s[without_c], 1 - quantile)
        if hi > lo:
            unrel_with[..., c] = with_c & (s < hi)
            unrel_without[..., c] = without_c & (s > lo)
    return unrel_with, unrel_without


def reweight(labels: np.ndarray, sim: np.ndarray, unrel_with: np.ndarray, unrel_without: np.ndarray,
             alpha: float = 4.0, beta: float = 0.4, mode: str = "dynamic") -> np.ndarray:
    """LSLD eq. 4: soft labels ``min(1, alpha * s_c)`` (label 1) and ``min(1, beta * s_c)`` (label 0).

    Applied to unreliable segments only; clipped at 0 as well, since a cosine can be negative.
    ``mode`` (Table 4(b)): ``dynamic`` both sides; ``with_only`` / ``without_only`` one side;
    ``stable`` replaces each segment's similarity by the class's mean similarity over its
    unreliable segments of that side (a constant weight per class and side); ``none`` returns
    the labels unchanged.
    """
    if mode not in REWEIGHT_MODES:
        raise ValueError(f"unknown re-weighting mode {mode!r}; expected one of {REWEIGHT_MODES}")
    out = labels.astype(np.float32).copy()
    if mode == "none":
        return out
    sides = {"dynamic": (True, True), "stable": (True, True), "with_only": (True, False), "without_only": (False, True)}[mode]
    for use, mask, factor in zip(sides, (unrel_with, unrel_without), (alpha, beta)):
        if not use:
            continue
        s = sim
        if mode == "stable":
            counts = mask.sum(axis=(0, 1))
            means = np.where(counts > 0, (sim * mask).sum(axis=(0, 1)) / np.maximum(counts, 1), 0.0)
            s = np.broadcast_to(means, sim.shape)
        out[mask] = np.clip(factor * s[mask], 0.0, 1.0)
    return out


@dataclass(frozen=True)
class LSLDConfig:
    """LSLD supervision (Table 2: denoise=DeN, reweight=ReW)."""

    method: ClassVar[str] = "lsld"
    denoise: bool = True
    reweight: str = "dynamic"  # REWEIGHT_MODES
    alpha: float = 4.0
    beta: float = 0.4
    no_event: str = "other"  # Table 3
    descriptions: str = "playing"  # Table 6 / LSLD_DESCRIPTIONS
    clip_kind: str = "clip_vitb16"  # features the labels are made from
    overlap_quantile: float = 0.05  # 0 = upstream min/max rule
    without_scope: str = "video"  # "all" = upstream
    reweight_text: str = "description"  # "class_name" = upstream (raw "Frying_(food)")
    max_labels: int = 0  # 0 = all subsets (paper); upstream 3
    audio_keep: float = 1.0


def lsld_labels(features: np.ndarray, video_labels: np.ndarray, encoder: TextEncoder, cfg: LSLDConfig) -> dict[str, np.ndarray]:
    """Sec. 3.3-3.4 end to end: ``denoised`` [N, T, C] uint8 and ``final`` (soft) float32 labels.

    With re-weighting it also returns its evidence: ``similarity`` to each class text and the
    ``unreliable_with`` / ``unreliable_without`` masks (all [N, T, C]).
    """
    denoised = (denoise_segments(features, video_labels, encoder, cfg.descriptions, cfg.no_event, cfg.max_labels)
                if cfg.denoise else video_label_everywhere(video_labels, features.shape[1]))
    out = {"denoised": denoised, "final": denoised.astype(np.float32)}
    if cfg.reweight != "none":
        texts = list(CLASSES) if cfg.reweight_text == "class_name" else descriptions(cfg.descriptions)
        sim = class_similarity(features, encoder, texts)
        uw, uwo = unreliable_segments(sim, denoised, video_labels, cfg.overlap_quantile, cfg.without_scope)
        out.update(final=reweight(denoised, sim, uw, uwo, cfg.alpha, cfg.beta, cfg.reweight),
                   similarity=sim, unreliable_with=uw, unreliable_without=uwo)
    return out


def lsld_for_split(data_dir: str, split, cfg: LSLDConfig) -> dict[str, np.ndarray]:
    feats = load_features(resolve(data_dir), cfg.clip_kind, split.video_ids, progress=False)
    return lsld_labels(feats, split.labels, get_text_encoder(resolve(data_dir), cfg.clip_kind), cfg)


def build_lsld_targets(cfg: LSLDConfig, ctx) -> Targets:
    """End of Sec. 3.4: segment-level visual BCE against the labels replaces the video-level visual term."""
    seg = torch.as_tensor(lsld_for_split(ctx.config.data.data_dir, ctx.train, cfg)["final"])
    y = torch.as_tensor(ctx.train.labels, dtype=torch.float32)
    return Targets(video=y, audio=smooth(y, cfg.audio_keep), visual=None, seg_visual=seg, seg_loss="bce", seg_weight=1.0)
