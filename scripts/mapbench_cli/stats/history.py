"""`history`: many runs of the same cases over time, each case's trend and its steps.

Loads every run (one per commit, kernel or day), orders them (by `run.start_time` in
environment.json, or as given), summarises each case per run (median and the order-
statistics interval of the median over its repetitions, as plot does) and looks for steps
with stats/changepoint.py; the candidate steps of every case are adjusted together by
Benjamini-Hochberg. Unusable input raises BadInput. No printing, no drawing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mapbench_cli.data import schema
from mapbench_cli.data.runs import BadInput
from mapbench_cli.stats import changepoint, compare, paired
from mapbench_cli.stats import summary as stats
from mapbench_cli.stats.outcome import Side, check_metric, load_side
from mapbench_cli.text.words import clean, show

ORDER_START, ORDER_GIVEN = "start", "given"
WORSE, BETTER = "worse", "better"


@dataclass
class Options:
    penalty: float = changepoint.DEFAULT_PENALTY
    alpha: float = 0.05
    threshold: float = 0.0          # a confirmed step smaller than this (as a ratio - 1) is not reported
    confidence: float = 0.95
    resamples: int = 1000
    seed: int = 0
    order: str = ORDER_START


@dataclass
class RunInfo:
    path: str
    run_id: str
    start: str                  # run.start_time, "" when not recorded
    commit: str                 # build.git_revision
    kernel: str                 # the kernel_release column, else kernel.release
    host: str                   # the host column, when the run has one

    @property
    def label(self) -> str:
        """What tells this run from its neighbours: its commit, kernel and host, when recorded."""
        parts = [p for p in (self.commit and f"git {self.commit[:12]}", self.kernel and f"kernel {self.kernel}",
                             self.host and f"host {self.host}") if p]
        return ", ".join(parts) or "(no commit or kernel recorded)"


@dataclass
class StepFound:
    step: changepoint.Step
    run: RunInfo                # the first run after the step
    previous: RunInfo           # the last run before it
    p_adjusted: float = math.nan
    direction: str = ""         # WORSE or BETTER for the metric
    reported: bool = False      # significant after BH and at least --threshold


@dataclass
class CaseHistory:
    key: Tuple[str, float]      # (name, threads)
    family: str
    runs: List[int]             # positions (in History.runs) of the runs that have the case
    medians: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    coverage: float             # the smallest coverage of the intervals
    sigma: float                # run-to-run noise on the log scale (changepoint.robust_sigma)
    steps: List[StepFound] = field(default_factory=list)

    @property
    def label(self) -> str:
        return compare.case_label(*self.key)

    @property
    def reported(self) -> List[StepFound]:
        return [s for s in self.steps if s.reported]

    def spread(self) -> float:
        """How much the case moved over the runs: log(max/min) of its medians."""
        m = self.medians[self.medians > 0]
        return float(np.log(m.max() / m.min())) if m.size > 1 else 0.0


@dataclass
class History:
    metric: str
    direction: str
    runs: List[RunInfo]
    cases: List[CaseHistory]
    options: Options
    notes: List[str] = field(default_factory=list)

    @property
    def steps(self) -> List[Tuple[CaseHistory, StepFound]]:
        return [(c, s) for c in self.cases for s in c.reported]


def _first(frame, column: str) -> str:
    if column not in frame:
        return ""
    values = [v for v in frame[column].astype(str).str.strip() if v and v.lower() != "nan"]
    return values[0] if values else ""


def _get(env: Optional[dict], *keys: str) -> str:
    value = env
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return str(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else ""


def run_info(path: str, side: Side) -> RunInfo:
    env = side.envs[0] if side.envs else None
    frame = side.results.frame
    run_id = _get(env, "run", "run_id") or (side.run_ids[0] if side.run_ids else show(path))
    return RunInfo(path=str(path), run_id=clean(run_id), start=clean(_get(env, "run", "start_time")),
                   commit=clean(_get(env, "build", "git_revision")),
                   kernel=clean(_first(frame, "kernel_release") or _get(env, "kernel", "release")),
                   host=clean(_first(frame, "host")))


def _start_key(info: RunInfo) -> datetime:
    try:
        return datetime.fromisoformat(info.start.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"{show(info.path)}: run.start_time {info.start!r} is not an ISO time; "
                       "give --order given to keep the order of the command line") from None


def order_runs(pairs: List[Tuple[RunInfo, Side]], order: str) -> List[Tuple[RunInfo, Side]]:
    if order == ORDER_GIVEN:
        return pairs
    missing = [info for info, _ in pairs if not info.start]
    if missing:
        raise BadInput(f"{show(missing[0].path)}: no run.start_time in its environment.json; "
                       "give --order given to order the runs as on the command line")
    return sorted(pairs, key=lambda p: _start_key(p[0]))  # stable: equal times keep the given order


def refuse_mixed(side: Side) -> None:
    """BadInput for an interleaved run: its rows mix the knob's values, case by case."""
    if paired.is_interleaved(side.results.frame):
        raise BadInput(f"{side.label} is an interleaved run: its rows mix the values of one knob; "
                       "compare its arms with `mapbench compare RUN`")


