"""LSLD's tables (Fan et al., "Revisit Weakly-Supervised Audio-Visual Video Parsing from the
Language Perspective").

LSLD trains on CLIP ViT-B/16 features (``CLIP``) with its labels made from the same features.
Each table is a function of the profile, listed in ``TABLES``.
"""
from __future__ import annotations

from avvp_lib.config import RunConfig
from avvp_lib.experiments.base import (CLIP, RESNET, Profile, Row, Table, cited, data, run, schedule,
                                       shortened)
from avvp_lib.experiments.vplan import jomold_run, ma_run, vanilla_backbone
from avvp_lib.methods import HANLabels, LSLDConfig
from avvp_lib.recipes import lsld_official_run, vplan_lsld_run

T4A_ALPHAS = (3.0, 3.5, 4.0, 4.5)
T4A_BETAS = (0.2, 0.4, 0.6, 0.8)
T5_BACKBONES = {"MM-Pyramid": "mm_pyramid", "DHHN": "dhhn"}
CLIP_NOTE = ("'Clip' rows train on CLIP ViT-B/16 features instead of ResNet + R(2+1)D. HAN uses "
             "LSLD's schedule, MGN its code's, MA and JoMoLD their code's (this bundle's "
             "choice; the paper cites their papers). 'LSLD (official code)': fyyCS/LSLD main.py's "
             "recipe (CLAP audio labels too, 4 layers, its loss and schedule; avvp_lib.recipes). "
             "'VPLAN + LSLD': this bundle's method (in neither paper; avvp_lib.methods.vplan_lsld).")
T5_NOTE = ("Vanilla and + Clip rows train on HAN's targets, + LSLD rows on LSLD's labels, all with "
           "the backbone's code schedule (this bundle's reading); vanilla rows on ResNet + R(2+1)D, the others on CLIP ViT-B/16.")


def lsld_run(p: Profile, name: str, sup: object = None, visual: tuple[str, ...] = CLIP,
             grid: bool = False, model: str = "han") -> RunConfig:
    """A run with LSLD's schedule on HAN, else the backbone's (LSLD's labels unless ``sup`` says otherwise)."""
    return run(p, name, "lsld", sup or LSLDConfig(), visual, model, grid)


def _join(*parts: str) -> str:
    return " ".join(x for x in parts if x)


def t1(p: Profile) -> Table:
    def han(name: str, visual: tuple[str, ...], model: str = "han") -> RunConfig:
        return lsld_run(p, name, HANLabels(), visual, model=model)

    return Table(
        "lsld_t1", "LSLD Table 1: comparison with the state of the art (test)", "runs",
        (*cited("AVE", "AVSDN"), Row("HAN", han("lsld_han_resnet", RESNET)),
         Row("MGN", vanilla_backbone(p, "mgn")), Row("MA", ma_run(p, RESNET)),
         Row("JoMoLD", jomold_run(p, RESNET)), Row("HAN + Clip", han("lsld_han_clip", CLIP)),
         Row("MGN + Clip", han("lsld_mgn_clip", CLIP, "mgn")), Row("MA + Clip", ma_run(p, CLIP)),
         Row("JoMoLD + Clip", jomold_run(p, CLIP)), Row("LSLD", lsld_run(p, "lsld")),
         Row("LSLD (official code)", lsld_official_run(data(p, CLIP), schedule("lsld_official", p)),
             paper=False),
         Row("VPLAN + LSLD (this bundle)", vplan_lsld_run(data(p, CLIP), schedule("lsld", p)),
             paper=False)),
        caption=_join(CLIP_NOTE, shortened(p, ("lsld", "mgn", "ma", "jomold", "lsld_official"))))


def t2(p: Profile) -> Table:
    return Table(
        "lsld_t2", "LSLD Table 2: ablation of denoising (DeN) and re-weighting (ReW) (test)",
        "runs",
        (Row("no DeN, no ReW", lsld_run(p, "lsld_han_clip", HANLabels())),
         Row("DeN", lsld_run(p, "lsld_den", LSLDConfig(reweight="none"))),
         Row("DeN + ReW", lsld_run(p, "lsld"))), caption=shortened(p, ("lsld",)))


