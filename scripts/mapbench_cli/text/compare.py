"""A comparison (stats/outcome.py) as text: the terminal table, the Markdown summary (CI job
summary, PR comment) and the CSV.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

import pandas as pd

from mapbench_cli.stats import compare
from mapbench_cli.data import schema
from mapbench_cli.stats.compare import Comparison, Options
from mapbench_cli.stats.paired import PAIR
from mapbench_cli.text.tables import markdown_escape
from mapbench_cli.text.words import clean, count_range
from mapbench_cli.stats.outcome import CPU_TIME, TIME, Outcome

CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_SHOWN_NAME = 160  # characters of a case name shown in a table (the CSV keeps it whole)


# --- formatting helpers -------------------------------------------------------------------

def fmt_ratio(r: float) -> str:
    if r != r:
        return "—"
    if math.isinf(r):
        return "∞"
    return f"{r:.3f}"


def fmt_interval(low: float, high: float) -> str:
    return f"[{fmt_ratio(low)}, {fmt_ratio(high)}]"


def fmt_p(p: float) -> str:
    if p != p:
        return "—"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def fmt_change(worse: float, direction: str) -> str:
    """'+12.3% worse', '-4.0% better' from the worse factor."""
    if worse != worse:
        return "—"
    if math.isinf(worse):
        return "worse (from 0)"
    if worse == 0:
        return "better (to 0)"
    pct = (worse - 1) * 100
    return f"{pct:+.1f}% {'worse' if pct > 0 else 'better' if pct < 0 else ''}".rstrip()


def metric_words(metric: str) -> str:
    col = schema.describe(metric)
    label = "instructions per operation (user + kernel)" if metric == compare.INSTRUCTIONS else col.label
    return f"{label} ({metric}, {col.direction} is better)"


def short_label(metric: str) -> str:
    if metric == TIME:
        return "time"
    if metric == CPU_TIME:
        return "cpu time"
    if metric == compare.INSTRUCTIONS:
        return "instructions"
    return metric


def common_parts(names: Sequence[str]) -> List[str]:
    """`key:value` parts shared by every name (left out of the table, said once above it)."""
    if len(names) < 2:
        return []
    sets = [set(p for p in n.split("/") if ":" in p) for n in names]
    shared = set.intersection(*sets)
    return [p for p in names[0].split("/") if p in shared]


def shorten(name: str, drop: Sequence[str]) -> str:
    kept = [p for p in name.split("/") if p not in drop]
    text = clean("/".join(kept))
    return text if len(text) <= MAX_SHOWN_NAME else text[: MAX_SHOWN_NAME - 1] + "…"


def _order(table: pd.DataFrame) -> pd.DataFrame:
    """Regressions first, then improvements, inconclusive, unchanged; the worst first within each."""
    rank = {v: i for i, v in enumerate(compare.VERDICTS)}
    worse = table["worse_factor"].astype(float).fillna(1.0)
    keyed = table.assign(_rank=table["verdict"].map(rank), _worse=-worse, _pos=range(len(table)))
    return keyed.sort_values(["_rank", "_worse", "_pos"], kind="mergesort").drop(columns=["_rank", "_worse", "_pos"])


def _companion_rows(outcome: Outcome) -> List[Dict[str, dict]]:
    """Per primary row, {metric: row of that comparison} (absent when the companion lacks the case)."""
    index = [{(r["name"], r["threads"]): r for _, r in c.table.iterrows()} for c in outcome.comparisons()]
    out = []
    for _, row in outcome.primary.table.iterrows():
        key = (row["name"], row["threads"])
        out.append({c.metric: index[i].get(key) for i, c in enumerate(outcome.comparisons())})
    return out


def _counts_text(c: Comparison) -> str:
    parts = []
    for verdict in compare.VERDICTS:
        n = c.count(verdict)
        if n or verdict == compare.REGRESSION:
            word = verdict if n == 1 or verdict in (compare.UNCHANGED, compare.INCONCLUSIVE) else verdict + "s"
            parts.append(f"{n} {word}")
    return ", ".join(parts)


def headline(outcome: Outcome) -> str:
    p = outcome.primary
    n = p.count(compare.REGRESSION)
    lead = f"{n} regression{'s' if n != 1 else ''}" if n else "no regression"
    return f"{lead} in {short_label(p.metric)} over {len(p.table)} case{'s' if len(p.table) != 1 else ''} ({_counts_text(p)})"


def _settings_text(o: Options, tested: int, units: Sequence[str] = (compare.PROCESS,)) -> str:
    if PAIR in units:   # the arms of one interleaved run (stats/paired_outcome.py)
        return (f"regression = Wilcoxon signed-rank p < {o.alpha:g} on the log-ratios of paired process medians, "
                f"after Benjamini–Hochberg over the {tested} case{'s' if tested != 1 else ''} tested, and worse by "
                f"more than {o.threshold:.0%}; ratio = Hodges–Lehmann estimate of the median ratio CURRENT / BASE "
                f"over the pairs, with its {o.confidence:.0%} distribution-free interval (Walsh averages)")
    on = " and ".join({compare.PROCESS: "process medians", compare.REPETITION: "repetitions"}[u] for u in units)
    return (f"regression = Mann–Whitney p < {o.alpha:g} on {on or 'process medians'}, after Benjamini–Hochberg over "
            f"the {tested} case{'s' if tested != 1 else ''} tested, and worse by more than {o.threshold:.0%}; ratio = "
            f"median CURRENT / median BASE with a {o.confidence:.0%} bootstrap interval ({o.resamples} resamples "
            f"of {'whole processes' if compare.PROCESS in units else 'repetitions'}, seed {o.seed})")


def _samples_text(c: Comparison, side: str) -> str:
    t = c.table
    if t.empty:
        return "no case"
    text = f"{count_range(t['samples_' + side])} samples per case"
    processes = t[t["unit"] == compare.PROCESS]
    if not processes.empty:
        text += f" from {count_range(processes['n_' + side])} processes"
    return text


def _sections(outcome: Outcome) -> List[Tuple[str, List[str]]]:
    """The things to report besides the table: (title, lines)."""
    out = []
    if outcome.env_changes or outcome.env_notes:
        lines = [f"{label} changed: {key}: BASE {clean(b)} → CURRENT {clean(c)}"
                 for label, key, b, c in outcome.env_changes] + outcome.env_notes
        out.append(("Environment changed between BASE and CURRENT" if outcome.env_changes
                    else "Environment", lines))
    if outcome.primary.only_base or outcome.primary.only_current:
        lines = [f"only in {side}: {clean(compare.case_label(*k))} — {outcome.missing_detail.get(k, '')}"
                 for side, keys in (("BASE", outcome.primary.only_base), ("CURRENT", outcome.primary.only_current))
                 for k in keys]
        out.append(("Cases on one side only", lines))
    if not outcome.work_changes.empty:
        out.append((f"Behaviour changed: work per unit (beyond ±{outcome.primary.options.work_tolerance:.0%}, "
                    "the sides' process medians apart)",
                    [f"{clean(compare.case_label(r['name'], r['threads']))}: {clean(r['words'])}"
                     for _, r in outcome.work_changes.iterrows()]))
    few = outcome.primary.table[outcome.primary.table["note"].str.startswith("too few samples")]
    if not few.empty:
        out.append(("Too few samples (inconclusive)", [f"{clean(r['case'])}: {r['note']}" for _, r in few.iterrows()]))
    notes = list(outcome.notes)
    for side, counts in outcome.not_compared.items():
        total = sum(counts.values())
        notes.append(f"{side}: {total} row{'s' if total != 1 else ''} not compared ("
                     + ", ".join(f"{n} {clean(s)}" for s, n in counts.items()) + ")")
    notes += outcome.warnings
    if notes:
        out.append(("Notes", notes))
    return out


# --- the table, for the terminal and Markdown ----------------------------------------------

def table_cells(outcome: Outcome, drop: Sequence[str], text: Callable[[object], str],
                case: Callable[[str], str] = lambda c: c, strong: Callable[[str], str] = lambda v: v
                ) -> Tuple[List[str], List[Tuple[str, List[str]]]]:
    """(header, [(verdict, cells)]) in report order. The compared metric gets ratio, interval,
    change, adjusted p and verdict; each companion its ratio, interval and verdict."""
    p = outcome.primary
    ci = f"{p.options.confidence:.0%} CI"
    header = ["case"]
    for i, c in enumerate(outcome.comparisons()):
        w = short_label(c.metric)
        header += [f"{w} ratio", ci, "change", "p adj", "verdict"] if i == 0 else [f"{w} ratio", ci, "verdict"]
    header.append("note")
    by_pos = _companion_rows(outcome)
    rows = []
    for _, row in _order(p.table).iterrows():
        pos = int(p.table.index.get_loc(row.name))
        cells = [case(shorten(row["case"], drop))]
        for i, c in enumerate(outcome.comparisons()):
            r = by_pos[pos].get(c.metric)
            if r is None:
                cells += ["—", "", "", "", ""] if i == 0 else ["—", "", ""]
                continue
            flagged = r["verdict"] in (compare.REGRESSION, compare.IMPROVEMENT)
            verdict = strong(r["verdict"]) if flagged else r["verdict"]
            cells += [fmt_ratio(r["ratio"]), fmt_interval(r["ratio_ci_low"], r["ratio_ci_high"])]
            cells += [text(fmt_change(r["worse_factor"], c.direction)), fmt_p(r["p_adjusted"]), verdict] if i == 0 \
                else [verdict]
        rows.append((row["verdict"], cells + [text(row["note"])]))
    return header, rows


# --- terminal -----------------------------------------------------------------------------

def terminal(outcome: Outcome) -> List[str]:
    p = outcome.primary
    lines = [f"mapbench compare: {headline(outcome)}",
             f"metric: {metric_words(p.metric)}",
             _settings_text(p.options, p.tested, p.units),
             f"BASE:    {outcome.base.where()} ({_samples_text(p, 'base')})",
             f"CURRENT: {outcome.current.where()} ({_samples_text(p, 'current')})"]
    names = list(p.table["case"])
    drop = common_parts(names)
    if drop:
        lines.append("common to every case: " + clean("/".join(drop)))
    header, rows = table_cells(outcome, drop, clean)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *(cells for _, cells in rows))]
    left = {0, len(widths) - 1} | {i for i, h in enumerate(header) if h == "verdict"}

    def line(cells):
        # The case, the verdicts and the note read left-aligned; the numbers right-aligned.
        return "  ".join(str(x).ljust(w) if i in left else str(x).rjust(w)
                         for i, (x, w) in enumerate(zip(cells, widths))).rstrip()
    lines.append("")
    lines.append(line(header))
    lines.append(line(["-" * w for w in widths]))
    lines += [line(r) for _, r in rows]
    for title, items in _sections(outcome):
        lines.append("")
        lines.append(f"{title}:")
        lines += [f"  {clean(item)}" for item in items]
    return lines


# --- Markdown -------------------------------------------------------------------------------

def md_text(value: object) -> str:
    """Text safe in Markdown (prose or a table cell): no HTML, no pipes breaking a row, no emphasis."""
    return markdown_escape(value, limit=None)


def md_code(value: object) -> str:
    """Text as inline code in a table cell (pipes escaped; backticks cannot end it)."""
    text = clean(value).replace("`", "'").replace("|", "\\|")
    return f"`{text}`"


def markdown(outcome: Outcome, title: str = "mapbench compare") -> str:
    p = outcome.primary
    status = "REGRESSION" if outcome.exit_status else "ok"
    out = [f"## {md_text(title)}: {md_text(headline(outcome))}", ""]
    out.append(f"**Result: {status}.** Metric: {md_text(metric_words(p.metric))}; {md_text(_settings_text(p.options, p.tested, p.units))}.")
    out.append("")
    out.append(f"- BASE: {md_text(outcome.base.where())} — run {md_text(', '.join(outcome.base.run_ids[:4]) or '?')}, "
               f"{_samples_text(p, 'base')}")
    out.append(f"- CURRENT: {md_text(outcome.current.where())} — run "
               f"{md_text(', '.join(outcome.current.run_ids[:4]) or '?')}, {_samples_text(p, 'current')}")
    names = list(p.table["case"])
    drop = common_parts(names)
    if drop:
        out.append(f"- common to every case: {md_code('/'.join(drop))}")
    out.append("")
    for title_, items in _sections(outcome):
        if title_.startswith("Environment changed"):
            out.append(f"### Warning: {title_}")
            out.append("")
            if outcome.env_changes:
                out += ["| setting | BASE | CURRENT |", "| --- | --- | --- |"]
                out += [f"| {md_code(k)} | {md_text(b)} | {md_text(c)} |" for _, k, b, c in outcome.env_changes]
                out.append("")
            out += [f"- {md_text(n)}" for n in outcome.env_notes]
        else:
            out.append(f"### {md_text(title_)}")
            out.append("")
            out += [f"- {md_text(i)}" for i in items]
        out.append("")

    header, rows = table_cells(outcome, drop, md_text, case=md_code, strong=lambda v: f"**{v}**")
    head = "| " + " | ".join(md_text(h) for h in header) + " |"
    rule = "| " + " | ".join("---" if h in ("case", "verdict", "note") else "---:" for h in header) + " |"
    flagged, rest = [], []
    for verdict, cells in rows:
        line = "| " + " | ".join(cells) + " |"
        (flagged if verdict in (compare.REGRESSION, compare.IMPROVEMENT) else rest).append(line)
    if flagged:
        out += ["### Regressions and improvements", "", head, rule] + flagged + [""]
    if rest:
        out += [f"<details><summary>{len(rest)} other case{'s' if len(rest) != 1 else ''} "
                f"(inconclusive, unchanged)</summary>", "", head, rule] + rest + ["", "</details>", ""]
    return "\n".join(out) + "\n"


# --- CSV ------------------------------------------------------------------------------------

def _csv_safe(value: object) -> object:
    """Text a spreadsheet would run as a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(CSV_FORMULA_START):
        return "'" + value
    return value


