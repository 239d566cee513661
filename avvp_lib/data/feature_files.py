"""Which feature file belongs to which video, and which videos have none.

Released feature folders name files ``<id>.npy`` (AVVP-ECCV20, VALOR, LSLD) or after the LLP clip,
``<id>_<start>_<end>.npy``; both map to the 11-character video id (``annotations.video_id``).
Videos that vanished from YouTube have no file in any release: ``missing="skip"`` drops them
from a split and records them (``write_missing_csv``); ``missing="error"`` refuses the split.
"""
from __future__ import annotations

import csv
from pathlib import Path

from avvp_lib.data.annotations import video_id

MISSING_RULES = ("error", "skip")


def feature_dir(root: Path, kind: str) -> Path:
    return Path(root) / "feats" / kind


def index_feature_files(folder: Path) -> dict[str, Path]:
    """Video id -> file for every ``.npy`` in ``folder``; ``<id>.npy`` wins over ``<id>_<start>_<end>.npy``.

    Two clip-named files of one video raise ``ValueError`` naming both.
    """
    index: dict[str, Path] = {}
    for p in sorted(Path(folder).glob("*.npy")):
        vid = video_id(p.stem)
        other = index.get(vid)
        if other is None or p.stem == vid:
            index[vid] = p
        elif other.stem != vid:
            raise ValueError(f"two feature files for video {vid}: {other} and {p}")
    return index


def locate(root: Path, kind: str, video_ids: list[str]) -> dict[str, Path | None]:
    """The feature file of each video (``None`` when it has none)."""
    folder = feature_dir(root, kind)
    exact = {v: folder / f"{v}.npy" for v in video_ids}
    if all(p.is_file() for p in exact.values()):  # the common case: no directory listing needed
        return dict(exact)
    index = index_feature_files(folder) if folder.is_dir() else {}
    return {v: index.get(v) for v in video_ids}


def missing_videos(root: Path, kinds: tuple[str, ...], video_ids: list[str]) -> dict[str, list[str]]:
    """Per feature kind, the videos of ``video_ids`` without a file (kinds with none left out)."""
    out = {}
    for kind in kinds:
        gone = [v for v, p in locate(root, kind, video_ids).items() if p is None]
        if gone:
            out[kind] = gone
    return out


def write_missing_csv(path: Path, missing: dict[str, list[str]]) -> None:
    """``video_id,kind`` rows, one per video and feature kind without a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["video_id", "kind"])
        for kind, ids in missing.items():
            w.writerows([v, kind] for v in ids)


def present_note(present: int, total: int, split: str) -> str:
    """'1,140 of 1,200 test videos' (for captions); empty when nothing is missing."""
    return "" if present == total else f"{present:,} of {total:,} {split} videos"
