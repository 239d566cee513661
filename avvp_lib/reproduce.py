"""Compute the tables of ``avvp_lib.experiments`` and render them beside the papers' numbers.

``run_all(profile)`` trains every run (finished runs are loaded, not recomputed);
``compute_table`` returns a DataFrame with, per row and metric, ours, the paper's and the
difference; ``write_table`` writes CSV, Markdown and LaTeX under ``outputs/tables/<profile>/``.
"""
from __future__ import annotations

import dataclasses
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from tqdm.auto import tqdm

from avvp_lib.data.splits import LLPSplit, load_split
from avvp_lib.executors import ExecutorOptions, train_grid
from avvp_lib.experiments import Profile, Table, all_runs, tables
from avvp_lib.methods.baseline import video_label_everywhere
from avvp_lib.methods.lsld import lsld_for_split
from avvp_lib.methods.vplan import VPLANConfig, plg_for_split, pld_for_split, video_precision_recall
from avvp_lib.metrics import METRIC_KEYS, visual_scores
from avvp_lib.paths import OUTPUTS_DIR, resolve
from avvp_lib.train import RunResult, train

PAPER_NUMBERS = Path(__file__).with_name("tables") / "paper_numbers.yaml"
SYNTHETIC_TAG = "synthetic world — not comparable to the paper"


@lru_cache(maxsize=1)
def paper_numbers() -> dict:
    return yaml.safe_load(PAPER_NUMBERS.read_text())


def tables_dir(profile: Profile) -> Path:
    return OUTPUTS_DIR / "tables" / profile.name


def runs_dir(profile: Profile) -> Path:
    return OUTPUTS_DIR / "runs" / profile.name


def seeded(config, profile: Profile) -> list:
    """``config`` once per profile seed (the config's own seed when the profile has one seed)."""
    seeds = profile.seeds if len(profile.seeds) > 1 else (config.train.seed,)
    return [config.replace(train=dataclasses.replace(config.train, seed=s)) for s in seeds]


def run_with_seeds(config, profile: Profile, device: str | None = None, progress: bool = True) -> list[RunResult]:
    """One result per profile seed (the config's own seed when the profile has one seed)."""
    return [train(c, runs_dir(profile), device, progress) for c in seeded(config, profile)]


def run_all(profile: Profile, device: str | None = None, progress: bool = True, executor: str = "local",
            options: ExecutorOptions | None = None) -> dict[str, list[RunResult]]:
    """Train (or load) every run the tables need, as stacks of runs on ``executor``; returns results by run name."""
    runs = {cfg.name: seeded(cfg, profile) for cfg in all_runs(profile)}
    results = iter(train_grid([c for cs in runs.values() for c in cs], runs_dir(profile), device, executor, options, progress))
    return {name: [next(results) for _ in cs] for name, cs in runs.items()}


@lru_cache(maxsize=8)
def _split(data_dir: str, annotations_dir: str | None, name: str) -> LLPSplit:
    return load_split(resolve(data_dir), name, annotations_dir=resolve(annotations_dir) if annotations_dir else None, progress=False)


def _visual_labels(spec, table: Table, profile: Profile, split: LLPSplit) -> np.ndarray:
    """Segment-level visual pseudo labels [N, T, C] of one label-quality row."""
    if spec is None:  # '-' rows: PLG without denoising (Table II), else the video label everywhere
        if table.kind == "pld_quality":
            return plg_for_split(profile.data_dir, split, VPLANConfig())
        return video_label_everywhere(split.labels)
    if spec.method == "lsld":
        return (lsld_for_split(profile.data_dir, split, spec)["final"] >= 0.5).astype(np.uint8)
    labels = plg_for_split(profile.data_dir, split, spec)
    if table.kind == "pld_quality" or spec.pseudo == "pld":
        pretrain = run_with_seeds(table.extra["pretrain"], profile)[0]
        labels = pld_for_split(pretrain.predictions(split.name), labels, spec)
    return labels


def _label_quality(table: Table, profile: Profile, split_name: str) -> dict[str, dict[str, float]]:
    split = _split(profile.data_dir, profile.annotations_dir, split_name)
    out = {}
    for row in table.rows:
        if table.kind == "plg_quality":
            video = split.labels if row.spec is None else plg_for_split(profile.data_dir, split, row.spec).max(axis=1)
            out[row.label] = video_precision_recall(video, split.gt_visual)
        else:
            scores = visual_scores(_visual_labels(row.spec, table, profile, split), split.gt_visual)
            out[row.label] = {**scores, "average": (scores["seg_v"] + scores["evt_v"]) / 2}
    return out


def _mean_std(results: list[RunResult]) -> tuple[dict[str, float], dict[str, float]]:
    arr = {k: np.array([r.test[k] for r in results]) for k in METRIC_KEYS}
    return {k: float(v.mean()) for k, v in arr.items()}, {k: float(v.std()) for k, v in arr.items()}


