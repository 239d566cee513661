"""Compute the tables of ``avvp_lib.experiments`` beside the papers' numbers and judge the papers' claims.

``run_all(profile)`` trains every run (finished runs are loaded, not recomputed);
``compute_table`` scores a table with the scorer of its kind (``SCORERS``) and returns a
long-form DataFrame with, per row and metric, ours and the paper's (and their difference on real
LLP only: on a synthetic world it is no reproduction gap); ``render.write_table`` writes it;
``write_claims`` judges every comparative claim of the papers (``avvp_lib.claims``) on our
results and writes ``claims.md`` / ``claims.csv`` beside the tables.
A label-quality row's labels come from its method (``methods.segment_labels``) through a build
context over the scored split, as in training. A row whose feature kinds are absent (e.g. no CLIP
features) or whose backbone the profile does not train is not run: its note says why. With
``missing="skip"``, captions say how many videos were scored and ``missing_<split>.csv`` beside
the tables lists the videos without features.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from avvp_lib.claims import CLAIMS, LEGEND, VERDICTS, Claim, Evidence, claims_display, claims_frame, evaluate
from avvp_lib.config import pseudo_label_kinds
from avvp_lib.data.annotations import load_weak_labels
from avvp_lib.data.feature_files import feature_dir, missing_videos, present_note, write_missing_csv
from avvp_lib.data.splits import WEAK_CSV, LLPSplit, drop_missing, load_split
from avvp_lib.devices import pick_device
from avvp_lib.executors import ExecutorOptions, train_grid
from avvp_lib.experiments import TABLES, Profile, Row, Table, all_runs, paper_numbers, schedule, tables
from avvp_lib.methods import requires, segment_labels
from avvp_lib.methods.lsld_audio import clap_prompts
from avvp_lib.methods.vplan import video_precision_recall_per_video
from avvp_lib.metrics import (METRIC_KEYS, binarize, parse_scores_per_video, per_class_f1, soft_label_scores,
                              visual_scores_per_video)
from avvp_lib.paths import OUTPUTS_DIR, resolve
from avvp_lib.render import SYNTHETIC_TAG, tables_dir, to_markdown, write_table
from avvp_lib.synthetic.calibration import CALIBRATION_TARGETS, load_calibration
from avvp_lib.train import BuildContext, RunResult, train
from avvp_lib.vocabulary import CLASSES



def runs_dir(profile: Profile) -> Path:
    return OUTPUTS_DIR / "runs" / (profile.runs_of or profile.name)


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


def not_run(run, profile: Profile) -> str:
    """'' when ``profile`` trains ``run``, else why not (a backbone it skips, absent features)."""
    return profile.skips(run) or availability(run.feature_kinds(), profile)


def run_all(profile: Profile, device: str | None = None, progress: bool = True, executor: str = "local",
            options: ExecutorOptions | None = None, retrain: bool = False) -> dict[str, list[RunResult]]:
    """Train (or load) every run the tables need whose features exist, as stacks of runs on ``executor``;
    returns results by run name."""
    runs = {cfg.name: seeded(cfg, profile) for cfg in all_runs(profile) if not availability(cfg.feature_kinds(), profile)}
    results = iter(train_grid([c for cs in runs.values() for c in cs], runs_dir(profile), device, executor, options,
                              progress, retrain))
    return {name: [next(results) for _ in cs] for name, cs in runs.items()}


# ---------------------------------------------------------------- label quality
LABEL_SPLITS = {"plg_quality": "val", "pld_quality": "val", "train_label_quality": "train"}


@lru_cache(maxsize=8)
def split_for_labels(profile: Profile, name: str, kinds: tuple[str, ...] = ()) -> LLPSplit:
    """A split's labels and GT (no features), less the videos without ``kinds`` when the profile skips them."""
    split = load_split(resolve(profile.data_dir), name, annotations_dir=resolve(profile.annotations_dir)
                       if profile.annotations_dir else None, progress=False,
                       eval_audio=resolve(profile.eval_audio) if profile.eval_audio else None)
    return drop_missing(split, resolve(profile.data_dir), kinds, profile.missing)


