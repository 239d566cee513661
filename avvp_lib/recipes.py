"""Run configurations of this bundle's named recipes, beside the tables' rows (``experiments``).

``lsld_official_run``: "LSLD (official code)", LSLD as fyyCS/LSLD ``main.py`` trains it.
``vplan_lsld_run``: VPLAN + LSLD (``methods.vplan_lsld``), a method of this bundle's own.
Each takes the table's ``DataConfig`` and schedule (``experiments.schedule``) and returns one
``RunConfig``.

Two habits of fyyCS/LSLD ``main.py`` are not reproduced, as they are the trainer's, shared by every
run: its selection keeps the later epoch on a tie (``audio_eve >= best_F``, L496; here the earlier),
and its segment BCE does not clamp the segment probabilities (L282-283; here every BCE clamps to
[1e-7, 1 - 1e-7], which ``nn.BCELoss``'s own log clamp at -100 makes a difference only below 1e-7).
"""
from __future__ import annotations

import dataclasses

from avvp_lib.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from avvp_lib.methods import LSLDOfficialConfig, VPLANLSLDConfig
from avvp_lib.schedules import SCHEDULES

# fyyCS/LSLD main.py L430 (--num_layers 4) and nets/net_audiovisual.py (MMIL_Net cls_dropout=0.5 on the
# visual branch); its HAN layers are stacked and serve both modalities (share_layer).
LSLD_OFFICIAL_MODEL = ModelConfig(num_layers=4, visual_dropout=0.5)
LSLD_OFFICIAL_SCHEDULE: TrainConfig = SCHEDULES["lsld_official"]


def lsld_official_run(data: DataConfig, train: TrainConfig = LSLD_OFFICIAL_SCHEDULE, name: str = "lsld_official",
                      supervision: LSLDOfficialConfig | None = None) -> RunConfig:
    """"LSLD (official code)": CLAP audio + CLIP visual features (main.py L415-416), 4 layers, visual
    dropout 0.5, CLAP-denoised audio and CLIP-denoised visual labels, the code's loss and schedule.

    ``data`` gives the folder and missing-video rule; its audio and visual kinds are replaced by the
    supervision's ``clap_kind`` and ``clip_kind``. ``train``: ``experiments.schedule("lsld_official", p)``.
    """
    sup = supervision or LSLDOfficialConfig()
    data = dataclasses.replace(data, audio=sup.clap_kind, visual=(sup.clip_kind,))
    return RunConfig(name=name, data=data, model=LSLD_OFFICIAL_MODEL, train=train, supervision=sup)


def vplan_lsld_run(data: DataConfig, train: TrainConfig, name: str = "vplan_lsld",
                   supervision: VPLANLSLDConfig | None = None) -> RunConfig:
    """VPLAN + LSLD on the table's own features and schedule (ResNet+R(2+1)D with VPLAN's, CLIP with LSLD's);
    CLIP and CLAP are read for the labels only."""
    return RunConfig(name=name, data=data, train=train, supervision=supervision or VPLANLSLDConfig())
