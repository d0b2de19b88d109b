"""What the per-family figure modules (family_<family>.py) share, computing only.

Each module exposes `<family>_figures(rows, ctx) -> (figures, covered index)`, the
convention of plot.read_vs_mmap_figures, and is registered in plot.SPECIFIC.

Rows: the ok rows (status ok, not contradicted by valid=0: the rule of runs.Results.ok)
are plotted. The others are never dropped silently: `not_effective` rows that carry
numbers (a THP row found 60% backed, a scaling row whose workers waited for a CPU) are
drawn marked as such, and every other row (skipped, error, invalid, unvalidated) is
counted in a note, by reason, or written in the place its bar would take. They are
looked for in `rows` itself and in `ctx.frame` (every row of the run, when the Context
carries it: plot.Context holds only ok rows today).

Matplotlib is imported late (figures/draw.py), only once a figure is really drawn.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from mapbench_cli.data import frames, schema
from mapbench_cli.stats import summary as stats
from mapbench_cli.data.runs import Results, describe_not_plotted
from mapbench_cli.text.words import clean

CONFIDENCE = 0.95
TIME = "ns_per_op"
THROUGHPUT = "bytes_per_second"
NOT_EFFECTIVE = "not_effective"


def draw_module():
    from mapbench_cli.figures import draw  # matplotlib: only once something is drawn
    return draw


@dataclass
class FamilySummary:
    """A family's findings in words, beside its figures: `plot` prints `lines` and writes
    `markdown` to <stem>.md; `report` links and includes it (plot.SUMMARIES)."""
    stem: str
    lines: List[str]
    markdown: str


# --- which rows ---------------------------------------------------------------------------

@dataclass
class FamilyRows:
    ok: pd.DataFrame          # plotted
    flagged: pd.DataFrame     # not_effective rows with a time: drawn marked, never as ok
    left_out: pd.DataFrame    # every other row that is not ok: counted in notes
    others_known: bool        # False: the caller passed only ok rows and no ctx.frame
    given: pd.Index = None    # the index of the rows the caller passed

    def covered(self, placed: pd.Index) -> pd.Index:
        """The rows of `rows` this family's figures account for: the ok rows they placed,
        and the rows that are not ok (drawn marked or counted in a note); never a row the
        caller did not pass (figures/plot.py drops these from its rows)."""
        every = placed.union(self.flagged.index).union(self.left_out.index)
        return every.intersection(self.given) if self.given is not None else every


def split(rows: pd.DataFrame, ctx, family: str) -> FamilyRows:
    frame = getattr(ctx, "frame", None)
    ok = Results(frame=rows, runs=[]).ok if "valid" in rows else rows[rows["status"] == schema.STATUS_OK]
    others = rows.drop(index=ok.index)
    known = not others.empty
    if isinstance(frame, pd.DataFrame) and "family" in frame:
        mine = frame[frame["family"] == family]
        extra = mine.drop(index=mine.index.intersection(rows.index), errors="ignore")
        extra_ok = Results(frame=extra, runs=[]).ok if "valid" in extra else extra[extra["status"] == "ok"]
        others = pd.concat([others, extra.drop(index=extra_ok.index)]) if not extra.empty else others
        known = True
    has_time = others[TIME].notna() if TIME in others else pd.Series(False, index=others.index)
    flagged_mask = (others["status"] == NOT_EFFECTIVE) & has_time
    return FamilyRows(ok=ok, flagged=others[flagged_mask], left_out=others[~flagged_mask], others_known=known,
                      given=rows.index)


def numeric(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """The frame with these columns as numbers. data/runs.py parses the columns whose names the
    schema knows as numeric; a few family columns are not (workers, pages,
    file_dirty_pages_after_sync, ...): they arrive as text. A cell that is not a number
    becomes NaN (and the row is then left out of what needs it)."""
    present = [c for c in columns if c in frame and frame[c].dtype == object]
    if not present:
        return frame
    frame = frame.copy()
    for c in present:
        text = frame[c].astype(str).str.strip()
        frame[c] = pd.to_numeric(text.where(text != "", None), errors="coerce").astype(float)
    return frame


def has(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """Rows where every column is present and filled (frames.has)."""
    return frames.has(frame, columns)


def rows_with(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    return frame[has(frame, columns)] if not frame.empty else frame


# --- notes --------------------------------------------------------------------------------

_CUT = re.compile(r"(: |; | \(a tuning)")


def short_reason(message: object, limit: int = 90) -> str:
    """The gist of a skip message: up to its first ': ' or '; ', at most `limit` characters."""
    text = clean(message).strip() or "no reason given"
    text = _CUT.split(text, maxsplit=1)[0].strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def left_out_notes(fr: FamilyRows, what: Callable[[pd.Series], str] = None,
                   left: Optional[pd.DataFrame] = None) -> List[str]:
    """One line per status and reason: how many cases and rows, and which cases (briefly).
    `left`: the part of fr.left_out that belongs to this figure (default: all of it)."""
    lines: List[str] = []
    if not fr.others_known:
        lines.append("rows not ok (skipped, not_effective, ...) were not passed to this figure: "
                     "the plot command's summary line counts them")
    left = fr.left_out if left is None else left
    if left.empty:
        return lines
    order = {s: i for i, s in enumerate(schema.STATUSES)}
    left = left.assign(_status=left["status"].astype(str),
                       _reason=[_reason_of(r) for _, r in left.iterrows()])
    groups = sorted(left.groupby(["_status", "_reason"], sort=False),
                    key=lambda kv: (order.get(kv[0][0], 99), kv[0][1]))
    for (status, reason), part in groups:
        cases = list(dict.fromkeys(part["name"]))
        names = [what(r) for _, r in part.drop_duplicates("name").iterrows()] if what else []
        shown = ", ".join(dict.fromkeys(n for n in names if n))
        if len(shown) > 140:
            shown = shown[:139] + "…"
        lines.append(f"{clean(status)}: {len(cases)} case{'s' if len(cases) != 1 else ''} "
                     f"({len(part)} row{'s' if len(part) != 1 else ''}), {reason}" + (f" — {shown}" if shown else ""))
    return lines


def _reason_of(row: pd.Series) -> str:
    status = str(row.get("status", ""))
    if status in ("skipped", "error"):
        return short_reason(row.get("message", ""))
    if status == "invalid" or (status == schema.STATUS_OK and row.get("valid") == 0):
        return "check failed: " + short_reason(row.get("validation", ""), 70)
    if status == "unvalidated":
        return "no check reported"
    return short_reason(row.get("config_note", "") or row.get("message", ""), 70)


def nothing_measured(family: str, fr: FamilyRows, notes: Sequence[str], ctx):
    """(stem, figure) for a family none of whose rows can be drawn: what happened to them."""
    headline = f"nothing measured: {counted(fr.left_out) or 'no row can be drawn'}"
    fig = draw_module().note_only(f"{family}: nothing measured", headline, clean_notes(list(notes) + [run_note(ctx)]))
    return family, fig


def counted(rows: pd.DataFrame) -> str:
    """'3 rows not plotted (2 skipped, 1 invalid)' for these rows, '' if none."""
    return describe_not_plotted(Results(frame=rows, runs=[]).not_plotted()) if not rows.empty else ""


def flagged_note(flagged: pd.DataFrame, meaning: str) -> List[str]:
    """The note for the rows drawn marked (status not_effective)."""
    if flagged.empty:
        return []
    cases = flagged["name"].nunique()
    return [f"{meaning} ({cases} case{'s' if cases != 1 else ''}, {len(flagged)} rows with status "
            f"not_effective: the configuration the row claims was not observed; not comparable as is)"]


# --- summaries ------------------------------------------------------------------------------

def summarize(frame: pd.DataFrame, keys: Sequence[str], metric: str) -> pd.DataFrame:
    if frame.empty or metric not in frame:
        return pd.DataFrame(columns=list(keys) + list(stats.SUMMARY_COLUMNS))
    return stats.summarize(frame, keys, metric, CONFIDENCE)


def value(row, divisor: float = 1.0):
    from mapbench_cli.figures.base import Value
    return Value(row["median"] / divisor, row["ci_low"] / divisor, row["ci_high"] / divisor)


def lookup(summary: pd.DataFrame, keys: Sequence[str]) -> Dict[tuple, pd.Series]:
    """summary rows by their key tuple."""
    return {tuple(r[k] for k in keys): r for _, r in summary.iterrows()}


def intervals_note(*summaries: pd.DataFrame) -> str:
    parts = [s for s in summaries if s is not None and not s.empty]
    if not parts:
        return ""
    return stats.describe_intervals(pd.concat(parts, ignore_index=True), CONFIDENCE)


def with_throughput(frame: pd.DataFrame) -> pd.DataFrame:
    return frames.with_throughput(frame) if not frame.empty else frame


def with_total(frame: pd.DataFrame, parts: Sequence[str], name: str) -> pd.DataFrame:
    """A column summing `parts` per row (NaN where one is missing)."""
    frame = frame.copy()
    frame[name] = frame[list(parts)].sum(axis=1, min_count=len(parts)) if all(p in frame for p in parts) else np.nan
    return frame


# --- words and numbers ----------------------------------------------------------------------

LOWER = f", {schema.LOWER} is better"
HIGHER = f", {schema.HIGHER} is better"


def time_scale(values: Iterable[float]) -> Tuple[float, str]:
    """(divisor, unit) for nanoseconds: the schema's choice for ns_per_op."""
    return schema.display_scale(TIME, [v for v in values if isinstance(v, (int, float))])


