"""Experiments are data: one frozen ``RunConfig`` per training run.

A config round-trips through JSON (``to_dict`` / ``from_dict``, unknown keys rejected, every
value converted to its field's type or refused with ``ConfigError``) and its hash
(``config_hash``) names the run folder, so a finished run is never recomputed and every output
can be traced to the config that made it.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from avvp_lib.methods import METHODS, HANLabels, get_method
from avvp_lib.metrics import INFERENCE_RULES, METRIC_KEYS


class ConfigError(ValueError):
    """A config value of the wrong type or out of range; the message names the key."""


@dataclass(frozen=True)
class DataConfig:
    data_dir: str = "data/synthetic_default"
    annotations_dir: str | None = None  # defaults to data_dir
    audio: str = "vggish"
    visual: tuple[str, ...] = ("res152", "r2plus1d_18")
    missing: str = "error"  # videos without a feature file: "error" or "skip" (scored on the present subset)
    eval_audio: str | None = None  # another audio eval CSV (the legacy 2020 file); None: the corrected one


HAN_FIELDS = ("num_layers", "share_layer", "dropout", "visual_dropout")


@dataclass(frozen=True)
class ModelConfig:
    """The backbone (a ``models.MODELS`` name) and its hyper-parameters.

    ``num_layers``/``share_layer``/``dropout``/``visual_dropout`` are HAN's (``visual_dropout`` is
    LSLD's official ``cls_dropout``). Every other backbone runs at its own defaults (its official
    code's), overridden by ``options`` (its constructor's keyword arguments); an empty ``options``
    and a zero ``visual_dropout`` are left out of the config's dict, so older hashes stay.
    """

    name: str = "han"
    num_layers: int = 1
    share_layer: bool = True  # upstream: one hybrid attention layer serves both modalities
    dropout: float = 0.1
    visual_dropout: float = field(default=0.0, metadata={"omit_if_default": True})
    options: dict[str, Any] = field(default_factory=dict, hash=False, metadata={"omit_if_default": True})

    def __post_init__(self) -> None:
        changed = [f.name for f in fields(self) if f.name in HAN_FIELDS and getattr(self, f.name) != f.default]
        if self.name != "han" and changed:
            raise ValueError(f"model.{changed} are HAN's settings; set {self.name!r} through model.options")
        if self.name == "han" and set(self.options) & set(HAN_FIELDS):
            raise ValueError(f"set HAN's {sorted(set(self.options) & set(HAN_FIELDS))} as model fields, not options")

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``build_model(name, ...)`` beside the input sizes."""
        han = {f: getattr(self, f) for f in HAN_FIELDS} if self.name == "han" else {}
        return {**han, **self.options}


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser and schedule (Adam + StepLR). Defaults: upstream HAN."""

    epochs: int = 40
    batch_size: int = 16
    lr: float = 3e-4
    step_size: int = 10
    gamma: float = 0.1
    seed: int = 1
    select_metric: str = "seg_type"  # model selection on validation, as upstream HAN; "last": the last epoch (MA)
    inference: str = "fused"  # see metrics.binarize

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "step_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"train.{name} must be at least 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ConfigError(f"train.lr must be positive, got {self.lr}")
        if not 0 < self.gamma <= 1:
            raise ConfigError(f"train.gamma must be in (0, 1], got {self.gamma}")
        if self.select_metric not in (*METRIC_KEYS, "last"):
            raise ConfigError(f"train.select_metric must be one of {[*METRIC_KEYS, 'last']}, got {self.select_metric!r}")
        if self.inference not in INFERENCE_RULES:
            raise ConfigError(f"train.inference must be one of {list(INFERENCE_RULES)}, got {self.inference!r}")


@dataclass(frozen=True)
class RunConfig:
    name: str
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    supervision: Any = field(default_factory=HANLabels)  # the config of a methods.METHODS entry

    def replace(self, **changes: Any) -> "RunConfig":
        return dataclasses.replace(self, **changes)

    def feature_kinds(self) -> tuple[str, ...]:
        """Feature kinds the run reads: its model inputs, then the CLIP (and CLAP) kinds its pseudo labels come from."""
        return tuple(dict.fromkeys((self.data.audio, *self.data.visual, *pseudo_label_kinds(self.supervision).values())))


def pseudo_label_kinds(supervision: Any) -> dict[str, str]:
    """The feature kinds a supervision's pseudo labels read, by field (``clip_kind``, ``clap_kind``).

    A config that reads only some of them declares it with its own ``pseudo_label_kinds()`` method.
    """
    if hasattr(supervision, "pseudo_label_kinds"):
        return supervision.pseudo_label_kinds()
    return {k: getattr(supervision, k) for k in ("clip_kind", "clap_kind") if getattr(supervision, k, None)}


def _default(f: dataclasses.Field) -> Any:
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def _plain(obj: Any) -> Any:
    """JSON-ready form of a config; an int given for a float field is written as a float (alpha=4 is alpha=4.0)."""
    if is_dataclass(obj):
        hints = typing.get_type_hints(type(obj))
        as_float = lambda name, v: float(v) if hints.get(name) is float and type(v) is int else v  # noqa: E731
        out = {f.name: _plain(as_float(f.name, getattr(obj, f.name))) for f in fields(obj)
               if not (f.metadata.get("omit_if_default") and getattr(obj, f.name) == _default(f))}
        if any(obj.__class__ is m.config for m in METHODS.values()):
            out = {"method": obj.method, **out}
        return out
    if isinstance(obj, tuple):
        return [_plain(x) for x in obj]
    return obj


def to_dict(config: RunConfig) -> dict:
    return _plain(config)


def _convert(value: Any, tp: Any, where: str) -> Any:
    """``value`` as type ``tp`` (YAML reads ``1e-3`` as a string); ``ConfigError`` when it is not one."""
    args = typing.get_args(tp)
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        if value is None and type(None) in args:
            return None
        (tp,) = [a for a in args if a is not type(None)]
        return _convert(value, tp, where)
    if typing.get_origin(tp) is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        return tuple(_convert(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
    if typing.get_origin(tp) is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a mapping, got {value!r}")
        return dict(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where} must be true or false, got {value!r}")
    if tp in (int, float):
        try:
            number = tp(value) if isinstance(value, str) else value
        except ValueError:
            number = None
        if isinstance(number, (int, float)) and not isinstance(number, bool) and (tp is float or float(number).is_integer()):
            return tp(number)
        raise ConfigError(f"{where} must be {'an integer' if tp is int else 'a number'}, got {value!r}")
    if tp is str and isinstance(value, str):
        return value
    if tp is Any:
        return value
    raise ConfigError(f"{where} must be {getattr(tp, '__name__', tp)}, got {value!r}")


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a mapping of keys to values, got {data!r}")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise KeyError(f"unknown config key(s) {unknown} in {where}; allowed: {sorted(known)}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        f = known[name]
        default = _default(f)
        if name == "supervision":
            value = supervision_from_dict(value, f"{where}.supervision")
        elif is_dataclass(default):
            value = _build(type(default), value, f"{where}.{name}")
        else:
            value = _convert(value, hints[name], f"{where}.{name}")
        kwargs[name] = value
    return cls(**kwargs)


def supervision_from_dict(data: Any, where: str = "supervision") -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a mapping with a 'method' key, got {data!r}")
    data = dict(data)
    method = data.pop("method", None)
    if method not in METHODS:
        raise KeyError(f"{where}.method must be one of {sorted(METHODS)}, got {method!r}")
    return _build(get_method(method).config, data, where)


def from_dict(data: Any) -> RunConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"a run config is a mapping of keys to values, got {data!r}")
    if "name" not in data:
        raise KeyError("a run config needs a 'name'")
    return _build(RunConfig, data, "config")


def config_hash(config: RunConfig) -> str:
    """Hash of everything but the name: two names for one config share one run."""
    d = to_dict(config)
    d.pop("name")
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:10]
