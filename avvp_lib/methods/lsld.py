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

from avvp_lib.methods.baseline import smooth, video_label_everywhere
from avvp_lib.losses import segment_bce
from avvp_lib.supervision import Targets
from avvp_lib.text_encoders import TextEncoder, cosine
from avvp_lib.vocabulary import CLASSES, LSLD_DESCRIPTIONS, NO_EVENT_PROMPTS, NUM_CLASSES, Descriptions

REWEIGHT_MODES = ("none", "dynamic", "stable", "with_only", "without_only")
OVERLAP_RULES = ("official", "robust")


def description_variant(variant: str) -> Descriptions:
    """One of ``vocabulary.LSLD_DESCRIPTIONS`` (Table 6 rows and the official code's strings)."""
    if variant not in LSLD_DESCRIPTIONS:
        raise KeyError(f"unknown description variant {variant!r}; expected one of {sorted(LSLD_DESCRIPTIONS)}")
    return LSLD_DESCRIPTIONS[variant]


def subset_prompts(classes: tuple[int, ...], descs: Descriptions, no_event: str = "other") -> tuple[list[str], np.ndarray]:
    """Sec. 3.2: one prompt per non-empty subset of ``classes`` ("A and B") plus the no-event prompt.

    Returns the prompts and their label rows [P, 25] (the no-event prompt has none).
    ``no_event``: "other" (paper), "none", or "not" ("not A and not B", Table 3).
    """
    if no_event not in NO_EVENT_PROMPTS:
        raise ValueError(f"unknown no-event prompt {no_event!r}; expected one of {NO_EVENT_PROMPTS}")
    prompts, rows = [], []
    for size in range(1, len(classes) + 1):
        for subset in itertools.combinations(classes, size):
            prompts.append(descs.prompt(subset))
            rows.append(np.isin(np.arange(NUM_CLASSES), subset))
    prompts.append("not " + " and not ".join(descs.names[CLASSES[c]] for c in classes) if no_event == "not" else no_event)
    rows.append(np.zeros(NUM_CLASSES, bool))
    return prompts, np.array(rows, dtype=np.uint8)


