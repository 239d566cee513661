"""Grid throughput: R runs as one stack (``train_group``) vs R runs one after the other (``train``).

For each R (``--runs``), trains R HAN runs that differ in seed and learning rate on one synthetic
world and prints aggregate videos/second (all runs together) of the batched trainer and of the
single-run path, and the speed-up, both for the training loop alone and end to end (validation
every epoch, checkpoints, predictions and scores included). Sequential throughput does not depend
on R (runs are independent), so it is measured once on ``--seq-runs`` runs. On a shared machine
use ``--repeat`` (the fastest of N timings is kept per row).

The first lines compare the single-run path with the trainer this bundle had before the batched
one (a reference copy kept below, in this script only: ``nn.MultiheadAttention`` HAN,
``torch.optim.Adam``, ``StepLR``), so a slower single run would show here.

Usage: python benchmarks/grid_throughput.py [--size smoke] [--epochs 1] [--runs 1,4,16] [--device cpu]
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from avvp_lib.atomic import atomic_torch_save
from avvp_lib.config import DataConfig, RunConfig, TrainConfig
from avvp_lib.methods import build_targets
from avvp_lib.paths import resolve
from avvp_lib.synthetic.world import WorldConfig, build_world
from avvp_lib.train import SPLITS, BuildContext, build_han, load_run_data, predict, score, split_inputs, train, train_group


def reference_single_run(config: RunConfig, out: Path, device: torch.device) -> tuple[float, float]:
    """The pre-batching ``train()`` loop (reference copy): returns (training videos/s, end-to-end seconds)."""
    t_start = time.perf_counter()
    tc, data = config.train, load_run_data(config.data)
    torch.manual_seed(tc.seed)
    targets = build_targets(config.supervision, BuildContext(config, data, out, device, False)).to(device)
    inputs = {s: split_inputs(data[s], config.data, device) for s in SPLITS}
    torch.manual_seed(tc.seed)
    model = build_han(config, data["train"]).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=tc.lr)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=tc.step_size, gamma=tc.gamma)
    n, (audio, visual) = len(data["train"]), inputs["train"]
    best, best_model, train_s = -1.0, None, 0.0
    for epoch in range(tc.epochs):
        model.train()
        t0, losses = time.perf_counter(), []
        order = torch.randperm(n, generator=torch.Generator().manual_seed(tc.seed * 1000 + epoch)).to(device)
        for i in range(0, n, tc.batch_size):
            idx = order[i:i + tc.batch_size]
            loss = targets.loss(model(audio[idx], [v[idx] for v in visual]), idx)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        sched.step()
        train_s += time.perf_counter() - t0
        val = score(predict(model, *inputs["val"]), data["val"], tc.inference)
        if val[tc.select_metric] > best:
            best, best_model = val[tc.select_metric], copy.deepcopy(model.state_dict())
        atomic_torch_save({"model": model.state_dict(), "optimizer": opt.state_dict(), "best_model": best_model,
                           "scheduler": sched.state_dict(), "rng": torch.get_rng_state()}, out / "last.pt")
    model.load_state_dict(best_model)
    preds = {s: predict(model, *inputs[s]) for s in SPLITS}
    np.savez_compressed(out / "predictions.npz", **{f"{s}/{k}": v.astype(np.float16) for s, p in preds.items() for k, v in p.items()})
    atomic_torch_save(best_model, out / "best.pt")
    for s in ("val", "test"):
        score(preds[s], data[s], tc.inference)
    return n * tc.epochs / train_s, time.perf_counter() - t_start


def grid(base: RunConfig, runs: int) -> list[RunConfig]:
    """``runs`` configs of one stack: seeds 1..R, learning rates alternating 3e-4 / 6e-4."""
    return [base.replace(name=f"grid{r}", train=dataclasses.replace(base.train, seed=r + 1, lr=(3e-4, 6e-4)[r % 2]))
            for r in range(runs)]


def timed(fn, *args) -> tuple[list, float]:
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="smoke", choices=["smoke", "default"])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--runs", default="1,4,16", help="comma-separated stack sizes R, e.g. 1,4,16,64")
    ap.add_argument("--seq-runs", type=int, default=2, help="sequential runs measured for the single-run path")
    ap.add_argument("--repeat", type=int, default=1, help="time each row this many times, keep the fastest")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    root = build_world(resolve(f"data/synthetic_{args.size}"), WorldConfig(size=args.size), progress=False)
    base = RunConfig(name="grid", data=DataConfig(data_dir=str(root)),
                     train=TrainConfig(epochs=args.epochs, batch_size=args.batch_size, step_size=10, seed=1))
    n = len(load_run_data(base.data)["train"])  # read the features once, outside every timing
    dev = torch.device(args.device)
    print(f"device {args.device}, world {args.size} ({n} train videos), {args.epochs} epoch(s), batch {args.batch_size}, "
          f"torch threads {torch.get_num_threads()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        reference_single_run(base, tmp, dev)  # warm-up (allocator, kernels, lazy imports), not timed
        old_train = old_total = seq_train = seq_e2e = 0.0
        for k in range(args.repeat):
            t, total = reference_single_run(base, tmp, dev)
            old_train, old_total = max(old_train, t), total if k == 0 else min(old_total, total)
            speeds, seconds = [], 0.0
            for cfg in grid(base, args.seq_runs):
                result, s = timed(train, cfg, tmp / f"seq{k}", args.device, False)
                speeds.append(np.mean([h["videos_per_s"] for h in result.history()]))
                seconds += s
            seq_train, seq_e2e = max(seq_train, float(np.mean(speeds))), max(seq_e2e, n * args.epochs * args.seq_runs / seconds)
        print(f"single run, before batching (reference copy): {old_train:7.1f} videos/s training, "
              f"{n * args.epochs / old_total:7.1f} end to end")
        print(f"single run, now (train = stack of one)      : {seq_train:7.1f} videos/s training, {seq_e2e:7.1f} end to end"
              f"  -> now/before {seq_train / old_train:.2f}x training, {seq_e2e * old_total / (n * args.epochs):.2f}x end to end")
        print(f"{'R':>4} | {'batched train':>13} | {'sequential':>10} | {'speed-up':>8} || {'batched e2e':>11} | "
              f"{'sequential':>10} | {'speed-up':>8}   (aggregate videos/s)")
        for r in (int(x) for x in args.runs.split(",")):
            b_train = b_e2e = 0.0
            for k in range(args.repeat):
                results, seconds = timed(train_group, grid(base, r), tmp / f"stack{r}-{k}", args.device, False)
                b_train = max(b_train, r * float(np.mean([h["videos_per_s"] for h in results[0].history()])))
                b_e2e = max(b_e2e, r * n * args.epochs / seconds)
            print(f"{r:>4} | {b_train:13.1f} | {seq_train:10.1f} | {b_train / seq_train:7.2f}x || {b_e2e:11.1f} | "
                  f"{seq_e2e:10.1f} | {b_e2e / seq_e2e:7.2f}x")


if __name__ == "__main__":
    main()
