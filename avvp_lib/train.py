"""The trainer: whole splits in memory as tensors, batches by index, pluggable ``Targets``.

Each run writes ``outputs/runs/<name>-<config hash>/``: ``config.json``, ``metrics.csv``
(per epoch), ``best.pt``, ``predictions.npz`` (float32 probabilities for train/val/test, used by PLD),
and ``results.json`` (final val and test scores) last. A run whose ``results.json`` exists is
loaded, not recomputed; an interrupted run resumes from ``last.pt`` (written every epoch).
Every file is written to a temporary name and renamed, so no half-written result survives.
"""
from __future__ import annotations

import copy
import csv
import functools
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from avvp_lib import __version__
from avvp_lib.atomic import atomic_torch_save, atomic_write
from avvp_lib.config import DataConfig, RunConfig, config_hash, from_dict, to_dict
from avvp_lib.data.feature_files import write_missing_csv
from avvp_lib.data.splits import LLPSplit, load_splits
from avvp_lib.devices import pick_device
from avvp_lib.methods import build_targets
from avvp_lib.metrics import binarize, parse_scores
from avvp_lib.models import HANOutput, build_model
from avvp_lib.paths import OUTPUTS_DIR, resolve
from avvp_lib.runs import begin_run, data_version, reusable, run_fingerprint, run_lock

SPLITS = ("train", "val", "test")


def load_run_data(data: DataConfig, extra_kinds: tuple[str, ...] = ()) -> dict[str, LLPSplit]:
    """Train/val/test of ``data`` with its feature kinds (and ``extra_kinds``), read once per process and data version.

    With ``data.missing == "skip"`` every split keeps the videos that have all of those kinds.
    """
    kinds = tuple(dict.fromkeys((data.audio, *data.visual, *extra_kinds)))
    return _load_run_data(data, kinds, data_version(data, kinds))


def run_kinds(config: RunConfig) -> tuple[str, ...]:
    """Feature kinds a run reads: its model inputs, then the CLIP kind its pseudo labels come from."""
    clip = getattr(config.supervision, "clip_kind", None)
    return tuple(dict.fromkeys((config.data.audio, *config.data.visual, *([clip] if clip else []))))


def run_data(config: RunConfig) -> dict[str, LLPSplit]:
    """The splits a run trains and is scored on; skipping missing videos drops those lacking any of ``run_kinds``."""
    return load_run_data(config.data, run_kinds(config) if config.data.missing == "skip" else ())


@functools.lru_cache(maxsize=4)
def _load_run_data(data: DataConfig, kinds: tuple[str, ...], version: str) -> dict[str, LLPSplit]:
    return load_splits(resolve(data.data_dir), kinds,
                       annotations_dir=resolve(data.annotations_dir) if data.annotations_dir else None, progress=False,
                       missing=data.missing, eval_audio=resolve(data.eval_audio) if data.eval_audio else None)


def split_inputs(split: LLPSplit, data: DataConfig, device: torch.device) -> tuple[torch.Tensor, list[torch.Tensor]]:
    audio = torch.as_tensor(split.features[data.audio], device=device)
    return audio, [torch.as_tensor(split.features[k], device=device) for k in data.visual]


def build_backbone(config: RunConfig, audio_dim: int, visual_dims: tuple[int, ...]) -> torch.nn.Module:
    """The run's model (``config.model``: a registry name and its options) for these input sizes."""
    return build_model(config.model.name, audio_dim=audio_dim, visual_dims=visual_dims, **config.model.kwargs())


def build_han(config: RunConfig, train: LLPSplit) -> torch.nn.Module:
    """The run's model sized by the features of its train split."""
    return build_backbone(config, train.features[config.data.audio].shape[-1],
                          tuple(train.features[k].shape[-1] for k in config.data.visual))


