"""Fit the synthetic world's input parameters to ``calibration.CALIBRATION_TARGETS`` (issue #11).

Two stages, each parameter fitted to the targets that measure it:

1. PLG (no training): ``clip_gap`` (the scale of CLIP-like image-text cosines) and
   ``prompt_offset`` (how much less the prompts of classes seldom on screen match every frame) against VPLAN
   Table I P1 precision / recall and Table II '-' F1 (the sum of squared deviations), on the
   world's val split generated in memory (labels + CLIP ViT-B/16 only), by a coordinate search
   from two starts.
2. HAN (training): ``noise_audio`` against the segment-level A of HAN and HAN + Clip (their mean
   deviation), ``view_noise_scale`` (multiplies the priors of ``noise_r2plus1d`` and
   ``noise_res152_frame``) against HAN's segment-level V, and ``noise_clip_vitb16`` against HAN +
   Clip's segment-level V, each by a secant step on log-noise per round; the world is built, the
   two table rows are trained at the profile's schedule and seeds and scored on test; stage 1 is
   refitted whenever ``noise_clip_vitb16`` changes (the CLIP noise also shapes PLG's scores).
   Type@AV is not fitted separately: it is reported and checked against its tolerance.

Everything else in ``FeatureModel`` keeps its prior.
"""
from __future__ import annotations

import dataclasses
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from avvp_lib.config import RunConfig
from avvp_lib.data.features import middle_frame
from avvp_lib.experiments import Profile, lsld_run, vplan_runs
from avvp_lib.methods import HANLabels
from avvp_lib.methods.vplan import generate_pseudo_labels, video_precision_recall
from avvp_lib.metrics import visual_scores_per_video
from avvp_lib.synthetic.calibration import HAN_COLUMNS, PLG_TAUS, Target
from avvp_lib.synthetic.latent import LatentSpace
from avvp_lib.synthetic.llp_statistics import load_statistics
from avvp_lib.synthetic.world import FeatureModel, FeatureSampler, LabelSampler, WorldConfig, build_world, video_rng
from avvp_lib.synthetic.text_encoder import SyntheticTextEncoder
from avvp_lib.train import train_many


@dataclass(frozen=True)
class Parameter:
    """One fitted world parameter: its ``FeatureModel`` meaning, search range and prior."""

    name: str
    description: str
    low: float
    high: float
    prior: float


PRIOR = FeatureModel()
PLG_PARAMETERS = (
    Parameter("clip_gap", "weight of the direction every prompt embedding shares (CLIP's modality gap): sets the "
              "scale of image-text cosines, hence how far PLG's softmax scores spread around 1/25", 0.0, 12.0, PRIOR.clip_gap),
    Parameter("prompt_offset", "prompts of classes seldom visible in LLP match every frame less: a class word "
              "subtracts prompt_offset * (u_c - mean(u)) times the background every frame shows (u_c: the fraction "
              "of the class's LLP labels not visible)", 0.0, 20.0,
              PRIOR.prompt_offset),
)
# where stage 1's search starts: two basins of the loss (a small gap with a large offset, and the reverse)
PLG_STARTS = tuple({"clip_gap": g, "prompt_offset": o} for g, o in ((4.0, 4.0), (2.0, 10.0)))
HAN_PARAMETERS = (
    Parameter("noise_audio", "norm of the VGGish-like segment noise", 0.05, 4.0, PRIOR.noise_audio),
    Parameter("view_noise_scale", "multiplies the noise priors of the ResNet-152-like (4.0 per frame) and "
              "R(2+1)D-like (1.6) views", 0.02, 3.0, 1.0),
    Parameter("noise_clip_vitb16", "norm of the CLIP ViT-B/16-like segment noise", 0.05, 3.0, PRIOR.noise_clip_vitb16),
)


def apply(model: FeatureModel, values: dict[str, float]) -> FeatureModel:
    """``model`` with fitted values (``view_noise_scale`` mapped onto the two view noises; a fitted
    ``noise_clip_vitb16`` scales ``noise_clip_vitb32`` by the same factor, so ViT-B/32 stays the noisier
    CLIP view by its prior ratio: no target measures ViT-B/32)."""
    changes = {k: v for k, v in values.items() if k != "view_noise_scale"}
    if "view_noise_scale" in values:
        changes["noise_r2plus1d"] = PRIOR.noise_r2plus1d * values["view_noise_scale"]
        changes["noise_res152_frame"] = PRIOR.noise_res152_frame * values["view_noise_scale"]
    if "noise_clip_vitb16" in values:
        changes["noise_clip_vitb32"] = PRIOR.noise_clip_vitb32 * values["noise_clip_vitb16"] / PRIOR.noise_clip_vitb16
    return dataclasses.replace(model, **changes)


