"""The statistics of `compare`: per case, CURRENT against BASE. Nothing here prints or draws.

A case is a name and its thread count; every repetition of every process and every run
of a side belongs to it. Its samples come in *blocks*: the repetitions of one process
(one `(run_id, process)` pair). Repetitions inside one process share that process's
luck — its physical pages, huge pages or not, where the scheduler put it, the load on
the machine while it ran — so they are not independent draws: measured on the
development VM, the medians of different processes of one case spread 1.37x (max/min)
while repetitions inside a process spread 1.13x. A test that treats 5 repetitions x 3
processes as 15 independent samples flagged a third of the cases of an A/A comparison.

So, per case:

- the *unit* of the test is the process: each block is summarised by its median and the
  two sides' process medians are compared (`unit="process"`, the default whenever each
  side has at least two processes of the case); with a single process per side the
  repetitions are the only samples left (`unit="repetition"`), which understates the
  noise and is said so;
- the two-sided Mann–Whitney U test on those units (no normality assumed; robust to the
  long right tail of timings; exact for small samples without ties);
- Benjamini–Hochberg adjustment of the p-values over the cases compared, so that a suite
  of many cases does not raise false alarms by sheer number;
- the ratio of medians CURRENT/BASE (medians of all repetitions pooled) with a seeded
  percentile-bootstrap interval that resamples whole processes (a cluster bootstrap) —
  or repetitions when they are the unit;
- a verdict. A case is a *regression* only when its adjusted p-value is below alpha AND
  it is worse by more than the threshold in the metric's direction (time x(1+t), or
  throughput /(1+t)); an *improvement* likewise the other way. Otherwise *unchanged*
  (significant but within the threshold, or not significant with the whole interval
  inside the +-threshold band) or *inconclusive* (fewer than 3 units per side, too few to
  ever reach significance, or not significant while the interval reaches past the
  threshold: the data cannot tell).

The direction of a metric comes from schema.direction (the column-suffix rule).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from mapbench_cli.data import schema
from mapbench_cli.stats import summary as stats

REGRESSION = "regression"
IMPROVEMENT = "improvement"
UNCHANGED = "unchanged"
INCONCLUSIVE = "inconclusive"
VERDICTS = (REGRESSION, IMPROVEMENT, INCONCLUSIVE, UNCHANGED)

PROCESS = stats.PROCESS
REPETITION = stats.REPETITION
AUTO = "auto"
UNITS = (AUTO, PROCESS, REPETITION)

MIN_SAMPLES = 3

# The sum of user and kernel instructions per operation: the stable counter on noisy machines.
INSTRUCTIONS = "instructions_per_op"
INSTRUCTION_PARTS = ("instructions_user_per_op", "instructions_kernel_per_op")


@dataclass(frozen=True)
class Options:
    threshold: float = 0.05      # fraction: 0.05 = worse by more than 5 %
    alpha: float = 0.05          # on the BH-adjusted p-value
    confidence: float = 0.95     # of the ratio's interval
    resamples: int = 2000        # bootstrap resamples per case
    seed: int = 0
    min_samples: int = MIN_SAMPLES   # units per side
    unit: str = AUTO


CaseKey = Tuple[str, float]          # (name, threads)
Blocks = List[np.ndarray]            # one array of repetitions per process


def case_label(name: str, threads: float) -> str:
    """The case as shown: its name, plus the thread count when > 1 and not already in the name."""
    if isinstance(threads, float) and math.isfinite(threads) and threads > 1 and "threads:" not in name:
        return f"{name} ×{threads:g} threads"
    return name


def with_instructions(frame: pd.DataFrame) -> pd.DataFrame:
    """Adds instructions_per_op = user + kernel instructions per op where both are present."""
    if INSTRUCTIONS in frame or not all(c in frame for c in INSTRUCTION_PARTS):
        return frame
    frame = frame.copy()
    frame[INSTRUCTIONS] = frame[INSTRUCTION_PARTS[0]] + frame[INSTRUCTION_PARTS[1]]
    return frame


def blocks_by_case(frame: pd.DataFrame, metric: str) -> Dict[CaseKey, Blocks]:
    """Finite values of `metric` per case, one array per (run, process), in row order.

    Rows are filtered by the caller (usable rows only). A CSV without a `process` column
    (runs made before --processes existed) counts as one process per run."""
    out: Dict[CaseKey, Blocks] = {}
    if metric not in frame or frame.empty:
        return out
    index = frame.index
    data = pd.DataFrame({
        "name": frame["name"],
        "threads": frame["threads"].astype(float).fillna(1.0) if "threads" in frame else pd.Series(1.0, index=index),
        "run": frame["run_id"].astype(str) if "run_id" in frame else pd.Series("", index=index),
        "process": frame["process"].astype(float).fillna(0.0) if "process" in frame else pd.Series(0.0, index=index),
        "v": frame[metric].astype(float),
    })
    data = data[np.isfinite(data["v"])]
    for (name, threads), part in data.groupby(["name", "threads"], sort=False):
        blocks = [b["v"].to_numpy(dtype=float) for _, b in part.groupby(["run", "process"], sort=False)]
        out[(str(name), float(threads))] = blocks
    return out


def samples_by_case(frame: pd.DataFrame, metric: str) -> Dict[CaseKey, np.ndarray]:
    """Every finite value of `metric` per case, pooled."""
    return {k: np.concatenate(b) for k, b in blocks_by_case(frame, metric).items()}


def choose_unit(base: Blocks, current: Blocks, requested: str = AUTO) -> str:
    """The process when both sides have at least two of them (or when asked), else the repetition."""
    if requested in (PROCESS, REPETITION):
        return requested
    return PROCESS if len(base) >= 2 and len(current) >= 2 else REPETITION


def unit_values(blocks: Blocks, unit: str) -> np.ndarray:
    """What the test compares: one median per process, or every repetition."""
    if unit == PROCESS:
        return np.array([np.median(b) for b in blocks], dtype=float)
    return np.concatenate(blocks).astype(float)


# --- the pieces -------------------------------------------------------------------------

def ratio(current: float, base: float) -> float:
    """current/base, with 0/0 = 1 (nothing changed) and x/0 = inf."""
    if base == 0:
        return 1.0 if current == 0 else math.inf
    return current / base


# The ratio of medians and its cluster-bootstrap interval live in stats/summary.py (crossover uses
# them too); these names are compare's own.
_ratios = stats.ratios
case_rng = stats.seeded_rng
_resampled_medians = stats.resampled_medians
ratio_interval = stats.ratio_interval


def mann_whitney_p(base: Sequence[float], current: Sequence[float]) -> float:
    """Two-sided Mann–Whitney U p-value; 1 when every value on both sides is the same."""
    from scipy.stats import mannwhitneyu  # late: scipy is slow to import

    x, y = np.asarray(base, float), np.asarray(current, float)
    if np.all(x == x[0]) and np.all(y == x[0]):
        return 1.0
    return float(mannwhitneyu(x, y, alternative="two-sided").pvalue)


def mann_whitney_p_many(base: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Row-wise two-sided Mann–Whitney U p-values of two 2-D arrays (trials x samples)."""
    from scipy.stats import mannwhitneyu

    base, current = np.atleast_2d(base), np.atleast_2d(current)
    p = np.asarray(mannwhitneyu(base, current, alternative="two-sided", axis=1).pvalue, dtype=float)
    first = base[:, :1]
    constant = np.all(base == first, axis=1) & np.all(current == first, axis=1)
    return np.where(constant, 1.0, p)


