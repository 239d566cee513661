"""Text encoders with one interface, ``encode_text(list[str]) -> Tensor[n, d]`` (L2-normalised).

Which one a run uses is decided by its data and the feature kind, once, in the build context
(``train.BuildContext.text_encoder``): a synthetic world (its world file records a seed) gets the
world's ``synthetic.text_encoder.SyntheticTextEncoder`` (over its CLIP-like latent space, or over
its CLAP-like audio space, ``synthetic.clap_space``, for a CLAP kind), real features the CLIP
(``clip_encoder``) or LAION-CLAP (``clap_encoder``) matching the kind. Methods only ever see a
``TextEncoder``.
"""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Protocol

import torch

from avvp_lib.clap_encoder import CLAP_MODELS, ClapEncoder, ClapTextTable, resolve_checkpoint, text_table_path
from avvp_lib.clip_encoder import ClipEncoder, WeightsUnavailable, is_checkpoint_path, resolve_pretrained
from avvp_lib.synthetic.clap_space import ClapSpace
from avvp_lib.synthetic.text_encoder import SyntheticTextEncoder, WorldText, world_text


class TextEncoder(Protocol):
    def encode_text(self, prompts: list[str]) -> torch.Tensor: ...


def is_clap(kind: str) -> bool:
    """Whether ``kind`` is an audio feature kind of a CLAP model (``clap_encoder.CLAP_MODELS``)."""
    return kind in CLAP_MODELS


def text_encoder_for(world: WorldText | None, kind: str, device: str | None = None) -> TextEncoder:
    """The text encoder matching ``kind`` features of data from synthetic world ``world``
    (``synthetic.text_encoder.world_text``; None: real features, the real CLIP or CLAP of ``kind``)."""
    if world is not None:
        return SyntheticTextEncoder(ClapSpace.from_seed(world.seed)) if is_clap(kind) else SyntheticTextEncoder.for_world(world)
    if is_clap(kind):
        table = text_table_path(kind)  # CLAP text embeddings made beforehand, when given
        if table:
            return _clap_text_table(kind, table, Path(table).stat().st_mtime_ns)
        _, _, checkpoint = resolve_checkpoint(kind)  # fails fast, before anything is built
        return _clap_text_encoder(kind, device, checkpoint)
    _, pretrained, _ = resolve_pretrained(kind)  # the cache follows a changed $AVVP_CLIP_CHECKPOINT_*
    return _clip_text_encoder(kind, device, pretrained)


def text_encoder_identity(data_dir: str | Path, kind: str) -> dict:
    """What a run on ``data_dir`` uses for ``kind``, as recorded with it: the world's seed, or the CLIP tag /
    checkpoint + hash (CLAP: its text-embedding file or checkpoint + hash, or why it is unavailable; building the
    labels raises)."""
    world = world_text(data_dir)
    if world is not None:
        if is_clap(kind):
            return {"encoder": "synthetic_clap", "world_seed": world.seed}
        return {"encoder": "synthetic", "world_seed": world.seed, "clip_gap": world.clip_gap,
                "prompt_offset": world.prompt_offset}
    if is_clap(kind):
        try:
            table = text_table_path(kind)
            if table:
                path = Path(table).resolve()
                return {"encoder": "clap_text_table", "kind": kind, "file": str(path), "sha256": file_sha256(path)}
            _, _, checkpoint = resolve_checkpoint(kind)
        except WeightsUnavailable as err:
            return {"encoder": "laion_clap", "checkpoint": f"unavailable ({type(err).__name__})"}
        path = Path(checkpoint).resolve()
        return {"encoder": "laion_clap", "kind": kind, "checkpoint": str(path), "sha256": file_sha256(path)}
    name, pretrained, _ = resolve_pretrained(kind)
    if not is_checkpoint_path(pretrained):
        return {"encoder": name, "pretrained": pretrained}
    path = Path(pretrained).resolve()
    return {"encoder": name, "checkpoint": str(path), "sha256": file_sha256(path) if path.is_file() else "missing file"}


def file_sha256(path: Path) -> str:
    """Content hash of a (large) file, computed once per file version and process."""
    st = path.stat()
    return _sha256(path, st.st_size, st.st_mtime_ns, st.st_ino)


@functools.lru_cache(maxsize=8)
def _sha256(path: Path, size: int, mtime_ns: int, inode: int) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@functools.lru_cache(maxsize=2)
def _clap_text_table(clap_kind: str, path: str, mtime_ns: int) -> TextEncoder:
    """One loaded table per kind and file version."""
    return ClapTextTable(path, clap_kind)


@functools.lru_cache(maxsize=2)
def _clap_text_encoder(clap_kind: str, device: str | None, checkpoint: str) -> TextEncoder:
    return ClapEncoder.for_kind(clap_kind, checkpoint, device)


@functools.lru_cache(maxsize=2)
def _clip_text_encoder(clip_kind: str, device: str | None, pretrained: str) -> TextEncoder:
    """One loaded CLIP per kind, weights and process (its prompt embeddings are cached inside)."""
    return ClipEncoder.for_kind(clip_kind, pretrained, device=device)


def cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Cosine similarity matrix between rows of ``a`` [..., n, d] and ``b`` [m, d]."""
    return torch.nn.functional.normalize(a, dim=-1) @ torch.nn.functional.normalize(b, dim=-1).T
