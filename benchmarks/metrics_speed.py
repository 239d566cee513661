"""Time the vectorised LLP metrics on all 1,849 real val+test videos (target: under a second).

Scores three prediction sets against the real dense ground truth of ../shared/llp: the GT itself,
the GT rolled by one segment, and random predictions; prints the seconds each call took.

Usage: python benchmarks/metrics_speed.py [--repeats 5]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from avvp_lib.data.splits import load_split
from avvp_lib.metrics import parse_scores
from avvp_lib.paths import SHARED_LLP_DIR


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    splits = [load_split(SHARED_LLP_DIR, s) for s in ("val", "test")]
    ga, gv = (np.concatenate([getattr(s, k) for s in splits]) for k in ("gt_audio", "gt_visual"))
    rng = np.random.default_rng(0)
    cases = {
        "GT as prediction": (ga, gv),
        "GT rolled by one segment": tuple(np.roll(x, 1, axis=1) for x in (ga, gv)),
        "random (p=0.1)": tuple((rng.random(x.shape) < 0.1).astype(np.uint8) for x in (ga, gv)),
    }
    print(f"{len(ga)} videos (LLP val + test)")
    for name, (pa, pv) in cases.items():
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            scores = parse_scores(pa, pv, ga, gv)
            times.append(time.perf_counter() - t0)
        print(f"{name:28s}: {min(times):.3f} s best, {np.mean(times):.3f} s mean of {args.repeats}; "
              f"seg Type@AV {scores['seg_type']:.1f}, evt Type@AV {scores['evt_type']:.1f}")


if __name__ == "__main__":
    main()
