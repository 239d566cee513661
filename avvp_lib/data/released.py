"""Feature kinds that other projects release, read as they are (shapes from their public code).

- ``valor_clip_vitl14``: VALOR's ``CLIP/features`` — OpenAI CLIP ViT-L/14 image embeddings of 10
  frames (one per segment), L2-normalised, [10, 768].
- ``valor_clap``: VALOR's ``CLAP/features`` — LAION-CLAP (fusion) audio feature maps, [64, 768]
  (2 frequency rows x 32 time steps); ``valor_clap_segments`` turns them into 10 segments.
- ``valor_clip_labels`` / ``valor_clap_labels``: VALOR's ``segment_pseudo_labels`` (visual / audio),
  binary [10, 25].
- ``clap_audioset``: LSLD's LAION-CLAP audio segment features, [10, 512].

Put (or symlink) each released folder at ``<data_dir>/feats/<kind>/``.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from avvp_lib.vocabulary import NUM_CLASSES, NUM_SEGMENTS

RELEASED_SHAPES: dict[str, tuple[int, int]] = {
    "valor_clip_vitl14": (10, 768),
    "valor_clap": (64, 768),
    "valor_clip_labels": (10, NUM_CLASSES),
    "valor_clap_labels": (10, NUM_CLASSES),
    "clap_audioset": (10, 512),
}
CLAP_MAP_ROWS, CLAP_MAP_STEPS = 2, 32
VALOR_UPSAMPLED_STEPS = 1024


def valor_clap_segments(maps: np.ndarray) -> np.ndarray:
    """VALOR's CLAP feature maps [64, D] -> [10, D] segment features, as VALOR's ``MMIL_Net.forward``.

    VALOR views the 64 rows as 2 x 32, upsamples the 32 steps bicubically to 1024, projects,
    averages the 2 rows and average-pools to 10 segments. Every step is linear and the projection
    commutes with the others, so applying them to the features first gives the same segments.
    """
    x = torch.as_tensor(np.asarray(maps, np.float32)).T.reshape(1, -1, CLAP_MAP_ROWS, CLAP_MAP_STEPS)
    up = F.interpolate(x, size=(CLAP_MAP_ROWS, VALOR_UPSAMPLED_STEPS), mode="bicubic").mean(dim=2)
    return F.adaptive_avg_pool1d(up, NUM_SEGMENTS)[0].T.contiguous().numpy()


RELEASED_REDUCERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"valor_clap": valor_clap_segments}
