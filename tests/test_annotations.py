import numpy as np
import pytest
import torch

from avvp_lib.data.annotations import AnnotationError, load_dense_labels, load_weak_labels, runs, write_dense_labels
from avvp_lib.data.splits import load_split
from avvp_lib.paths import SHARED_LLP_DIR


@pytest.mark.parametrize("name, count", [("AVVP_train.csv", 10000), ("AVVP_val_pd.csv", 649), ("AVVP_test_pd.csv", 1200)])
def test_real_weak_labels(llp_dir, name, count):
    ids, filenames, labels = load_weak_labels(llp_dir / name)
    assert len(ids) == len(filenames) == labels.shape[0] == count
    assert labels.shape[1] == 25 and labels.sum(1).min() >= 1
    assert ids[0] == filenames[0][:11]


@pytest.mark.parametrize("split, count", [("val", 649), ("test", 1200)])
def test_real_dense_ground_truth(llp_dir, split, count):
    s = load_split(llp_dir, split)
    assert s.gt_audio.shape == s.gt_visual.shape == (count, 10, 25)
    assert set(np.unique(s.gt_audio)) == {0, 1}
    # almost every dense event belongs to the video's weak label (LLP has ~2.4% exceptions)
    outside = ((s.gt_audio | s.gt_visual).max(1) & ~s.labels.astype(bool)).sum()
    assert outside < 0.03 * s.labels.sum()


def test_legacy_eval_audio_is_rejected(llp_dir):
    ids, _, _ = load_weak_labels(llp_dir / "AVVP_val_pd.csv")
    with pytest.raises(AnnotationError, match="not an LLP clip name.*uncorrected"):
        load_dense_labels(SHARED_LLP_DIR / "legacy_2020" / "AVVP_eval_audio.csv", ids)


def test_bad_files(tmp_path):
    bad_header = tmp_path / "a.csv"
    bad_header.write_text("name,labels\nx,y\n")
    with pytest.raises(AnnotationError, match="header"):
        load_weak_labels(bad_header)
    unknown = tmp_path / "b.csv"
    unknown.write_text("filename\tevent_labels\nabcdefghijk_0_10\tDog,Unicorn\n")
    with pytest.raises(AnnotationError, match="Unicorn"):
        load_weak_labels(unknown)
    out_of_range = tmp_path / "c.csv"
    out_of_range.write_text("filename\tonset\toffset\tevent_labels\nabcdefghijk_0_10\t3\t12\tDog\n")
    with pytest.raises(AnnotationError, match="outside"):
        load_dense_labels(out_of_range, ["abcdefghijk"])
    with pytest.raises(FileNotFoundError):
        load_weak_labels(tmp_path / "missing.csv")


def test_dense_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    dense = (rng.random((5, 10, 25)) < 0.2).astype(np.uint8)
    names = [f"vid{i:08d}_0_10" for i in range(5)]
    write_dense_labels(tmp_path / "d.csv", names, dense)
    assert (load_dense_labels(tmp_path / "d.csv", [n[:11] for n in names]) == dense).all()


def test_runs():
    assert runs(np.array([1, 1, 0, 1, 0, 0, 0, 0, 1, 1])) == [(0, 2), (3, 4), (8, 10)]
    assert runs(np.zeros(10)) == []


def test_real_annotations_with_features_elsewhere(llp_dir, tmp_path):
    """The real-LLP code path: official CSVs in one folder, features in another; PLG then needs real CLIP."""
    from avvp_lib.clip_encoder import WeightsUnavailable
    from avvp_lib.data.features import feature_path
    from avvp_lib.config import DataConfig, RunConfig
    from avvp_lib.methods.vplan import VPLANConfig, plg_for_split
    from avvp_lib.train import BuildContext

    ids, _, _ = load_weak_labels(llp_dir / "AVVP_val_pd.csv")
    rng = np.random.default_rng(0)
    for kind, dim in (("vggish", 128), ("clip_vitb16", 512)):
        for vid in ids:
            p = feature_path(tmp_path, kind, vid)
            p.parent.mkdir(parents=True, exist_ok=True)
            np.save(p, rng.standard_normal((10, dim)).astype(np.float32))
    split = load_split(tmp_path, "val", ("vggish", "clip_vitb16"), annotations_dir=llp_dir, progress=False)
    assert split.features["clip_vitb16"].shape == (649, 10, 512) and split.gt_visual.shape == (649, 10, 25)
    with pytest.raises(WeightsUnavailable, match="AVVP_CLIP_CHECKPOINT_VITB16"):
        config = RunConfig("plg", DataConfig(data_dir=str(tmp_path), annotations_dir=str(llp_dir)))
        plg_for_split(VPLANConfig(), "val", BuildContext(config, {"val": split}, tmp_path / "runs", torch.device("cpu")))
