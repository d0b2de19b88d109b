"""The crossover family's statistics: one cell's ratio mmap/pread with its interval and who
leads, and where along file_to_limit the lead changes sides (figures/crossover.py says
what the family measures and draws).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np

from mapbench_cli.stats import summary as stats


FAMILY = "crossover"
METRIC = "steady_bytes_per_second"
THROUGHPUT = "bytes_per_second"
REFERENCE = "pread"
MAPPED = "mmap"
PARAMS = ["pattern", "block_kib", "file_mib", "limit_mib", "file_to_limit", "readers"]
NUMERIC = ["block_kib", "file_mib", "limit_mib", "file_to_limit", "readers", METRIC, THROUGHPUT,
           "eviction_start_s", "process", "repetition"]
ADVICE_ORDER = ("none", "random", "sequential")
# The storage baselines compared with pread beside mmap (benchmarks/crossover.cc); a cell's
# "variant" is mmap's hint for mmap rows and the method's name for these.
BASELINE_ORDER = ("odirect_pread", "io_uring_odirect_qd1", "io_uring_odirect_qd32", "io_uring_qd1", "io_uring_qd32")
VARIANT_ORDER = ADVICE_ORDER + BASELINE_ORDER


def variant_of(method: str, advice: str) -> str:
    """What a row is compared with pread as: mmap's hint ('none', 'random', ...) or the method."""
    return advice if method == MAPPED else method
PATTERN_ORDER = ("random", "seq")
CONFIDENCE = 0.95
RESAMPLES = 4000
SEED = 0
MIN_UNITS = 3          # per side; fewer and no side is called

MMAP, PREAD, UNCLEAR, TOO_FEW = "mmap", "pread", "unclear", "too_few"


# --- one cell: the ratio, its interval, who leads -------------------------------------------------

@dataclass
class Ratio:
    ratio: float
    low: float
    high: float
    unit: str          # stats.PROCESS or stats.REPETITION: what was resampled
    n_pread: int       # units per side
    n_mmap: int
    pread_median: float
    mmap_median: float
    verdict: str


def verdict_of(low: float, high: float, n_pread: int, n_mmap: int, min_units: int = MIN_UNITS) -> str:
    """Who leads: mmap when the whole interval is above 1, pread when below, else no one."""
    if min(n_pread, n_mmap) < min_units:
        return TOO_FEW
    if low > 1:
        return MMAP
    if high < 1:
        return PREAD
    return UNCLEAR


def ratio_of(pread: stats.Blocks, mmap: stats.Blocks, label: str = "", confidence: float = CONFIDENCE,
             resamples: int = RESAMPLES, seed: int = SEED, min_units: int = MIN_UNITS) -> Ratio:
    """median(mmap) / median(pread) with its bootstrap interval; blocks: one array per process."""
    pread = [np.asarray(b, dtype=float) for b in pread if len(b)]
    mmap = [np.asarray(b, dtype=float) for b in mmap if len(b)]
    if not pread or not mmap:
        raise ValueError("both sides need samples")
    unit = stats.PROCESS if len(pread) >= 2 and len(mmap) >= 2 else stats.REPETITION
    count = (lambda blocks: len(blocks)) if unit == stats.PROCESS else (lambda blocks: sum(b.size for b in blocks))
    p, m = float(np.median(np.concatenate(pread))), float(np.median(np.concatenate(mmap)))
    r = float(stats.ratios(np.array([m]), np.array([p]))[0])
    low, high = stats.ratio_interval(pread, mmap, confidence, resamples, stats.seeded_rng(seed, label), unit)
    return Ratio(r, low, high, unit, count(pread), count(mmap), p, m,
                 verdict_of(low, high, count(pread), count(mmap), min_units))


# --- the crossover along file_to_limit -------------------------------------------------------------

@dataclass
class Point:
    x: float                  # file_to_limit
    ratio: Ratio


@dataclass
class Crossover:
    kind: str                 # mmap_always, pread_always, unclear, crossover, reverse, partial, mixed
    runs: List[Tuple[str, List[Point]]]   # consecutive points with the same leader (MMAP, PREAD, UNCLEAR)


def _state(verdict: str) -> str:
    return verdict if verdict in (MMAP, PREAD) else UNCLEAR


def find_crossover(points: Sequence[Point]) -> Crossover:
    """Where the leader changes along file_to_limit. `crossover`: mmap leads first, then
    pread (possibly with no clear winner between); `reverse`: the other way; `partial`: one
    side leads where it can be told and no one elsewhere; `mixed`: the lead changes more
    than once (no single crossover)."""
    points = sorted(points, key=lambda p: p.x)
    runs: List[Tuple[str, List[Point]]] = []
    for p in points:
        state = _state(p.ratio.verdict)
        if runs and runs[-1][0] == state:
            runs[-1][1].append(p)
        else:
            runs.append((state, [p]))
    leaders = [s for s, _ in runs if s != UNCLEAR]
    switches = sum(1 for a, b in zip(leaders, leaders[1:]) if a != b)
    if not leaders:
        kind = "unclear"
    elif len(runs) == 1:
        kind = f"{leaders[0]}_always"
    elif switches == 0:
        kind = "partial"
    elif switches == 1:
        kind = "crossover" if leaders[0] == MMAP else "reverse"
    else:
        kind = "mixed"
    return Crossover(kind, runs)