def rate_scale(values: Iterable[float]) -> Tuple[float, str]:
    """(divisor, words) for a count per second: 'thousands', 'millions'."""
    finite = sorted(v for v in values if isinstance(v, (int, float)) and math.isfinite(v) and v > 0)
    typical = finite[len(finite) // 2] if finite else 0
    for divisor, words in ((1e9, "billions"), (1e6, "millions"), (1e3, "thousands")):
        if typical >= divisor:
            return divisor, words
    return 1.0, ""


def kib_label(kib: float) -> str:
    return schema.format_kib(float(kib))


def mib_label(mib: float) -> str:
    return schema.format_mib(float(mib))


def number(v: float, digits: int = 2) -> str:
    """A short number for a note beside a point: 0.0076, 1, 256, 1.2e+03."""
    if v is None or not isinstance(v, (int, float)) or not math.isfinite(v):
        return "?"
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:.0f}" if abs(v) < 1e5 else f"{v:.{digits - 1}e}"
    return f"{v:.{digits}g}"


def ordered(values: Iterable, preferred: Sequence = ()) -> list:
    return frames.ordered(values, preferred)


def numeric_order(values: Iterable) -> list:
    return frames.numeric_order(values)


def run_note(ctx) -> str:
    return getattr(ctx, "run_note", "") or ""


def colour(name: str, family: str, known: Sequence[str] = ()) -> str:
    """figures.colour_for in the family's scope; the names in `known` (the family's methods
    in their order) are given their colours first, so a method keeps its colour whichever
    subset of methods a run holds."""
    from mapbench_cli.figures import base as figures
    for k in known:
        figures.colour_for(k, family)
    return figures.colour_for(name, family)


def clean_notes(notes: Iterable[Optional[str]]) -> List[str]:
    return [n for n in notes if n]
