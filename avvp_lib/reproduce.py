"""Compute the tables of ``avvp_lib.experiments`` and render them beside the papers' numbers.

``run_all(profile)`` trains every run (finished runs are loaded, not recomputed);
``compute_table`` returns a DataFrame with, per row and metric, ours and the paper's (and
their difference on real LLP only: on a synthetic world it is no reproduction gap); ``write_table``
writes CSV, Markdown and LaTeX under ``outputs/tables/<profile>/``; ``write_claims`` judges every
comparative claim of the papers (``avvp_lib.claims``) on our results and writes ``claims.md`` /
``claims.csv`` there.
A row whose feature kinds are absent (e.g. no CLIP features) is not run: its note says which
(``availability``). With ``missing="skip"``, captions say how many videos were scored and
``missing_<split>.csv`` beside the tables lists the videos without features.
"""
from __future__ import annotations

import dataclasses
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from tqdm.auto import tqdm

from avvp_lib.claims import CLAIMS, LEGEND, VERDICTS, Claim, Evidence, claims_display, claims_frame, evaluate
from avvp_lib.data.annotations import load_weak_labels
from avvp_lib.data.feature_files import feature_dir, missing_videos, present_note, write_missing_csv
from avvp_lib.data.splits import WEAK_CSV, LLPSplit, drop_missing, load_split
from avvp_lib.executors import ExecutorOptions, train_grid
from avvp_lib.experiments import Profile, Table, all_runs, tables
from avvp_lib.methods.baseline import video_label_everywhere
from avvp_lib.methods.lsld import lsld_for_split
from avvp_lib.methods.vplan import VPLANConfig, plg_for_split, pld_for_split, video_precision_recall_per_video
from avvp_lib.metrics import METRIC_KEYS, binarize, parse_scores_per_video, soft_label_scores, visual_scores_per_video
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


def availability(kinds: tuple[str, ...], profile: Profile) -> str:
    """'' when every kind has a feature folder, else the one-line reason shown in the table."""
    absent = [k for k in kinds if not any(feature_dir(resolve(profile.data_dir), k).glob("*.npy"))]
    return f"needs {', '.join(absent)} features — see README" if absent else ""


def run_all(profile: Profile, device: str | None = None, progress: bool = True, executor: str = "local",
            options: ExecutorOptions | None = None, retrain: bool = False) -> dict[str, list[RunResult]]:
    """Train (or load) every run the tables need whose features exist, as stacks of runs on ``executor``;
    returns results by run name."""
    runs = {cfg.name: seeded(cfg, profile) for cfg in all_runs(profile) if not availability(cfg.feature_kinds(), profile)}
    results = iter(train_grid([c for cs in runs.values() for c in cs], runs_dir(profile), device, executor, options,
                              progress, retrain))
    return {name: [next(results) for _ in cs] for name, cs in runs.items()}


@lru_cache(maxsize=8)
def split_for_labels(profile: Profile, name: str, kinds: tuple[str, ...] = ()) -> LLPSplit:
    """A split's labels and GT (no features), less the videos without ``kinds`` when the profile skips them."""
    split = load_split(resolve(profile.data_dir), name, annotations_dir=resolve(profile.annotations_dir)
                       if profile.annotations_dir else None, progress=False,
                       eval_audio=resolve(profile.eval_audio) if profile.eval_audio else None)
    return drop_missing(split, resolve(profile.data_dir), kinds, profile.missing)


def label_kinds(table: Table) -> tuple[str, ...]:
    """CLIP kinds a label-quality table reads (VPLAN / LSLD pseudo labels, PLD's pretrain run)."""
    specs = [r.spec for r in table.rows if r.spec is not None]
    pretrain = table.extra.get("pretrain")
    return tuple(dict.fromkeys([s.clip_kind for s in specs] + (list(pretrain.feature_kinds()) if pretrain else [])))


def write_missing_report(profile: Profile, kinds: tuple[str, ...], out_dir: Path) -> dict[str, int]:
    """``missing_<split>.csv`` beside the tables for each split with videos lacking any of ``kinds``."""
    ann = resolve(profile.annotations_dir or profile.data_dir)
    counts = {}
    for split in WEAK_CSV:
        ids = load_weak_labels(ann / WEAK_CSV[split])[0]
        gone = missing_videos(resolve(profile.data_dir), kinds, ids)
        if gone:
            write_missing_csv(Path(out_dir) / f"missing_{split}.csv", gone)
            counts[split] = len(set().union(*gone.values()))
    return counts


