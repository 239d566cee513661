"""Profiles and every reproduced table, as data: a table is a list of rows, a row holds a config.

Adding a row is adding a ``Row``; the code that computes and renders tables is in
``avvp_lib.reproduce``. Row labels are the papers' row labels (keys of ``paper_numbers.yaml``).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from avvp_lib.config import PAPER_SCHEDULES, DataConfig, RunConfig, TrainConfig
from avvp_lib.methods import HANLabels, LSLDConfig, VPLANConfig


@dataclass(frozen=True)
class Profile:
    """Where the data is and how long to train. ``epochs=None`` keeps each paper's schedule."""

    name: str
    data_dir: str
    world_size: str | None  # synthetic world to build; None = real LLP features
    epochs: int | None = None
    grid_epochs: int | None = None  # LSLD Table 4(a)'s 16-run grid
    seeds: tuple[int, ...] = (1,)
    annotations_dir: str | None = None
    missing: str = "error"  # videos without a feature file: "error" or "skip"
    eval_audio: str | None = None  # audio eval CSV to score with instead of the corrected one (legacy 2020)

    @property
    def synthetic(self) -> bool:
        return self.world_size is not None


PROFILES: dict[str, Profile] = {
    "smoke": Profile("smoke", "data/synthetic_smoke", "smoke", epochs=2, grid_epochs=1),
    "default": Profile("default", "data/synthetic_default", "default", epochs=6, seeds=(1, 2, 3)),
    "llp": Profile("llp", "data/llp", None, missing="skip"),
    # the real-LLP path end to end in minutes, before committing to the papers' schedules
    "llp-short": Profile("llp-short", "data/llp", None, epochs=2, grid_epochs=1, missing="skip"),
}


def get_profile(name: str, data_dir: str | None = None, missing: str | None = None,
                eval_audio: str | None = None) -> Profile:
    """A profile, with its data folder, missing-video rule or audio eval file replaced when given."""
    if name not in PROFILES:
        raise KeyError(f"unknown profile {name!r}; expected one of {sorted(PROFILES)}")
    changes = {k: v for k, v in dict(data_dir=data_dir, missing=missing, eval_audio=eval_audio).items() if v}
    return dataclasses.replace(PROFILES[name], **changes)


def schedule(paper: str, profile: Profile, grid: bool = False) -> TrainConfig:
    """The paper's schedule, shortened by the profile (StepLR step scaled with the epochs, rounded up)."""
    base = PAPER_SCHEDULES[paper]
    epochs = (profile.grid_epochs if grid else None) or profile.epochs
    if epochs is None:
        return base
    return dataclasses.replace(base, epochs=epochs, step_size=math.ceil(base.step_size * epochs / base.epochs))


RESNET = ("res152", "r2plus1d_18")


def data(profile: Profile, visual: tuple[str, ...]) -> DataConfig:
    return DataConfig(data_dir=profile.data_dir, annotations_dir=profile.annotations_dir, visual=visual,
                      missing=profile.missing, eval_audio=profile.eval_audio)


# ---------------------------------------------------------------- VPLAN
def vplan_runs(p: Profile) -> dict[str, RunConfig]:
    """VPLAN Table III rows; training features are ResNet+R(2+1)D, CLIP is used only for PLG."""
    d, t = data(p, RESNET), schedule("vplan", p)
    run = lambda name, sup: RunConfig(name=name, data=d, train=t, supervision=sup)  # noqa: E731
    return {
        "1 HAN": run("vplan_han", HANLabels()),
        "2 + PLG": run("vplan_plg", VPLANConfig(seg_loss="none")),
        "3 + PLG + L'_S": run("vplan_plg_naive", VPLANConfig(seg_loss="bce")),
        "4 + PLG + L_S": run("vplan_plg_rl", VPLANConfig(seg_loss="richness")),
        "5 + PLD + L_S": run("vplan_pld_rl", VPLANConfig(pseudo="pld", seg_loss="richness")),
    }


# ---------------------------------------------------------------- LSLD
def lsld_run(p: Profile, name: str, sup: Any = None, visual: tuple[str, ...] = ("clip_vitb16",), grid: bool = False) -> RunConfig:
    return RunConfig(name=name, data=data(p, visual), train=schedule("lsld", p, grid), supervision=sup or LSLDConfig())


@dataclass(frozen=True)
class Row:
    label: str  # the paper's row label
    run: RunConfig | None = None  # a training run scored on test
    spec: Any = None  # a pseudo-label setting for label-quality tables
    note: str = ""