def csv_frame(outcome: Outcome) -> pd.DataFrame:
    p = outcome.primary
    table = p.table.copy()
    table.insert(0, "metric", p.metric)
    table.insert(1, "direction", p.direction)
    table["threshold"] = p.options.threshold
    table["alpha"] = p.options.alpha
    table["confidence"] = p.options.confidence
    for c in outcome.companions:
        prefix = short_label(c.metric) + "_"
        part = c.table.set_index(["name", "threads"])[["ratio", "ratio_ci_low", "ratio_ci_high", "p_adjusted",
                                                       "verdict"]]
        part.columns = [prefix + col for col in part.columns]
        table = table.join(part, on=["name", "threads"])
    missing = [dict(metric=p.metric, direction=p.direction, case=compare.case_label(*k), name=k[0], threads=k[1],
                    verdict="missing", note=f"only in {side}: {outcome.missing_detail.get(k, '')}")
               for side, keys in (("BASE", p.only_base), ("CURRENT", p.only_current)) for k in keys]
    if missing:
        table = pd.concat([table, pd.DataFrame(missing)], ignore_index=True, sort=False)
    for column in ("case", "name", "note") + tuple(c for c in table.columns if c.endswith("verdict")):
        table[column] = table[column].map(_csv_safe)
    return table
