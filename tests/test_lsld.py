import numpy as np
import pytest
import torch

from avvp_lib.data.features import load_features
from avvp_lib.methods.baseline import video_label_everywhere
from avvp_lib.methods.lsld import (LSLDConfig, class_descriptions, class_similarity, denoise_segments,
                                   description_variant, lsld_labels, prompt_similarity, reweight, subset_prompts,
                                   unreliable_segments)
from avvp_lib.synthetic.latent import LatentSpace
from avvp_lib.synthetic.text_encoder import SyntheticTextEncoder
from avvp_lib.vocabulary import CLASS_INDEX, CLASSES

SPEECH, VIOLIN, DOG, GUITAR = (CLASS_INDEX[n] for n in ("Speech", "Violin_fiddle", "Dog", "Acoustic_guitar"))


def test_subset_prompts():
    descs = description_variant("playing")
    prompts, rows = subset_prompts((SPEECH, VIOLIN), descs)
    assert prompts == ["speech", "playing the violin", "speech and playing the violin", "other"]
    assert rows.sum(1).tolist() == [1, 1, 2, 0] and rows[2, SPEECH] == rows[2, VIOLIN] == 1
    assert subset_prompts((SPEECH, VIOLIN), descs, "not")[0][-1] == "not speech and not playing the violin"
    assert len(subset_prompts(tuple(range(6)), descs)[0]) == 2 ** 6
    with pytest.raises(ValueError, match="no-event"):
        subset_prompts((SPEECH,), descs, "nothing")


def test_table6_prompt_strings():
    """Table 6 rows: a prefix is added once per prompt, not once per class."""
    prompt = lambda variant, *c: subset_prompts(c, description_variant(variant))[0][-2]  # noqa: E731  the full subset
    assert prompt("original", SPEECH, GUITAR) == "speech and acoustic guitar"
    assert prompt("playing", SPEECH, GUITAR) == "speech and playing the guitar"
    assert prompt("photo_of", SPEECH, GUITAR) == "a photo of speech and playing the guitar"
    assert prompt("playing_person", SPEECH, GUITAR) == "a person speaking and playing the guitar"  # the paper's example
    assert prompt("playing_person", DOG) == "dog"  # no human activity: no "a person"
    assert prompt("official", SPEECH, GUITAR) == "Speeching and playing the guitar"  # fyyCS/LSLD main.py strings
    assert description_variant("playing").names["Basketball_bounce"] == "playing basketball"
    assert class_descriptions("photo_of")[DOG] == "a photo of dog"
    with pytest.raises(KeyError, match="unknown description variant"):
        description_variant("fancy")


def test_denoise_picks_the_most_similar_subset():
    enc = SyntheticTextEncoder(LatentSpace.from_seed(0))
    space = enc.space
    feats = np.zeros((1, 3, 512), np.float32)
    feats[0, 0] = space.prototypes[SPEECH] + space.prototypes[VIOLIN]
    feats[0, 1] = space.prototypes[VIOLIN]
    feats[0, 2] = space.background
    y = np.zeros((1, 25), np.uint8)
    y[0, [SPEECH, VIOLIN]] = 1
    out = denoise_segments(feats, y, enc)
    assert sorted(np.flatnonzero(out[0, 0])) == sorted([SPEECH, VIOLIN])
    assert np.flatnonzero(out[0, 1]).tolist() == [VIOLIN]
    assert out[0, 2].sum() == 0  # "other"
    s = prompt_similarity(torch.as_tensor(feats), enc.encode_text(["a", "b"]))
    assert torch.allclose(s.sum(-1), torch.ones(1, 3))
    many = np.zeros((1, 25), np.uint8)
    many[0, :5] = 1
    kept = denoise_segments(np.random.default_rng(0).standard_normal((1, 10, 512)).astype(np.float32), many, enc, max_labels=3)
    assert (kept == many[:, None]).all()  # upstream option: videos with more labels keep the video label


def test_official_overlap_and_reweight_by_hand():
    # one class: with-segments 0.30..0.50, without 0.0..0.32 -> band [0.30, 0.32]
    labels = np.zeros((1, 10, 1), np.uint8)
    labels[0, :5, 0] = 1
    sim = np.array([0.30, 0.35, 0.4, 0.45, 0.5, 0.0, 0.1, 0.2, 0.31, 0.32], np.float32).reshape(1, 10, 1)
    video = np.ones((1, 1), np.uint8)
    uw, uwo = unreliable_segments(sim, labels, video)
    assert np.flatnonzero(uw[0, :, 0]).tolist() == [0]  # with-segment below the largest without (0.32)
    assert np.flatnonzero(uwo[0, :, 0]).tolist() == [8, 9]  # without-segments above the smallest with (0.30)
    out = reweight(labels, sim, uw, uwo, alpha=4, beta=0.4)
    assert out[0, 0, 0] == 1.0  # 4 * 0.30 >= 1: kept
    assert out[0, 8, 0] == pytest.approx(0.4 * 0.31) and out[0, 9, 0] == pytest.approx(0.4 * 0.32)
    assert (out[0, 1:5, 0] == 1).all() and (out[0, 5:8, 0] == 0).all()
    assert (reweight(labels, sim, uw, uwo, mode="with_only")[0, 8:, 0] == 0).all()
    assert reweight(labels, sim, uw, uwo, alpha=4, beta=0.4, mode="stable")[0, 8, 0] == pytest.approx(0.4 * 0.315)
    assert reweight(labels, sim * 0.5, uw, uwo, alpha=4, beta=0.4)[0, 0, 0] == pytest.approx(4 * 0.15)
    # eq. 4 is written only where 0 < value < 1: a negative cosine keeps the label 1
    assert reweight(labels, sim - 0.4, uw, uwo, alpha=4, beta=0.4)[0, 0, 0] == 1.0
    with pytest.raises(ValueError, match="re-weighting mode"):
        reweight(labels, sim, uw, uwo, mode="random")


