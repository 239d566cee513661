"""Model registry: ``build_model(name, **kwargs)``; add a backbone by adding an entry.

Every backbone takes ``audio_dim`` and ``visual_dims`` (one or several visual feature kinds, fused
as HAN does) plus its own hyper-parameters (defaults: its official code), and returns a
``HANOutput`` (a subclass may carry more), so every supervision method trains any backbone.
A backbone whose original training adds loss terms exposes them as
``model.auxiliary_loss(out, video_label) -> Tensor`` (MGN, DHHN) and its learning rates as
``model.param_groups(lr)`` (DHHN); the trainer adds both to any supervision method's loss.
"""
from __future__ import annotations

import inspect

from torch import nn

from avvp_lib.models.dhhn import DHHN, DHHNOutput
from avvp_lib.models.han import HAN, HANOutput
from avvp_lib.models.mgn import MGN, MGNOutput
from avvp_lib.models.mm_pyramid import MMPyramid

MODELS: dict[str, type[nn.Module]] = {"han": HAN, "mgn": MGN, "mm_pyramid": MMPyramid, "dhhn": DHHN}


def build_model(name: str, **kwargs) -> nn.Module:
    """The registered backbone ``name`` built with ``kwargs`` (names it does not take are an error)."""
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; registered: {sorted(MODELS)}")
    accepted = set(inspect.signature(MODELS[name]).parameters)
    unknown = sorted(set(kwargs) - accepted)
    if unknown:
        raise TypeError(f"model {name!r} takes no option(s) {unknown}; it takes {sorted(accepted)}")
    return MODELS[name](**kwargs)


__all__ = ["DHHN", "DHHNOutput", "HAN", "HANOutput", "MGN", "MGNOutput", "MMPyramid", "MODELS", "build_model"]
