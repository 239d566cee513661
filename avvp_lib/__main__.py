"""Command line: ``python -m avvp_lib {synth,train,eval,reproduce,clap-prompts,extract,parse} ...``.

Relative paths, in every argument and in config files, are taken from the repository root
(never from the current directory), as everywhere in the bundle. Every error the bundle expects
(bad input files, configs, devices, missing weights, a stale run) is one line on stderr, exit 2.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from avvp_lib.clip_encoder import WeightsUnavailable
from avvp_lib.config import ConfigError, from_dict
from avvp_lib.devices import pick_device
from avvp_lib.experiments import PROFILES
from avvp_lib.paths import resolve


def _path(value: str) -> str:
    """A path argument, relative ones taken from the repository root."""
    return str(resolve(value))


def _synth(args: argparse.Namespace) -> None:
    from avvp_lib.synthetic.world import WorldConfig, build_world

    size = args.size or ("llp-size" if args.labels_from else "default")
    labels_from = str(resolve(args.labels_from)) if args.labels_from else None
    out = build_world(args.out, WorldConfig(size=size, seed=args.seed, labels_from=labels_from,
                                            features=not args.labels_only))
    source = f", labels from {labels_from}" if labels_from else ""
    print(f"synthetic world ({size}, seed {args.seed}{source}) in {out}")


def load_config(path: Path):
    """A ``RunConfig`` from a JSON or YAML file; every problem is a ``ConfigError`` naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text (byte {err.start}); re-save it as UTF-8") from None
    if not text.strip():
        raise ConfigError(f"{path}: empty config file; it needs at least a 'name' (see configs in README)")
    try:
        data = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    except (yaml.YAMLError, json.JSONDecodeError) as err:
        raise ConfigError(f"{path}: not valid {'YAML' if path.suffix in ('.yaml', '.yml') else 'JSON'}: "
                          f"{' '.join(str(err).split())}") from None
    try:
        return from_dict(data)
    except KeyError as err:
        raise ConfigError(f"{path}: {err.args[0]}") from None
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def _train(args: argparse.Namespace) -> None:
    from avvp_lib.train import train

    result = train(load_config(args.config), args.runs_dir, args.device, retrain=args.retrain)
    print(json.dumps({"run_dir": str(result.run_dir), "best_epoch": result.best_epoch, "test": result.test}, indent=2))


def _eval(args: argparse.Namespace) -> None:
    import dataclasses

    import torch

    from avvp_lib.train import build_han, load_result, pick_device, predict, run_data, score, split_inputs

    result = load_result(args.run)
    config = result.config
    if args.eval_audio:
        config = config.replace(data=dataclasses.replace(config.data, eval_audio=args.eval_audio))
    data = run_data(config)
    dev = pick_device(args.device)
    model = build_han(result.config, data["train"]).to(dev)
    model.load_state_dict(torch.load(args.run / "best.pt", map_location=dev))
    split = data[args.split]
    scores = score(predict(model, *split_inputs(split, result.config.data, dev)), split, args.inference or result.config.train.inference)
    print(json.dumps(scores, indent=2))


def _reproduce(args: argparse.Namespace) -> None:
    import os

    from avvp_lib.clap_encoder import TEXT_ENV
    from avvp_lib.clip_encoder import checkpoint_env
    from avvp_lib.executors import ExecutorOptions
    from avvp_lib.experiments import get_profile
    from avvp_lib.extract.pipeline import parse_checkpoints
    from avvp_lib.reproduce import reproduce

    for kind, path in parse_checkpoints(args.clip_checkpoint):  # read by the PLG / LSLD text encoders
        os.environ[checkpoint_env(kind)] = path
    if args.clap_text:  # read by the CLAP text encoder (LSLD's official audio labels, VPLAN + LSLD)
        os.environ[TEXT_ENV] = args.clap_text

    profile = get_profile(args.profile, args.data_dir, args.missing, args.eval_audio)
    options = ExecutorOptions(max_runs=args.max_runs, gpus_per_stack=args.gpus_per_stack,
                              slurm_partition=args.slurm_partition, ray_address=args.ray_address)
    frames = reproduce(profile, args.device, executor=args.executor, options=options, retrain=args.retrain)
    print(f"{len(frames)} tables written to outputs/tables/{args.profile}/")


