"""The CLAP path: the laion_clap wrapper fails fast without local weights; the synthetic world's CLAP-like space."""
import importlib.util

import numpy as np
import pytest
import torch

from avvp_lib.clap_encoder import CHECKPOINT_ENV, ClapEncoder, ClapUnavailable, resolve_checkpoint
from avvp_lib.clip_encoder import WeightsUnavailable
from avvp_lib.data.features import load_features
from avvp_lib.data.splits import load_split
from avvp_lib.methods.baseline import video_label_everywhere
from avvp_lib.methods.lsld_audio import AUDIO_TEMPLATE, denoise_audio_segments
from avvp_lib.metrics import parse_scores
from avvp_lib.synthetic.clap_space import ClapSpace
from avvp_lib.synthetic.text_encoder import world_text
from avvp_lib.text_encoders import cosine, text_encoder_for, text_encoder_identity
from avvp_lib.vocabulary import CLASSES, NUM_CLASSES


def test_no_checkpoint_fails_fast_with_instructions(monkeypatch, tmp_path):
    monkeypatch.delenv(CHECKPOINT_ENV, raising=False)
    with pytest.raises(WeightsUnavailable, match=f"{CHECKPOINT_ENV}=.*630k-audioset-best.pt"):
        resolve_checkpoint("clap_audioset")
    with pytest.raises(WeightsUnavailable, match="CLAP checkpoint not found: .*nothing.pt"):
        ClapEncoder.for_kind("clap_audioset", str(tmp_path / "nothing.pt"))
    with pytest.raises(WeightsUnavailable, match="no CLAP checkpoint"):
        text_encoder_for(world_text(tmp_path), "clap_audioset")  # not a synthetic world: the real CLAP, which needs weights
    with pytest.raises(KeyError, match="unknown CLAP feature kind"):
        resolve_checkpoint("clap_music")
    assert text_encoder_identity(tmp_path, "clap_audioset")["checkpoint"] == "unavailable (WeightsUnavailable)"


@pytest.mark.skipif(importlib.util.find_spec("laion_clap") is not None, reason="laion_clap is installed here")
def test_missing_package_is_named_after_the_checkpoint_check(monkeypatch, tmp_path):
    ckpt = tmp_path / "630k-audioset-best.pt"
    ckpt.write_bytes(b"not read: the import fails first")
    monkeypatch.setenv(CHECKPOINT_ENV, str(ckpt))
    assert resolve_checkpoint("clap_audioset") == ("HTSAT-tiny", False, str(ckpt))
    with pytest.raises(ClapUnavailable, match="pip install laion-clap==1.1.7.*numpy<2"):
        ClapEncoder.for_kind("clap_audioset")


def test_world_writes_clap_features_in_its_clap_space(smoke_world):
    """The CLAP-like text of a class is nearer the segments where it is heard (checked on the train GT only)."""
    split = load_split(smoke_world, "train", ("clap_audioset",), progress=False)
    feats = split.features["clap_audioset"]
    assert feats.shape == (240, 10, 512) and feats.dtype == np.float32
    enc = text_encoder_for(world_text(smoke_world), "clap_audioset")
    assert torch.allclose(enc.encode_text(["dog"]), torch.as_tensor(ClapSpace.from_seed(0).prototypes[3:4]), atol=1e-6)
    sim = cosine(torch.as_tensor(feats), enc.encode_text([AUDIO_TEMPLATE.replace("[CLS]", c) for c in CLASSES])).numpy()
    gt_a = split.gt_audio  # the world's train GT: read by this check only
    heard = [sim[..., c][gt_a[..., c] > 0].mean() > sim[..., c][gt_a[..., c] == 0].mean()
             for c in range(NUM_CLASSES) if gt_a[..., c].any()]
    assert all(heard)


def test_clap_denoised_audio_labels_beat_the_weak_label_on_train(smoke_world):
    split = load_split(smoke_world, "train", progress=False)
    gt_a, gt_v = split.gt_audio, split.gt_visual
    feats = load_features(smoke_world, "clap_audioset", split.video_ids, progress=False)
    labels = denoise_audio_segments(feats, split.labels, text_encoder_for(world_text(smoke_world), "clap_audioset"))
    weak = video_label_everywhere(split.labels)
    ours, base = parse_scores(labels, weak, gt_a, gt_v)["seg_a"], parse_scores(weak, weak, gt_a, gt_v)["seg_a"]
    assert ours > base, (ours, base)
