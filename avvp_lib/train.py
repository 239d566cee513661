"""The trainer: whole splits in memory as tensors, batches by index, pluggable ``Targets``.

Each run writes ``outputs/runs/<name>-<config hash>/``: ``config.json``, ``metrics.csv``
(per epoch), ``best.pt``, ``predictions.npz`` (float32 probabilities for train/val/test, used by PLD),
and ``results.json`` (final val and test scores) last. A run whose ``results.json`` exists is
loaded, not recomputed; an interrupted run resumes from ``last.pt`` (written at the end of an epoch
once ``CHECKPOINT_SECONDS`` have passed since the last one).
Every file is written to a temporary name and renamed, so no half-written result survives.

The unit of work is a stack of runs: ``train_group`` trains R runs that share data, model and
batch schedule (``stack_key``) as one ``StackedHAN`` whose parameters carry a leading run
dimension; each run keeps its own init seed, shuffling, dropout generator, learning rate and
schedule, ``Targets``, model selection, checkpoint and output folder, so a run's result does not
depend on the runs stacked with it. ``train(config)`` is the stack of one; ``train_many`` groups
a grid into stacks.
"""
from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import math
import time
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from avvp_lib import __version__
from avvp_lib.atomic import atomic_torch_save, atomic_write
from avvp_lib.config import DataConfig, RunConfig, config_hash, from_dict, to_dict
from avvp_lib.data.feature_files import write_missing_csv
from avvp_lib.data.splits import LLPSplit, load_splits
from avvp_lib.devices import pick_device, stack_size
from avvp_lib.data.features import load_features
from avvp_lib.methods import build_targets, requires, with_prerequisites
from avvp_lib.metrics import binarize, parse_scores
from avvp_lib.models import HANOutput, build_model
from avvp_lib.models.stacked_han import StackedHAN
from avvp_lib.optim import StackedAdam, step_lr
from avvp_lib.paths import OUTPUTS_DIR, resolve
from avvp_lib.runs import begin_run, data_version, reusable, run_fingerprint, run_lock
from avvp_lib.supervision import Targets
from avvp_lib.synthetic.text_encoder import WorldText, world_text
from avvp_lib.text_encoders import TextEncoder, text_encoder_for

SPLITS = ("train", "val", "test")
STACKABLE_MODELS = ("han",)  # backbones with a stacked implementation; others train one run at a time
# Seconds of training an interrupt may lose: ``last.pt`` (~70 MB per default HAN run, ~0.3 s to
# write here) is written after an epoch once this long has passed since the stack's last write, so
# a short run never pays for it; resuming is exact whenever it was written (0: after every epoch).
CHECKPOINT_SECONDS = 60.0


def load_run_data(data: DataConfig, extra_kinds: tuple[str, ...] = ()) -> dict[str, LLPSplit]:
    """Train/val/test of ``data`` with its feature kinds (and ``extra_kinds``), read once per process and data version.

    With ``data.missing == "skip"`` every split keeps the videos that have all of those kinds.
    """
    kinds = tuple(dict.fromkeys((data.audio, *data.visual, *extra_kinds)))
    return _load_run_data(data, kinds, data_version(data, kinds))


def run_data(config: RunConfig) -> dict[str, LLPSplit]:
    """The splits a run trains and is scored on; skipping missing videos drops those lacking any of its feature kinds."""
    return load_run_data(config.data, config.feature_kinds() if config.data.missing == "skip" else ())


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


def _numpy(out: HANOutput) -> dict[str, np.ndarray]:
    get = lambda name: getattr(out, name).float().cpu().numpy()  # noqa: E731
    return {"frame": get("frame_prob"), "global": get("global_prob"), "audio": get("audio_prob"), "visual": get("visual_prob")}


def _cat(outs: list[HANOutput], dim: int) -> HANOutput:
    return HANOutput(**{f.name: torch.cat([getattr(o, f.name) for o in outs], dim) for f in fields(HANOutput)})