def _clap_prompts(args: argparse.Namespace) -> None:
    from avvp_lib.atomic import atomic_write
    from avvp_lib.experiments import get_profile
    from avvp_lib.reproduce import clap_texts

    texts = clap_texts(get_profile(args.profile, args.data_dir), args.kind)
    if not texts:
        raise ValueError(f"no run of profile {args.profile!r} makes labels from {args.kind!r} features")
    atomic_write(args.out, "".join(t + "\n" for t in texts))
    print(f"{len(texts)} {args.kind} prompts in {args.out}; embed them where laion_clap is installed:\n"
          f"  .venv-clap/bin/python scripts/clap_text_embeddings.py {args.out} --checkpoint 630k-audioset-best.pt "
          f"--out clap_text.npz\nthen set AVVP_CLAP_TEXT=clap_text.npz (or reproduce --clap-text clap_text.npz)")


def _extract(args: argparse.Namespace) -> None:
    from avvp_lib.extract.pipeline import ExtractConfig, extract_directory, parse_checkpoints

    cfg = ExtractConfig(kinds=tuple(args.kinds.split(",")), clip_checkpoints=parse_checkpoints(args.clip_checkpoint),
                        vggish_weights=args.vggish_weights, device=args.device, batch_size=args.batch_size)
    summary = extract_directory(args.videos, args.out, cfg, retry_failed=args.retry_failed)
    print(json.dumps(summary, indent=2))


def _parse(args: argparse.Namespace) -> None:
    from avvp_lib.extract.pipeline import parse_checkpoints
    from avvp_lib.parse import parse_videos
    from avvp_lib.paths import OUTPUTS_DIR

    out = args.out or OUTPUTS_DIR / "parse" / Path(args.run).name
    summary = parse_videos(args.videos, args.run, out, clip_checkpoints=dict(parse_checkpoints(args.clip_checkpoint)),
                           vggish_weights=args.vggish_weights, device=args.device)
    print(json.dumps(summary, indent=2))


