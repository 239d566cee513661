"""Beyond both papers: the ablation of this bundle's own method, VPLAN + LSLD (``methods.vplan_lsld``).

Not a paper table (no paper numbers): LSLD's language labels (CLIP visual, CLAP audio), refined
by VPLAN's PLD and trained with VPLAN's richness-aware loss, one step at a time, on CLIP
ViT-B/16 features with LSLD's schedule. Its full row is the "VPLAN + LSLD (this bundle)" row of
LSLD Table 1 (the same run).
"""
from __future__ import annotations

from avvp_lib.experiments.base import CLIP, Profile, Row, Table, data, schedule, shortened
from avvp_lib.methods import VPLANLSLDConfig
from avvp_lib.recipes import vplan_lsld_run


def ablation(p: Profile) -> Table:
    def step(label: str, name: str, sup: VPLANLSLDConfig | None = None) -> Row:
        return Row(label, vplan_lsld_run(data(p, CLIP), schedule("lsld", p), name, sup), paper=False)

    return Table(
        "vplan_lsld_ablation", "VPLAN + LSLD (this bundle's method, in neither paper): ablation "
                               "(test)", "runs",
        (step("LSLD visual labels + L_S", "vplan_lsld_v",
              VPLANLSLDConfig(pseudo="lsld", audio_labels=False)),
         step("+ CLAP audio labels", "vplan_lsld_va", VPLANLSLDConfig(pseudo="lsld")),
         step("+ PLD (visual only)", "vplan_lsld_pldv", VPLANLSLDConfig(pld_audio=False)),
         step("+ PLD (both) = VPLAN + LSLD", "vplan_lsld"),
         step("with L'_S instead of L_S", "vplan_lsld_bce", VPLANLSLDConfig(seg_loss="bce")),
         step("without a segment term", "vplan_lsld_noseg", VPLANLSLDConfig(seg_loss="none"))),
        caption="Rows 1-2 train on the unrefined language labels; row 2 is also the eq. 9 model "
                "with which PLD refines the labels of rows 3-6 (one run). Rows 5-6 change only the "
                "segment term of row 4. " + shortened(p, ("lsld",)))


TABLES = [ablation]