def t3(p: Profile) -> Table:
    return Table(
        "lsld_t3", "LSLD Table 3: the prompt for 'no event' (test)", "runs",
        (Row("[Class, Not Class]", lsld_run(p, "lsld_not", LSLDConfig(no_event="not"))),
         Row("[Class, None]", lsld_run(p, "lsld_none", LSLDConfig(no_event="none"))),
         Row("[Class, Other]", lsld_run(p, "lsld"))),
        caption="[Class, Not Class] = 'not A and not B'. " + shortened(p, ("lsld",)))


def t4a(p: Profile) -> Table:
    def cell(a: float, b: float) -> Row:
        run_ab = lsld_run(p, f"lsld_a{a:g}_b{b:g}", LSLDConfig(alpha=a, beta=b), grid=True)
        return Row(f"alpha={a:g}, beta={b:g}", run_ab, coords={"alpha": a, "beta": b})

    grid_note = f" The 16-run grid uses {p.grid_epochs} epochs." if p.grid_epochs else ""
    return Table(
        "lsld_t4a", "LSLD Table 4(a): alpha x beta of the re-weighting, segment-level visual F1 "
                    "(test)", "runs", tuple(cell(a, b) for a in T4A_ALPHAS for b in T4A_BETAS),
        columns=("seg_v",), grid=("alpha", "beta"), caption=shortened(p, ("lsld",)) + grid_note)


def t4b(p: Profile) -> Table:
    def rw(name: str, mode: str) -> RunConfig:
        return lsld_run(p, name, LSLDConfig(reweight=mode))

    return Table(
        "lsld_t4b", "LSLD Table 4(b): re-weighting strategies, visual F1 (test)", "runs",
        (Row("re-weight on w/ event", rw("lsld_rw_with", "with_only")),
         Row("re-weight on w/o event", rw("lsld_rw_without", "without_only")),
         Row("stable re-weight", rw("lsld_rw_stable", "stable")),
         Row("dynamic re-weight", lsld_run(p, "lsld"))), columns=("seg_v", "evt_v"),
        caption="stable = each class's mean similarity over its unreliable segments instead of "
                "each segment's. " + shortened(p, ("lsld",)))


def t5(p: Profile) -> Table:
    rows = []
    for label, model in T5_BACKBONES.items():
        vanilla = vanilla_backbone(p, model)
        clip = lsld_run(p, f"lsld_{model}_clip", HANLabels(), model=model)
        rows += [Row(label, vanilla), Row(f"{label} + Clip", clip),
                 Row(f"{label} + LSLD", lsld_run(p, f"lsld_{model}", model=model))]
    return Table("lsld_t5", "LSLD Table 5: LSLD labels on MM-Pyramid and DHHN (test)", "runs",
                 tuple(rows), caption=_join(T5_NOTE, shortened(p, ("mm_pyramid", "dhhn"))))


def t6(p: Profile) -> Table:
    def desc(name: str, variant: str) -> RunConfig:
        return lsld_run(p, name, LSLDConfig(descriptions=variant))

    return Table(
        "lsld_t6", "LSLD Table 6: class descriptions in the prompts, visual F1 (test)", "runs",
        (Row("Original Class Desc", desc("lsld_desc_original", "original")),
         Row("Desc + playing", lsld_run(p, "lsld")),
         Row("Desc + a photo of", desc("lsld_desc_photo", "photo_of")),
         Row("Desc + playing + a person", desc("lsld_desc_person", "playing_person"))),
        columns=("seg_v", "evt_v"), caption=shortened(p, ("lsld",)))


def t7(p: Profile) -> Table:
    b32 = LSLDConfig(clip_kind="clip_vitb32")
    return Table(
        "lsld_t7", "LSLD Table 7: visual features used for training (test)", "runs",
        (Row("Resnet 2D + 3D", lsld_run(p, "lsld_feat_resnet", visual=RESNET)),
         Row("CLIP (ViT-B/32) + 3D",
             lsld_run(p, "lsld_feat_b32_3d", b32, ("clip_vitb32", "r2plus1d_18"))),
         Row("CLIP (ViT-B/16) + 3D",
             lsld_run(p, "lsld_feat_b16_3d", visual=("clip_vitb16", "r2plus1d_18"))),
         Row("CLIP (ViT-B/32) only", lsld_run(p, "lsld_feat_b32", b32, ("clip_vitb32",))),
         Row("CLIP (ViT-B/16) only", lsld_run(p, "lsld"))),
        caption="Labels come from the same CLIP kind as the training features (ViT-B/16 for "
                "ResNet). " + shortened(p, ("lsld",)))


TABLES = [t1, t2, t3, t4a, t4b, t5, t6, t7]
