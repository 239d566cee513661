"""A directory of videos -> LLP-layout features (``<out>/feats/<kind>/<video_id>.npy``).

Resumable: a video whose requested feature files all exist is skipped, and every file is
written to a temporary name then renamed, so an interrupted run leaves no partial file.
Unreadable videos are recorded in ``<out>/failures.csv`` (video, kind, reason) and the rest go
on; a video without audio gets its visual features and a failure row for ``vggish``.
"""
from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from avvp_lib.atomic import atomic_save_npy
from avvp_lib.clip_encoder import CLIP_MODELS, ClipEncoder
from avvp_lib.data.features import check_feature, feature_path
from avvp_lib.devices import pick_device
from avvp_lib.extract.video import FPS, DecodeError, decode_video
from avvp_lib.extract.vggish import VGGish, embed_audio, load_vggish

VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".avi", ".mov")
KINDS = (*CLIP_MODELS, "vggish")


@dataclass(frozen=True)
class ExtractConfig:
    kinds: tuple[str, ...] = ("clip_vitb16", "vggish")
    frame_rule: str = "middle"  # CLIP input per segment: "middle" frame, or "mean" of the 8 frame embeddings
    clip_pretrained: str | None = None  # open_clip tag or checkpoint path; None: openai / env variable
    vggish_weights: str | None = None
    device: str | None = None
    batch_size: int = 64

    def __post_init__(self) -> None:
        bad = [k for k in self.kinds if k not in KINDS]
        if bad:
            raise ValueError(f"cannot extract {bad}; supported kinds: {list(KINDS)} "
                             "(res152 / r2plus1d_18 come from the upstream extractors)")
        if self.frame_rule not in ("middle", "mean"):
            raise ValueError(f"frame_rule must be 'middle' or 'mean', got {self.frame_rule!r}")
        pick_device(self.device)  # a device this machine lacks is refused before any work


def clip_segment_features(encoder: ClipEncoder, frames: np.ndarray, rule: str = "middle", batch_size: int = 64) -> np.ndarray:
    """[80, H, W, 3] frames -> [10, D] segment features (middle frame, or mean of the 8 embeddings)."""
    if rule == "middle":
        return encoder.encode_images(list(frames[FPS // 2::FPS]), batch_size).numpy()
    emb = encoder.encode_images(list(frames), batch_size).numpy()
    return emb.reshape(-1, FPS, emb.shape[-1]).mean(axis=1)


def _save(path: Path, arr: np.ndarray, kind: str) -> None:
    arr = check_feature(np.asarray(arr, np.float32), kind, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_save_npy(path, arr)


def _record_failure(out: Path, video: str, kind: str, reason: str) -> None:
    path = out / "failures.csv"
    new = not path.is_file()
    with path.open("a", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(["video", "kind", "reason"])
        w.writerow([video, kind, reason])


def _read_failures(out: Path) -> dict[str, set[str]]:
    path = out / "failures.csv"
    failed: dict[str, set[str]] = {}
    if path.is_file():
        with path.open(newline="") as f:
            for row in csv.DictReader(f):
                failed.setdefault(row["video"], set()).add(row["kind"])
    return failed


def extract_directory(videos: str | Path, out: str | Path, cfg: ExtractConfig = ExtractConfig(),
                      clip_encoder: ClipEncoder | None = None, vggish: VGGish | None = None,
                      progress: bool = True, retry_failed: bool = False) -> dict:
    """Extract ``cfg.kinds`` for every video in ``videos``; returns a summary with timings.

    Videos recorded in ``failures.csv`` are not retried unless ``retry_failed``.

    ``clip_encoder`` / ``vggish`` override the models loaded from ``cfg`` (tests pass tiny ones).
    """
    videos, out = Path(videos), Path(out)
    if not videos.is_dir():
        raise FileNotFoundError(f"video directory not found: {videos}")
    files = sorted(p for p in videos.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    clip_kinds = [k for k in cfg.kinds if k in CLIP_MODELS]
    encoders = {k: clip_encoder or ClipEncoder.for_kind(k, cfg.clip_pretrained, cfg.device) for k in clip_kinds}
    audio_model = (vggish or load_vggish(cfg.vggish_weights)) if "vggish" in cfg.kinds else None
    device = str(pick_device(cfg.device))
    out.mkdir(parents=True, exist_ok=True)
    failed_before = {} if retry_failed else _read_failures(out)
    summary = {"videos": len(files), "done": 0, "skipped": 0, "failed": 0, "decode_s": 0.0, "clip_s": 0.0, "vggish_s": 0.0}
    bar = tqdm(files, desc="extract", unit="video", disable=not progress)
    for path in bar:
        vid = path.stem
        targets = {k: feature_path(out, k, vid) for k in cfg.kinds}
        known_bad = failed_before.get(vid, set())
        if "all" in known_bad or all(p.is_file() for k, p in targets.items() if k not in known_bad):
            summary["skipped"] += 1
            continue
        t0 = time.perf_counter()
        try:
            clip = decode_video(path)
        except DecodeError as err:
            _record_failure(out, vid, "all", str(err))
            summary["failed"] += 1
            continue
        t1 = time.perf_counter()
        summary["decode_s"] += t1 - t0
        for kind, enc in encoders.items():
            _save(targets[kind], clip_segment_features(enc, clip.frames, cfg.frame_rule, cfg.batch_size), kind)
        t2 = time.perf_counter()
        summary["clip_s"] += t2 - t1
        if audio_model is not None:
            if clip.has_audio:
                _save(targets["vggish"], embed_audio(audio_model, clip.audio, device), "vggish")
            else:
                _record_failure(out, vid, "vggish", "no audio stream")
        summary["vggish_s"] += time.perf_counter() - t2
        summary["done"] += 1
    print(f"extracted {summary['done']}, skipped {summary['skipped']} (already done), failed {summary['failed']}"
          + (f"; see {out / 'failures.csv'}" if (out / "failures.csv").is_file() else ""))
    return summary
