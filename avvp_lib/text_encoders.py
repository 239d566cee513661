"""Text encoders with one interface, ``encode_text(list[str]) -> Tensor[n, d]`` (L2-normalised).

Which one a run uses is decided by its data, once, in the build context
(``train.BuildContext.text_encoder``): a synthetic world (its world file records a seed) gets the
world's ``synthetic.text_encoder.SyntheticTextEncoder``, real features the CLIP matching the
feature kind (``clip_encoder``). Methods only ever see a ``TextEncoder``.
"""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Protocol

import torch

from avvp_lib.clip_encoder import ClipEncoder, is_checkpoint_path, resolve_pretrained
from avvp_lib.synthetic.text_encoder import SyntheticTextEncoder, world_seed


class TextEncoder(Protocol):
    def encode_text(self, prompts: list[str]) -> torch.Tensor: ...


def text_encoder_for(world: int | None, clip_kind: str, device: str | None = None) -> TextEncoder:
    """The encoder of data whose world seed is ``world`` (``synthetic.text_encoder.world_seed``; None: real
    features, the real CLIP matching ``clip_kind``)."""
    if world is not None:
        return SyntheticTextEncoder.from_seed(world)
    _, pretrained, _ = resolve_pretrained(clip_kind)  # the cache follows a changed $AVVP_CLIP_CHECKPOINT_*
    return _clip_text_encoder(clip_kind, device, pretrained)


def text_encoder_identity(data_dir: str | Path, clip_kind: str) -> dict:
    """What a run on ``data_dir`` uses, as recorded with it: the world's seed, or CLIP's tag or checkpoint + hash."""
    seed = world_seed(data_dir)
    if seed is not None:
        return {"encoder": "synthetic", "world_seed": seed}
    name, pretrained, _ = resolve_pretrained(clip_kind)
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
def _clip_text_encoder(clip_kind: str, device: str | None, pretrained: str) -> TextEncoder:
    """One loaded CLIP per kind, weights and process (its prompt embeddings are cached inside)."""
    return ClipEncoder.for_kind(clip_kind, pretrained, device=device)


def cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Cosine similarity matrix between rows of ``a`` [..., n, d] and ``b`` [m, d]."""
    return torch.nn.functional.normalize(a, dim=-1) @ torch.nn.functional.normalize(b, dim=-1).T