@dataclass(frozen=True)
class Table:
    key: str  # key in paper_numbers.yaml and the output file name
    title: str  # "VPLAN Table III: ..." as printed
    kind: str  # "runs" | "plg_quality" | "pld_quality" | "train_label_quality" | "cited"
    rows: tuple[Row, ...]
    columns: tuple[str, ...] = ()  # empty = the ten LLP metrics
    caption: str = ""
    layout: str = "rows"  # "rows" | "grid" (Table 4(a))
    extra: dict = field(default_factory=dict)


NOT_HERE = "not implemented in this bundle (cited from the paper)"


def tables(p: Profile) -> list[Table]:
    v = vplan_runs(p)
    lsld = lsld_run(p, "lsld")
    han_clip = lsld_run(p, "lsld_han_clip", HANLabels())
    shortened = (f"{p.name} profile: {p.epochs} epochs per run (papers: VPLAN 30, LSLD 20)." if p.epochs else "")
    grid_note = (f" The 16-run grid uses {p.grid_epochs} epochs." if p.grid_epochs else "")
    cited = lambda keys: tuple(Row(k, note=NOT_HERE) for k in keys)  # noqa: E731
    plg = lambda tau, prompt: VPLANConfig(tau=tau, prompt=prompt)  # noqa: E731
    return [
        Table("vplan_t1", "VPLAN Table I: PLG tau and prompt, video-level visual pseudo-label precision / recall (val)",
              "plg_quality", (Row("-", spec=None),
                              *(Row(f"tau={t:.3f}, P1", spec=plg(t, "P1")) for t in (0.035, 0.040, 0.041, 0.043)),
                              *(Row(f"tau=0.040, {q}", spec=plg(0.040, q)) for q in ("P2", "P3", "P4"))),
              columns=("precision", "recall", "average"),
              caption="Per video, precision = TP / #predicted and recall = TP / #GT visual classes, averaged over all "
                      "val videos. '-' uses the video label as the visual label."),
        Table("vplan_t2", "VPLAN Table II: PLD K and alpha, visual F1 of the denoised pseudo labels (val)",
              "pld_quality", (Row("-", spec=None),
                              *(Row(f"K={k}, alpha=10", spec=VPLANConfig(pld_k=k, pld_alpha=10)) for k in (2, 3, 5, 6)),
                              *(Row(f"K=5, alpha={a}", spec=VPLANConfig(pld_k=5, pld_alpha=a)) for a in (5, 20))),
              columns=("seg_v", "evt_v", "average"), extra={"pretrain": v["4 + PLG + L_S"]},
              caption="PLD uses the predictions of the Table III row 4 model (eq. 9). " + shortened),
        Table("vplan_t3", "VPLAN Table III: ablation of PLG, richness-aware loss and PLD (test)", "runs",
              tuple(Row(k, run=c) for k, c in v.items()), caption=shortened),
        Table("vplan_t4", "VPLAN Table IV: comparison with the state of the art (test)", "runs",
              (*cited(("AVE", "AVSDN")), Row("HAN", run=v["1 HAN"]),
               *cited(("MM-Pyramid", "MGN", "CVCMS", "DHHN", "MA", "JoMoLD")), Row("VPLAN", run=v["5 + PLD + L_S"])),
              caption=shortened),
        Table("vplan_t5", "VPLAN Table V: VPLAN pseudo labels on MM-Pyramid and MGN (test)", "cited",
              cited(("*MM-Pyramid", "*MM-Pyramid + MA", "MM-Pyramid + PLG", "MM-Pyramid + PLD",
                     "MGN", "MGN + MA", "MGN + PLG", "MGN + PLD")),
              caption="MM-Pyramid and MGN are not in this bundle; the PLG/PLD labels are (avvp_lib.methods.vplan)."),
        Table("lsld_t1", "LSLD Table 1: comparison with the state of the art (test)", "runs",
              (*cited(("AVE", "AVSDN", "HAN", "MGN", "MA", "JoMoLD")), Row("HAN + Clip", run=han_clip),
               *cited(("MGN + Clip", "MA + Clip", "JoMoLD + Clip")), Row("LSLD", run=lsld)), caption=shortened),
        Table("lsld_t2", "LSLD Table 2: ablation of denoising (DeN) and re-weighting (ReW) (test)", "runs",
              (Row("no DeN, no ReW", run=han_clip), Row("DeN", run=lsld_run(p, "lsld_den", LSLDConfig(reweight="none"))),
               Row("DeN + ReW", run=lsld)), caption=shortened),
        Table("lsld_t3", "LSLD Table 3: the prompt for 'no event' (test)", "runs",
              (Row("[Class, Not Class]", run=lsld_run(p, "lsld_not", LSLDConfig(no_event="not"))),
               Row("[Class, None]", run=lsld_run(p, "lsld_none", LSLDConfig(no_event="none"))),
               Row("[Class, Other]", run=lsld)), caption="[Class, Not Class] = 'not A and not B'. " + shortened),
        Table("lsld_t4a", "LSLD Table 4(a): alpha x beta of the re-weighting, segment-level visual F1 (test)", "runs",
              tuple(Row(f"alpha={a:g}, beta={b:g}", run=lsld_run(p, f"lsld_a{a:g}_b{b:g}", LSLDConfig(alpha=a, beta=b), grid=True))
                    for a in (3, 3.5, 4, 4.5) for b in (0.2, 0.4, 0.6, 0.8)),
              columns=("seg_v",), layout="grid", caption=shortened + grid_note),
        Table("lsld_t4b", "LSLD Table 4(b): re-weighting strategies, visual F1 (test)", "runs",
              (Row("re-weight on w/ event", run=lsld_run(p, "lsld_rw_with", LSLDConfig(reweight="with_only"))),
               Row("re-weight on w/o event", run=lsld_run(p, "lsld_rw_without", LSLDConfig(reweight="without_only"))),
               Row("stable re-weight", run=lsld_run(p, "lsld_rw_stable", LSLDConfig(reweight="stable"))),
               Row("dynamic re-weight", run=lsld)), columns=("seg_v", "evt_v"),
              caption="stable = each class's mean similarity over its unreliable segments instead of each segment's. " + shortened),
        Table("lsld_t5", "LSLD Table 5: LSLD labels on MM-Pyramid and DHHN (test)", "cited",
              cited(("MM-Pyramid", "MM-Pyramid + Clip", "MM-Pyramid + LSLD", "DHHN", "DHHN + Clip", "DHHN + LSLD")),
              caption="MM-Pyramid and DHHN are not in this bundle; the LSLD labels are (avvp_lib.methods.lsld)."),
        Table("lsld_t6", "LSLD Table 6: class descriptions in the prompts, visual F1 (test)", "runs",
              (Row("Original Class Desc", run=lsld_run(p, "lsld_desc_original", LSLDConfig(descriptions="original"))),
               Row("Desc + playing", run=lsld),
               Row("Desc + a photo of", run=lsld_run(p, "lsld_desc_photo", LSLDConfig(descriptions="photo_of"))),
               Row("Desc + playing + a person", run=lsld_run(p, "lsld_desc_person", LSLDConfig(descriptions="playing_person")))),
              columns=("seg_v", "evt_v"), caption=shortened),
        Table("lsld_t7", "LSLD Table 7: visual features used for training (test)", "runs",
              (Row("Resnet 2D + 3D", run=lsld_run(p, "lsld_feat_resnet", visual=RESNET)),
               Row("CLIP (ViT-B/32) + 3D", run=lsld_run(p, "lsld_feat_b32_3d", LSLDConfig(clip_kind="clip_vitb32"), ("clip_vitb32", "r2plus1d_18"))),
               Row("CLIP (ViT-B/16) + 3D", run=lsld_run(p, "lsld_feat_b16_3d", visual=("clip_vitb16", "r2plus1d_18"))),
               Row("CLIP (ViT-B/32) only", run=lsld_run(p, "lsld_feat_b32", LSLDConfig(clip_kind="clip_vitb32"), ("clip_vitb32",))),
               Row("CLIP (ViT-B/16) only", run=lsld)),
              caption="Labels come from the same CLIP kind as the training features (ViT-B/16 for ResNet). " + shortened),
        Table("train_label_quality", "Pseudo-label quality on the train split (not a paper table; needs train dense GT)",
              "train_label_quality",
              (Row("video label on every segment", spec=None), Row("VPLAN PLG", spec=VPLANConfig()),
               Row("VPLAN PLD", spec=VPLANConfig(pseudo="pld")), Row("LSLD denoised", spec=LSLDConfig(reweight="none")),
               Row("LSLD denoised + re-weighted", spec=LSLDConfig())),
              columns=("seg_v", "evt_v", "soft_seg_v", "bce"), extra={"pretrain": v["4 + PLG + L_S"]},
              caption="Against the synthetic world's train GT, which training never reads: segment- and event-level "
                      "visual F1 of the labels thresholded at 0.5; soft_seg_v = segment F1 with soft counts and bce = "
                      "mean BCE of the labels against the GT (lower is better), both without thresholding, so they "
                      "show what re-weighting changes."),
    ]


def all_runs(p: Profile) -> list[RunConfig]:
    """Every distinct training run the tables need, PLD's prerequisite first."""
    seen, out = set(), []
    for t in tables(p):
        for run in [t.extra.get("pretrain")] + [r.run for r in t.rows]:
            if run is not None and run not in seen:
                seen.add(run)
                out.append(run)
    return out
