"""The `compare` subcommand: load both sides, run compare.py's statistics, present them.

compare.py computes; this module loads and checks the input (through runs.py), and turns
the comparison into a terminal table, a Markdown summary (CI job summary, PR comment), a
CSV and a plot (drawn by figures.py). Exit status: 0 no regression, 1 regression, 2
unusable input (raised as BadInput, one line).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from mapbench_cli import compare, environment, schema
from mapbench_cli.compare import Comparison, Options
from mapbench_cli.runs import BadInput, Results, load_runs
from mapbench_cli.tables import markdown_escape
from mapbench_cli.text import clean, count_range, quote, show

TIME = "ns_per_op"
CPU_TIME = "cpu_ns_per_op"
# Shown beside the compared metric: wall time, CPU time (steadier on a loaded machine: it
# leaves out the time spent waiting for a CPU) and instructions (steadier still, when counted).
COMPANIONS = (TIME, CPU_TIME, compare.INSTRUCTIONS)
EXIT_OK, EXIT_REGRESSION, EXIT_BAD_INPUT = 0, 1, 2
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_SHOWN_NAME = 160  # characters of a case name shown in a table (the CSV keeps it whole)


# --- input ------------------------------------------------------------------------------

@dataclass
class Side:
    label: str                 # "BASE" or "CURRENT"
    paths: List[str]
    results: Results
    ok: pd.DataFrame           # usable rows, with derived columns

    @property
    def envs(self) -> List[Optional[dict]]:
        return [r.environment for r in self.results.runs]

    @property
    def run_ids(self) -> List[str]:
        return [i for r in self.results.runs for i in r.run_ids]

    def where(self) -> str:
        shown = ", ".join(show(p) for p in self.paths[:3]) + (f" and {len(self.paths) - 3} more"
                                                                if len(self.paths) > 3 else "")
        return shown


def _derived(frame: pd.DataFrame) -> pd.DataFrame:
    """bytes_per_second where a row left it empty (as plot does), and instructions_per_op."""
    from mapbench_cli.plot import _with_throughput  # shared with plot: one definition of the derivation
    return compare.with_instructions(_with_throughput(frame))


def load_side(paths: Sequence[str], label: str) -> Side:
    try:
        results = load_runs(paths)
    except BadInput as e:
        raise BadInput(f"{label}: {e}") from None
    return Side(label, [str(p) for p in paths], results, _derived(results.ok))


def _unit_stem(column: str) -> Optional[Tuple[str, str]]:
    """'sync_ns_per_op' -> ('sync', 'ns_per_op')-like split used to spot the same quantity in another unit."""
    m = re.match(r"^(.*?)(?:_)?(ns|us|ms|s|bytes|kib|mib|gib)(_per_.*|)$", column)
    if not m:
        return None
    return m.group(1) + "|" + m.group(3), m.group(2)


def check_metric(metric: str, sides: Sequence[Side]) -> str:
    """The metric's direction, or BadInput explaining why it cannot be compared."""
    if metric != compare.INSTRUCTIONS and not schema.is_numeric(metric):
        raise BadInput(f"--metric {quote(metric)}: not a numeric column (a metric's unit is in its name, "
                           "e.g. ns_per_op, bytes_per_second, minor_faults_per_page)")
    direction = schema.direction(metric)
    if direction is None:
        raise BadInput(f"--metric {quote(metric)}: not an outcome (no better direction: *_per_second is "
                       "higher-is-better; *_per_op, *_per_page, *_per_mib, ... and ns_* lower-is-better; "
                       "observations of the setup such as resident_fraction_before have none)")
    for side in sides:
        frame = side.results.frame
        if metric not in frame.columns and metric not in side.ok.columns:
            hint = ""
            mine = _unit_stem(metric)
            if mine:
                others = [c for c in frame.columns if c != metric and (_unit_stem(c) or ("", ""))[0] == mine[0]]
                if others:
                    hint = f"; it has {show(others[0])}: mixed units, convert one side first"
            if metric == compare.INSTRUCTIONS:
                hint = "; it has no instructions_user_per_op and instructions_kernel_per_op columns"
            raise BadInput(f"{side.label} ({side.where()}) has no column {show(metric)}{hint}")
        values = side.ok[metric] if metric in side.ok else pd.Series(dtype=float)
        finite = values[np.isfinite(values.astype(float))]
        if values.astype(float).isin([np.inf, -np.inf]).any():
            raise BadInput(f"{side.label} ({side.where()}): {show(metric)} holds an infinite value")
        negative = finite[finite < 0]
        if not negative.empty:
            row = side.ok.loc[negative.index[0]]
            raise BadInput(f"{side.label} ({side.where()}): {show(metric)} is negative ({negative.iloc[0]:g}) "
                           f"in case {quote(row['name'])}")
        if finite.empty:
            raise BadInput(f"{side.label} ({side.where()}): no ok row has a value of {show(metric)}"
                           f"{_counters_reason(side) if _is_counter(metric) else ''}")
    return direction


