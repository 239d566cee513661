"""Figures a reader would rather look at than read: label timelines, similarity histograms, curves,
per-class bars and predictions beside the ground truth.

Every figure made from the synthetic world says so in its title (``synthetic=True``).
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import matplotlib.transforms as transforms
import numpy as np
import seaborn as sns

from avvp_lib.vocabulary import CLASSES

SYNTHETIC_NOTE = " (synthetic world — not LLP)"


def _title(text: str, synthetic: bool) -> str:
    return text + (SYNTHETIC_NOTE if synthetic else "")


def is_soft(*labels: np.ndarray) -> bool:
    """Whether any value lies strictly between 0 and 1 (soft labels or probabilities)."""
    return any(bool(((x > 0) & (x < 1)).any()) for x in labels)


def _class_grid(ax: plt.Axes, rows: dict[str, np.ndarray], classes: list[int], cmap: str) -> plt.Artist | None:
    """Draw [T, C] label arrays as one grid: per class a group of rows, one row per source.

    Source names label the rows, each class name stands once to the right of its group; thin lines
    part the rows, thicker ones the classes; segments are numbered 1..T as in the papers.
    """
    n_src, n_t = len(rows), next(iter(rows.values())).shape[0]
    if not classes:
        ax.text(0.5, 0.5, "no class to show", transform=ax.transAxes, ha="center", va="center", fontsize=8)
        ax.set_yticks([])
        ax.set_xticks(range(n_t), [str(t + 1) for t in range(n_t)], fontsize=7)
        return None
    grid = [np.asarray(lab[:, c], dtype=float) for c in classes for lab in rows.values()]
    im = ax.imshow(np.array(grid), aspect="auto", cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks(range(len(grid)), list(rows) * len(classes), fontsize=7)
    ax.set_xticks(range(n_t), [str(t + 1) for t in range(n_t)], fontsize=7)
    ax.set_xticks(np.arange(n_t + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(len(grid) + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="0.75", lw=0.4)
    ax.tick_params(which="minor", length=0)
    to_right = transforms.blended_transform_factory(ax.transAxes, ax.transData)
    for k, c in enumerate(classes):
        if k:
            ax.axhline(k * n_src - 0.5, color="k", lw=1.2)
        ax.text(1.01, k * n_src + (n_src - 1) / 2, CLASSES[c], transform=to_right, ha="left", va="center", fontsize=8)
    return im


def label_timelines(video_ids: list[str], rows: dict[str, np.ndarray], video_labels: np.ndarray, synthetic: bool,
                    title: str = "Visual labels per segment", colorbar: bool | None = None) -> plt.Figure:
    """VPLAN Fig. 3 style: for each video, one timeline per source (GT, PLG, PLD, ...) over its labelled classes.

    ``rows`` maps a source name to labels [N, T, C] (binary or soft) for the same ``video_ids``.
    One panel per video; ``colorbar`` None: a colour bar exactly when some label is soft.
    """
    n = len(video_ids)
    soft = is_soft(*(lab[:n] for lab in rows.values())) if colorbar is None else colorbar
    height = sum(0.35 + 0.22 * len(rows) * max(1, int(video_labels[i].sum())) for i in range(n))
    fig, axes = plt.subplots(n, 1, figsize=(8.5, 0.8 + height), squeeze=False, layout="constrained",
                             gridspec_kw={"height_ratios": [max(1, int(video_labels[i].sum())) for i in range(n)]})
    im = None
    for ax, i in zip(axes[:, 0], range(n)):
        classes = list(np.flatnonzero(video_labels[i]))
        im = _class_grid(ax, {src: lab[i] for src, lab in rows.items()}, classes, "Greens") or im
        ax.set_title(video_ids[i], fontsize=8, loc="left")
    axes[-1, 0].set_xlabel("segment (1 s each)")
    if soft and im is not None:
        fig.colorbar(im, ax=axes[:, 0].tolist(), label="label value", shrink=0.8, pad=0.04)
    fig.suptitle(_title(title, synthetic), fontsize=10)
    return fig


def similarity_histograms(sim: np.ndarray, labels: np.ndarray, video_labels: np.ndarray, unrel_with: np.ndarray,
                          unrel_without: np.ndarray, class_names: list[str], synthetic: bool,
                          all_segments: bool = True) -> plt.Figure:
    """LSLD Fig. 2 style: similarity to the class text for segments with / without the class.

    The shaded band spans exactly [lo, hi], the smallest and largest similarity of the segments
    marked unreliable for the class (``unrel_with | unrel_without``), both edges drawn and printed
    in the legend. ``all_segments``: every training segment (the official overlap rule), else only
    the segments of videos labelled with the class (the "robust" rule).
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
            lo, hi = float(marked.min()), float(marked.max())
            ax.axvspan(lo, hi, color="red", alpha=0.12, label=f"unreliable [{lo:.3f}, {hi:.3f}]")
            for edge in (lo, hi):
                ax.axvline(edge, color="red", lw=0.8, ls="--")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("cosine similarity to the class text")
        ax.legend(fontsize=7)
    fig.suptitle(_title("Similarity of segments with / without the event", synthetic), fontsize=10)
    fig.tight_layout()
    return fig


History = list[dict[str, float]]


