"""VPLAN + LSLD, a method of this bundle's own (in neither paper): language labels, refined and trained as VPLAN.

1. Labels from language (LSLD Sec. 3.2-3.3): the visual segment labels are LSLD's
   subset-prompt denoising of CLIP segments (``lsld.denoise_segments``); the audio ones the same
   on CLAP audio segments with the official code's "This is a sound of [CLS]" prompts
   (``lsld_audio.clap_audio_labels``). They take the place of VPLAN's PLG labels.
2. Refinement (VPLAN Sec. IV-C, eq. 10-11): a model trained with eq. 9 on those labels gives the
   forward losses with which PLD flips abnormal labels, in both modalities (``pld_audio``).
3. Training (VPLAN eq. 5 and 9): the video-level visual (and audio) target is the video-level
   pseudo label of the refined segment labels, plus ``lam`` times the richness-aware loss
   (eq. 8) of each modality.

Every choice here is the bundle's: the labels use LSLD's paper settings (``descriptions``
"playing", every subset) and are binary (LSLD's re-weighted soft labels do not fit PLD's flips);
the audio side mirrors VPLAN's visual side. ``audio_labels=False`` keeps HAN's weak audio target.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from avvp_lib.methods.baseline import smooth
from avvp_lib.methods.lsld import denoise_segments
from avvp_lib.methods.lsld_audio import AUDIO_TEMPLATE, clap_audio_labels
from avvp_lib.methods.vplan import denoise_pseudo_labels, eq9_supervision, segment_loss, video_level
from avvp_lib.supervision import Targets

PSEUDO = ("lsld", "pld")


@dataclass(frozen=True)
class VPLANLSLDConfig:
    """VPLAN + LSLD supervision (module docstring). Ablation: ``pseudo``, ``audio_labels``, ``pld_audio``, ``seg_loss``."""

    method: ClassVar[str] = "vplan_lsld"
    pseudo: str = "pld"  # "lsld": the language labels as they are; "pld": refined by VPLAN's PLD
    audio_labels: bool = True  # CLAP audio labels (else HAN's smoothed weak audio target)
    pld_audio: bool = True  # PLD refines the audio labels too
    seg_loss: str = "richness"  # VPLAN's segment term: "none" | "bce" (L'_S) | "richness" (L_S, eq. 8)
    lam: float = 0.5  # VPLAN eq. 9
    richness_sr_over: str = "all"  # VPLAN eq. 8 as printed
    descriptions: str = "playing"  # LSLD Table 6 / vocabulary.LSLD_DESCRIPTIONS
    no_event: str = "other"
    max_labels: int = 0  # 0 = every subset (LSLD paper)
    clip_kind: str = "clip_vitb16"
    clip_segment_rule: str = "mean"  # LSLD's: mean of each segment's 8 frames
    clap_kind: str = "clap_audioset"
    audio_template: str = AUDIO_TEMPLATE
    pld_k: int = 5  # VPLAN Table II
    pld_alpha: float = 10.0
    audio_keep: float = 1.0  # HAN's audio smoothing, used when audio_labels is False

    def pseudo_label_kinds(self) -> dict[str, str]:
        """The CLIP kind, and the CLAP kind only when the audio labels come from it (``config.pseudo_label_kinds``)."""
        return {"clip_kind": self.clip_kind, **({"clap_kind": self.clap_kind} if self.audio_labels else {})}


def language_labels(clip_features: np.ndarray, clap_features: np.ndarray | None, video_labels: np.ndarray,
                    clip_encoder, clap_encoder, cfg: VPLANLSLDConfig) -> dict[str, np.ndarray]:
    """Step 1: ``visual`` [N, T, C] uint8 LSLD labels of CLIP segments and, given CLAP features, ``audio`` ones."""
    out = {"visual": denoise_segments(clip_features, video_labels, clip_encoder, cfg.descriptions, cfg.no_event,
                                      cfg.max_labels)}
    if clap_features is not None:
        out["audio"] = clap_audio_labels(cfg, clap_features, video_labels, clap_encoder)
    return out


def refine(labels: dict[str, np.ndarray], frame_prob: np.ndarray, cfg: VPLANLSLDConfig) -> dict[str, np.ndarray]:
    """Step 2: VPLAN's PLD (eq. 10-11) on each modality's labels with the pretrained model's ``frame_prob`` [N, T, 2, C]."""
    column = {"audio": 0, "visual": 1}
    out = dict(labels)
    for modality in [m for m in ("visual", "audio") if m in labels and (m == "visual" or cfg.pld_audio)]:
        prob = torch.as_tensor(frame_prob[:, :, column[modality]], dtype=torch.float32)
        y = torch.as_tensor(labels[modality], dtype=torch.float32)
        out[modality] = denoise_pseudo_labels(prob, y, cfg.pld_k, cfg.pld_alpha).to(torch.uint8).numpy()
    return out


