"""The bundle's trainer vs a local re-creation of the official AVVP-ECCV20 train + validate loop (HAN).

Trains HAN for a few epochs on the same synthetic world both ways (seed 1, batch 16, Adam 3e-4)
and prints training videos/second, validation seconds per epoch, the ratios, and the val
Type@AV each reaches:
- ``bundle``: ``avvp_lib.train`` (whole split as tensors, batches by index, res152 averaged to
  10 segments once at load time, vectorised LLP metrics);
- ``official``: the upstream structure, written here from its behaviour: a ``Dataset`` that reads
  the weak-label CSV with pandas and loads three ``.npy`` files per video per step (vggish,
  res152 80x2048, r2plus1d_18), a HAN that projects all 80 frames before averaging, shuffled
  batches of 16; after every epoch a validation pass with batch 1 that builds each video's dense
  ground truth by filtering the pandas annotation tables and scores it with per-video,
  per-class Python loops (segment F1 and event F1 at IoU 0.5). Its Type@AV is checked against
  ``avvp_lib.metrics`` on the same predictions.

Usage: python benchmarks/trainer_throughput.py [--size smoke|default] [--epochs 2] [--device cpu]
"""
from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset

from avvp_lib.config import DataConfig, RunConfig, TrainConfig
from avvp_lib.data.features import feature_path
from avvp_lib.data.splits import DENSE_CSV, WEAK_CSV, load_split
from avvp_lib.methods.baseline import smooth
from avvp_lib.models import HAN
from avvp_lib.paths import resolve
from avvp_lib.supervision import bce
from avvp_lib.synthetic.world import WorldConfig, build_world
from avvp_lib.train import build_han, load_run_data, predict, score, split_inputs, train
from avvp_lib.vocabulary import CLASS_INDEX, NUM_CLASSES, NUM_SEGMENTS


class OfficialStyleDataset(Dataset):
    """One weak-label CSV row per item; three feature files read per video, per step."""

    def __init__(self, root, split):
        self.root, self.df = root, pd.read_csv(root / WEAK_CSV[split], sep="\t")

    def __len__(self):
        return len(self.df)

    def __getitem__(self, i):
        row = self.df.loc[i, :]
        vid = row["filename"][:11]
        load = lambda k: torch.from_numpy(np.load(feature_path(self.root, k, vid)))  # noqa: E731
        label = np.zeros(NUM_CLASSES, dtype=np.float32)
        label[[CLASS_INDEX[c] for c in row["event_labels"].split(",")]] = 1
        return load("vggish"), load("res152"), load("r2plus1d_18"), torch.from_numpy(label)


class UpstreamHAN(HAN):
    """HAN fed 80 frames: project every frame, then average each 8 (the upstream order of operations)."""

    def fuse_visual(self, visual):
        frames, st = visual
        v = self.fc_visual[0](frames)
        v = v.reshape(v.shape[0], 10, 8, -1).mean(2)
        return self.fc_fusion(torch.cat([v, self.fc_visual[1](st)], dim=-1))


# ---------------------------------------------------------------- per-video evaluation, upstream style
def _dense_gt(table: pd.DataFrame, filename: str) -> np.ndarray:
    """[C, T] ground truth of one video, from a per-video filter of the annotation table."""
    gt = np.zeros((NUM_CLASSES, NUM_SEGMENTS))
    rows = table.loc[table["filename"] == filename]
    for onset, offset, event in zip(rows["onset"], rows["offset"], rows["event_labels"]):
        gt[CLASS_INDEX[event], int(onset):int(offset)] = 1
    return gt


def _f1_over_classes(tp, fp, fn) -> float:
    """Mean F1 over the classes present in prediction or GT; 1.0 when none is."""
    f = [2 * tp[c] / (2 * tp[c] + fp[c] + fn[c]) for c in range(len(tp)) if tp[c] + fp[c] > 0 or tp[c] + fn[c] > 0]
    return sum(f) / len(f) if f else 1.0


def _events(seq: np.ndarray) -> list[np.ndarray]:
    """Each maximal run of ones as a 0/1 vector over the segments."""
    out, t = [], 0
    while t < len(seq):
        if seq[t] == 1:
            vec = np.zeros(len(seq))
            while t < len(seq) and seq[t] == 1:
                vec[t] = 1
                t += 1
            out.append(vec)
        else:
            t += 1
    return out


def _hits(a: np.ndarray, others: list[np.ndarray]) -> bool:
    return any(np.sum(a * b) >= 0.5 * np.sum(a + b - a * b) for b in others)


