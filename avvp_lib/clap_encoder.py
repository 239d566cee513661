"""The real CLAP path: LAION-CLAP's text encoder behind the ``encode_text`` interface of ``ClipEncoder``.

The official LSLD code (fyyCS/LSLD ``main.py`` L171-173) builds
``laion_clap.CLAP_Module(enable_fusion=False)`` (audio model HTSAT-tiny, text model RoBERTa) and
loads ``630k-audioset-best.pt``; its audio features (``clap_audioset``, 10 x 512) are released
with the code, so only text embeddings are needed here, to denoise audio labels.

Local checkpoint only: pass ``checkpoint=`` or set ``AVVP_CLAP_CHECKPOINT``. Nothing is ever
downloaded (``CLAP_Module.load_ckpt(None)`` would fetch weights, so it is never called without a
path); missing weights or a missing package fail at once with what to do.

Or, in an environment without laion_clap (the bundle's ``.venv``): CLAP text embeddings made
beforehand, ``ClapTextTable`` from the file named by ``AVVP_CLAP_TEXT`` (made by
``scripts/clap_text_embeddings.py`` in the CLAP environment from the prompts that
``python -m avvp_lib clap-prompts`` lists). When set, it is used instead of a checkpoint.

``laion_clap`` is not a dependency of the bundle's ``.venv``: laion-clap 1.1.7 requires ``numpy<2``
(the bundle runs numpy 2.x) and pulls transformers, librosa, numba and wandb. It lives in an
environment of its own, ``requirements-clap.txt`` (``scripts/test_clap_env.sh`` builds it and tests
this wrapper there on a tiny random ``CLAP_Module``). It also needs the ``roberta-base``,
``bert-base-uncased`` and ``facebook/bart-base`` tokenizers and the ``roberta-base`` weights in
the Hugging Face cache (its modules load them when imported / built).
"""
from __future__ import annotations

import importlib
import io
import os
from pathlib import Path

import numpy as np
import torch

from avvp_lib.atomic import atomic_write
from avvp_lib.clip_encoder import WeightsUnavailable
from avvp_lib.paths import resolve

CHECKPOINT_ENV = "AVVP_CLAP_CHECKPOINT"
TEXT_ENV = "AVVP_CLAP_TEXT"  # an .npz of CLAP text embeddings (ClapTextTable), used instead of a checkpoint
# feature kind -> (CLAP_Module audio model, enable_fusion, the checkpoint it was extracted with)
CLAP_MODELS: dict[str, tuple[str, bool, str]] = {
    "clap_audioset": ("HTSAT-tiny", False, "630k-audioset-best.pt"),  # fyyCS/LSLD main.py L171-173
}
HOW_TO = ("Download {ckpt} (LAION-CLAP's released checkpoints) on a machine with network access, install laion-clap "
          "(pip install laion-clap==1.1.7, in an environment of its own: it needs numpy<2; requirements-clap.txt), then pass the file as "
          "checkpoint= or set {env}=/path/to/{ckpt}; or, without laion_clap here, set " + TEXT_ENV + " to CLAP text "
          "embeddings made beforehand (README, 'Real LLP').")


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


def text_table_path(kind: str) -> str | None:
    """The ``AVVP_CLAP_TEXT`` file for ``kind``'s text embeddings, if set (``WeightsUnavailable`` if it is missing)."""
    if kind not in CLAP_MODELS:
        raise KeyError(f"unknown CLAP feature kind {kind!r}; expected one of {sorted(CLAP_MODELS)}")
    chosen = os.environ.get(TEXT_ENV)
    if not chosen:
        return None
    path = resolve(chosen)
    if not Path(path).is_file():
        raise WeightsUnavailable(f"{TEXT_ENV}={chosen}: CLAP text embeddings not found: {path}")
    return str(path)


class ClapTextTable:
    """``encode_text`` from CLAP text embeddings made beforehand, one row per prompt.

    The file (``.npz``): ``prompts`` [n] str, ``embeddings`` [n, d] float32, ``kind`` (the CLAP
    feature kind) and ``checkpoint_sha256`` (the weights that made them). A prompt it lacks is an
    error naming the file and how to remake it, never a silent zero.
    """

    def __init__(self, path: str | Path, kind: str):
        self.path = Path(path)
        try:
            with np.load(self.path, allow_pickle=False) as f:
                prompts, emb, file_kind = f["prompts"], f["embeddings"], str(f["kind"])
                self.checkpoint_sha256 = str(f["checkpoint_sha256"])
        except (OSError, ValueError, KeyError) as err:
            raise ValueError(f"{self.path}: not a CLAP text-embedding file (scripts/clap_text_embeddings.py): "
                             f"{' '.join(str(err).split())}") from None
        if file_kind != kind:
            raise ValueError(f"{self.path}: CLAP text embeddings for {file_kind!r}, not {kind!r}")
        if emb.ndim != 2 or len(emb) != len(prompts):
            raise ValueError(f"{self.path}: {len(prompts)} prompts but embeddings of shape {emb.shape}")
        self.kind, self.index = kind, {str(p): i for i, p in enumerate(prompts)}
        self.embeddings = torch.nn.functional.normalize(torch.as_tensor(emb, dtype=torch.float32), dim=-1)

    def encode_text(self, prompts: list[str]) -> torch.Tensor:
        """[n, d] float32 on CPU, L2-normalised."""
        missing = [p for p in dict.fromkeys(prompts) if p not in self.index]
        if missing:
            raise WeightsUnavailable(
                f"{self.path}: no CLAP text embedding for {len(missing)} prompt(s), e.g. {missing[0]!r}. List this "
                "data's prompts with `python -m avvp_lib clap-prompts --profile ... --data-dir ... --out FILE` and embed "
                "them with scripts/clap_text_embeddings.py (in the CLAP environment, requirements-clap.txt).")
        return self.embeddings[[self.index[p] for p in prompts]] if prompts else torch.zeros(0)


def save_text_table(path: str | Path, kind: str, prompts: list[str], embeddings: torch.Tensor | np.ndarray,
                    checkpoint_sha256: str) -> None:
    """Write the file ``ClapTextTable`` reads (atomically: an interrupted write leaves no file)."""
    buf = io.BytesIO()
    np.savez(buf, prompts=np.array(prompts, dtype=str), embeddings=np.asarray(embeddings, dtype=np.float32),
             kind=np.array(kind), checkpoint_sha256=np.array(checkpoint_sha256))
    atomic_write(path, buf.getvalue())
