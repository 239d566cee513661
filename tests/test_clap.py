"""The CLAP path: the laion_clap wrapper fails fast without local weights; the synthetic world's CLAP-like space."""
import hashlib
import importlib.util
import os

import numpy as np
import pytest
import torch

from avvp_lib.__main__ import main
from avvp_lib.clap_encoder import (CHECKPOINT_ENV, TEXT_ENV, ClapEncoder, ClapTextTable, ClapUnavailable,
                                   resolve_checkpoint, save_text_table)
from avvp_lib.clip_encoder import WeightsUnavailable
from avvp_lib.data.features import load_features
from avvp_lib.data.splits import load_split
from avvp_lib.methods.baseline import video_label_everywhere
from avvp_lib.config import DataConfig
from avvp_lib.experiments import get_profile
from avvp_lib.methods.lsld_audio import (AUDIO_TEMPLATE, LSLDOfficialConfig, audio_labels_for_split, clap_audio_labels,
                                         clap_prompts, denoise_audio_segments)
from avvp_lib.recipes import lsld_official_run
from avvp_lib.reproduce import clap_texts
from avvp_lib.runs import run_fingerprint
from avvp_lib.train import BuildContext
from avvp_lib.methods.vplan_lsld import VPLANLSLDConfig
from avvp_lib.metrics import parse_scores
from avvp_lib.synthetic.clap_space import ClapSpace
from avvp_lib.synthetic.text_encoder import world_text
from avvp_lib.text_encoders import cosine, text_encoder_for, text_encoder_identity
from avvp_lib.vocabulary import CLASSES, NUM_CLASSES


def test_no_checkpoint_fails_fast_with_instructions(monkeypatch, tmp_path):
    monkeypatch.delenv(CHECKPOINT_ENV, raising=False)
    monkeypatch.delenv(TEXT_ENV, raising=False)
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


def _random_table(path, prompts: list[str], dim: int = 16) -> np.ndarray:
    emb = np.random.default_rng(0).standard_normal((len(prompts), dim)).astype(np.float32)
    save_text_table(path, "clap_audioset", prompts, emb, "0" * 64)
    return emb


def test_text_table_serves_its_prompts_and_names_what_it_lacks(tmp_path):
    emb = _random_table(tmp_path / "t.npz", ["a", "b"])
    table = ClapTextTable(tmp_path / "t.npz", "clap_audioset")
    assert torch.allclose(table.encode_text(["b", "a", "b"]), torch.nn.functional.normalize(torch.as_tensor(emb), dim=-1)[[1, 0, 1]])
    with pytest.raises(WeightsUnavailable, match=r"t.npz: no CLAP text embedding for 1 prompt\(s\), e.g. 'c'.*clap-prompts"):
        table.encode_text(["a", "c", "a"])
    with pytest.raises(ValueError, match="embeddings for 'clap_audioset', not 'clap_music'"):
        ClapTextTable(tmp_path / "t.npz", "clap_music")
    (tmp_path / "junk.npz").write_bytes(b"not an npz")
    with pytest.raises(ValueError, match="junk.npz: not a CLAP text-embedding file"):
        ClapTextTable(tmp_path / "junk.npz", "clap_audioset")


def test_real_features_use_the_text_table_when_given(tmp_path, monkeypatch):
    """AVVP_CLAP_TEXT replaces the checkpoint (no laion_clap needed), and the run records the file's hash."""
    _random_table(tmp_path / "t.npz", ["x"])
    monkeypatch.delenv(CHECKPOINT_ENV, raising=False)
    monkeypatch.setenv(TEXT_ENV, str(tmp_path / "t.npz"))
    enc = text_encoder_for(world_text(tmp_path), "clap_audioset")  # not a synthetic world: real CLAP texts
    assert isinstance(enc, ClapTextTable) and enc.encode_text(["x"]).shape == (1, 16)
    identity = text_encoder_identity(tmp_path, "clap_audioset")
    assert identity["encoder"] == "clap_text_table"
    assert identity["sha256"] == hashlib.sha256((tmp_path / "t.npz").read_bytes()).hexdigest()
    monkeypatch.setenv(TEXT_ENV, str(tmp_path / "gone.npz"))
    with pytest.raises(WeightsUnavailable, match="CLAP text embeddings not found: .*gone.npz"):
        text_encoder_for(None, "clap_audioset")


