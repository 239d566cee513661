"""Decode a clip into LLP's time grid with PyAV (ffmpeg's libraries ship inside the wheel).

Frames: 8 per second at times k/8 s, k = 0..79 (80 frames, the res152 layout); each is the
last decoded frame at or before that time. Audio: mono, resampled to 16 kHz, 160,000 samples.
Shorter than 10 s: the last frame is repeated and the audio padded with zeros. Longer: both
are trimmed to the first 10 s. No audio stream: silent audio and ``has_audio=False``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from avvp_lib.paths import SHARED_LLP_DIR

SAMPLE_CLIP = SHARED_LLP_DIR / "BjCEufrlXm4.mp4"
SECONDS, FPS, SAMPLE_RATE = 10, 8, 16000


class DecodeError(RuntimeError):
    """The file could not be decoded (missing, corrupt, no video stream)."""


@dataclass
class DecodedClip:
    frames: np.ndarray  # [80, H, W, 3] uint8 RGB
    audio: np.ndarray  # [160000] float32 in [-1, 1]
    has_audio: bool
    duration: float  # seconds of video actually decoded


def _frames(container: av.container.InputContainer) -> tuple[np.ndarray, float]:
    stream = container.streams.video[0]
    targets = np.arange(SECONDS * FPS) / FPS
    out: list[np.ndarray | None] = [None] * len(targets)
    last, last_t = None, 0.0
    k = 0
    for frame in container.decode(stream):
        t = float(frame.pts * frame.time_base) if frame.pts is not None else last_t
        while k < len(targets) and targets[k] < t - 1e-6:
            out[k] = last
            k += 1
        last, last_t = frame.to_ndarray(format="rgb24"), t
        if k >= len(targets):
            break
    if last is None:
        raise DecodeError("no decodable video frame")
    for j in range(k, len(targets)):  # the frame at each remaining time, or the last one (short clip)
        out[j] = last
    first = next(f for f in out if f is not None)
    return np.stack([f if f is not None else first for f in out]), last_t


def _audio(path: Path) -> tuple[np.ndarray, bool]:
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return np.zeros(SECONDS * SAMPLE_RATE, np.float32), False
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        chunks = []
        for frame in container.decode(container.streams.audio[0]):
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
            if sum(len(c) for c in chunks) >= SECONDS * SAMPLE_RATE:
                break
        chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    audio = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    out = np.zeros(SECONDS * SAMPLE_RATE, np.float32)
    out[:min(len(audio), len(out))] = audio[:len(out)]
    return out, True


def decode_video(path: str | Path) -> DecodedClip:
    """Decode ``path`` into 80 frames and 10 s of 16 kHz mono audio (module docstring for the rules)."""
    path = Path(path)
    if not path.is_file():
        raise DecodeError(f"{path}: no such file")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise DecodeError(f"{path}: no video stream")
            frames, duration = _frames(container)
        audio, has_audio = _audio(path)
    except av.error.FFmpegError as err:
        raise DecodeError(f"{path}: {err}") from err
    return DecodedClip(frames, audio, has_audio, duration)
