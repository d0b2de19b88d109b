"""`mapbench power`: how often compare cries wolf, and how small a slowdown it catches.

Measured on real repeated runs (made with --processes), by resampling whole processes —
the unit of noise a CI job sees — never single repetitions:

- A/A: for each trial, every case's processes are split into two groups of N that ran
  the same code (by default from two different runs, as a baseline and a new run would
  be), the groups are compared exactly as `compare` does (Mann–Whitney, Benjamini–
  Hochberg over the cases, threshold), and every case flagged as a regression or an
  improvement is a false alarm.
- power: the same resampled pairs with a known slowdown injected into the CURRENT group
  (time × (1 + s), throughput ÷ (1 + s)). Two scenarios: one case slowed alone while
  the others stay unchanged (the adjustment over many cases then bites hardest), and
  every case slowed together. The smallest slowdown reported in at least 95 % of the
  trials is what compare can be trusted to catch at that sample size.

Statistics come from stats/compare.py; this module only resamples and counts;
text/power.py words the result, commands/power.py runs it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from mapbench_cli.stats import compare
from mapbench_cli.stats.compare import Options
from mapbench_cli.data.runs import BadInput


TARGET_POWER = 0.95
MIN_TRIALS = 20


@dataclass
class CaseBlocks:
    key: compare.CaseKey
    runs: Dict[str, List[np.ndarray]]      # run id -> one array of repetitions per process

    @property
    def label(self) -> str:
        return compare.case_label(*self.key)

    def all_blocks(self) -> List[np.ndarray]:
        return [b for blocks in self.runs.values() for b in blocks]


def collect_blocks(frame: pd.DataFrame, metric: str) -> List[CaseBlocks]:
    """Per case, the metric's values grouped by run and process (blocks trimmed to one size)."""
    if "process" not in frame.columns or frame["process"].isna().all():
        raise BadInput("these runs have no process column: make them with --processes N (N >= 2) "
                       "so the noise between processes can be resampled")
    data = frame[np.isfinite(frame[metric].astype(float))]
    threads = data["threads"].astype(float).fillna(1.0)
    out = []
    for (name, thr), part in data.assign(_threads=threads).groupby(["name", "_threads"], sort=False):
        runs: Dict[str, List[np.ndarray]] = {}
        for (run_id, _), block in part.groupby(["run_id", "process"], sort=True):
            runs.setdefault(str(run_id), []).append(block[metric].to_numpy(dtype=float))
        sizes = [b.size for blocks in runs.values() for b in blocks]
        size = min(sizes)
        runs = {r: [b[:size] for b in blocks] for r, blocks in runs.items()}
        out.append(CaseBlocks((str(name), float(thr)), runs))
    return out


@dataclass
class Draws:
    """Resampled comparisons of one case: (trials x processes x repetitions) arrays for each side."""
    base: np.ndarray
    current: np.ndarray

    def units(self, unit: str, factor: float = 1.0) -> Tuple[np.ndarray, np.ndarray]:
        """(trials x units) values the test compares; CURRENT scaled by `factor`."""
        if unit == compare.PROCESS:
            return np.median(self.base, axis=2), np.median(self.current, axis=2) * factor
        t = self.base.shape[0]
        return self.base.reshape(t, -1), self.current.reshape(t, -1) * factor

    def medians(self) -> Tuple[np.ndarray, np.ndarray]:
        t = self.base.shape[0]
        return np.median(self.base.reshape(t, -1), axis=1), np.median(self.current.reshape(t, -1), axis=1)


def _draw(case: CaseBlocks, k: int, trials: int, split: str, run_pairs: Optional[list],
          rng: np.random.Generator) -> Optional[Draws]:
    if split == "by-run":
        base, current = [], []
        for a, b in run_pairs:
            ra, rb = case.runs.get(a, []), case.runs.get(b, [])
            if len(ra) < k or len(rb) < k:
                return None
            base.append([ra[i] for i in rng.choice(len(ra), size=k, replace=False)])
            current.append([rb[i] for i in rng.choice(len(rb), size=k, replace=False)])
        return Draws(np.array(base), np.array(current))
    blocks = case.all_blocks()
    if len(blocks) < 2 * k:
        return None
    base, current = [], []
    for _ in range(trials):
        chosen = rng.choice(len(blocks), size=2 * k, replace=False)
        base.append([blocks[i] for i in chosen[:k]])
        current.append([blocks[i] for i in chosen[k:]])
    return Draws(np.array(base), np.array(current))


def _distinct_splits(cases: Sequence[CaseBlocks], k: int, split: str) -> int:
    """How many different A/A pairs the data allows for its poorest case (to say when trials repeat)."""
    if split == "by-run":
        runs = sorted(set(r for c in cases for r in c.runs))
        best = 0
        for a, b in combinations(runs, 2):
            n = min(math.comb(len(c.runs.get(a, [])), k) * math.comb(len(c.runs.get(b, [])), k) for c in cases)
            best += 2 * n
        return best
    return min(math.comb(len(c.all_blocks()), k) * math.comb(len(c.all_blocks()) - k, k) for c in cases)