@torch.no_grad()
def predict(model: torch.nn.Module, audio: torch.Tensor, visual: list[torch.Tensor], batch: int = 512) -> dict[str, np.ndarray]:
    """Probabilities for every video: frame [N, T, 2, C], global/audio/visual [N, C]."""
    model.eval()
    outs: list[HANOutput] = [model(audio[i:i + batch], [v[i:i + batch] for v in visual])
                             for i in range(0, len(audio), batch)]
    cat = lambda name: torch.cat([getattr(o, name) for o in outs]).float().cpu().numpy()  # noqa: E731
    return {"frame": cat("frame_prob"), "global": cat("global_prob"), "audio": cat("audio_prob"), "visual": cat("visual_prob")}


def score(pred: dict[str, np.ndarray], split: LLPSplit, rule: str = "fused") -> dict[str, float]:
    """The ten LLP metrics of predicted probabilities against the split's dense GT."""
    pa, pv = binarize(pred["frame"], pred["global"], pred["audio"], pred["visual"], rule=rule)
    return parse_scores(pa, pv, split.gt_audio, split.gt_visual)


@dataclass
class RunResult:
    run_dir: Path
    config: RunConfig
    val: dict[str, float]
    test: dict[str, float]
    best_epoch: int

    def predictions(self, split: str) -> dict[str, np.ndarray]:
        with np.load(self.run_dir / "predictions.npz") as z:
            return {k.split("/", 1)[1]: z[k].astype(np.float32) for k in z.files if k.startswith(split + "/")}

    def history(self) -> list[dict[str, float]]:
        with (self.run_dir / "metrics.csv").open() as f:
            return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def run_dir_for(config: RunConfig, runs_dir: str | Path | None = None) -> Path:
    """``<runs_dir>/<name>-<hash>``, or a finished run of the same config under another name."""
    root, h = resolve(runs_dir or OUTPUTS_DIR / "runs"), config_hash(config)
    done = sorted(p.parent for p in root.glob(f"*-{h}/results.json"))
    return done[0] if done else root / f"{config.name}-{h}"


def load_result(run_dir: Path) -> RunResult:
    res = json.loads((run_dir / "results.json").read_text())
    return RunResult(run_dir, from_dict(res["config"]), res["val"], res["test"], res["best_epoch"])


@dataclass
class BuildContext:
    """What a supervision builder may use: the run's config, its train split, and the trainer."""

    config: RunConfig
    train: LLPSplit
    runs_dir: Path
    device: torch.device
    progress: bool = True
    retrain: bool = False

    def run(self, config: RunConfig) -> RunResult:
        """Train (or load) a prerequisite run, e.g. the eq. 9 model that PLD denoises with."""
        return train(config, self.runs_dir, str(self.device), self.progress, self.retrain)

    def load_model(self, result: RunResult) -> torch.nn.Module:
        """The saved model (``best.pt``) of a finished prerequisite run, on ``device``, in eval mode."""
        model = build_han(result.config, self.train).to(self.device)
        model.load_state_dict(torch.load(result.run_dir / "best.pt", map_location=self.device, weights_only=True))
        return model.eval()

    def train_inputs(self) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The train split's model inputs (audio, one tensor per visual kind) on ``device``."""
        return split_inputs(self.train, self.config.data, self.device)


def selection_score(val: dict[str, float], metric: str, epoch: int) -> float:
    """Model-selection score of an epoch: a validation metric, or the epoch itself for ``"last"``."""
    return float(epoch) if metric == "last" else val[metric]


def _write_history(path: Path, history: list[dict[str, float]]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(history[0]))
    w.writeheader()
    w.writerows(history)
    atomic_write(path, buf.getvalue())


def train(config: RunConfig, runs_dir: str | Path | None = None, device: str | None = None,
          progress: bool = True, retrain: bool = False) -> RunResult:
    """Train ``config`` (or load its finished run) and return its scores.

    One process at a time trains a run folder (``runs.run_lock``). A finished run made from other
    data or another text encoder raises ``runs.StaleRunError``; ``retrain`` trains it again instead.
    """
    dev = pick_device(device)
    run_dir = run_dir_for(config, runs_dir)
    with run_lock(run_dir):
        return _train(config, run_dir, dev, progress, retrain)


