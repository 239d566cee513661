"""VPLAN + LSLD (the bundle's own method): language labels -> PLD -> richness-aware training."""
import dataclasses

import numpy as np
import pytest
import torch

from avvp_lib.config import DataConfig, TrainConfig, to_dict
from avvp_lib.losses import EPS
from avvp_lib.methods.vplan import richness_loss, video_level
from avvp_lib.methods.vplan_lsld import VPLANLSLDConfig, language_labels, refine, targets_from_labels
from avvp_lib.models.han import HANOutput
from avvp_lib.recipes import vplan_lsld_run
from avvp_lib.train import run_dir_for, train
from avvp_lib.vocabulary import CLASS_INDEX
from avvp_lib.methods.lsld_audio import AUDIO_TEMPLATE

SPEECH, DOG = CLASS_INDEX["Speech"], CLASS_INDEX["Dog"]


def sound(text: str) -> str:
    return AUDIO_TEMPLATE.replace("[CLS]", text)


def test_language_labels_by_hand(table_encoder):
    """Visual prompts are LSLD's bare descriptions, audio ones 'This is a sound of ...' (same subsets + 'other')."""
    vectors = {"speech": [1, 0, 0], "dog": [0, 1, 0], "speech and dog": [1, 1, 0], "other": [0, 0, 1]}
    clip = table_encoder(vectors)
    clap = table_encoder({sound(k): v for k, v in vectors.items()})
    y = np.zeros((1, 25), np.uint8)
    y[0, [SPEECH, DOG]] = 1
    vis = np.tile(np.float32([0, 1, 0]), (1, 10, 1))  # a dog is seen all along
    aud = np.tile(np.float32([0, 0, 1]), (1, 10, 1))
    aud[0, :3] = [1, 0.1, 0]  # speech heard in the first three seconds, then nothing
    out = language_labels(vis, aud, y, clip, clap, VPLANLSLDConfig())
    assert (out["visual"][0, :, DOG] == 1).all() and out["visual"][0].sum() == 10
    assert out["audio"][0, :3, SPEECH].tolist() == [1, 1, 1] and out["audio"][0].sum() == 3
    assert "audio" not in language_labels(vis, None, y, clip, None, VPLANLSLDConfig(audio_labels=False))


def test_pld_refines_both_modalities_by_hand():
    """VPLAN eq. 11, K=5, alpha=10: dog labelled on all 10 segments, predicted 0.9 on eight and 0.01 on two.

    Losses -log(0.9) = 0.105 (x8) and -log(0.01) = 4.61 (x2); mu = 10 x 0.105 = 1.05: the two flip to 0.
    """
    labels = np.zeros((1, 10, 25), np.uint8)
    labels[0, :, DOG] = 1
    frame = np.full((1, 10, 2, 25), 0.5, np.float32)
    frame[0, :, :, DOG] = 0.9
    frame[0, [2, 7], :, DOG] = 0.01
    both = refine({"visual": labels, "audio": labels.copy()}, frame, VPLANLSLDConfig())
    for m in ("visual", "audio"):
        assert both[m][0, :, DOG].tolist() == [1, 1, 0, 1, 1, 1, 1, 0, 1, 1] and both[m].sum() == 8
    visual_only = refine({"visual": labels, "audio": labels.copy()}, frame, VPLANLSLDConfig(pld_audio=False))
    np.testing.assert_array_equal(visual_only["audio"], labels)
    np.testing.assert_array_equal(visual_only["visual"], both["visual"])


def bce(p, y):
    p = p.clamp(EPS, 1 - EPS)
    return -(y * p.log() + (1 - y) * (1 - p).log()).mean()


def test_targets_are_vplan_eq5_and_eq9_in_both_modalities():
    g = torch.Generator().manual_seed(1)
    y = np.zeros((4, 25), np.uint8)
    y[:, [SPEECH, DOG]] = 1
    seg_v = (torch.rand(4, 10, 25, generator=g) > 0.5).to(torch.uint8).numpy() * y[:, None]
    seg_a = (torch.rand(4, 10, 25, generator=g) > 0.7).to(torch.uint8).numpy() * y[:, None]
    t = targets_from_labels({"visual": seg_v, "audio": seg_a}, y, VPLANLSLDConfig())
    out = HANOutput(global_prob=torch.rand(4, 25, generator=g), audio_prob=torch.rand(4, 25, generator=g),
                    visual_prob=torch.rand(4, 25, generator=g), frame_prob=torch.rand(4, 10, 2, 25, generator=g))
    Y, Ya, Yv = (torch.as_tensor(a, dtype=torch.float32) for a in (y, seg_a, seg_v))
    expected = (bce(out.global_prob, Y) + bce(out.audio_prob, video_level(Ya)) + bce(out.visual_prob, video_level(Yv))
                + 0.5 * richness_loss(out.frame_prob[:, :, 1], Yv, Y) + 0.5 * richness_loss(out.frame_prob[:, :, 0], Ya, Y))
    idx = torch.arange(4)
    assert torch.allclose(t.loss(out, idx), expected, atol=1e-6)
    weak = targets_from_labels({"visual": seg_v}, y, VPLANLSLDConfig(audio_labels=False))
    assert torch.equal(weak.audio, Y) and weak.seg_audio is None  # HAN's audio target (smoothing 1.0)
    with pytest.raises(ValueError, match="seg_loss"):
        targets_from_labels({"visual": seg_v}, y, VPLANLSLDConfig(seg_loss="focal"))


def test_vplan_lsld_trains_its_pld_prerequisite_and_itself(smoke_world, tmp_path):
    data = DataConfig(data_dir=str(smoke_world), visual=("clip_vitb16",))
    run = vplan_lsld_run(data, TrainConfig(epochs=1, batch_size=32, step_size=1))
    assert run.feature_kinds() == ("vggish", "clip_vitb16", "clap_audioset")
    assert to_dict(run)["supervision"]["method"] == "vplan_lsld"
    res = train(run, tmp_path, "cpu", progress=False)
    pre = dataclasses.replace(run, name="vplan_lsld_pre", supervision=dataclasses.replace(run.supervision, pseudo="lsld"))
    assert (run_dir_for(pre, tmp_path) / "results.json").is_file() and run_dir_for(pre, tmp_path).name.startswith("vplan_lsld_pre-")
    assert res.best_epoch == 1 and 0 <= res.test["seg_v"] <= 100


def test_the_run_reads_clap_features_only_when_its_audio_labels_come_from_them():
    """Without CLAP audio labels the run neither loads nor fingerprints the CLAP features."""
    with_clap, without = (vplan_lsld_run(DataConfig(), TrainConfig(), supervision=VPLANLSLDConfig(audio_labels=a))
                          for a in (True, False))
    assert "clap_audioset" in with_clap.feature_kinds()
    assert "clap_audioset" not in without.feature_kinds() and "clip_vitb16" in without.feature_kinds()