@torch.no_grad()
def predict(model: torch.nn.Module, audio: torch.Tensor, visual: list[torch.Tensor], batch: int = 512) -> dict[str, np.ndarray]:
    """Probabilities for every video: frame [N, T, 2, C], global/audio/visual [N, C]."""
    model.eval()
    return _numpy(_cat([model(audio[i:i + batch], [v[i:i + batch] for v in visual])
                        for i in range(0, len(audio), batch)], 0))


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
    """A method's only door to data and to other runs (``methods.Method`` builders and segment labels).

    ``splits`` holds the loaded splits the method may label (the trainer: train, val and test; a
    label-quality table: the one it scores); ``features`` reads any feature kind of them, by segment
    rule, from the run's data; ``text_encoder`` is the one the data decides (``world``, read once);
    ``run`` trains or loads a prerequisite run (``methods.Method.requires``).
    """

    config: RunConfig
    splits: dict[str, LLPSplit]
    runs_dir: Path
    device: torch.device
    progress: bool = True
    retrain: bool = False

    @functools.cached_property
    def world(self) -> WorldText | None:
        """The synthetic world's seed and text parameters, or None for real features (``synthetic.text_encoder.world_text``)."""
        return world_text(resolve(self.config.data.data_dir))

    @property
    def train(self) -> LLPSplit:
        return self.split("train")

    def split(self, name: str) -> LLPSplit:
        if name not in self.splits:
            raise KeyError(f"this build context holds the splits {sorted(self.splits)}, not {name!r}")
        return self.splits[name]

    def features(self, kind: str, split: str = "train", segment_rule: str = "mean") -> np.ndarray:
        """``kind`` features [N, T, D] of the split's videos, each segment by ``segment_rule`` (cached on disk)."""
        return load_features(resolve(self.config.data.data_dir), kind, self.split(split).video_ids, segment_rule,
                             progress=False)

    def text_encoder(self, kind: str) -> TextEncoder:
        """The text encoder matching ``kind`` (CLIP or CLAP) features of this data (``text_encoders.text_encoder_for``)."""
        return text_encoder_for(self.world, kind)

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


def _write_predictions(path: Path, preds: dict[str, dict[str, np.ndarray]]) -> None:
    buf = io.BytesIO()
    np.savez_compressed(buf, **{f"{s}/{k}": v.astype(np.float32) for s, p in preds.items() for k, v in p.items()})
    atomic_write(path, buf.getvalue())


# ---------------------------------------------------------------- stacks of runs
def stack_key(config: RunConfig) -> tuple:
    """What the runs of one stack share: data (and, skipping missing videos, the kinds that decide which
    videos stay), model, epochs and batch size; everything else is per run."""
    kinds = config.feature_kinds() if config.data.missing == "skip" else ()
    return config.data, kinds, config.model, config.train.epochs, config.train.batch_size


def stackable(config: RunConfig) -> bool:
    """Whether the backbone has a stacked implementation (else its runs train one at a time)."""
    return config.model.name in STACKABLE_MODELS


