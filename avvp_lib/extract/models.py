"""Tiny randomly initialised encoders of the real classes, for tests and the smoke notebook."""
from __future__ import annotations

import open_clip
import torch

from avvp_lib.clip_encoder import ClipEncoder
from avvp_lib.extract.vggish import VGGish


def tiny_clip_encoder(embed_dim: int = 512, seed: int = 0, device: str | None = None) -> ClipEncoder:
    """An ``open_clip.CLIP`` with one narrow layer per tower (output size ``embed_dim``, as ViT-B)."""
    torch.manual_seed(seed)
    model = open_clip.CLIP(embed_dim, vision_cfg=open_clip.model.CLIPVisionCfg(layers=1, width=32, head_width=16,
                                                                              patch_size=16, image_size=64),
                           text_cfg=open_clip.model.CLIPTextCfg(width=32, heads=2, layers=1))
    preprocess = open_clip.image_transform(64, is_train=False)
    return ClipEncoder(model, preprocess, open_clip.get_tokenizer("ViT-B-16"), device=device, half=False)


def tiny_vggish(seed: int = 0) -> VGGish:
    torch.manual_seed(seed)
    return VGGish(channels=(4, 8, 8, 16), hidden=64).eval()
