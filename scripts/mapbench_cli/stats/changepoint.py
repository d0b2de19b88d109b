"""Change points in one case's history: PELT on the per-run medians, each step confirmed by a test.

The method (docs/history.md says why, what it assumes and how often it is wrong):

1. y_i = log(median of run i), i = 0..n-1, in the order of the runs. On a log scale a step is a
   ratio, the same for a 100 ns and a 100 ms case.
2. The noise between runs, sigma, is estimated robustly from the first differences:
   sigma = 1.4826 * MAD(diff(y)) / sqrt(2). A step moves one difference only, so it hardly
   moves the estimate; an outlying run moves two. A floor (SIGMA_FLOOR, 0.1 %) keeps a
   constant history from making every wiggle a step.
3. PELT (Killick, Fearnhead & Eckley 2012, "Optimal detection of changepoints with a linear
   computational cost", JASA 107:1590) finds the segmentation minimising
   sum over segments of sum (y - segment mean)^2 / sigma^2 + beta * (number of change points),
   exactly, with the pruning that keeps it near linear. beta = penalty * log(n); the Schwarz
   (BIC) penalty for a change in mean of a Gaussian with known variance is penalty = 2 (each
   change adds a location and a new mean). The default is twice that, 4: PELT picks the best
   split and the test then sees the same data, so with 2 about a quarter of pure-noise histories of
   30 runs had a false alarm; with 4, 2-6 % (docs/history.md has the measurements).
4. Each change point found is confirmed by a two-sided Mann-Whitney U test of the samples
   (repetitions, or per-process medians) of the segment before it against the segment after
   it; the p-values of every candidate of every case are adjusted together by Benjamini-
   Hochberg (the caller does that, over cases). A step is reported when the adjusted p-value
   is below alpha.
5. The size of a step is the ratio of the medians after / before (its two neighbouring
   segments' samples pooled) with a percentile-bootstrap interval that resamples whole runs
   (a cluster bootstrap, as compare resamples whole processes).

Pure numpy (scipy for the test through stats/compare.py); no pandas, no drawing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from mapbench_cli.stats import compare
from mapbench_cli.stats import summary as stats

SIGMA_FLOOR = 1e-3        # 0.1 % on the log scale
DEFAULT_PENALTY = 4.0     # beta = penalty * log(n) * sigma^2 (twice BIC / Schwarz)
MIN_RUNS = 3              # fewer runs: no history to segment


def robust_sigma(y: np.ndarray) -> float:
    """Noise of y around a piecewise-constant mean, from the MAD of its first differences."""
    if y.size < 3:
        return SIGMA_FLOOR
    d = np.diff(y)
    mad = float(np.median(np.abs(d - np.median(d))))
    return max(1.4826 * mad / math.sqrt(2.0), SIGMA_FLOOR)


def pelt(y: Sequence[float], beta: float, min_size: int = 1) -> List[int]:
    """Change points of y (indices where a new segment starts) minimising the squared-error cost
    plus beta per change point, exactly (PELT). y must already be divided by sigma."""
    y = np.asarray(y, dtype=float)
    n = y.size
    if n < 2 * min_size:
        return []
    s1 = np.concatenate(([0.0], np.cumsum(y)))
    s2 = np.concatenate(([0.0], np.cumsum(y * y)))

    def cost(starts: np.ndarray, end: int) -> np.ndarray:
        length = end - starts
        total = s1[end] - s1[starts]
        return (s2[end] - s2[starts]) - total * total / length

    best = np.full(n + 1, np.inf)
    best[0] = -beta
    last = np.zeros(n + 1, dtype=int)
    candidates = np.array([0], dtype=int)
    for t in range(min_size, n + 1):
        usable = candidates[t - candidates >= min_size]
        if usable.size == 0:
            continue
        values = best[usable] + cost(usable, t) + beta
        i = int(np.argmin(values))
        best[t], last[t] = float(values[i]), int(usable[i])
        # Pruning: a start that cannot beat best[t] now never will (the cost is additive).
        keep = (t - candidates < min_size) | (best[candidates] + cost(candidates, t) <= best[t])
        candidates = np.append(candidates[keep], t)
    points, t = [], n
    while t > 0:
        t = int(last[t])
        if t > 0:
            points.append(t)
    return sorted(points)


@dataclass(frozen=True)
class Step:
    index: int                 # first run after the step (0-based, in history order)
    p_value: float             # Mann-Whitney, before vs after (unadjusted)
    ratio: float               # median after / median before
    ci_low: float
    ci_high: float
    n_before: int              # runs in the segment before
    n_after: int


def _pooled(blocks: Sequence[np.ndarray], unit: str) -> np.ndarray:
    if unit == compare.PROCESS:
        return np.array([np.median(b) for b in blocks], dtype=float)
    return np.concatenate(blocks).astype(float)


def confirm(runs: Sequence[Sequence[np.ndarray]], points: Sequence[int], confidence: float = 0.95,
            resamples: int = 1000, rng: Optional[np.random.Generator] = None,
            unit: str = compare.REPETITION) -> List[Step]:
    """For each change point, the test and the size of the step between its two neighbouring
    segments. runs[i]: the blocks (one array per process) of run i."""
    rng = rng if rng is not None else np.random.default_rng(0)
    bounds = [0, *points, len(runs)]
    steps = []
    for k, point in enumerate(points):
        before = [b for r in runs[bounds[k]:point] for b in r]
        after = [b for r in runs[point:bounds[k + 2]] for b in r]
        x, y = _pooled(before, unit), _pooled(after, unit)
        p = compare.mann_whitney_p(x, y) if x.size and y.size else math.nan
        # Whole runs are the clusters of the interval: each run's samples pooled.
        before_runs = [np.concatenate(list(r)) for r in runs[bounds[k]:point]]
        after_runs = [np.concatenate(list(r)) for r in runs[point:bounds[k + 2]]]
        r = compare.ratio(float(np.median(np.concatenate(after_runs))), float(np.median(np.concatenate(before_runs))))
        low, high = stats.ratio_interval(before_runs, after_runs, confidence, resamples, rng, unit=stats.PROCESS)
        steps.append(Step(point, p, r, low, high, point - bounds[k], bounds[k + 2] - point))
    return steps


def candidates(medians: Sequence[float], penalty: float = DEFAULT_PENALTY) -> Tuple[List[int], float]:
    """(change points, sigma) of a history of per-run medians (all > 0), on the log scale."""
    m = np.asarray(medians, dtype=float)
    if m.size < MIN_RUNS or np.any(~np.isfinite(m)) or np.any(m <= 0):
        return [], math.nan
    y = np.log(m)
    sigma = robust_sigma(y)
    return pelt(y / sigma, penalty * math.log(m.size)), sigma


def detect(runs: Sequence[Sequence[np.ndarray]], penalty: float = DEFAULT_PENALTY, confidence: float = 0.95,
           resamples: int = 1000, rng: Optional[np.random.Generator] = None,
           unit: str = compare.REPETITION) -> Tuple[List[Step], float]:
    """Candidate steps of one case (unconfirmed: the caller adjusts their p-values over cases)."""
    medians = [float(np.median(np.concatenate(list(r)))) for r in runs]
    points, sigma = candidates(medians, penalty)
    return confirm(runs, points, confidence, resamples, rng, unit), sigma
