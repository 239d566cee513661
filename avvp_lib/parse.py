"""Parse your own video with a trained run: ``python -m avvp_lib parse VIDEO... --run RUN_DIR``.

For each video: decode it (``extract.video``), extract the features the run's model was trained
on with the same code as ``extract`` (CLIP kinds and VGGish need local weights), run the model,
binarise its segment probabilities with the run's inference rule (``metrics.binarize``), and write
``<out>/<video>/events.csv`` (modality, class, onset, offset in seconds, mean probability over the
event's segments) and ``<out>/<video>/timeline.png``. A video that fails is recorded in
``<out>/failures.csv`` (video, reason) and the rest go on, as in ``extract``.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from tqdm.auto import tqdm

from avvp_lib.clip_encoder import CLIP_MODELS, ClipEncoder
from avvp_lib.config import RunConfig, from_dict
from avvp_lib.data.annotations import runs
from avvp_lib.data.features import READABLE_SHAPES, check_feature, segment_features
from avvp_lib.extract.pipeline import KINDS as EXTRACTABLE, VIDEO_SUFFIXES, video_features
from avvp_lib.extract.video import FPS, DecodeError, DecodedClip, decode_video
from avvp_lib.extract.vggish import VGGish, load_vggish
from avvp_lib.figures import parse_timeline, save
from avvp_lib.metrics import binarize
from avvp_lib.devices import pick_device
from avvp_lib.train import build_backbone
from avvp_lib.vocabulary import CLASSES

MODALITIES = ("audio", "visual")
EVENT_FIELDS = ("modality", "class", "onset", "offset", "mean_probability")


@dataclass
class TrainedRun:
    """A finished run's config and its best model, ready for inference."""

    run_dir: Path
    config: RunConfig
    model: torch.nn.Module
    device: torch.device

    @property
    def kinds(self) -> tuple[str, ...]:
        return (self.config.data.audio, *self.config.data.visual)


def load_trained_run(run_dir: str | Path, device: str | None = None) -> TrainedRun:
    """The run's model with its ``best.pt`` weights; input sizes come from ``READABLE_SHAPES``."""
    run_dir = Path(run_dir)
    for name in ("results.json", "best.pt"):
        if not (run_dir / name).is_file():
            raise FileNotFoundError(f"{run_dir / name} not found: --run must be a finished run folder "
                                    "(outputs/runs/<profile>/<name>-<hash>/)")
    config = from_dict(json.loads((run_dir / "results.json").read_text())["config"])
    dev = pick_device(device)
    model = build_backbone(config, READABLE_SHAPES[config.data.audio][-1],
                           tuple(READABLE_SHAPES[k][-1] for k in config.data.visual))
    model.load_state_dict(torch.load(run_dir / "best.pt", map_location=dev))
    return TrainedRun(run_dir, config, model.to(dev).eval(), dev)


def check_extractable(kinds: tuple[str, ...]) -> None:
    """Refuse, naming the kind, a run trained on features ``parse`` cannot make from a video."""
    bad = [k for k in kinds if k not in EXTRACTABLE]
    if bad:
        raise ValueError(f"this run was trained on {bad} features, which parse cannot extract from a video "
                         f"(it extracts {list(EXTRACTABLE)}; ResNet-152 / R(2+1)D come from upstream's extractors, "
                         "CLAP needs laion_clap, not part of this bundle); use a run trained on those, e.g. the "
                         "LSLD rows (clip_vitb16 + vggish)")


@dataclass(frozen=True)
class Event:
    modality: str  # "audio" | "visual"
    label: str  # LLP class name
    onset: int  # seconds, inclusive
    offset: int  # seconds, exclusive
    mean_probability: float  # mean segment probability over [onset, offset)


def detect_events(frame_prob: np.ndarray, global_prob: np.ndarray, audio_prob: np.ndarray, visual_prob: np.ndarray,
                  rule: str = "fused") -> list[Event]:
    """Events of one video from its HAN probabilities (frame [10, 2, C], video-level [C] each)."""
    binary = binarize(frame_prob[None], global_prob[None], audio_prob[None], visual_prob[None], rule=rule)
    events = []
    for m, (modality, seg) in enumerate(zip(MODALITIES, binary)):
        for c in range(len(CLASSES)):
            for on, off in runs(seg[0, :, c]):
                events.append(Event(modality, CLASSES[c], on, off, float(frame_prob[on:off, m, c].mean())))
    return events


