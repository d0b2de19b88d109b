"""A comparison of two sides, ready to present: both sides loaded and checked, the metric
compared with its companions (time, CPU time, instructions), what is missing said plainly.

stats/compare.py computes; this module gathers its inputs and its notes. Unusable input
raises BadInput (one line). No printing, no drawing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Collection, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from mapbench_cli.stats import compare, paired, work
from mapbench_cli.data import environment
from mapbench_cli.data import schema
from mapbench_cli.stats.compare import Comparison, Options
from mapbench_cli.data.runs import BadInput, Results, load_runs
from mapbench_cli.data.frames import with_normalised, with_throughput
from mapbench_cli.text.words import clean, quote, show


TIME = "ns_per_op"
CPU_TIME = "cpu_ns_per_op"
STEAL = "steal_fraction"
HEAVY_STEAL = 0.05   # a row with more is said to have been measured under steal
# Shown beside the compared metric: wall time, CPU time (steadier on a loaded machine: it
# leaves out the time spent waiting for a CPU) and instructions (steadier still, when counted).
COMPANIONS = (TIME, CPU_TIME, compare.INSTRUCTIONS)
EXIT_OK, EXIT_REGRESSION, EXIT_BAD_INPUT = 0, 1, 2


# --- input ------------------------------------------------------------------------------

@dataclass
class Side:
    label: str                 # "BASE" or "CURRENT"
    paths: List[str]
    results: Results
    ok: pd.DataFrame           # usable rows, with derived columns
    steal_dropped: int = 0     # ok rows left out by --max-steal

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
    """bytes_per_second where a row left it empty (as plot does), instructions_per_op and
    the time normalised by the calibration (ns_per_op_per_ceiling)."""
    return with_normalised(compare.with_instructions(with_throughput(frame)))  # as plot derives it


def load_side(paths: Sequence[str], label: str, max_steal: Optional[float] = None) -> Side:
    try:
        results = load_runs(paths)
    except BadInput as e:
        raise BadInput(f"{label}: {e}") from None
    return side_of(results, paths, label, max_steal)


def side_of(results: Results, paths: Sequence[str], label: str, max_steal: Optional[float] = None) -> Side:
    """A side from loaded results: the usable rows with derived columns, steal left out."""
    ok = _derived(results.ok)
    dropped = 0
    if max_steal is not None and STEAL in ok:
        stolen = ok[STEAL].astype(float) > max_steal
        dropped = int(stolen.sum())
        ok = ok[~stolen]
    return Side(label, [str(p) for p in paths], results, ok, dropped)


def families_of(side: Side, families: Collection[str], max_steal: Optional[float] = None,
                keep_warnings: bool = True) -> Side:
    """The side's rows of these families only (compare by headline: one group of families at a time)."""
    frame = side.results.frame
    return rows_of(side, frame["family"].astype(str).isin(families), side.label, side.paths, max_steal, keep_warnings)


def rows_of(side: Side, mask: pd.Series, label: str, paths: Sequence[str], max_steal: Optional[float] = None,
            keep_warnings: bool = True) -> Side:
    """A side of the rows `mask` selects from `side`'s, with the runs they came from."""
    frame = side.results.frame[mask]
    ids = set(frame["run_id"].astype(str))
    runs = [r for r in side.results.runs if ids & set(r.run_ids)] or side.results.runs
    part = Results(frame, runs, list(side.results.warnings) if keep_warnings else [])
    return side_of(part, paths, label, max_steal)


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


def refuse_interleaved(sides: Sequence[Side]) -> None:
    """BadInput when BASE or CURRENT is an interleaved run: its arms are compared within the run
    (stats/paired_outcome.py)."""
    for side in sides:
        if paired.is_interleaved(side.results.frame):
            knob = environment.interleave_of(side.envs).get("knob") or "a knob"
            raise BadInput(f"{side.label} ({side.where()}) is an interleaved run (arms of {clean(knob)}): compare the "
                           f"arms of one run with `mapbench compare RUN`, not two runs")


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
    work_changes: pd.DataFrame = field(default_factory=pd.DataFrame)        # stats/work.py, over compared cases
    # The arms of one interleaved run (stats/paired_outcome.py): ((0, BASE's variant), (j, CURRENT's)).
    arms: Tuple[Tuple[int, str], ...] = ()

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
    base = load_side(base_paths, "BASE", options.max_steal)
    current = load_side(current_paths, "CURRENT", options.max_steal)
    refuse_interleaved((base, current))
    return compare_sides(base, current, metric, options)


def compare_sides(base: Side, current: Side, metric: str, options: Options) -> Outcome:
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
    machines = environment.machine_differences(*(
        {c: side.results.frame[c].astype(str).str.strip().tolist() for c in schema.IDENTITY_COLUMNS
         if c in side.results.frame} for side in (base, current)))
    if machines:
        outcome.env_notes.insert(0, machines)
    outcome.notes += steal_notes((base, current), options.max_steal)
    metrics = [m for m in work.work_metrics(base.ok.columns) if m in current.ok and m != metric]
    outcome.work_changes = work.changes(base.ok, current.ok, metrics, options.work_tolerance, keep)
    return outcome


def steal_notes(sides: Sequence[Side], max_steal: Optional[float]) -> List[str]:
    """How many rows were left out for steal (--max-steal), or ran under heavy steal."""
    notes = []
    for side in sides:
        if side.steal_dropped:
            notes.append(f"{side.label}: {side.steal_dropped} ok row{'s' if side.steal_dropped != 1 else ''} "
                         f"left out, measured while the host stole more than {max_steal:.0%} of the CPU time")
        elif max_steal is None and STEAL in side.ok:
            heavy = int((side.ok[STEAL].astype(float) > HEAVY_STEAL).sum())
            if heavy:
                notes.append(f"{side.label}: {heavy} of {len(side.ok)} ok rows were measured while the host stole "
                             f"more than {HEAVY_STEAL:.0%} of the CPU time (steal_fraction; --max-steal leaves "
                             "them out)")
    return notes
