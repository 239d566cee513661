"""Figures a reader would rather look at than read: label timelines, similarity histograms, curves.

Every figure made from the synthetic world says so in its title (``synthetic=True``).
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from avvp_lib.vocabulary import CLASSES

SYNTHETIC_NOTE = " (synthetic world — not LLP)"


def _title(text: str, synthetic: bool) -> str:
    return text + (SYNTHETIC_NOTE if synthetic else "")


def label_timelines(video_ids: list[str], rows: dict[str, np.ndarray], video_labels: np.ndarray, synthetic: bool,
                    title: str = "Visual labels per segment") -> plt.Figure:
    """VPLAN Fig. 3 style: for each video, one timeline per source (GT, PLG, PLD, ...) over its labelled classes.

    ``rows`` maps a source name to labels [N, T, C] (binary or soft) for the same ``video_ids``.
    """
    n = len(video_ids)
    fig, axes = plt.subplots(n, 1, figsize=(8, 1.0 + 0.9 * len(rows) * max(1, video_labels[:n].sum(1).max() / 2)), squeeze=False)
    for ax, i in zip(axes[:, 0], range(n)):
        classes = np.flatnonzero(video_labels[i])
        grid, names = [], []
        for src, lab in rows.items():
            for c in classes:
                grid.append(lab[i, :, c])
                names.append(f"{src}: {CLASSES[c]}")
        ax.imshow(np.array(grid, dtype=float), aspect="auto", cmap="Greens", vmin=0, vmax=1, interpolation="nearest")
        ax.set_yticks(range(len(names)), names, fontsize=7)
        ax.set_xticks(range(10), [str(t + 1) for t in range(10)], fontsize=7)
        ax.set_title(video_ids[i], fontsize=8)
        for y in range(len(classes), len(names), len(classes)):
            ax.axhline(y - 0.5, color="k", lw=0.8)
    axes[-1, 0].set_xlabel("segment (s)")
    fig.suptitle(_title(title, synthetic), fontsize=10)
    fig.tight_layout()
    return fig


def similarity_histograms(sim: np.ndarray, labels: np.ndarray, video_labels: np.ndarray, unrel_with: np.ndarray,
                          unrel_without: np.ndarray, class_names: list[str], synthetic: bool,
                          all_segments: bool = True) -> plt.Figure:
    """LSLD Fig. 2 style: similarity to the class text for segments with / without the class, unreliable band shaded.

    ``all_segments``: every training segment (the official overlap rule), else only the segments of
    videos labelled with the class (the "robust" rule).
    """
    fig, axes = plt.subplots(1, len(class_names), figsize=(4 * len(class_names), 3), squeeze=False)
    for ax, name in zip(axes[0], class_names):
        c = CLASSES.index(name)
        scope = (np.ones(labels.shape[:2], bool) if all_segments
                 else np.broadcast_to(video_labels[:, None, c] > 0, labels.shape[:2]))
        s = sim[..., c]
        with_c, without_c = s[scope & (labels[..., c] > 0)], s[scope & (labels[..., c] == 0)]
        bins = np.linspace(s[scope].min(), s[scope].max(), 30) if scope.any() else 30
        sns.histplot(with_c, bins=bins, stat="percent", color="tab:blue", label="with", ax=ax, alpha=0.6)
        sns.histplot(without_c, bins=bins, stat="percent", color="gold", label="without", ax=ax, alpha=0.6)
        marked = s[unrel_with[..., c] | unrel_without[..., c]]
        if marked.size:
            ax.axvspan(marked.min(), marked.max(), color="red", alpha=0.12, label="unreliable")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("cosine similarity to the class text")
        ax.legend(fontsize=7)
    fig.suptitle(_title("Similarity of segments with / without the event", synthetic), fontsize=10)
    fig.tight_layout()
    return fig


def training_curves(histories: dict[str, list[dict[str, float]]], metric: str, synthetic: bool) -> plt.Figure:
    """Validation ``metric`` per epoch for several runs."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, hist in histories.items():
        ax.plot([h["epoch"] for h in hist], [h[f"val_{metric}"] for h in hist], marker="o", label=name)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set_ylabel(f"val {metric} (%)")
    ax.legend(fontsize=7)
    ax.set_title(_title(f"Validation {metric}", synthetic), fontsize=10)
    fig.tight_layout()
    return fig


def _timeline_rows(prob: np.ndarray, classes: list[str], fallback: int = 3) -> tuple[list[int], bool]:
    """Class indices to draw for one modality: those with events, else the ``fallback`` most probable."""
    if classes:
        return sorted({CLASSES.index(c) for c in classes}), True
    return list(np.argsort(-prob.max(axis=0))[:fallback]), False


def parse_timeline(frames: np.ndarray, audio: np.ndarray, frame_prob: np.ndarray, events: list, title: str) -> plt.Figure:
    """A parsed video: its 10 segment frames, the waveform, then audio rows and visual rows apart.

    ``frames`` [10, H, W, 3] (one per segment), ``audio`` the waveform, ``frame_prob`` [10, 2, C];
    each row shows a class's segment probability (grey) with its predicted events outlined.
    ``events`` have ``modality``, ``label``, ``onset``, ``offset`` (``parse.Event``).
    """
    picked = {m: _timeline_rows(frame_prob[:, i], [e.label for e in events if e.modality == m])
              for i, m in enumerate(("audio", "visual"))}
    heights = [1.4, 0.5] + [0.3 * len(picked[m][0]) + 0.3 for m in ("audio", "visual")]
    fig, axes = plt.subplots(4, 1, figsize=(10, sum(heights) + 0.8), sharex=True,
                             gridspec_kw={"height_ratios": heights})
    axes[0].imshow(np.concatenate(list(frames), axis=1), extent=(0, 10, 0, 1), aspect="auto")
    axes[0].set_yticks([])
    axes[0].set_title(title, fontsize=9)
    env = np.abs(audio[: len(audio) // 1000 * 1000]).reshape(1000, -1).max(axis=1)
    t = np.linspace(0, 10, len(env))
    axes[1].fill_between(t, -env, env, color="tab:gray", lw=0)
    axes[1].set_yticks([])
    axes[1].set_ylabel("audio", fontsize=7, rotation=0, ha="right", va="center")
    for ax, (m, color) in zip(axes[2:], (("audio", "tab:red"), ("visual", "tab:blue"))):
        idx, has_events = picked[m]
        mi = 0 if m == "audio" else 1
        ax.imshow(frame_prob[:, mi, idx].T, extent=(0, 10, len(idx), 0), aspect="auto", cmap="Greys", vmin=0, vmax=1,
                  interpolation="nearest")
        for e in events:
            if e.modality == m:
                y = idx.index(CLASSES.index(e.label))
                ax.add_patch(plt.Rectangle((e.onset, y + 0.1), e.offset - e.onset, 0.8, fill=False, ec=color, lw=2))
        ax.set_yticks(np.arange(len(idx)) + 0.5, [CLASSES[c] for c in idx], fontsize=7)
        ax.set_ylabel(m + ("" if has_events else "\n(no event;\nmost probable)"), fontsize=8)
    axes[-1].set_xticks(range(11))
    axes[-1].set_xlabel("time (s); grey = segment probability, boxes = predicted events")
    fig.tight_layout()
    return fig


def save(fig: plt.Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