def prompt_similarity(segment_features: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
    """LSLD eq. 3: softmax over the video's prompts of cosine similarities, no logit scale. [..., T, P]."""
    return torch.softmax(cosine(segment_features, text_features), dim=-1)


def most_similar_subset(similarity: torch.Tensor, rows: np.ndarray) -> np.ndarray:
    """LSLD Sec. 3.3's decision on eq. 3: each segment takes the label row [C] of its most similar prompt
    (``rows`` [P, C] from ``subset_prompts``; the no-event prompt's row is empty). [..., T, C]."""
    return rows[similarity.argmax(dim=-1).numpy()]


def denoise_segments(features: np.ndarray, video_labels: np.ndarray, encoder: TextEncoder,
                     variant: str = "playing", no_event: str = "other", max_labels: int = 0) -> np.ndarray:
    """Sec. 3.3: each segment takes the label subset of its most similar prompt. [N, T, C] uint8.

    Videos sharing a label set share prompts, so they are scored together and every distinct
    prompt is encoded once. ``max_labels`` > 0 keeps the video label on every segment of videos
    with more labels (upstream uses 3); 0 denoises all (2^k prompts for k labels).
    """
    descs = description_variant(variant)
    out = video_label_everywhere(video_labels, features.shape[1])
    for cls, idx in label_groups(video_labels, max_labels).items():
        prompts, rows = subset_prompts(cls, descs, no_event)
        sim = prompt_similarity(torch.as_tensor(features[idx]), encoder.encode_text(prompts))
        out[idx] = most_similar_subset(sim, rows)
    return out


def label_groups(video_labels: np.ndarray, max_labels: int = 0) -> dict[tuple[int, ...], list[int]]:
    """The videos ``denoise_segments`` denoises, grouped by label set (``max_labels`` as there)."""
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for i, row in enumerate(video_labels):
        cls = tuple(int(c) for c in np.flatnonzero(row))
        if cls and (max_labels <= 0 or len(cls) <= max_labels):
            groups[cls].append(i)
    return groups


def denoising_prompts(video_labels: np.ndarray, variant: str = "playing", no_event: str = "other",
                      max_labels: int = 0) -> list[str]:
    """Every prompt ``denoise_segments`` encodes for ``video_labels`` with these settings, sorted."""
    descs = description_variant(variant)
    return sorted({p for cls in label_groups(video_labels, max_labels) for p in subset_prompts(cls, descs, no_event)[0]})


def class_descriptions(variant: str) -> list[str]:
    """The 25 class descriptions of a variant, one prompt per class (with its prefix where it applies)."""
    descs = description_variant(variant)
    return [descs.prompt((c,)) for c in range(NUM_CLASSES)]


def class_similarity(features: np.ndarray, encoder: TextEncoder, texts: list[str]) -> np.ndarray:
    """Cosine similarity of every segment to every class text (no softmax). [N, T, C]."""
    return cosine(torch.as_tensor(features), encoder.encode_text(texts)).numpy()


def overlap_band(sim_with: np.ndarray, sim_without: np.ndarray, rule: str = "official",
                 quantile: float = 0.05) -> tuple[float, float]:
    """Sec. 3.4's "overlap region" of one class's with-c and without-c similarities: ``(lo, hi)``.

    ``official`` (fyyCS/LSLD main.py): ``lo`` = the smallest with-c similarity, ``hi`` = the largest
    without-c one. ``robust`` (this bundle's variant): the ``quantile`` and ``1 - quantile``
    quantiles instead, so one outlier does not stretch the band over everything. The band is
    empty unless ``hi > lo``.
    """
    if rule not in OVERLAP_RULES:
        raise ValueError(f"unknown overlap rule {rule!r}; expected one of {OVERLAP_RULES}")
    if rule == "official":
        return float(sim_with.min()), float(sim_without.max())
    return float(np.quantile(sim_with, quantile)), float(np.quantile(sim_without, 1 - quantile))


def unreliable_segments(sim: np.ndarray, labels: np.ndarray, video_labels: np.ndarray,
                        rule: str = "official") -> tuple[np.ndarray, np.ndarray]:
    """Sec. 3.4: the segments whose similarity falls in the overlap band of their class.

    Per class c, "with" = segments whose denoised label has c, "without" = segments whose label
    lacks c. ``official``: over all training segments ("all the segments across the dataset",
    as fyyCS/LSLD main.py). ``robust`` (this bundle's): over the segments of videos labelled c
    only, with the quantile band of ``overlap_band``. With ``(lo, hi) = overlap_band(...)`` and
    ``hi > lo``, with-segments below ``hi`` and without-segments above ``lo`` are unreliable.
    Returns boolean masks (unreliable-with, unreliable-without) [N, T, C].
    """
    unrel_with = np.zeros(labels.shape, bool)
    unrel_without = np.zeros(labels.shape, bool)
    for c in range(labels.shape[-1]):
        in_scope = (np.ones(labels.shape[:2], bool) if rule == "official"
                    else np.broadcast_to(video_labels[:, None, c] > 0, labels.shape[:2]))
        with_c = in_scope & (labels[..., c] > 0)
        without_c = in_scope & (labels[..., c] == 0)
        if not with_c.any() or not without_c.any():
            continue
        s = sim[..., c]
        lo, hi = overlap_band(s[with_c], s[without_c], rule)
        if hi > lo:
            unrel_with[..., c] = with_c & (s < hi)
            unrel_without[..., c] = without_c & (s > lo)
    return unrel_with, unrel_without


def eq4_soft_label(sim: np.ndarray, factor: float, label: np.ndarray) -> np.ndarray:
    """LSLD eq. 4 for one side: ``min(1, factor * s_c)``, written only where ``0 < factor * s_c < 1``.

    As fyyCS/LSLD main.py applies it: where the product is >= 1 or <= 0 (a cosine can be
    negative) the segment keeps its ``label``.
    """
    value = factor * sim
    return np.where((value > 0) & (value < 1), value, label).astype(np.float32)


def reweight(labels: np.ndarray, sim: np.ndarray, unrel_with: np.ndarray, unrel_without: np.ndarray,
             alpha: float = 4.0, beta: float = 0.4, mode: str = "dynamic") -> np.ndarray:
    """LSLD eq. 4 on the unreliable segments: ``alpha`` for label-1 segments, ``beta`` for label-0 ones.

    ``mode`` (Table 4(b)): ``dynamic`` both sides; ``with_only`` / ``without_only`` one side;
    ``stable`` replaces each segment's similarity by the class's mean similarity over its
    unreliable segments of that side (a constant weight per class and side; this bundle's
    reading of the paper's "stable value"); ``none`` returns the labels unchanged.
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
        out[mask] = eq4_soft_label(s[mask], factor, out[mask])
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
    descriptions: str = "playing"  # Table 6 / vocabulary.LSLD_DESCRIPTIONS
    clip_kind: str = "clip_vitb16"  # features the labels are made from
    clip_segment_rule: str = "mean"  # mean of each segment's 8 frames, as fyyCS/LSLD
    overlap_rule: str = "official"  # OVERLAP_RULES: "official" (all segments, min/max) or "robust" (this bundle's)
    reweight_text: str = "class_name"  # raw "Frying_(food)" as fyyCS/LSLD; "description" = this bundle's
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
        texts = list(CLASSES) if cfg.reweight_text == "class_name" else class_descriptions(cfg.descriptions)
        sim = class_similarity(features, encoder, texts)
        uw, uwo = unreliable_segments(sim, denoised, video_labels, cfg.overlap_rule)
        out.update(final=reweight(denoised, sim, uw, uwo, cfg.alpha, cfg.beta, cfg.reweight),
                   similarity=sim, unreliable_with=uw, unreliable_without=uwo)
    return out


def lsld_for_split(cfg: LSLDConfig, split: str, ctx) -> dict[str, np.ndarray]:
    """``lsld_labels`` of a split of the build context (its CLIP features and text encoder)."""
    feats = ctx.features(cfg.clip_kind, split, cfg.clip_segment_rule)
    return lsld_labels(feats, ctx.split(split).labels, ctx.text_encoder(cfg.clip_kind), cfg)


def lsld_segment_labels(cfg: LSLDConfig, split: str, ctx) -> np.ndarray:
    """The final (soft where re-weighted) segment labels of a split. [N, T, C] float32."""
    return lsld_for_split(cfg, split, ctx)["final"]


def build_lsld_targets(cfg: LSLDConfig, ctx) -> Targets:
    """End of Sec. 3.4: segment-level visual BCE against the labels replaces the video-level visual term."""
    seg = torch.as_tensor(lsld_segment_labels(cfg, "train", ctx))
    y = torch.as_tensor(ctx.train.labels, dtype=torch.float32)
    return Targets(video=y, audio=smooth(y, cfg.audio_keep), visual=None, seg_visual=seg, seg_loss=segment_bce, seg_weight=1.0)
