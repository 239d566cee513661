import numpy as np
import pytest
import torch

from avvp_lib.methods.baseline import video_label_everywhere
from avvp_lib.methods.lsld import (LSLDConfig, denoise_segments, descriptions, lsld_labels, prompt_similarity,
                                   reweight, subset_prompts, unreliable_segments)
from avvp_lib.synthetic.latent import LatentSpace
from avvp_lib.text_encoders import SyntheticTextEncoder
from avvp_lib.vocabulary import CLASS_INDEX, LSLD_DESCRIPTIONS

SPEECH, VIOLIN, DOG = (CLASS_INDEX[n] for n in ("Speech", "Violin_fiddle", "Dog"))


def test_subset_prompts():
    descs = descriptions("playing")
    prompts, rows = subset_prompts((SPEECH, VIOLIN), descs)
    assert prompts == ["speech", "playing the violin", "speech and playing the violin", "other"]
    assert rows.sum(1).tolist() == [1, 1, 2, 0] and rows[2, SPEECH] == rows[2, VIOLIN] == 1
    assert subset_prompts((SPEECH, VIOLIN), descs, "not")[0][-1] == "not speech and not playing the violin"
    assert len(subset_prompts(tuple(range(6)), descs)[0]) == 2 ** 6
    with pytest.raises(ValueError, match="no-event"):
        subset_prompts((SPEECH,), descs, "nothing")


def test_description_variants():
    assert LSLD_DESCRIPTIONS["playing"]["Basketball_bounce"] == "playing basketball"
    assert LSLD_DESCRIPTIONS["playing"]["Acoustic_guitar"] == "playing the guitar"
    assert LSLD_DESCRIPTIONS["photo_of"]["Dog"].startswith("a photo of")
    assert LSLD_DESCRIPTIONS["playing_person"]["Cello"] == "a person playing the cello"
    with pytest.raises(KeyError, match="unknown description variant"):
        descriptions("fancy")


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


def test_unreliable_overlap_and_reweight():
    # class 0: with-segments similar 0.3..0.5, without 0.0..0.32 -> overlap [0.3, 0.32]
    labels = np.zeros((1, 10, 1), np.uint8)
    labels[0, :5, 0] = 1
    sim = np.array([0.30, 0.35, 0.4, 0.45, 0.5, 0.0, 0.1, 0.2, 0.31, 0.32], np.float32).reshape(1, 10, 1)
    video = np.ones((1, 1), np.uint8)
    uw, uwo = unreliable_segments(sim, labels, video, quantile=0.0)
    assert np.flatnonzero(uw[0, :, 0]).tolist() == [0]  # with-segment below the largest without (0.32)
    assert np.flatnonzero(uwo[0, :, 0]).tolist() == [8, 9]  # without-segments above the smallest with (0.30)
    out = reweight(labels, sim, uw, uwo, alpha=4, beta=0.4)
    assert out[0, 0, 0] == 1.0  # min(1, 4 * 0.30)
    assert out[0, 8, 0] == pytest.approx(0.4 * 0.31) and out[0, 9, 0] == pytest.approx(0.4 * 0.32)
    assert (out[0, 1:5, 0] == 1).all() and (out[0, 5:8, 0] == 0).all()
    assert (reweight(labels, sim, uw, uwo, mode="with_only")[0, 8:, 0] == 0).all()
    assert reweight(labels, sim, uw, uwo, alpha=4, beta=0.4, mode="stable")[0, 8, 0] == pytest.approx(0.4 * 0.315)
    low = reweight(labels, sim * 0.5, uw, uwo, alpha=4, beta=0.4)
    assert low[0, 0, 0] == pytest.approx(4 * 0.15)
    with pytest.raises(ValueError, match="re-weighting mode"):
        reweight(labels, sim, uw, uwo, mode="random")


def test_no_overlap_marks_nothing():
    labels = np.zeros((1, 10, 1), np.uint8)
    labels[0, :5, 0] = 1
    sim = np.linspace(1, 0, 10, dtype=np.float32).reshape(1, 10, 1)
    uw, uwo = unreliable_segments(sim, labels, np.ones((1, 1), np.uint8))
    assert not uw.any() and not uwo.any()


def test_lsld_labels_on_the_smoke_world(smoke_world):
    from avvp_lib.data import load_split
    from avvp_lib.metrics import visual_scores

    s = load_split(smoke_world, "train", ("clip_vitb16",), progress=False)
    enc = SyntheticTextEncoder.from_world(smoke_world)
    out = lsld_labels(s.features["clip_vitb16"], s.labels, enc, LSLDConfig())
    assert out["final"].shape == (240, 10, 25) and out["final"].min() >= 0 and out["final"].max() <= 1
    assert (out["denoised"] <= s.labels[:, None]).all()  # denoising only removes labels
    weak = video_label_everywhere(s.labels)
    assert visual_scores(out["denoised"], s.gt_visual)["seg_v"] > visual_scores(weak, s.gt_visual)["seg_v"]
