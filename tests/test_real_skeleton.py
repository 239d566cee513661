"""A synthetic world on the real LLP annotation files (``WorldConfig(labels_from=...)``)."""
import json

import numpy as np
import pytest

from avvp_lib.__main__ import main
from avvp_lib.data.annotations import load_dense_labels, load_weak_labels
from avvp_lib.data.features import feature_path
from avvp_lib.data.splits import WEAK_CSV, load_split
from avvp_lib.methods.vplan import video_precision_recall
from avvp_lib.reproduce import paper_numbers
from avvp_lib.synthetic.llp_statistics import load_statistics
from avvp_lib.synthetic.world import WORLD_FILE, LabelSampler, WorldConfig, build_world


@pytest.fixture(scope="module")
def real_world(tmp_path_factory, llp_dir):
    """The llp-size world on the real labels, annotation CSVs only (built by the CLI)."""
    out = tmp_path_factory.mktemp("real") / "w"
    assert main(["synth", "--labels-from", str(llp_dir), "--labels-only", "--out", str(out)]) == 0
    return out


def test_table_i_dash_row_through_the_built_world(real_world):
    val = load_split(real_world, "val", progress=False)
    got = video_precision_recall(val.labels, val.gt_visual)
    want = dict(zip(paper_numbers()["vplan_t1"]["columns"], paper_numbers()["vplan_t1"]["rows"]["-"]))
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=0.01), key


def test_real_ids_weak_labels_and_gt(real_world, llp_dir):
    assert json.loads((real_world / WORLD_FILE).read_text())["config"]["size"] == "llp-size"
    for split, csv in WEAK_CSV.items():
        ids, filenames, weak = load_weak_labels(llp_dir / csv)
        s = load_split(real_world, split, progress=False)
        assert s.video_ids == ids and s.filenames == filenames
        np.testing.assert_array_equal(s.labels, weak)
        if split == "train":  # sampled, conditioned on the real weak label set
            np.testing.assert_array_equal((s.gt_audio | s.gt_visual).max(axis=1), weak)
        else:
            np.testing.assert_array_equal(s.gt_visual, load_dense_labels(llp_dir / "AVVP_eval_visual.csv", ids))
            np.testing.assert_array_equal(s.gt_audio, load_dense_labels(llp_dir / "AVVP_eval_audio.csv", ids))
    assert not (real_world / "feats").exists()


def test_smaller_size_keeps_the_first_videos_and_writes_features(tmp_path, llp_dir):
    out = build_world(tmp_path / "w", WorldConfig(size="smoke", labels_from=str(llp_dir)), progress=False)
    ids, _, weak = load_weak_labels(llp_dir / "AVVP_val_pd.csv")
    val = load_split(out, "val", ("vggish", "clip_vitb16"), progress=False)
    assert val.video_ids == ids[:60] and (val.labels == weak[:60]).all()
    assert val.features["vggish"].shape == (60, 10, 128)
    assert feature_path(out, "res152", ids[0]).is_file()


def test_sample_given_keeps_the_weak_label_set():
    sampler, rng = LabelSampler(load_statistics()), np.random.default_rng(0)
    for classes in ([0], [3, 11], [0, 9, 13]):
        audio, visual = sampler.sample_given(rng, np.array(classes))
        assert sorted(np.flatnonzero((audio | visual).max(axis=0))) == classes