class SingleRunStack(nn.Module):
    """A backbone without a stacked implementation, as a stack of one run (dropout from the global RNG).

    Its original training terms (``model.auxiliary_loss``: MGN's class-token cross-entropies, DHHN's
    guides and distillation) and learning rates (``model.param_groups``: DHHN's guides) are kept under
    every supervision method: this bundle's reading, the papers that train other backbones with
    VPLAN or LSLD labels (VPLAN Table V, LSLD Table 5) replace the targets, not the backbone's loss.
    """

    num_runs = 1

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model, self.latest = model, None

    def forward(self, audio: Tensor, visual: list[Tensor], shared: bool = False,
                generators: list[torch.Generator] | None = None) -> HANOutput:
        if not shared:
            audio, visual = audio[0], [v[0] for v in visual]
        out = self.model(audio, visual)
        self.latest = out if self.training else None  # the backbone's own output, for auxiliary_loss
        return HANOutput(**{f.name: getattr(out, f.name).unsqueeze(0) for f in fields(HANOutput)})

    def auxiliary_loss(self, video_label: Tensor) -> Tensor | None:
        """The backbone's own extra terms on the latest training forward (None when it has none)."""
        if not hasattr(self.model, "auxiliary_loss"):
            return None
        return self.model.auxiliary_loss(self.latest, video_label)

    def lr_scales(self) -> list[float]:
        """Each parameter's learning-rate multiplier, from ``model.param_groups`` (1 without it)."""
        if not hasattr(self.model, "param_groups"):
            return [1.0] * len(list(self.parameters()))
        scale = {id(p): g["lr"] for g in self.model.param_groups(1.0) for p in g["params"]}
        return [scale[id(p)] for p in self.parameters()]

    def run_state_dict(self, run: int) -> dict[str, Tensor]:
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def load_run_state_dict(self, run: int, state: dict[str, Tensor]) -> None:
        self.model.load_state_dict(state)


def _run_output(out: HANOutput, run: int) -> HANOutput:
    return HANOutput(**{f.name: getattr(out, f.name)[run] for f in fields(HANOutput)})