def _add_weights_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--clip-checkpoint", action="append", default=[], metavar="KIND=PATH",
                   help="local CLIP weights per kind, e.g. clip_vitb16=ViT-B-16.pt (OpenAI TorchScript or open_clip "
                        "state dict); repeat for each kind (default: $AVVP_CLIP_CHECKPOINT_VITB16 / ..._VITB32)")
    p.add_argument("--vggish-weights", default=None, type=_path, help="local VGGish state_dict (.pt)")
    p.add_argument("--device", default=None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m avvp_lib", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("synth", help="build a synthetic LLP-like world")
    p.add_argument("--size", default=None, choices=["smoke", "default", "llp-size"],
                   help="default: llp-size with --labels-from, else default")
    p.add_argument("--out", required=True, type=resolve)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--labels-from", default=None, metavar="DIR",
                   help="real LLP annotation CSVs: real ids, weak labels and val/test GT; only train dense labels "
                        "and features are generated")
    p.add_argument("--labels-only", action="store_true", help="write the annotation CSVs only, no features")
    p.set_defaults(func=_synth)
    p = sub.add_parser("train", help="train one run from a JSON/YAML RunConfig")
    p.add_argument("--config", required=True, type=resolve)
    p.add_argument("--runs-dir", default=None, type=resolve)
    p.add_argument("--retrain", action="store_true",
                   help="retrain a finished run whose data or text encoder changed, instead of stopping")
    p.add_argument("--device", default=None)
    p.set_defaults(func=_train)
    p = sub.add_parser("eval", help="score a finished run's best checkpoint")
    p.add_argument("--run", required=True, type=resolve, help="outputs/runs/.../<name>-<hash>")
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("--inference", default=None, choices=["fused", "per_modality"])
    p.add_argument("--eval-audio", default=None, type=_path, help="score audio against this eval CSV instead (the legacy 2020 "
                   "AVVP_eval_audio.csv, matched by exact filename as upstream)")
    p.add_argument("--device", default=None)
    p.set_defaults(func=_eval)
    p = sub.add_parser("reproduce", help="train every table's runs and write the tables")
    p.add_argument("--profile", default="default", choices=sorted(PROFILES))
    p.add_argument("--data-dir", default=None, type=_path)
    p.add_argument("--missing", default=None, choices=["error", "skip"],
                   help="videos without feature files: refuse, or score the present subset (profile default; llp: skip)")
    p.add_argument("--eval-audio", default=None, type=_path, help="score audio against this eval CSV (the legacy 2020 file)")
    p.add_argument("--clip-checkpoint", action="append", default=[], metavar="KIND=PATH",
                   help="local CLIP weights for the pseudo-label text encoders, per kind (real LLP only)")
    p.add_argument("--clap-text", default=None, type=_path, metavar="NPZ",
                   help="CLAP text embeddings made beforehand (clap-prompts, then scripts/clap_text_embeddings.py; "
                        "default: $AVVP_CLAP_TEXT, else $AVVP_CLAP_CHECKPOINT with laion_clap installed; real LLP only)")
    p.add_argument("--retrain", action="store_true",
                   help="retrain finished runs whose data or text encoder changed, instead of stopping")
    p.add_argument("--device", default=None)
    p.add_argument("--executor", default="local", choices=["local", "slurm", "ray"],
                   help="where stacks of runs train: this process, Slurm jobs (submitit), or Ray tasks")
    p.add_argument("--max-runs", type=int, default=None,
                   help="runs trained together as one stacked model (default: 4 on a CPU, 16 on a GPU)")
    p.add_argument("--gpus-per-stack", type=int, default=0, help="GPUs per Slurm job / Ray task")
    p.add_argument("--slurm-partition", default=None)
    p.add_argument("--ray-address", default=None, help="an existing Ray cluster (default: start a local one)")
    p.set_defaults(func=_reproduce)
    p = sub.add_parser("clap-prompts", help="list the CLAP texts a profile's runs encode, to embed them where "
                                             "laion_clap is installed (scripts/clap_text_embeddings.py)")
    p.add_argument("--profile", default="llp", choices=sorted(PROFILES))
    p.add_argument("--data-dir", default=None, type=_path)
    p.add_argument("--kind", default="clap_audioset", help="the CLAP feature kind the labels are made from")
    p.add_argument("--out", required=True, type=_path, help="text file, one prompt per line")
    p.set_defaults(func=_clap_prompts)
    p = sub.add_parser("extract", help="features from a directory of videos")
    p.add_argument("--videos", required=True, type=resolve)
    p.add_argument("--out", required=True, type=resolve)
    p.add_argument("--kinds", default="clip_vitb16,vggish")
    _add_weights_args(p)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--retry-failed", action="store_true", help="retry the videos failures.csv lists")
    p.set_defaults(func=_extract)
    p = sub.add_parser("parse", help="parse your own videos with a trained run: events.csv and a timeline per video")
    p.add_argument("videos", nargs="+", type=_path, help="video files or folders of videos")
    p.add_argument("--run", required=True, type=_path, help="a finished run folder (outputs/runs/<profile>/<name>-<hash>)")
    p.add_argument("--out", default=None, type=_path, help="output folder (default: outputs/parse/<run folder name>)")
    _add_weights_args(p)
    p.set_defaults(func=_parse)
    args = parser.parse_args(argv)
    from avvp_lib.runs import RunLockedError

    try:
        if getattr(args, "device", None):
            pick_device(args.device)  # refuse a device this machine lacks before any work
        args.func(args)
    except KeyError as err:
        print(f"error: {err.args[0] if err.args else err}", file=sys.stderr)
        return 2
    except (ValueError, OSError, yaml.YAMLError, WeightsUnavailable, RunLockedError) as err:
        print(f"error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