def _is_counter(metric: str) -> bool:
    return metric == compare.INSTRUCTIONS or any(metric.startswith(c) or f"_{c}" in metric for c in (
        "cycles_", "instructions_", "dtlb_", "minor_faults", "major_faults", "context_switches"))


def _counter_scope(metric: str, side: Side) -> Optional[str]:
    """How `side` counted the counter behind `metric`: "user mode only", "user and kernel mode",
    "mixed" (both among its rows) or None (not a counter metric, or no row has it)."""
    rows = side.ok[side.ok[metric].notna()] if metric in side.ok else side.ok.iloc[0:0]
    if rows.empty or "counters_user_only" not in rows:
        return None
    stems = compare.INSTRUCTION_PARTS if metric == compare.INSTRUCTIONS else (metric,)
    scopes = set()
    for listed in rows["counters_user_only"].fillna("").astype(str):
        user_only = set(listed.split())
        scopes.add("user mode only" if any(s == c or s.startswith(c + "_") for s in stems for c in user_only)
                   else "user and kernel mode")
    return scopes.pop() if len(scopes) == 1 else "mixed"


def check_counter_scope(metric: str, sides: Sequence[Side]) -> None:
    """BadInput when the sides counted `metric` in different modes: a user-mode fault count
    leaves out the faults taken inside the kernel, another quantity than user + kernel."""
    if not _is_counter(metric):
        return
    scopes = {side.label: _counter_scope(metric, side) for side in sides}
    known = {s for s in scopes.values() if s is not None}
    if "mixed" in known or len(known) > 1:
        said = ", ".join(f"{label} counts it in {scope if scope != 'mixed' else 'both modes among its rows'}"
                         for label, scope in scopes.items() if scope)
        raise BadInput(f"--metric {quote(metric)}: {said} (counters_user_only; kernel counting refused by "
                       "perf_event_paranoid): not the same quantity, run both sides with the same privileges")


def _counters_reason(side: Side) -> str:
    modes = sorted(set(side.results.frame.get("counters_mode", pd.Series(dtype=str)).astype(str)) - {""})
    return f" (counters mode {', '.join(clean(m) for m in modes) or 'unknown'})"


# --- running the comparison ------------------------------------------------------------

@dataclass
class Outcome:
    base: Side
    current: Side
    primary: Comparison
    companions: List[Comparison]             # shown beside the primary: time, instructions
    notes: List[str] = field(default_factory=list)        # what is missing or unavailable, said plainly
    env_changes: List[Tuple[str, str, str, str]] = field(default_factory=list)
    env_notes: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    not_compared: Dict[str, Dict[str, int]] = field(default_factory=dict)   # side -> status -> rows
    missing_detail: Dict[tuple, str] = field(default_factory=dict)         # case key -> why it is one-sided

    @property
    def exit_status(self) -> int:
        return EXIT_REGRESSION if self.primary.count(compare.REGRESSION) else EXIT_OK

    def comparisons(self) -> List[Comparison]:
        return [self.primary] + self.companions


def _status_counts(frame: pd.DataFrame) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for status, n in frame["status"].value_counts().items():
        counts[str(status)] = int(n)
    bad_valid = int(((frame["status"] == schema.STATUS_OK) & (frame["valid"] == 0)).sum())
    if bad_valid:
        counts["ok but valid=0"] = bad_valid
        counts[schema.STATUS_OK] -= bad_valid
    return counts


def _why_missing(side: Side, name: str, metric: str) -> str:
    rows = side.results.frame[side.results.frame["name"] == name]
    if rows.empty:
        return f"not run in {side.label}"
    counts = {k: v for k, v in _status_counts(rows).items() if k != schema.STATUS_OK}
    if counts:
        return f"{side.label} has no usable row (" + ", ".join(f"{n} {clean(s)}" for s, n in counts.items()) + ")"
    return f"{side.label} has no value of {metric}"


def _instructions_unavailable(sides: Sequence[Side]) -> str:
    parts = []
    for side in sides:
        if compare.INSTRUCTIONS not in side.ok or not np.isfinite(side.ok[compare.INSTRUCTIONS]).any():
            parts.append(f"{side.label}: {_counters_reason(side)[2:-1]}")
    return ("instruction counters were unavailable (" + "; ".join(parts) + "): no instructions column"
            if parts else "")