def _train(config: RunConfig, run_dir: Path, dev: torch.device, progress: bool, retrain: bool) -> RunResult:
    data = load_run_data(config.data)
    fingerprint = run_fingerprint(config, data)
    if (run_dir / "results.json").is_file() and reusable(run_dir, fingerprint, retrain):
        return load_result(run_dir)
    begin_run(run_dir, fingerprint, retrain)
    atomic_write(run_dir / "config.json", json.dumps(to_dict(config), indent=2))
    tc = config.train
    torch.manual_seed(tc.seed)
    data = run_data(config)
    for s in SPLITS:
        if data[s].missing:
            write_missing_csv(run_dir / f"missing_{s}.csv", data[s].missing)
    ctx = BuildContext(config, data["train"], run_dir.parent, dev, progress, retrain)
    targets = build_targets(config.supervision, ctx).to(dev)
    inputs = {s: split_inputs(data[s], config.data, dev) for s in SPLITS}
    torch.manual_seed(tc.seed)
    model = build_han(config, data["train"]).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=tc.lr)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=tc.step_size, gamma=tc.gamma)
    state = {"epoch": 0, "best_score": -1.0, "best_epoch": -1, "best_model": None, "history": []}
    last = run_dir / "last.pt"
    if last.is_file():  # resume an interrupted run
        state = torch.load(last, map_location=dev, weights_only=False)
        model.load_state_dict(state.pop("model"))
        opt.load_state_dict(state.pop("optimizer"))
        sched.load_state_dict(state.pop("scheduler"))
        torch.set_rng_state(state.pop("rng"))
    n = len(data["train"])
    audio, visual = inputs["train"]
    bar = tqdm(range(state["epoch"], tc.epochs), desc=config.name, disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        t0, losses = time.time(), []
        targets.start_epoch(epoch)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(tc.seed * 1000 + epoch)).to(dev)
        for i in range(0, n, tc.batch_size):
            idx = order[i:i + tc.batch_size]
            loss = targets.loss(model(audio[idx], [v[idx] for v in visual]), idx)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        sched.step()
        val = score(predict(model, *inputs["val"]), data["val"], tc.inference)
        state["history"].append({"epoch": epoch + 1, "loss": float(np.mean(losses)),
                                 "videos_per_s": n / (time.time() - t0), **{f"val_{k}": v for k, v in val.items()}})
        selected = selection_score(val, tc.select_metric, epoch + 1)
        if selected > state["best_score"]:
            state.update(best_score=selected, best_epoch=epoch + 1, best_model=copy.deepcopy(model.state_dict()))
        state["epoch"] = epoch + 1
        bar.set_postfix(loss=f"{state['history'][-1]['loss']:.3f}", val=f"{selected:.1f}")
        atomic_torch_save({**state, "model": model.state_dict(), "optimizer": opt.state_dict(),
                           "scheduler": sched.state_dict(), "rng": torch.get_rng_state()}, last)
        _write_history(run_dir / "metrics.csv", state["history"])
    model.load_state_dict(state["best_model"])
    preds = {s: predict(model, *inputs[s]) for s in SPLITS}
    buf = io.BytesIO()
    np.savez_compressed(buf, **{f"{s}/{k}": v.astype(np.float32) for s, p in preds.items() for k, v in p.items()})
    atomic_write(run_dir / "predictions.npz", buf.getvalue())
    atomic_torch_save(state["best_model"], run_dir / "best.pt")
    result = {"config": to_dict(config), "best_epoch": state["best_epoch"], "device": str(dev), "fingerprint": fingerprint,
              "versions": {"avvp_lib": __version__, "torch": torch.__version__},
              "videos": {s: [len(data[s]), data[s].total] for s in SPLITS},  # [scored, in the split's CSV]
              "val": score(preds["val"], data["val"], tc.inference), "test": score(preds["test"], data["test"], tc.inference)}
    atomic_write(run_dir / "results.json", json.dumps(result, indent=2))
    last.unlink(missing_ok=True)
    return load_result(run_dir)