def scored_note(results: list[RunResult], split: str = "test") -> str:
    """'1,140 of 1,200 test videos' from the runs' results.json (empty when all were scored)."""
    counts = sorted({tuple(json.loads((r.run_dir / "results.json").read_text()).get("videos", {}).get(split, (0, 0)))
                     for r in results})
    notes = [present_note(n, total, split) for n, total in counts if total]
    return "; ".join(n for n in notes if n)


def _visual_labels(spec, table: Table, profile: Profile, split: LLPSplit) -> np.ndarray:
    """Segment-level visual pseudo labels [N, T, C] of one label-quality row (LSLD's may be soft)."""
    if spec is None:  # '-' rows: PLG without denoising (Table II), else the video label everywhere
        if table.kind == "pld_quality":
            return plg_for_split(profile.data_dir, split, VPLANConfig())
        return video_label_everywhere(split.labels)
    if spec.method == "lsld":
        return lsld_for_split(profile.data_dir, split, spec)["final"]
    labels = plg_for_split(profile.data_dir, split, spec)
    if table.kind == "pld_quality" or spec.pseudo == "pld":
        pretrain = run_with_seeds(table.extra["pretrain"], profile)[0]
        labels = pld_for_split(pretrain.predictions(split.name), labels, spec)
    return labels


def _label_quality(table: Table, profile: Profile, split_name: str, per_video: bool = False) -> dict[str, dict]:
    """Per row, each column's score; ``per_video``: each video's [N] (the table shows their means), no soft scores."""
    split = split_for_labels(profile, split_name, label_kinds(table))
    out = {}
    for row in table.rows:
        if table.kind == "plg_quality":
            video = split.labels if row.spec is None else plg_for_split(profile.data_dir, split, row.spec).max(axis=1)
            scores = video_precision_recall_per_video(video, split.gt_visual)
        else:
            labels = _visual_labels(row.spec, table, profile, split)
            scores = visual_scores_per_video((labels >= 0.5).astype(np.uint8), split.gt_visual)
            scores["average"] = (scores["seg_v"] + scores["evt_v"]) / 2
        if not per_video:
            scores = {k: float(v.mean()) for k, v in scores.items()}
            if table.kind != "plg_quality":
                scores.update(soft_label_scores(labels, split.gt_visual))
        out[row.label] = scores
    return out


def _mean_std(results: list[RunResult]) -> tuple[dict[str, float], dict[str, float]]:
    arr = {k: np.array([r.test[k] for r in results]) for k in METRIC_KEYS}
    return {k: float(v.mean()) for k, v in arr.items()}, {k: float(v.std()) for k, v in arr.items()}


def compute_table(table: Table, profile: Profile, device: str | None = None, progress: bool = True) -> pd.DataFrame:
    """Long-form table: one line per (row, metric) with ours, ours_std, paper, note (+ diff on real LLP)."""
    columns = table.columns or METRIC_KEYS
    paper = paper_numbers().get(table.key, {})
    paper_cols = paper.get("columns", list(METRIC_KEYS))
    ours: dict[str, dict[str, float]] = {}
    stds: dict[str, dict[str, float]] = {}
    notes: dict[str, str] = {}  # why a row was not run
    scored: dict[str, str] = {}  # "1,140 of 1,200 test videos" when videos were skipped
    label_reason = availability(label_kinds(table), profile) if table.kind.endswith("quality") else ""
    if label_reason:
        notes = {row.label: label_reason for row in table.rows}
    elif table.kind.endswith("quality"):
        split_name = "train" if table.kind == "train_label_quality" else "val"
        split = split_for_labels(profile, split_name, label_kinds(table))
        if split.gt_visual is not None:
            ours = _label_quality(table, profile, split_name)
            scored = {row.label: present_note(len(split), split.total, split_name) for row in table.rows}
    elif table.kind == "runs":
        for row in table.rows:
            if row.run is not None:
                notes[row.label] = availability(row.run.feature_kinds(), profile)
                if not notes[row.label]:
                    results = run_with_seeds(row.run, profile, device, progress)
                    ours[row.label], stds[row.label] = _mean_std(results)
                    scored[row.label] = scored_note(results)
    records = []
    for row in table.rows:
        prow = paper.get("rows", {}).get(row.label)
        for col in columns:
            p = prow[paper_cols.index(col)] if prow is not None and col in paper_cols else np.nan
            o = ours.get(row.label, {}).get(col, np.nan)
            records.append({"row": row.label, "metric": col, "ours": o, "ours_std": stds.get(row.label, {}).get(col, np.nan),
                            "paper": p, **({} if profile.synthetic else {"diff": o - p}),
                            "note": row.note or notes.get(row.label) or ("" if row.label in ours else "not run"),
                            "scored": scored.get(row.label, "")})
    return pd.DataFrame.from_records(records)