def run(base_paths: Sequence[str], current_paths: Sequence[str], metric: str = TIME,
        options: Options = Options()) -> Outcome:
    base, current = load_side(base_paths, "BASE"), load_side(current_paths, "CURRENT")
    from mapbench_cli import paired_compare; paired_compare.refuse_interleaved((base, current))  # paired hook
    direction = check_metric(metric, (base, current))
    check_counter_scope(metric, (base, current))
    b, c = compare.blocks_by_case(base.ok, metric), compare.blocks_by_case(current.ok, metric)
    if not set(b) & set(c):
        raise BadInput(f"no case in common: BASE has {len(b)} case{'s' if len(b) != 1 else ''}"
                       f"{' (e.g. ' + quote(next(iter(b))[0]) + ')' if b else ''}, CURRENT has {len(c)}"
                       f"{' (e.g. ' + quote(next(iter(c))[0]) + ')' if c else ''}")
    primary = compare.compare_blocks(b, c, metric, options, direction)
    outcome = Outcome(base, current, primary, [])

    # Companions: time and instructions beside the primary metric, over the same cases.
    keep = set(zip(primary.table["name"], primary.table["threads"]))
    for companion in COMPANIONS:
        if companion == metric or (companion == CPU_TIME and CPU_TIME not in base.ok):
            continue
        if companion == compare.INSTRUCTIONS:
            reason = _instructions_unavailable((base, current))
            if not reason:
                try:
                    check_counter_scope(companion, (base, current))
                except BadInput as e:
                    reason = f"instructions not compared: {e}"
            if reason:
                outcome.notes.append(reason)
                continue
        cb = {k: v for k, v in compare.blocks_by_case(base.ok, companion).items() if k in keep}
        cc = {k: v for k, v in compare.blocks_by_case(current.ok, companion).items() if k in keep}
        if set(cb) & set(cc):
            outcome.companions.append(compare.compare_blocks(cb, cc, companion, options))

    single = primary.table[primary.table["unit"] == compare.REPETITION]
    if len(single) and options.unit == compare.AUTO:
        outcome.notes.append(
            f"{len(single)} case{'s' if len(single) != 1 else ''} had a single process on a side: their repetitions "
            "were tested as if independent, which understates the noise between processes and makes p-values "
            "optimistic (run with --processes N, N >= 3)")
    elif options.unit == compare.REPETITION:
        outcome.notes.append("--unit repetition: repetitions of one process were tested as if independent; "
                             "p-values are optimistic when processes differ (see `mapbench power`)")

    if metric != TIME:
        everywhere = set(compare.blocks_by_case(base.ok, TIME)) & set(compare.blocks_by_case(current.ok, TIME))
        neither = [k for k in everywhere if k not in b and k not in c]
        if neither:
            outcome.notes.append(f"{len(neither)} case{'s' if len(neither) != 1 else ''} on both sides "
                                 f"{'have' if len(neither) != 1 else 'has'} no value of {metric} (e.g. "
                                 f"{compare.case_label(*sorted(neither)[0])}): not compared")
    for other, keys in ((current, primary.only_base), (base, primary.only_current)):
        for key in keys:
            outcome.missing_detail[key] = _why_missing(other, key[0], metric)
    for side in (base, current):
        counts = {k: v for k, v in _status_counts(side.results.frame).items() if k != schema.STATUS_OK}
        if counts:
            outcome.not_compared[side.label] = counts
        # Rows without a value inside cases that were compared (whole cases without are noted above).
        threads = side.ok["threads"].astype(float).fillna(1.0)
        compared = pd.Series([k in keep for k in zip(side.ok["name"], threads)], index=side.ok.index, dtype=bool)
        dropped = int((side.ok[metric].isna() & compared).sum())
        if dropped:
            outcome.warnings.append(f"{side.label}: {dropped} ok row{'s' if dropped != 1 else ''} of compared cases "
                                    f"without a value of {metric} left out")
        outcome.warnings += [f"{side.label}: {w}" for w in side.results.warnings]
        missing_env = [r for r in side.results.runs if r.environment is None]
        if missing_env:
            outcome.env_notes.append(f"{side.label}: environment unknown for {len(missing_env)} of "
                                     f"{len(side.results.runs)} run{'s' if len(side.results.runs) != 1 else ''} "
                                     "(no readable environment.json): changes cannot be checked there")
        _, own = environment.merged(side.envs)
        watched_own = sorted(k for k in own if environment.watched_label(k))
        if watched_own:
            outcome.env_notes.append(f"{side.label}'s runs differ among themselves in "
                                     f"{', '.join(watched_own[:6])}{' …' if len(watched_own) > 6 else ''}")
    outcome.env_changes = environment.watched_changes(base.envs, current.envs)
    return outcome


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
    if "pair" in units:  # paired hook: the arms of one interleaved run (paired_compare.py)
        from mapbench_cli import paired_compare; return paired_compare.settings_text(o, tested)  # paired hook
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


