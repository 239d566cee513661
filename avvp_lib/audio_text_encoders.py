"""Audio-text encoders (``encode_text(list[str]) -> Tensor[n, d]``, L2-normalised), as ``text_encoders`` for CLIP.

``get_audio_text_encoder`` picks the synthetic CLAP-like encoder for a synthetic world
(``SyntheticTextEncoder`` over the world's ``ClapSpace``: the bag-of-words encoder in the
audio latent space, built from the world's seed alone) and the real LAION-CLAP otherwise.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

from avvp_lib.clap_encoder import ClapEncoder, resolve_checkpoint
from avvp_lib.clip_encoder import WeightsUnavailable
from avvp_lib.synthetic.clap_space import ClapSpace
from avvp_lib.synthetic.world import WORLD_FILE, is_synthetic
from avvp_lib.text_encoders import SyntheticTextEncoder, TextEncoder, file_sha256


def world_seed(data_dir: str | Path) -> int:
    return json.loads((Path(data_dir) / WORLD_FILE).read_text())["config"]["seed"]


def synthetic_clap_text_encoder(data_dir: str | Path) -> SyntheticTextEncoder:
    """The CLAP-like text encoder of a synthetic world (its seed only; no labels are read)."""
    return SyntheticTextEncoder(ClapSpace.from_seed(world_seed(data_dir)))


def get_audio_text_encoder(data_dir: str | Path, clap_kind: str, device: str | None = None) -> TextEncoder:
    """The synthetic CLAP-like encoder for a synthetic world, else the real CLAP that made ``clap_kind``."""
    if is_synthetic(data_dir):
        return synthetic_clap_text_encoder(data_dir)
    _, _, checkpoint = resolve_checkpoint(clap_kind)  # fails fast, before anything is built
    return _clap_text_encoder(clap_kind, device, checkpoint)


@functools.lru_cache(maxsize=2)
def _clap_text_encoder(clap_kind: str, device: str | None, checkpoint: str) -> TextEncoder:
    return ClapEncoder.for_kind(clap_kind, checkpoint, device)


def audio_text_encoder_identity(data_dir: str | Path, clap_kind: str) -> dict:
    """What ``get_audio_text_encoder`` would use, as recorded with a run: the world's seed, or the checkpoint + hash."""
    if is_synthetic(data_dir):
        return {"encoder": "synthetic_clap", "world_seed": world_seed(data_dir)}
    try:
        _, _, checkpoint = resolve_checkpoint(clap_kind)
    except WeightsUnavailable as err:  # recorded, not raised: building the labels raises with the instructions
        return {"encoder": "laion_clap", "checkpoint": f"unavailable ({type(err).__name__})"}
    path = Path(checkpoint).resolve()
    return {"encoder": "laion_clap", "kind": clap_kind, "checkpoint": str(path), "sha256": file_sha256(path)}
