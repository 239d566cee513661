"""Method registry: one name, one ``Method`` entry (open_clip ``factory.py`` style).

A method is its config dataclass (``config.method`` is the registry name), ``build_targets(cfg,
ctx) -> Targets`` for the trainer, ``segment_labels(cfg, split, ctx)`` -> [N, T, C] visual
segment labels of a split for the label-quality tables (None for methods without them), and
``requires(run_config)`` -> the runs it needs finished first (PLD's eq. 9 model, MA's base
model, JoMoLD's noise estimator). ``ctx`` is a ``train.BuildContext``, a method's only door to
files. The trainer, config parsing, the run planner, the tables and the notebooks all go
through ``METHODS``; adding a method is writing its module and adding one entry here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from avvp_lib.methods.baseline import HANLabels, build_han_targets, han_segment_labels
from avvp_lib.methods.jomold import JoMoLDConfig, build_jomold_targets, jomold_requires
from avvp_lib.methods.lsld import LSLDConfig, build_lsld_targets, lsld_segment_labels
from avvp_lib.methods.lsld_audio import LSLDOfficialConfig, build_lsld_official_targets
from avvp_lib.methods.ma import MAConfig, build_ma_targets, ma_requires
from avvp_lib.methods.vplan import VPLANConfig, build_vplan_targets, vplan_requires, vplan_segment_labels
from avvp_lib.methods.vplan_lsld import (VPLANLSLDConfig, build_vplan_lsld_targets, vplan_lsld_requires,
                                         vplan_lsld_segment_labels)
from avvp_lib.supervision import Targets


def no_prerequisites(run_config: Any) -> tuple:
    """``requires`` of a method that needs no other run."""
    return ()


@dataclass(frozen=True)
class Method:
    name: str
    config: type  # frozen dataclass with ``method: ClassVar[str] = name``
    build_targets: Callable[[Any, Any], Targets]  # (cfg, BuildContext) -> Targets over the train split
    segment_labels: Callable[[Any, str, Any], np.ndarray] | None = None  # (cfg, split name, BuildContext)
    requires: Callable[[Any], tuple] = no_prerequisites  # RunConfig -> prerequisite RunConfigs


METHODS: dict[str, Method] = {m.name: m for m in (
    Method("han", HANLabels, build_han_targets, han_segment_labels),
    Method("vplan", VPLANConfig, build_vplan_targets, vplan_segment_labels, vplan_requires),
    Method("lsld", LSLDConfig, build_lsld_targets, lsld_segment_labels),
    Method("ma", MAConfig, build_ma_targets, requires=ma_requires),
    Method("jomold", JoMoLDConfig, build_jomold_targets, requires=jomold_requires),
    Method("lsld_official", LSLDOfficialConfig, build_lsld_official_targets, lsld_segment_labels),
    Method("vplan_lsld", VPLANLSLDConfig, build_vplan_lsld_targets, vplan_lsld_segment_labels, vplan_lsld_requires),
)}


def get_method(name: str) -> Method:
    if name not in METHODS:
        raise KeyError(f"unknown supervision method {name!r}; registered: {sorted(METHODS)}")
    return METHODS[name]


def method_of(cfg: Any) -> Method:
    """The registry entry of a supervision config (by its class's ``method`` name)."""
    return get_method(cfg.method)


def build_targets(cfg: Any, ctx: Any) -> Targets:
    """The ``Targets`` of supervision config ``cfg`` for the run in ``ctx``."""
    return method_of(cfg).build_targets(cfg, ctx)


def requires(run_config: Any) -> tuple:
    """The runs ``run_config`` needs finished before its targets can be built (its method's ``requires``)."""
    return tuple(method_of(run_config.supervision).requires(run_config))


def with_prerequisites(configs: list) -> list:
    """``configs`` and every run they require (``requires``, recursively), each prerequisite before its dependents."""
    out: list = []

    def add(config: Any) -> None:
        for pre in requires(config):
            add(pre)
        if config not in out:
            out.append(config)

    for c in configs:
        add(c)
    return out


def segment_labels(ctx: Any, split: str) -> np.ndarray:
    """Visual segment labels [N, T, C] of ``split`` by the method of ``ctx.config`` (LSLD's may be soft)."""
    method = method_of(ctx.config.supervision)
    if method.segment_labels is None:
        raise ValueError(f"method {method.name!r} makes no segment-level labels")
    return method.segment_labels(ctx.config.supervision, split, ctx)


__all__ = ["HANLabels", "JoMoLDConfig", "LSLDConfig", "LSLDOfficialConfig", "METHODS", "MAConfig", "Method",
           "VPLANConfig", "VPLANLSLDConfig", "build_targets",
           "get_method", "method_of", "requires", "segment_labels", "with_prerequisites"]
