"""Every training schedule a table row uses, by name: the papers', the methods' code and the backbones' code.

Data, not trainer code: the trainer reads a run's own ``TrainConfig``, so editing this table
leaves finished runs valid (``runs.code_digest`` covers only what ``avvp_lib.train`` imports).
``experiments.schedule`` stops one where a profile says.
"""
from __future__ import annotations

from avvp_lib.config import TrainConfig

SCHEDULES: dict[str, TrainConfig] = {
    # HAN's code (YapengTian/AVVP-ECCV20): Adam 3e-4, StepLR(10, 0.1), batch 16, 40 epochs.
    "han": TrainConfig(),
    # VPLAN gives batch 32, lr 3e-4, 30 epochs and no schedule: the HAN StepLR(10, 0.1) it builds on is kept.
    "vplan": TrainConfig(epochs=30, batch_size=32, lr=3e-4, step_size=10, gamma=0.1),
    # LSLD: lr 6e-4 x0.25 every 6 epochs, batch 32, 20 epochs.
    "lsld": TrainConfig(epochs=20, batch_size=32, lr=6e-4, step_size=6, gamma=0.25),
    # MA and JoMoLD: their code's arguments (step 3 of MA keeps the last of 12 epochs; both mask
    # each modality's segments by its own video-level prediction; JoMoLD selects by audio event F1).
    "ma": TrainConfig(epochs=12, batch_size=16, lr=3e-4, step_size=10, gamma=0.1, select_metric="last",
                      inference="per_modality"),
    # LSLD's official code (fyyCS/LSLD main.py L420-427, L496, L333-340): lr 2e-4 (the paper says 6e-4), seed 6,
    # the best validation audio event-level F1, each modality masked by its own video-level prediction.
    "lsld_official": TrainConfig(epochs=20, batch_size=32, lr=2e-4, step_size=6, gamma=0.25, seed=6, select_metric="evt_a",
                                 inference="per_modality"),
    "jomold": TrainConfig(epochs=25, batch_size=128, lr=5e-4, step_size=6, gamma=0.25, seed=6, select_metric="evt_a",
                          inference="per_modality"),
    # The other backbones' code (every row on one of them trains with it: ``experiments.run``), each
    # selecting by validation segment Type@AV: stoneMo/MGN main.py (HAN's); JustinYuu/MM_Pyramid
    # main_avvp.py (lr 1e-4, otherwise HAN's); anonyUsr22/DHHN main_avvp.py and DHHN_origin.sh
    # (batch 64, 10 epochs, lr 3e-4, StepLR(10, 0.1)).
    "mgn": TrainConfig(),
    "mm_pyramid": TrainConfig(lr=1e-4),
    "dhhn": TrainConfig(epochs=10, batch_size=64),
}
