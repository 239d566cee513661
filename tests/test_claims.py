"""The claims dashboard: the verdict rule on hand-made numbers, the claims' keys, the paper's effects."""
import numpy as np
import pandas as pd
import pytest

from avvp_lib import reproduce
from avvp_lib.claims import (CLAIMS, VERDICTS, Claim, Evidence, compare, evaluate, paired_bootstrap_p, paper_effect,
                             student_t_two_sided)
from avvp_lib.data.splits import load_split
from avvp_lib.experiments import get_profile, tables, vplan_runs
from avvp_lib.methods.baseline import video_label_everywhere
from avvp_lib.metrics import METRIC_KEYS, binarize, parse_scores, per_class_f1
from avvp_lib.train import RunResult

NUMBERS = reproduce.paper_numbers()
CLAIM = Claim("c", "VPLAN", "A beats B", "vplan_t3", "2 + PLG", ("1 HAN",), "seg_v")
BEST_OF = Claim("b", "LSLD", "A beats B and C", "lsld_t3", "[Class, Other]", ("[Class, Not Class]", "[Class, None]"), "seg_v")


def seeds(*values):
    return Evidence(np.array(values, dtype=float))


@pytest.mark.parametrize("a, b, want", [
    ((64.1, 63.8, 64.3), (60.2, 60.6, 59.9), "holds"),
    ((60.2, 60.6, 59.9), (64.1, 63.8, 64.3), "reversed"),
    ((61.0, 63.0, 60.0), (61.5, 62.0, 60.5), "not resolved"),
])
def test_verdict_over_seeds(a, b, want):
    r = evaluate(CLAIM, {"2 + PLG": seeds(*a), "1 HAN": seeds(*b)}, NUMBERS)
    assert r.verdict == want and r.comparison.test.startswith("Welch")
    assert r.comparison.effect == pytest.approx(np.mean(a) - np.mean(b))


def test_welch_p_matches_student_t_by_hand():
    # equal sizes and variances: t = 3 / sqrt(2 * 1 / 3), df = 4
    p = compare(seeds(1, 2, 3), seeds(4, 5, 6)).p
    assert p == pytest.approx(student_t_two_sided(3 / np.sqrt(2 / 3), 4))
    assert student_t_two_sided(2.228138852, 10) == pytest.approx(0.05, abs=1e-6)  # t table, 95%, df = 10
    assert student_t_two_sided(1.0, 1) == pytest.approx(0.5)  # Cauchy: P(|T| >= 1) = 1/2


def test_one_seed_uses_a_paired_bootstrap_over_videos():
    rng = np.random.default_rng(0)
    base = rng.uniform(40, 80, 500)
    better = base + 1.0 + rng.normal(0, 2, 500)
    one = lambda v: Evidence(np.array([v.mean()]), v)  # noqa: E731
    r = evaluate(CLAIM, {"2 + PLG": one(better), "1 HAN": one(base)}, NUMBERS)
    assert r.verdict == "holds" and r.comparison.test == "paired bootstrap over 500 videos"
    assert evaluate(CLAIM, {"2 + PLG": one(base), "1 HAN": one(better)}, NUMBERS).verdict == "reversed"
    noise = base + rng.normal(0, 2, 500)
    assert evaluate(CLAIM, {"2 + PLG": one(noise), "1 HAN": one(base)}, NUMBERS).verdict == "not resolved"
    assert paired_bootstrap_p(base, base) == 1.0


def test_single_values_without_videos_are_not_resolved():
    r = evaluate(CLAIM, {"2 + PLG": seeds(70.0), "1 HAN": seeds(50.0)}, NUMBERS)
    assert r.verdict == "not resolved" and r.comparison.test == "single value, no test"
    assert evaluate(CLAIM, {"2 + PLG": seeds(70.0, 71.0)}, NUMBERS).verdict == "not resolved"  # B not run


