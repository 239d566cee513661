"""Scoring against the uncorrected 2020 ``AVVP_eval_audio.csv`` that every published number used.

That file has rows whose filename is a class name and one with a stray backtick. Upstream's
evaluation (AVVP-ECCV20 ``main_avvp.py``, and VALOR's copy) picks a video's rows by exact
``filename`` equality, so those rows are silently unused: test videos ``JfZEqeLZqWk`` (its Speech
rows) and ``KvIjsmANkxI`` (one Cat row) score against less ground truth than in the corrected file.
``load_dense_labels_exact`` reads any eval CSV that way; the corrected file stays the default.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from avvp_lib.data.annotations import AnnotationError
from avvp_lib.vocabulary import CLASS_INDEX, NUM_CLASSES, NUM_SEGMENTS

HEADER = ["filename", "onset", "offset", "event_labels"]


def load_dense_labels_exact(path: str | Path, filenames: list[str]) -> np.ndarray:
    """Dense labels [N, 10, 25] of the clips ``filenames``, rows matched by exact filename (upstream's rule)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"eval file not found: {path}")
    index = {f: i for i, f in enumerate(filenames)}
    dense = np.zeros((len(filenames), NUM_SEGMENTS, NUM_CLASSES), dtype=np.uint8)
    with path.open(newline="") as f:
        reader = csv.reader(f, delimiter="\t")
        if next(reader, None) != HEADER:
            raise AnnotationError(f"{path}: header is not {HEADER!r} (tab-separated)")
        for lineno, row in enumerate(reader, start=2):
            if len(row) != len(HEADER) or row[0] not in index:
                continue  # upstream's equality lookup never sees such a row
            name, onset, offset, event = row
            if event not in CLASS_INDEX:
                raise AnnotationError(f"{path}:{lineno}: unknown LLP class name {event!r}")
            dense[index[name], int(onset):int(offset), CLASS_INDEX[event]] = 1
    return dense
