"""Supervision registry: a method is a config dataclass plus a builder returning ``Targets``.

Add a pseudo-label method by writing ``build_<name>_targets(cfg, ctx) -> Targets`` and one
entry in each dict below; the training loop does not change.
"""
from __future__ import annotations

from avvp_lib.methods.baseline import HANLabels, build_han_targets
from avvp_lib.methods.jomold import JoMoLDConfig, build_jomold_targets
from avvp_lib.methods.lsld import LSLDConfig, build_lsld_targets
from avvp_lib.methods.ma import MAConfig, build_ma_targets
from avvp_lib.methods.vplan import VPLANConfig, build_vplan_targets

SUPERVISION_CONFIGS = {"han": HANLabels, "vplan": VPLANConfig, "lsld": LSLDConfig, "ma": MAConfig,
                       "jomold": JoMoLDConfig}
BUILDERS = {"han": build_han_targets, "vplan": build_vplan_targets, "lsld": build_lsld_targets,
            "ma": build_ma_targets, "jomold": build_jomold_targets}


def build_targets(cfg, ctx):
    """The ``Targets`` of supervision config ``cfg`` for the run in ``ctx``."""
    return BUILDERS[cfg.method](cfg, ctx)


__all__ = ["BUILDERS", "HANLabels", "JoMoLDConfig", "LSLDConfig", "MAConfig", "SUPERVISION_CONFIGS", "VPLANConfig",
           "build_targets"]
