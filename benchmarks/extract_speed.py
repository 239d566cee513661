"""Which stage bounds feature extraction: video decoding or CLIP inference?

Prints videos/second for decoding the sample LLP clip (PyAV, 80 frames + 16 kHz audio) and for
CLIP image inference on all 80 frames (the per-frame features ``extract`` writes), with a ViT-B/16-sized open_clip model (random weights: the speed does not depend on them) and
the tiny test model. Runs on CUDA (fp16) when present, else CPU.

Usage: python benchmarks/extract_speed.py [--repeats 3] [--device cpu]
"""
from __future__ import annotations

import argparse
import time

import open_clip
import torch

from avvp_lib.clip_encoder import ClipEncoder
from avvp_lib.extract.models import tiny_clip_encoder
from avvp_lib.extract.pipeline import clip_frame_features
from avvp_lib.extract.video import SAMPLE_CLIP, decode_video


def rate(fn, repeats: int) -> float:
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return repeats / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    if not SAMPLE_CLIP.is_file():
        raise SystemExit(f"sample clip not found: {SAMPLE_CLIP}")
    clip = decode_video(SAMPLE_CLIP)
    print(f"device {args.device}, torch threads {torch.get_num_threads()}, clip {SAMPLE_CLIP.name}")
    print(f"decode (PyAV)                 : {rate(lambda: decode_video(SAMPLE_CLIP), args.repeats):7.2f} videos/s")
    model, _, preprocess = open_clip.create_model_and_transforms("ViT-B-16-quickgelu", pretrained=None)
    encoders = {"ViT-B/16 (random weights)": ClipEncoder(model, preprocess, open_clip.get_tokenizer("ViT-B-16"), args.device),
                "tiny test model": tiny_clip_encoder(device=args.device)}
    for name, enc in encoders.items():
        r = rate(lambda: clip_frame_features(enc, clip.frames), args.repeats)
        print(f"CLIP frames {name:26s}: {r:7.2f} videos/s (80 images per video)")


if __name__ == "__main__":
    main()
