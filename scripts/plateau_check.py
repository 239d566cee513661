"""Where does validation Type@AV plateau? HAN's two baseline rows trained for the papers' whole schedules.

The default profile stops the papers' schedules early (``experiments.schedule``) to fit its CPU
budget; this script trains the same two rows -- VPLAN Table III "1 HAN" (VPLAN's 30 epochs) and LSLD
Table 1 "HAN + Clip" (LSLD's 20 epochs) -- on the profile's world for the papers' full schedules and
plots their validation Type@AV per epoch with the profile's stopping epoch marked.

    python scripts/plateau_check.py [--profile default] [--seeds 1 2 3]

Writes ``outputs/figures/<profile>/plateau.png`` and ``outputs/tables/<profile>/plateau.csv``
(one line per run and epoch); runs go to ``outputs/runs/<profile>-plateau/`` (cached like any run).
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

from avvp_lib.config import PAPER_SCHEDULES  # noqa: E402
from avvp_lib.experiments import get_table  # noqa: E402
from avvp_lib.figures import training_curves  # noqa: E402
from avvp_lib.paths import REPO_ROOT  # noqa: E402
from avvp_lib.notebook import setup  # noqa: E402
from avvp_lib.train import train_many  # noqa: E402

# (table, row, the paper schedule it trains on): one row per schedule in PAPER_SCHEDULES that tables use
ROWS = (("vplan_t3", "1 HAN", "vplan"), ("lsld_t1", "HAN + Clip", "lsld"), ("vplan_t4", "MA", "ma"),
        ("vplan_t4", "JoMoLD", "jomold"), ("lsld_t1", "LSLD (official code)", "lsld_official"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="default")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    args = ap.parse_args()
    session = setup(args.profile)  # builds the profile's synthetic world when missing
    p = session.profile
    runs, labels = [], []
    for table, label, paper in ROWS:
        row = next(r for r in get_table(table, p).rows if r.label == label)
        for seed in args.seeds:
            train = dataclasses.replace(row.run.train, epochs=PAPER_SCHEDULES[paper].epochs, seed=seed)
            runs.append(row.run.replace(name=f"{row.run.name}_full_seed{seed}", train=train))
            labels.append((table, label, seed))
    results = train_many(runs, REPO_ROOT / "outputs" / "runs" / f"{p.name}-plateau", session.device)
    panels: dict[str, dict[str, list]] = {}
    table_out = REPO_ROOT / "outputs" / "tables" / p.name / "plateau.csv"
    table_out.parent.mkdir(parents=True, exist_ok=True)
    with table_out.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["row", "seed", "epoch", "val_seg_type", "best_epoch", "test_seg_type"])
        for (table, label, seed), res in zip(labels, results):
            panels.setdefault(f"{label} (profile stops at epoch {p.epochs})", {})[f"seed {seed}"] = res.history()
            for h in res.history():
                w.writerow([label, seed, h["epoch"], f"{h['val_seg_type']:.2f}", res.best_epoch,
                            f"{res.test['seg_type']:.2f}"])
            best = max(res.history(), key=lambda h: h["val_seg_type"])
            at_stop = res.history()[p.epochs - 1]["val_seg_type"] if p.epochs else best["val_seg_type"]
            print(f"{label:12s} seed {seed}: val Type@AV at epoch {p.epochs}: {at_stop:.1f}; "
                  f"best {best['val_seg_type']:.1f} at epoch {best['epoch']}; test Type@AV "
                  f"(selected epoch {res.best_epoch}) {res.test['seg_type']:.1f}")
    fig = training_curves(panels, "seg_type", p.synthetic)
    for ax in fig.axes:
        if p.epochs:
            ax.axvline(p.epochs, color="grey", ls="--", lw=1)
    fig_out = REPO_ROOT / "outputs" / "figures" / p.name / "plateau.png"
    fig_out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(fig_out, dpi=110)
    print(f"wrote {fig_out.relative_to(REPO_ROOT)} and {table_out.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
