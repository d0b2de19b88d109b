"""What compare tests when --metric is not given: each family's headline column, as its
benchmark declares it (Family::headline, environment.json "families"), or ns_per_op for a
family no run declares (runs recorded before the declaration).

The cases are compared in one group per headline column, each group with its own
Benjamini–Hochberg adjustment: the false-discovery rate holds among the cases of one
metric. What belongs to the sides rather than to a group (environment changes, loading
warnings) is reported once, with the first group.
"""

from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

from mapbench_cli.data.environment import declared_headlines
from mapbench_cli.data.runs import BadInput
from mapbench_cli.stats import outcome as two_runs, paired_outcome
from mapbench_cli.stats.compare import Options
from mapbench_cli.stats.outcome import Outcome, Side
from mapbench_cli.text.words import clean

DEFAULT = two_runs.TIME


def plan(sides: Sequence[Side]) -> List[Tuple[str, List[str]]]:
    """[(headline column, its families)], in the order the families first appear."""
    declared = declared_headlines(env for side in sides for env in side.envs)
    for family, columns in declared.items():
        if len(columns) > 1:
            raise BadInput(f"the runs declare different headline columns for {clean(family)} "
                           f"({', '.join(clean(c) for c in sorted(columns))}): choose one with --metric")
    groups: Dict[str, List[str]] = {}
    for side in sides:
        for family in side.results.frame["family"].dropna().astype(str).unique():
            column = next(iter(declared.get(family, {DEFAULT})))
            if family not in groups.setdefault(column, []):
                groups[column].append(family)
    return list(groups.items())


def describe(groups: Sequence[Tuple[str, List[str]]]) -> str:
    """'each family on its headline metric: ns_per_op (read_vs_mmap, page_size); steady_bytes_per_second (crossover)'."""
    return "each family on its headline metric: " + "; ".join(
        f"{clean(column)} ({', '.join(clean(f) for f in families)})" for column, families in groups)


def run(base_paths: Sequence[str], current_paths: Sequence[str], options: Options = Options()) -> List[Outcome]:
    """Two runs (or sets of runs), one Outcome per headline group that has a case on both sides."""
    base = two_runs.load_side(base_paths, "BASE")       # steal is left out per group, and counted there
    current = two_runs.load_side(current_paths, "CURRENT")
    two_runs.refuse_interleaved((base, current))
    return compare(base, current, options)


def compare(base: Side, current: Side, options: Options = Options()) -> List[Outcome]:
    """Two loaded sides (steal not yet left out), one Outcome per headline group with a case on both."""
    groups = plan((base, current))
    outcomes: List[Outcome] = []
    left_out: List[str] = []
    for column, families in groups:
        first = not outcomes
        b = two_runs.families_of(base, families, options.max_steal, keep_warnings=first)
        c = two_runs.families_of(current, families, options.max_steal, keep_warnings=first)
        lone = [side for side in (b, c) if side.results.frame.empty]
        if lone:
            other = c if lone[0] is b else b
            cases = other.results.frame["name"].nunique()
            left_out.append(f"{', '.join(families)}: {cases} case{'s' if cases != 1 else ''} only in {other.label}, "
                            "not compared")
            continue
        try:
            outcome = two_runs.compare_sides(b, c, column, options)
        except BadInput as e:
            left_out.append(f"{', '.join(families)} not compared on {column}: {e}")
            continue
        if not first:
            outcome.env_changes, outcome.env_notes = [], []
        outcomes.append(outcome)
    return _finish(outcomes, groups, left_out)


def _finish(outcomes: List[Outcome], groups: Sequence[Tuple[str, List[str]]], left_out: List[str]) -> List[Outcome]:
    """The outcomes, the first one saying how the cases were grouped and which group could not be compared."""
    if not outcomes:
        raise BadInput(left_out[0])
    if len(groups) > 1:
        outcomes[0].notes.append(describe(groups))
    outcomes[0].notes += left_out
    return outcomes


def paired_run(path: str, options: Options = Options()) -> List[Outcome]:
    """`compare RUN` on an interleaved run: the arms paired, one group per headline column."""
    groups = plan([two_runs.load_side([path], "RUN")])
    outcomes: List[Outcome] = []
    left_out: List[str] = []
    for column, families in groups:
        try:
            outcomes += paired_outcome.run(path, column, options, families, keep_warnings=not outcomes)
        except BadInput as e:
            left_out.append(f"{', '.join(families)} not compared on {column}: {e}")
    return _finish(outcomes, groups, left_out)
