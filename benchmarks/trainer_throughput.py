"""In-memory trainer vs a per-video-file DataLoader loop of the upstream kind (HAN, CPU or GPU).

Trains HAN for a few epochs on the same synthetic world two ways and prints videos/second for
both, their ratio, and the validation Type@AV each reaches (same seed, same batch size 16):
- ``in-memory``: ``avvp_lib.train`` (whole split as tensors, batches by index, res152 averaged
  to 10 segments once at load time);
- ``per-file``: a ``torch.utils.data.Dataset`` that loads three ``.npy`` files per video per step
  (vggish, res152 80x2048, r2plus1d_18) and a HAN that projects all 80 frames before averaging,
  as upstream does.

Usage: python benchmarks/trainer_throughput.py [--size smoke|default] [--epochs 2] [--device cpu]
"""
from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from avvp_lib.config import DataConfig, RunConfig, TrainConfig
from avvp_lib.data.features import feature_path
from avvp_lib.data.splits import load_split
from avvp_lib.methods.baseline import smooth
from avvp_lib.models import HAN
from avvp_lib.paths import resolve
from avvp_lib.supervision import Targets
from avvp_lib.synthetic.world import WorldConfig, build_world
from avvp_lib.train import predict, score, train


class PerVideoFiles(Dataset):
    """Upstream-style dataset: three feature files read per video, per step."""

    def __init__(self, root, split):
        self.root, self.ids, self.labels = root, split.video_ids, split.labels.astype(np.float32)

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        load = lambda k: torch.from_numpy(np.load(feature_path(self.root, k, self.ids[i])))  # noqa: E731
        return load("vggish"), load("res152"), load("r2plus1d_18"), torch.from_numpy(self.labels[i]), i


class UpstreamHAN(HAN):
    """HAN fed 80 frames: project every frame, then average each 8 (the upstream order of operations)."""

    def fuse_visual(self, visual):
        frames, st = visual
        v = self.fc_visual[0](frames)
        v = v.reshape(v.shape[0], 10, 8, -1).mean(2)
        return self.fc_fusion(torch.cat([v, self.fc_visual[1](st)], dim=-1))


def per_file_loop(root, epochs, device, seed=1):
    train_split, val = load_split(root, "train", progress=False), load_split(root, "val", ("vggish", "res152", "r2plus1d_18"), progress=False)
    torch.manual_seed(seed)
    model = UpstreamHAN().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=3e-4)
    y = torch.as_tensor(train_split.labels, dtype=torch.float32)
    targets = Targets(video=y, audio=smooth(y, 1.0), visual=smooth(y, 0.9)).to(device)
    loader = DataLoader(PerVideoFiles(root, train_split), batch_size=16, shuffle=True, num_workers=0,
                        generator=torch.Generator().manual_seed(seed))
    t0 = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for a, f, st, _, idx in loader:
            loss = targets.loss(model(a.to(device), [f.to(device), st.to(device)]), idx.to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
    elapsed = time.perf_counter() - t0
    model.eval()
    inputs = (torch.as_tensor(val.features["vggish"], device=device),
              [torch.as_tensor(np.stack([np.load(feature_path(root, "res152", v)) for v in val.video_ids]), device=device),
               torch.as_tensor(val.features["r2plus1d_18"], device=device)])
    return len(train_split) * epochs / elapsed, score(predict(model, *inputs), val)["seg_type"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="default", choices=["smoke", "default"])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    root = build_world(resolve(f"data/synthetic_{args.size}"), WorldConfig(size=args.size), progress=False)
    cfg = RunConfig(name="bench", data=DataConfig(data_dir=str(root)),
                    train=TrainConfig(epochs=args.epochs, batch_size=16, step_size=100, seed=1))
    load_split(root, "train", ("vggish", "res152", "r2plus1d_18"), progress=False)  # warm the feature cache
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = train(cfg, tmp, args.device, progress=False)
        total = time.perf_counter() - t0
        hist = result.history()
    fast = float(np.mean([h["videos_per_s"] for h in hist]))
    slow, slow_val = per_file_loop(root, args.epochs, args.device)
    print(f"device {args.device}, world {args.size}, {args.epochs} epochs, batch 16, torch threads {torch.get_num_threads()}")
    print(f"in-memory trainer : {fast:8.0f} videos/s (train loop), run total {total:.1f} s, val Type@AV {result.val['seg_type']:.1f}"
          f" (best of {args.epochs} epochs: {max(h['val_seg_type'] for h in hist):.1f})")
    print(f"per-file loader   : {slow:8.0f} videos/s, val Type@AV after {args.epochs} epochs {slow_val:.1f}")
    print(f"speed-up          : {fast / slow:8.1f}x")


if __name__ == "__main__":
    main()