def compute_table(table: Table, profile: Profile, device: str | None = None, progress: bool = True) -> pd.DataFrame:
    """Long-form table: one line per (row, metric) with ours, ours_std, paper, diff, note."""
    columns = table.columns or METRIC_KEYS
    paper = paper_numbers().get(table.key, {})
    paper_cols = paper.get("columns", list(METRIC_KEYS))
    ours: dict[str, dict[str, float]] = {}
    stds: dict[str, dict[str, float]] = {}
    if table.kind in ("plg_quality", "pld_quality"):
        ours = _label_quality(table, profile, "val")
    elif table.kind == "train_label_quality":
        if _split(profile.data_dir, profile.annotations_dir, "train").gt_visual is not None:
            ours = _label_quality(table, profile, "train")
    elif table.kind == "runs":
        for row in table.rows:
            if row.run is not None:
                ours[row.label], stds[row.label] = _mean_std(run_with_seeds(row.run, profile, device, progress))
    records = []
    for row in table.rows:
        prow = paper.get("rows", {}).get(row.label)
        for col in columns:
            p = prow[paper_cols.index(col)] if prow is not None and col in paper_cols else np.nan
            o = ours.get(row.label, {}).get(col, np.nan)
            records.append({"row": row.label, "metric": col, "ours": o, "ours_std": stds.get(row.label, {}).get(col, np.nan),
                            "paper": p, "diff": o - p, "note": row.note or ("" if row.label in ours else "not run")})
    return pd.DataFrame.from_records(records)


def table_title(table: Table, profile: Profile) -> str:
    return f"{table.title} — {SYNTHETIC_TAG}" if profile.synthetic else f"{table.title} — reproduction on LLP"


def _cell(x: float, std: float = np.nan, signed: bool = False) -> str:
    if np.isnan(x):
        return "—"
    s = f"{x:+.1f}" if signed else f"{x:.1f}"
    return s + (f" ± {std:.1f}" if not np.isnan(std) and std > 0 else "")


def wide(df: pd.DataFrame, table: Table) -> pd.DataFrame:
    """The paper's layout: one line per row and source (ours / paper / diff), metrics as columns."""
    columns = list(table.columns or METRIC_KEYS)
    lines = []
    for label, g in df.groupby("row", sort=False):
        g = g.set_index("metric")
        note = g["note"].iloc[0]
        for source in ("ours", "paper", "diff"):
            cells = {c: _cell(g.at[c, source], g.at[c, "ours_std"] if source == "ours" else np.nan, source == "diff") for c in columns}
            lines.append({"row": label, "source": source, **cells, "note": note if source == "ours" else ""})
    return pd.DataFrame(lines)


def grid(df: pd.DataFrame) -> pd.DataFrame:
    """Table 4(a) layout: alpha rows x beta columns, each cell 'ours (paper)'."""
    parsed = df.assign(alpha=df["row"].str.extract(r"alpha=([\d.]+)")[0], beta=df["row"].str.extract(r"beta=([\d.]+)")[0])
    parsed["cell"] = [f"{_cell(o)} ({_cell(p)})" for o, p in zip(parsed["ours"], parsed["paper"])]
    out = parsed.pivot(index="alpha", columns="beta", values="cell")
    out.index.name, out.columns.name = "alpha \\ beta", None
    return out.reset_index()


def to_markdown(frame: pd.DataFrame) -> str:
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def write_table(df: pd.DataFrame, table: Table, profile: Profile, out_dir: Path | None = None) -> Path:
    """Write ``<key>.csv`` (long form), ``<key>.md`` and ``<key>.tex`` (paper layout)."""
    out = Path(out_dir or tables_dir(profile))
    out.mkdir(parents=True, exist_ok=True)
    title = table_title(table, profile)
    frame = grid(df) if table.layout == "grid" else wide(df, table)
    df.to_csv(out / f"{table.key}.csv", index=False)
    legend = ("Cells: ours (paper)." if table.layout == "grid" else
              "Each row: ours, the paper's number, and ours minus the paper's." if table.key in paper_numbers() else "")
    caption = " ".join(x for x in (table.caption, legend) if x)
    (out / f"{table.key}.md").write_text(f"### {title}\n\n{to_markdown(frame)}\n\n{caption}\n")
    latex = frame.to_latex(index=False, caption=f"{title}. {caption}", label=f"tab:{table.key}", escape=True)
    (out / f"{table.key}.tex").write_text(latex)
    return out / f"{table.key}.md"


def reproduce(profile: Profile, device: str | None = None, progress: bool = True, executor: str = "local",
              options: ExecutorOptions | None = None) -> dict[str, pd.DataFrame]:
    """Every table of ``profile``: train what is missing (stacks on ``executor``), compute, write; returns the long-form frames."""
    run_all(profile, device, progress, executor, options)
    frames = {}
    for table in tqdm(tables(profile), desc="tables", disable=not progress):
        frames[table.key] = compute_table(table, profile, device, progress)
        write_table(frames[table.key], table, profile)
    return frames
