"""The real CLIP path: open_clip text and image encoders behind one small wrapper.

``ClipEncoder.for_kind("clip_vitb16")`` loads OpenAI ViT-B/16 (``ViT-B-16-quickgelu``, the
config the OpenAI weights belong to). ``pretrained`` is an open_clip tag ("openai") or a local
checkpoint path: an open_clip state dict, or OpenAI's original TorchScript ``.pt`` file
(``ViT-B-16.pt``, read with ``torch.jit.load``); set ``AVVP_CLIP_CHECKPOINT_VITB16`` /
``..._VITB32`` to a local file to avoid any download. Nothing is fetched when weights are
missing: a clear error says what to do.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import torch

from avvp_lib.paths import resolve

CLIP_MODELS: dict[str, tuple[str, str]] = {
    "clip_vitb16": ("ViT-B-16-quickgelu", "openai"),
    "clip_vitb32": ("ViT-B-32-quickgelu", "openai"),
}


def is_checkpoint_path(pretrained: str | None) -> bool:
    """True when ``pretrained`` names a local file rather than an open_clip tag."""
    return bool(pretrained) and (os.sep in pretrained or pretrained.endswith((".pt", ".bin", ".safetensors")))


def checkpoint_env(kind: str) -> str:
    """The environment variable naming a CLIP kind's local checkpoint: ``AVVP_CLIP_CHECKPOINT_VITB16``."""
    return f"AVVP_CLIP_CHECKPOINT_{kind.split('_')[1].upper()}"


def resolve_pretrained(kind: str, pretrained: str | None = None) -> tuple[str, str, str]:
    """(open_clip model name, tag or checkpoint path, environment variable) used for a CLIP feature kind.

    A relative checkpoint path is taken from the repository root, like every path in the bundle.
    """
    if kind not in CLIP_MODELS:
        raise KeyError(f"unknown CLIP feature kind {kind!r}; expected one of {sorted(CLIP_MODELS)}")
    name, tag = CLIP_MODELS[kind]
    env = checkpoint_env(kind)
    chosen = pretrained or os.environ.get(env) or tag
    return name, str(resolve(chosen)) if is_checkpoint_path(chosen) else chosen, env


class WeightsUnavailable(RuntimeError):
    """Pretrained weights could not be loaded (no network, or no such local file)."""


HOW_TO = ("Download the weights on a machine with network access (e.g. open_clip.create_model_and_transforms("
          "'{model}', pretrained='openai') caches them), then pass the checkpoint path as pretrained= or set "
          "{env}=/path/to/checkpoint.")


def is_torchscript(path: str | Path) -> bool:
    """A TorchScript archive (OpenAI's released ``.pt``) holds a ``code/`` folder; ``torch.save`` files do not."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as z:
        return any(name.split("/", 1)[-1].startswith("code/") for name in z.namelist())


def load_torchscript_clip(path: str | Path):
    """(model, preprocess) from an OpenAI TorchScript checkpoint, rebuilt as a plain open_clip ``CLIP``."""
    import open_clip
    from open_clip.model import build_model_from_openai_state_dict

    state = torch.jit.load(str(path), map_location="cpu").state_dict()
    state.pop("attn_mask", None)  # the causal text mask: open_clip builds its own
    model = build_model_from_openai_state_dict(state).float()
    return model, open_clip.image_transform(model.visual.image_size, is_train=False)


class ClipEncoder:
    """``encode_text`` (L2-normalised) / ``encode_images`` (L2-normalised unless asked not to) for an open_clip model."""

    def __init__(self, model: torch.nn.Module, preprocess, tokenizer, device: str | None = None, half: bool | None = None):
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.half = self.device.type == "cuda" if half is None else half
        self.model = model.to(self.device).eval()
        if self.half:
            self.model = self.model.half()
        self.preprocess, self.tokenizer = preprocess, tokenizer
        self._text_cache: dict[str, torch.Tensor] = {}

    @classmethod
    def load(cls, model_name: str, pretrained: str | None, device: str | None = None, env: str = "") -> "ClipEncoder":
        """``pretrained``: open_clip tag, local checkpoint path, or None for random weights (tests)."""
        import open_clip

        how = HOW_TO.format(model=model_name, env=env or "pretrained")
        if is_checkpoint_path(pretrained):
            if not Path(pretrained).is_file():
                raise WeightsUnavailable(f"CLIP checkpoint not found: {pretrained}. {how}")
            if is_torchscript(pretrained):
                model, preprocess = load_torchscript_clip(pretrained)
                return cls(model, preprocess, open_clip.get_tokenizer(model_name), device)
        try:
            model, _, preprocess = open_clip.create_model_and_transforms(model_name, pretrained=pretrained or None)
        except Exception as err:  # open_clip raises many kinds for missing weights
            raise WeightsUnavailable(f"could not load {model_name} pretrained={pretrained!r}: {err}. {how}") from err
        return cls(model, preprocess, open_clip.get_tokenizer(model_name), device)

    @classmethod
    def for_kind(cls, kind: str, pretrained: str | None = None, device: str | None = None) -> "ClipEncoder":
        name, chosen, env = resolve_pretrained(kind, pretrained)
        return cls.load(name, chosen, device, env)

    @torch.no_grad()
    def encode_text(self, prompts: list[str], batch_size: int = 256) -> torch.Tensor:
        """[n, d] float32 on CPU; each distinct prompt is encoded once per encoder."""
        todo = sorted({p for p in prompts if p not in self._text_cache})
        for i in range(0, len(todo), batch_size):
            chunk = todo[i:i + batch_size]
            emb = self.model.encode_text(self.tokenizer(chunk).to(self.device))
            for p, e in zip(chunk, torch.nn.functional.normalize(emb.float(), dim=-1).cpu()):
                self._text_cache[p] = e
        return torch.stack([self._text_cache[p] for p in prompts]) if prompts else torch.zeros(0)

    @torch.no_grad()
    def encode_images(self, images: list[np.ndarray] | torch.Tensor, batch_size: int = 64,
                      normalize: bool = True) -> torch.Tensor:
        """Images as HxWx3 uint8 arrays (preprocessed here) or a preprocessed [n, 3, H, W] tensor."""
        if not isinstance(images, torch.Tensor):
            from PIL import Image

            images = torch.stack([self.preprocess(Image.fromarray(np.asarray(im))) for im in images])
        out = []
        for i in range(0, len(images), batch_size):
            x = images[i:i + batch_size].to(self.device, torch.float16 if self.half else torch.float32)
            emb = self.model.encode_image(x).float()
            out.append((torch.nn.functional.normalize(emb, dim=-1) if normalize else emb).cpu())
        return torch.cat(out) if out else torch.zeros(0)
