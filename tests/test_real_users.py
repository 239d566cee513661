"""What users of the released LLP features meet: missing videos, other projects' feature files,
only some feature kinds, the legacy eval file, OpenAI's TorchScript CLIP files, per-kind checkpoints."""
import json
import os

import numpy as np
import open_clip
import pytest
import torch
import torch.nn.functional as F

from avvp_lib.__main__ import main
from avvp_lib.clip_encoder import ClipEncoder, WeightsUnavailable, is_torchscript
from avvp_lib.config import DataConfig, RunConfig, TrainConfig
from avvp_lib.data.annotations import load_dense_labels
from avvp_lib.data.feature_files import index_feature_files
from avvp_lib.data.features import FeatureError, load_features
from avvp_lib.data.released import RELEASED_SHAPES, valor_clap_segments
from avvp_lib.data.splits import load_split
from avvp_lib.experiments import Row, Table, get_profile, lsld_run, vplan_runs
from avvp_lib.extract.pipeline import ExtractConfig, parse_checkpoints
from avvp_lib.reproduce import availability, compute_table, write_table
from avvp_lib.train import train

KINDS = ("vggish", "clip_vitb16")


def partial_world(world, root, drop_fraction=0.05, kinds=KINDS, seed=0):
    """A feature folder linking to the smoke world's files, with ``drop_fraction`` of the videos removed."""
    root.mkdir()
    for name in os.listdir(world):
        if name.endswith((".csv", ".json")):
            (root / name).symlink_to(world / name)
    ids = sorted(p.stem for p in (world / "feats" / "vggish").glob("*.npy"))
    gone = set(np.random.default_rng(seed).choice(ids, int(round(drop_fraction * len(ids))), replace=False))
    for kind in kinds:
        (root / "feats" / kind).mkdir(parents=True)
        for v in ids:
            if v not in gone:
                (root / "feats" / kind / f"{v}.npy").symlink_to(world / "feats" / kind / f"{v}.npy")
    return gone


def test_five_percent_missing_skip_or_error(smoke_world, tmp_path, capsys):
    assert not (smoke_world / "feats" / "valor_clap").exists()  # the world writes only the kinds it models
    root = tmp_path / "w"
    gone = partial_world(smoke_world, root)
    with pytest.raises(FeatureError, match="missing.*missing='skip'"):
        load_split(root, "test", KINDS, progress=False)
    full = load_split(smoke_world, "test", progress=False)
    test = load_split(root, "test", KINDS, progress=False, missing="skip")
    dropped = [v for v in full.video_ids if v in gone]
    assert dropped and test.total == len(full) == 80 and len(test) == 80 - len(dropped)
    assert set(test.missing["vggish"]) == set(dropped) and not set(test.video_ids) & gone
    keep = [full.video_ids.index(v) for v in test.video_ids]
    np.testing.assert_array_equal(test.gt_audio, full.gt_audio[keep])
    assert test.features["clip_vitb16"].shape == (len(test), 10, 512)

    cfg = RunConfig(name="skip", data=DataConfig(data_dir=str(root), visual=("clip_vitb16",), missing="skip"),
                    train=TrainConfig(epochs=1, batch_size=32, step_size=1))
    run = train(cfg, tmp_path / "runs", "cpu", progress=False)
    assert json.loads((run.run_dir / "results.json").read_text())["videos"]["test"] == [len(test), 80]
    rows = (run.run_dir / "missing_test.csv").read_text().splitlines()
    assert rows[0] == "video_id,kind" and len(rows) == 1 + 2 * len(dropped)

    # scoring against an older eval file: a stray backtick hides one test video's audio rows, as in 2020
    lines = (root / "AVVP_eval_audio.csv").read_text().splitlines()
    victim = test.filenames[0]
    legacy = tmp_path / "legacy_eval_audio.csv"
    legacy.write_text("\n".join(l.replace(victim, victim + "`") for l in lines) + "\n")
    scores = {}
    for extra in ([], ["--eval-audio", str(legacy)]):
        assert main(["eval", "--run", str(run.run_dir), "--device", "cpu", *extra]) == 0
        scores[bool(extra)] = json.loads(capsys.readouterr().out)
    assert scores[False] == run.test and scores[True]["seg_a"] != scores[False]["seg_a"]
    assert scores[True]["seg_v"] == scores[False]["seg_v"]

    profile = get_profile("smoke", data_dir=str(root), missing="skip")
    table = Table("t", "Test table", "runs", (Row("HAN + CLIP", run=cfg),))
    md = write_table(compute_table(table, profile, "cpu", progress=False), table, profile, tmp_path / "tables")
    assert f"Scored on {len(test)} of 80 test videos" in md.read_text()


