"""The Wilcoxon signed-rank test and the Hodges–Lehmann estimate, for the paired differences
of an interleaved run (stats/paired.py forms the pairs). Nothing here prints or draws.

- the test is two-sided on the differences `d`: exact (the null distribution of the
  positive rank sum W+ by dynamic programming; with tied |d| the exact conditional
  distribution over the midranks), zeros dropped (Wilcoxon's convention, as scipy's
  default), normal approximation with tie correction only above MAX_EXACT pairs;
- the Hodges–Lehmann estimate of the centre of `d` (the median of the Walsh averages
  `(d_i + d_k) / 2`, i <= k) with its distribution-free interval: the k-th smallest and
  k-th largest Walsh averages, k from the exact signed-rank distribution (like
  stats.summary.median_ci, the real coverage is kept when few pairs cannot reach the asked
  one);
- fewer than `min_pairs(alpha)` pairs can never reach significance (the smallest two-sided
  p of n pairs is 2 / 2^n).
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass
from typing import Sequence, Tuple

import numpy as np

MAX_EXACT = 1000          # pairs; above, the normal approximation (tie-corrected)


# --- the signed-rank distribution ----------------------------------------------------------

def _rank_sum_pmf(ranks: Sequence[int]) -> np.ndarray:
    """P(sum of a random subset of `ranks` = w), each included with probability 1/2."""
    total = int(sum(ranks))
    pmf = np.zeros(total + 1)
    pmf[0] = 1.0
    top = 0
    for r in ranks:
        r = int(r)
        shifted = pmf[: top + 1].copy()
        pmf[: top + 1] *= 0.5
        pmf[r: r + top + 1] += 0.5 * shifted
        top += r
    return pmf


@functools.lru_cache(maxsize=256)
def null_cdf(n: int) -> np.ndarray:
    """P(W+ <= w) for w = 0 .. n(n+1)/2: the exact null of the signed-rank statistic of n
    pairs without ties."""
    return np.minimum(np.cumsum(_rank_sum_pmf(range(1, n + 1))), 1.0)


def _two_sided(cdf: np.ndarray, w) -> np.ndarray:
    """2 min(P(W <= w), P(W >= w)), capped at 1, for a symmetric null with cdf `cdf`."""
    w = np.asarray(w, dtype=int)
    below = cdf[w]
    above = 1.0 - np.where(w > 0, cdf[np.maximum(w - 1, 0)], 0.0)
    return np.minimum(1.0, 2.0 * np.minimum(below, above))


def smallest_p(n: int) -> float:
    """The smallest two-sided signed-rank p-value n pairs can give (every sign alike): 2 / 2^n."""
    return 1.0 if n < 1 else min(1.0, 2.0 / 2.0 ** n)


def min_pairs(alpha: float) -> int:
    """The fewest pairs whose smallest possible two-sided p is below alpha (6 at alpha 0.05)."""
    n = 1
    while smallest_p(n) >= alpha:
        n += 1
    return n


def signed_rank_p(d: Sequence[float]) -> float:
    """Two-sided Wilcoxon signed-rank p-value of the differences `d` (zeros dropped; exact, with
    ties by their midranks; 1 when nothing is left)."""
    from scipy.stats import rankdata

    d = np.asarray(d, float)
    d = d[np.isfinite(d) & (d != 0)]
    n = d.size
    if n == 0:
        return 1.0
    ranks = rankdata(np.abs(d))
    if n > MAX_EXACT:
        return _normal_p(d, ranks)
    doubled = np.rint(2 * ranks).astype(int)
    w = int(doubled[d > 0].sum())
    if np.all(doubled % 2 == 0) and len(set(doubled)) == n:   # no ties: the cached null of n
        return float(_two_sided(null_cdf(n), w // 2))
    cdf = np.minimum(np.cumsum(_rank_sum_pmf(doubled)), 1.0)
    return float(_two_sided(cdf, w))


def _normal_p(d: np.ndarray, ranks: np.ndarray) -> float:
    from scipy.stats import norm

    n = d.size
    w = ranks[d > 0].sum()
    mean = n * (n + 1) / 4
    var = n * (n + 1) * (2 * n + 1) / 24
    _, counts = np.unique(ranks, return_counts=True)
    var -= (counts * (counts ** 2 - 1)).sum() / 48
    if var <= 0:
        return 1.0
    return float(min(1.0, 2 * norm.sf(abs(w - mean) / math.sqrt(var))))


def signed_rank_p_rows(d: np.ndarray) -> np.ndarray:
    """Row-wise two-sided signed-rank p-values of a 2-D array; NaN and zeros are dropped from
    their row. Vectorised for the common case (no ties), row by row otherwise."""
    d = np.atleast_2d(np.asarray(d, float))
    d = np.where(d == 0, np.nan, d)
    out = np.ones(d.shape[0])
    finite = np.isfinite(d)
    n = finite.sum(axis=1)
    a = np.where(finite, np.abs(d), np.inf)
    order = np.argsort(a, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, d.shape[1] + 1)[None, :].repeat(d.shape[0], 0), axis=1)
    sorted_a = np.take_along_axis(a, order, axis=1)
    with np.errstate(invalid="ignore"):   # inf - inf where a row has fewer values: not a tie
        tied = (np.diff(sorted_a, axis=1) == 0) & np.isfinite(sorted_a[:, 1:])
    tied = tied.any(axis=1)
    w = np.where(finite & (d > 0), ranks, 0).sum(axis=1)
    for size in np.unique(n):
        rows = (n == size) & ~tied
        if size == 0 or not rows.any():
            continue
        if size > MAX_EXACT:
            tied |= rows
            continue
        out[rows] = _two_sided(null_cdf(int(size)), w[rows])
    for i in np.flatnonzero(tied):
        out[i] = signed_rank_p(d[i])
    return out


# --- Hodges–Lehmann ------------------------------------------------------------------------

@dataclass(frozen=True)
class Shift:
    estimate: float          # median of the Walsh averages
    low: float
    high: float
    coverage: float          # of [low, high], from the exact signed-rank null (no ties)


def walsh_averages(d: Sequence[float]) -> np.ndarray:
    d = np.asarray(d, float)
    i, k = np.triu_indices(d.size)
    return (d[i] + d[k]) / 2


def _walsh_rank(n: int, confidence: float) -> Tuple[int, float]:
    """(k, coverage): the interval is the k-th smallest to k-th largest Walsh average."""
    if n > MAX_EXACT:
        from scipy.stats import norm
        mean, sd = n * (n + 1) / 4, math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
        k = max(1, int(math.floor(mean - norm.ppf(1 - (1 - confidence) / 2) * sd)))
        return k, confidence
    cdf = null_cdf(n)
    tail = (1 - confidence) / 2
    k = max(1, int(np.searchsorted(cdf, tail + 1e-12, side="right")))
    return k, float(max(0.0, 1 - 2 * cdf[k - 1]))


def hodges_lehmann(d: Sequence[float], confidence: float = 0.95) -> Shift:
    """The Hodges–Lehmann estimate of the centre of `d` with its distribution-free interval."""
    d = np.asarray(d, float)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return Shift(math.nan, math.nan, math.nan, 0.0)
    walsh = np.sort(walsh_averages(d))
    k, coverage = _walsh_rank(d.size, confidence)
    return Shift(float(np.median(walsh)), float(walsh[k - 1]), float(walsh[walsh.size - k]), coverage)


def hodges_lehmann_rows(d: np.ndarray) -> np.ndarray:
    """Row-wise Hodges–Lehmann estimates of a 2-D array (NaN cells ignored)."""
    d = np.atleast_2d(np.asarray(d, float))
    i, k = np.triu_indices(d.shape[1])
    walsh = (d[:, i] + d[:, k]) / 2
    with warnings.catch_warnings():   # a row without a value: NaN, said by the caller
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(walsh, axis=1)
