"""What writing ``last.pt`` after every epoch costs, against the trainer's time rule, in one run.

Run: ``python benchmarks/checkpoint_cost.py [--repeat 2]``. Trains one stack of four HAN runs
(seeds 1-4) of the default profile's VPLAN schedule (stopped at 10 epochs, ResNet-152 + R(2+1)D
features) on the default synthetic world, once with ``checkpoint_seconds=0`` (a ~70 MB ``last.pt``
per run after every epoch, the trainer's behaviour before) and once with ``train.CHECKPOINT_SECONDS``;
prints the seconds of each (best of ``--repeat``), the ratio, and checks that both give the same
test scores (a checkpoint changes when an interrupt may resume, never the result).
"""
from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time

import avvp_lib.train as trainer
from avvp_lib.experiments import get_profile
from avvp_lib.experiments.base import RESNET, run
from avvp_lib.methods.baseline import HANLabels
from avvp_lib.paths import resolve
from avvp_lib.synthetic.world import WorldConfig, build_world


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    build_world(resolve("data/synthetic_default"), WorldConfig(size="default"), progress=False)
    base = run(get_profile("default"), "ckpt", "vplan", HANLabels(), RESNET)
    configs = [base.replace(train=dataclasses.replace(base.train, seed=s)) for s in (1, 2, 3, 4)]
    seconds: dict[float, list[float]] = {}
    scores: dict[float, list[dict[str, float]]] = {}
    for _ in range(args.repeat):
        for every in (0.0, trainer.CHECKPOINT_SECONDS):
            with tempfile.TemporaryDirectory(dir=resolve("outputs")) as d:
                t = time.time()
                results = trainer.train_group(configs, d, "cpu", progress=False, checkpoint_seconds=every)
                seconds.setdefault(every, []).append(time.time() - t)
                scores[every] = [r.test for r in results]
            print(f"checkpoint_seconds={every:g}: {seconds[every][-1]:.1f} s "
                  f"(4 runs x {base.train.epochs} epochs)", flush=True)
    every_epoch, timed = min(seconds[0.0]), min(seconds[trainer.CHECKPOINT_SECONDS])
    print(f"best of {args.repeat}: every epoch {every_epoch:.1f} s, every "
          f"{trainer.CHECKPOINT_SECONDS:g} s {timed:.1f} s, speed-up {every_epoch / timed:.2f}x; "
          f"same test scores: {scores[0.0] == scores[trainer.CHECKPOINT_SECONDS]}")


if __name__ == "__main__":
    main()