def test_rows_needing_absent_kinds_are_skipped_with_a_reason(smoke_world, tmp_path):
    root = tmp_path / "w"
    partial_world(smoke_world, root, 0.0, kinds=("vggish", "res152", "r2plus1d_18"))
    profile = get_profile("smoke", data_dir=str(root))
    v = vplan_runs(profile)
    assert availability(v["1 HAN"].feature_kinds(), profile) == ""
    assert availability(v["2 + PLG"].feature_kinds(), profile) == "needs clip_vitb16 features — see README"
    table = Table("t", "Test table", "runs", (Row("LSLD", run=lsld_run(profile, "lsld")),))
    df = compute_table(table, profile, "cpu", progress=False)
    assert set(df["note"]) == {"needs clip_vitb16 features — see README"} and df["ours"].isna().all()


def test_released_shapes_and_clip_named_files(tmp_path):
    rng = np.random.default_rng(0)
    ids = ["aaaaaaaaaaa", "b-c_dddddee"]
    arrays = {}
    for kind, shape in RELEASED_SHAPES.items():
        (tmp_path / "feats" / kind).mkdir(parents=True)
        for i, v in enumerate(ids):
            arr = (rng.random(shape) > 0.5).astype(np.int64) if kind.endswith("labels") else rng.standard_normal(shape).astype(np.float32)
            arrays[kind, v] = arr
            name = f"{v}_{10 * i}_{10 * i + 10}" if i else v  # one plain id, one LLP clip name
            np.save(tmp_path / "feats" / kind / f"{name}.npy", arr)
        out = load_features(tmp_path, kind, ids, progress=False)
        assert out.shape == (2, 10, shape[1]) and out.dtype == np.float32
        if kind != "valor_clap":
            np.testing.assert_array_equal(out[1], arrays[kind, ids[1]])
    assert index_feature_files(tmp_path / "feats" / "clap_audioset")["b-c_dddddee"].name == "b-c_dddddee_10_20.npy"
    np.save(tmp_path / "feats" / "clap_audioset" / "b-c_dddddee_30_40.npy", arrays["clap_audioset", ids[1]])
    with pytest.raises(ValueError, match="two feature files for video b-c_dddddee"):
        index_feature_files(tmp_path / "feats" / "clap_audioset")


def test_valor_clap_segments_match_valor_projection_order():
    """VALOR projects the 64x768 maps first and reduces after; reducing first and projecting gives the same."""
    rng = np.random.default_rng(1)
    maps = rng.standard_normal((64, 768)).astype(np.float32)
    fc = torch.nn.Linear(768, 32)
    x = torch.as_tensor(maps)[None].permute(0, 2, 1).reshape(1, 768, 2, 32)
    up = F.interpolate(x, size=(2, 1024), mode="bicubic")
    valor = F.adaptive_avg_pool1d(fc(up.permute(0, 2, 3, 1)).permute(0, 3, 1, 2).mean(dim=2), 10)[0].T
    ours = fc(torch.as_tensor(valor_clap_segments(maps)))
    torch.testing.assert_close(ours, valor, atol=1e-4, rtol=1e-4)