def table_title(table: Table, profile: Profile) -> str:
    return f"{table.title} — {SYNTHETIC_TAG}" if profile.synthetic else f"{table.title} — reproduction on LLP"


DECIMALS = {"bce": 3}  # metrics not in percent


def _cell(x: float, std: float = np.nan, signed: bool = False, decimals: int = 1) -> str:
    if np.isnan(x):
        return "—"
    s = f"{x:+.{decimals}f}" if signed else f"{x:.{decimals}f}"
    return s + (f" ± {std:.{decimals}f}" if not np.isnan(std) and std > 0 else "")


def _side_by_side(ours: float, std: float, paper: float, with_diff: bool, decimals: int = 1) -> str:
    """'ours ± std (paper)', or '(paper, ours - paper)' on real data; the paper's part only where it has a number."""
    cell = _cell(ours, std, decimals=decimals)
    if np.isnan(paper):
        return cell
    extra = f", {_cell(ours - paper, signed=True, decimals=decimals)}" if with_diff and not np.isnan(ours) else ""
    return f"{cell} ({_cell(paper, decimals=decimals)}{extra})"


def wide(df: pd.DataFrame, table: Table, with_diff: bool = False) -> pd.DataFrame:
    """The paper's layout: one line per row, metrics as columns, each cell ours beside the paper's.

    ``with_diff`` adds ours minus the paper's; only for real LLP data, where it is a reproduction gap.
    """
    columns = list(table.columns or METRIC_KEYS)
    lines = []
    for label, g in df.groupby("row", sort=False):
        g = g.set_index("metric")
        cells = {c: _side_by_side(g.at[c, "ours"], g.at[c, "ours_std"], g.at[c, "paper"], with_diff,
                                  DECIMALS.get(c, 1)) for c in columns}
        lines.append({"row": label, **cells, "note": g["note"].iloc[0]})
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


def subset_note(df: pd.DataFrame, profile: Profile) -> str:
    """Caption text: on how many videos the numbers are (when some were skipped), and which audio GT scored them."""
    counts = sorted({n for n in df.get("scored", pd.Series(dtype=str)) if isinstance(n, str) and n})
    legacy = "Audio scored against the legacy 2020 AVVP_eval_audio.csv." if profile.eval_audio else ""
    subset = f"Scored on {'; '.join(counts)} (the others have no features; see missing_*.csv)." if counts else ""
    return " ".join(x for x in (subset, legacy) if x)


def write_table(df: pd.DataFrame, table: Table, profile: Profile, out_dir: Path | None = None) -> Path:
    """Write ``<key>.csv`` (long form), ``<key>.md`` and ``<key>.tex`` (paper layout)."""
    out = Path(out_dir or tables_dir(profile))
    out.mkdir(parents=True, exist_ok=True)
    title = table_title(table, profile)
    frame = grid(df) if table.layout == "grid" else wide(df, table, with_diff=not profile.synthetic)
    df.to_csv(out / f"{table.key}.csv", index=False)
    legend = ""
    if table.key in paper_numbers():
        legend = ("Cells: ours (paper)." if profile.synthetic or table.layout == "grid"
                  else "Cells: ours (paper, ours minus paper).")
    caption = " ".join(x for x in (table.caption, subset_note(df, profile), legend) if x)
    (out / f"{table.key}.md").write_text(f"### {title}\n\n{to_markdown(frame)}\n\n{caption}\n")
    latex = frame.to_latex(index=False, caption=f"{title}. {caption}", label=f"tab:{table.key}", escape=True)
    (out / f"{table.key}.tex").write_text(latex)
    return out / f"{table.key}.md"


