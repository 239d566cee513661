"""Training cost of each registered backbone relative to HAN, measured side by side in one run.

Run: ``python benchmarks/backbone_cost.py [--batch-size 32] [--steps 10]``. Each backbone at its
defaults on random LLP-shaped inputs (VGGish 10 x 128, ResNet-152 10 x 2048 + R(2+1)D 10 x 512,
the features after segment pooling), Adam steps of forward + backward of the loss plus the
backbone's own terms (``model.auxiliary_loss``, as the trainer adds them); prints videos/s and the
cost per video relative to HAN. This is what sizes the profiles: a profile's training time is
about its runs' HAN-equivalents times one HAN run.
"""
from __future__ import annotations

import argparse
import time

import torch

from avvp_lib.models import MODELS, build_model


def videos_per_s(name: str, batch: int, steps: int, warmup: int = 3) -> float:
    torch.manual_seed(0)
    model = build_model(name, audio_dim=128, visual_dims=(2048, 512))
    opt = torch.optim.Adam(model.parameters(), 1e-4)
    audio, visual = torch.randn(batch, 10, 128), [torch.randn(batch, 10, 2048), torch.randn(batch, 10, 512)]
    labels = (torch.rand(batch, 25) < 0.1).float()
    for i in range(warmup + steps):
        if i == warmup:
            start = time.perf_counter()
        out = model(audio, visual)
        loss = out.global_prob.mean()
        if hasattr(model, "auxiliary_loss"):
            loss = loss + model.auxiliary_loss(out, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return batch * steps / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--steps", type=int, default=10)
    args = ap.parse_args()
    print(f"torch threads {torch.get_num_threads()}, batch {args.batch_size}, {args.steps} steps per backbone")
    rates = {name: videos_per_s(name, args.batch_size, args.steps) for name in MODELS}
    for name, rate in rates.items():
        print(f"{name:12s} {rate:8.1f} videos/s training   cost per video {rates['han'] / rate:5.2f}x HAN")


if __name__ == "__main__":
    main()
