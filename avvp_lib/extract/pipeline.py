"""A directory of videos -> LLP-layout features (``<out>/feats/<kind>/<video_id>.npy``).

Resumable: a video whose requested feature files all exist is skipped, and every file is
written to a temporary name then renamed, so an interrupted run leaves no partial file.
Unreadable videos are recorded in ``<out>/failures.csv`` (video, kind, reason) and the rest go
on; a video without audio gets its visual features and a failure row for ``vggish``. Earlier
failures are counted and not retried unless ``retry_failed`` (``--retry-failed``). A video file
named after its LLP clip (``<id>_<start>_<end>.mp4``) is written under its 11-character id.
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
from avvp_lib.data.annotations import video_id
from avvp_lib.data.features import check_feature, feature_path
from avvp_lib.devices import pick_device
from avvp_lib.extract.video import DecodedClip, DecodeError, decode_video
from avvp_lib.extract.vggish import VGGish, embed_audio, load_vggish

VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".avi", ".mov")
KINDS = (*CLIP_MODELS, "vggish")


@dataclass(frozen=True)
class ExtractConfig:
    kinds: tuple[str, ...] = ("clip_vitb16", "vggish")
    clip_checkpoints: tuple[tuple[str, str], ...] = ()  # (kind, open_clip tag or local file); default openai / env
    vggish_weights: str | None = None
    device: str | None = None
    batch_size: int = 64

    def __post_init__(self) -> None:
        bad = [k for k in self.kinds if k not in KINDS]
        if bad:
            raise ValueError(f"cannot extract {bad}; supported kinds: {list(KINDS)} "
                             "(res152 / r2plus1d_18 come from the upstream extractors)")
        unknown = [k for k, _ in self.clip_checkpoints if k not in CLIP_MODELS]
        if unknown:
            raise ValueError(f"CLIP checkpoint given for {unknown}; CLIP kinds: {sorted(CLIP_MODELS)}")
        pick_device(self.device)  # a device this machine lacks is refused before any work

    def clip_encoders(self) -> dict[str, ClipEncoder]:
        """One encoder per requested CLIP kind, each from its own checkpoint."""
        given = dict(self.clip_checkpoints)
        return {k: ClipEncoder.for_kind(k, given.get(k), self.device) for k in self.kinds if k in CLIP_MODELS}


def parse_checkpoints(specs: list[str]) -> tuple[tuple[str, str], ...]:
    """``["clip_vitb16=PATH", ...]`` (the ``--clip-checkpoint`` values) -> ``((kind, PATH), ...)``."""
    out = []
    for spec in specs:
        kind, sep, path = spec.partition("=")
        if not sep or not path:
            raise ValueError(f"--clip-checkpoint expects KIND=PATH (e.g. clip_vitb16=ViT-B-16.pt), got {spec!r}")
        out.append((kind, path))
    return tuple(out)


def clip_frame_features(encoder: ClipEncoder, frames: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """[80, H, W, 3] frames -> [80, D] float16 image embeddings, unnormalised (the official LSLD release).

    Each method reduces them to segments by its own rule when it loads them
    (``data.features.segment_features``: VPLAN the middle frame, LSLD the mean of 8).
    """
    return encoder.encode_images(list(frames), batch_size, normalize=False).numpy().astype(np.float16)


def video_features(clip: DecodedClip, clip_encoders: dict[str, ClipEncoder], audio_model: VGGish | None,
                   batch_size: int = 64, device: str = "cpu",
                   timings: dict[str, float] | None = None) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """One decoded clip -> ({kind: features as written to disk}, {kind: reason it could not be made}).

    ``timings`` (optional) accumulates ``clip_s`` and ``vggish_s``.
    """
    timings = {} if timings is None else timings
    feats, failed = {}, {}
    t0 = time.perf_counter()
    for kind, enc in clip_encoders.items():
        feats[kind] = clip_frame_features(enc, clip.frames, batch_size)
    t1 = time.perf_counter()
    timings["clip_s"] = timings.get("clip_s", 0.0) + t1 - t0
    if audio_model is not None:
        if clip.has_audio:
            feats["vggish"] = embed_audio(audio_model, clip.audio, device)
        else:
            failed["vggish"] = "no audio stream"
    timings["vggish_s"] = timings.get("vggish_s", 0.0) + time.perf_counter() - t1
    return feats, failed


def _save(path: Path, arr: np.ndarray, kind: str) -> None:
    check_feature(np.asarray(arr), kind, path)
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


def _forget_failures(out: Path, videos: set[str]) -> None:
    """Drop the failure rows of ``videos`` (they are being retried and get fresh rows if they fail again)."""
    path = out / "failures.csv"
    if not path.is_file():
        return
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([rows[0], *(r for r in rows[1:] if r[0] not in videos)])


def extract_directory(videos: str | Path, out: str | Path, cfg: ExtractConfig = ExtractConfig(),
                      clip_encoder: ClipEncoder | None = None, vggish: VGGish | None = None,
                      progress: bool = True, retry_failed: bool = False) -> dict:
    """Extract ``cfg.kinds`` for every video in ``videos``; returns a summary with timings.

    Videos recorded in ``failures.csv`` are counted (``failed_earlier``) and not retried unless
    ``retry_failed``. ``clip_encoder`` / ``vggish`` override the models loaded from ``cfg`` (tests
    pass tiny ones).
    """
    videos, out = Path(videos), Path(out)
    if not videos.is_dir():
        raise FileNotFoundError(f"video directory not found: {videos}")
    files = sorted(p for p in videos.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    encoders = ({k: clip_encoder for k in cfg.kinds if k in CLIP_MODELS} if clip_encoder is not None
                else cfg.clip_encoders())
    audio_model = (vggish or load_vggish(cfg.vggish_weights)) if "vggish" in cfg.kinds else None
    device = str(pick_device(cfg.device))
    out.mkdir(parents=True, exist_ok=True)
    failed_before = _read_failures(out)
    if retry_failed:
        _forget_failures(out, set(failed_before))
    summary = {"videos": len(files), "done": 0, "skipped": 0, "failed_earlier": 0, "retried": 0, "failed": 0,
               "decode_s": 0.0, "clip_s": 0.0, "vggish_s": 0.0}
    bar = tqdm(files, desc="extract", unit="video", disable=not progress)
    for path in bar:
        vid = video_id(path.stem)
        targets = {k: feature_path(out, k, vid) for k in cfg.kinds}
        known_bad = failed_before.get(vid, set())
        if not retry_failed and known_bad and ("all" in known_bad or all(
                p.is_file() for k, p in targets.items() if k not in known_bad)):
            summary["failed_earlier"] += 1
            continue
        if "all" not in known_bad and all(p.is_file() for p in targets.values()):
            summary["skipped"] += 1
            continue
        summary["retried"] += bool(known_bad)
        t0 = time.perf_counter()
        try:
            clip = decode_video(path)
        except DecodeError as err:
            _record_failure(out, vid, "all", str(err))
            summary["failed"] += 1
            continue
        summary["decode_s"] += time.perf_counter() - t0
        feats, failed = video_features(clip, encoders, audio_model, cfg.batch_size, device, summary)
        for kind, arr in feats.items():
            _save(targets[kind], arr, kind)
        for kind, reason in failed.items():
            _record_failure(out, vid, kind, reason)
        summary["done"] += 1
    print(f"extracted {summary['done']}, skipped {summary['skipped']} (already done), failed {summary['failed']}, "
          f"failed in an earlier run {summary['failed_earlier']} (--retry-failed retries them)"
          + (f"; see {out / 'failures.csv'}" if (out / "failures.csv").is_file() else ""))
    return summary
