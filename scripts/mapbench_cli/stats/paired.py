"""The statistics of an interleaved run: the arms of one run, compared slot by slot. Nothing
here prints or draws.

`mapbench --interleave KNOB=A,B[,...]` runs every case under each value of a knob (an
*arm*; arm 0 is the baseline) in randomised, balanced order: for every case and every
process slot the arms run one after the other, each in a child process of its own. Two
arms of the same slot are adjacent in time, so they share most of what makes process
medians spread on a noisy machine (the load on the host, the balloon's state, the
frequency): the difference inside a slot is far less noisy than the difference between
independent processes. stats/compare.py's Mann–Whitney test on process medians throws that
pairing away; this module keeps it.

Per case, for arm j against arm 0:

- one *pair* per process slot `(run_id, process)` that has both arms: the median over the
  repetitions of each arm, and the log-ratio `d = log(median_j / median_0)`. A slot that
  lacks an arm (a crash, a skipped row) gives no pair and is counted;
- the Wilcoxon signed-rank test, two-sided, on the `d`, and the Hodges–Lehmann estimate of
  the median log-ratio with its distribution-free interval (stats/signed_rank.py);
  ratio = exp(estimate), interval = exp(bounds);
- Benjamini–Hochberg over the cases and the verdict of compare.decide (same threshold and
  alpha semantics); fewer than `min_pairs(alpha)` pairs can never reach significance
  (the smallest two-sided p of n pairs is 2 / 2^n) and is inconclusive, said so.

The table has compare.compare_blocks' columns (unit "pair"; n_base / n_current count the
process slots that have each arm) plus n_pairs and ratio_ci_coverage (the interval's real
coverage), so text/compare.py presents it unchanged.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from mapbench_cli.data import schema
from mapbench_cli.stats import compare, summary
from mapbench_cli.stats.compare import CaseKey, Comparison, Options
from mapbench_cli.stats.signed_rank import hodges_lehmann, min_pairs, signed_rank_p, smallest_p

ARM = "arm"
VARIANT = "variant"
ARM_POSITION = "arm_position"
PAIR = "pair"
_AFTER_INTERVAL = compare.COLUMNS.index("ratio_ci_high") + 1
COLUMNS = (compare.COLUMNS[:6] + ("n_pairs",) + compare.COLUMNS[6:_AFTER_INTERVAL] + ("ratio_ci_coverage",)
           + compare.COLUMNS[_AFTER_INTERVAL:])


# --- which rows belong to which arm -------------------------------------------------------

def arm_numbers(frame: pd.DataFrame) -> pd.Series:
    """The arm of each row as a float (NaN where the run was not interleaved)."""
    if ARM not in frame:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    raw = frame[ARM]
    if raw.dtype == object:
        raw = raw.astype(str).str.strip().replace("", None)
    return pd.to_numeric(raw, errors="coerce").astype(float)


def arms(frame: pd.DataFrame) -> List[int]:
    values = arm_numbers(frame)
    return sorted(int(a) for a in set(values[np.isfinite(values)]))


def is_interleaved(frame: pd.DataFrame) -> bool:
    """An arm column with at least two arms: the rows of an interleaved run."""
    return len(arms(frame)) >= 2


def variant_labels(frame: pd.DataFrame, interleave: Optional[Mapping] = None) -> Dict[int, str]:
    """Arm -> what it ran ("thp.enabled=never"): the variant column, else environment.json's
    interleave block, else "arm N"."""
    out: Dict[int, str] = {}
    numbers = arm_numbers(frame)
    knob = (interleave or {}).get("knob")
    values = list((interleave or {}).get("values") or [])
    for arm in arms(frame):
        label = ""
        if VARIANT in frame:
            seen = [str(v).strip() for v in frame.loc[numbers == arm, VARIANT] if str(v).strip()]
            label = seen[0] if seen else ""
        if not label and knob and arm < len(values):
            label = f"{knob}={values[arm]}"
        out[arm] = label or f"arm {arm}"
    return out


# --- pairs ---------------------------------------------------------------------------------

@dataclass
class Pairs:
    """The pairs of one case: per process slot with both arms, the median of each arm."""
    key: CaseKey
    slots: List[Tuple[str, float]]          # (run_id, process) of each pair
    base: np.ndarray                        # median of arm 0 per slot
    current: np.ndarray                     # median of arm j per slot
    base_values: np.ndarray                 # every repetition of arm 0 in the paired slots
    current_values: np.ndarray
    slots_base: int = 0                     # slots having arm 0 / arm j at all
    slots_current: int = 0
    without_pair: int = 0                   # slots with one arm only (no pair)
    zero_median: int = 0                    # pairs dropped: one median 0, the log-ratio undefined
    # per pair: +1 arm j ran after arm 0 in its slot, -1 before, 0 unknown (no arm_position)
    order: np.ndarray = field(default_factory=lambda: np.array([], dtype=int))

    @property
    def log_ratios(self) -> np.ndarray:
        return log_ratios(self.current, self.base)


def log_ratios(current: np.ndarray, base: np.ndarray) -> np.ndarray:
    """log(current / base) elementwise; 0/0 counts as no change (0)."""
    current, base = np.asarray(current, float), np.asarray(base, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.log(current) - np.log(base)
    return np.where((current == 0) & (base == 0), 0.0, d)


def _slot_frame(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    index = frame.index
    data = pd.DataFrame({
        "name": frame["name"].astype(str),
        "threads": frame["threads"].astype(float).fillna(1.0) if "threads" in frame else pd.Series(1.0, index=index),
        "run": frame["run_id"].astype(str) if "run_id" in frame else pd.Series("", index=index),
        "process": frame["process"].astype(float).fillna(0.0) if "process" in frame else pd.Series(0.0, index=index),
        "arm": arm_numbers(frame),
        "position": (pd.to_numeric(frame[ARM_POSITION].replace("", None), errors="coerce").astype(float)
                     if ARM_POSITION in frame else pd.Series(np.nan, index=index)),
        "v": frame[metric].astype(float) if metric in frame else pd.Series(np.nan, index=index),
    })
    return data[np.isfinite(data["v"]) & np.isfinite(data["arm"])]


def pairs_by_case(frame: pd.DataFrame, metric: str, arm: int, baseline: int = 0) -> Dict[CaseKey, Pairs]:
    """Per case (in row order), the pairs of `arm` against `baseline` over the process slots.

    Rows are filtered by the caller (usable rows only). A case with rows of only one of the
    two arms has no entry (it is one-sided: see one_sided)."""
    data = _slot_frame(frame, metric)
    data = data[data["arm"].isin([baseline, arm])]
    out: Dict[CaseKey, Pairs] = {}
    for (name, threads), part in data.groupby(["name", "threads"], sort=False):
        if not ((part["arm"] == baseline).any() and (part["arm"] == arm).any()):
            continue
        slots, base, current, base_values, current_values, order = [], [], [], [], [], []
        have = {baseline: 0, arm: 0}
        lone = zero = 0
        for slot, block in part.groupby(["run", "process"], sort=True):
            x = block.loc[block["arm"] == baseline, "v"].to_numpy(float)
            y = block.loc[block["arm"] == arm, "v"].to_numpy(float)
            have[baseline] += bool(x.size)
            have[arm] += bool(y.size)
            if not (x.size and y.size):
                lone += 1
                continue
            mx, my = float(np.median(x)), float(np.median(y))
            if (mx == 0) != (my == 0):
                zero += 1
                continue
            slots.append((str(slot[0]), float(slot[1])))
            px = block.loc[block["arm"] == baseline, "position"].min()
            py = block.loc[block["arm"] == arm, "position"].min()
            order.append(0 if not (np.isfinite(px) and np.isfinite(py)) or px == py else (1 if py > px else -1))
            base.append(mx)
            current.append(my)
            base_values.append(x)
            current_values.append(y)
        out[(str(name), float(threads))] = Pairs(
            (str(name), float(threads)), slots, np.array(base, float), np.array(current, float),
            np.concatenate(base_values) if base_values else np.array([]),
            np.concatenate(current_values) if current_values else np.array([]),
            have[baseline], have[arm], lone, zero, np.array(order, dtype=int))
    return out


@dataclass(frozen=True)
class OrderEffect:
    pairs: int
    p_value: float
    ratio: float             # Hodges–Lehmann: the arm run later over the arm run earlier, in its slot


def order_effect(pairs: Mapping[CaseKey, Pairs]) -> Optional[OrderEffect]:
    """Whether the arm run later in its slot measures differently from the one run earlier,
    pooled over every case's pairs (arm_position); None when the positions are unknown.
    The randomised balanced order keeps such an effect out of the arm ratios on average;
    a strong one still widens their intervals, and is worth knowing (a warm-up, a cache
    the first arm fills for the second)."""
    d = np.concatenate([p.log_ratios[p.order != 0] * p.order[p.order != 0] for p in pairs.values()]
                       or [np.array([])])
    d = d[np.isfinite(d)]
    if d.size == 0:
        return None
    return OrderEffect(int(d.size), signed_rank_p(d), math.exp(hodges_lehmann(d).estimate))


def one_sided(frame: pd.DataFrame, metric: str, arm: int, baseline: int = 0) -> Tuple[List[CaseKey], List[CaseKey]]:
    """(cases with values in `baseline` only, cases with values in `arm` only), in row order."""
    data = _slot_frame(frame, metric)
    only_base, only_current = [], []
    for (name, threads), part in data.groupby(["name", "threads"], sort=False):
        b, c = (part["arm"] == baseline).any(), (part["arm"] == arm).any()
        if b and not c:
            only_base.append((str(name), float(threads)))
        elif c and not b:
            only_current.append((str(name), float(threads)))
    return only_base, only_current


# --- the comparison ------------------------------------------------------------------------

def too_few_note(n: int, needed: int, alpha: float) -> str:
    return (f"too few pairs ({n} process slot{'s' if n != 1 else ''} with both arms): the signed-rank test needs "
            f"{needed} to reach p < {alpha:g} (smallest possible p with {n}: {smallest_p(n):.3f})")


def compare_pairs(pairs: Mapping[CaseKey, Pairs], metric: str, options: Options = Options(),
                  direction: Optional[str] = None, only_base: Sequence[CaseKey] = (),
                  only_current: Sequence[CaseKey] = ()) -> Comparison:
    """A Comparison (compare.py's shape, unit "pair", plus n_pairs) of arm j against arm 0."""
    direction = direction or schema.direction(metric)
    if direction is None:
        raise ValueError(f"{metric} has no direction (not an outcome)")
    needed = min_pairs(options.alpha)
    rows = []
    for key, pair in pairs.items():
        d = pair.log_ratios
        n = int(d.size)
        row = dict(case=compare.case_label(*key), name=key[0], threads=key[1], unit=PAIR,
                   n_base=pair.slots_base, n_current=pair.slots_current, n_pairs=n,
                   samples_base=int(pair.base_values.size), samples_current=int(pair.current_values.size))
        for side, v in (("base", pair.base_values), ("current", pair.current_values)):
            if v.size:
                interval = summary.median_ci(v, options.confidence)
                row[f"median_{side}"], row[f"{side}_ci_low"], row[f"{side}_ci_high"] = (
                    float(np.median(v)), interval.low, interval.high)
            else:
                row[f"median_{side}"] = row[f"{side}_ci_low"] = row[f"{side}_ci_high"] = math.nan
        shift = hodges_lehmann(d, options.confidence)
        r, low, high = (math.exp(shift.estimate), math.exp(shift.low), math.exp(shift.high)) if n else (math.nan,) * 3
        row.update(ratio=r, ratio_ci_low=low, ratio_ci_high=high, ratio_ci_coverage=shift.coverage,
                   worse_factor=compare.worse_factor(r, direction) if n else math.nan,
                   p_value=signed_rank_p(d) if n >= needed else math.nan)
        rows.append(row)
    table = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in ("p_adjusted", "verdict", "note")])
    table["p_adjusted"] = compare.benjamini_hochberg(table["p_value"].to_numpy(dtype=float)) if rows else []
    decide_options = dataclasses.replace(options, min_samples=needed)
    verdicts = []
    for r in table.itertuples():
        if r.n_pairs < needed:
            verdicts.append((compare.INCONCLUSIVE, too_few_note(int(r.n_pairs), needed, options.alpha)))
        else:
            verdicts.append(compare.decide(r.p_adjusted, r.ratio, (r.ratio_ci_low, r.ratio_ci_high), direction,
                                           decide_options, int(r.n_pairs), int(r.n_pairs), PAIR))
    table["verdict"] = [v for v, _ in verdicts]
    table["note"] = [n for _, n in verdicts]
    return Comparison(metric, direction, options, table[list(COLUMNS)], list(only_base), list(only_current))


def compare_arms(frame: pd.DataFrame, metric: str, arm: int, options: Options = Options(),
                 direction: Optional[str] = None, baseline: int = 0,
                 cases: Optional[set] = None) -> Tuple[Comparison, Dict[CaseKey, Pairs]]:
    """Arm `arm` against `baseline` over the usable rows `frame` (optionally only `cases`)."""
    pairs = pairs_by_case(frame, metric, arm, baseline)
    only_base, only_current = one_sided(frame, metric, arm, baseline)
    if cases is not None:
        pairs = {k: v for k, v in pairs.items() if k in cases}
        only_base = [k for k in only_base if k in cases]
        only_current = [k for k in only_current if k in cases]
    return compare_pairs(pairs, metric, options, direction, only_base, only_current), pairs
