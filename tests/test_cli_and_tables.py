import dataclasses
import json

import pytest
import yaml

from avvp_lib.__main__ import main
from avvp_lib.experiments import PAPER_NUMBERS, Row, Table, all_runs, get_profile, get_table, schedule, tables, vplan_runs
from avvp_lib.experiments.base import shortened
from avvp_lib.methods import get_method, requires
from avvp_lib.metrics import METRIC_KEYS
from avvp_lib.render import SYNTHETIC_TAG, grid, table_title, wide, write_table
from avvp_lib.reproduce import compute_table, runs_dir
from avvp_lib.train import plan_layers


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
        if table.key not in numbers:  # not a paper table: every row is this bundle's
            assert not any(r.paper for r in table.rows), table.key
            continue
        rows = numbers[table.key]["rows"]
        width = len(numbers[table.key].get("columns", METRIC_KEYS))
        assert {r.label for r in table.rows if r.paper} == set(rows), table.key
        assert not {r.label for r in table.rows if not r.paper} & set(rows), table.key
        assert all(len(v) == width for v in rows.values()), table.key


def test_prerequisites_are_declared_once_by_the_registry(tmp_path):
    """PLD's eq. 9 model comes from the registry's ``requires`` alone: tables, the planner and ``all_runs`` follow it."""
    p = get_profile("default")
    v = vplan_runs(p)
    assert get_method("vplan").requires(v["5 + PLD + L_S"]) == (v["4 + PLG + L_S"],)  # no extra training
    assert requires(v["4 + PLG + L_S"]) == () and requires(v["1 HAN"]) == ()
    # every PLD setting of Table II shares the one eq. 9 model; Table V's PLD rows with their + PLG row's
    assert {requires(r.run) for r in get_table("vplan_t2", p).rows} == {(), (v["4 + PLG + L_S"],)}
    t5 = {r.label: r.run for r in get_table("vplan_t5", p).rows}
    mgn_pld = t5["MGN + PLD"]
    assert mgn_pld.model.name == "mgn" and requires(mgn_pld) == (t5["MGN + PLG"],)  # no extra training
    runs = all_runs(p)
    assert all(runs.index(pre) < i for i, c in enumerate(runs) for pre in requires(c))
    layers = plan_layers([v["5 + PLD + L_S"], mgn_pld, v["1 HAN"]], tmp_path)
    assert [sorted(c.name for stack in layer for c in stack) for layer in layers] == [
        ["vplan_han", "vplan_mgn_plg_rl", "vplan_plg_rl"], ["vplan_mgn_pld", "vplan_pld_rl"]]
    assert all(len(stack) == 1 for stack in layers[1] if stack[0].model.name == "mgn")  # MGN is not stackable


def test_profiles_and_schedules():
    assert schedule("lsld", get_profile("llp")).epochs == 20
    short = schedule("lsld", get_profile("default"))
    assert short.epochs == 8 and short.step_size == 6 and short.lr == 6e-4  # the first 8 of LSLD's 20 epochs
    names = [r.name for r in all_runs(get_profile("default"))]
    assert len(names) == len(set(names)) and names[0] == "vplan_plg_rl"  # PLD's prerequisite first
    with pytest.raises(KeyError, match="unknown profile"):
        get_profile("fast")


def test_quick_profile_is_the_headline_tables_on_shorter_schedules():
    """quick computes only its tables, on default's world, each run stopping no later than default's."""
    from avvp_lib.reproduce import calibration_mark

    quick, default = get_profile("quick"), get_profile("default")
    assert [t.key for t in tables(quick)] == list(quick.tables)
    assert quick.data_dir == default.data_dir and runs_dir(quick) == runs_dir(default)
    same_tables = all_runs(dataclasses.replace(default, tables=quick.tables))
    longer = {r.name: r.train.epochs for r in same_tables}
    assert all(r.train.epochs <= longer[r.name] for r in all_runs(quick))
    assert sum(r.train.epochs for r in all_runs(quick)) < sum(r.train.epochs for r in same_tables)
    # default stops each schedule where it plateaus; quick's shorter runs are not the calibrated ones
    assert default.epochs_for("vplan") == 10 and quick.epochs_for("vplan") == 6
    assert not any(calibration_mark(t, r, quick) for t in tables(quick) for r in t.rows)
    assert shortened(quick).startswith("quick profile: the papers' schedules stopped early")


