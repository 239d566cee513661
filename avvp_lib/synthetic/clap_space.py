"""The synthetic world's CLAP-like audio-text space: the world's audio latent seen by a 512-d encoder.

A real LAION-CLAP embeds audio and text in one 512-d space. Here that space is a fixed,
norm-preserving random lift ``P`` [128, 512] of the world's audio latent (the one VGGish-like
features are drawn from, ``latent.LatentSpace.audio_prototypes``) plus a shared ``ambient``
direction (the sound of no event, what the word "other" means):

    clap_t = (sum_c a_strength_c,t * A[c] + a_scene) @ P + AMBIENT_WEIGHT * ambient + noise

with the same per-video strengths and scene as the VGGish-like feature of that video. The
text side (``prototypes`` = unit(A @ P), ``background`` = ``ambient``, ``word_vector``) has the
attribute names of ``LatentSpace``, so ``synthetic.text_encoder.SyntheticTextEncoder(ClapSpace...)`` is
the CLAP-like text encoder. Everything is a function of the world seed alone (no labels).
``AMBIENT_WEIGHT`` was set once, not fitted to any paper number.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from avvp_lib.synthetic.latent import AUDIO_DIM, LatentSpace, unit

CLAP_DIM = 512
AMBIENT_WEIGHT = 0.3


@dataclass(frozen=True)
class ClapSpace:
    projection: np.ndarray  # [128, 512] audio latent -> CLAP-like space
    prototypes: np.ndarray  # [25, 512] unit(A @ P): what a class word means
    background: np.ndarray  # [512] the ambient sound: what "other" means
    seed: int

    @classmethod
    def from_seed(cls, seed: int) -> "ClapSpace":
        # key [seed, 3] is shared with LatentSpace.text_mean (different spaces, so harmless; changing it
        # would regenerate every CLAP feature): known, left as is
        rng = np.random.default_rng([seed, 3])
        projection = (rng.standard_normal((AUDIO_DIM, CLAP_DIM)) / np.sqrt(CLAP_DIM)).astype(np.float32)
        ambient = unit(rng.standard_normal(CLAP_DIM)).astype(np.float32)
        protos = unit(LatentSpace.from_seed(seed).audio_prototypes @ projection).astype(np.float32)
        return cls(projection, protos, ambient, seed)

    def word_vector(self, word: str) -> np.ndarray:
        """A deterministic pseudo-random unit direction for a non-concept word (this space's own)."""
        h = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
        return unit(np.random.default_rng([self.seed, 4, h]).standard_normal(CLAP_DIM)).astype(np.float32)

    def features(self, rng: np.random.Generator, audio_latent: np.ndarray, noise: float) -> np.ndarray:
        """[10, 128] noiseless audio latent of one video -> [10, 512] float32 CLAP-like segment features."""
        signal = audio_latent @ self.projection + AMBIENT_WEIGHT * self.background
        eps = rng.standard_normal(signal.shape) * (noise / np.sqrt(CLAP_DIM))
        return (signal + eps).astype(np.float32)
