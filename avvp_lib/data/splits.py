"""One LLP split in memory: ids, weak labels, dense ground truth and features."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from avvp_lib.data.annotations import load_dense_labels, load_weak_labels, report
from avvp_lib.data.feature_files import MISSING_RULES, missing_videos, present_note
from avvp_lib.data.features import FeatureError, load_features
from avvp_lib.data.legacy_eval import load_dense_labels_exact

WEAK_CSV = {"train": "AVVP_train.csv", "val": "AVVP_val_pd.csv", "test": "AVVP_test_pd.csv"}
DENSE_CSV = {"audio": "AVVP_eval_audio.csv", "visual": "AVVP_eval_visual.csv"}
# Dense labels of the *train* split exist only in the synthetic world, in files of the
# same format that training never reads; they score pseudo labels on train.
TRAIN_DENSE_CSV = {"audio": "synthetic_train_eval_audio.csv", "visual": "synthetic_train_eval_visual.csv"}


@dataclass
class LLPSplit:
    name: str
    video_ids: list[str]
    filenames: list[str]
    labels: np.ndarray  # [N, 25] weak video-level labels
    gt_audio: np.ndarray | None = None  # [N, 10, 25]
    gt_visual: np.ndarray | None = None  # [N, 10, 25]
    features: dict[str, np.ndarray] = field(default_factory=dict)
    total: int = -1  # videos in the split's CSV (more than len() when missing="skip" dropped some)
    missing: dict[str, list[str]] = field(default_factory=dict)  # feature kind -> dropped video ids

    def __len__(self) -> int:
        return len(self.video_ids)

    @property
    def caption_note(self) -> str:
        """' (1,140 of 1,200 test videos)' for figure titles when videos were skipped, else ''."""
        note = present_note(len(self), self.total, self.name) if self.total >= 0 else ""
        return f" ({note})" if note else ""

    def subset(self, keep: np.ndarray) -> "LLPSplit":
        """The videos where ``keep`` (bool [N]) holds; features are not carried over."""
        pick = lambda x: None if x is None else x[keep]  # noqa: E731
        return LLPSplit(self.name, [v for v, k in zip(self.video_ids, keep) if k],
                        [f for f, k in zip(self.filenames, keep) if k], self.labels[keep],
                        pick(self.gt_audio), pick(self.gt_visual), total=self.total, missing=self.missing)


def drop_missing(split: LLPSplit, data_dir: Path, kinds: tuple[str, ...], missing: str) -> LLPSplit:
    """Apply the missing-video rule: ``error`` raises on any missing file, ``skip`` drops those videos."""
    if missing not in MISSING_RULES:
        raise ValueError(f"missing must be one of {MISSING_RULES}, got {missing!r}")
    gone = missing_videos(data_dir, kinds, split.video_ids)
    if not gone or missing == "error":
        return split  # load_features names the first missing file
    dropped = set().union(*gone.values())
    out = split.subset(np.array([v not in dropped for v in split.video_ids], dtype=bool))
    out.missing = gone
    if not len(out):
        raise FeatureError(f"no {split.name} video has all of {list(kinds)} under {Path(data_dir) / 'feats'}")
    return out


def dense_ground_truth(annotations_dir: Path, split: str, video_ids: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """(audio, visual) dense labels of a split, or None when the files do not exist."""
    names = TRAIN_DENSE_CSV if split == "train" else DENSE_CSV
    paths = {m: Path(annotations_dir) / n for m, n in names.items()}
    if not all(p.is_file() for p in paths.values()):
        if split != "train":
            raise FileNotFoundError(f"dense labels for {split} missing: {paths['audio']} / {paths['visual']}")
        return None
    return load_dense_labels(paths["audio"], video_ids), load_dense_labels(paths["visual"], video_ids)


def load_split(data_dir: str | Path, split: str, kinds: tuple[str, ...] = (), annotations_dir: str | Path | None = None,
               with_ground_truth: bool = True, progress: bool = True, missing: str = "error",
               eval_audio: str | Path | None = None) -> LLPSplit:
    """Load ``split`` ('train', 'val', 'test') of an LLP-format folder.

    ``annotations_dir`` defaults to ``data_dir`` (the synthetic world keeps CSVs beside
    ``feats/``); point it at the official CSVs when features live elsewhere. ``missing``:
    ``"error"`` or ``"skip"`` (drop videos lacking a file of any of ``kinds``; see
    ``LLPSplit.missing``). ``eval_audio``: another audio eval CSV (the legacy 2020 file), read
    with upstream's exact-filename matching (``data.legacy_eval``).
    """
    if split not in WEAK_CSV:
        raise ValueError(f"unknown split {split!r}; expected one of {list(WEAK_CSV)}")
    ann = Path(annotations_dir or data_dir)
    ids, filenames, labels = load_weak_labels(ann / WEAK_CSV[split])
    out = LLPSplit(split, ids, filenames, labels, total=len(ids))
    if with_ground_truth:
        gt = dense_ground_truth(ann, split, ids)
        if gt is not None:
            out.gt_audio, out.gt_visual = gt
            if eval_audio is not None and split != "train":
                out.gt_audio = load_dense_labels_exact(eval_audio, filenames)
    out = drop_missing(out, Path(data_dir), tuple(kinds), missing)
    for kind in kinds:
        out.features[kind] = load_features(data_dir, kind, out.video_ids, progress=progress)
    return out


def check_disjoint(splits: dict[str, LLPSplit], annotations_dir: Path) -> None:
    """Report every video that sits in two splits (a test video seen in training is not held out)."""
    names = list(splits)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            both = sorted(set(splits[a].video_ids) & set(splits[b].video_ids))
            if both:
                line = {v: n for n, v in enumerate(splits[b].video_ids, start=2)}
                report(Path(annotations_dir) / WEAK_CSV[b], f"whose video is also in {a} ({WEAK_CSV[a]})",
                       [(line[v], [v]) for v in both])


def load_splits(data_dir: str | Path, kinds: tuple[str, ...] = (), annotations_dir: str | Path | None = None,
                progress: bool = True, missing: str = "error", eval_audio: str | Path | None = None) -> dict[str, LLPSplit]:
    """Train, val and test of an LLP-format folder (``load_split``), checked to be disjoint."""
    splits = {s: load_split(data_dir, s, kinds, annotations_dir, progress=progress, missing=missing, eval_audio=eval_audio)
              for s in WEAK_CSV}
    check_disjoint(splits, Path(annotations_dir or data_dir))
    return splits
