"""The published numbers the synthetic world's inputs are calibrated to, and the fitted result.

Project rule: inputs may be calibrated, outcomes never. ``CALIBRATION_TARGETS`` lists every
(table, row, columns) of ``avvp_lib/tables/paper_numbers.yaml`` that ``scripts/calibrate_world.py``
fits world parameters to (issue #11), and nothing else:

- VPLAN Table I, P1 rows (tau = 0.035, 0.040, 0.041, 0.043): PLG video-level visual precision /
  recall on val. They measure CLIP's similarities under eq. 3's softmax over raw cosines, so
  they pin the similarity scale and how CLIP sees each class.
- VPLAN Table II '-': segment- and event-level visual F1 of PLG (tau = 0.04) on val.
- VPLAN Table III row 1 (HAN, VGGish + ResNet-152 + R(2+1)D, test) and LSLD Table 1 "HAN + Clip"
  (HAN on VGGish + CLIP ViT-B/16, test): segment-level A, V and Type@AV. They measure how
  informative the audio, ResNet/R(2+1)D and CLIP views are to the baseline.

Tables mark these rows "calibration target (fitted)"; every other number is a prediction.
``calibration.json`` (beside this file) holds the fitted ``FeatureModel`` values and the fit.
"""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from avvp_lib.metrics import METRIC_KEYS

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
PAPER_NUMBERS_FILE = Path(__file__).resolve().parents[1] / "tables" / "paper_numbers.yaml"
TOLERANCE = 3.0  # points: each target must be met within this

PLG_TAUS = (0.035, 0.040, 0.041, 0.043)
HAN_COLUMNS = ("seg_a", "seg_v", "seg_type")
# (table key in paper_numbers.yaml, row label, columns)
CALIBRATION_TARGETS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    *(("vplan_t1", f"tau={t:.3f}, P1", ("precision", "recall")) for t in PLG_TAUS),
    ("vplan_t2", "-", ("seg_v", "evt_v")),
    ("vplan_t3", "1 HAN", HAN_COLUMNS),
    ("lsld_t1", "HAN + Clip", HAN_COLUMNS),
)

Target = tuple[str, str, str]  # (table, row, column)


def read_targets(numbers: dict | None = None) -> dict[Target, float]:
    """The paper's value of every ``CALIBRATION_TARGETS`` cell, read from ``paper_numbers.yaml`` (or ``numbers``).

    Only these cells are read; a missing one is an error naming the file.
    """
    numbers = yaml.safe_load(PAPER_NUMBERS_FILE.read_text()) if numbers is None else numbers
    out = {}
    for table, row, columns in CALIBRATION_TARGETS:
        try:
            entry = numbers[table]
            values = entry["rows"][row]
            out.update({(table, row, c): float(values[entry["columns"].index(c)] if "columns" in entry
                                                else values[METRIC_KEYS.index(c)]) for c in columns})
        except (KeyError, ValueError, IndexError) as err:
            raise KeyError(f"{PAPER_NUMBERS_FILE}: calibration target {table} / {row!r} / {columns} not found ({err})") from err
    return out


def load_calibration(path: Path = CALIBRATION_FILE) -> dict:
    """The calibration record (fitted parameters, fit report); empty when none was written yet."""
    return json.loads(Path(path).read_text()) if Path(path).is_file() else {}


def fitted_feature_model(path: Path = CALIBRATION_FILE) -> dict:
    """The fitted ``FeatureModel`` fields (name -> value); empty without a calibration file."""
    return dict(load_calibration(path).get("feature_model", {}))
