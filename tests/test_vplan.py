import numpy as np
import pytest
import torch

from avvp_lib.methods.vplan import (category_richness, class_prompts, denoise_pseudo_labels, forward_loss,
                                    generate_pseudo_labels, plg_labels, plg_scores, richness_loss, segment_richness,
                                    video_level, video_precision_recall)
from avvp_lib.synthetic.text_encoder import SyntheticTextEncoder
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


def test_video_precision_recall_is_per_video():
    gt = np.zeros((3, 10, 25), np.uint8)
    gt[0, :, 1] = gt[1, 3, 2] = gt[2, 0, [3, 4]] = 1
    pred = np.zeros((3, 25), np.uint8)
    pred[0, [1, 5]] = 1  # P 1/2, R 1/1
    # video 1 predicts nothing: P 0 (0 predicted), R 0/1
    pred[2, [3, 4, 6, 7]] = 1  # P 2/4, R 2/2
    got = video_precision_recall(pred, gt)
    assert got["precision"] == pytest.approx(100 * (0.5 + 0 + 0.5) / 3)
    assert got["recall"] == pytest.approx(100 * (1 + 0 + 1) / 3)
    assert got["average"] == pytest.approx((got["precision"] + got["recall"]) / 2)


def test_table1_dash_row_on_real_llp_val(llp_dir):
    """VPLAN Table I '-' row: the weak label as the visual label, real LLP val (paper: 66.96 / 87.88 / 77.42)."""
    from avvp_lib.data import load_split

    val = load_split(llp_dir, "val", progress=False)
    got = video_precision_recall(val.labels, val.gt_visual)
    assert len(val) == 649
    assert got == pytest.approx({"precision": 66.96, "recall": 87.88, "average": 77.42}, abs=0.01)


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


def test_richness_eq8_by_hand_with_classes_outside_the_label():
    """Eq. 8 on one video of T=2 segments, label {dog}; 'all' averages the sr BCE over all 25 classes."""
    y = torch.zeros(1, 25)
    y[0, DOG] = 1
    Y = torch.zeros(1, 2, 25)
    Y[0, 0, DOG] = 1  # cr = [1, 0], sr[dog] = 0.5
    P = torch.full((1, 2, 25), 0.3)  # 0.3 everywhere, also outside the label (masked away)
    P[0, :, DOG] = torch.tensor([0.8, 0.4])  # pcr = [0.8, 0.4], psr[dog] = 0.6
    b = lambda p, t: -(t * np.log(p) + (1 - t) * np.log(1 - p))  # noqa: E731
    cr_term = (b(0.8, 1) + b(0.4, 0)) / 2
    outside = -np.log(1 - 1e-7)  # psr = sr = 0, clamped to 1e-7 as upstream's BCE
    sr_all = (b(0.6, 0.5) + 24 * outside) / 25
    assert richness_loss(P, Y, y).item() == pytest.approx(cr_term + sr_all, rel=1e-5)
    assert richness_loss(P, Y, y, sr_over="labelled").item() == pytest.approx(cr_term + b(0.6, 0.5), rel=1e-5)
    with pytest.raises(ValueError, match="sr_over"):
        richness_loss(P, Y, y, sr_over="some")


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


def test_pld_reads_float32_predictions(smoke_world, tmp_path):
    """Stored run predictions are float32, so PLD's forward loss sees the probabilities the model gave."""
    from avvp_lib.config import DataConfig, RunConfig, TrainConfig
    from avvp_lib.train import train

    cfg = RunConfig(name="f32", data=DataConfig(data_dir=str(smoke_world)), train=TrainConfig(epochs=1, step_size=1))
    preds = train(cfg, tmp_path, "cpu", progress=False).predictions("train")
    with np.load(train(cfg, tmp_path, "cpu", progress=False).run_dir / "predictions.npz") as z:
        assert z["train/frame"].dtype == np.float32
    assert preds["frame"].dtype == np.float32