def load(paths: Sequence[str], metric: str, order: str = ORDER_START) -> Tuple[str, List[Tuple[RunInfo, Side]]]:
    if len(paths) < 2:
        raise BadInput(f"history needs at least 2 runs, got {len(paths)}")
    pairs = []
    for i, path in enumerate(paths):
        side = load_side([path], f"run {i + 1} ({show(path)})")
        refuse_mixed(side)
        pairs.append((run_info(path, side), side))
    direction = check_metric(metric, [s for _, s in pairs])
    ids: Dict[str, str] = {}
    for info, _ in pairs:
        if info.run_id in ids:
            raise BadInput(f"{show(info.path)} and {show(ids[info.run_id])} are the same run ({info.run_id})")
        ids[info.run_id] = info.path
    return direction, order_runs(pairs, order)


def _unit(runs: Sequence[Sequence[np.ndarray]]) -> str:
    """Per-process medians when every run of the case has at least two processes, else repetitions."""
    return compare.PROCESS if all(len(r) >= 2 for r in runs) else compare.REPETITION


def build(metric: str, direction: str, pairs: List[Tuple[RunInfo, Side]], options: Options) -> History:
    infos = [info for info, _ in pairs]
    per_run = [compare.blocks_by_case(side.ok, metric) for _, side in pairs]
    families: Dict[Tuple[str, float], str] = {}
    for _, side in pairs:
        for name, threads, family in zip(side.ok["name"], side.ok["threads"].astype(float).fillna(1.0),
                                         side.ok["family"]):
            families.setdefault((str(name), float(threads)), str(family))
    keys = list(dict.fromkeys(k for blocks in per_run for k in blocks))
    history = History(metric, direction, infos, [], options)
    short = 0
    for key in keys:
        present = [i for i, blocks in enumerate(per_run) if key in blocks]
        if len(present) < changepoint.MIN_RUNS:
            short += 1
            continue
        runs = [per_run[i][key] for i in present]
        pooled = [np.concatenate(r) for r in runs]
        intervals = [stats.median_ci(x, options.confidence) for x in pooled]
        rng = stats.seeded_rng(options.seed, compare.case_label(*key))
        steps, sigma = changepoint.detect(runs, options.penalty, options.confidence, options.resamples, rng,
                                          _unit(runs))
        case = CaseHistory(key, families.get(key, key[0].split("/")[0]), present,
                           np.array([np.median(x) for x in pooled]), np.array([i.low for i in intervals]),
                           np.array([i.high for i in intervals]), min(i.coverage for i in intervals), sigma)
        case.steps = [StepFound(s, infos[present[s.index]], infos[present[s.index - 1]]) for s in steps]
        history.cases.append(case)
    if short:
        history.notes.append(f"{short} case{'s' if short != 1 else ''} in fewer than {changepoint.MIN_RUNS} runs "
                             "left out (no history to segment)")
    if not history.cases:
        raise BadInput(f"no case has a value of {metric} in {changepoint.MIN_RUNS} or more of the runs")
    _adjust(history)
    return history


def _adjust(history: History) -> None:
    """Benjamini-Hochberg over every candidate step of every case; direction from the schema."""
    found = [s for c in history.cases for s in c.steps]
    adjusted = compare.benjamini_hochberg([s.step.p_value for s in found])
    for s, p in zip(found, adjusted):
        s.p_adjusted = float(p)
        worse = s.step.ratio > 1 if history.direction == schema.LOWER else s.step.ratio < 1
        s.direction = WORSE if worse else BETTER
        big = abs(math.log(s.step.ratio)) >= math.log1p(history.options.threshold) if s.step.ratio > 0 else True
        s.reported = bool(np.isfinite(p) and p < history.options.alpha and big)


def run(paths: Sequence[str], metric: str = "ns_per_op", options: Optional[Options] = None) -> History:
    options = options or Options()
    direction, pairs = load(paths, metric, options.order)
    history = build(metric, direction, pairs, options)
    history.notes += [w for _, side in pairs for w in side.results.warnings]
    return history


def ranked(history: History) -> List[CaseHistory]:
    """Cases with a reported step first (largest step first), then by how much they moved."""
    def key(case: CaseHistory):
        biggest = max((abs(math.log(s.step.ratio)) for s in case.reported if s.step.ratio > 0), default=-1.0)
        return (-biggest, -case.spread())
    return sorted(history.cases, key=key)