def smallest_p(n_base: int, n_current: int) -> float:
    """The smallest two-sided Mann–Whitney p-value samples of these sizes can give (complete
    separation, exact test): 2 / C(n1 + n2, n1)."""
    if n_base < 1 or n_current < 1:
        return 1.0
    return min(1.0, 2.0 / math.comb(n_base + n_current, n_base))


def benjamini_hochberg(p_values: Iterable[float]) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (step-up, monotone, capped at 1); NaN stays NaN."""
    p = np.asarray(list(p_values) if not isinstance(p_values, np.ndarray) else p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    finite = np.isfinite(p)
    if finite.any():
        out[finite] = benjamini_hochberg_rows(p[finite][None, :])[0]
    return out


def benjamini_hochberg_rows(p_values: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg over each row of a 2-D array of finite p-values, vectorised."""
    p = np.atleast_2d(np.asarray(p_values, dtype=float))
    m = p.shape[1]
    order = np.argsort(p, axis=1, kind="mergesort")
    scaled = np.take_along_axis(p, order, axis=1) * m / np.arange(1, m + 1)
    scaled = np.minimum(np.minimum.accumulate(scaled[:, ::-1], axis=1)[:, ::-1], 1.0)
    out = np.empty_like(scaled)
    np.put_along_axis(out, order, scaled, axis=1)
    return out


def worse_factor(r: float, direction: str) -> float:
    """How many times worse CURRENT is (> 1 worse, < 1 better): the ratio, or its inverse
    for a higher-is-better metric."""
    return float(worse_factors(np.array([r]), direction)[0])


def worse_factors(ratios: np.ndarray, direction: str) -> np.ndarray:
    r = np.asarray(ratios, dtype=float)
    if direction == schema.HIGHER:
        with np.errstate(divide="ignore"):
            return np.where(r == 0, np.inf, 1.0 / r)
    return r


def verdict_codes(p_adjusted: np.ndarray, median_current: np.ndarray, median_base: np.ndarray, direction: str,
                  options: Options) -> np.ndarray:
    """+1 regression, -1 improvement, 0 neither — the rule of `decide`, vectorised over cases."""
    worse = worse_factors(_ratios(np.asarray(median_current, float), np.asarray(median_base, float)), direction)
    significant = np.asarray(p_adjusted) < options.alpha
    codes = np.zeros(worse.shape, dtype=int)
    codes[significant & (worse > 1 + options.threshold)] = 1
    codes[significant & (worse < 1 / (1 + options.threshold))] = -1
    return codes