@torch.no_grad()
def predict_runs(model: StackedHAN | SingleRunStack, audio: Tensor, visual: list[Tensor], batch: int = 512) -> list[dict[str, np.ndarray]]:
    """``predict`` for every run of a stack (inputs shared by the runs), one dict per run."""
    model.eval()
    step = max(1, batch // model.num_runs)
    out = _cat([model(audio[i:i + step], [v[i:i + step] for v in visual], shared=True)
                for i in range(0, len(audio), step)], 1)
    return [_numpy(_run_output(out, r)) for r in range(model.num_runs)]


@dataclass
class _Run:
    """One run of a stack: its config, folder, targets, initial (or resumed) weights and state."""

    config: RunConfig
    run_dir: Path
    targets: Targets
    model: nn.Module
    state: dict  # epoch, best_score, best_epoch, best_model, history (+ model, optimizer, rng when resumed)
    fingerprint: dict  # the run's inputs besides its config (runs.run_fingerprint)


def _prepare(config: RunConfig, run_dir: Path, data: dict[str, LLPSplit], dev: torch.device, progress: bool,
             fingerprint: dict, retrain: bool) -> _Run:
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(run_dir / "config.json", json.dumps(to_dict(config), indent=2))
    for s in SPLITS:  # this run's list of videos without features (none: no file, not an older run's)
        if data[s].missing:
            write_missing_csv(run_dir / f"missing_{s}.csv", data[s].missing)
        else:
            (run_dir / f"missing_{s}.csv").unlink(missing_ok=True)
    torch.manual_seed(config.train.seed)
    ctx = BuildContext(config, data, run_dir.parent, dev, progress, retrain)
    targets = build_targets(config.supervision, ctx).to(dev)
    torch.manual_seed(config.train.seed)
    model = build_han(config, data["train"]).to(dev)
    state = {"epoch": 0, "best_score": -1.0, "best_epoch": -1, "best_model": None, "history": []}
    if (run_dir / "last.pt").is_file():  # resume an interrupted run
        state = torch.load(run_dir / "last.pt", map_location=dev, weights_only=False)
    return _Run(config, run_dir, targets, model, state, fingerprint)


def _rng_state(gen: torch.Generator | None, dev: torch.device) -> Tensor:
    if gen is not None:
        return gen.get_state()
    return torch.cuda.get_rng_state(dev) if dev.type == "cuda" else torch.get_rng_state()


def _set_rng_state(gen: torch.Generator | None, dev: torch.device, state: Tensor) -> None:
    state = state.cpu()  # last.pt is loaded onto the training device
    if gen is not None:
        gen.set_state(state)
    elif dev.type == "cuda":
        torch.cuda.set_rng_state(state, dev)
    else:
        torch.set_rng_state(state)


def _train_epoch(model: StackedHAN | SingleRunStack, forward: nn.Module, runs: list[_Run], opt: StackedAdam,
                 train_inputs: tuple[Tensor, list[Tensor]], epoch: int, gens: list[torch.Generator] | None) -> list[float]:
    """One epoch of every run of the stack (``forward``: ``model``, maybe compiled); returns each run's
    mean batch loss (one host sync)."""
    audio, visual = train_inputs
    dev, n, tcs = audio.device, len(audio), [r.config.train for r in runs]
    lr = torch.tensor([step_lr(tc.lr, tc.step_size, tc.gamma, epoch) for tc in tcs], dtype=torch.float64)  # CPU: no float64 on MPS
    order = torch.stack([torch.randperm(n, generator=torch.Generator().manual_seed(tc.seed * 1000 + epoch))
                         for tc in tcs]).to(dev)
    loss_sum, batch_size = torch.zeros(len(runs), device=dev), tcs[0].batch_size
    for run in runs:
        run.targets.start_epoch(epoch)
    for i in range(0, n, batch_size):
        idx = order[:, i:i + batch_size]  # [R, B]: each run's own batch
        out = forward(audio[idx], [v[idx] for v in visual], generators=gens)
        losses = torch.stack([run.targets.loss(_run_output(out, r), idx[r]) for r, run in enumerate(runs)])
        extra = model.auxiliary_loss(runs[0].targets.video[idx[0]])  # the backbone's own terms (a stack of one)
        if extra is not None:
            losses = losses + extra
        opt.zero_grad()
        losses.sum().backward()  # run r's parameters only see run r's loss
        opt.step(lr)
        loss_sum += losses.detach()
    return (loss_sum / math.ceil(n / batch_size)).tolist()


def _write_outputs(run: _Run, preds: dict[str, dict[str, np.ndarray]], data: dict[str, LLPSplit], dev: torch.device) -> None:
    """predictions.npz, best.pt, then results.json (last: it marks the run finished)."""
    tc = run.config.train
    _write_predictions(run.run_dir / "predictions.npz", preds)
    atomic_torch_save(run.state["best_model"], run.run_dir / "best.pt")
    result = {"config": to_dict(run.config), "best_epoch": run.state["best_epoch"], "device": str(dev),
              "fingerprint": run.fingerprint,
              "versions": {"avvp_lib": __version__, "torch": torch.__version__},
              "videos": {s: [len(data[s]), data[s].total] for s in SPLITS},  # [scored, in the split's CSV]
              "val": score(preds["val"], data["val"], tc.inference), "test": score(preds["test"], data["test"], tc.inference)}
    atomic_write(run.run_dir / "results.json", json.dumps(result, indent=2))
    (run.run_dir / "last.pt").unlink(missing_ok=True)


def _fit(runs: list[_Run], data: dict[str, LLPSplit], dev: torch.device, progress: bool, compile: bool,
         checkpoint_seconds: float) -> None:
    """Train the runs of one stack (all at the same epoch) to the end and write each run's outputs."""
    cfg = runs[0].config
    stacked = stackable(cfg)
    if not stacked and len(runs) > 1:
        raise ValueError(f"model {cfg.model.name!r} has no stacked implementation; train its runs one at a time")
    model = StackedHAN([r.model for r in runs]) if stacked else SingleRunStack(runs[0].model)
    gens = [torch.Generator(device=dev).manual_seed(r.config.train.seed) for r in runs] if stacked else None
    if not stacked:
        torch.manual_seed(cfg.train.seed)  # its dropout draws from the global RNG
    opt = StackedAdam(list(model.parameters()), stacked=stacked, lr_scales=None if stacked else model.lr_scales())
    for i, run in enumerate(runs):
        if "model" in run.state:
            model.load_run_state_dict(i, run.state.pop("model"))
            opt.load_run_state(i, run.state.pop("optimizer"))
            _set_rng_state(gens[i] if gens else None, dev, run.state.pop("rng"))
    forward = torch.compile(model) if compile else model
    inputs = {s: split_inputs(data[s], cfg.data, dev) for s in SPLITS}
    epochs, n = cfg.train.epochs, len(data["train"])
    desc = cfg.name if len(runs) == 1 else f"{len(runs)} runs"
    last_checkpoint = time.time()
    for epoch in tqdm(range(runs[0].state["epoch"], epochs), desc=desc, disable=not progress, leave=False):
        model.train()
        t0 = time.time()
        losses = _train_epoch(model, forward, runs, opt, inputs["train"], epoch, gens)
        speed = n / (time.time() - t0)  # this run's training videos/s (the stack's is R times that)
        checkpoint = epoch + 1 < epochs and time.time() - last_checkpoint >= checkpoint_seconds
        for r, (run, pred) in enumerate(zip(runs, predict_runs(model, *inputs["val"]))):
            tc, state = run.config.train, run.state
            val = score(pred, data["val"], tc.inference)
            state["history"].append({"epoch": epoch + 1, "loss": losses[r], "videos_per_s": speed,
                                     **{f"val_{k}": v for k, v in val.items()}})
            selected = selection_score(val, tc.select_metric, epoch + 1)
            if selected >= state["best_score"]:  # a tie goes to the later epoch (AVVP-ECCV20, LSLD, MM-Pyramid: >=)
                state.update(best_score=selected, best_epoch=epoch + 1, best_model=model.run_state_dict(r))
            state["epoch"] = epoch + 1
            if checkpoint:  # (after the last epoch the outputs follow at once)
                atomic_torch_save({**state, "model": model.run_state_dict(r), "optimizer": opt.run_state(r),
                                   "rng": _rng_state(gens[r] if gens else None, dev)}, run.run_dir / "last.pt")
            _write_history(run.run_dir / "metrics.csv", state["history"])
        if checkpoint:
            last_checkpoint = time.time()
    for r, run in enumerate(runs):
        model.load_run_state_dict(r, run.state["best_model"])
    preds = {s: predict_runs(model, *inputs[s]) for s in SPLITS}
    for r, run in enumerate(runs):
        _write_outputs(run, {s: preds[s][r] for s in SPLITS}, data, dev)


def train_group(configs: list[RunConfig], runs_dir: str | Path | None = None, device: str | None = None,
                progress: bool = True, compile: bool = False, checkpoint_seconds: float | None = None,
                retrain: bool = False) -> list[RunResult]:
    """Train runs sharing one ``stack_key`` as one stack (finished runs are loaded); results in order.

    Interrupted runs resume from their own ``last.pt``; runs at different epochs train as separate stacks.
    ``compile``: ``torch.compile`` the stacked model (off by default). ``checkpoint_seconds``: training
    time between ``last.pt`` writes (None: ``CHECKPOINT_SECONDS``). One process at a
    time trains a run folder (``runs.run_lock``); a finished run made from other data or another
    text encoder raises ``runs.StaleRunError``, or, with ``retrain``, trains again.
    """
    if len({stack_key(c) for c in configs}) > 1:
        raise ValueError("train_group needs configs with one stack_key (data, model, epochs, batch size); use train_many")
    dev = pick_device(device)
    with contextlib.ExitStack() as locks:
        prepared: dict[Path, _Run] = {}
        for c in configs:
            d = run_dir_for(c, runs_dir)
            if d in prepared:
                continue
            lock = contextlib.ExitStack()  # a finished run's lock is released at once, a run to train keeps it
            lock.enter_context(run_lock(d))
            data = run_data(c)
            fingerprint = run_fingerprint(c, data)
            if (d / "results.json").is_file() and reusable(d, fingerprint, retrain):
                lock.close()
                continue
            locks.enter_context(lock)
            begin_run(d, fingerprint, retrain)
            prepared[d] = _prepare(c, d, data, dev, progress, fingerprint, retrain)  # may train a prerequisite run
        stacks: dict[int, list[_Run]] = {}
        for run in prepared.values():  # a prerequisite trained while preparing may be one of these runs
            if not (run.run_dir / "results.json").is_file():
                stacks.setdefault(run.state["epoch"], []).append(run)
        for runs in stacks.values():
            size = len(runs) if stackable(runs[0].config) else 1
            for i in range(0, len(runs), size):
                _fit(runs[i:i + size], run_data(runs[0].config), dev, progress, compile,
                     CHECKPOINT_SECONDS if checkpoint_seconds is None else checkpoint_seconds)
    return [load_result(run_dir_for(c, runs_dir)) for c in configs]


def check_finished(configs: list[RunConfig], runs_dir: str | Path | None = None, retrain: bool = False) -> None:
    """The stale-run check of ``train_group`` for the finished runs of a grid, before it is planned:
    a finished run made from other inputs raises ``runs.StaleRunError`` or, with ``retrain``, is cleared."""
    for c in configs:
        d = run_dir_for(c, runs_dir)
        if (d / "results.json").is_file():
            with run_lock(d):
                reusable(d, run_fingerprint(c, run_data(c)), retrain)


def plan_layers(configs: list[RunConfig], runs_dir: str | Path | None = None,
                max_runs: int = 16) -> list[list[list[RunConfig]]]:
    """The unfinished configs and prerequisites in layers of stacks: a layer needs only the layers before it.

    Layer d holds the runs whose longest chain of prerequisites (``methods.requires``) is d; within a
    layer, runs are grouped by ``stack_key`` into stacks of at most ``max_runs`` (one if not stackable).
    Configs equal but for their name (one ``config_hash``) are planned once.
    """
    depth: dict[RunConfig, int] = {}
    for c in with_prerequisites(configs):  # prerequisites come first, so their depth is known
        depth[c] = max((depth[p] + 1 for p in requires(c)), default=0)
    groups: dict[tuple, list[RunConfig]] = {}
    planned: set[str] = set()  # config hashes: two names for one config train once
    for c, d in depth.items():
        h = config_hash(c)
        if h not in planned and not (run_dir_for(c, runs_dir) / "results.json").is_file():
            planned.add(h)
            groups.setdefault((d, stack_key(c)), []).append(c)
    layers: list[list[list[RunConfig]]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for (d, _), group in groups.items():
        size = max_runs if stackable(group[0]) else 1
        layers[d] += [group[i:i + size] for i in range(0, len(group), size)]
    return [layer for layer in layers if layer]


def plan_stacks(configs: list[RunConfig], runs_dir: str | Path | None = None, max_runs: int = 16) -> list[list[RunConfig]]:
    """``plan_layers`` flattened: every stack to train, each after the stacks of its prerequisites."""
    return [stack for layer in plan_layers(configs, runs_dir, max_runs) for stack in layer]


def train_many(configs: list[RunConfig], runs_dir: str | Path | None = None, device: str | None = None,
               progress: bool = True, max_runs: int | None = None, compile: bool = False,
               checkpoint_seconds: float | None = None, retrain: bool = False) -> list[RunResult]:
    """Train a grid in this process, one ``train_group`` per stack of ``plan_stacks``; results in order.

    ``max_runs``: runs per stack (None: ``devices.stack_size``, 4 on a CPU).

    Prerequisite runs (``methods.requires``) are planned too, stacked in the layer before their dependents.
    """
    check_finished(with_prerequisites(configs), runs_dir, retrain)
    for stack in plan_stacks(configs, runs_dir, max_runs or stack_size(device)):
        train_group(stack, runs_dir, device, progress, compile, checkpoint_seconds, retrain)
    return [load_result(run_dir_for(c, runs_dir)) for c in configs]


def train(config: RunConfig, runs_dir: str | Path | None = None, device: str | None = None,
          progress: bool = True, retrain: bool = False) -> RunResult:
    """Train ``config`` (or load its finished run) and return its scores: the stack of one run."""
    return train_group([config], runs_dir, device, progress, retrain=retrain)[0]
