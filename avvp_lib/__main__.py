"""Command line: ``python -m avvp_lib {synth,train,eval,reproduce,extract} ...``."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml


def _synth(args: argparse.Namespace) -> None:
    from avvp_lib.synthetic.world import WorldConfig, build_world

    out = build_world(args.out, WorldConfig(size=args.size, seed=args.seed))
    print(f"synthetic world ({args.size}, seed {args.seed}) in {out}")


def _load_config(path: str):
    from avvp_lib.config import from_dict

    text = Path(path).read_text()
    return from_dict(yaml.safe_load(text) if path.endswith((".yaml", ".yml")) else json.loads(text))


def _train(args: argparse.Namespace) -> None:
    from avvp_lib.train import train

    result = train(_load_config(args.config), args.runs_dir, args.device)
    print(json.dumps({"run_dir": str(result.run_dir), "best_epoch": result.best_epoch, "test": result.test}, indent=2))


def _eval(args: argparse.Namespace) -> None:
    import torch

    from avvp_lib.train import build_han, split_inputs, load_result, load_run_data, pick_device, predict, score

    result = load_result(Path(args.run))
    data = load_run_data(result.config.data)
    dev = pick_device(args.device)
    model = build_han(result.config, data["train"]).to(dev)
    model.load_state_dict(torch.load(Path(args.run) / "best.pt", map_location=dev))
    split = data[args.split]
    scores = score(predict(model, *split_inputs(split, result.config.data, dev)), split, args.inference or result.config.train.inference)
    print(json.dumps(scores, indent=2))


def _reproduce(args: argparse.Namespace) -> None:
    from avvp_lib.executors import ExecutorOptions
    from avvp_lib.experiments import get_profile
    from avvp_lib.reproduce import reproduce

    options = ExecutorOptions(max_runs=args.max_runs, gpus_per_stack=args.gpus_per_stack,
                              slurm_partition=args.slurm_partition, ray_address=args.ray_address)
    frames = reproduce(get_profile(args.profile, args.data_dir), args.device, executor=args.executor, options=options)
    print(f"{len(frames)} tables written to outputs/tables/{args.profile}/")


def _extract(args: argparse.Namespace) -> None:
    from avvp_lib.extract.pipeline import ExtractConfig, extract_directory

    cfg = ExtractConfig(kinds=tuple(args.kinds.split(",")), frame_rule=args.frame_rule, clip_pretrained=args.clip_pretrained,
                        vggish_weights=args.vggish_weights, device=args.device, batch_size=args.batch_size)
    summary = extract_directory(args.videos, args.out, cfg)
    print(json.dumps(summary, indent=2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m avvp_lib", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("synth", help="build a synthetic LLP-like world")
    p.add_argument("--size", default="default", choices=["smoke", "default", "llp-size"])
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_synth)
    p = sub.add_parser("train", help="train one run from a JSON/YAML RunConfig")
    p.add_argument("--config", required=True)
    p.add_argument("--runs-dir", default=None)
    p.add_argument("--device", default=None)
    p.set_defaults(func=_train)
    p = sub.add_parser("eval", help="score a finished run's best checkpoint")
    p.add_argument("--run", required=True, help="outputs/runs/.../<name>-<hash>")
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("--inference", default=None, choices=["fused", "per_modality"])
    p.add_argument("--device", default=None)
    p.set_defaults(func=_eval)
    p = sub.add_parser("reproduce", help="train every table's runs and write the tables")
    p.add_argument("--profile", default="default", choices=["smoke", "default", "llp"])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--device", default=None)
    p.add_argument("--executor", default="local", choices=["local", "slurm", "ray"],
                   help="where stacks of runs train: this process, Slurm jobs (submitit), or Ray tasks")
    p.add_argument("--max-runs", type=int, default=16, help="runs trained together as one stacked model")
    p.add_argument("--gpus-per-stack", type=int, default=0, help="GPUs per Slurm job / Ray task")
    p.add_argument("--slurm-partition", default=None)
    p.add_argument("--ray-address", default=None, help="an existing Ray cluster (default: start a local one)")
    p.set_defaults(func=_reproduce)
    p = sub.add_parser("extract", help="features from a directory of videos")
    p.add_argument("--videos", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--kinds", default="clip_vitb16,vggish")
    p.add_argument("--frame-rule", default="middle", choices=["middle", "mean"])
    p.add_argument("--clip-pretrained", default=None, help="open_clip tag or local checkpoint (default: openai)")
    p.add_argument("--vggish-weights", default=None, help="local VGGish state_dict (.pt)")
    p.add_argument("--device", default=None)
    p.add_argument("--batch-size", type=int, default=64)
    p.set_defaults(func=_extract)
    args = parser.parse_args(argv)
    from avvp_lib.clip_encoder import WeightsUnavailable

    try:
        args.func(args)
    except (KeyError, ValueError, FileNotFoundError, WeightsUnavailable) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
