"""Readers for LLP's annotation CSVs, exactly as the official HAN code lays them out.

Weak labels: tab-separated ``filename<TAB>event_labels`` (comma-joined class names).
Dense labels: ``filename<TAB>onset<TAB>offset<TAB>event_labels``; a row marks segments
``[onset, offset)`` of the 10 one-second segments. The video id is the first 11 characters
of ``filename`` (``BjCEufrlXm4_20_30`` -> ``BjCEufrlXm4``).
"""
from __future__ import annotations

import csv
import io
import re
import warnings
from pathlib import Path

import numpy as np

from avvp_lib.atomic import atomic_write
from avvp_lib.vocabulary import CLASS_INDEX, NUM_CLASSES, NUM_SEGMENTS, class_vector

# An LLP filename: YouTube id, then _start_end in seconds (some ids are shorter than 11).
FILENAME_RE = re.compile(r"^[A-Za-z0-9_-]+_\d+(\.\d+)?_\d+(\.\d+)?$")


class AnnotationError(ValueError):
    """A malformed annotation file; the message names the file and the row."""


class AnnotationWarning(UserWarning):
    """Rows that load but deserve a look (they mark nothing, or their video id is odd); the message lists them."""


def video_id(filename: str) -> str:
    """LLP video id: the first 11 characters of the filename."""
    return filename[:11]


def report(path: Path, problem: str, rows: list[tuple[int, list[str]]], limit: int = 10) -> None:
    """Warn once about ``rows`` of ``path`` (line numbers and content) that load with ``problem``."""
    if rows:
        shown = "; ".join(f"line {n}: {' '.join(r)}" for n, r in rows[:limit])
        more = f"; and {len(rows) - limit} more" if len(rows) > limit else ""
        warnings.warn(f"{path}: {len(rows)} row(s) {problem}: {shown}{more}", AnnotationWarning, stacklevel=3)


def _lines(path: Path) -> list[str]:
    """The file's lines as text; a line that is not UTF-8 is an error naming it."""
    if not path.is_file():
        raise FileNotFoundError(f"annotation file not found: {path}")
    lines = []
    for lineno, raw in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as err:
            raise AnnotationError(f"{path}:{lineno}: not UTF-8 text (byte {raw[err.start]:#x} at column {err.start + 1}); "
                                  "re-save the file as UTF-8") from None
    return lines


def _rows(path: Path, header: list[str]) -> list[tuple[int, list[str]]]:
    path = Path(path)
    reader = csv.reader(_lines(path), delimiter="\t")
    got = next(reader, None)
    if got is None:
        raise AnnotationError(f"{path}: empty file; expected the header {header!r} (tab-separated) and one row per clip")
    if got != header:
        raise AnnotationError(f"{path}: header {got!r}, expected {header!r} (tab-separated)")
    rows, short = [], []
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
        if len(row[0]) < 11:
            short.append((lineno, row))
        rows.append((lineno, row))
    report(path, "with a filename shorter than 11 characters, so the video id (its first 11 characters) "
           "includes the clip times", short)
    return rows


def _segment(path: Path, lineno: int, name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise AnnotationError(f"{path}:{lineno}: {name} {value!r} is not an integer segment index "
                              f"(0..{NUM_SEGMENTS})") from None


def load_weak_labels(path: str | Path) -> tuple[list[str], list[str], np.ndarray]:
    """Read a weak-label CSV. Returns (video_ids, filenames, labels[N, 25] uint8)."""
    path = Path(path)
    rows = _rows(path, ["filename", "event_labels"])
    if not rows:
        raise AnnotationError(f"{path}: no videos (only a header); a split needs at least one labelled clip")
    filenames, labels, seen, unlabelled = [], [], {}, []
    for lineno, (name, events) in rows:
        try:
            labels.append(class_vector([e for e in events.split(",") if e]))
        except KeyError as err:
            raise AnnotationError(f"{path}:{lineno}: {err.args[0]}") from None
        if not any(labels[-1]):
            unlabelled.append((lineno, [name, events]))
        vid = video_id(name)
        if vid in seen:
            raise AnnotationError(f"{path}: video id {vid!r} on lines {seen[vid]} and {lineno} "
                                  "(the id is the first 11 characters of the filename); keep one row per video")
        seen[vid] = lineno
        filenames.append(name)
    report(path, "with an empty label (the video trains with no positive class)", unlabelled)
    return list(seen), filenames, np.asarray(labels, dtype=np.uint8).reshape(-1, NUM_CLASSES)


def load_dense_labels(path: str | Path, video_ids: list[str]) -> np.ndarray:
    """Dense segment labels [N, 10, 25] (uint8) for ``video_ids`` from an eval CSV.

    Rows of videos not in ``video_ids`` are ignored (the eval files hold val and test), but every
    row is checked. Rows with onset >= offset mark nothing, as upstream's ``range(onset, offset)``
    (six real rows do this); they are reported (``AnnotationWarning``), not dropped silently.
    """
    path = Path(path)
    index = {v: i for i, v in enumerate(video_ids)}
    dense = np.zeros((len(video_ids), NUM_SEGMENTS, NUM_CLASSES), dtype=np.uint8)
    empty = []
    for lineno, row in _rows(path, ["filename", "onset", "offset", "event_labels"]):
        name, onset, offset, event = row
        if event not in CLASS_INDEX:
            raise AnnotationError(f"{path}:{lineno}: unknown LLP class name {event!r}")
        on, off = _segment(path, lineno, "onset", onset), _segment(path, lineno, "offset", offset)
        if not (0 <= on <= NUM_SEGMENTS and 0 <= off <= NUM_SEGMENTS):
            raise AnnotationError(f"{path}:{lineno}: segment range [{on}, {off}) outside [0, {NUM_SEGMENTS}]")
        if on >= off:
            empty.append((lineno, row))
        if video_id(name) in index:
            dense[index[video_id(name)], on:off, CLASS_INDEX[event]] = 1
    report(path, "with onset >= offset mark no segment (ignored, as upstream does)", empty)
    return dense


def write_weak_labels(path: Path, filenames: list[str], labels: np.ndarray) -> None:
    """Write a weak-label CSV in LLP's format."""
    from avvp_lib.vocabulary import CLASSES

    f = io.StringIO()
    w = csv.writer(f, delimiter="\t", lineterminator="\n")
    w.writerow(["filename", "event_labels"])
    for name, row in zip(filenames, labels):
        w.writerow([name, ",".join(CLASSES[c] for c in np.flatnonzero(row))])
    atomic_write(path, f.getvalue())


def write_dense_labels(path: Path, filenames: list[str], dense: np.ndarray) -> None:
    """Write a dense eval CSV in LLP's format: one row per maximal run of a class."""
    from avvp_lib.vocabulary import CLASSES

    f = io.StringIO()
    w = csv.writer(f, delimiter="\t", lineterminator="\n")
    w.writerow(["filename", "onset", "offset", "event_labels"])
    for name, seg in zip(filenames, dense):
        for c in range(NUM_CLASSES):
            for on, off in runs(seg[:, c]):
                w.writerow([name, on, off, CLASSES[c]])
    atomic_write(path, f.getvalue())


def runs(seq: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs of ones in a binary sequence as half-open ``(onset, offset)`` pairs."""
    padded = np.concatenate([[0], np.asarray(seq, dtype=np.int8), [0]])
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]