def test_best_of_needs_every_row_beaten():
    a = seeds(70.0, 70.4, 70.2)
    far, close = seeds(60.0, 60.3, 60.1), seeds(69.0, 71.5, 70.5)
    assert evaluate(BEST_OF, {"[Class, Other]": a, "[Class, Not Class]": far, "[Class, None]": far}, NUMBERS).verdict == "holds"
    r = evaluate(BEST_OF, {"[Class, Other]": a, "[Class, Not Class]": far, "[Class, None]": close}, NUMBERS)
    assert r.verdict == "not resolved" and r.comparison.row_b == "[Class, None]"  # our strongest B
    r = evaluate(BEST_OF, {"[Class, Other]": far, "[Class, Not Class]": a, "[Class, None]": far}, NUMBERS)
    assert r.verdict == "reversed"
    # reversed by a clearly better row, while a noisier, higher row is not significant: the reversing one is shown
    noisy_high = seeds(58.0, 75.0, 90.0)
    r = evaluate(BEST_OF, {"[Class, Other]": a, "[Class, Not Class]": noisy_high, "[Class, None]": seeds(72.0, 72.3, 72.1)}, NUMBERS)
    assert r.verdict == "reversed" and r.comparison.row_b == "[Class, None]" and r.comparison.p < 0.05


def test_every_claim_names_rows_of_the_tables_and_the_paper():
    by_key = {t.key: t for t in tables(get_profile("smoke"))}
    assert len({c.key for c in CLAIMS}) == len(CLAIMS)
    for c in CLAIMS:
        table = by_key[c.table]
        labels = {r.label for r in table.rows}
        assert {c.row_a, *c.rows_b} <= labels, c.key
        assert c.row_a not in c.rows_b, c.key
        assert c.metric in (table.columns or METRIC_KEYS), c.key
        assert table.kind in ("runs", "plg_quality", "pld_quality"), c.key
        if table.kind == "runs":  # a row we train, not one cited from the paper
            assert all(r.run is not None for r in table.rows if r.label in (c.row_a, *c.rows_b)), c.key
        paper_effect(c, NUMBERS)  # every row and column is in paper_numbers.yaml (KeyError otherwise)


def test_paper_effects_by_hand():
    by_key = {c.key: c for c in CLAIMS}
    assert paper_effect(by_key["vplan_plg_vs_han"], NUMBERS) == pytest.approx(63.7 - 52.9)
    assert paper_effect(by_key["lsld_alpha_beta_best"], NUMBERS) == pytest.approx(71.9 - 71.6)  # vs alpha=4, beta=0.6
    assert paper_effect(by_key["vplan_pld_setup_best"], NUMBERS) == pytest.approx(70.30 - 69.81)  # vs K=5, alpha=20


def test_write_claims_from_per_seed_results(tmp_path, monkeypatch, smoke_world):
    """The whole dashboard on hand-made RunResults (2 seeds) and per-video label scores: no training
    (the smoke world's feature folders decide which rows count as run)."""
    profile = get_profile("smoke")

    def fake_runs(config, profile, device=None, progress=True):
        level = 50 + (sum(map(ord, config.name)) % 20)  # a fixed number per run
        return [RunResult(tmp_path, config, {}, {k: level + 0.1 * s for k in METRIC_KEYS}, 1) for s in (1, 2)]

    def fake_labels(table, profile, per_video=False, device=None):
        assert per_video
        return {r.label: {k: np.full(7, 10.0 + i) for k in ("precision", "recall", "average", "seg_v", "evt_v")}
                for i, r in enumerate(table.rows)}

    monkeypatch.setattr(reproduce, "run_with_seeds", fake_runs)
    monkeypatch.setattr(reproduce, "label_quality", fake_labels)
    md = reproduce.write_claims(profile, out_dir=tmp_path).read_text()
    assert md.startswith(f"### Claims dashboard — {reproduce.SYNTHETIC_TAG}")
    assert "minus paper" not in md and "ours - paper" not in md
    csv = (tmp_path / "claims.csv").read_text().splitlines()
    assert len(csv) == 1 + len(CLAIMS)
    frame = pd.read_csv(tmp_path / "claims.csv")
    assert set(frame["verdict"]) <= set(VERDICTS)
    assert (frame["ours_seeds"] == 2).sum() == sum(c.table not in ("vplan_t1", "vplan_t2") for c in CLAIMS)


