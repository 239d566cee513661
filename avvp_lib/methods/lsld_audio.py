"""LSLD as its official code runs it ("LSLD (official code)"): audio labels from language too.

The paper does not denoise audio (Sec. 1: "we do not assign segment-level labels for the audio
track"); fyyCS/LSLD ``main.py`` does. Everything below that the paper does not state comes from
that file (line numbers of ``main.py`` at commit d34c988):

- Audio prompts: the same subsets + "other" as the visual ones, each wrapped in
  "This is a sound of [CLS]" (L165-169), embedded by LAION-CLAP (L171-173, L208) and compared
  with CLAP audio segment features (``--audio_dir data/feats/clap_audioset/``, L415) by cosine
  then softmax over prompts; each segment takes its argmax prompt's classes (L207-213, L223-252).
  Only videos with 1 to 3 labels are denoised (L189-204); audio labels are not re-weighted
  (``getVisualCleanLabel`` re-weights the visual ones only, L64-148).
- Loss (L278-293): segment BCE on the audio probabilities (weight 3, L431) and on the visual
  ones (weight 1, L432) against the refined labels, plus the fused video-level BCE (weight 1,
  L433); no video-level audio or visual term.
- The rest of the recipe (4 layers, visual dropout 0.5, lr 2e-4, StepLR(6, 0.25), 20 epochs,
  batch 32, seed 6, selection on validation audio event-level F1, each modality masked by its
  own video-level prediction) is a run configuration: ``avvp_lib.recipes.lsld_official_run``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from avvp_lib.losses import segment_bce
from avvp_lib.methods.baseline import video_label_everywhere
from avvp_lib.methods.lsld import LSLDConfig, denoise_segments, denoising_prompts, lsld_segment_labels
from avvp_lib.supervision import Targets
from avvp_lib.text_encoders import TextEncoder

AUDIO_TEMPLATE = "This is a sound of [CLS]"  # main.py L169


class PromptTemplate:
    """A text encoder that puts every prompt into ``template`` (at ``[CLS]``) before encoding it."""

    def __init__(self, encoder: TextEncoder, template: str):
        if "[CLS]" not in template:
            raise ValueError(f"prompt template {template!r} has no [CLS] placeholder")
        self.encoder, self.template = encoder, template

    def encode_text(self, prompts: list[str]) -> torch.Tensor:
        return self.encoder.encode_text([fill(self.template, p) for p in prompts])


def fill(template: str, text: str) -> str:
    """``template`` with ``text`` at ``[CLS]``."""
    return template.replace("[CLS]", text)


def denoise_audio_segments(features: np.ndarray, video_labels: np.ndarray, encoder: TextEncoder,
                           variant: str = "official", template: str = AUDIO_TEMPLATE, no_event: str = "other",
                           max_labels: int = 3) -> np.ndarray:
    """main.py L165-252, audio half: LSLD's subset-prompt denoising (Sec. 3.2-3.3) on CLAP audio segments.

    ``features`` [N, T, D] CLAP audio segment features, ``encoder`` a CLAP(-like) text encoder;
    every prompt ("A and B", "other") is put into ``template``. Returns [N, T, C] uint8.
    """
    return denoise_segments(features, video_labels, PromptTemplate(encoder, template), variant, no_event, max_labels)


def clap_audio_labels(cfg, features: np.ndarray, video_labels: np.ndarray, encoder: TextEncoder) -> np.ndarray:
    """``denoise_audio_segments`` at a config's settings (``descriptions``, ``audio_template``, ``no_event``,
    ``max_labels``: ``LSLDOfficialConfig``, ``VPLANLSLDConfig``)."""
    return denoise_audio_segments(features, video_labels, encoder, cfg.descriptions, cfg.audio_template,
                                  cfg.no_event, cfg.max_labels)


def clap_prompts(cfg, video_labels: np.ndarray) -> list[str]:
    """Every CLAP text ``clap_audio_labels`` encodes for ``video_labels`` under ``cfg``, sorted."""
    return [fill(cfg.audio_template, p) for p in denoising_prompts(video_labels, cfg.descriptions, cfg.no_event,
                                                                     cfg.max_labels)]


@dataclass(frozen=True)
class LSLDOfficialConfig(LSLDConfig):
    """LSLD's official code: the visual labels of ``LSLDConfig`` at the code's settings, plus CLAP audio labels.

    Visual defaults that differ from the paper's LSLD: the code's descriptions (main.py L158-163)
    and denoising of videos with 1 to 3 labels only (L189-204). ``audio_keep`` is unused (no
    video-level audio term).
    """

    method: ClassVar[str] = "lsld_official"
    descriptions: str = "official"
    max_labels: int = 3
    clap_kind: str = "clap_audioset"  # CLAP audio features the audio labels come from (L415)
    audio_template: str = AUDIO_TEMPLATE
    audio_denoise: bool = True  # False: the video label on every audio segment
    audio_weight: float = 3.0  # L431

    def pseudo_label_kinds(self) -> dict[str, str]:
        """The CLIP kind, and the CLAP kind only when the audio labels are denoised (``config.pseudo_label_kinds``)."""
        return {"clip_kind": self.clip_kind, **({"clap_kind": self.clap_kind} if self.audio_denoise else {})}


def audio_labels_for_split(cfg: LSLDOfficialConfig, split: str, ctx) -> np.ndarray:
    """CLAP-denoised audio segment labels [N, T, C] of a split of the build context (its CLAP features and
    CLAP text encoder; the video label everywhere without denoising)."""
    labels = ctx.split(split).labels
    if not cfg.audio_denoise:
        return video_label_everywhere(labels)
    return clap_audio_labels(cfg, ctx.features(cfg.clap_kind, split), labels, ctx.text_encoder(cfg.clap_kind))


def build_lsld_official_targets(cfg: LSLDOfficialConfig, ctx) -> Targets:
    """main.py L278-293: ``audio_weight * BCE(P^a, Y^a) + BCE(P^v, Y^v) + BCE(p^{v∪a}, y)``."""
    seg_v = torch.as_tensor(lsld_segment_labels(cfg, "train", ctx))
    seg_a = torch.as_tensor(audio_labels_for_split(cfg, "train", ctx), dtype=torch.float32)
    y = torch.as_tensor(ctx.train.labels, dtype=torch.float32)
    return Targets(video=y, audio=None, visual=None, seg_visual=seg_v, seg_loss=segment_bce, seg_weight=1.0,
                   seg_audio=seg_a, seg_audio_loss=segment_bce, seg_audio_weight=cfg.audio_weight)
