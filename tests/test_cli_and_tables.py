import json

import pytest
import yaml

from avvp_lib.__main__ import main
from avvp_lib.experiments import all_runs, get_profile, schedule, tables
from avvp_lib.metrics import METRIC_KEYS
from avvp_lib.reproduce import PAPER_NUMBERS, SYNTHETIC_TAG, compute_table, grid, table_title, wide, write_table


def test_cli_synth_and_train_errors(tmp_path, capsys):
    assert main(["synth", "--size", "smoke", "--out", str(tmp_path / "w")]) == 0
    assert "synthetic world" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"name": "x", "train": {"epoch": 3}}))
    assert main(["train", "--config", str(bad)]) == 2
    assert "unknown config key(s) ['epoch']" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["reproduce", "--profile", "huge"])


def test_cli_train_then_eval(smoke_world, tmp_path, capsys):
    cfg = {"name": "cli", "data": {"data_dir": str(smoke_world)},
           "train": {"epochs": 1, "batch_size": 32, "step_size": 1}, "supervision": {"method": "han"}}
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    assert main(["train", "--config", str(tmp_path / "c.json"), "--runs-dir", str(tmp_path / "runs"), "--device", "cpu"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert main(["eval", "--run", out["run_dir"], "--device", "cpu"]) == 0
    assert json.loads(capsys.readouterr().out) == out["test"]


def test_paper_numbers_cover_every_table_row():
    numbers = yaml.safe_load(PAPER_NUMBERS.read_text())
    for table in tables(get_profile("default")):
        if table.key == "train_label_quality":
            continue
        rows = numbers[table.key]["rows"]
        width = len(numbers[table.key].get("columns", METRIC_KEYS))
        assert {r.label for r in table.rows} == set(rows), table.key
        assert all(len(v) == width for v in rows.values()), table.key


def test_pld_prerequisite_is_table_iii_row_4():
    from avvp_lib.config import config_hash
    from avvp_lib.experiments import vplan_runs
    from avvp_lib.methods.vplan import pld_pretrain_config

    rows = vplan_runs(get_profile("default"))
    assert config_hash(pld_pretrain_config(rows["5 + PLD + L_S"])) == config_hash(rows["4 + PLG + L_S"])


def test_profiles_and_schedules():
    assert schedule("lsld", get_profile("llp")).epochs == 20
    short = schedule("lsld", get_profile("default"))
    assert short.epochs == 4 and short.step_size == 2 and short.lr == 6e-4  # 6 of 20 epochs -> 2 of 4
    names = [r.name for r in all_runs(get_profile("default"))]
    assert len(names) == len(set(names)) and names[0] == "vplan_plg_rl"  # PLD's prerequisite first
    with pytest.raises(KeyError, match="unknown profile"):
        get_profile("fast")


def test_rendering_marks_the_synthetic_world(smoke_world, tmp_path):
    p = get_profile("smoke")
    t1 = next(t for t in tables(p) if t.key == "vplan_t1")
    df = compute_table(t1, p, progress=False)
    assert set(df["row"]) == {r.label for r in t1.rows}
    ours = df.set_index(["row", "metric"])["ours"]
    assert 0 < ours[("tau=0.040, P1", "precision")] <= 100
    path = write_table(df, t1, p, tmp_path)
    text = path.read_text()
    dash = next(line for line in text.splitlines() if line.startswith("| - |"))
    assert SYNTHETIC_TAG in text and "(67.0)" in dash and "(87.9)" in dash and "(77.4)" in dash
    assert "diff" not in df.columns and "+" not in dash  # no "ours - paper" on a synthetic world
    assert (tmp_path / "vplan_t1.tex").is_file() and (tmp_path / "vplan_t1.csv").is_file()
    assert "reproduction on LLP" in table_title(t1, get_profile("llp"))
    real = wide(df.assign(diff=df["ours"] - df["paper"]), t1, with_diff=True)
    assert real.iloc[0]["precision"].count("(") == 1 and ", " in real.iloc[0]["precision"]


def test_grid_layout():
    import pandas as pd

    df = pd.DataFrame({"row": ["alpha=3, beta=0.2", "alpha=3, beta=0.4"], "metric": "seg_v", "ours": [50.0, 51.0],
                       "paper": [68.1, 68.3]})
    g = grid(df)
    assert list(g.columns) == ["alpha \\ beta", "0.2", "0.4"] and g.iloc[0, 1] == "50.0 (68.1)"


def test_several_seeds_show_mean_and_std(smoke_world, tmp_path, monkeypatch):
    import dataclasses

    import avvp_lib.reproduce as reproduce

    monkeypatch.setattr(reproduce, "OUTPUTS_DIR", tmp_path)
    p = dataclasses.replace(get_profile("smoke"), name="smoke-seeds", epochs=1, seeds=(1, 2))
    t2 = next(t for t in tables(p) if t.key == "lsld_t2")
    df = compute_table(t2, p, device="cpu", progress=False)
    assert (df["ours_std"] > 0).any() and not df["ours"].isna().any()
    assert len(list((tmp_path / "runs" / "smoke-seeds").iterdir())) == 3 * 2  # 3 distinct runs x 2 seeds
    assert "±" in write_table(df, t2, p, tmp_path / "t").read_text()


def test_cli_extract_without_weights_says_how_to_get_them(tmp_path, capsys):
    (tmp_path / "videos").mkdir()
    assert main(["extract", "--videos", str(tmp_path / "videos"), "--out", str(tmp_path / "f"), "--kinds", "vggish"]) == 2
    assert "--vggish-weights" in capsys.readouterr().err
    assert main(["extract", "--videos", str(tmp_path / "none"), "--out", str(tmp_path / "f"), "--kinds", "res152"]) == 2
    assert "cannot extract" in capsys.readouterr().err


def test_notebook_setup_checks_parameters(tmp_path):
    from avvp_lib.notebook import setup

    with pytest.raises(TypeError, match="unknown notebook parameter"):
        setup(profile="smoke", epochs=3)
    with pytest.raises(FileNotFoundError, match="expects LLP features"):
        setup(profile="llp", data_dir=str(tmp_path))
    session = setup(profile="smoke", device="cpu")
    assert session.synthetic and session.figure("x.png").parent.name == "smoke"