def _event_counts(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tp, fp, fn = np.zeros(NUM_CLASSES), np.zeros(NUM_CLASSES), np.zeros(NUM_CLASSES)
    for c in range(NUM_CLASSES):
        p, g = _events(pred[c]), _events(gt[c])
        tp[c] = sum(_hits(e, g) for e in p)
        fp[c] = len(p) - tp[c]
        fn[c] = sum(not _hits(e, p) for e in g)
    return tp, fp, fn


def _video_scores(so_a, so_v, gt_a, gt_v) -> dict[str, float]:
    so_av, gt_av = so_a * so_v, gt_a * gt_v
    seg = {m: (np.sum(p * g, 1), np.sum(p * (1 - g), 1), np.sum((1 - p) * g, 1))
           for m, p, g in (("a", so_a, gt_a), ("v", so_v, gt_v), ("av", so_av, gt_av))}
    evt = {m: _event_counts(p, g) for m, p, g in (("a", so_a, gt_a), ("v", so_v, gt_v), ("av", so_av, gt_av))}
    out = {}
    for level, counts in (("seg", seg), ("evt", evt)):
        for m in ("a", "v", "av"):
            out[f"{level}_{m}"] = _f1_over_classes(*counts[m])
        out[f"{level}_event"] = _f1_over_classes(*(counts["a"][i] + counts["v"][i] for i in range(3)))
    return out


@torch.no_grad()
def official_style_validation(model, root, split, device) -> dict[str, float]:
    """Batch-1 pass over ``split``; per-video GT from pandas, per-video Python scoring (upstream structure)."""
    model.eval()
    weak = pd.read_csv(root / WEAK_CSV[split], sep="\t")
    audio_gt, visual_gt = (pd.read_csv(root / DENSE_CSV[m], sep="\t") for m in ("audio", "visual"))
    loader = DataLoader(OfficialStyleDataset(root, split), batch_size=1, shuffle=False)
    per_video, probs = [], []
    for i, (a, f, st, _) in enumerate(loader):
        out = model(a.to(device), [f.to(device), st.to(device)])
        probs.append({k: getattr(out, n).cpu().numpy() for k, n in
                      (("frame", "frame_prob"), ("global", "global_prob"), ("audio", "audio_prob"), ("visual", "visual_prob"))})
        video = (out.global_prob[0].cpu().numpy() >= 0.5).astype(int)
        frame = out.frame_prob[0].cpu().numpy()  # [T, 2, C]
        so_a, so_v = (((frame[:, m] >= 0.5).astype(int) * video).T for m in (0, 1))  # [C, T], filtered by the video label
        name = weak.loc[i, "filename"]
        per_video.append(_video_scores(so_a, so_v, _dense_gt(audio_gt, name), _dense_gt(visual_gt, name)))
    scores = {k: 100 * float(np.mean([v[k] for v in per_video])) for k in per_video[0]}
    for level in ("seg", "evt"):
        scores[f"{level}_type"] = (scores[f"{level}_a"] + scores[f"{level}_v"] + scores[f"{level}_av"]) / 3
    return scores, {k: np.concatenate([p[k] for p in probs]) for k in probs[0]}


def official_style_loop(root, epochs, device, seed=1):
    """Train + validate every epoch as upstream does; returns train videos/s, val s/epoch, last val scores, probs."""
    torch.manual_seed(seed)
    model = UpstreamHAN().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=3e-4)
    loader = DataLoader(OfficialStyleDataset(root, "train"), batch_size=16, shuffle=True, num_workers=0,
                        generator=torch.Generator().manual_seed(seed))
    train_s = val_s = 0.0
    for _ in range(epochs):
        t0 = time.perf_counter()
        model.train()
        for a, f, st, y in loader:
            a, f, st, y = a.to(device), f.to(device), st.to(device), y.to(device)
            out = model(a, [f, st])
            loss = bce(out.global_prob, y) + bce(out.audio_prob, smooth(y, 1.0)) + bce(out.visual_prob, smooth(y, 0.9))
            opt.zero_grad()
            loss.backward()
            opt.step()
        t1 = time.perf_counter()
        val, probs = official_style_validation(model, root, "val", device)
        train_s, val_s = train_s + t1 - t0, val_s + time.perf_counter() - t1
    return len(loader.dataset) * epochs / train_s, val_s / epochs, val, probs


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
        data = load_run_data(cfg.data)
        model = build_han(cfg, data["train"]).to(args.device)
        model.load_state_dict(torch.load(result.run_dir / "best.pt", map_location=args.device))
        t0 = time.perf_counter()  # the bundle's per-epoch validation: predict + score the val split
        score(predict(model, *split_inputs(data["val"], cfg.data, torch.device(args.device))), data["val"])
        fast_val = time.perf_counter() - t0
    fast = float(np.mean([h["videos_per_s"] for h in hist]))
    slow, slow_val_s, slow_val, probs = official_style_loop(root, args.epochs, args.device)
    check = score(probs, load_split(root, "val", progress=False))
    gap = max(abs(check[k] - slow_val[k]) for k in check)
    print(f"device {args.device}, world {args.size}, {args.epochs} epochs, batch 16, torch threads {torch.get_num_threads()}")
    print(f"bundle trainer : {fast:8.0f} videos/s training, {fast_val:5.2f} s/epoch validation, "
          f"run total {total:.1f} s, val Type@AV {result.val['seg_type']:.1f} (best epoch {result.best_epoch})")
    print(f"official loop  : {slow:8.0f} videos/s training, {slow_val_s:5.2f} s/epoch validation, "
          f"val Type@AV after {args.epochs} epochs {slow_val['seg_type']:.1f} "
          f"(max |official-style - avvp_lib.metrics| over the ten metrics on its predictions: {gap:.2g})")
    print(f"speed-up       : {fast / slow:8.1f}x training, {slow_val_s / max(fast_val, 1e-9):.1f}x validation")


if __name__ == "__main__":
    main()