def decide(p_adjusted: float, r: float, interval: Tuple[float, float], direction: str, options: Options,
           n_base: int, n_current: int, unit: str = PROCESS) -> Tuple[str, str]:
    """(verdict, note) for one case; n_* count the units of the test."""
    t = options.threshold
    units = "processes" if unit == PROCESS else "samples"
    if n_base < options.min_samples or n_current < options.min_samples:
        return INCONCLUSIVE, (f"too few {units} ({n_base} BASE, {n_current} CURRENT; "
                              f"need {options.min_samples} per side)")
    code = int(verdict_codes(np.array([p_adjusted]), np.array([r]), np.array([1.0]), direction, options)[0])
    if code == 1:
        return REGRESSION, ""
    if code == -1:
        return IMPROVEMENT, ""
    if p_adjusted < options.alpha:
        return UNCHANGED, f"significant, but within the {t:.0%} threshold"
    floor = smallest_p(n_base, n_current)
    if floor >= options.alpha:
        return INCONCLUSIVE, (f"too few {units} to be significant: with {n_base} and {n_current} the smallest "
                              f"possible p is {floor:.3f}")
    low, high = interval
    if 1 / (1 + t) <= low and high <= 1 + t:
        return UNCHANGED, ""
    return INCONCLUSIVE, f"not significant; the interval reaches past ±{t:.0%}"


# --- the comparison ---------------------------------------------------------------------

COLUMNS = ("case", "name", "threads", "unit", "n_base", "n_current", "samples_base", "samples_current",
           "median_base", "base_ci_low", "base_ci_high", "median_current", "current_ci_low", "current_ci_high",
           "ratio", "ratio_ci_low", "ratio_ci_high", "worse_factor", "p_value", "p_adjusted", "verdict", "note")


@dataclass
class Comparison:
    metric: str
    direction: str
    options: Options
    table: pd.DataFrame              # one row per case present on both sides, COLUMNS
    only_base: List[CaseKey]         # cases with samples in BASE only
    only_current: List[CaseKey]

    @property
    def tested(self) -> int:
        return int(self.table["p_value"].notna().sum())

    def count(self, verdict: str) -> int:
        return int((self.table["verdict"] == verdict).sum())

    @property
    def units(self) -> List[str]:
        return sorted(set(self.table["unit"]))


def _as_blocks(value) -> Blocks:
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return [value.astype(float)]
    return [np.asarray(b, dtype=float) for b in value]


def compare_blocks(base: Mapping[CaseKey, Blocks], current: Mapping[CaseKey, Blocks], metric: str,
                   options: Options = Options(), direction: Optional[str] = None) -> Comparison:
    """Compare two {case: blocks} maps (cases in BASE's order). A plain 1-D array counts as a
    single block (one process)."""
    direction = direction or schema.direction(metric)
    if direction is None:
        raise ValueError(f"{metric} has no direction (not an outcome)")
    both = [k for k in base if k in current]
    rows = []
    for key in both:
        xb, yb = _as_blocks(base[key]), _as_blocks(current[key])
        x, y = np.concatenate(xb), np.concatenate(yb)
        label = case_label(*key)
        unit = choose_unit(xb, yb, options.unit)
        ux, uy = unit_values(xb, unit), unit_values(yb, unit)
        row = dict(case=label, name=key[0], threads=key[1], unit=unit, n_base=int(ux.size), n_current=int(uy.size),
                   samples_base=int(x.size), samples_current=int(y.size))
        for side, v in (("base", x), ("current", y)):
            interval = stats.median_ci(v, options.confidence)
            row[f"median_{side}"] = float(np.median(v))
            row[f"{side}_ci_low"], row[f"{side}_ci_high"] = interval.low, interval.high
        r = ratio(row["median_current"], row["median_base"])
        low, high = ratio_interval(xb, yb, options.confidence, options.resamples, case_rng(options.seed, label), unit)
        enough = ux.size >= options.min_samples and uy.size >= options.min_samples
        row.update(ratio=r, ratio_ci_low=low, ratio_ci_high=high, worse_factor=worse_factor(r, direction),
                   p_value=mann_whitney_p(ux, uy) if enough else math.nan)
        rows.append(row)
    table = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in ("p_adjusted", "verdict", "note")])
    table["p_adjusted"] = benjamini_hochberg(table["p_value"].to_numpy(dtype=float)) if rows else []
    verdicts = [decide(r.p_adjusted, r.ratio, (r.ratio_ci_low, r.ratio_ci_high), direction, options,
                       r.n_base, r.n_current, r.unit) for r in table.itertuples()]
    table["verdict"] = [v for v, _ in verdicts]
    table["note"] = [n for _, n in verdicts]
    return Comparison(metric, direction, options, table[list(COLUMNS)],
                      [k for k in base if k not in current], [k for k in current if k not in base])


# Samples without process structure (tests, synthetic data): each side one block.
def compare_samples(base: Mapping[CaseKey, Sequence[float]], current: Mapping[CaseKey, Sequence[float]],
                    metric: str, options: Options = Options(), direction: Optional[str] = None) -> Comparison:
    return compare_blocks({k: [np.asarray(v, float)] for k, v in base.items()},
                          {k: [np.asarray(v, float)] for k, v in current.items()}, metric, options, direction)
