"""Model registry: ``build_model(name, **kwargs)``; add a backbone by adding an entry."""
from __future__ import annotations

from torch import nn

from avvp_lib.models.han import HAN, HANOutput

MODELS: dict[str, type[nn.Module]] = {"han": HAN}


def build_model(name: str, **kwargs) -> nn.Module:
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; registered: {sorted(MODELS)}")
    return MODELS[name](**kwargs)


__all__ = ["HAN", "HANOutput", "MODELS", "build_model"]
