"""Medians and confidence intervals of the median over repetitions.

A result is a distribution, reported as its median with a confidence interval. The
default interval is the distribution-free one from order statistics: for n samples the
interval [x_(k), x_(n+1-k)] holds the true median with probability
1 - 2 * P(Binomial(n, 1/2) <= k - 1), whatever the distribution. We take the narrowest
such interval whose coverage reaches the requested confidence. With few repetitions no
interval reaches it (n = 5 gives at most 93.75 %, n = 3 at most 75 %); then the widest
one, [min, max], is used and its real, lower coverage is reported, never hidden.

The percentile bootstrap is also here for comparison; with fewer than about ten
samples it claims more confidence than it has, which is why it is not the default.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from mapbench_cli.text.words import count_range


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    coverage: float  # probability that the interval holds the true median (nominal for the bootstrap)


def _clean_samples(values: Iterable[float]) -> np.ndarray:
    x = np.asarray(list(values) if not isinstance(values, (np.ndarray, pd.Series)) else values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        raise ValueError("no finite samples")
    return np.sort(x)


def median(values: Iterable[float]) -> float:
    return float(np.median(_clean_samples(values)))


def _binomial_half_cdf(k: int, n: int) -> float:
    """P(Binomial(n, 1/2) <= k), exact."""
    if k < 0:
        return 0.0
    return sum(math.comb(n, i) for i in range(0, min(k, n) + 1)) / 2.0 ** n


def order_statistic_rank(n: int, confidence: float = 0.95) -> tuple:
    """(k, coverage): use the k-th smallest and k-th largest of n samples (1-based k)."""
    if n < 1:
        raise ValueError("need at least one sample")
    if not 0 < confidence < 1:
        raise ValueError("confidence must be in (0, 1)")
    best_k = 1
    for k in range(1, (n + 1) // 2 + 1):
        if 1 - 2 * _binomial_half_cdf(k - 1, n) >= confidence:
            best_k = k
        else:
            break
    coverage = max(0.0, 1 - 2 * _binomial_half_cdf(best_k - 1, n))
    return best_k, coverage


def median_ci(values: Iterable[float], confidence: float = 0.95) -> Interval:
    """Distribution-free confidence interval of the median from order statistics."""
    x = _clean_samples(values)
    k, coverage = order_statistic_rank(x.size, confidence)
    return Interval(float(x[k - 1]), float(x[x.size - k]), coverage)


def median_ci_bootstrap(values: Iterable[float], confidence: float = 0.95, resamples: int = 10_000,
                        seed: int = 0) -> Interval:
    """Percentile-bootstrap interval of the median (deterministic for a given seed)."""
    x = _clean_samples(values)
    rng = np.random.default_rng(seed)
    medians = np.median(x[rng.integers(0, x.size, size=(resamples, x.size))], axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(medians, [alpha, 1 - alpha])
    return Interval(float(low), float(high), confidence)


SUMMARY_COLUMNS = ("n", "median", "ci_low", "ci_high", "coverage")


def summarize(frame: pd.DataFrame, keys: Sequence[str], metric: str, confidence: float = 0.95) -> pd.DataFrame:
    """One row per group of `keys`: n, median, ci_low, ci_high, coverage of `metric`.

    Rows whose metric is missing are ignored; groups with no value are dropped.
    """
    keys = list(keys)
    out = []
    data = frame[keys + [metric]]
    data = data[np.isfinite(data[metric].astype(float))]
    if data.empty:
        return pd.DataFrame(columns=keys + list(SUMMARY_COLUMNS))
    by = keys[0] if len(keys) == 1 else keys  # a 1-list grouper warns in pandas 1.5
    for group, part in data.groupby(by, dropna=False, sort=False):
        group = group if isinstance(group, tuple) else (group,)
        values = part[metric].to_numpy(dtype=float)
        interval = median_ci(values, confidence)
        out.append(dict(zip(keys, group), n=int(values.size), median=float(np.median(values)),
                        ci_low=interval.low, ci_high=interval.high, coverage=interval.coverage))
    return pd.DataFrame(out, columns=keys + list(SUMMARY_COLUMNS))


def describe_intervals(summary: pd.DataFrame, confidence: float = 0.95) -> str:
    """A footnote saying what the error bars are, with the real coverage when it falls short."""
    if summary.empty:
        return ""
    text = (f"error bars: {confidence:.0%} CI of the median over repetitions (order statistics, "
            f"n={count_range(summary['n'])} per case)")
    short = summary[summary["coverage"] < confidence - 1e-12]
    if not short.empty:
        worst = short["coverage"].min()
        text += (f"; with n={int(short['n'].min())} only min–max is possible "
                 f"(coverage {worst:.0%}): run more repetitions for a {confidence:.0%} interval")
    return text


# --- the ratio of two medians ---------------------------------------------------------------
#
# Samples come in blocks: the repetitions of one process share its luck (its pages, its CPU,
# the load while it ran), so when each side has several processes the bootstrap draws whole
# processes (a cluster bootstrap) rather than repetitions. stats/compare.py explains the choice.

PROCESS = "process"
REPETITION = "repetition"
Blocks = List[np.ndarray]   # one array of repetitions per process


def ratios(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator/denominator elementwise, with 0/0 = 1 (the same) and x/0 = inf."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = numerator / denominator
    r = np.where((denominator == 0) & (numerator == 0), 1.0, r)
    return np.where((denominator == 0) & (numerator != 0), np.inf, r)


def seeded_rng(seed: int, label: str) -> np.random.Generator:
    """A generator per label: one interval does not depend on which others are computed."""
    return np.random.default_rng([seed & 0xFFFFFFFF, zlib.crc32(label.encode("utf-8", "replace"))])


def resampled_medians(blocks: Blocks, unit: str, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Medians of `resamples` bootstrap samples: of the repetitions, or of whole processes."""
    if unit == REPETITION or len(blocks) == 1:
        x = np.concatenate(blocks)
        return np.median(x[rng.integers(0, x.size, size=(resamples, x.size))], axis=1)
    # Cluster bootstrap: draw whole processes with replacement, pool their repetitions.
    # Blocks of unequal size are padded with NaN (ignored by nanmedian).
    width = max(b.size for b in blocks)
    table = np.full((len(blocks), width), np.nan)
    for i, b in enumerate(blocks):
        table[i, :b.size] = b
    picks = rng.integers(0, len(blocks), size=(resamples, len(blocks)))
    drawn = table[picks].reshape(resamples, -1)
    if all(b.size == width for b in blocks):
        return np.median(drawn, axis=1)
    return np.nanmedian(drawn, axis=1)


def ratio_interval(base: Blocks, current: Blocks, confidence: float = 0.95, resamples: int = 2000,
                   rng: Optional[np.random.Generator] = None, unit: str = PROCESS) -> Tuple[float, float]:
    """Percentile-bootstrap interval of median(current)/median(base), each side resampled alone
    (by whole processes when the process is the unit)."""
    rng = rng if rng is not None else np.random.default_rng(0)
    r = ratios(resampled_medians(current, unit, resamples, rng), resampled_medians(base, unit, resamples, rng))
    tail = (1 - confidence) / 2
    with np.errstate(invalid="ignore"):  # inf sorts last; inf - inf while interpolating is NaN
        low, high = np.quantile(r, [tail, 1 - tail])
    return (float(low) if low == low else math.inf), (float(high) if high == high else math.inf)
