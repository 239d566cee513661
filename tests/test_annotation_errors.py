"""Every bad annotation file is one error naming the file and line; odd rows are reported (issue #15, item 2)."""
import re
import warnings

import pytest

from avvp_lib.data.annotations import AnnotationError, AnnotationWarning, load_dense_labels, load_weak_labels
from avvp_lib.data.splits import WEAK_CSV, check_disjoint, load_split

WEAK = "filename\tevent_labels\n"
DENSE = "filename\tonset\toffset\tevent_labels\n"


def _file(tmp_path, text, name="x.csv"):
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return p


def test_non_utf8_line_is_named(tmp_path):
    p = _file(tmp_path, WEAK.encode() + b"abcdefghijk_0_10\tDog\nabcdefghijl_0_10\tCaf\xe9\n")
    with pytest.raises(AnnotationError, match=f"{p}:3: not UTF-8.*re-save"):
        load_weak_labels(p)


def test_non_integer_segment_is_named(tmp_path):
    p = _file(tmp_path, DENSE + "abcdefghijk_0_10\t2\tten\tDog\n")
    with pytest.raises(AnnotationError, match=f"{p}:2: offset 'ten' is not an integer"):
        load_dense_labels(p, ["abcdefghijk"])


def test_empty_file_and_empty_split_are_rejected(tmp_path):
    with pytest.raises(AnnotationError, match=f"{tmp_path / 'x.csv'}: empty file"):
        load_weak_labels(_file(tmp_path, ""))
    with pytest.raises(AnnotationError, match="no videos"):
        load_weak_labels(_file(tmp_path, WEAK))


def test_duplicate_video_id_names_it_and_its_lines(tmp_path):
    p = _file(tmp_path, WEAK + "abcdefghijk_0_10\tDog\nzzzzzzzzzzz_0_10\tCat\nabcdefghijk_10_20\tCat\n")
    with pytest.raises(AnnotationError, match="video id 'abcdefghijk' on lines 2 and 4"):
        load_weak_labels(p)


def test_odd_rows_are_reported_not_dropped_silently(tmp_path):
    weak = _file(tmp_path, WEAK + "abcdefghijk_0_10\t\nab_0_10\tDog\n", "w.csv")
    with pytest.warns(AnnotationWarning) as got:
        ids, _, labels = load_weak_labels(weak)
    text = " | ".join(str(w.message) for w in got)
    assert "line 2: abcdefghijk_0_10" in text and "empty label" in text
    assert "line 3: ab_0_10" in text and "shorter than 11" in text
    assert ids == ["abcdefghijk", "ab_0_10"] and labels.sum() == 1
    dense = _file(tmp_path, DENSE + "abcdefghijk_0_10\t5\t3\tDog\nabcdefghijk_0_10\t1\t4\tCat\n", "d.csv")
    with pytest.warns(AnnotationWarning, match=f"{dense}: 1 row.*onset >= offset.*line 2: abcdefghijk_0_10 5 3 Dog"):
        gt = load_dense_labels(dense, ["abcdefghijk"])
    assert gt.sum() == 3


def test_video_in_train_and_test_is_reported(smoke_world, tmp_path):
    splits = {s: load_split(smoke_world, s, with_ground_truth=False) for s in WEAK_CSV}
    splits["test"].video_ids[5] = splits["train"].video_ids[0]
    with pytest.warns(AnnotationWarning, match=f"AVVP_test_pd.csv: 1 row.*also in train.*line 7: {splits['train'].video_ids[0]}"):
        check_disjoint(splits, smoke_world)


def test_real_eval_rows_with_onset_at_or_after_offset_are_reported(llp_dir):
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        for split in ("val", "test"):
            s = load_split(llp_dir, split)
            assert s.gt_audio.shape[0] == len(s)
    reports = [str(w.message) for w in got if issubclass(w.category, AnnotationWarning) and "onset >= offset" in str(w.message)]
    lines = {int(n) for r in reports for n in re.findall(r"line (\d+):", r)}
    assert all("AVVP_eval_audio.csv" in r for r in reports)
    assert lines == {48, 66, 100, 129, 137, 3770}
    assert any("line 3770: 8DF2PxdT5tE_390_400 9 0 Cheering" in r for r in reports)