def test_legacy_2020_eval_file_differs_in_two_test_videos(llp_dir):
    legacy = llp_dir / "legacy_2020" / "AVVP_eval_audio.csv"
    corrected = load_split(llp_dir, "test", progress=False)
    old = load_split(llp_dir, "test", progress=False, eval_audio=legacy)
    differ = [corrected.video_ids[i] for i in np.flatnonzero((corrected.gt_audio != old.gt_audio).any(axis=(1, 2)))]
    assert differ == ["JfZEqeLZqWk", "KvIjsmANkxI"]
    np.testing.assert_array_equal(old.gt_visual, corrected.gt_visual)
    with pytest.raises(ValueError, match="not an LLP clip name"):
        load_dense_labels(legacy, corrected.video_ids)  # the default reader still rejects the old file


def openai_style_torchscript(path):
    """A tiny CLIP saved the way OpenAI released theirs: a traced TorchScript archive."""
    torch.manual_seed(0)
    model = open_clip.CLIP(512, vision_cfg=open_clip.model.CLIPVisionCfg(layers=1, width=64, patch_size=16, image_size=64),
                           text_cfg=open_clip.model.CLIPTextCfg(width=64, heads=1, layers=1), quick_gelu=True).eval()
    open_clip.model.convert_weights_to_fp16(model)  # OpenAI's weights are float16
    model.float()
    image, text = torch.randn(1, 3, 64, 64), open_clip.get_tokenizer("ViT-B-16")(["a dog"])
    torch.jit.save(torch.jit.trace(model, (image, text), check_trace=False), str(path))
    return model, image


def test_openai_torchscript_checkpoint_and_per_kind_checkpoints(tmp_path):
    model, image = openai_style_torchscript(tmp_path / "ViT-B-16.pt")
    with pytest.raises(Exception):
        torch.load(tmp_path / "ViT-B-16.pt", weights_only=True)  # why it needs its own path
    assert is_torchscript(tmp_path / "ViT-B-16.pt")
    torch.save(model.state_dict(), tmp_path / "state.pt")
    assert not is_torchscript(tmp_path / "state.pt")
    enc = ClipEncoder.load("ViT-B-16-quickgelu", str(tmp_path / "ViT-B-16.pt"), device="cpu")
    with torch.no_grad():
        torch.testing.assert_close(enc.model.encode_image(image), model.encode_image(image))
    assert enc.encode_images([np.zeros((48, 64, 3), np.uint8)]).shape == (1, 512)

    specs = parse_checkpoints([f"clip_vitb16={tmp_path / 'ViT-B-16.pt'}", f"clip_vitb32={tmp_path / 'B32.pt'}"])
    cfg = ExtractConfig(kinds=("clip_vitb16", "clip_vitb32"), clip_checkpoints=specs, device="cpu")
    with pytest.raises(WeightsUnavailable, match="B32.pt"):  # each kind reads its own file
        cfg.clip_encoders()
    assert set(ExtractConfig(kinds=("clip_vitb16",), clip_checkpoints=specs[:1], device="cpu").clip_encoders()) == {"clip_vitb16"}
    with pytest.raises(ValueError, match="KIND=PATH"):
        parse_checkpoints(["ViT-B-16.pt"])
    with pytest.raises(ValueError, match="CLIP checkpoint given for"):
        ExtractConfig(clip_checkpoints=(("vggish", "x.pt"),))


def test_llp_profiles_skip_missing_videos_and_the_short_one_is_short():
    assert get_profile("llp").missing == "skip" and get_profile("llp").epochs is None
    short = get_profile("llp-short")
    assert short.missing == "skip" and short.data_dir == "data/llp" and short.epochs == 2 and not short.synthetic
    assert get_profile("smoke").missing == "error" and get_profile("llp", missing="error").missing == "error"
    assert lsld_run(short, "lsld").train.epochs == 2 and lsld_run(short, "lsld").data.missing == "skip"


def test_figure_titles_say_how_many_videos_were_scored():
    """A split that lost videos to missing features says so in figure titles; a complete one adds nothing."""
    import numpy as np

    from avvp_lib.data.splits import LLPSplit

    full = LLPSplit("test", ["a" * 11, "b" * 11], ["a" * 11, "b" * 11], np.zeros((2, 25)), total=2)
    assert full.caption_note == ""
    part = full.subset(np.array([True, False]))
    assert part.total == 2 and part.caption_note == " (1 of 2 test videos)"
