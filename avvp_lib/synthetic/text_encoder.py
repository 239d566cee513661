"""The synthetic world's text encoder: prompts embedded into its latent space as a bag of words.

A class word (see ``CLASS_KEYWORDS``) contributes its class prototype once, "other" /
"background" the background concept, every other word (templates, "and", "not", "none",
"playing", "a person") a fixed pseudo-random direction of weight ``FUNCTION_WORD_WEIGHT``.
Like a contrastive text encoder, it therefore hears the class in "not dog" but barely the
negation. It has the interface of ``text_encoders.TextEncoder``.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import torch

from avvp_lib.synthetic.latent import LatentSpace, unit
from avvp_lib.synthetic.world import WORLD_FILE
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


def world_seed(data_dir: str | Path) -> int | None:
    """The seed a synthetic world records in its world file, or None for a folder that is no world."""
    path = Path(data_dir) / WORLD_FILE
    if not path.is_file():
        return None
    try:
        return int(json.loads(path.read_text())["config"]["seed"])
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: not a synthetic world file (needs config.seed): {e}") from e


class SyntheticTextEncoder:
    """Bag-of-words text encoder into the synthetic latent space (module docstring)."""

    def __init__(self, space: LatentSpace):
        self.space = space

    @classmethod
    def from_seed(cls, seed: int) -> "SyntheticTextEncoder":
        return cls(LatentSpace.from_seed(seed))

    def _embed(self, prompt: str) -> np.ndarray:
        words = re.findall(r"[a-z]+", prompt.lower())
        classes = {_WORD_TO_CLASS[w] for w in words if w in _WORD_TO_CLASS}
        vec = self.space.prototypes[sorted(classes)].sum(0) if classes else np.zeros_like(self.space.background)
        if any(w in BACKGROUND_WORDS for w in words):
            vec = vec + self.space.background
        for w in words:
            if w not in _WORD_TO_CLASS and w not in BACKGROUND_WORDS:
                vec = vec + FUNCTION_WORD_WEIGHT * self.space.word_vector(w)
        return unit(vec)

    def encode_text(self, prompts: list[str]) -> torch.Tensor:
        return torch.as_tensor(np.stack([self._embed(p) for p in prompts]), dtype=torch.float32)
