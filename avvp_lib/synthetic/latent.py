"""The shared "language-vision" latent space of the synthetic world.

Every class c has a unit prototype ``U[c]`` in R^512. Prototypes of semantically related
classes (``CLASS_GROUPS``) share a group direction, so related classes are confusable, as
they are for a real CLIP. A separate unit vector ``background`` is the generic scene that
every video shows; the word "other" means it. ``text_mean`` is the direction every prompt
embedding shares (CLIP's "modality gap": text embeddings have a common mean that no image
points to); it is orthogonal to the prototypes and the background, so it dilutes every
image-text cosine alike. Audio has its own space (R^128) with prototypes ``A[c]``. All of it is
a deterministic function of the world seed.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from avvp_lib.vocabulary import CLASS_INDEX, NUM_CLASSES

LATENT_DIM = 512
AUDIO_DIM = 128
# Related classes share a direction (weight GROUP_SHARE) in the latent space.
CLASS_GROUPS: tuple[tuple[str, ...], ...] = (
    ("Cello", "Banjo", "Violin_fiddle", "Accordion", "Acoustic_guitar"),
    ("Speech", "Singing", "Cheering", "Clapping"),
    ("Baby_laughter", "Baby_cry_infant_cry"),
    ("Car", "Motorcycle", "Helicopter", "Lawn_mower", "Chainsaw"),
    ("Dog", "Cat", "Chicken_rooster"),
    ("Vacuum_cleaner", "Blender", "Frying_(food)"),
    ("Fire_alarm", "Telephone_bell_ringing"),
)
GROUP_SHARE = 0.5


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


@dataclass(frozen=True)
class LatentSpace:
    prototypes: np.ndarray  # [25, 512] visual/text class prototypes
    background: np.ndarray  # [512] generic scene ("other")
    audio_prototypes: np.ndarray  # [25, 128]
    seed: int
    text_mean: np.ndarray  # [512] shared by every prompt embedding, orthogonal to prototypes and background

    @classmethod
    def from_seed(cls, seed: int) -> "LatentSpace":
        rng = np.random.default_rng([seed, 0])
        own = unit(rng.standard_normal((NUM_CLASSES, LATENT_DIM)))
        protos = own.copy()
        for group in CLASS_GROUPS:
            shared = unit(rng.standard_normal(LATENT_DIM))
            for name in group:
                c = CLASS_INDEX[name]
                protos[c] = GROUP_SHARE * shared + np.sqrt(1 - GROUP_SHARE**2) * own[c]
        protos = unit(protos)
        background = unit(rng.standard_normal(LATENT_DIM))
        audio = unit(rng.standard_normal((NUM_CLASSES, AUDIO_DIM)))
        basis = np.linalg.qr(np.vstack([protos, background]).T)[0]  # orthonormal basis of their span
        gap = np.random.default_rng([seed, 3]).standard_normal(LATENT_DIM)
        text_mean = unit(gap - basis @ (basis.T @ gap))
        return cls(protos.astype(np.float32), background.astype(np.float32), audio.astype(np.float32), seed,
                   text_mean.astype(np.float32))

    def word_vector(self, word: str) -> np.ndarray:
        """A deterministic pseudo-random unit direction for a non-concept word."""
        h = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
        return unit(np.random.default_rng([self.seed, 1, h]).standard_normal(LATENT_DIM)).astype(np.float32)
