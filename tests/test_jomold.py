import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from avvp_lib.config import DataConfig, RunConfig, TrainConfig, from_dict, to_dict
from avvp_lib.methods.baseline import smooth
from avvp_lib.methods.jomold import (JoMoLDConfig, JoMoLDTargets, build_jomold_targets, estimate_noise_ratios,
                                     joint_modal_denoise, load_noise_ratios, modality_losses, save_noise_ratios,
                                     warm_up_factor)
from avvp_lib.methods.vplan import video_precision_recall
from avvp_lib.models.han import HANOutput
from avvp_lib.paths import SHARED_LLP_DIR
from avvp_lib.train import BuildContext, load_run_data, train
from avvp_lib.vocabulary import CLASS_INDEX

CMPAE_RATIOS = SHARED_LLP_DIR.parent / "upstream" / "CVPR2023-CMPAE" / "noise_ratios.npz"
DOG, CAR = CLASS_INDEX["Dog"], CLASS_INDEX["Car"]


def test_noise_ratios_on_constructed_predictions():
    y = np.zeros((4, 25))
    y[:3, DOG] = 1  # three dog videos, one car video
    y[3, CAR] = 1
    audio = np.full((4, 25), 0.2)
    audio[:, DOG] = [0.9, 0.1, 0.8, 0.0]  # mean 0.45: confidence p / 0.45 < 0.6 <=> p < 0.27
    visual = np.full((4, 25), 0.2)
    visual[:, DOG] = [0.9, 0.5, 0.2, 0.0]  # mean 0.4: p * 0.95 / 0.4 < 1.8 <=> p < 0.758 (two of three)
    r = estimate_noise_ratios(audio, visual, y)
    assert r["audio"][DOG] == pytest.approx(1 / 3) and r["visual"][DOG] == pytest.approx(2 / 3)
    assert r["audio"][CAR] == 0 and r["visual"][CAR] == 1  # car: 0.2 / 0.2 = 1 is >= 0.6 but < 1.8
    assert r["audio"][CLASS_INDEX["Cat"]] == 0  # no cat video: 0, not 0/0
    assert set(r) == {"audio", "visual"} and all(v.dtype == np.float64 and v.shape == (25,) for v in r.values())
    stricter = estimate_noise_ratios(audio, visual, y, JoMoLDConfig(visual_threshold=0.9))  # p < 0.379
    assert stricter["visual"][DOG] == pytest.approx(1 / 3) and stricter["visual"][CAR] == 0


def test_saved_ratios_have_the_upstream_format(tmp_path):
    ratios = {"audio": np.linspace(0, 0.1, 25), "visual": np.linspace(0, 1, 25)}
    save_noise_ratios(tmp_path / "noise_ratios.npz", ratios)
    with np.load(tmp_path / "noise_ratios.npz", allow_pickle=False) as ours:
        mine = {k: (ours[k].dtype, ours[k].shape) for k in ours.files}
    assert mine == {"audio": (np.float64, (25,)), "visual": (np.float64, (25,))}
    if CMPAE_RATIOS.is_file():
        with np.load(CMPAE_RATIOS, allow_pickle=False) as theirs:
            assert mine == {k: (theirs[k].dtype, theirs[k].shape) for k in theirs.files}
        published = load_noise_ratios(CMPAE_RATIOS)
        assert published["visual"][CLASS_INDEX["Speech"]] == pytest.approx(0.994, abs=5e-4)
    assert np.array_equal(load_noise_ratios(tmp_path / "noise_ratios.npz")["visual"], ratios["visual"])
    np.savez(tmp_path / "bad.npz", audio=np.zeros(25))
    with pytest.raises(ValueError, match="bad.npz.*not a JoMoLD noise-ratio file"):
        load_noise_ratios(tmp_path / "bad.npz")
    np.savez(tmp_path / "range.npz", audio=np.zeros(25), visual=np.full(25, 2.0))
    with pytest.raises(ValueError, match="range.npz.*in \\[0, 1\\]"):
        load_noise_ratios(tmp_path / "range.npz")


def test_joint_modal_denoise_by_hand():
    y = torch.zeros(5, 25)
    y[:4, DOG] = 1  # video 4 has no dog: never counted, never dropped
    y[[0, 1, 2], CAR] = 1
    loss_v, loss_a = torch.zeros(5, 25), torch.zeros(5, 25)
    loss_v[:, DOG] = torch.tensor([4.0, 3.0, 2.0, 1.0, 9.0])
    loss_a[:, DOG] = torch.tensor([0.1, 5.0, 0.2, 0.3, 0.0])
    loss_a[:, CAR] = torch.tensor([3.0, 1.0, 2.0, 0.0, 9.0])
    loss_v[:, CAR] = torch.tensor([0.5, 0.7, 0.6, 0.0, 0.0])
    ratio_v, ratio_a = torch.zeros(25), torch.zeros(25)
    ratio_v[DOG] = 0.5  # k = 2: largest visual {0, 1}, smallest audio {0, 2} -> drop visual dog of video 0
    ratio_a[DOG] = 0.25  # k = 1: largest audio {1}, smallest visual {3}: disjoint, nothing dropped
    ratio_a[CAR] = 0.7  # k = floor(2.1) = 2: largest audio {0, 2}, smallest visual {0, 2} -> both dropped
    drop_a, drop_v = joint_modal_denoise(loss_a, loss_v, y, ratio_a, ratio_v)
    assert drop_v.nonzero().tolist() == [[0, DOG]]
    assert drop_a.nonzero().tolist() == [[0, CAR], [2, CAR]]
    none_a, none_v = joint_modal_denoise(loss_a, loss_v, y, torch.zeros(25), torch.zeros(25))
    assert not none_a.any() and not none_v.any()
    assert torch.allclose(modality_losses(torch.tensor([[0.9]]), torch.tensor([[1.0]])), -torch.log(torch.tensor([[0.9]])))


