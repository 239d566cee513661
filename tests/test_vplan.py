import numpy as np
import pytest
import torch

from avvp_lib.methods.vplan import (category_richness, class_prompts, denoise_pseudo_labels, forward_loss,
                                    generate_pseudo_labels, plg_labels, plg_scores, richness_loss, segment_richness,
                                    video_level, video_precision_recall)
from avvp_lib.text_encoders import SyntheticTextEncoder
from avvp_lib.synthetic.latent import LatentSpace
from avvp_lib.vocabulary import CLASS_INDEX

DOG, ROOSTER, SPEECH = (CLASS_INDEX[n] for n in ("Dog", "Chicken_rooster", "Speech"))


def fig2_example():
    """VPLAN Fig. 2: a video labelled dog, rooster, speech; all three in segment 1, dog only at the end."""
    y = torch.zeros(1, 25)
    y[0, [DOG, ROOSTER, SPEECH]] = 1
    Y = torch.zeros(1, 4, 25)
    Y[0, 0, [DOG, ROOSTER, SPEECH]] = 1
    Y[0, 1, [DOG, ROOSTER]] = 1
    Y[0, 2:, DOG] = 1
    return y, Y


def test_prompts():
    p = class_prompts("P1")
    assert p[CLASS_INDEX["Frying_(food)"]] == "This photo contains the frying food" and len(p) == 25
    assert class_prompts("A [CLS].")[DOG] == "A dog."
    with pytest.raises(ValueError, match="no \\[CLS\\]"):
        class_prompts("no placeholder")


def test_plg_on_hand_made_features():
    enc = SyntheticTextEncoder(LatentSpace.from_seed(0))
    text = enc.encode_text(class_prompts("P1"))
    feats = torch.zeros(1, 3, text.shape[1])
    feats[0, 0] = text[DOG] * 2  # a dog
    feats[0, 1] = text[DOG] + text[SPEECH]  # dog and a speaker
    feats[0, 2] = text[CLASS_INDEX["Car"]]  # a car, not in the label
    y = torch.zeros(1, 25)
    y[0, [DOG, SPEECH]] = 1
    s = plg_scores(feats, text)
    assert torch.allclose(s.sum(-1), torch.ones(1, 3)) and (s - 1 / 25).abs().max() < 0.1  # eq. 3 squeezes near 1/25
    lab = plg_labels(s, y, tau=0.045)
    assert lab[0, 0].nonzero().flatten().tolist() == [DOG]
    assert sorted(lab[0, 1].nonzero().flatten().tolist()) == sorted([DOG, SPEECH])
    assert lab[0, 2].sum() == 0  # the car is masked out by the video label (eq. 4)
    assert video_level(lab)[0].nonzero().flatten().tolist() == sorted([SPEECH, DOG])
    np_lab = generate_pseudo_labels(feats.numpy(), y.numpy(), enc, "P1", 0.045)
    assert (np_lab == lab.numpy()).all()


def test_video_precision_recall():
    gt = np.zeros((2, 10, 25), np.uint8)
    gt[0, :, 1] = gt[1, 3, 2] = 1
    pred = np.zeros((2, 25), np.uint8)
    pred[0, [1, 5]] = 1
    assert video_precision_recall(pred, gt) == {"precision": 50.0, "recall": 50.0, "average": 50.0}


def test_richness_fig2():
    y, Y = fig2_example()
    assert category_richness(Y, y)[0].tolist() == pytest.approx([1, 2 / 3, 1 / 3, 1 / 3])  # eq. 6
    sr = segment_richness(Y)[0]  # eq. 7
    assert (sr[DOG], sr[ROOSTER], sr[SPEECH]) == (1.0, 0.5, 0.25)
    good = richness_loss(Y * 0.98 + 0.01, Y, y)
    assert good < richness_loss(torch.full_like(Y, 0.5), Y, y)
    # predictions outside the video label do not change the loss (masked, so pcr <= 1)
    noisy = Y * 0.98 + 0.01
    noisy[..., CLASS_INDEX["Car"]] = 0.99
    assert torch.allclose(richness_loss(noisy, Y, y), good)


def test_richness_empty_label_is_finite():
    y = torch.zeros(2, 25)
    Y = torch.zeros(2, 10, 25)
    assert torch.isfinite(richness_loss(torch.rand(2, 10, 25), Y, y))


def test_pld_flips_high_loss_labels_only_in_labelled_classes():
    Y = torch.zeros(1, 10, 25)
    Y[0, :8, DOG] = 1
    P = torch.full((1, 10, 25), 0.02)
    P[0, :, DOG] = 0.97
    P[0, :, ROOSTER] = 0.99  # confident, but rooster is not in the pseudo label: never denoised
    out = denoise_pseudo_labels(P, Y, k=5, alpha=10)
    assert out[0, :, DOG].tolist() == [1.0] * 10
    assert out[0, :, ROOSTER].sum() == 0
    # read literally, eq. 11 would turn every masked-out class on (0 >= 0): check it does not
    assert out[0][:, [c for c in range(25) if c != DOG]].sum() == 0


def test_pld_keeps_agreeing_labels_and_validates_k():
    Y = torch.zeros(1, 10, 25)
    Y[0, 2:7, DOG] = 1
    P = Y * 0.96 + 0.02
    assert torch.equal(denoise_pseudo_labels(P, Y), Y)
    assert torch.allclose(forward_loss(P, Y)[0, 2, DOG], -torch.log(torch.tensor(0.98)))
    with pytest.raises(ValueError, match="K must"):
        denoise_pseudo_labels(P, Y, k=11)
