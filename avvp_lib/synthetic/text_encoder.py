"""The synthetic world's text encoder: prompts embedded into its latent space as a bag of words.

A class word (see ``CLASS_KEYWORDS``) contributes its class prototype once, "other" /
"background" the background concept, every other word (templates, "and", "not", "none",
"playing", "a person") a fixed pseudo-random direction of weight ``FUNCTION_WORD_WEIGHT``.
Like a contrastive text encoder, it therefore hears the class in "not dog" but barely the
negation. Two calibrated parameters of the world's feature model (``calibration.py``) shape it
like CLIP: every prompt carries the shared text direction ``LatentSpace.text_mean`` with weight
``clip_gap`` (CLIP's modality gap: it sets the scale of image-text cosines), and a class word
also subtracts ``prompt_offset * (u_c - mean(u))`` times the background that every frame shows,
where ``u_c`` is the fraction of the class's LLP labels that are not visible: prompts of classes
seldom on screen (Speech) match every frame less. The offsets have mean zero over the classes:
PLG's softmax sees only their differences, which is all the calibration can measure. It has the
interface of ``text_encoders.TextEncoder``.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from avvp_lib.synthetic.latent import LatentSpace, unit
from avvp_lib.synthetic.llp_statistics import load_statistics, visible_fraction
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


@dataclass(frozen=True)
class WorldText:
    """What a synthetic world's text encoder depends on: its seed and the calibrated text parameters."""

    seed: int
    clip_gap: float = 0.0
    prompt_offset: float = 0.0


def world_text(data_dir: str | Path) -> WorldText | None:
    """The ``WorldText`` a synthetic world records in its world file, or None for a folder that is no world."""
    path = Path(data_dir) / WORLD_FILE
    if not path.is_file():
        return None
    try:
        config = json.loads(path.read_text())["config"]
        model = config.get("model", {})
        return WorldText(int(config["seed"]), float(model.get("clip_gap", 0.0)), float(model.get("prompt_offset", 0.0)))
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise ValueError(f"{path}: not a synthetic world file (needs config.seed): {e}") from e


def world_seed(data_dir: str | Path) -> int | None:
    """The seed a synthetic world records in its world file, or None for a folder that is no world."""
    world = world_text(data_dir)
    return None if world is None else world.seed


class SyntheticTextEncoder:
    """Bag-of-words text encoder into the synthetic latent space (module docstring)."""

    def __init__(self, space: LatentSpace, gap: float = 0.0, prompt_offset: float = 0.0):
        self.space, self.gap = space, gap
        unseen = 1 - visible_fraction(load_statistics())
        self.unseen_offset = prompt_offset * (unseen - unseen.mean())  # [25], mean zero

    @classmethod
    def for_world(cls, world: WorldText) -> "SyntheticTextEncoder":
        return cls(LatentSpace.from_seed(world.seed), world.clip_gap, world.prompt_offset)

    @classmethod
    def from_world(cls, data_dir: str | Path) -> "SyntheticTextEncoder":
        world = world_text(data_dir)
        if world is None:
            raise FileNotFoundError(f"{Path(data_dir) / WORLD_FILE}: not a synthetic world")
        return cls.for_world(world)

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
        return unit(vec + self.gap * self.space.text_mean if self.gap else vec)  # no gap: a space may lack text_mean (CLAP)

    def encode_text(self, prompts: list[str]) -> torch.Tensor:
        return torch.as_tensor(np.stack([self._embed(p) for p in prompts]), dtype=torch.float32)