@dataclass
class PowerResult:
    metric: str
    direction: str
    options: Options
    unit: str
    k: int
    samples_per_side: int
    trials: int
    split: str
    runs: List[str]
    cases: List[str]
    skipped: List[str]
    distinct_splits: int
    aa_codes: np.ndarray                    # trials x cases: +1 regression, -1 improvement, 0
    slowdowns: List[float]
    power_alone: np.ndarray                 # slowdowns x cases: fraction of trials flagged as regression
    power_together: np.ndarray
    noise: pd.DataFrame                     # per case: spread measures of the pooled data
    notes: List[str] = field(default_factory=list)

    @property
    def aa_flagged(self) -> int:
        return int((self.aa_codes != 0).sum())

    @property
    def aa_rate(self) -> float:
        return self.aa_flagged / self.aa_codes.size if self.aa_codes.size else math.nan

    @property
    def aa_trials_with_alarm(self) -> int:
        return int((self.aa_codes != 0).any(axis=1).sum())

    def smallest(self, power: np.ndarray) -> List[float]:
        """Per case, the smallest injected slowdown reaching TARGET_POWER (inf: none did)."""
        out = []
        for c in range(power.shape[1]):
            hits = [s for s, p in zip(self.slowdowns, power[:, c]) if p >= TARGET_POWER]
            out.append(min(hits) if hits else math.inf)
        return out


def analyse(cases: List[CaseBlocks], metric: str, direction: str, options: Options, k: int, trials: int,
            slowdowns: Sequence[float], split: str) -> PowerResult:
    rng = np.random.default_rng(options.seed)
    unit = compare.REPETITION if options.unit == compare.REPETITION else compare.PROCESS
    runs = sorted(set(r for c in cases for r in c.runs))
    if split == "auto":
        split = "by-run" if len(runs) >= 2 else "random"
    run_pairs = None
    if split == "by-run":
        if len(runs) < 2:
            raise BadInput("--split by-run needs at least two runs")
        pairs = [(a, b) for a in runs for b in runs if a != b]
        run_pairs = [pairs[i] for i in rng.integers(0, len(pairs), size=trials)]
    draws, kept, skipped = [], [], []
    for case in cases:
        d = _draw(case, k, trials, split, run_pairs, rng)
        if d is None or d.units(unit)[0].shape[1] < options.min_samples:
            skipped.append(case.label)
            continue
        draws.append(d)
        kept.append(case)
    if not kept:
        need = f"{k} processes in each of two runs" if split == "by-run" else f"{2 * k} processes"
        raise BadInput(f"no case has enough processes to resample ({need} per case, and at least "
                       f"{options.min_samples} {unit}es per side; lower or raise --processes, or run more)")
    null_p = np.column_stack([compare.mann_whitney_p_many(*d.units(unit)) for d in draws])
    med_b = np.column_stack([d.medians()[0] for d in draws])
    med_c = np.column_stack([d.medians()[1] for d in draws])
    aa = compare.verdict_codes(compare.benjamini_hochberg_rows(null_p), med_c, med_b, direction, options)

    alone = np.zeros((len(slowdowns), len(kept)))
    together = np.zeros((len(slowdowns), len(kept)))
    for si, s in enumerate(slowdowns):
        factor = (1 + s) if direction == compare.schema.LOWER else 1 / (1 + s)
        shifted_p = np.column_stack([compare.mann_whitney_p_many(*d.units(unit, factor)) for d in draws])
        shifted_med = med_c * factor
        codes = compare.verdict_codes(compare.benjamini_hochberg_rows(shifted_p), shifted_med, med_b,
                                      direction, options)
        together[si] = (codes == 1).mean(axis=0)
        for c in range(len(kept)):
            p = null_p.copy()
            p[:, c] = shifted_p[:, c]
            code = compare.verdict_codes(compare.benjamini_hochberg_rows(p)[:, c], shifted_med[:, c], med_b[:, c],
                                         direction, options)
            alone[si, c] = (code == 1).mean()

    noise = []
    for case in kept:
        pooled = np.concatenate(case.all_blocks())
        q1, med, q3 = np.quantile(pooled, [0.25, 0.5, 0.75])
        proc_medians = np.array([np.median(b) for b in case.all_blocks()])
        noise.append(dict(case=case.label, samples=int(pooled.size), processes=len(case.all_blocks()),
                          iqr_over_median=(q3 - q1) / med if med else math.nan,
                          process_median_spread=(proc_medians.max() / proc_medians.min()
                                                 if proc_medians.min() > 0 else math.nan)))
    return PowerResult(metric, direction, options, unit, k, int(draws[0].base.shape[1] * draws[0].base.shape[2]),
                       trials, split, runs,
                       [c.label for c in kept], skipped, _distinct_splits(kept, k, split), aa, list(slowdowns),
                       alone, together, pd.DataFrame(noise))