def training_curves(histories: dict[str, History] | dict[str, dict[str, History]], metric: str, synthetic: bool,
                    ncols: int = 3) -> plt.Figure:
    """Validation ``metric`` per epoch: one panel per table, one line per row (legend by row name).

    ``histories``: ``{table_title: {row_name: history}}``, or the older single-panel form
    ``{run_name: history}``; a history is the list of per-epoch dicts with ``epoch`` and ``val_<metric>``.
    """
    panels = histories if all(isinstance(h, dict) for h in histories.values()) else {"": histories}
    n = len(panels)
    cols = max(1, min(ncols, n))
    nrows = -(-n // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(5.5 * cols, 3.4 * nrows), squeeze=False, layout="constrained")
    for ax, (table, runs) in zip(axes.ravel(), panels.items()):
        for name, hist in runs.items():
            ax.plot([h["epoch"] for h in hist], [h[f"val_{metric}"] for h in hist], marker="o", label=name)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax.set_ylabel(f"val {metric} (%)")
        ax.legend(fontsize=7)
        if table:
            ax.set_title(table, fontsize=9)
    for ax in axes.ravel()[n:]:
        ax.remove()
    fig.suptitle(_title(f"Validation {metric}", synthetic), fontsize=10)
    return fig


def per_class_bars(scores: dict[str, np.ndarray], title: str, synthetic: bool,
                   ylabel: str = "segment-level visual F1 (%)", classes: list[str] | None = None) -> plt.Figure:
    """Grouped bars per class, one bar per label source or model (``scores``: name -> [C], e.g. ``per_class_f1``).

    ``classes``: which to show (default: every class with a score in some source; NaN = no bar).
    """
    values = {k: np.asarray(v, dtype=float) for k, v in scores.items()}
    if classes is None:
        keep = np.flatnonzero(np.any([~np.isnan(v) for v in values.values()], axis=0))
    else:
        keep = np.array([CLASSES.index(c) for c in classes], dtype=int)
    width = 0.8 / max(1, len(values))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.3 * len(keep) * len(values) ** 0.5 + 2), 3.8), layout="constrained")
    x = np.arange(len(keep))
    for k, (name, v) in enumerate(values.items()):
        ax.bar(x + (k - (len(values) - 1) / 2) * width, np.nan_to_num(v[keep], nan=0.0), width, label=name)
    ax.set_xticks(x, [CLASSES[c] for c in keep], rotation=60, ha="right", fontsize=7)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 100)
    ax.grid(axis="y", lw=0.3)
    ax.legend(fontsize=7)
    ax.set_title(_title(title, synthetic), fontsize=10)
    return fig


def prediction_vs_gt(video_ids: list[str], pred_a: np.ndarray, pred_v: np.ndarray, gt_a: np.ndarray, gt_v: np.ndarray,
                     video_labels: np.ndarray, synthetic: bool, title: str = "Predictions beside the ground truth",
                     colorbar: bool | None = None) -> plt.Figure:
    """A model's audio and visual predictions [N, T, C] (binary or probabilities) beside the GT, modalities apart.

    One row of two panels (audio | visual) per video, over the classes of its weak label and any
    other class it predicts (>= 0.5); ``colorbar`` None: a colour bar per modality exactly when a
    prediction is soft.
    """
    n = len(video_ids)
    soft = is_soft(pred_a[:n], pred_v[:n]) if colorbar is None else colorbar
    shown = [sorted(set(np.flatnonzero(video_labels[i])) | set(np.flatnonzero((pred_a[i] >= 0.5).any(0)))
                    | set(np.flatnonzero((pred_v[i] >= 0.5).any(0)))) for i in range(n)]
    height = sum(0.4 + 0.44 * max(1, len(s)) for s in shown)
    fig, axes = plt.subplots(n, 2, figsize=(12, 0.8 + height), squeeze=False, layout="constrained",
                             gridspec_kw={"height_ratios": [max(1, len(s)) for s in shown]})
    images: dict[str, plt.Artist | None] = {"audio": None, "visual": None}
    for i in range(n):
        for ax, (m, pred, gt) in zip(axes[i], (("audio", pred_a, gt_a), ("visual", pred_v, gt_v))):
            cmap = "Reds" if m == "audio" else "Blues"
            images[m] = _class_grid(ax, {"GT": gt[i], "pred": pred[i]}, shown[i], cmap) or images[m]
            ax.set_title(f"{video_ids[i]} · {m}", fontsize=8, loc="left")
    for ax in axes[-1]:
        ax.set_xlabel("segment (1 s each)")
    for col, (m, im) in enumerate(images.items()):
        if soft and im is not None:
            fig.colorbar(im, ax=axes[:, col].tolist(), label=f"{m} probability", shrink=0.6)
    fig.suptitle(_title(title, synthetic), fontsize=10)
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


def calibration_fit(fit: list[dict], tolerance: float = 3.0) -> plt.Figure:
    """Ours vs the paper for every calibration target (``calibration.json``'s ``fit``), with the ±tolerance band.

    One row per target (table, row, column): the paper's value as a bar, ours as a dot, the band
    shaded; targets outside the band are named in red.
    """
    labels = [f"{f['table']} · {f['row']} · {f['column']}" for f in fit]
    paper = np.array([f["paper"] for f in fit])
    ours = np.array([f["ours"] for f in fit])
    y = np.arange(len(fit))
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(fit) + 1.4), layout="constrained")
    ax.barh(y, paper, color="0.85", label="paper")
    ax.barh(y, 2 * tolerance, left=paper - tolerance, height=0.8, color="tab:green", alpha=0.25, label=f"paper ± {tolerance:g}")
    ax.plot(ours, y, "o", color="tab:blue", label="ours (synthetic world)")
    ax.set_yticks(y, labels, fontsize=7)
    for tick, o, p in zip(ax.get_yticklabels(), ours, paper):
        tick.set_color("tab:red" if abs(o - p) > tolerance else "black")
    ax.invert_yaxis()
    ax.set_xlabel("score (%)")
    ax.set_xlim(0, 100)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(_title("Calibration targets: ours vs paper", True), fontsize=10)
    return fig


def save(fig: plt.Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