def write_csv(outcome: Outcome, path: Path) -> None:
    csv_frame(outcome).to_csv(path, index=False, float_format="%.10g")


# --- plot -----------------------------------------------------------------------------------

VERDICT_COLOURS = {compare.REGRESSION: "#c0392b", compare.IMPROVEMENT: "#1e8449",
                   compare.UNCHANGED: "#7f7f7f", compare.INCONCLUSIVE: "#d68910"}


def plot(outcome: Outcome, path: Path) -> None:
    from mapbench_cli import figures
    p = outcome.primary
    table = p.table
    drop = common_parts(list(table["case"]))
    finite = table[np.isfinite(table["ratio"]) & (table["ratio"] > 0)]
    labels = [shorten(c, drop) for c in finite["case"]]
    values = [figures.Value(r, lo if lo > 0 else r, hi if math.isfinite(hi) else r)
              for r, lo, hi in zip(finite["ratio"], finite["ratio_ci_low"], finite["ratio_ci_high"])]
    notes = []
    left_out = len(table) - len(finite)
    if left_out:
        notes.append(f"{left_out} case{'s' if left_out != 1 else ''} with a ratio of 0 or ∞ not drawn (see the table)")
    if drop:
        notes.append("common to every case: " + "/".join(drop))
    col = schema.describe(p.metric)
    better = "left" if p.direction == schema.LOWER else "right"
    kind = "Hodges–Lehmann" if "pair" in p.units else "bootstrap"  # paired hook: interleaved arms' intervals
    notes.append(f"{p.options.confidence:.0%} {kind} intervals; grey band: ±{p.options.threshold:.0%} threshold; "
                 f"{better} of 1 is better ({col.direction} {short_label(p.metric)} is better)")
    notes.append(f"BASE: {', '.join(outcome.base.run_ids[:3])}  CURRENT: {', '.join(outcome.current.run_ids[:3])}")
    spec = figures.RatioChart(
        title=f"mapbench compare: {short_label(p.metric)}, CURRENT / BASE — {headline(outcome)}",
        xlabel=f"ratio of medians CURRENT / BASE ({p.metric})",
        labels=labels, values=values,
        colours=[VERDICT_COLOURS.get(v, "#333333") for v in finite["verdict"]],
        band=(1 / (1 + p.options.threshold), 1 + p.options.threshold),
        legend={v: VERDICT_COLOURS[v] for v in compare.VERDICTS if v in set(finite["verdict"])},
        notes=notes)
    fig = figures.ratio_chart(spec)
    fmt = path.suffix.lower().lstrip(".")
    figures.save(fig, path.parent, path.stem, formats=[fmt])


PLOT_FORMATS = ("png", "svg", "pdf")


def check_output(path: Optional[str], what: str, suffixes: Sequence[str] = ()) -> Optional[Path]:
    if path is None:
        return None
    out = Path(path)
    if out.is_dir():
        raise BadInput(f"{what} {show(out)}: is a folder; give a file name")
    if suffixes and out.suffix.lower().lstrip(".") not in suffixes:
        raise BadInput(f"{what} {show(out)}: unknown format; use a name ending in "
                       + ", ".join("." + s for s in suffixes))
    if not out.parent.is_dir():
        raise BadInput(f"{what} {show(out)}: the folder {show(out.parent)} does not exist")
    return out


def write_outputs(outcome: Outcome, markdown_path: Optional[Path], csv_path: Optional[Path],
                  plot_path: Optional[Path], title: str = "mapbench compare") -> List[Path]:
    written = []
    try:
        if markdown_path:
            markdown_path.write_text(markdown(outcome, title), encoding="utf-8")
            written.append(markdown_path)
        if csv_path:
            write_csv(outcome, csv_path)
            written.append(csv_path)
        if plot_path:
            plot(outcome, plot_path)
            written.append(plot_path)
    except OSError as e:
        raise BadInput(f"cannot write {show(getattr(e, 'filename', '') or 'an output')}: {e.strerror or e}") from None
    return written


def compare_command(base: Sequence[str], current: Sequence[str], metric: str, options: Options,
                    markdown_path: Optional[str] = None, csv_path: Optional[str] = None,
                    plot_path: Optional[str] = None, say: Callable[[str], None] = print) -> int:
    md = check_output(markdown_path, "--markdown")
    cs = check_output(csv_path, "--csv")
    pl = check_output(plot_path, "--plot", PLOT_FORMATS)
    outcome = run(base, current, metric, options)
    for line in terminal(outcome):
        say(line)
    for path in write_outputs(outcome, md, cs, pl):
        say(f"wrote {show(path)}")
    return outcome.exit_status
