"""Every comparative claim the two papers draw from their tables, as data, and the rule that judges ours.

A ``Claim`` says that row A of a table beats row B, or every row of a set ("best of"), on one
metric. The paper's effect is A minus B (minus the strongest B for "best of") from
``paper_numbers.yaml``, signed so that a positive effect is what the paper claims.

Ours is judged by one rule (``compare`` and ``verdict``), for each pair (A, B):
- at least 2 seeds in both rows: Welch's t-test over the per-seed test scores (two-sided);
- otherwise, when both rows have per-video scores on the same videos (one seed of a run on
  test, or a label-quality row on val, whose table number is the mean over videos): a paired
  bootstrap over the videos (``BOOTSTRAP_SAMPLES`` resamples, fixed seed, two-sided);
- otherwise no test: "not resolved".
A pair *holds* when p < ``ALPHA`` and our effect is positive, is *reversed* when p < ``ALPHA``
and it is negative, and is *not resolved* otherwise. A claim holds when every pair holds, is
reversed when any pair is reversed, and is not resolved otherwise. The bootstrap measures only
the uncertainty of the test set, not that of training (another seed can change a run more), so
with one seed a "holds" is weaker than with several; the dashboard names the test used.

The dashboard never shows ours minus the paper's: on a synthetic world that is no reproduction
gap, and on LLP the tables already show it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from avvp_lib.metrics import METRIC_KEYS

ALPHA = 0.05
BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 0
VERDICTS = ("holds", "reversed", "not resolved")  # the order of the dashboard's summary


@dataclass(frozen=True)
class Claim:
    key: str
    paper: str  # "VPLAN" | "LSLD"
    text: str  # the claim as the paper makes it, with where
    table: str  # experiments.Table.key, = the key in paper_numbers.yaml
    row_a: str  # the row claimed better
    rows_b: tuple[str, ...]  # the row(s) it beats; several = "best of"
    metric: str  # a column of the table (METRIC_KEYS or the table's own)
    direction: str = "higher"  # "higher" | "lower": which way is better

    @property
    def sign(self) -> int:
        return 1 if self.direction == "higher" else -1


T1_TAUS = ("tau=0.035, P1", "tau=0.041, P1", "tau=0.043, P1")
T2_OTHERS = ("K=2, alpha=10", "K=3, alpha=10", "K=6, alpha=10", "K=5, alpha=5", "K=5, alpha=20")
T4B_PARTIAL = ("re-weight on w/ event", "re-weight on w/o event")
T6_OTHERS = ("Original Class Desc", "Desc + a photo of", "Desc + playing + a person")
T7_OTHERS = ("Resnet 2D + 3D", "CLIP (ViT-B/32) + 3D", "CLIP (ViT-B/16) + 3D", "CLIP (ViT-B/32) only")
T4A = tuple(f"alpha={a:g}, beta={b:g}" for a in (3, 3.5, 4, 4.5) for b in (0.2, 0.4, 0.6, 0.8))

CLAIMS: tuple[Claim, ...] = (
    # ------------------------------------------------------------ VPLAN
    Claim("vplan_plg_vs_video_label", "VPLAN", "PLG labels are far more precise than the video label (~84% vs ~67%; Sec. IV-B, Table I)",
          "vplan_t1", "tau=0.040, P1", ("-",), "precision"),
    Claim("vplan_tau_best", "VPLAN", "tau = 0.04 gives the best average (Sec. IV-B, Table I upper part)",
          "vplan_t1", "tau=0.040, P1", T1_TAUS, "average"),
    Claim("vplan_p1_best", "VPLAN", "prompt P1 gives the highest average (Sec. IV-B, Table I lower part)",
          "vplan_t1", "tau=0.040, P1", ("tau=0.040, P2", "tau=0.040, P3", "tau=0.040, P4"), "average"),
    Claim("vplan_pld_labels", "VPLAN", "PLD labels are more accurate than PLG's (average F 67.49% -> 70.30%; Impact of the PLD, Table II)",
          "vplan_t2", "K=5, alpha=10", ("-",), "average"),
    Claim("vplan_pld_setup_best", "VPLAN", "K = 5, alpha = 10 is the optimal PLD setup (Sec. IV-B, Table II)",
          "vplan_t2", "K=5, alpha=10", T2_OTHERS, "average"),
    Claim("vplan_plg_vs_han", "VPLAN", "PLG labels improve HAN's visual parsing (Impact of the PLG, Table III row 2 vs 1)",
          "vplan_t3", "2 + PLG", ("1 HAN",), "seg_v"),
    Claim("vplan_rl_vs_bce_seg", "VPLAN", "L_S beats the naive L'_S: segment Type@AV up ~1% (Table III row 4 vs 3)",
          "vplan_t3", "4 + PLG + L_S", ("3 + PLG + L'_S",), "seg_type"),
    Claim("vplan_rl_vs_bce_evt", "VPLAN", "L_S beats the naive L'_S: event Type@AV up ~1% (Table III row 4 vs 3)",
          "vplan_t3", "4 + PLG + L_S", ("3 + PLG + L'_S",), "evt_type"),
    Claim("vplan_pld_vs_plg_seg", "VPLAN", "PLD is more helpful than PLG for training: segment Type@AV (Table III row 5 vs 4)",
          "vplan_t3", "5 + PLD + L_S", ("4 + PLG + L_S",), "seg_type"),
    Claim("vplan_pld_vs_plg_evt", "VPLAN", "PLD is more helpful than PLG for training: event Type@AV (Table III row 5 vs 4)",
          "vplan_t3", "5 + PLD + L_S", ("4 + PLG + L_S",), "evt_type"),
    # ------------------------------------------------------------ LSLD
    Claim("lsld_den_seg", "LSLD", "segment-level denoising lifts segment visual F1 by 15% (Sec. 4.3, Table 2)",
          "lsld_t2", "DeN", ("no DeN, no ReW",), "seg_v"),
    Claim("lsld_den_evt", "LSLD", "segment-level denoising lifts event visual F1 by 15.3% (Sec. 4.3, Table 2)",
          "lsld_t2", "DeN", ("no DeN, no ReW",), "evt_v"),
    Claim("lsld_rew_seg", "LSLD", "dynamic re-weighting adds 1.3% segment visual F1 (Sec. 4.3, Table 2)",
          "lsld_t2", "DeN + ReW", ("DeN",), "seg_v"),
    Claim("lsld_rew_evt", "LSLD", "dynamic re-weighting adds 1.8% event visual F1 (Sec. 4.3, Table 2)",
          "lsld_t2", "DeN + ReW", ("DeN",), "evt_v"),
    Claim("lsld_other_best", "LSLD", "'Other' is the best prompt for no event (Sec. 4.3, Table 3)",
          "lsld_t3", "[Class, Other]", ("[Class, Not Class]", "[Class, None]"), "seg_v"),
    Claim("lsld_alpha_beta_best", "LSLD", "alpha = 4, beta = 0.4 is the best re-weighting setting (Table 4(a))",
          "lsld_t4a", "alpha=4, beta=0.4", tuple(r for r in T4A if r != "alpha=4, beta=0.4"), "seg_v"),
    Claim("lsld_dynamic_vs_stable_seg", "LSLD", "dynamic beats stable re-weighting, segment visual F1 (Table 4(b))",
          "lsld_t4b", "dynamic re-weight", ("stable re-weight",), "seg_v"),
    Claim("lsld_dynamic_vs_stable_evt", "LSLD", "dynamic beats stable re-weighting, event visual F1 (Table 4(b))",
          "lsld_t4b", "dynamic re-weight", ("stable re-weight",), "evt_v"),
    Claim("lsld_dynamic_vs_partial_seg", "LSLD", "dynamic re-weighting beats re-weighting only the segments with / "
          "without the event, segment visual F1 (Table 4(b))", "lsld_t4b", "dynamic re-weight", T4B_PARTIAL, "seg_v"),
    Claim("lsld_dynamic_vs_partial_evt", "LSLD", "dynamic re-weighting beats re-weighting only the segments with / "
          "without the event, event visual F1 (Table 4(b))", "lsld_t4b", "dynamic re-weight", T4B_PARTIAL, "evt_v"),
    Claim("lsld_playing_best", "LSLD", "'+ playing' is the best class description (appendix, Table 6)",
          "lsld_t6", "Desc + playing", T6_OTHERS, "seg_v"),
    Claim("lsld_b16_best", "LSLD", "CLIP ViT-B/16 features alone are the best training features (appendix, Table 7)",
          "lsld_t7", "CLIP (ViT-B/16) only", T7_OTHERS, "seg_v"),
)


# ---------------------------------------------------------------- the paper's side
def paper_value(numbers: dict, table: str, row: str, metric: str) -> float:
    """One number of ``paper_numbers.yaml`` (KeyError naming what is missing)."""
    t = numbers[table]
    columns = t.get("columns", list(METRIC_KEYS))
    if metric not in columns:
        raise KeyError(f"paper_numbers.yaml {table}: no column {metric!r} (has {columns})")
    return float(t["rows"][row][columns.index(metric)])


def paper_effect(claim: Claim, numbers: dict) -> float:
    """The paper's A minus its strongest B, signed so that positive is what the paper claims."""
    a = paper_value(numbers, claim.table, claim.row_a, claim.metric)
    return min(claim.sign * (a - paper_value(numbers, claim.table, b, claim.metric)) for b in claim.rows_b)


