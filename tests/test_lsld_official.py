"""LSLD (official code): audio denoising with CLAP prompts, its loss, its recipe, HAN's visual dropout."""
import dataclasses
import json

import numpy as np
import pytest
import torch

from avvp_lib.config import DataConfig, ModelConfig, to_dict
from avvp_lib.losses import EPS
from avvp_lib.metrics import binarize
from avvp_lib.methods.lsld_audio import AUDIO_TEMPLATE, build_lsld_official_targets, denoise_audio_segments
from avvp_lib.models.han import HAN, HANOutput
from avvp_lib.models.stacked_han import StackedHAN
from avvp_lib.recipes import LSLD_OFFICIAL_SCHEDULE, lsld_official_run
from avvp_lib.train import BuildContext, load_run_data, train
from avvp_lib.vocabulary import CLASS_INDEX

SPEECH, DOG, CAT, CAR, CELLO = (CLASS_INDEX[n] for n in ("Speech", "Dog", "Cat", "Car", "Cello"))


def sound(text: str) -> str:
    return AUDIO_TEMPLATE.replace("[CLS]", text)


def test_audio_denoising_by_hand(table_encoder):
    """main.py L165-252: 'This is a sound of ...' prompts, argmax per segment; 4+ labels are not denoised."""
    enc = table_encoder({sound("Speeching"): [1, 0, 0], sound("Dog"): [0, 1, 0], sound("Speeching and Dog"): [1, 1, 0],
                        sound("other"): [0, 0, 1]})
    feats = np.zeros((2, 10, 3), np.float32)
    feats[0, :4] = [[1, 0, 0],  # cos: speech 1, dog 0, both .71, other 0 -> speech
                    [0.6, 0.8, 0],  # speech .6, dog .8, both .99 -> both
                    [0, 0, 1],  # -> other
                    [0.1, 0.9, 0.2]]  # |f| = .927: speech .11, dog .97, both .76, other .22 -> dog
    feats[0, 4:] = [0, 0, 1]
    feats[1] = [0.3, 0.3, 0.3]
    y = np.zeros((2, 25), np.uint8)
    y[0, [SPEECH, DOG]] = 1
    y[1, [SPEECH, DOG, CAT, CAR]] = 1  # four labels: main.py leaves them on every segment
    out = denoise_audio_segments(feats, y, enc)
    assert np.flatnonzero(out[0, 0]).tolist() == [SPEECH]
    assert sorted(np.flatnonzero(out[0, 1])) == sorted([SPEECH, DOG])
    assert out[0, 2].sum() == 0 and out[0, 4:].sum() == 0
    assert np.flatnonzero(out[0, 3]).tolist() == [DOG]
    np.testing.assert_array_equal(out[1], np.repeat(y[1:], 10, axis=0))
    with pytest.raises(KeyError):  # the paper's descriptions give other strings than the code's
        denoise_audio_segments(feats, y, enc, variant="playing")


def bce(p, y):
    p = p.clamp(EPS, 1 - EPS)
    return -(y * p.log() + (1 - y) * (1 - p).log()).mean()


@pytest.fixture(scope="module")
def official_ctx(smoke_world, tmp_path_factory):
    cfg = lsld_official_run(DataConfig(data_dir=str(smoke_world)))
    data = load_run_data(cfg.data)
    return cfg, BuildContext(cfg, {"train": data["train"]}, tmp_path_factory.mktemp("runs"), torch.device("cpu"), progress=False)


