"""The official LLP evaluation (HAN, utils/eval_metrics.py of YapengTian/AVVP-ECCV20), vectorised.

Rules, per video:
- segment level: per class, F1 = 2TP / (2TP + FP + FN) over the 10 segments; classes with
  no positive in prediction and GT are left out; the video's score is the mean over the
  remaining classes, or 1.0 if none remain. Scores are then averaged over videos.
- event level: an event is a maximal run of ones of one class. A predicted event is a TP if
  some GT event overlaps it with IoU >= 0.5, else an FP; a GT event with no predicted event
  at IoU >= 0.5 is an FN. Matching is not one-to-one (as upstream).
- AV: elementwise product of audio and visual, for prediction and GT. Type@AV = mean of
  A, V, AV. Event@AV pools audio and visual TP/FP/FN per class before the F1.
"""
from __future__ import annotations

import numpy as np

from avvp_lib.vocabulary import NUM_SEGMENTS

METRIC_KEYS = ("seg_a", "seg_v", "seg_av", "seg_type", "seg_event",
               "evt_a", "evt_v", "evt_av", "evt_type", "evt_event")
MAX_RUNS = (NUM_SEGMENTS + 1) // 2


def _run_table() -> tuple[np.ndarray, np.ndarray]:
    """For every 10-bit sequence: its runs as bitmasks [1024, 5] (0 = no run) and a popcount table."""
    masks = np.zeros((1 << NUM_SEGMENTS, MAX_RUNS), dtype=np.int64)
    for code in range(1 << NUM_SEGMENTS):
        k, t = 0, 0
        while t < NUM_SEGMENTS:
            if code >> t & 1:
                start = t
                while t < NUM_SEGMENTS and code >> t & 1:
                    t += 1
                masks[code, k] = ((1 << t) - 1) ^ ((1 << start) - 1)
                k += 1
            else:
                t += 1
    popcount = np.array([bin(i).count("1") for i in range(1 << NUM_SEGMENTS)], dtype=np.int64)
    return masks, popcount


_RUNS, _POPCOUNT = _run_table()


def _encode(x: np.ndarray) -> np.ndarray:
    """[N, 10, C] binary -> [N, C] integer codes (bit t = segment t)."""
    weights = (1 << np.arange(NUM_SEGMENTS, dtype=np.int64))[None, :, None]
    return (x.astype(np.int64) * weights).sum(axis=1)


