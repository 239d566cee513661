"""Fit the synthetic world's input parameters to the published input measurements (issue #11).

    python scripts/calibrate_world.py [--profile default] [--quick]

Fits the parameters of ``avvp_lib.synthetic.fitting`` (PLG_PARAMETERS, HAN_PARAMETERS) to the
targets of ``avvp_lib.synthetic.calibration.CALIBRATION_TARGETS`` (read from paper_numbers.yaml,
nothing else) and writes the fitted values and the achieved fit to
``avvp_lib/synthetic/calibration.json``, which ``WorldConfig`` uses as its feature model, and the
figure ``outputs/figures/<profile>/calibration_fit.png`` (ours vs paper per target).

The HAN targets are the paper's at the paper schedule (VPLAN 30 epochs, LSLD 20); HAN is
calibrated at the schedule the profile's tables use (``experiments.schedule``: the default profile
stops each paper's schedule where validation Type@AV plateaus, VPLAN after 10 epochs, LSLD after
8, measured by ``scripts/plateau_check.py``), on the profile's world; the JSON records the
schedules. ``--quick``: the smoke profile, one round each, written to
outputs/calibration_quick.json (a test of the script, not a calibration).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

from avvp_lib import figures
from avvp_lib.atomic import atomic_write
from avvp_lib.experiments import get_profile, schedule
from avvp_lib.paths import OUTPUTS_DIR
from avvp_lib.synthetic.calibration import CALIBRATION_FILE, TOLERANCE, read_targets
from avvp_lib.synthetic.fitting import HAN_PARAMETERS, PLG_PARAMETERS, PRIOR, apply, calibrate


def report(result, targets: dict, profile, seconds: float) -> dict:
    """The calibration record written to calibration.json."""
    fit = [{"table": t, "row": r, "column": c, "paper": p, "ours": round(result.ours[(t, r, c)], 2),
            "deviation": round(result.ours[(t, r, c)] - p, 2), "within_tolerance": abs(result.ours[(t, r, c)] - p) <= TOLERANCE}
           for (t, r, c), p in targets.items()]
    return {
        "description": "Synthetic-world input parameters fitted by scripts/calibrate_world.py to the published "
                       "measurements of the inputs listed in avvp_lib/synthetic/calibration.py (CALIBRATION_TARGETS) "
                       "and nothing else; every other table number is a prediction.",
        "profile": profile.name,
        "world": {"size": profile.world_size, "seed": 0},
        "han_schedule_note": "HAN rows calibrated at the profile's schedule (experiments.schedule), not the papers' "
                             "30 (VPLAN) / 20 (LSLD) epochs",
        "schedules": {paper: dataclasses.asdict(schedule(paper, profile)) for paper in ("vplan", "lsld")},
        "seeds": list(profile.seeds),
        "parameters": [{"name": p.name, "description": p.description, "range": [p.low, p.high], "prior": p.prior,
                        "fitted": round(result.values[p.name], 4)} for p in (*PLG_PARAMETERS, *HAN_PARAMETERS)],
        "feature_model": dataclasses.asdict(apply(PRIOR, {k: round(v, 4) for k, v in result.values.items()})),
        "tolerance": TOLERANCE,
        "all_within_tolerance": all(f["within_tolerance"] for f in fit),
        "fit": fit,
        "seconds": round(seconds),
        "search": result.log,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="default")
    ap.add_argument("--quick", action="store_true", help="smoke profile, one round per stage (tests the script)")
    ap.add_argument("--rounds", type=int, default=5, help="HAN rounds (each trains both rows once)")
    args = ap.parse_args(argv)
    profile = get_profile("smoke" if args.quick else args.profile)
    if not profile.synthetic:
        ap.error(f"profile {profile.name!r} has no synthetic world to calibrate")
    out = OUTPUTS_DIR / "calibration_quick.json" if args.quick else CALIBRATION_FILE
    fig_path = OUTPUTS_DIR / "figures" / args.profile / ("calibration_fit_quick.png" if args.quick else "calibration_fit.png")
    targets = read_targets()
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="calibrate_") as work:
        result = calibrate(profile, targets, Path(work), rounds=1 if args.quick else args.rounds,
                           plg_rounds=1 if args.quick else 3, say=lambda s: print(s, flush=True))
    record = report(result, targets, profile, time.time() - t0)
    atomic_write(out, json.dumps(record, indent=2) + "\n")
    figures.save(figures.calibration_fit(record["fit"], record["tolerance"]), fig_path)
    for f in record["fit"]:
        print(f"{f['table']:9s} {f['row']:15s} {f['column']:10s} paper {f['paper']:6.2f} ours {f['ours']:6.2f} "
              f"({f['deviation']:+.2f}){'' if f['within_tolerance'] else '  OUTSIDE ±' + str(TOLERANCE)}")
    print(f"wrote {out} and {fig_path} in {record['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
