"""Parameter counts of every registered backbone at its defaults, for the LLP feature sets.

Run: ``python benchmarks/param_counts.py``. Inputs: VGGish 128 with ResNet-152 2048 + R(2+1)D 512
(the upstream features), and VGGish with CLIP ViT-B/16 512 alone.

``UPSTREAM`` holds the counts of the official models at their defaults (LLP features), from
instantiating each repository's model class; they include modules upstream registers but never
calls, which this bundle leaves out (see each model's docstring).
"""
from __future__ import annotations

from torch import nn

from avvp_lib.models import MODELS, build_model

FEATURES = {"vggish+res152+r2plus1d": (128, (2048, 512)), "vggish+clip": (128, (512,))}
UPSTREAM = {  # name: (all registered parameters, of which never called), official code at its defaults
    "han": (9_307_723, 4_738_048),  # AVVP-ECCV20 MMIL_Net: 3 unused encoders + 2 final LayerNorms
    "mgn": (4_366_065, 0),  # stoneMo/MGN MGN_Net (dim 128, depths 3/3/6)
    "mm_pyramid": (43_995_725, 3_168_256),  # MM_Pyramid AVVPNet: attention/FFN attributes + attention LayerNorms
    "dhhn": (15_984_303, 2_048),  # DHHN training: HCMN 9,296,459 + AudioNet 1,669,682 + VideoNet 5,018,162
}


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def main() -> None:
    print(f"{'model':12s}" + "".join(f"{f:>26s}" for f in FEATURES) + f"{'upstream (used)':>26s}")
    for name in MODELS:
        ours = [count(build_model(name, audio_dim=a, visual_dims=v)) for a, v in FEATURES.values()]
        total, unused = UPSTREAM[name]
        print(f"{name:12s}" + "".join(f"{n:>26,d}" for n in ours) + f"{f'{total:,d} ({total - unused:,d})':>26s}")


if __name__ == "__main__":
    main()
