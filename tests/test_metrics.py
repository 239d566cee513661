"""The vectorised metrics against a plain per-video loop written from the official rules."""
import numpy as np
import pytest

from avvp_lib.data.splits import load_split
from avvp_lib.metrics import METRIC_KEYS, binarize, parse_scores, visual_scores


def _events(seq):
    out, t = [], 0
    while t < 10:
        if seq[t]:
            s = t
            while t < 10 and seq[t]:
                t += 1
            out.append(set(range(s, t)))
        else:
            t += 1
    return out


def _event_counts(pred, gt):
    ep, eg = _events(pred), _events(gt)
    iou_ok = lambda a, b: len(a & b) >= 0.5 * len(a | b)  # noqa: E731
    tp = sum(any(iou_ok(p, g) for g in eg) for p in ep)
    fn = sum(not any(iou_ok(g, p) for p in ep) for g in eg)
    return tp, len(ep) - tp, fn


def _seg_counts(pred, gt):
    return int((pred & gt).sum()), int((pred & ~gt).sum()), int((~pred & gt).sum())


def _video_f1(counts):
    fs = [2 * tp / (2 * tp + fp + fn) for tp, fp, fn in counts if tp + fp > 0 or tp + fn > 0]
    return sum(fs) / len(fs) if fs else 1.0


def reference(pa, pv, ga, gv):
    pa, pv, ga, gv = (x.astype(bool) for x in (pa, pv, ga, gv))
    out = {}
    for level, fn in (("seg", _seg_counts), ("evt", _event_counts)):
        per = {k: [] for k in ("a", "v", "av", "event")}
        for i in range(len(pa)):
            ca = [fn(pa[i, :, c], ga[i, :, c]) for c in range(pa.shape[2])]
            cv = [fn(pv[i, :, c], gv[i, :, c]) for c in range(pa.shape[2])]
            cav = [fn(pa[i, :, c] & pv[i, :, c], ga[i, :, c] & gv[i, :, c]) for c in range(pa.shape[2])]
            per["a"].append(_video_f1(ca))
            per["v"].append(_video_f1(cv))
            per["av"].append(_video_f1(cav))
            per["event"].append(_video_f1([tuple(x + y for x, y in zip(a, v)) for a, v in zip(ca, cv)]))
        for k, v in per.items():
            out[f"{level}_{k}"] = 100 * float(np.mean(v))
        out[f"{level}_type"] = (out[f"{level}_a"] + out[f"{level}_v"] + out[f"{level}_av"]) / 3
    return out


@pytest.mark.parametrize("seed, density", [(0, 0.1), (1, 0.3), (2, 0.6)])
def test_random_matches_reference(seed, density):
    rng = np.random.default_rng(seed)
    arrs = [(rng.random((40, 10, 25)) < density).astype(np.uint8) for _ in range(4)]
    ours, ref = parse_scores(*arrs), reference(*arrs)
    assert list(ours) == list(METRIC_KEYS)
    for k in METRIC_KEYS:
        assert abs(ours[k] - ref[k]) < 1e-9, k


def test_no_events_anywhere_scores_100():
    z = np.zeros((3, 10, 25), np.uint8)
    assert all(v == 100.0 for v in parse_scores(z, z, z, z).values())


def test_event_iou_threshold():
    gt = np.zeros((1, 10, 1), np.uint8)
    gt[0, 0:4] = 1
    half = np.zeros_like(gt)
    half[0, 0:2] = 1  # IoU 2/4 = 0.5 -> TP
    less = np.zeros_like(gt)
    less[0, 3:6] = 1  # IoU 1/6 -> FP and FN
    assert parse_scores(half, half, gt, gt)["evt_a"] == 100.0
    assert parse_scores(less, less, gt, gt)["evt_a"] == 0.0


@pytest.fixture(scope="module")
def real_gt(llp_dir):
    splits = [load_split(llp_dir, s) for s in ("val", "test")]
    return (np.concatenate([s.gt_audio for s in splits]), np.concatenate([s.gt_visual for s in splits]))


def test_real_gt_as_prediction_is_perfect(real_gt):
    ga, gv = real_gt
    assert ga.shape[0] == 1849
    assert all(abs(v - 100.0) < 1e-9 for v in parse_scores(ga, gv, ga, gv).values())


@pytest.mark.parametrize("transform", ["shift", "truncate"])
def test_real_gt_shifted_and_truncated_match_reference(real_gt, transform):
    ga, gv = (x[:300] for x in real_gt)
    if transform == "shift":  # one segment later, the last dropped
        pa, pv = (np.concatenate([np.zeros_like(x[:, :1]), x[:, :-1]], axis=1) for x in (ga, gv))
    else:  # only the first five seconds
        pa, pv = ga.copy(), gv.copy()
        pa[:, 5:] = pv[:, 5:] = 0
    ours, ref = parse_scores(pa, pv, ga, gv), reference(pa, pv, ga, gv)
    for k in METRIC_KEYS:
        assert abs(ours[k] - ref[k]) < 1e-9
    assert ours["seg_a"] < 100


def test_input_validation_and_helpers():
    z = np.zeros((2, 10, 25), np.uint8)
    with pytest.raises(ValueError, match="shape"):
        parse_scores(z[:, :9], z, z, z)
    with pytest.raises(ValueError, match="binary"):
        parse_scores(z + 2, z, z, z)
    assert visual_scores(z, z) == {"seg_v": 100.0, "evt_v": 100.0}
    frame = np.full((2, 10, 2, 25), 0.9)
    glob = np.zeros((2, 25))
    glob[:, 3] = 0.8
    a, v = binarize(frame, glob)
    assert a.sum() == v.sum() == 20 and a[:, :, 3].all()
    a, _ = binarize(frame, glob, np.ones((2, 25)), np.zeros((2, 25)), rule="per_modality")
    assert a.all()
    with pytest.raises(ValueError, match="unknown inference rule"):
        binarize(frame, glob, rule="max")


def test_soft_label_scores():
    """Soft counts give seg_v for binary labels; a soft label pays less BCE than a wrong hard one."""
    from avvp_lib.metrics import soft_label_scores, visual_scores

    rng = np.random.default_rng(3)
    gt = (rng.random((20, 10, 25)) < 0.1).astype(np.uint8)
    hard = (rng.random((20, 10, 25)) < 0.1).astype(np.uint8)
    assert soft_label_scores(hard, gt)["soft_seg_v"] == pytest.approx(visual_scores(hard, gt)["seg_v"])
    g = np.zeros((1, 10, 1), np.uint8)
    g[0, 0, 0] = 1
    wrong = np.zeros((1, 10, 1), np.float32)
    wrong[0, 1, 0] = 1.0  # a false positive at full weight
    soft = wrong * 0.3  # the same segment softened
    got = soft_label_scores(soft, g)
    # TP 0, FP 0.3, FN 1 -> F1 0; BCE: segment 0 -log(1e-7), segment 1 -log(0.7), the rest ~0
    assert got["soft_seg_v"] == 0.0
    assert got["bce"] == pytest.approx((-np.log(1e-7) - np.log(0.7)) / 10, rel=1e-4)
    assert got["bce"] < soft_label_scores(wrong, g)["bce"]
