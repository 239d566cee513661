"""MA (Wu & Yang, "Exploring Heterogeneous Clues for Weakly-Supervised Audio-Visual Video Parsing", CVPR 2021).

Modality-aware label refinement in the three steps of the official code
(Yu-Wu/Modaily-Aware-Audio-Visual-Video-Parsing, ``step1_train_base_model``, ``step2_find_exchange``,
``step3_retrain``):

1. a base model trained on the weak labels (a prerequisite run, ``base_config``);
2. exchange: every training video gets the audio (resp. visual) track of a video that shares no
   event with it; a labelled event that the base model then finds in neither modality is taken
   to be absent from the track that was kept (``exchange_flips``);
3. a model retrained from scratch on the refined modality-wise video-level labels (``ma_targets``).

Choices, each named: the base model is the run's own backbone and schedule with HAN's label
smoothing (``HANLabels``); MA's code also adds an audio-visual segment contrastive loss in steps
1 and 3, which is not reproduced (it needs backbone internals that ``Targets`` does not see).
``schedules.SCHEDULES["ma"]`` holds the code's schedule (12 epochs, last epoch kept, per-modality
inference). The MA paper text was not available here; where these docstrings say "code" the
behaviour was read from the official code.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import ClassVar

import torch
from torch import Tensor, nn

from avvp_lib.methods.baseline import HANLabels, smooth
from avvp_lib.paths import resolve
from avvp_lib.supervision import Targets
from avvp_lib.vocabulary import CLASSES


@dataclass(frozen=True)
class MAConfig:
    """MA supervision. ``fused_target``: "code" (step 3 code: an audio flip also removes the class
    from the fused target y^{v∪a}, through an aliased array) or "weak" (y^{v∪a} unchanged)."""

    method: ClassVar[str] = "ma"
    audio_keep: float = 1.0  # label smoothing of the audio target, as HAN (code)
    visual_keep: float = 0.9  # visual target 0.9 y + 0.05; a flipped label becomes 0 (code)
    flip_ratio: float = 0.5  # step 2 code: flip when p_c / scale_c < 0.5 in both modalities
    fused_target: str = "code"  # "code" | "weak"
    exchange_seed: int = 0  # partner draw (the code draws with Python's unseeded ``random``)
    flips_file: str | None = None  # MA-format flips as JSON (``load_flips``) instead of steps 1-2


@dataclass
class ExchangePredictions:
    """Video-level probabilities [N, C] of the base model on original and exchanged inputs."""

    audio: Tensor  # original inputs
    visual: Tensor
    own_audio_audio: Tensor  # visual track exchanged, own audio kept (code: a_v)
    own_audio_visual: Tensor  # (code: v_v)
    own_visual_audio: Tensor  # audio track exchanged, own visual kept (code: a_a)
    own_visual_visual: Tensor  # (code: v_a)


# ---------------------------------------------------------------- step 1
def base_config(run_config, cfg: MAConfig):
    """Step 1: the base model, the run's config trained on the weak labels (HAN label smoothing), named after it."""
    return run_config.replace(name=f"{run_config.name}_base", supervision=HANLabels(cfg.audio_keep, cfg.visual_keep))


def ma_requires(run_config) -> tuple:
    """Step 1's base model, unless the flips come from a file."""
    cfg = run_config.supervision
    return () if cfg.flips_file else (base_config(run_config, cfg),)


# ---------------------------------------------------------------- step 2
def exchange_partners(labels: Tensor, seed: int = 0, chunk: int = 1024) -> Tensor:
    """Step 2 pairing (step 2 code, dataloader): for each video, a partner drawn uniformly from
    the videos whose weak label shares no event with its own. [N] indices.

    The same partner gives both the exchanged audio and the exchanged visual track (code).
    """
    y = labels.float()
    u = torch.rand(len(y), generator=torch.Generator().manual_seed(seed))
    partners = []
    for i in range(0, len(y), chunk):
        disjoint = (y[i:i + chunk] @ y.T) == 0  # [chunk, N]
        count = disjoint.sum(1)
        if (count == 0).any():
            j = i + int((count == 0).nonzero()[0])
            raise ValueError(f"MA exchange: training video {j} shares an event with every other one; no partner")
        k = (u[i:i + chunk] * count).long().clamp(max=count - 1)  # the k-th disjoint video, uniformly
        partners.append((disjoint.cumsum(1) > k[:, None]).int().argmax(1))
    return torch.cat(partners)


@torch.no_grad()
def exchange_predictions(model: nn.Module, audio: Tensor, visual: list[Tensor], partner: Tensor,
                         batch: int = 512) -> ExchangePredictions:
    """Step 2 forward passes (code): original inputs; own audio with the partner's visual tracks
    (every visual feature kind exchanged together); the partner's audio with own visual tracks."""
    model.eval()
    rows: dict[str, list[Tensor]] = {f.name: [] for f in fields(ExchangePredictions)}
    for i in range(0, len(audio), batch):
        own = slice(i, i + batch)
        other = partner[own].to(audio.device)
        runs = {"": (audio[own], [v[own] for v in visual]),
                "own_audio_": (audio[own], [v[other] for v in visual]),
                "own_visual_": (audio[other], [v[own] for v in visual])}
        for prefix, (a, v) in runs.items():
            out = model(a, v)
            rows[prefix + "audio"].append(out.audio_prob.float().cpu())
            rows[prefix + "visual"].append(out.visual_prob.float().cpu())
    return ExchangePredictions(**{k: torch.cat(v) for k, v in rows.items()})