def run_label_kinds(run) -> tuple[str, ...]:
    """Feature kinds ``run``'s labels read: its method's CLIP kind and its prerequisite runs' kinds."""
    clip = getattr(run.supervision, "clip_kind", None)
    kinds = ([clip] if clip else []) + [k for pre in requires(run) for k in pre.feature_kinds()]
    return tuple(dict.fromkeys(kinds))


def label_kinds(table: Table) -> tuple[str, ...]:
    """Feature kinds a label-quality table reads (``run_label_kinds`` of its rows)."""
    return tuple(dict.fromkeys(k for row in table.rows for k in run_label_kinds(row.run)))


def clap_texts(profile: Profile, kind: str = "clap_audioset") -> list[str]:
    """Every CLAP text the profile's runs and label tables encode for ``kind`` on its data, sorted: what a
    ``ClapTextTable`` file for this data must hold (``python -m avvp_lib clap-prompts``)."""
    configs = [*all_runs(profile), *(r.run for t in tables(profile) for r in t.rows if r.run is not None)]
    users = {c.supervision for c in configs if pseudo_label_kinds(c.supervision).get("clap_kind") == kind}
    labels = [split_for_labels(profile, name).labels for name in WEAK_CSV]
    return sorted({t for sup in users for y in labels for t in clap_prompts(sup, y)})


def label_context(run, split: LLPSplit, profile: Profile, device: str | None = None) -> BuildContext:
    """The build context of a run whose labels are scored on ``split`` (prerequisites train in the profile's runs)."""
    return BuildContext(run, {split.name: split}, runs_dir(profile), pick_device(device), progress=False)


def labels_of(run, split: LLPSplit, profile: Profile, device: str | None = None) -> np.ndarray:
    """The visual segment labels [N, T, C] that ``run``'s method makes for ``split`` (``methods.segment_labels``)."""
    return segment_labels(label_context(run, split, profile, device), split.name)


def label_split(table: Table, profile: Profile) -> LLPSplit:
    """The split a label-quality table scores, less the videos without the features it reads (when skipped)."""
    return split_for_labels(profile, LABEL_SPLITS[table.kind], label_kinds(table))


def label_quality(table: Table, profile: Profile, per_video: bool = False,
                  device: str | None = None) -> dict[str, dict]:
    """Per row, each column's score; ``per_video``: each video's [N] (the table shows their means), no soft scores."""
    split = label_split(table, profile)
    out = {}
    for row in table.rows:
        labels = labels_of(row.run, split, profile, device)
        if table.kind == "plg_quality":
            scores = video_precision_recall_per_video(labels.max(axis=1), split.gt_visual)
        else:
            scores = visual_scores_per_video((labels >= 0.5).astype(np.uint8), split.gt_visual)
            scores["average"] = (scores["seg_v"] + scores["evt_v"]) / 2
        if not per_video:
            scores = {k: float(v.mean()) for k, v in scores.items()}
            if table.kind != "plg_quality":
                scores.update(soft_label_scores(labels, split.gt_visual))
        out[row.label] = scores
    return out


# ---------------------------------------------------------------- scorers, by table kind
@dataclass
class Scores:
    """A table's numbers by row label: ours (mean over seeds), their std, why a row was not scored, on how many videos."""

    ours: dict[str, dict[str, float]] = field(default_factory=dict)
    stds: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    scored: dict[str, str] = field(default_factory=dict)


def _mean_std(results: list[RunResult]) -> tuple[dict[str, float], dict[str, float]]:
    """Mean and sample standard deviation (ddof 1, as the claims; NaN for one seed) over seeds."""
    arr = {k: np.array([r.test[k] for r in results]) for k in METRIC_KEYS}
    std = {k: float(v.std(ddof=1)) if len(v) > 1 else float("nan") for k, v in arr.items()}
    return {k: float(v.mean()) for k, v in arr.items()}, std


def score_runs(table: Table, profile: Profile, device: str | None, progress: bool) -> Scores:
    """Every row's run, trained (or loaded) once per profile seed, scored on test."""
    out = Scores()
    for row in table.rows:
        if row.run is not None:
            out.notes[row.label] = not_run(row.run, profile)
            if not out.notes[row.label]:
                results = run_with_seeds(row.run, profile, device, progress)
                out.ours[row.label], out.stds[row.label] = _mean_std(results)
                out.scored[row.label] = scored_note(results)
    return out


