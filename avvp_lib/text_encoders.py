"""Text encoders with one interface, ``encode_text(list[str]) -> Tensor[n, d]`` (L2-normalised).

``SyntheticTextEncoder`` embeds prompts into the synthetic world's latent space as a bag of
words: a class word (see ``CLASS_KEYWORDS``) contributes its class prototype once, "other" /
"background" the background concept, every other word (templates, "and", "not", "none",
"playing", "a person") a fixed pseudo-random direction of weight ``FUNCTION_WORD_WEIGHT``.
Like a contrastive text encoder, it therefore hears the class in "not dog" but barely the
negation. Two calibrated parameters of the world's feature model (``synthetic/calibration.py``)
shape it like CLIP: every prompt carries the shared text direction ``LatentSpace.text_mean`` with
weight ``clip_gap`` (CLIP's modality gap: it sets the scale of image-text cosines), and a class
word also subtracts ``prompt_offset * (u_c - mean(u))`` times the background that every frame
shows, where ``u_c`` is the fraction of the class's LLP labels that are not visible: prompts of
classes seldom on screen (Speech) match every frame less. The offsets have mean zero over the
classes: PLG's softmax sees only their differences, which is all the calibration can measure. ``get_text_encoder`` picks it for a synthetic world and the real CLIP otherwise.
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from avvp_lib.clip_encoder import is_checkpoint_path, resolve_pretrained
from avvp_lib.synthetic.latent import LatentSpace, unit
from avvp_lib.synthetic.llp_statistics import load_statistics, visible_fraction
from avvp_lib.synthetic.world import WORLD_FILE, is_synthetic
from avvp_lib.vocabulary import CLASS_INDEX

CLASS_KEYWORDS: dict[str, tuple[str, ...]] = {
    "Speech": ("speech", "speeching", "speaking", "talking"), "Car": ("car",), "Cheering": ("cheering",),
    "Dog": ("dog",), "Cat": ("cat",), "Frying_(food)": ("frying",), "Basketball_bounce": ("basketball",),
    "Fire_alarm": ("alarm",), "Chainsaw": ("chainsaw",), "Cello": ("cello",), "Banjo": ("banjo",),
    "Singing": ("singing",), "Chicken_rooster": ("chicken", "rooster"), "Violin_fiddle": ("violin", "fiddle"),
    "Vacuum_cleaner": ("vacuum",), "Baby_laughter": ("laughter", "laughing"), "Accordion": ("accordion",),
    "Lawn_mower": ("lawn", "mower"), "Motorcycle": ("motorcycle",), "Helicopter": ("helicopter",),
    "Acoustic_guitar": ("guitar",), "Telephone_bell_ringing": ("telephone",),
    "Baby_cry_infant_cry": ("cry", "crying"), "Blender": ("blender",), "Clapping": ("clapping",),
}
BACKGROUND_WORDS = ("other", "background")
FUNCTION_WORD_WEIGHT = 0.35
_WORD_TO_CLASS = {w: CLASS_INDEX[c] for c, words in CLASS_KEYWORDS.items() for w in words}


class TextEncoder(Protocol):
    def encode_text(self, prompts: list[str]) -> torch.Tensor: ...


class SyntheticTextEncoder:
    """Bag-of-words text encoder into the synthetic latent space (module docstring)."""

    def __init__(self, space: LatentSpace, gap: float = 0.0, prompt_offset: float = 0.0):
        self.space, self.gap = space, gap
        unseen = 1 - visible_fraction(load_statistics())
        self.unseen_offset = prompt_offset * (unseen - unseen.mean())  # [25], mean zero

    @classmethod
    def from_world(cls, data_dir: str | Path) -> "SyntheticTextEncoder":
        config = json.loads((Path(data_dir) / WORLD_FILE).read_text())["config"]
        model = config["model"]
        return cls(LatentSpace.from_seed(config["seed"]), model.get("clip_gap", 0.0), model.get("prompt_offset", 0.0))

    def _embed(self, prompt: str) -> np.ndarray:
        words = re.findall(r"[a-z]+", prompt.lower())
        classes = {_WORD_TO_CLASS[w] for w in words if w in _WORD_TO_CLASS}
        vec = self.space.prototypes[sorted(classes)].sum(0) if classes else np.zeros_like(self.space.background)
        vec = vec - self.unseen_offset[sorted(classes)].sum() * self.space.background
        if any(w in BACKGROUND_WORDS for w in words):
            vec = vec + self.space.background
        for w in words:
            if w not in _WORD_TO_CLASS and w not in BACKGROUND_WORDS:
                vec = vec + FUNCTION_WORD_WEIGHT * self.space.word_vector(w)
        return unit(vec + self.gap * self.space.text_mean)

    def encode_text(self, prompts: list[str]) -> torch.Tensor:
        return torch.as_tensor(np.stack([self._embed(p) for p in prompts]), dtype=torch.float32)


def get_text_encoder(data_dir: str | Path, clip_kind: str, device: str | None = None) -> TextEncoder:
    """The synthetic encoder for a synthetic world, else the real CLIP matching ``clip_kind``."""
    if is_synthetic(data_dir):
        return SyntheticTextEncoder.from_world(data_dir)
    _, pretrained, _ = resolve_pretrained(clip_kind)  # the cache follows a changed $AVVP_CLIP_CHECKPOINT_*
    return _clip_text_encoder(clip_kind, device, pretrained)


def text_encoder_identity(data_dir: str | Path, clip_kind: str) -> dict:
    """What ``get_text_encoder`` would use, as recorded with a run: the world's seed and gap, or CLIP's tag or checkpoint + hash."""
    if is_synthetic(data_dir):
        config = json.loads((Path(data_dir) / WORLD_FILE).read_text())["config"]
        return {"encoder": "synthetic", "world_seed": config["seed"],
                **{k: config["model"].get(k, 0.0) for k in ("clip_gap", "prompt_offset")}}
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
    from avvp_lib.clip_encoder import ClipEncoder

    return ClipEncoder.for_kind(clip_kind, pretrained, device=device)


def cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Cosine similarity matrix between rows of ``a`` [..., n, d] and ``b`` [m, d]."""
    return torch.nn.functional.normalize(a, dim=-1) @ torch.nn.functional.normalize(b, dim=-1).T
