"""The real LLP annotation files as the label source of a synthetic world ("real skeleton").

``WorldConfig(labels_from=DIR)`` builds a world on the annotation files in ``DIR``
(``AVVP_train.csv``, ``AVVP_val_pd.csv``, ``AVVP_test_pd.csv``, ``AVVP_eval_audio.csv``,
``AVVP_eval_visual.csv``): the real video ids and filenames, the real weak labels of the three
splits and the real dense val/test GT (read with ``avvp_lib.data.annotations``, keyed by the
11-character id). Only what LLP does not have is generated: the dense labels of the train split,
sampled per video conditioned on its real weak label set (``LabelSampler.sample_given``), and
all features. A size smaller than the real files keeps the first ``n`` videos of each file.

The world's CSVs are re-written from the loaded arrays in LLP's format into the world folder
(under ``data/``, which git ignores), never copied byte for byte, so ``load_split`` reads a
real-skeleton world exactly as any other world, train dense GT included.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from avvp_lib.data.annotations import load_dense_labels, load_weak_labels
from avvp_lib.data.splits import DENSE_CSV, WEAK_CSV


class ConditionalSampler(Protocol):
    def sample_given(self, rng: np.random.Generator, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass(frozen=True)
class SkeletonSplit:
    """One split of the real annotations: ids, filenames, weak labels [N, 25], dense GT [N, 10, 25] or None."""

    video_ids: list[str]
    filenames: list[str]
    weak: np.ndarray
    gt_audio: np.ndarray | None
    gt_visual: np.ndarray | None


class RealSkeleton:
    """Labels of a world taken from real LLP annotation files; train dense labels sampled."""

    def __init__(self, llp_dir: str | Path, counts: dict[str, int], sampler: ConditionalSampler):
        self.dir, self.sampler = Path(llp_dir), sampler
        self.splits: dict[str, SkeletonSplit] = {}
        for split, n in counts.items():
            ids, filenames, weak = load_weak_labels(self.dir / WEAK_CSV[split])
            if n > len(ids):
                raise ValueError(f"{self.dir / WEAK_CSV[split]}: {len(ids)} videos, the world size asks for {n}")
            ids, filenames, weak = ids[:n], filenames[:n], weak[:n]
            gt = (None, None) if split == "train" else tuple(load_dense_labels(self.dir / DENSE_CSV[m], ids)
                                                             for m in ("audio", "visual"))
            self.splits[split] = SkeletonSplit(ids, filenames, weak, *gt)

    def dense(self, split: str, i: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Dense (audio, visual) labels of video ``i``: the real GT, or sampled given the weak label (train)."""
        s = self.splits[split]
        if s.gt_audio is None:
            return self.sampler.sample_given(rng, np.flatnonzero(s.weak[i]))
        return s.gt_audio[i], s.gt_visual[i]