def _test_scores_per_video(result: RunResult, profile: Profile) -> dict[str, np.ndarray]:
    """The ten LLP metrics of every test video for one finished run (their means are ``result.test``)."""
    pred, split = result.predictions("test"), split_for_labels(profile, "test", result.config.feature_kinds())
    pa, pv = binarize(pred["frame"], pred["global"], pred["audio"], pred["visual"], rule=result.config.train.inference)
    return parse_scores_per_video(pa, pv, split.gt_audio, split.gt_visual)


def claim_evidence(profile: Profile, claims: tuple[Claim, ...] = CLAIMS, device: str | None = None) -> dict[str, dict[str, Evidence]]:
    """Per claim, our evidence by row label: per-seed test scores of runs (per-video scores too when one seed),
    or the per-video scores of a label-quality row (val). Trains what is missing, as ``compute_table``."""
    by_key = {t.key: t for t in tables(profile)}
    label_scores: dict[str, dict] = {}
    per_video: dict[Path, dict[str, np.ndarray]] = {}
    out = {}
    for claim in claims:
        table, out[claim.key] = by_key[claim.table], {}
        rows = {r.label: r for r in table.rows}
        for label in (claim.row_a, *claim.rows_b):
            kinds = rows[label].run.feature_kinds() if table.kind == "runs" else label_kinds(table)
            if availability(kinds, profile):  # a row without its features is not run: "not resolved"
                continue
            if table.kind == "runs":
                results = run_with_seeds(rows[label].run, profile, device, progress=False)
                seeds = np.array([r.test[claim.metric] for r in results])
                if len(results) > 1:
                    out[claim.key][label] = Evidence(seeds)
                    continue
                if results[0].run_dir not in per_video:
                    per_video[results[0].run_dir] = _test_scores_per_video(results[0], profile)
                out[claim.key][label] = Evidence(seeds, per_video[results[0].run_dir][claim.metric])
            else:
                if table.key not in label_scores:
                    label_scores[table.key] = _label_quality(table, profile, "val", per_video=True)
                scores = label_scores[table.key][label][claim.metric]
                out[claim.key][label] = Evidence(np.array([scores.mean()]), scores)
    return out


def write_claims(profile: Profile, device: str | None = None, out_dir: Path | None = None) -> Path:
    """Judge every claim of ``avvp_lib.claims`` on ``profile``'s results; write ``claims.md`` and ``claims.csv``."""
    evidence = claim_evidence(profile, CLAIMS, device)
    results = [evaluate(c, evidence[c.key], paper_numbers()) for c in CLAIMS]
    out = Path(out_dir or tables_dir(profile))
    out.mkdir(parents=True, exist_ok=True)
    claims_frame(results).to_csv(out / "claims.csv", index=False)
    counts = ", ".join(f"{v}: {sum(r.verdict == v for r in results)}" for v in VERDICTS)
    title = f"Claims dashboard — {SYNTHETIC_TAG}" if profile.synthetic else "Claims dashboard — reproduction on LLP"
    (out / "claims.md").write_text(f"### {title}\n\n{counts} (of {len(results)} claims)\n\n"
                                   f"{to_markdown(claims_display(results))}\n\n{LEGEND}\n")
    return out / "claims.md"


def reproduce(profile: Profile, device: str | None = None, progress: bool = True, executor: str = "local",
              options: ExecutorOptions | None = None, retrain: bool = False) -> dict[str, pd.DataFrame]:
    """Every table of ``profile``: train what is missing (stacks on ``executor``), compute, write; then the claims
    dashboard. ``retrain``: finished runs made from other data or another text encoder train again."""
    results = run_all(profile, device, progress, executor, options, retrain)
    used = tuple(dict.fromkeys(k for c in all_runs(profile) if c.name in results for k in c.feature_kinds()))
    write_missing_report(profile, used, tables_dir(profile))
    frames = {}
    for table in tqdm(tables(profile), desc="tables", disable=not progress):
        frames[table.key] = compute_table(table, profile, device, progress)
        write_table(frames[table.key], table, profile)
    write_claims(profile, device)
    return frames