def score_labels(table: Table, profile: Profile, device: str | None, progress: bool) -> Scores:
    """Every row's segment labels against the dense GT of the table's split (``label_quality``)."""
    reason = availability(label_kinds(table), profile)
    if reason:
        return Scores(notes={row.label: reason for row in table.rows})
    split = label_split(table, profile)
    if split.gt_visual is None:
        return Scores()
    return Scores(ours=label_quality(table, profile, device=device),
                  scored={row.label: present_note(len(split), split.total, split.name) for row in table.rows})


def score_cited(table: Table, profile: Profile, device: str | None, progress: bool) -> Scores:
    """Nothing of ours: the paper's numbers only."""
    return Scores()


SCORERS = {"runs": score_runs, "plg_quality": score_labels, "pld_quality": score_labels,
           "train_label_quality": score_labels, "cited": score_cited}


@lru_cache(maxsize=8)
def _calibrated(profile: Profile) -> dict:
    """The mark of each fitted cell, by (table key, row label) and by run (``CALIBRATION_TARGETS``).

    No marks when ``profile`` trains on another world or schedule than the fit (``calibration.json``):
    its rows were not fitted (e.g. ``quick``'s shorter schedules on the default world).
    """
    record = load_calibration()
    fitted = {q: dataclasses.asdict(schedule(q, profile)) for q in record.get("schedules", {})}
    if not fitted or profile.world_size != record["world"]["size"] or fitted != record["schedules"]:
        return {}
    every = {t.key: t for t in (make(profile) for make in TABLES)}
    marks = {}
    for key, label, columns in CALIBRATION_TARGETS:
        row = next(r for r in every[key].rows if r.label == label)
        mark = f"calibration target (fitted: {', '.join(columns)})"
        marks[(key, label)] = mark
        if every[key].kind == "runs":
            marks[row.run] = mark
    return marks


def calibration_mark(table: Table, row: Row, profile: Profile) -> str:
    """"calibration target (fitted: ...)" for a cell the synthetic world's inputs were fitted to
    (``synthetic.calibration.CALIBRATION_TARGETS``), also where another table shows the same run; else ''."""
    if not profile.synthetic:
        return ""
    marks = _calibrated(profile)
    return marks.get((table.key, row.label)) or (marks.get(row.run, "") if table.kind == "runs" else "")


def compute_table(table: Table, profile: Profile, device: str | None = None, progress: bool = True) -> pd.DataFrame:
    """Long-form table: one line per (row, metric) with ours, ours_std, paper, note (+ diff on real LLP)."""
    columns = table.columns or METRIC_KEYS
    paper = paper_numbers().get(table.key, {})
    paper_cols = paper.get("columns", list(METRIC_KEYS))
    s = SCORERS[table.kind](table, profile, device, progress)
    records = []
    for row in table.rows:
        prow = paper.get("rows", {}).get(row.label)
        for col in columns:
            p = prow[paper_cols.index(col)] if prow is not None and col in paper_cols else np.nan
            o = s.ours.get(row.label, {}).get(col, np.nan)
            records.append({"row": row.label, "metric": col, "ours": o, "ours_std": s.stds.get(row.label, {}).get(col, np.nan),
                            "paper": p, **({} if profile.synthetic else {"diff": o - p}),
                            "note": "; ".join(x for x in (calibration_mark(table, row, profile), row.note
                                                          or s.notes.get(row.label)
                                                          or ("" if row.label in s.ours else "not run")) if x),
                            "scored": s.scored.get(row.label, "")})
    return pd.DataFrame.from_records(records)


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


# ---------------------------------------------------------------- claims
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
            reason = not_run(rows[label].run, profile) if table.kind == "runs" else availability(label_kinds(table), profile)
            if reason:  # a row without its features is not run: "not resolved"
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
                    label_scores[table.key] = label_quality(table, profile, per_video=True, device=device)
                scores = label_scores[table.key][label][claim.metric]
                out[claim.key][label] = Evidence(np.array([scores.mean()]), scores)
    return out


