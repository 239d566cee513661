import copy
import dataclasses

import numpy as np
import pytest
import torch
import yaml

from avvp_lib.data.features import load_features
from avvp_lib.data.splits import load_split
from avvp_lib.figures import calibration_fit
from avvp_lib.synthetic.calibration import CALIBRATION_TARGETS, PAPER_NUMBERS_FILE, load_calibration, read_targets
from avvp_lib.synthetic.fitting import PLGProbe, apply, secant_step
from avvp_lib.synthetic.world import FeatureModel, WorldConfig, calibrated_feature_model

NAMED = {
    *{("vplan_t1", f"tau={t}, P1", c) for t in ("0.035", "0.040", "0.041", "0.043") for c in ("precision", "recall")},
    ("vplan_t2", "-", "seg_v"), ("vplan_t2", "-", "evt_v"),
    *{(t, r, c) for t, r in (("vplan_t3", "1 HAN"), ("lsld_t1", "HAN + Clip")) for c in ("seg_a", "seg_v", "seg_type")},
}


def test_target_reader_reads_exactly_the_named_cells():
    targets = read_targets()
    assert set(targets) == NAMED
    numbers = yaml.safe_load(PAPER_NUMBERS_FILE.read_text())
    assert targets[("vplan_t1", "tau=0.043, P1", "recall")] == 34.14
    assert targets[("lsld_t1", "HAN + Clip", "seg_type")] == 56.4
    # every other number changed: the targets do not move
    other = copy.deepcopy(numbers)
    for key, table in other.items():
        if isinstance(table, dict):
            for row, values in table["rows"].items():
                cols = table.get("columns") or ["seg_a", "seg_v", "seg_av", "seg_type"] + [None] * 6
                table["rows"][row] = [v if (key, row, c) in NAMED else -1.0 for v, c in zip(values, cols)]
    assert read_targets(other) == targets


def test_generator_uses_calibration_json():
    fitted = load_calibration()["feature_model"]
    model = WorldConfig().model
    assert model == calibrated_feature_model()
    assert {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(model).items()} == fitted
    assert model != FeatureModel()  # not the uncalibrated priors
    assert WorldConfig(model=FeatureModel()).model == FeatureModel()  # an explicit model is kept


def test_fit_report_covers_every_target():
    record = load_calibration()
    targets = read_targets()
    fit = {(f["table"], f["row"], f["column"]): f for f in record["fit"]}
    assert set(fit) == set(targets)
    for key, f in fit.items():
        assert f["paper"] == targets[key]
        assert f["within_tolerance"] == (abs(f["ours"] - f["paper"]) <= record["tolerance"])
    assert {p["name"] for p in record["parameters"]} >= {"clip_gap", "prompt_offset", "noise_audio"}


def test_plg_probe_generates_the_world_as_written(smoke_world):
    """The in-memory val split of the fit is the one build_world writes (labels and CLIP frames)."""
    weak, gt_v, frames = PLGProbe(size="smoke").frames(WorldConfig(size="smoke").model)
    split = load_split(smoke_world, "val", progress=False)
    np.testing.assert_array_equal(weak, split.labels)
    np.testing.assert_array_equal(gt_v, split.gt_visual)
    np.testing.assert_array_equal(frames, load_features(smoke_world, "clip_vitb16", split.video_ids, "middle",
                                                        cache=False, progress=False))


def test_apply_maps_the_fitted_names_onto_the_model():
    m = apply(FeatureModel(), {"view_noise_scale": 0.5, "noise_audio": 0.3, "clip_gap": 2.0})
    assert m.noise_audio == 0.3 and m.clip_gap == 2.0
    assert (m.noise_r2plus1d, m.noise_res152_frame) == (0.8, 2.0)
    # no target measures ViT-B/32: it follows the fitted ViT-B/16 by the priors' ratio
    tied = apply(FeatureModel(), {"noise_clip_vitb16": 1.8})
    prior = FeatureModel()
    assert tied.noise_clip_vitb32 / tied.noise_clip_vitb16 == pytest.approx(prior.noise_clip_vitb32 / prior.noise_clip_vitb16)
    calibrated = WorldConfig().model
    assert calibrated.noise_clip_vitb32 > calibrated.noise_clip_vitb16  # the committed fit keeps B/32 noisier


def test_secant_step_moves_noise_towards_the_target_and_stays_in_the_bracket():
    assert secant_step([(1.0, -10.0)], 0.01, 10.0) < 1.0  # score too low: less noise
    assert secant_step([(1.0, +10.0)], 0.01, 10.0) > 1.0
    nxt = secant_step([(1.0, -10.0), (0.5, +4.0)], 0.01, 10.0)
    assert 0.5 < nxt < 1.0
    assert secant_step([(1.0, -1000.0)], 0.5, 10.0) == 0.5  # clipped to the range
    assert secant_step([(1.0, -1000.0)], 0.01, 10.0) == np.exp(-1.5)  # at most 1.5 in log-noise per step


def test_calibration_fit_figure_names_each_target():
    fit = [{"table": "t", "row": "r", "column": c, "paper": 50.0, "ours": o} for c, o in (("a", 51.0), ("b", 60.0))]
    fig = calibration_fit(fit, 3.0)
    ticks = fig.axes[0].get_yticklabels()
    assert [t.get_text() for t in ticks] == ["t · r · a", "t · r · b"]
    assert [t.get_color() for t in ticks] == ["black", "tab:red"]


def test_text_side_parameters_shape_the_synthetic_prompts(smoke_world):
    from avvp_lib.synthetic.latent import LatentSpace
    from avvp_lib.synthetic.text_encoder import SyntheticTextEncoder
    from avvp_lib.vocabulary import CLASS_INDEX

    space = LatentSpace.from_seed(0)
    proto = torch.as_tensor(space.prototypes)
    plain, gapped = SyntheticTextEncoder(space), SyntheticTextEncoder(space, gap=4.0)
    prompts = ["This photo contains the dog", "This photo contains the speech"]
    assert (gapped.encode_text(prompts) @ proto.T).abs().max() < (plain.encode_text(prompts) @ proto.T).abs().max() / 2
    offset = SyntheticTextEncoder(space, prompt_offset=2.0).encode_text(prompts) @ torch.as_tensor(space.background)
    base = plain.encode_text(prompts) @ torch.as_tensor(space.background)
    # Speech (seldom visible in LLP) moves away from the shared background, Dog (mostly visible) towards it
    assert (base - offset)[1] > 0 > (base - offset)[0]
    world = SyntheticTextEncoder.from_world(smoke_world)
    model = WorldConfig(size="smoke").model
    assert world.gap == model.clip_gap
    assert world.unseen_offset[CLASS_INDEX["Speech"]] > world.unseen_offset[CLASS_INDEX["Dog"]]


def test_tables_mark_the_fitted_rows_and_only_them():
    """Synthetic tables say which cells were calibration targets, also where another table shows the same run."""
    from avvp_lib.experiments import get_profile, tables
    from avvp_lib.reproduce import calibration_mark

    p = get_profile("default")
    marked = {(t.key, r.label) for t in tables(p) for r in t.rows if calibration_mark(t, r, p)}
    targets = {(t, r) for t, r, _ in CALIBRATION_TARGETS}
    assert targets <= marked
    assert marked - targets == {("vplan_t4", "HAN"), ("lsld_t2", "no DeN, no ReW")}  # the same runs
    llp = get_profile("llp")
    assert not any(calibration_mark(t, r, llp) for t in tables(llp) for r in t.rows)
