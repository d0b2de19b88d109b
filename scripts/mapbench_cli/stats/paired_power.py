"""`mapbench power RUN` on an interleaved A/A run: how often the paired test cries wolf, and
how small a slowdown it catches, measured on real pairs.

The run interleaves two arms of the *same* value (`--interleave thp.enabled=never,never`),
so every difference between them is noise. Per process slot and case, the pair is the
log-ratio of the two arms' medians (stats/paired.py). Each trial draws k of the P process slots
without replacement — the same slots for every case, as one CI job would have run them —
and tests arm 1 against arm 0 with the signed-rank test, Benjamini–Hochberg over the
cases and the threshold, exactly as `compare RUN` does:

- A/A: every case flagged is a false alarm; the rate that matters to CI is the fraction of
  trials (jobs) with any case flagged;
- power: a slowdown s injected into arm 1 (time x (1 + s), throughput / (1 + s): the
  log-ratio moves by log(1 + s)), for one case alone (each case in turn, the others
  untouched) and for every case together, over a grid of s; reported: the smallest s
  detected in at least 80 % and 95 % of the trials. The threshold is part of the rule (the
  Hodges–Lehmann ratio must exceed 1 + threshold): a slowdown at or below --threshold is
  flagged only when noise pushes its estimate past the threshold, so the power reported
  there is not a property to rely on; lower --threshold to measure small slowdowns.

This module only draws and counts; text/paired_power.py words the result and
commands/power.py runs it (stats/power.py handles every run that is not interleaved).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import List, Sequence, Tuple

import numpy as np
import pandas as pd

from mapbench_cli.data import schema
from mapbench_cli.stats import compare, paired
from mapbench_cli.stats.compare import Options
from mapbench_cli.stats.signed_rank import hodges_lehmann_rows, min_pairs, signed_rank_p_rows
from mapbench_cli.text.words import clean

TARGETS = (0.80, 0.95)
DEFAULT_SLOWDOWNS = (0.01, 0.02, 0.03, 0.05, 0.07, 0.10, 0.15, 0.20, 0.30, 0.50)


@dataclass
class SlotMatrix:
    cases: List[compare.CaseKey]
    slots: List[Tuple[str, float]]
    d: np.ndarray                 # cases x slots: log(median arm 1 / median arm 0), NaN where no pair


def slot_matrix(frame: pd.DataFrame, metric: str, arm: int = 1) -> SlotMatrix:
    pairs = paired.pairs_by_case(frame, metric, arm)
    slots = sorted(set(s for p in pairs.values() for s in p.slots))
    where = {s: i for i, s in enumerate(slots)}
    d = np.full((len(pairs), len(slots)), np.nan)
    for c, p in enumerate(pairs.values()):
        d[c, [where[s] for s in p.slots]] = p.log_ratios
    return SlotMatrix(list(pairs), slots, d)


@dataclass
class PairedPower:
    metric: str
    direction: str
    options: Options
    k: int
    slots: int
    trials: int
    cases: List[str]
    aa_codes: np.ndarray                  # trials x cases
    slowdowns: List[float]
    power_alone: np.ndarray               # slowdowns x cases
    power_together: np.ndarray
    spread: np.ndarray                    # per case: IQR of the log-ratios over every slot
    notes: List[str] = field(default_factory=list)

    def smallest(self, power_: np.ndarray, target: float) -> List[float]:
        out = []
        for c in range(power_.shape[1]):
            hits = [s for s, p in zip(self.slowdowns, power_[:, c]) if p >= target]
            out.append(min(hits) if hits else math.inf)
        return out


def _tested(d: np.ndarray, needed: int) -> Tuple[np.ndarray, np.ndarray]:
    """trials x cases x k log-ratios -> (p-values, Hodges–Lehmann ratios), each trials x cases."""
    t, c, k = d.shape
    flat = d.reshape(t * c, k)
    n = np.isfinite(flat).sum(axis=1)
    p = signed_rank_p_rows(flat)
    p = np.where(n >= needed, p, 1.0).reshape(t, c)   # too few pairs: never significant
    ratio = np.exp(hodges_lehmann_rows(flat)).reshape(t, c)
    return p, ratio


def analyse(m: SlotMatrix, metric: str, direction: str, options: Options, k: int, trials: int,
            slowdowns: Sequence[float]) -> PairedPower:
    rng = np.random.default_rng(options.seed)
    needed = min_pairs(options.alpha)
    picks = np.array([rng.choice(len(m.slots), size=k, replace=False) for _ in range(trials)])
    drawn = np.transpose(m.d[:, picks], (1, 0, 2))          # trials x cases x k
    ones = np.ones((trials, len(m.cases)))

    def verdicts(p, ratio):
        return compare.verdict_codes(compare.benjamini_hochberg_rows(p), ratio, ones, direction, options)

    null_p, null_ratio = _tested(drawn, needed)
    aa = verdicts(null_p, null_ratio)
    alone = np.zeros((len(slowdowns), len(m.cases)))
    together = np.zeros((len(slowdowns), len(m.cases)))
    for si, s in enumerate(slowdowns):
        shift = math.log(1 + s) if direction == schema.LOWER else -math.log(1 + s)
        p_s, ratio_s = _tested(drawn + shift, needed)
        together[si] = (verdicts(p_s, ratio_s) == 1).mean(axis=0)
        for c in range(len(m.cases)):
            p, ratio = null_p.copy(), null_ratio.copy()
            p[:, c], ratio[:, c] = p_s[:, c], ratio_s[:, c]
            alone[si, c] = (verdicts(p, ratio)[:, c] == 1).mean()
    q1, q3 = np.nanquantile(m.d, [0.25, 0.75], axis=1)
    return PairedPower(metric, direction, options, k, len(m.slots), trials,
                       [compare.case_label(*key) for key in m.cases], aa, list(slowdowns), alone, together, q3 - q1)


def notes(m: SlotMatrix, arms: int, k: int, options: Options, ignored: Sequence[str] = ()) -> List[str]:
    """What limits a paired power analysis: more arms than two, too few pairs per trial, options
    that do not apply (`ignored`, as given), cases lacking a pair in some slots."""
    alpha = options.alpha
    out: List[str] = []
    if arms > 2:
        out.append(f"note: {arms} arms; power tests arm 1 against arm 0 only")
    if k < min_pairs(alpha):
        out.append(f"note: {k} pairs can never reach p < {alpha:g}: nothing is ever flagged; use --processes "
                   f"{min_pairs(alpha)} or more")
    if ignored:
        out.append(f"note: {' and '.join(ignored)} {'do' if len(ignored) > 1 else 'does'} not apply to an "
                   "interleaved run: trials draw process slots, the same for both arms")
    fewer = [(compare.case_label(*key), int(n)) for key, n in zip(m.cases, np.isfinite(m.d).sum(axis=1))
             if n < len(m.slots)]
    if fewer:
        lack = "cases lack" if len(fewer) != 1 else "case lacks"
        out.append(f"note: {len(fewer)} {lack} a pair in some slots (e.g. {clean(fewer[0][0])}: "
                   f"{fewer[0][1]} of {len(m.slots)}): their trials have fewer than {k} pairs, and less power")
    return out