def test_official_loss_by_hand(official_ctx):
    """main.py L278-293: 3 x BCE(P^a, Y^a) + BCE(P^v, Y^v) + BCE(p^{v∪a}, y); no video-level audio or visual term."""
    cfg, ctx = official_ctx
    targets = build_lsld_official_targets(cfg.supervision, ctx)
    assert targets.audio is None and targets.visual is None and targets.seg_audio_weight == 3.0
    g = torch.Generator().manual_seed(0)
    idx = torch.tensor([3, 7, 11])
    frame = torch.rand(3, 10, 2, 25, generator=g)
    out = HANOutput(global_prob=torch.rand(3, 25, generator=g), audio_prob=torch.rand(3, 25, generator=g),
                    visual_prob=torch.rand(3, 25, generator=g), frame_prob=frame)
    ya, yv, y = targets.seg_audio[idx], targets.seg_visual[idx], targets.video[idx]
    expected = 3 * bce(frame[:, :, 0], ya) + bce(frame[:, :, 1], yv) + bce(out.global_prob, y)
    assert torch.allclose(targets.loss(out, idx), expected, atol=1e-6)
    other = dataclasses.replace(out, audio_prob=torch.rand(3, 25, generator=g), visual_prob=torch.rand(3, 25, generator=g))
    assert torch.equal(targets.loss(other, idx), targets.loss(out, idx))  # video-level a/v predictions play no part
    # the audio labels are CLAP-denoised: subsets of the weak label, not the weak label everywhere
    weak = targets.video[:, None, :].expand_as(targets.seg_audio)
    assert (targets.seg_audio <= weak).all() and (targets.seg_audio < weak).any()
    assert set(torch.unique(targets.seg_audio).tolist()) <= {0.0, 1.0}  # audio is not re-weighted


def test_official_recipe_and_own_modality_masking():
    run = lsld_official_run(DataConfig(data_dir="data/x"))
    assert run.data.audio == "clap_audioset" and run.data.visual == ("clip_vitb16",)
    assert (run.model.num_layers, run.model.share_layer, run.model.visual_dropout) == (4, True, 0.5)
    t = run.train
    assert (t.lr, t.step_size, t.gamma, t.epochs, t.batch_size, t.seed) == (2e-4, 6, 0.25, 20, 32, 6)
    assert t.select_metric == "evt_a" and t.inference == "per_modality"
    assert run.feature_kinds() == ("clap_audioset", "clip_vitb16")
    # masking: audio segments confident, the fused video prediction too, the audio video prediction not
    frame = np.full((1, 10, 2, 25), 0.9, np.float32)
    glob, pa, pv = np.full((1, 25), 0.9), np.full((1, 25), 0.2), np.full((1, 25), 0.9)
    a_own, v_own = binarize(frame, glob, pa, pv, rule=t.inference)
    a_fused, _ = binarize(frame, glob, pa, pv, rule="fused")
    assert a_own.sum() == 0 and v_own.sum() == 250 and a_fused.sum() == 250
    # configs without the new fields keep their dicts (and so their hashes)
    assert "visual_dropout" not in to_dict(ModelConfig()) and to_dict(run.model)["visual_dropout"] == 0.5


def test_visual_dropout_drops_only_the_visual_branch():
    torch.manual_seed(0)
    han = HAN(audio_dim=8, visual_dims=(6,), d_model=16, dim_feedforward=16, dropout=0.0, visual_dropout=0.5)
    audio, visual = torch.randn(2, 10, 8), [torch.randn(2, 10, 6)]
    han.eval()
    ref = han(audio, visual)
    stacked = StackedHAN([han])
    stacked.eval()
    assert torch.allclose(stacked(audio, visual, shared=True).frame_prob[0], ref.frame_prob, atol=1e-6)
    for model, call in ((han, lambda: han(audio, visual).frame_prob),
                        (stacked, lambda: stacked(audio, visual, shared=True, generators=[torch.Generator().manual_seed(
                            int(torch.randint(0, 10**6, ())))]).frame_prob[0])):
        model.train()
        a, b = call(), call()
        assert torch.allclose(a[:, :, 0], ref.frame_prob[:, :, 0], atol=1e-6)  # audio untouched
        assert not torch.allclose(a[:, :, 1], b[:, :, 1])  # visual dropped at random
    with pytest.raises(ValueError, match="visual_dropout"):
        HAN(visual_dropout=1.0)


def test_official_recipe_trains_one_epoch(smoke_world, tmp_path):
    schedule = dataclasses.replace(LSLD_OFFICIAL_SCHEDULE, epochs=1, step_size=1)
    res = train(lsld_official_run(DataConfig(data_dir=str(smoke_world)), schedule), tmp_path, "cpu", progress=False)
    recorded = json.loads((res.run_dir / "results.json").read_text())
    assert res.best_epoch == 1 and 0 <= res.test["evt_a"] <= 100
    assert recorded["fingerprint"]["audio_text_encoder"] == {"encoder": "synthetic_clap", "world_seed": 0}
    assert set(recorded["fingerprint"]["features"]) == {"clap_audioset", "clip_vitb16"}
