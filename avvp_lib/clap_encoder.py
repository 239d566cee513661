"""The real CLAP path: LAION-CLAP's text encoder behind the ``encode_text`` interface of ``ClipEncoder``.

The official LSLD code (fyyCS/LSLD ``main.py`` L171-173) builds
``laion_clap.CLAP_Module(enable_fusion=False)`` (audio model HTSAT-tiny, text model RoBERTa) and
loads ``630k-audioset-best.pt``; its audio features (``clap_audioset``, 10 x 512) are released
with the code, so only text embeddings are needed here, to denoise audio labels.

Local checkpoint only: pass ``checkpoint=`` or set ``AVVP_CLAP_CHECKPOINT``. Nothing is ever
downloaded (``CLAP_Module.load_ckpt(None)`` would fetch weights, so it is never called without a
path); missing weights or a missing package fail at once with what to do.

``laion_clap`` is not a dependency of the bundle's ``.venv``: laion-clap 1.1.7 requires ``numpy<2``
(the bundle runs numpy 2.x) and pulls transformers, librosa, numba and wandb. It lives in an
environment of its own, ``requirements-clap.txt`` (``scripts/test_clap_env.sh`` builds it and tests
this wrapper there on a tiny random ``CLAP_Module``). It also needs the ``roberta-base``,
``bert-base-uncased`` and ``facebook/bart-base`` tokenizers and the ``roberta-base`` weights in
the Hugging Face cache (its modules load them when imported / built).
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path

import torch

from avvp_lib.clip_encoder import WeightsUnavailable
from avvp_lib.paths import resolve

CHECKPOINT_ENV = "AVVP_CLAP_CHECKPOINT"
# feature kind -> (CLAP_Module audio model, enable_fusion, the checkpoint it was extracted with)
CLAP_MODELS: dict[str, tuple[str, bool, str]] = {
    "clap_audioset": ("HTSAT-tiny", False, "630k-audioset-best.pt"),  # fyyCS/LSLD main.py L171-173
}
HOW_TO = ("Download {ckpt} (LAION-CLAP's released checkpoints) on a machine with network access, install laion-clap "
          "(pip install laion-clap==1.1.7, in an environment of its own: it needs numpy<2; requirements-clap.txt), then pass the file as "
          "checkpoint= or set {env}=/path/to/{ckpt}.")


class ClapUnavailable(WeightsUnavailable):
    """The ``laion_clap`` package is not installed."""


def resolve_checkpoint(kind: str, checkpoint: str | None = None) -> tuple[str, bool, str]:
    """(audio model, enable_fusion, checkpoint path) of a CLAP feature kind; ``WeightsUnavailable`` when no local file."""
    if kind not in CLAP_MODELS:
        raise KeyError(f"unknown CLAP feature kind {kind!r}; expected one of {sorted(CLAP_MODELS)}")
    amodel, fusion, ckpt = CLAP_MODELS[kind]
    how = HOW_TO.format(ckpt=ckpt, env=CHECKPOINT_ENV)
    chosen = checkpoint or os.environ.get(CHECKPOINT_ENV)
    if not chosen:
        raise WeightsUnavailable(f"no CLAP checkpoint given for {kind!r} features. {how}")
    path = resolve(chosen)
    if not Path(path).is_file():
        raise WeightsUnavailable(f"CLAP checkpoint not found: {path}. {how}")
    return amodel, fusion, str(path)


def import_laion_clap():
    """The ``laion_clap`` module, or ``ClapUnavailable`` saying how to get it."""
    try:
        return importlib.import_module("laion_clap")
    except ImportError as err:
        raise ClapUnavailable(f"laion_clap is not installed ({err}). " + HOW_TO.format(
            ckpt="630k-audioset-best.pt", env=CHECKPOINT_ENV)) from err


class ClapEncoder:
    """``encode_text`` (L2-normalised, float32 on CPU, cached per prompt) for a ``laion_clap.CLAP_Module``."""

    def __init__(self, module: torch.nn.Module):
        self.module = module.eval()
        self._text_cache: dict[str, torch.Tensor] = {}

    @classmethod
    def for_kind(cls, kind: str = "clap_audioset", checkpoint: str | None = None, device: str | None = None) -> "ClapEncoder":
        """The CLAP model that made ``kind``'s features, from a local checkpoint (checked before the import)."""
        amodel, fusion, path = resolve_checkpoint(kind, checkpoint)
        laion_clap = import_laion_clap()
        module = laion_clap.CLAP_Module(enable_fusion=fusion, amodel=amodel, device=device)
        module.load_ckpt(ckpt=path, verbose=False)
        return cls(module)

    @torch.no_grad()
    def encode_text(self, prompts: list[str], batch_size: int = 256) -> torch.Tensor:
        """[n, d] float32 on CPU; each distinct prompt is encoded once per encoder."""
        todo = sorted({p for p in prompts if p not in self._text_cache})
        for i in range(0, len(todo), batch_size):
            chunk = todo[i:i + batch_size]
            emb = torch.as_tensor(self.module.get_text_embedding(chunk, use_tensor=True)).float().reshape(len(chunk), -1)
            for p, e in zip(chunk, torch.nn.functional.normalize(emb, dim=-1).cpu()):
                self._text_cache[p] = e
        return torch.stack([self._text_cache[p] for p in prompts]) if prompts else torch.zeros(0)