def test_one_seed_run_scores_every_test_video(smoke_world, tmp_path):
    """Per-video test scores of a run come from its stored predictions; their means are its test scores."""
    profile = get_profile("smoke")
    test = load_split(smoke_world, "test", progress=False)
    rng = np.random.default_rng(0)
    n = len(test)
    pred = {"frame": rng.random((n, 10, 2, 25)), "global": rng.random((n, 25)),
            "audio": rng.random((n, 25)), "visual": rng.random((n, 25))}
    np.savez(tmp_path / "predictions.npz", **{f"test/{k}": v.astype(np.float32) for k, v in pred.items()})
    config = vplan_runs(profile)["1 HAN"]
    result = RunResult(tmp_path, config, {}, {}, 1)
    per_video = reproduce._test_scores_per_video(result, profile)
    pa, pv = binarize(*(pred[k].astype(np.float32) for k in ("frame", "global", "audio", "visual")),
                      rule=config.train.inference)
    want = parse_scores(pa, pv, test.gt_audio, test.gt_visual)
    assert {k: float(v.mean()) for k, v in per_video.items()} == pytest.approx(want)
    assert per_video["seg_v"].shape == (n,)


def test_label_quality_per_video_means_are_the_table(smoke_world):
    """Table I on the smoke world: the per-video scores the bootstrap resamples average to the table's numbers."""
    profile = get_profile("smoke")
    t1 = next(t for t in tables(profile) if t.key == "vplan_t1")
    per_video = reproduce.label_quality(t1, profile, per_video=True)
    table = reproduce.label_quality(t1, profile)
    for row, scores in table.items():
        assert {k: float(v.mean()) for k, v in per_video[row].items()} == pytest.approx(scores)
        assert per_video[row]["precision"].shape == (60,)


def test_per_class_scores_of_the_main_rows(smoke_world, tmp_path, monkeypatch):
    """Per class: the model's F1 is per_class_f1 of its binarized test prediction, the labels' F1 that of its
    method's val labels (HAN: the video label on every segment); the Markdown has a row per class."""
    profile = get_profile("smoke")
    test, val = load_split(smoke_world, "test", progress=False), load_split(smoke_world, "val", progress=False)
    rng = np.random.default_rng(1)
    pred = {"frame": rng.random((len(test), 10, 2, 25)), "global": rng.random((len(test), 25)),
            "audio": rng.random((len(test), 25)), "visual": rng.random((len(test), 25))}
    np.savez(tmp_path / "predictions.npz", **{f"test/{k}": v.astype(np.float32) for k, v in pred.items()})
    han = vplan_runs(profile)["1 HAN"]
    monkeypatch.setattr(reproduce, "MAIN_ROWS", (("vplan_t3", "1 HAN"), ("lsld_t2", "DeN + ReW")))
    monkeypatch.setattr(reproduce, "run_with_seeds", lambda run, *a, **k: [RunResult(tmp_path, run, {}, {}, 1)])
    df = reproduce.per_class_scores(profile)
    assert set(df["source"]) == {"1 HAN — model (test)", "1 HAN — labels (val)", "DeN + ReW — model (test)",
                                 "DeN + ReW — labels (val)"}
    got = df[df["source"] == "1 HAN — labels (val)"]["f1"].to_numpy()
    np.testing.assert_allclose(got, per_class_f1(video_label_everywhere(val.labels), val.gt_visual), equal_nan=True)
    pv = binarize(*(pred[k].astype(np.float32) for k in ("frame", "global", "audio", "visual")),
                  rule=han.train.inference)[1]
    np.testing.assert_allclose(df[df["source"] == "1 HAN — model (test)"]["f1"].to_numpy(),
                               per_class_f1(pv, test.gt_visual), equal_nan=True)
    md = reproduce.write_per_class(profile, out_dir=tmp_path).read_text()
    assert md.count("\n| ") == 1 + 25 and "not comparable" in md