# ---------------------------------------------------------------- stage 1: PLG on val, in memory
@dataclass
class PLGProbe:
    """The val split of a world (size, seed) in memory: dense labels and CLIP ViT-B/16 middle frames."""

    size: str = "default"
    seed: int = 0
    split: str = "val"
    labels: LabelSampler = field(default_factory=lambda: LabelSampler(load_statistics()))

    def __post_init__(self) -> None:
        self.space = LatentSpace.from_seed(self.seed)

    def frames(self, model: FeatureModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Weak labels [N, C], visual GT [N, T, C] and middle frames [N, T, 512] exactly as ``build_world`` writes them."""
        config = WorldConfig(size=self.size, seed=self.seed, model=model)
        sampler, weak, gt_v, frames = FeatureSampler(config), [], [], []
        for i in range(config.counts[self.split]):
            rng = video_rng(config, self.split, i)
            a, v = self.labels.sample(rng)
            f = sampler.sample(rng, a, v, kinds=("clip_vitb16",))["clip_vitb16"]
            weak.append((a | v).max(0))
            gt_v.append(v)
            frames.append(middle_frame(f.astype(np.float32)))
        return np.stack(weak), np.stack(gt_v), np.stack(frames)

    def scores(self, model: FeatureModel) -> dict[Target, float]:
        """Our value of every PLG target (Table I P1 precision / recall per tau, Table II '-' F1)."""
        weak, gt_v, frames = self.frames(model)
        encoder = SyntheticTextEncoder(self.space, model.clip_gap, model.prompt_offset)
        out: dict[Target, float] = {}
        for tau in PLG_TAUS:
            labels = generate_pseudo_labels(frames, weak, encoder, "P1", tau)
            pr = video_precision_recall(labels.max(axis=1), gt_v)
            out.update({("vplan_t1", f"tau={tau:.3f}, P1", k): pr[k] for k in ("precision", "recall")})
            if tau == 0.040:  # VPLANConfig's default tau: Table II's '-' row
                f1 = visual_scores_per_video(labels, gt_v)
                out.update({("vplan_t2", "-", k): float(f1[k].mean()) for k in ("seg_v", "evt_v")})
        return out


def worst(ours: dict[Target, float], targets: dict[Target, float]) -> float:
    """The largest absolute deviation (points) over the targets both dicts have."""
    return max(abs(ours[k] - targets[k]) for k in ours if k in targets)


def squared(ours: dict[Target, float], targets: dict[Target, float]) -> float:
    """The sum of squared deviations (points^2) over the targets both dicts have: the search's loss."""
    return sum((ours[k] - targets[k]) ** 2 for k in ours if k in targets)


def coordinate_search(objective: Callable[[dict[str, float]], float], start: dict[str, float],
                      params: tuple[Parameter, ...], rounds: int, points: int = 7) -> tuple[dict[str, float], float]:
    """Minimise ``objective`` one parameter at a time on a grid that shrinks around the best value each round."""
    best, best_loss = dict(start), objective(start)
    width = {p.name: (p.high - p.low) / 2 for p in params}
    for _ in range(rounds):
        for p in params:
            grid = np.clip(best[p.name] + np.linspace(-width[p.name], width[p.name], points), p.low, p.high)
            for v in dict.fromkeys(np.round(grid, 4)):
                trial = {**best, p.name: float(v)}
                loss = objective(trial)
                if loss < best_loss:
                    best, best_loss = trial, loss
            width[p.name] /= 3
    return best, best_loss


def fit_plg(probe: PLGProbe, base: FeatureModel, targets: dict[Target, float], rounds: int = 3,
            starts: tuple[dict[str, float], ...] = PLG_STARTS) -> tuple[dict[str, float], dict[Target, float]]:
    """Stage 1: the PLG parameters minimising the squared PLG deviations (best of ``starts``); them and the scores."""
    plg_targets = {k: v for k, v in targets.items() if k[0] in ("vplan_t1", "vplan_t2")}
    loss = lambda v: squared(probe.scores(apply(base, v)), plg_targets)  # noqa: E731
    best, _ = min((coordinate_search(loss, start, PLG_PARAMETERS, rounds) for start in starts), key=lambda r: r[1])
    return best, probe.scores(apply(base, best))


# ---------------------------------------------------------------- stage 2: HAN rows, trained
def han_rows(profile: Profile) -> dict[str, RunConfig]:
    """The two HAN table rows, exactly as the tables run them (the profile's schedule)."""
    return {"vplan_t3": vplan_runs(profile)["1 HAN"], "lsld_t1": lsld_run(profile, "lsld_han_clip", HANLabels())}


HAN_ROW_LABELS = {"vplan_t3": "1 HAN", "lsld_t1": "HAN + Clip"}


def han_scores(model: FeatureModel, profile: Profile, work: Path, seeds: tuple[int, ...]) -> dict[Target, float]:
    """Build the profile's world with ``model`` under ``work``, train both HAN rows per seed, mean test scores."""
    world = build_world(work / "world", WorldConfig(size=profile.world_size, model=model), progress=False)
    rows = han_rows(dataclasses.replace(profile, data_dir=str(world)))
    configs = {key: [c.replace(train=dataclasses.replace(c.train, seed=s)) for s in seeds] for key, c in rows.items()}
    results = iter(train_many([c for cs in configs.values() for c in cs], work / "runs", "cpu", progress=False))
    out = {}
    for key, cs in configs.items():
        runs = [next(results) for _ in cs]
        out.update({(key, HAN_ROW_LABELS[key], m): float(np.mean([r.test[m] for r in runs])) for m in HAN_COLUMNS})
    shutil.rmtree(work)
    return out


def _han_error(name: str, ours: dict[Target, float], targets: dict[Target, float]) -> float:
    """The deviation (points) the parameter ``name`` is fitted to remove (module docstring)."""
    if name == "noise_audio":
        return float(np.mean([ours[(k, r, "seg_a")] - targets[(k, r, "seg_a")] for k, r in HAN_ROW_LABELS.items()]))
    key = "vplan_t3" if name == "view_noise_scale" else "lsld_t1"
    return ours[(key, HAN_ROW_LABELS[key], "seg_v")] - targets[(key, HAN_ROW_LABELS[key], "seg_v")]


def secant_step(history: list[tuple[float, float]], low: float, high: float, max_step: float = 1.5,
                first_slope: float = -20.0) -> float:
    """The next value of a noise whose score falls as it grows: a secant step on log-noise towards zero error.

    ``history``: (value, error) pairs so far; the step is bounded by ``max_step`` (in log units),
    by the bracket of a sign change when there is one, and by [low, high].
    """
    x = [math.log(v) for v, _ in history]
    e = [err for _, err in history]
    slope = first_slope
    if len(history) > 1 and x[-1] != x[-2] and (e[-1] - e[-2]) / (x[-1] - x[-2]) < 0:
        slope = (e[-1] - e[-2]) / (x[-1] - x[-2])
    nxt = x[-1] - e[-1] / slope
    nxt = min(max(nxt, x[-1] - max_step), x[-1] + max_step)
    above = [xi for xi, ei in zip(x, e) if ei > 0]  # too good: more noise needed
    below = [xi for xi, ei in zip(x, e) if ei < 0]
    if above and below:
        lo, hi = max(above), min(below)
        if not min(lo, hi) < nxt < max(lo, hi):
            nxt = (lo + hi) / 2
    return float(min(max(math.exp(nxt), low), high))


@dataclass
class Calibration:
    """The fitted values, our scores of every target and the log of the search."""

    values: dict[str, float]
    ours: dict[Target, float]
    log: list[dict] = field(default_factory=list)


def calibrate(profile: Profile, targets: dict[Target, float], work: Path, rounds: int = 5, plg_rounds: int = 3,
              search_seeds: tuple[int, ...] | None = None, say: Callable[[str], None] = print) -> Calibration:
    """Both stages (module docstring); the final scores use every profile seed."""
    t0 = time.time()
    probe = PLGProbe(size=profile.world_size)
    han = {p.name: p.prior for p in HAN_PARAMETERS}
    plg, plg_scores = fit_plg(probe, apply(PRIOR, han), targets, plg_rounds)
    say(f"[{time.time() - t0:5.0f}s] PLG fit {plg}: worst deviation {worst(plg_scores, targets):.2f}")
    history: dict[str, list[tuple[float, float]]] = {p.name: [] for p in HAN_PARAMETERS}
    log = []
    seeds = search_seeds or profile.seeds[:1]
    for r in range(rounds):
        ours = han_scores(apply(PRIOR, {**plg, **han}), profile, work / f"round{r}", seeds)
        errors = {name: _han_error(name, ours, targets) for name in han}
        log.append({"round": r, "seeds": list(seeds), "values": {**plg, **han}, "ours": _flat(ours),
                    "seconds": round(time.time() - t0)})
        say(f"[{time.time() - t0:5.0f}s] round {r}: {han} -> errors {({k: round(v, 2) for k, v in errors.items()})}")
        if r == rounds - 1 or all(abs(v) < 0.5 for v in errors.values()):
            break
        for p in HAN_PARAMETERS:
            history[p.name].append((han[p.name], errors[p.name]))
            han[p.name] = secant_step(history[p.name], p.low, p.high)
        if han["noise_clip_vitb16"] != history["noise_clip_vitb16"][-1][0]:
            plg, plg_scores = fit_plg(probe, apply(PRIOR, han), targets, max(1, plg_rounds - 1), starts=(plg,))
            say(f"[{time.time() - t0:5.0f}s] PLG refit {plg}: worst deviation {worst(plg_scores, targets):.2f}")
    values = {**plg, **han}
    final = apply(PRIOR, values)
    ours = {**probe.scores(final), **han_scores(final, profile, work / "final", profile.seeds)}
    say(f"[{time.time() - t0:5.0f}s] final ({len(profile.seeds)} seeds): worst deviation {worst(ours, targets):.2f}")
    return Calibration(values, ours, log)


def _flat(scores: dict[Target, float]) -> dict[str, float]:
    return {" / ".join(k): round(v, 3) for k, v in scores.items()}