# ---------------------------------------------------------------- our side
@dataclass(frozen=True)
class Evidence:
    """Ours for one row and metric: one value per seed, and per-video scores (mean = the value) when one seed."""

    seeds: np.ndarray  # [S]
    per_video: np.ndarray | None = None  # [N], the same videos in every row of a table

    @property
    def mean(self) -> float:
        return float(np.mean(self.seeds))

    @property
    def std(self) -> float:
        """Sample standard deviation over seeds (NaN for one value)."""
        return float(np.std(self.seeds, ddof=1)) if len(self.seeds) > 1 else math.nan


@dataclass(frozen=True)
class Comparison:
    row_b: str
    effect: float  # ours, A minus B in the claimed direction
    p: float  # two-sided; NaN without a test
    test: str


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b) by Lentz's continued fraction."""
    if x <= 0.0 or x >= 1.0:
        return float(x >= 1.0)
    if x > (a + 1) / (a + b + 2):
        return 1.0 - _betainc(b, a, 1.0 - x)
    front = math.exp(a * math.log(x) + b * math.log1p(-x) - math.lgamma(a) - math.lgamma(b) + math.lgamma(a + b)) / a
    tiny, f, c, d = 1e-300, 1.0, 1.0, 0.0
    for i in range(500):
        m = i // 2
        if i == 0:
            num = 1.0
        elif i % 2 == 0:
            num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        else:
            num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        d = 1.0 + num * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + num / c
        c = c if abs(c) > tiny else tiny
        f *= c * d
        if abs(1.0 - c * d) < 1e-14:
            break
    return front * (f - 1.0)


