"""Where does validation Type@AV plateau? One row per paper schedule, trained for the whole schedule.

The default profile stops each paper's schedule early (``Profile.stop_at``) to fit its CPU budget;
this script trains one table row per schedule -- VPLAN Table III "1 HAN" (VPLAN, 30 epochs), LSLD
Table 1 "HAN + Clip" (LSLD, 20), VPLAN Table IV "MA" (MA's code, 12) and "JoMoLD" (25), LSLD
Table 1 "LSLD (official code)" (20), and VPLAN Table IV's other backbones "MGN", "DHHN" and
"MM-Pyramid" (their code's schedules, 40 / 10 / 40) -- on the profile's world for the whole schedule, prints each
plateau epoch (the first epoch within ``--within`` points of the run's best validation Type@AV)
beside the profile's stop, and plots the curves with the stop marked.

    python scripts/plateau_check.py [--profile default] [--seeds 1 2 3] [--rows MGN DHHN]

Writes ``outputs/figures/<profile>/plateau.png`` and ``outputs/tables/<profile>/plateau.csv``
(one line per run and epoch; ``plateau_<rows>.*`` with ``--rows``); runs go to
``outputs/runs/<profile>-plateau/`` (cached like any run).
Exits 1 when a stop comes before its plateau.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from avvp_lib.experiments import get_table  # noqa: E402
from avvp_lib.schedules import SCHEDULES  # noqa: E402
from avvp_lib.figures import training_curves  # noqa: E402
from avvp_lib.notebook import setup  # noqa: E402
from avvp_lib.paths import REPO_ROOT  # noqa: E402
from avvp_lib.train import train_many  # noqa: E402

# (table, row, the paper schedule it trains on): one row per schedule the tables use
ROWS = (("vplan_t3", "1 HAN", "vplan"), ("lsld_t1", "HAN + Clip", "lsld"), ("vplan_t4", "MA", "ma"),
        ("vplan_t4", "JoMoLD", "jomold"), ("lsld_t1", "LSLD (official code)", "lsld_official"),
        ("vplan_t4", "MGN", "mgn"), ("vplan_t4", "DHHN", "dhhn"), ("vplan_t4", "MM-Pyramid", "mm_pyramid"))


def plateau_epoch(curve: list[float], within: float) -> int:
    """The first epoch (1-based) whose value is within ``within`` of the curve's best."""
    return next(e for e, v in enumerate(curve, 1) if v >= max(curve) - within)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="default")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--within", type=float, default=1.0, help="points below the best that count as plateau")
    ap.add_argument("--rows", nargs="+", choices=[label for _, label, _ in ROWS], help="only these rows (default: all)")
    args = ap.parse_args()
    session = setup(args.profile)  # builds the profile's synthetic world when missing
    p = session.profile
    runs, labels = [], []
    for table, label, paper in (r for r in ROWS if not args.rows or r[1] in args.rows):
        row = next(r for r in get_table(table, p).rows if r.label == label)
        for seed in args.seeds:
            train = dataclasses.replace(row.run.train, epochs=SCHEDULES[paper].epochs, seed=seed)
            runs.append(row.run.replace(name=f"{row.run.name}_full_seed{seed}", train=train))
            labels.append((label, paper, seed))
    results = train_many(runs, REPO_ROOT / "outputs" / "runs" / f"{p.name}-plateau", session.device)
    panels: dict[str, dict[str, list]] = {}
    stops: dict[str, int] = {}  # panel title -> the profile's stop
    early = []
    stem = "plateau" + "".join(f"_{label.replace(' ', '-')}" for label in args.rows or ())
    table_out = REPO_ROOT / "outputs" / "tables" / p.name / f"{stem}.csv"
    table_out.parent.mkdir(parents=True, exist_ok=True)
    with table_out.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["row", "schedule", "seed", "epoch", "val_seg_type", "plateau_epoch", "profile_stop"])
        for (label, paper, seed), res in zip(labels, results):
            history, stop = res.history(), p.epochs_for(paper) or SCHEDULES[paper].epochs
            curve = [h["val_seg_type"] for h in history]
            plateau = plateau_epoch(curve, args.within)
            title = f"{label} ({paper} schedule; profile stops at {stop})"
            panels.setdefault(title, {})[f"seed {seed}"] = history
            stops[title] = stop
            w.writerows([label, paper, seed, e, f"{v:.2f}", plateau, stop] for e, v in enumerate(curve, 1))
            verdict = "ok" if stop >= plateau else "STOPS BEFORE ITS PLATEAU"
            early += [] if stop >= plateau else [label]
            best = len(curve) - curve[::-1].index(max(curve))  # a tie goes to the later epoch, as the trainer's
            print(f"{label:21s} seed {seed}: best val Type@AV {max(curve):.1f} (epoch {best} of "
                  f"{len(curve)}); plateau (within {args.within:g}) at epoch {plateau}; profile stops at "
                  f"{stop} ({curve[stop - 1]:.1f}): {verdict}")
    fig = training_curves(panels, "seg_type", p.synthetic)
    for ax, title in zip(fig.axes, panels):
        ax.axvline(stops[title], color="grey", ls="--", lw=1)
    fig_out = REPO_ROOT / "outputs" / "figures" / p.name / f"{stem}.png"
    fig_out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(fig_out, dpi=110)
    print(f"wrote {fig_out.relative_to(REPO_ROOT)} and {table_out.relative_to(REPO_ROOT)}")
    sys.exit(1 if early else 0)


if __name__ == "__main__":
    main()
