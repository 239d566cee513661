"""Supervision registry: a method is a config dataclass plus a builder returning ``Targets``.

Add a pseudo-label method by writing ``build_<name>_targets(cfg, ctx) -> Targets`` and one
entry in each dict below; the training loop does not change.
"""
from __future__ import annotations

from avvp_lib.methods.baseline import HANLabels, build_han_targets
from avvp_lib.methods.jomold import JoMoLDConfig, build_jomold_targets
from avvp_lib.methods.lsld import LSLDConfig, build_lsld_targets
from avvp_lib.methods.lsld_audio import LSLDOfficialConfig, build_lsld_official_targets
from avvp_lib.methods.ma import MAConfig, build_ma_targets
from avvp_lib.methods.vplan import VPLANConfig, build_vplan_targets
from avvp_lib.methods.vplan_lsld import VPLANLSLDConfig, build_vplan_lsld_targets

SUPERVISION_CONFIGS = {"han": HANLabels, "vplan": VPLANConfig, "lsld": LSLDConfig, "ma": MAConfig,
                       "jomold": JoMoLDConfig, "lsld_official": LSLDOfficialConfig, "vplan_lsld": VPLANLSLDConfig}
BUILDERS = {"han": build_han_targets, "vplan": build_vplan_targets, "lsld": build_lsld_targets,
            "ma": build_ma_targets, "jomold": build_jomold_targets, "lsld_official": build_lsld_official_targets,
            "vplan_lsld": build_vplan_lsld_targets}


def build_targets(cfg, ctx):
    """The ``Targets`` of supervision config ``cfg`` for the run in ``ctx``."""
    return BUILDERS[cfg.method](cfg, ctx)


__all__ = ["BUILDERS", "HANLabels", "JoMoLDConfig", "LSLDConfig", "LSLDOfficialConfig", "MAConfig", "SUPERVISION_CONFIGS",
           "VPLANConfig", "VPLANLSLDConfig", "build_targets"]