@pytest.mark.parametrize("sup", [LSLDOfficialConfig(), VPLANLSLDConfig()], ids=["lsld_official", "vplan_lsld"])
def test_clap_prompts_are_every_text_the_audio_denoising_encodes(smoke_world, tmp_path, sup):
    """A table of exactly ``clap_prompts`` serves the whole denoising; without its 'other' prompt it cannot."""
    split = load_split(smoke_world, "train", progress=False)
    prompts = clap_prompts(sup, split.labels)
    assert prompts == sorted(set(prompts)) and "This is a sound of other" in prompts
    feats = load_features(smoke_world, "clap_audioset", split.video_ids, progress=False)
    _random_table(tmp_path / "all.npz", prompts, dim=feats.shape[-1])
    labels = clap_audio_labels(sup, feats, split.labels, ClapTextTable(tmp_path / "all.npz", "clap_audioset"))
    assert labels.shape == feats.shape[:2] + (NUM_CLASSES,)
    _random_table(tmp_path / "less.npz", [p for p in prompts if p != "This is a sound of other"], dim=feats.shape[-1])
    with pytest.raises(WeightsUnavailable, match="This is a sound of other"):
        clap_audio_labels(sup, feats, split.labels, ClapTextTable(tmp_path / "less.npz", "clap_audioset"))


def test_clap_prompts_command_writes_the_texts_of_the_profile(smoke_world, tmp_path, capsys):
    """Every split's weak labels, under the settings of every run that makes CLAP labels (LSLD official)."""
    out = tmp_path / "prompts.txt"
    assert main(["clap-prompts", "--profile", "smoke", "--out", str(out)]) == 0
    listed = out.read_text().splitlines()
    official = {p for s in ("train", "val", "test") for p in clap_prompts(LSLDOfficialConfig(), load_split(
        smoke_world, s, progress=False).labels)}
    assert official <= set(listed) and listed == sorted(set(listed))
    assert f"{len(listed)} clap_audioset prompts in {out}" in capsys.readouterr().out
    assert main(["clap-prompts", "--profile", "smoke", "--kind", "clap_none", "--out", str(out)]) == 2


def test_released_features_get_their_clap_labels_from_the_listed_and_embedded_texts(smoke_world, tmp_path, monkeypatch):
    """The real user's path without laion_clap: clap-prompts' list, embedded elsewhere, read through
    AVVP_CLAP_TEXT by the run's build context; the run's fingerprint records the file's hash."""
    root = tmp_path / "released"  # the smoke world as released features: its CSVs and feats, no world file
    root.mkdir()
    for name in os.listdir(smoke_world):
        if name.endswith(".csv"):
            (root / name).symlink_to(smoke_world / name)
    (root / "feats").symlink_to(smoke_world / "feats")
    assert world_text(root) is None
    table = tmp_path / "clap_text.npz"
    _random_table(table, clap_texts(get_profile("smoke", data_dir=str(root))), dim=512)
    monkeypatch.setenv(TEXT_ENV, str(table))
    cfg = lsld_official_run(DataConfig(data_dir=str(root)))
    split = load_split(root, "train", ("clap_audioset",), progress=False)
    ctx = BuildContext(cfg, {"train": split}, tmp_path / "runs", torch.device("cpu"), progress=False)
    labels = audio_labels_for_split(cfg.supervision, "train", ctx)
    assert labels.shape == (len(split), 10, NUM_CLASSES) and not (labels & (1 - split.labels[:, None, :])).any()
    identity = run_fingerprint(cfg, {"train": split})["audio_text_encoder"]
    assert identity == {"encoder": "clap_text_table", "kind": "clap_audioset", "file": str(table.resolve()),
                        "sha256": hashlib.sha256(table.read_bytes()).hexdigest()}