def test_official_scope_is_every_training_segment():
    """A without-c segment of a video NOT labelled c still widens the band (official rule), not the robust one."""
    labels = np.zeros((2, 10, 1), np.uint8)
    labels[0, :5, 0] = 1
    sim = np.zeros((2, 10, 1), np.float32)
    sim[0, :5, 0] = [0.4, 0.5, 0.6, 0.7, 0.8]
    sim[0, 5:, 0] = 0.1
    sim[1, 0, 0] = 0.65  # video 1 lacks c but one segment looks like c
    video = np.array([[1], [0]], np.uint8)
    uw, uwo = unreliable_segments(sim, labels, video, "official")
    assert np.flatnonzero(uw[0, :, 0]).tolist() == [0, 1, 2] and uwo[1, 0, 0] and not uwo[0].any()
    uw_r, uwo_r = unreliable_segments(sim, labels, video, "robust")
    assert not uw_r.any() and not uwo_r.any()


def _official_loop(sim: np.ndarray, denoised: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """An independent plain-Python re-statement of fyyCS/LSLD main.py's re-weighting, per class."""
    out = denoised.astype(np.float32).copy()
    n, t, c = denoised.shape
    for k in range(c):
        with_c = [(i, j) for i in range(n) for j in range(t) if denoised[i, j, k] == 1]
        without_c = [(i, j) for i in range(n) for j in range(t) if denoised[i, j, k] == 0]
        if not with_c or not without_c:
            continue
        smallest_with = min(sim[i, j, k] for i, j in with_c)
        largest_without = max(sim[i, j, k] for i, j in without_c)
        if largest_without <= smallest_with:
            continue
        for i, j in with_c:
            if sim[i, j, k] < largest_without and 0 < sim[i, j, k] * alpha < 1:
                out[i, j, k] = sim[i, j, k] * alpha
        for i, j in without_c:
            if sim[i, j, k] > smallest_with and 0 < sim[i, j, k] * beta < 1:
                out[i, j, k] = sim[i, j, k] * beta
    return out


def test_default_reweighting_equals_an_independent_official_loop(smoke_world):
    from avvp_lib.data import load_split

    s = load_split(smoke_world, "train", progress=False)
    feats = load_features(smoke_world, "clip_vitb16", s.video_ids, "mean", progress=False)[:60]
    enc = SyntheticTextEncoder.from_world(smoke_world)
    out = lsld_labels(feats, s.labels[:60], enc, LSLDConfig())
    sim = class_similarity(feats, enc, list(CLASSES))  # raw class names, as the official code
    expected = _official_loop(sim, out["denoised"], alpha=4.0, beta=0.4)
    np.testing.assert_allclose(out["final"], expected, rtol=1e-6)
    assert 0 < (out["final"] != out["denoised"]).sum()  # re-weighting changed some labels


def test_no_overlap_marks_nothing():
    labels = np.zeros((1, 10, 1), np.uint8)
    labels[0, :5, 0] = 1
    sim = np.linspace(1, 0, 10, dtype=np.float32).reshape(1, 10, 1)
    uw, uwo = unreliable_segments(sim, labels, np.ones((1, 1), np.uint8))
    assert not uw.any() and not uwo.any()


def test_lsld_labels_on_the_smoke_world(smoke_world):
    from avvp_lib.data import load_split
    from avvp_lib.metrics import visual_scores

    s = load_split(smoke_world, "train", ("clip_vitb16",), progress=False)  # CLIP frames, mean of 8 per segment
    enc = SyntheticTextEncoder.from_world(smoke_world)
    out = lsld_labels(s.features["clip_vitb16"], s.labels, enc, LSLDConfig())
    assert out["final"].shape == (240, 10, 25) and out["final"].min() >= 0 and out["final"].max() <= 1
    assert (out["denoised"] <= s.labels[:, None]).all()  # denoising only removes labels
    weak = video_label_everywhere(s.labels)
    assert visual_scores(out["denoised"], s.gt_visual)["seg_v"] > visual_scores(weak, s.gt_visual)["seg_v"]
