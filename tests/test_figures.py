"""Figures: panels and rows as asked, a colour bar exactly for soft labels, the synthetic note; per-class F1."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from avvp_lib.figures import (SYNTHETIC_NOTE, label_timelines, per_class_bars, prediction_vs_gt,  # noqa: E402
                              similarity_histograms, training_curves)
from avvp_lib.metrics import per_class_f1, visual_scores  # noqa: E402
from avvp_lib.vocabulary import CLASS_INDEX, NUM_CLASSES  # noqa: E402

DOG, SPEECH, CAT = CLASS_INDEX["Dog"], CLASS_INDEX["Speech"], CLASS_INDEX["Cat"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _videos():
    """Two videos: (Dog, Speech) and (Cat); GT and a binary prediction [2, 10, 25]."""
    labels = np.zeros((2, NUM_CLASSES), np.uint8)
    labels[0, [DOG, SPEECH]] = 1
    labels[1, CAT] = 1
    gt = np.zeros((2, 10, NUM_CLASSES), np.uint8)
    gt[0, :4, DOG] = 1
    gt[0, 6:, SPEECH] = 1
    gt[1, :, CAT] = 1
    pred = np.zeros_like(gt)
    pred[0, 2:6, DOG] = 1
    pred[1, 3:, CAT] = 1
    return ["vid_a", "vid_b"], labels, gt, pred


@pytest.mark.parametrize("soft", [False, True])
def test_label_timelines_rows_colour_bar_and_note(soft):
    ids, labels, gt, pred = _videos()
    other = pred * 0.6 + 0.2 if soft else pred
    fig = label_timelines(ids, {"GT": gt, "PLG": other, "PLD": pred}, labels, synthetic=True)
    assert len(fig.axes) == 2 + soft  # one panel per video, plus the colour bar when soft
    panels = fig.axes[:2]
    assert [p.images[0].get_array().shape for p in panels] == [(2 * 3, 10), (1 * 3, 10)]  # classes x sources
    assert [t.get_text() for t in panels[0].get_yticklabels()] == ["GT", "PLG", "PLD"] * 2
    assert sorted(t.get_text() for t in panels[0].texts) == ["Dog", "Speech"]  # class name once per group
    assert [t.get_text() for t in panels[0].get_xticklabels()] == [str(t) for t in range(1, 11)]
    assert fig._suptitle.get_text().endswith(SYNTHETIC_NOTE)
    assert SYNTHETIC_NOTE not in label_timelines(ids, {"GT": gt}, labels, synthetic=False)._suptitle.get_text()


def test_similarity_histograms_band_is_exactly_the_unreliable_range():
    rng = np.random.default_rng(0)
    sim = rng.normal(size=(6, 10, NUM_CLASSES))
    labels = np.zeros((6, 10, NUM_CLASSES), np.uint8)
    labels[:3, :, DOG] = 1
    video_labels = labels.max(1)
    unrel_with = np.zeros(labels.shape, bool)
    unrel_without = np.zeros(labels.shape, bool)
    unrel_with[0, 2, DOG] = unrel_without[4, 7, DOG] = unrel_without[5, 1, DOG] = True
    marked = sim[[0, 4, 5], [2, 7, 1], DOG]
    fig = similarity_histograms(sim, labels, video_labels, unrel_with, unrel_without, ["Dog", "Cat"], synthetic=True)
    assert len(fig.axes) == 2
    band = [p for p in fig.axes[0].patches if p.get_label().startswith("unreliable")]
    assert len(band) == 1
    x0, x1 = sorted(band[0].get_path().transformed(band[0].get_patch_transform()).vertices[:, 0][[0, 2]])
    assert (x0, x1) == pytest.approx((marked.min(), marked.max()))
    assert f"[{marked.min():.3f}, {marked.max():.3f}]" in band[0].get_label()
    assert not [p for p in fig.axes[1].patches if p.get_label().startswith("unreliable")]  # Cat: nothing marked
    assert fig._suptitle.get_text().endswith(SYNTHETIC_NOTE)


def _history(slope):
    return [{"epoch": e, "val_seg_v": slope * e} for e in (1, 2, 3)]


def test_training_curves_one_panel_per_table_and_the_old_form():
    fig = training_curves({"Table III": {"1 HAN": _history(1), "2 + PLG": _history(2)},
                           "Table 4": {"LSLD": _history(3)}}, "seg_v", synthetic=True)
    assert len(fig.axes) == 2
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["1 HAN", "2 + PLG"]
    assert [ax.get_title() for ax in fig.axes] == ["Table III", "Table 4"]
    assert list(fig.axes[1].lines[0].get_ydata()) == [3, 6, 9]
    assert fig._suptitle.get_text().endswith(SYNTHETIC_NOTE)
    old = training_curves({"a": _history(1), "b": _history(2)}, "seg_v", synthetic=False)
    assert len(old.axes) == 1 and len(old.axes[0].lines) == 2
    assert SYNTHETIC_NOTE not in old._suptitle.get_text()


def test_per_class_bars_one_bar_group_per_source():
    scores = {"PLG": np.full(NUM_CLASSES, np.nan), "PLD": np.full(NUM_CLASSES, np.nan)}
    scores["PLG"][[DOG, CAT]] = 40.0, 60.0
    scores["PLD"][DOG] = 80.0
    fig = per_class_bars(scores, "Per-class visual F1", synthetic=True)
    ax, = fig.axes
    assert len(ax.containers) == 2 and [len(c) for c in ax.containers] == [2, 2]  # Dog and Cat only
    assert [b.get_height() for b in ax.containers[1]] == [80.0, 0.0]  # Dog, Cat (no score: no bar)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Dog", "Cat"]
    assert ax.get_title().endswith(SYNTHETIC_NOTE)


@pytest.mark.parametrize("soft", [False, True])
def test_prediction_vs_gt_audio_and_visual_apart(soft):
    ids, labels, gt, pred = _videos()
    pred_a = pred.astype(float) * 0.5 + 0.25 if soft else pred
    extra = pred.copy()
    extra[1, :2, DOG] = 1  # a predicted class outside the weak label is shown too
    fig = prediction_vs_gt(ids, pred_a, extra, gt, gt, labels, synthetic=True)
    assert len(fig.axes) == 4 + 2 * soft  # audio | visual per video, a colour bar per modality when soft
    assert fig.axes[0].images[0].get_array().shape == (2 * 2, 10)  # (Dog, Speech) x (GT, pred)
    assert fig.axes[2].images[0].get_array().shape == (2 * 2, 10)  # Cat and the predicted Dog
    assert "audio" in fig.axes[0].get_title("left") and "visual" in fig.axes[1].get_title("left")
    assert fig._suptitle.get_text().endswith(SYNTHETIC_NOTE)


def _per_class_example():
    """By hand: video 0 Dog GT 1-4, pred 3-6 (F1 1/2); video 1 Dog everywhere in both (1), Speech GT 1-2
    unpredicted (0); video 2 Speech GT = pred 1-5 (1)."""
    gt = np.zeros((3, 10, NUM_CLASSES), np.uint8)
    pred = np.zeros_like(gt)
    gt[0, :4, DOG], pred[0, 2:6, DOG] = 1, 1
    gt[1, :, DOG], pred[1, :, DOG], gt[1, :2, SPEECH] = 1, 1, 1
    gt[2, :5, SPEECH], pred[2, :5, SPEECH] = 1, 1
    return pred, gt


def test_per_class_f1_by_hand():
    pred, gt = _per_class_example()
    per_video = per_class_f1(pred, gt)
    assert per_video[DOG] == pytest.approx(100 * (0.5 + 1.0) / 2)
    assert per_video[SPEECH] == pytest.approx(100 * (0.0 + 1.0) / 2)
    assert np.isnan(np.delete(per_video, [DOG, SPEECH])).all()
    pooled = per_class_f1(pred, gt, rule="pooled")
    assert pooled[DOG] == pytest.approx(100 * 2 * 12 / (2 * 12 + 2 + 2))  # TP 2 + 10, FP 2, FN 2
    assert pooled[SPEECH] == pytest.approx(100 * 2 * 5 / (2 * 5 + 0 + 2))  # TP 5, FN 2
    with pytest.raises(ValueError, match="per-class rule"):
        per_class_f1(pred, gt, rule="macro")


def test_per_class_f1_agrees_with_visual_scores_when_each_video_has_one_class():
    pred, gt = _per_class_example()
    keep = [0, 2]  # video 0: Dog only, video 2: Speech only
    f = per_class_f1(pred[keep], gt[keep])
    assert visual_scores(pred[keep], gt[keep])["seg_v"] == pytest.approx((f[DOG] + f[SPEECH]) / 2)
    dog_only = np.zeros_like(gt)[:2]
    dog_only[..., DOG] = gt[:2, :, DOG]
    pred_dog = np.zeros_like(dog_only)
    pred_dog[..., DOG] = pred[:2, :, DOG]
    assert visual_scores(pred_dog, dog_only)["seg_v"] == pytest.approx(per_class_f1(pred_dog, dog_only)[DOG])