def student_t_two_sided(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with ``df`` degrees of freedom."""
    return _betainc(df / 2, 0.5, df / (df + t * t))


def welch_p(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sided p of Welch's t-test for mean(x) != mean(y) (each with at least 2 values)."""
    vx, vy = np.var(x, ddof=1) / len(x), np.var(y, ddof=1) / len(y)
    diff = float(np.mean(x) - np.mean(y))
    if vx + vy == 0:  # no spread in either row: the difference is exact
        return 0.0 if diff != 0 else 1.0
    t = diff / math.sqrt(vx + vy)
    df = (vx + vy) ** 2 / (vx ** 2 / (len(x) - 1) + vy ** 2 / (len(y) - 1))
    return student_t_two_sided(t, df)


def paired_bootstrap_p(x: np.ndarray, y: np.ndarray, samples: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED) -> float:
    """Two-sided p of a paired bootstrap over videos for mean(x - y) != 0 (x, y per video, same videos)."""
    d = np.asarray(x, np.float64) - np.asarray(y, np.float64)
    means = d[np.random.default_rng(seed).integers(0, len(d), size=(samples, len(d)))].mean(axis=1)
    tail = min((means <= 0).sum(), (means >= 0).sum())
    return min(1.0, 2 * (tail + 1) / (samples + 1))


def compare(a: Evidence, b: Evidence, sign: int = 1, row_b: str = "") -> Comparison:
    """Our A against one B by the module's rule (Welch over seeds, else paired bootstrap, else none)."""
    if len(a.seeds) >= 2 and len(b.seeds) >= 2:
        return Comparison(row_b, sign * (a.mean - b.mean), welch_p(a.seeds, b.seeds),
                          f"Welch t over seeds ({len(a.seeds)} vs {len(b.seeds)})")
    if a.per_video is not None and b.per_video is not None:
        if len(a.per_video) != len(b.per_video):  # e.g. rows that lost different videos to missing features
            return Comparison(row_b, sign * (a.mean - b.mean), math.nan, "rows scored on other videos, no test")
        return Comparison(row_b, sign * float(np.mean(a.per_video) - np.mean(b.per_video)),
                          paired_bootstrap_p(a.per_video, b.per_video), f"paired bootstrap over {len(a.per_video)} videos")
    return Comparison(row_b, sign * (a.mean - b.mean), math.nan, "single value, no test")


def verdict(effect: float, p: float, alpha: float = ALPHA) -> str:
    """'holds' / 'reversed' when p < alpha and the effect is positive / negative, else 'not resolved'."""
    if math.isnan(p) or p >= alpha or effect == 0:
        return "not resolved"
    return "holds" if effect > 0 else "reversed"


@dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    paper_effect: float
    ours_a: Evidence | None
    ours_b: Evidence | None  # our strongest B
    comparison: Comparison | None  # A against our strongest B
    verdict: str


def evaluate(claim: Claim, evidence: Mapping[str, Evidence | None], numbers: dict) -> ClaimResult:
    """Judge one claim from our evidence by row label (missing or None = not run)."""
    effect = paper_effect(claim, numbers)
    a = evidence.get(claim.row_a)
    bs = {b: evidence.get(b) for b in claim.rows_b}
    if a is None or any(e is None for e in bs.values()):
        return ClaimResult(claim, effect, a, None, None, "not resolved")
    pairs = [compare(a, e, claim.sign, b) for b, e in bs.items()]
    verdicts = [verdict(c.effect, c.p) for c in pairs]
    overall = ("reversed" if "reversed" in verdicts else "holds" if all(v == "holds" for v in verdicts)
               else "not resolved")
    # the strongest B, or for a reversed claim the strongest B that reverses it (whose p is below alpha)
    shown = [c for c, v in zip(pairs, verdicts) if v == "reversed"] if overall == "reversed" else pairs
    strongest = min(shown, key=lambda c: c.effect)
    return ClaimResult(claim, effect, a, bs[strongest.row_b], strongest, overall)


# ---------------------------------------------------------------- the dashboard
LEGEND = (f"Effect = A minus B in the claimed direction (positive = as the paper claims); for a 'best of' claim, B is "
          f"the strongest other row (ours: our strongest, or for a reversed claim our strongest row that reverses it; paper: its strongest). Ours = mean ± sample std over seeds "
          f"(n = seeds; a label-quality row has one value). Verdict: Welch t over seeds when both rows have >= 2 seeds, else a paired bootstrap over the "
          f"videos ({BOOTSTRAP_SAMPLES} resamples) of one seed or one label set; holds / reversed = p < {ALPHA} with "
          f"a positive effect against every B / a negative effect against at least one B; else not resolved. With one seed the bootstrap covers "
          f"the test set's sampling only, not training's. The paper's effect is shown for reference, never "
          f"subtracted from ours.")


def _ours(e: Evidence | None) -> str:
    if e is None:
        return "not run"
    return f"{e.mean:.2f}" + (f" ± {e.std:.2f}" if len(e.seeds) > 1 else "") + f" (n={len(e.seeds)})"


def claims_frame(results: list[ClaimResult]) -> pd.DataFrame:
    """One line per claim with numeric columns (for claims.csv)."""
    nan = math.nan
    return pd.DataFrame.from_records([{
        "claim": r.claim.key, "paper": r.claim.paper, "text": r.claim.text, "table": r.claim.table,
        "metric": r.claim.metric, "row_a": r.claim.row_a, "rows_b": " | ".join(r.claim.rows_b),
        "ours_a_mean": r.ours_a.mean if r.ours_a else nan, "ours_a_std": r.ours_a.std if r.ours_a else nan,
        "ours_seeds": len(r.ours_a.seeds) if r.ours_a else 0,
        "ours_strongest_b": r.comparison.row_b if r.comparison else "",
        "ours_b_mean": r.ours_b.mean if r.ours_b else nan, "ours_b_std": r.ours_b.std if r.ours_b else nan,
        "ours_effect": r.comparison.effect if r.comparison else nan, "paper_effect": r.paper_effect,
        "test": r.comparison.test if r.comparison else "no result", "p": r.comparison.p if r.comparison else nan,
        "verdict": r.verdict} for r in results])


def claims_display(results: list[ClaimResult]) -> pd.DataFrame:
    """The dashboard's layout (for claims.md): text cells, the verdict first."""
    rows = []
    for r in results:
        c, cmp = r.claim, r.comparison
        rows.append({"verdict": r.verdict, "claim": f"{c.paper}: {c.text}", "table · metric": f"{c.table} · {c.metric}",
                     "A": c.row_a, "ours A": _ours(r.ours_a),
                     "B (ours strongest)": cmp.row_b if cmp else " / ".join(c.rows_b), "ours B": _ours(r.ours_b),
                     "effect, ours": f"{cmp.effect:+.2f}" if cmp else "—", "effect, paper": f"{r.paper_effect:+.2f}",
                     "test": cmp.test if cmp else "no result",
                     "p": "—" if cmp is None or math.isnan(cmp.p) else f"{cmp.p:.3g}"})
    return pd.DataFrame(rows)