def class_error_scale(prob: Tensor, labels: Tensor) -> Tensor:
    """Step 2 code: per-class error rate of ``prob > 0.5`` against the weak label over the train
    split, divided by its largest value (a modality's least reliable class gets 1). [C]"""
    err = ((prob > 0.5).float() != labels.float()).float().mean(0)
    top = err.max()
    return err / top if top > 0 else torch.zeros_like(err)


def exchange_flips(pred: ExchangePredictions, labels: Tensor, ratio: float = 0.5) -> tuple[Tensor, Tensor]:
    """Step 2 rule (code): which labelled events are absent from a modality. (audio, visual) bool [N, C].

    Visual: with the audio track exchanged, both p^v_c and p^a_c < ratio * scale^v_c (the event is
    found nowhere though its own visual track is there). Audio: with the visual track exchanged,
    both p^a_c and p^v_c < ratio * scale^a_c. The scales are ``class_error_scale`` of the original
    visual and audio predictions (code: p / scale < 0.5, the same test without the division).
    """
    y = labels > 0
    scale_a = ratio * class_error_scale(pred.audio, labels)
    scale_v = ratio * class_error_scale(pred.visual, labels)
    flip_v = y & (pred.own_visual_visual < scale_v) & (pred.own_visual_audio < scale_v)
    flip_a = y & (pred.own_audio_audio < scale_a) & (pred.own_audio_visual < scale_a)
    return flip_a, flip_v


# ---------------------------------------------------------------- step 3
def ma_targets(labels: Tensor, flip_audio: Tensor, flip_visual: Tensor, cfg: MAConfig) -> Targets:
    """Step 3 (code): audio target ``smooth(y)`` and visual target ``smooth(y)`` with the flipped
    labels set to 0; fused target y^{v∪a}, less the audio flips when ``fused_target == "code"``."""
    if cfg.fused_target not in ("code", "weak"):
        raise ValueError(f"MA fused_target must be 'code' or 'weak', got {cfg.fused_target!r}")
    y = labels.float()
    audio = smooth(y, cfg.audio_keep).masked_fill(flip_audio, 0.0)
    visual = smooth(y, cfg.visual_keep).masked_fill(flip_visual, 0.0)
    video = y.masked_fill(flip_audio, 0.0) if cfg.fused_target == "code" else y
    return Targets(video=video, audio=audio, visual=visual)


def refined_labels(labels: Tensor, flip_audio: Tensor, flip_visual: Tensor) -> tuple[Tensor, Tensor]:
    """Binary modality-wise video-level labels (audio, visual) [N, C]: the weak label less the flips."""
    y = labels > 0
    return y & ~flip_audio, y & ~flip_visual


# ---------------------------------------------------------------- MA-format flips
def load_flips(path: str | Path, labels: Tensor) -> tuple[Tensor, Tensor]:
    """(audio, visual) flips [N, C] from MA's step-2 output as JSON: ``need_to_change_a`` /
    ``need_to_change_v`` map each class name to 0-based train rows (``flips_to_json``'s format,
    and that of the decoded DHHN file in shared/upstream)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        parts = [data[key] for key in ("need_to_change_a", "need_to_change_v")]
    except (OSError, ValueError, KeyError) as e:
        raise ValueError(f"{path}: not an MA flips file (need 'need_to_change_a' and 'need_to_change_v'): {e}") from e
    out = []
    for part in parts:
        mask = torch.zeros(labels.shape, dtype=torch.bool)
        for name, rows in part.items():
            if name not in CLASSES:
                raise ValueError(f"{path}: unknown class {name!r}")
            rows = torch.as_tensor(rows, dtype=torch.long)
            if len(rows) and (rows.min() < 0 or rows.max() >= len(labels)):
                raise ValueError(f"{path}: class {name!r} has rows outside the {len(labels)} training videos")
            mask[rows, CLASSES.index(name)] = True
        if (mask & (labels <= 0)).any():
            raise ValueError(f"{path}: flips a label that the weak labels do not have (wrong train CSV?)")
        out.append(mask)
    return out[0], out[1]


def flips_to_json(flip_audio: Tensor, flip_visual: Tensor) -> dict[str, dict[str, list[int]]]:
    """MA's step-2 output layout (per class, the train rows whose label is flipped), as plain JSON."""
    as_lists = lambda m: {c: m[:, i].nonzero().flatten().tolist() for i, c in enumerate(CLASSES)}  # noqa: E731
    return {"need_to_change_a": as_lists(flip_audio), "need_to_change_v": as_lists(flip_visual)}


def estimate_flips(ctx, cfg: MAConfig) -> tuple[Tensor, Tensor]:
    """Steps 1-2: train (or load) the base model, then run the exchange on the train split."""
    (base,) = ma_requires(ctx.config)
    model = ctx.load_model(ctx.run(base))
    labels = torch.as_tensor(ctx.train.labels)
    pred = exchange_predictions(model, *ctx.train_inputs(), exchange_partners(labels, cfg.exchange_seed))
    return exchange_flips(pred, labels, cfg.flip_ratio)


def build_ma_targets(cfg: MAConfig, ctx) -> Targets:
    labels = torch.as_tensor(ctx.train.labels, dtype=torch.float32)
    flips = load_flips(resolve(cfg.flips_file), labels) if cfg.flips_file else estimate_flips(ctx, cfg)
    return ma_targets(labels, *flips, cfg)

