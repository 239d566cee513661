"""Label statistics of the real LLP annotations that the synthetic world imitates.

``derive_statistics`` reads ``../shared/llp`` once; ``scripts/derive_llp_statistics.py`` writes
the result to ``llp_statistics.json`` (committed), so the generator never needs the real files.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from avvp_lib.data.annotations import load_dense_labels, load_weak_labels, runs
from avvp_lib.vocabulary import CLASSES, NUM_SEGMENTS

STATISTICS_FILE = Path(__file__).with_name("llp_statistics.json")


def derive_statistics(llp_dir: Path) -> dict:
    """Numbers the generator samples from (see the keys' descriptions in the returned dict)."""
    llp_dir = Path(llp_dir)
    _, _, train = load_weak_labels(llp_dir / "AVVP_train.csv")
    sets = Counter(tuple(int(c) for c in np.flatnonzero(row)) for row in train)
    modality = np.zeros((len(CLASSES), 4), dtype=int)  # av, audio-only, visual-only, neither
    coverage = np.zeros((2, len(CLASSES), NUM_SEGMENTS), dtype=int)  # [audio/visual, class, n-1]
    n_runs = np.zeros((2, NUM_SEGMENTS // 2 + 1), dtype=int)
    av_pairs = av_identical = 0
    for split in ("AVVP_val_pd.csv", "AVVP_test_pd.csv"):
        ids, _, weak = load_weak_labels(llp_dir / split)
        gts = [load_dense_labels(llp_dir / f"AVVP_eval_{m}.csv", ids) for m in ("audio", "visual")]
        for i, row in enumerate(weak):
            for c in np.flatnonzero(row):
                seqs = [g[i, :, c] for g in gts]
                present = [s.any() for s in seqs]
                modality[c, {(True, True): 0, (True, False): 1, (False, True): 2, (False, False): 3}[tuple(present)]] += 1
                for m, s in enumerate(seqs):
                    if present[m]:
                        coverage[m, c, int(s.sum()) - 1] += 1
                        n_runs[m, len(runs(s))] += 1
                if all(present):
                    av_pairs += 1
                    av_identical += int((seqs[0] == seqs[1]).all())
    return {
        "source": "derived from the public LLP annotations (AVVP-ECCV20 data/) by scripts/derive_llp_statistics.py",
        "classes": list(CLASSES),
        "label_sets": {"description": "train weak-label sets (class indices) and their counts",
                       "sets": [[list(s), n] for s, n in sorted(sets.items(), key=lambda kv: (-kv[1], kv[0]))]},
        "modality_split": {"description": "per class, val+test weak labels found in: [audio+visual, audio only, visual only, neither] dense GT",
                           "counts": modality.tolist()},
        "coverage": {"description": "per modality [audio, visual], per class: counts of events covering n = 1..10 segments",
                     "counts": coverage.tolist()},
        "runs": {"description": "per modality [audio, visual]: counts of (video, class) pairs with k = 0..5 separate runs",
                 "counts": n_runs.tolist()},
        "av_identical_fraction": {"description": "of audio+visual (video, class) pairs, fraction whose audio and visual segments are identical",
                                  "value": av_identical / max(av_pairs, 1)},
    }


def load_statistics(path: Path = STATISTICS_FILE) -> dict:
    return json.loads(Path(path).read_text())


def visible_fraction(stats: dict) -> np.ndarray:
    """Per class, the fraction of its val+test LLP weak labels that are visible (audio+visual or visual only). [25]"""
    counts = np.array(stats["modality_split"]["counts"], dtype=float)
    return (counts[:, 0] + counts[:, 2]) / np.maximum(counts.sum(1), 1)
