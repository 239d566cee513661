"""Render computed tables beside the papers' numbers: the paper's layout as Markdown, LaTeX and CSV.

``compute_table`` (``avvp_lib.reproduce``) gives a long-form DataFrame, one line per (row, metric)
with ours, ours_std, paper, note, scored (and diff on real LLP); ``write_table`` writes it as
``<key>.csv`` and, in the paper's layout (``wide``, or ``grid`` for a table laid out by its rows'
coordinates), as ``<key>.md`` and ``<key>.tex`` under ``outputs/tables/<profile>/``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from avvp_lib.experiments import Profile, Table, paper_numbers
from avvp_lib.metrics import METRIC_KEYS
from avvp_lib.paths import OUTPUTS_DIR

SYNTHETIC_TAG = "synthetic world — not comparable to the paper"
DECIMALS = {"bce": 3}  # metrics not in percent


def tables_dir(profile: Profile) -> Path:
    return OUTPUTS_DIR / "tables" / profile.name


def table_title(table: Table, profile: Profile) -> str:
    return f"{table.title} — {SYNTHETIC_TAG}" if profile.synthetic else f"{table.title} — reproduction on LLP"


def _cell(x: float, std: float = np.nan, signed: bool = False, decimals: int = 1) -> str:
    if np.isnan(x):
        return "—"
    s = f"{x:+.{decimals}f}" if signed else f"{x:.{decimals}f}"
    return s + (f" ± {std:.{decimals}f}" if not np.isnan(std) else "")  # NaN: one seed (no spread)


def _side_by_side(ours: float, std: float, paper: float, with_diff: bool, decimals: int = 1) -> str:
    """'ours ± std (paper)', or '(paper, ours - paper)' on real data; the paper's part only where it has a number."""
    cell = _cell(ours, std, decimals=decimals)
    if np.isnan(paper):
        return cell
    extra = f", {_cell(ours - paper, signed=True, decimals=decimals)}" if with_diff and not np.isnan(ours) else ""
    return f"{cell} ({_cell(paper, decimals=decimals)}{extra})"


def wide(df: pd.DataFrame, table: Table, with_diff: bool = False) -> pd.DataFrame:
    """The paper's layout: one line per row, metrics as columns, each cell ours beside the paper's.

    ``with_diff`` adds ours minus the paper's; only for real LLP data, where it is a reproduction gap.
    """
    columns = list(table.columns or METRIC_KEYS)
    lines = []
    for label, g in df.groupby("row", sort=False):
        g = g.set_index("metric")
        cells = {c: _side_by_side(g.at[c, "ours"], g.at[c, "ours_std"], g.at[c, "paper"], with_diff,
                                  DECIMALS.get(c, 1)) for c in columns}
        lines.append({"row": label, **cells, "note": g["note"].iloc[0]})
    return pd.DataFrame(lines)


def grid(df: pd.DataFrame, table: Table) -> pd.DataFrame:
    """A grid table (``table.grid = (row axis, column axis)``, e.g. Table 4(a)'s alpha x beta) laid out by the
    rows' coordinates, in the table's order; each cell 'ours (paper)' of its one metric."""
    down, across = table.grid
    coords = {r.label: r.coords for r in table.rows}
    values = df.drop_duplicates("row").set_index("row")
    ys = list(dict.fromkeys(c[down] for c in coords.values()))
    xs = list(dict.fromkeys(c[across] for c in coords.values()))
    cells = {(c[down], c[across]): f"{_cell(values.at[label, 'ours'])} ({_cell(values.at[label, 'paper'])})"
             for label, c in coords.items() if label in values.index}
    out = pd.DataFrame([[f"{y:g}", *(cells.get((y, x), "—") for x in xs)] for y in ys],
                       columns=[f"{down} \\ {across}", *(f"{x:g}" for x in xs)])
    return out


def to_markdown(frame: pd.DataFrame) -> str:
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def subset_note(df: pd.DataFrame, profile: Profile) -> str:
    """Caption text: on how many videos the numbers are (when some were skipped), and which audio GT scored them."""
    counts = sorted({n for n in df.get("scored", pd.Series(dtype=str)) if isinstance(n, str) and n})
    legacy = "Audio scored against the legacy 2020 AVVP_eval_audio.csv." if profile.eval_audio else ""
    subset = f"Scored on {'; '.join(counts)} (the others have no features; see missing_*.csv)." if counts else ""
    return " ".join(x for x in (subset, legacy) if x)


def write_table(df: pd.DataFrame, table: Table, profile: Profile, out_dir: Path | None = None) -> Path:
    """Write ``<key>.csv`` (long form), ``<key>.md`` and ``<key>.tex`` (paper layout); returns the Markdown's path."""
    out = Path(out_dir or tables_dir(profile))
    out.mkdir(parents=True, exist_ok=True)
    title = table_title(table, profile)
    frame = grid(df, table) if table.grid else wide(df, table, with_diff=not profile.synthetic)
    df.to_csv(out / f"{table.key}.csv", index=False)
    legend = ""
    if table.key in paper_numbers():
        legend = ("Cells: ours (paper)." if profile.synthetic or table.grid
                  else "Cells: ours (paper, ours minus paper).")
    caption = " ".join(x for x in (table.caption, subset_note(df, profile), legend) if x)
    (out / f"{table.key}.md").write_text(f"### {title}\n\n{to_markdown(frame)}\n\n{caption}\n")
    latex = frame.to_latex(index=False, caption=f"{title}. {caption}", label=f"tab:{table.key}", escape=True)
    (out / f"{table.key}.tex").write_text(latex)
    return out / f"{table.key}.md"
