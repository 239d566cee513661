"""Profiles and every reproduced table, as data: a table is a list of rows, a row holds a config.

The tables are declared per paper (``experiments.vplan``, ``experiments.lsld``; row labels are
the papers', keys of ``paper_numbers.yaml``); adding a row is adding a ``Row``. The code that
scores tables is ``avvp_lib.reproduce`` (``SCORERS``, by table kind), the code that renders them
``avvp_lib.render``.
"""
from __future__ import annotations

from avvp_lib.config import RunConfig
from avvp_lib.experiments import bundle, lsld, vplan
from avvp_lib.experiments.base import (CLIP, NOT_HERE, PAPER_NUMBERS, PROFILES, RESNET, TABLE_KINDS,
                                       Profile, Row, Table, cited, data, get_profile, paper_numbers,
                                       run, schedule, shortened)
from avvp_lib.experiments.lsld import lsld_run
from avvp_lib.experiments.vplan import vplan_runs
from avvp_lib.methods import LSLDConfig, requires, with_prerequisites


def train_label_quality(p: Profile) -> Table:
    """Not a paper table: every method's segment labels against the synthetic world's train GT."""
    v = vplan_runs(p)
    lsld_den = lsld_run(p, "lsld_den", LSLDConfig(reweight="none"))
    return Table(
        "train_label_quality", "Pseudo-label quality on the train split (not a paper table; needs "
                               "train dense GT)", "train_label_quality",
        tuple(Row(label, r, paper=False) for label, r in (
            ("video label on every segment", v["1 HAN"]), ("VPLAN PLG", v["4 + PLG + L_S"]),
            ("VPLAN PLD", v["5 + PLD + L_S"]), ("LSLD denoised", lsld_den),
            ("LSLD denoised + re-weighted", lsld_run(p, "lsld")))),
        columns=("seg_v", "evt_v", "soft_seg_v", "bce"),
        caption="Against the synthetic world's train GT, which training never reads: segment- and "
                "event-level visual F1 of the labels thresholded at 0.5; soft_seg_v = segment F1 "
                "with soft counts and bce = mean BCE of the labels against the GT (lower is "
                "better), both without thresholding, so they show what re-weighting changes. PLD "
                "uses the Table III row 4 model. " + shortened(p, ("vplan",)))


TABLES = [*vplan.TABLES, *lsld.TABLES, *bundle.TABLES, train_label_quality]


def tables(p: Profile) -> list[Table]:
    """The tables of profile ``p`` (every table, or those ``p.tables`` names), in the papers' order."""
    return [t for t in (make(p) for make in TABLES) if p.tables is None or t.key in p.tables]


def get_table(key: str, p: Profile) -> Table:
    """Table ``key`` of profile ``p`` (a key of paper_numbers.yaml, or train_label_quality)."""
    found = {t.key: t for t in tables(p)}
    if key not in found:
        raise KeyError(f"unknown table {key!r}; expected one of {sorted(found)}")
    return found[key]


def table_runs(table: Table) -> list[RunConfig]:
    """The runs a table trains: its rows' runs ("runs" tables) or their prerequisites (label
    quality)."""
    rows = [r.run for r in table.rows if r.run is not None]
    if table.kind == "runs":
        return rows
    return [pre for r in rows for pre in requires(r)]


def all_runs(p: Profile) -> list[RunConfig]:
    """Every distinct run the tables of ``p`` train, each prerequisite (``methods.requires``) first.

    Rows of backbones the profile does not train (``Profile.skips``) are left out.
    """
    needed = [c for t in tables(p) for c in table_runs(t) if not p.skips(c)]
    return with_prerequisites(list(dict.fromkeys(needed)))


__all__ = ["CLIP", "NOT_HERE", "PAPER_NUMBERS", "PROFILES", "RESNET", "TABLES", "TABLE_KINDS",
           "Profile", "Row", "Table", "all_runs", "cited", "data", "get_profile", "get_table",
           "lsld_run", "paper_numbers", "run", "schedule", "table_runs", "tables",
           "train_label_quality", "vplan_runs"]