def write_claims(profile: Profile, device: str | None = None, out_dir: Path | None = None) -> Path:
    """Judge every claim of ``avvp_lib.claims`` on ``profile``'s results; write ``claims.md`` and ``claims.csv``."""
    keys = {t.key for t in tables(profile)}
    claims = tuple(c for c in CLAIMS if c.table in keys)  # the claims of the profile's tables
    evidence = claim_evidence(profile, claims, device)
    results = [evaluate(c, evidence[c.key], paper_numbers()) for c in claims]
    out = Path(out_dir or tables_dir(profile))
    out.mkdir(parents=True, exist_ok=True)
    claims_frame(results).to_csv(out / "claims.csv", index=False)
    counts = ", ".join(f"{v}: {sum(r.verdict == v for r in results)}" for v in VERDICTS)
    title = f"Claims dashboard — {SYNTHETIC_TAG}" if profile.synthetic else "Claims dashboard — reproduction on LLP"
    (out / "claims.md").write_text(f"### {title}\n\n{counts} (of {len(results)} claims)\n\n"
                                   f"{to_markdown(claims_display(results))}\n\n{LEGEND}\n")
    return out / "claims.md"


# ---------------------------------------------------------------- per class
MAIN_ROWS = (("vplan_t3", "1 HAN"), ("vplan_t3", "5 + PLD + L_S"), ("lsld_t2", "no DeN, no ReW"),
             ("lsld_t2", "DeN + ReW"))  # each paper's baseline and its full method


def _visual_prediction(result: RunResult) -> np.ndarray:
    """A finished run's binary visual test prediction [N, 10, C] (its inference rule)."""
    pred = result.predictions("test")
    return binarize(pred["frame"], pred["global"], pred["audio"], pred["visual"], rule=result.config.train.inference)[1]


def per_class_scores(profile: Profile, device: str | None = None) -> pd.DataFrame:
    """Segment-level visual F1 per class (``metrics.per_class_f1``) of each paper's main rows: the model on
    test (mean over seeds) and its method's visual segment labels on val. Rows not run are left out."""
    by_key, frames = {t.key: t for t in tables(profile)}, []
    for key, label in MAIN_ROWS:
        row = next((r for r in by_key[key].rows if r.label == label), None) if key in by_key else None
        if row is None or not_run(row.run, profile):
            continue
        test = split_for_labels(profile, "test", row.run.feature_kinds())
        model = np.nanmean([per_class_f1(_visual_prediction(r), test.gt_visual)
                            for r in run_with_seeds(row.run, profile, device, progress=False)], axis=0)
        val = split_for_labels(profile, "val", run_label_kinds(row.run))
        labels = per_class_f1((labels_of(row.run, val, profile, device) >= 0.5).astype(np.uint8), val.gt_visual)
        for source, f1 in ((f"{label} — model (test)", model), (f"{label} — labels (val)", labels)):
            frames.append(pd.DataFrame({"table": key, "row": label, "source": source, "class": CLASSES, "f1": f1}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["table", "row", "source", "class", "f1"])


def write_per_class(profile: Profile, device: str | None = None, out_dir: Path | None = None) -> Path:
    """``per_class.csv`` (long) and ``per_class.md`` (a class per row, a source per column) beside the tables."""
    df, out = per_class_scores(profile, device), Path(out_dir or tables_dir(profile))
    out.mkdir(parents=True, exist_ok=True)
    df.to_csv(out / "per_class.csv", index=False)
    wide = df.pivot(index="class", columns="source", values="f1").reindex(CLASSES).round(1).reset_index()
    tag = SYNTHETIC_TAG if profile.synthetic else "LLP"
    (out / "per_class.md").write_text(
        f"### Segment-level visual F1 per class of the main rows — {tag}\n\n{to_markdown(wide.map(lambda v: '-' if pd.isna(v) else v))}\n\n"
        "Model: the trained run on test (mean over seeds); labels: the run's visual segment labels on val (PLG/PLD, "
        "LSLD's denoised labels, or the video label on every segment for HAN), thresholded at 0.5. Per class: the "
        "official per-video F1 restricted to that class, over the videos that have it in prediction or GT "
        "(metrics.per_class_f1); '-' = no such video. Not a paper table.\n")
    return out / "per_class.md"


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
    write_per_class(profile, device)
    return frames
