"""Readers for LLP's annotation CSVs, exactly as the official HAN code lays them out.

Weak labels: tab-separated ``filename<TAB>event_labels`` (comma-joined class names).
Dense labels: ``filename<TAB>onset<TAB>offset<TAB>event_labels``; a row marks segments
``[onset, offset)`` of the 10 one-second segments. The video id is the first 11 characters
of ``filename`` (``BjCEufrlXm4_20_30`` -> ``BjCEufrlXm4``).
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np

from avvp_lib.vocabulary import CLASS_INDEX, NUM_CLASSES, NUM_SEGMENTS, class_vector

# An LLP filename: YouTube id, then _start_end in seconds (some ids are shorter than 11).
FILENAME_RE = re.compile(r"^[A-Za-z0-9_-]+_\d+(\.\d+)?_\d+(\.\d+)?$")


class AnnotationError(ValueError):
    """A malformed annotation file; the message names the file and the row."""


def video_id(filename: str) -> str:
    """LLP video id: the first 11 characters of the filename."""
    return filename[:11]


def _rows(path: Path, header: list[str]) -> list[tuple[int, list[str]]]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"annotation file not found: {path}")
    with path.open(newline="") as f:
        reader = csv.reader(f, delimiter="\t")
        got = next(reader, None)
        if got != header:
            raise AnnotationError(f"{path}: header {got!r}, expected {header!r} (tab-separated)")
        rows = []
        for lineno, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise AnnotationError(f"{path}:{lineno}: {len(row)} columns, expected {len(header)}: {row!r}")
            if not FILENAME_RE.match(row[0]):
                raise AnnotationError(
                    f"{path}:{lineno}: filename {row[0]!r} is not an LLP clip name (id_start_end); "
                    "the uncorrected 2020 AVVP_eval_audio.csv has such rows, use the corrected file"
                )
            rows.append((lineno, row))
    return rows


def load_weak_labels(path: str | Path) -> tuple[list[str], list[str], np.ndarray]:
    """Read a weak-label CSV. Returns (video_ids, filenames, labels[N, 25] uint8)."""
    filenames, labels = [], []
    for lineno, (name, events) in _rows(Path(path), ["filename", "event_labels"]):
        try:
            labels.append(class_vector([e for e in events.split(",") if e]))
        except KeyError as err:
            raise AnnotationError(f"{path}:{lineno}: {err.args[0]}") from None
        filenames.append(name)
    ids = [video_id(f) for f in filenames]
    if len(set(ids)) != len(ids):
        raise AnnotationError(f"{path}: duplicate video ids")
    return ids, filenames, np.asarray(labels, dtype=np.uint8).reshape(-1, NUM_CLASSES)


def load_dense_labels(path: str | Path, video_ids: list[str]) -> np.ndarray:
    """Dense segment labels [N, 10, 25] (uint8) for ``video_ids`` from an eval CSV.

    Rows of videos not in ``video_ids`` are ignored (the eval files hold val and test).
    """
    index = {v: i for i, v in enumerate(video_ids)}
    dense = np.zeros((len(video_ids), NUM_SEGMENTS, NUM_CLASSES), dtype=np.uint8)
    for lineno, (name, onset, offset, event) in _rows(Path(path), ["filename", "onset", "offset", "event_labels"]):
        vid = video_id(name)
        if vid not in index:
            continue
        if event not in CLASS_INDEX:
            raise AnnotationError(f"{path}:{lineno}: unknown LLP class name {event!r}")
        on, off = int(onset), int(offset)
        if not (0 <= on <= NUM_SEGMENTS and 0 <= off <= NUM_SEGMENTS):
            raise AnnotationError(f"{path}:{lineno}: segment range [{on}, {off}) outside [0, {NUM_SEGMENTS}]")
        # onset >= offset marks nothing, as in upstream's range(onset, offset) (six real rows do this)
        dense[index[vid], on:off, CLASS_INDEX[event]] = 1
    return dense


def write_weak_labels(path: Path, filenames: list[str], labels: np.ndarray) -> None:
    """Write a weak-label CSV in LLP's format."""
    from avvp_lib.vocabulary import CLASSES

    with Path(path).open("w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["filename", "event_labels"])
        for name, row in zip(filenames, labels):
            w.writerow([name, ",".join(CLASSES[c] for c in np.flatnonzero(row))])


def write_dense_labels(path: Path, filenames: list[str], dense: np.ndarray) -> None:
    """Write a dense eval CSV in LLP's format: one row per maximal run of a class."""
    from avvp_lib.vocabulary import CLASSES

    with Path(path).open("w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["filename", "onset", "offset", "event_labels"])
        for name, seg in zip(filenames, dense):
            for c in range(NUM_CLASSES):
                for on, off in runs(seg[:, c]):
                    w.writerow([name, on, off, CLASSES[c]])


def runs(seq: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs of ones in a binary sequence as half-open ``(onset, offset)`` pairs."""
    padded = np.concatenate([[0], np.asarray(seq, dtype=np.int8), [0]])
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]