def _f1_per_video(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """[N, C] counts (integer, or soft) -> [N] mean F1 over the classes with any positive; 1.0 when none."""
    valid = (tp + fp > 0) | (tp + fn > 0)
    f = np.where(valid, 2 * tp / np.where(valid, 2 * tp + fp + fn, 1), 0.0)
    n = valid.sum(axis=1)
    return np.where(n > 0, f.sum(axis=1) / np.maximum(n, 1), 1.0)


def segment_counts(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segment-level TP, FP, FN per video and class, each [N, C]."""
    p, g = pred.astype(np.int64), gt.astype(np.int64)
    return (p * g).sum(1), (p * (1 - g)).sum(1), ((1 - p) * g).sum(1)


def event_counts(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Event-level TP, FP, FN per video and class, each [N, C] (IoU >= 0.5, not one-to-one)."""
    rp, rg = _RUNS[_encode(pred)], _RUNS[_encode(gt)]  # [N, C, R]
    inter = _POPCOUNT[rp[..., :, None] & rg[..., None, :]]
    union = _POPCOUNT[rp[..., :, None] | rg[..., None, :]]
    valid = (rp[..., :, None] > 0) & (rg[..., None, :] > 0)
    match = valid & (2 * inter >= union)  # IoU >= 0.5
    p_hit, g_hit = match.any(-1), match.any(-2)
    n_p, n_g = (rp > 0).sum(-1), (rg > 0).sum(-1)
    tp = p_hit.sum(-1)
    return tp, n_p - tp, n_g - g_hit.sum(-1)


def _check(name: str, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[1] != NUM_SEGMENTS:
        raise ValueError(f"{name}: expected a binary array [N, {NUM_SEGMENTS}, C], got shape {x.shape}")
    if not np.isin(x, (0, 1)).all():
        raise ValueError(f"{name}: expected binary values (0/1)")
    return x


def parse_scores(pred_a: np.ndarray, pred_v: np.ndarray, gt_a: np.ndarray, gt_v: np.ndarray) -> dict[str, float]:
    """All ten LLP metrics in percent from binary arrays [N, 10, 25]."""
    return {k: float(v.mean()) for k, v in parse_scores_per_video(pred_a, pred_v, gt_a, gt_v).items()}


def parse_scores_per_video(pred_a: np.ndarray, pred_v: np.ndarray, gt_a: np.ndarray, gt_v: np.ndarray) -> dict[str, np.ndarray]:
    """The ten LLP metrics of every video [N] in percent; ``parse_scores`` is their mean over videos."""
    arrays = {n: _check(n, x) for n, x in dict(pred_a=pred_a, pred_v=pred_v, gt_a=gt_a, gt_v=gt_v).items()}
    shapes = {x.shape for x in arrays.values()}
    if len(shapes) != 1:
        raise ValueError(f"prediction and GT shapes differ: {shapes}")
    pa, pv, ga, gv = arrays.values()
    pav, gav = pa * pv, ga * gv
    out: dict[str, np.ndarray] = {}
    for level, counts in (("seg", segment_counts), ("evt", event_counts)):
        ca, cv, cav = counts(pa, ga), counts(pv, gv), counts(pav, gav)
        fa, fv, fav = (_f1_per_video(*c) for c in (ca, cv, cav))
        fev = _f1_per_video(*(x + y for x, y in zip(ca, cv)))
        out[f"{level}_a"] = 100 * fa
        out[f"{level}_v"] = 100 * fv
        out[f"{level}_av"] = 100 * fav
        out[f"{level}_type"] = (out[f"{level}_a"] + out[f"{level}_v"] + out[f"{level}_av"]) / 3
        out[f"{level}_event"] = 100 * fev
    return {k: out[k] for k in METRIC_KEYS}


def visual_scores(pred_v: np.ndarray, gt_v: np.ndarray) -> dict[str, float]:
    """Segment- and event-level visual F1 (%) of visual labels alone (VPLAN Table II, LSLD Table 4)."""
    return {k: float(v.mean()) for k, v in visual_scores_per_video(pred_v, gt_v).items()}


def visual_scores_per_video(pred_v: np.ndarray, gt_v: np.ndarray) -> dict[str, np.ndarray]:
    """``visual_scores`` of every video [N]; ``visual_scores`` is their mean over videos."""
    pv, gv = _check("pred_v", pred_v), _check("gt_v", gt_v)
    return {"seg_v": 100 * _f1_per_video(*segment_counts(pv, gv)), "evt_v": 100 * _f1_per_video(*event_counts(pv, gv))}


def soft_label_scores(soft_v: np.ndarray, gt_v: np.ndarray, eps: float = 1e-7) -> dict[str, float]:
    """Quality of soft visual labels [N, 10, C] in [0, 1] against binary GT, without thresholding.

    ``soft_seg_v``: the segment-level F1 of ``visual_scores`` with soft counts (TP = sum p*g,
    FP = sum p*(1-g), FN = sum (1-p)*g); equal to ``seg_v`` for binary labels. ``bce``: the mean
    binary cross-entropy of the labels as targets against the GT (lower is better), the loss a
    model trained on them pays where they are wrong.
    """
    p, g = np.asarray(soft_v, np.float64), _check("gt_v", gt_v).astype(np.float64)
    if p.shape != g.shape or p.min() < 0 or p.max() > 1:
        raise ValueError(f"soft labels must be in [0, 1] with the GT's shape {g.shape}, got {p.shape}")
    counts = ((p * g).sum(1), (p * (1 - g)).sum(1), ((1 - p) * g).sum(1))
    q = np.clip(p, eps, 1 - eps)
    return {"soft_seg_v": float(100 * _f1_per_video(*counts).mean()),
            "bce": float(-(g * np.log(q) + (1 - g) * np.log(1 - q)).mean())}


INFERENCE_RULES = ("fused", "per_modality")


def binarize(frame_prob: np.ndarray, global_prob: np.ndarray, a_prob: np.ndarray | None = None,
             v_prob: np.ndarray | None = None, rule: str = "fused", threshold: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Binary audio and visual predictions [N, 10, C] from HAN outputs.

    ``fused`` (HAN, default): segment prob >= 0.5 AND fused video prob >= 0.5.
    ``per_modality`` (JoMoLD/LSLD code): each modality masked by its own video prob.
    ``frame_prob`` is [N, 10, 2, C] (audio, visual).
    """
    seg = frame_prob >= threshold
    if rule == "fused":
        mask_a = mask_v = (global_prob >= threshold)[:, None, :]
    elif rule == "per_modality":
        mask_a, mask_v = (a_prob >= threshold)[:, None, :], (v_prob >= threshold)[:, None, :]
    else:
        raise ValueError(f"unknown inference rule {rule!r}; expected one of {INFERENCE_RULES}")
    return (seg[:, :, 0] & mask_a).astype(np.uint8), (seg[:, :, 1] & mask_v).astype(np.uint8)


PER_CLASS_RULES = ("per_video", "pooled")


def per_class_f1(pred_v: np.ndarray, gt_v: np.ndarray, rule: str = "per_video") -> np.ndarray:
    """Segment-level visual F1 (%) of each class over a split, [C]; NaN for a class absent from both.

    ``per_video`` (default): the official per-video rule restricted to one class — per video
    F1 = 2TP / (2TP + FP + FN) over its 10 segments, videos with the class in neither prediction
    nor GT left out, then the mean over the remaining videos. When each video holds exactly one
    class (in prediction or GT), ``seg_v`` of ``visual_scores`` is the mean of these weighted by
    each class's number of videos. ``pooled``: TP, FP,
    FN summed over all videos first, one F1 per class. A class-wise view as in VALOR (Lai et al.,
    NeurIPS 2023); both rules are this bundle's, neither is a paper's table.
    """
    if rule not in PER_CLASS_RULES:
        raise ValueError(f"unknown per-class rule {rule!r}; expected one of {PER_CLASS_RULES}")
    tp, fp, fn = segment_counts(_check("pred_v", pred_v), _check("gt_v", gt_v))  # [N, C]
    if rule == "pooled":
        tp, fp, fn = tp.sum(0, keepdims=True), fp.sum(0, keepdims=True), fn.sum(0, keepdims=True)
    valid = (tp + fp + fn) > 0
    f = np.where(valid, 2 * tp / np.where(valid, 2 * tp + fp + fn, 1), 0.0)
    n = valid.sum(0)
    with np.errstate(invalid="ignore"):
        return np.where(n > 0, 100 * f.sum(0) / np.maximum(n, 1), np.nan)