def test_default_stops_every_schedule_it_trains_at_its_measured_plateau():
    """Every schedule the default tables use has a stop in DEFAULT_PLATEAU (none silently runs whole)."""
    from avvp_lib.experiments.base import DEFAULT_PLATEAU
    from avvp_lib.models import MODELS
    from avvp_lib.schedules import SCHEDULES

    default, stops = get_profile("default"), dict(DEFAULT_PLATEAU)
    others = set(MODELS) - {"han"}  # the other backbones' code schedules (MGN's equals HAN's)
    whole = {(t.lr, t.batch_size, t.step_size, t.select_metric): k for k, t in SCHEDULES.items() if k not in others}
    used = {whole[(t.lr, t.batch_size, t.step_size, t.select_metric)] for t in (r.train for r in all_runs(default))}
    assert used <= set(stops) and len(used) == 5
    assert {r.train.epochs for r in all_runs(default) if r.train.lr == 6e-4} == {stops["lsld"]}  # grid too
    assert all(e <= SCHEDULES[k].epochs for k, e in stops.items())
    full = get_profile("full")  # the other backbones' rows stop at their code schedule's plateau too
    assert {r.train.epochs for r in all_runs(full) if r.model.name != "han"} <= {stops[m] for m in others}


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


def _grid_table() -> Table:
    rows = (Row("first", coords={"alpha": 3.0, "beta": 0.2}), Row("second", coords={"alpha": 3.0, "beta": 0.4}),
            Row("third", coords={"alpha": 3.5, "beta": 0.2}))
    return Table("g", "A grid", "runs", rows, columns=("seg_v",), grid=("alpha", "beta"))


def test_grid_layout_comes_from_typed_coordinates():
    import numpy as np
    import pandas as pd

    df = pd.DataFrame({"row": ["first", "second", "third"], "metric": "seg_v", "ours": [50.0, 51.0, 52.0],
                       "ours_std": np.nan, "paper": [68.1, 68.3, np.nan], "note": "", "scored": ""})
    g = grid(df, _grid_table())  # the labels say nothing of alpha or beta: the coordinates place the cells
    assert list(g.columns) == ["alpha \\ beta", "0.2", "0.4"]
    assert g.values.tolist() == [["3", "50.0 (68.1)", "51.0 (68.3)"], ["3.5", "52.0 (—)", "—"]]
    t4a = get_table("lsld_t4a", get_profile("default"))
    assert t4a.grid == ("alpha", "beta") and len(t4a.rows) == 16
    assert all(r.coords == {"alpha": r.run.supervision.alpha, "beta": r.run.supervision.beta} for r in t4a.rows)
    assert {type(v) for r in t4a.rows for v in r.coords.values()} == {float}
    with pytest.raises(ValueError, match="needs coordinates"):
        Table("bad", "A grid", "runs", (Row("x", coords={"alpha": 1.0}),), grid=("alpha", "beta"))


def test_rendering_writes_markdown_latex_and_csv(tmp_path):
    import numpy as np
    import pandas as pd

    p = get_profile("smoke")
    df = pd.DataFrame({"row": ["first", "second", "third"], "metric": "seg_v", "ours": [50.0, 51.0, np.nan],
                       "ours_std": [0.5, np.nan, np.nan], "paper": [68.1, np.nan, np.nan],
                       "note": ["", "", "not run"], "scored": ""})
    flat = Table("flat", "A table", "runs", _grid_table().rows, columns=("seg_v",), caption="Caption text.")
    md = write_table(df, flat, p, tmp_path).read_text()
    assert md.startswith(f"### A table — {SYNTHETIC_TAG}") and "Caption text." in md
    assert "| first | 50.0 ± 0.5 (68.1) |  |" in md and "| second | 51.0 |  |" in md and "| third | — | not run |" in md
    tex = (tmp_path / "flat.tex").read_text()
    assert "\\begin{tabular}" in tex and "\\label{tab:flat}" in tex and "50.0 ± 0.5 (68.1)" in tex
    assert pd.read_csv(tmp_path / "flat.csv")["ours"].tolist()[:2] == [50.0, 51.0]
    grid_md = write_table(df, _grid_table(), p, tmp_path).read_text()
    assert "| alpha \\ beta | 0.2 | 0.4 |" in grid_md and "| 3.5 | — (—) | — |" in grid_md
    real = wide(df.assign(diff=df["ours"] - df["paper"]), flat, with_diff=True)
    assert real.iloc[0]["seg_v"] == "50.0 ± 0.5 (68.1, -18.1)"


def test_smoke_and_default_train_han_rows_only_full_every_row():
    smoke, default, full = get_profile("smoke"), get_profile("default"), get_profile("full")
    assert {c.model.name for c in all_runs(full)} == {"han", "mgn", "mm_pyramid", "dhhn"}
    assert {c.model.name for c in all_runs(smoke)} == {c.model.name for c in all_runs(default)} == {"han"}
    assert set(all_runs(default)) < set(all_runs(full)) and runs_dir(full) == runs_dir(default)
    t5 = get_table("lsld_t5", smoke)
    assert smoke.skips(t5.rows[0].run) == "mm_pyramid rows are not trained in the smoke profile"
    assert not full.skips(t5.rows[0].run)