def test_warm_up_rules():
    assert warm_up_factor(0.45, 0.9) == pytest.approx(0.5) and warm_up_factor(2.0, 0.9) == 1.0 and warm_up_factor(0, 0) == 1
    y = torch.eye(25)[:4]
    targets = dict(video=y, audio=y, visual=y, noise_audio=torch.ones(25), noise_visual=torch.ones(25), iters_per_epoch=10)
    code, linear = JoMoLDTargets(**targets), JoMoLDTargets(**targets, warm_up="linear")
    out = HANOutput(y * 0.5, y * 0.5, y * 0.5, torch.full((4, 10, 2, 25), 0.5))
    factors = {"code": [], "linear": []}
    for epoch in range(2):
        for t, name in ((code, "code"), (linear, "linear")):
            t.start_epoch(epoch)
            for _ in range(10):
                t.loss(out, torch.arange(4))
                factors[name].append(t._factor)
    assert factors["code"] == [0.0] * 10 + [1.0] * 10  # the code's compounding min: nothing dropped in epoch 1
    assert factors["linear"][:10] == pytest.approx([s / 9 for s in range(10)]) and factors["linear"][10:] == [1.0] * 10
    with pytest.raises(ValueError, match="warm_up"):
        JoMoLDTargets(**targets, warm_up="cosine")


def test_loss_is_weighted_han_loss_before_any_drop():
    g = torch.Generator().manual_seed(0)
    out = HANOutput(*(torch.rand(6, 25, generator=g) * 0.9 + 0.05 for _ in range(3)), torch.rand(6, 10, 2, 25, generator=g))
    y = (torch.rand(6, 25, generator=g) < 0.2).float()
    t = JoMoLDTargets(video=y, audio=y, visual=smooth(y, 0.9), noise_audio=torch.full((25,), 0.5),
                      noise_visual=torch.full((25,), 0.5), iters_per_epoch=3)
    t.start_epoch(0)
    expected = (F.binary_cross_entropy(out.global_prob, y) + 2 * F.binary_cross_entropy(out.audio_prob, y)
                + F.binary_cross_entropy(out.visual_prob, smooth(y, 0.9)))
    assert torch.allclose(t.loss(out, torch.arange(6)), expected)  # first batch: warm-up factor 0
    moved = t.to("cpu")
    assert isinstance(moved, JoMoLDTargets) and torch.equal(moved.noise_visual, t.noise_visual)


def test_jomold_end_to_end_on_smoke_world(smoke_world, tmp_path):
    schedule = TrainConfig(epochs=2, batch_size=32, step_size=1, gamma=0.5, seed=3)
    cfg = RunConfig(name="jomold", data=DataConfig(data_dir=str(smoke_world)), train=schedule, supervision=JoMoLDConfig())
    assert from_dict(json.loads(json.dumps(to_dict(cfg)))) == cfg
    result = train(cfg, tmp_path, "cpu", progress=False)
    assert all(0 <= v <= 100 for v in result.test.values())
    assert any(p.name.startswith("jomold_estimator-") for p in tmp_path.iterdir())  # step 1's prerequisite run
    split = load_run_data(cfg.data)["train"]
    ctx = BuildContext(cfg, {"train": split}, tmp_path, torch.device("cpu"), False)
    targets = build_jomold_targets(cfg.supervision, ctx)
    assert targets.iters_per_epoch == math.ceil(len(split) / 32) and targets.noise_visual.max() > 0
    model = ctx.load_model(result)  # the denoised run's model, batch by batch as in its second epoch
    audio, visual = ctx.train_inputs()
    y = torch.as_tensor(split.labels, dtype=torch.float32)
    ref_a, ref_v = torch.zeros_like(y, dtype=torch.bool), torch.zeros_like(y, dtype=torch.bool)
    with torch.no_grad():
        for i in range(0, len(y), 32):
            idx = torch.arange(i, min(i + 32, len(y)))
            a, v = targets.denoised(model(audio[idx], [x[idx] for x in visual]), idx)
            ref_a[idx], ref_v[idx] = a > 0.5, v > 0.5
            dropped_v = ((y[idx] > 0) & ~ref_v[idx]).sum(0)
            assert (dropped_v <= (targets.noise_visual * y[idx].sum(0)).floor()).all()  # at most the ratio's share
    assert (ref_a <= (y > 0)).all() and (ref_v <= (y > 0)).all() and (ref_a | ref_v).sum() > 0
    assert not torch.equal(ref_v, y > 0)  # some visual labels were dropped
    for name, ref, gt in (("audio", ref_a, split.gt_audio), ("visual", ref_v, split.gt_visual)):
        before, after = video_precision_recall(split.labels, gt), video_precision_recall(ref.numpy(), gt)
        print(f"JoMoLD {name}: weak P/R {before['precision']:.1f}/{before['recall']:.1f} -> "
              f"refined {after['precision']:.1f}/{after['recall']:.1f} ({int((y > 0).sum() - ref.sum())} drops)")