def write_events(path: Path, events: list[Event]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(EVENT_FIELDS)
        w.writerows([e.modality, e.label, e.onset, e.offset, f"{e.mean_probability:.4f}"] for e in events)


def model_inputs(features: dict[str, np.ndarray], run: TrainedRun) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Extracted features -> the model's [1, 10, D] inputs, through the loader's own checks and segment rule."""
    def one(kind: str) -> torch.Tensor:
        arr = segment_features(check_feature(np.asarray(features[kind], np.float32), kind, Path(f"<{kind}>")), kind)
        return torch.as_tensor(arr[None], device=run.device)

    return one(run.config.data.audio), [one(k) for k in run.config.data.visual]


@dataclass
class ParsedVideo:
    video: str
    events: list[Event]
    probabilities: dict[str, np.ndarray]  # frame [10, 2, C], global / audio / visual [C]
    clip: DecodedClip


@torch.no_grad()
def parse_clip(clip: DecodedClip, video: str, run: TrainedRun, clip_encoders: dict[str, ClipEncoder],
               vggish: VGGish | None) -> ParsedVideo:
    """One decoded clip through feature extraction and the trained model."""
    feats, failed = video_features(clip, clip_encoders, vggish, device=str(run.device))
    if failed:
        raise DecodeError("; ".join(f"{k}: {reason}" for k, reason in failed.items()))
    out = run.model(*model_inputs(feats, run))
    prob = {"frame": out.frame_prob[0].float().cpu().numpy(), "global": out.global_prob[0].float().cpu().numpy(),
            "audio": out.audio_prob[0].float().cpu().numpy(), "visual": out.visual_prob[0].float().cpu().numpy()}
    events = detect_events(prob["frame"], prob["global"], prob["audio"], prob["visual"], run.config.train.inference)
    return ParsedVideo(video, events, prob, clip)


def load_encoders(run: TrainedRun, clip_checkpoints: dict[str, str] | None = None,
                  vggish_weights: str | None = None) -> tuple[dict[str, ClipEncoder], VGGish | None]:
    """The local weights the run's features need (``WeightsUnavailable`` names what is missing)."""
    given = clip_checkpoints or {}
    encoders = {k: ClipEncoder.for_kind(k, given.get(k), str(run.device)) for k in run.kinds if k in CLIP_MODELS}
    return encoders, (load_vggish(vggish_weights) if "vggish" in run.kinds else None)


def video_files(inputs: list[str | Path]) -> list[Path]:
    """Video paths; a folder stands for the videos in it."""
    files: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            files += sorted(p for p in item.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
        else:
            files.append(item)
    return files


def timeline_title(video: str, demo_note: str = "") -> str:
    return f"{video}: predicted events" + (f" — {demo_note}" if demo_note else "")


def parse_videos(inputs: list[str | Path], run_dir: str | Path, out: str | Path,
                 clip_encoders: dict[str, ClipEncoder] | None = None, vggish: VGGish | None = None,
                 clip_checkpoints: dict[str, str] | None = None, vggish_weights: str | None = None,
                 device: str | None = None, progress: bool = True, demo_note: str = "") -> dict:
    """Parse every video of ``inputs`` (files or folders) with the run in ``run_dir``; returns a summary.

    ``clip_encoders`` / ``vggish`` replace the locally loaded weights (the notebook passes tiny random
    ones); ``demo_note`` is added to every figure title.
    """
    run = load_trained_run(run_dir, device)
    check_extractable(run.kinds)
    if clip_encoders is None or (vggish is None and "vggish" in run.kinds):
        loaded = load_encoders(run, clip_checkpoints, vggish_weights)
        clip_encoders, vggish = clip_encoders or loaded[0], vggish or loaded[1]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = video_files(inputs)
    summary = {"videos": len(files), "done": 0, "failed": 0, "events": 0, "out": str(out)}
    failures = []
    for path in tqdm(files, desc="parse", unit="video", disable=not progress):
        name = path.stem
        try:
            parsed = parse_clip(decode_video(path), name, run, clip_encoders, vggish)
        except DecodeError as err:
            failures.append((str(path), str(err)))
            continue
        write_events(out / name / "events.csv", parsed.events)
        fig = parse_timeline(parsed.clip.frames[FPS // 2::FPS], parsed.clip.audio, parsed.probabilities["frame"],
                             parsed.events, timeline_title(name, demo_note))
        save(fig, out / name / "timeline.png")
        plt.close(fig)
        summary["done"] += 1
        summary["events"] += len(parsed.events)
    failures_csv = out / "failures.csv"
    failures_csv.unlink(missing_ok=True)
    if failures:
        with failures_csv.open("w", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows([("video", "reason"), *failures])
    summary["failed"] = len(failures)
    print(f"parsed {summary['done']} of {summary['videos']} videos into {out}"
          + (f"; {len(failures)} failed, see {failures_csv}" if failures else ""))
    return summary