def test_backbone_rows_train_with_their_codes_schedule_and_share_the_vanilla_run():
    full = get_profile("full")
    backbone_rows = [(key, r) for key in ("vplan_t4", "vplan_t5", "lsld_t1", "lsld_t5")
                     for r in get_table(key, full).rows if r.run is not None and r.run.model.name != "han"]
    assert {r.run.model.name for _, r in backbone_rows} == {"mgn", "mm_pyramid", "dhhn"}
    for key, r in backbone_rows:
        assert r.run.train == schedule(r.run.model.name, full), (key, r.label)
    assert schedule("mgn", full).lr != schedule("mm_pyramid", full).lr  # their code's, not one shared schedule
    rows = {key: {r.label: r.run for r in get_table(key, full).rows} for key in ("vplan_t4", "lsld_t1", "lsld_t5")}
    assert rows["vplan_t4"]["MGN"] == rows["lsld_t1"]["MGN"]  # one run, not two identical ones
    assert rows["vplan_t4"]["DHHN"] == rows["lsld_t5"]["DHHN"]
    assert rows["vplan_t4"]["MM-Pyramid"] == rows["lsld_t5"]["MM-Pyramid"]


def test_captions_state_the_stop_of_every_schedule_their_rows_train_with():
    from avvp_lib.schedules import SCHEDULES

    full = get_profile("full")
    names = {"mgn": "MGN's code", "mm_pyramid": "MM-Pyramid's code", "dhhn": "DHHN's code"}
    for t in tables(full):
        runs = [r.run for r in t.rows if r.run is not None and t.kind == "runs"]
        for model in {r.model.name for r in runs} - {"han"}:
            assert f"{names[model]} after {full.epochs_for(model)} of {SCHEDULES[model].epochs}" in t.caption, t.key
        if any(r.model.name == "han" and r.train.lr == 6e-4 for r in runs):  # LSLD's schedule
            assert f"LSLD after {full.epochs_for('lsld')} of {SCHEDULES['lsld'].epochs}" in t.caption, t.key


def test_several_seeds_show_mean_and_std(smoke_world, tmp_path, monkeypatch):
    import dataclasses

    import numpy as np

    import avvp_lib.reproduce as reproduce

    monkeypatch.setattr(reproduce, "OUTPUTS_DIR", tmp_path)
    p = dataclasses.replace(get_profile("smoke"), name="smoke-seeds", epochs=1, seeds=(1, 2))
    t2 = next(t for t in tables(p) if t.key == "lsld_t2")
    df = compute_table(t2, p, device="cpu", progress=False)
    assert (df["ours_std"] > 0).any() and not df["ours"].isna().any()
    assert len(list((tmp_path / "runs" / "smoke-seeds").iterdir())) == 3 * 2  # 3 distinct runs x 2 seeds
    seeds = [r.test["seg_v"] for r in reproduce.run_with_seeds(t2.rows[0].run, p, "cpu", progress=False)]
    cell = df[(df["row"] == t2.rows[0].label) & (df["metric"] == "seg_v")].iloc[0]
    assert cell["ours_std"] == pytest.approx(np.std(seeds, ddof=1))  # the sample std, as the claims
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


def test_every_table_kind_has_a_scorer():
    from avvp_lib.experiments import TABLE_KINDS
    from avvp_lib.reproduce import SCORERS

    assert set(SCORERS) == set(TABLE_KINDS) >= {t.kind for t in tables(get_profile("default"))}
    with pytest.raises(ValueError, match="kind must be one of"):
        Table("bad", "A table", "unknown", ())


def test_two_names_for_one_config_are_planned_once(tmp_path):
    """VPLAN + LSLD's ablation row 2 is also PLD's eq. 9 model of rows 3-6: one run, whatever its names."""
    table = get_table("vplan_lsld_ablation", get_profile("smoke"))
    rows = {r.label: r.run for r in table.rows}
    pre = {requires(rows[k])[0] for k in ("+ PLD (visual only)", "+ PLD (both) = VPLAN + LSLD")}
    assert len({c.replace(name="x") for c in pre}) == 1 and pre.pop().replace(name="x") == rows["+ CLAP audio labels"].replace(name="x")
    planned = [c for layer in plan_layers(list(rows.values()), tmp_path) for stack in layer for c in stack]
    assert len(planned) == len({c.replace(name="x") for c in planned}) == len(rows)  # 6 rows, no extra prerequisite