def targets_from_labels(labels: dict[str, np.ndarray], video_labels: np.ndarray, cfg: VPLANLSLDConfig) -> Targets:
    """Step 3: VPLAN eq. 5 with the video-level pseudo labels of each modality, + ``lam`` x eq. 9's segment term."""
    y = torch.as_tensor(video_labels, dtype=torch.float32)
    seg_v = torch.as_tensor(labels["visual"], dtype=torch.float32)
    loss = segment_loss(cfg)
    seg_a = torch.as_tensor(labels["audio"], dtype=torch.float32) if "audio" in labels else None
    return Targets(video=y, audio=video_level(seg_a) if seg_a is not None else smooth(y, cfg.audio_keep),
                   visual=video_level(seg_v), seg_visual=seg_v, seg_loss=loss, seg_weight=cfg.lam,
                   seg_audio=seg_a, seg_audio_loss=loss if seg_a is not None else None, seg_audio_weight=cfg.lam)


PLD_ONLY_FIELDS = ("pld_audio", "pld_k", "pld_alpha")  # settings the eq. 9 model does not depend on


def pld_pretrain_config(run_config):
    """The eq. 9 run (richness loss) on the unrefined language labels whose predictions PLD denoises with.

    PLD-only settings are reset to their defaults, so every PLD variant of one run shares one model
    (as VPLAN's ``pld_prerequisite``).
    """
    sup = eq9_supervision(run_config.supervision, "lsld", PLD_ONLY_FIELDS)
    return run_config.replace(name=f"{run_config.name}_pre", supervision=sup)


def vplan_lsld_requires(run_config) -> tuple:
    """PLD (``pseudo="pld"``) needs the eq. 9 model on the unrefined labels; the language labels need no run."""
    return (pld_pretrain_config(run_config),) if run_config.supervision.pseudo == "pld" else ()


def language_labels_for_split(cfg: VPLANLSLDConfig, split: str, ctx) -> dict[str, np.ndarray]:
    """Step 1 on a split of the build context (its CLIP and CLAP features and their text encoders)."""
    clip = ctx.features(cfg.clip_kind, split, cfg.clip_segment_rule)
    clap = ctx.features(cfg.clap_kind, split) if cfg.audio_labels else None
    return language_labels(clip, clap, ctx.split(split).labels, ctx.text_encoder(cfg.clip_kind),
                           ctx.text_encoder(cfg.clap_kind) if cfg.audio_labels else None, cfg)


def vplan_lsld_labels(cfg: VPLANLSLDConfig, split: str, ctx) -> dict[str, np.ndarray]:
    """Steps 1-2 on a split: the language labels, refined by PLD with the prerequisite's predictions of that split."""
    if cfg.pseudo not in PSEUDO:
        raise ValueError(f"VPLAN+LSLD pseudo must be one of {PSEUDO}, got {cfg.pseudo!r}")
    labels = language_labels_for_split(cfg, split, ctx)
    if cfg.pseudo == "pld":
        (eq9,) = vplan_lsld_requires(ctx.config)
        labels = refine(labels, ctx.run(eq9).predictions(split)["frame"], cfg)
    return labels


def vplan_lsld_segment_labels(cfg: VPLANLSLDConfig, split: str, ctx) -> np.ndarray:
    """The visual segment labels [N, T, C] of a split (for the label-quality tables; no CLAP features read)."""
    return vplan_lsld_labels(dataclasses.replace(cfg, audio_labels=False), split, ctx)["visual"]


def build_vplan_lsld_targets(cfg: VPLANLSLDConfig, ctx) -> Targets:
    return targets_from_labels(vplan_lsld_labels(cfg, "train", ctx), ctx.train.labels, cfg)
