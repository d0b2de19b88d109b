"""`mapbench compare RUN` on one interleaved run, computed: arm 0 (BASE) against each other arm
(CURRENT), paired by process slot (stats/paired.py), one Outcome per arm with its notes, as
stats/outcome.py gives for two runs. No printing, no drawing (text/paired_compare.py words it).
"""

from __future__ import annotations

from typing import Collection, List, Optional, Sequence

import pandas as pd

from mapbench_cli.data.environment import interleave_of
from mapbench_cli.data.runs import BadInput, load_runs
from mapbench_cli.stats import compare, outcome as two_runs, paired
from mapbench_cli.stats.compare import Options
from mapbench_cli.stats.outcome import Outcome, Side
from mapbench_cli.text.words import clean, count_range


def loads_interleaved(paths: Sequence[str]) -> bool:
    """Whether `paths` load as runs whose rows carry two or more arms (False when they do not load)."""
    try:
        return paired.is_interleaved(load_runs(paths).frame)
    except BadInput:
        return False


def _arm_side(label: str, path: str, arm: int, variant: str, results, ok: pd.DataFrame) -> Side:
    rows = ok[paired.arm_numbers(ok) == arm]
    return Side(label, [f"{path} arm {arm} ({variant})"], results, rows)


def _companions(outcome: Outcome, ok: pd.DataFrame, arm: int, metric: str, options: Options) -> None:
    keep = set(zip(outcome.primary.table["name"], outcome.primary.table["threads"]))
    for companion in two_runs.COMPANIONS:
        if companion == metric:
            continue
        if companion == compare.INSTRUCTIONS:
            reason = two_runs._instructions_unavailable((outcome.base, outcome.current))
            if reason:
                outcome.notes.append(reason)
                continue
        if companion not in ok:
            continue
        c, _ = paired.compare_arms(ok, companion, arm, options, cases=keep)
        if len(c.table):
            outcome.companions.append(c)


def run(path: str, metric: str = two_runs.TIME, options: Options = Options(),
        families: Optional[Collection[str]] = None, keep_warnings: bool = True) -> List[Outcome]:
    """One Outcome per arm j >= 1, against arm 0; over the rows of `families` only when given
    (and without the run's loading warnings unless `keep_warnings`)."""
    whole = two_runs.load_side([path], "RUN", options.max_steal)   # a slot that loses an arm gives no pair
    if families is not None:
        whole = two_runs.families_of(whole, families, options.max_steal, keep_warnings)
    direction = two_runs.check_metric(metric, [whole])
    two_runs.check_counter_scope(metric, [whole])
    arms = paired.arms(whole.results.frame)
    if 0 not in arms:
        raise BadInput(f"RUN ({whole.where()}): no row of arm 0, the baseline of the interleaved values")
    block = interleave_of(whole.envs)
    labels = paired.variant_labels(whole.results.frame, block)
    knob = block.get("knob") or labels[0].split("=")[0]
    ok = whole.ok
    outcomes = []
    for arm in arms[1:]:
        base = _arm_side("BASE", path, 0, labels[0], whole.results, ok)
        current = _arm_side("CURRENT", path, arm, labels[arm], whole.results, ok)
        primary, pairs = paired.compare_arms(ok, metric, arm, options, direction)
        if primary.table.empty:
            raise BadInput(f"RUN ({whole.where()}): no case has values of {metric} in both arm 0 and arm {arm}")
        # arms: what each side ran, for titles and the CSV
        outcome = Outcome(base, current, primary, [], arms=((0, labels[0]), (arm, labels[arm])))
        slots = sorted(set(s for p in pairs.values() for s in p.slots))
        outcome.notes.append(f"paired: {len(slots)} process slot{'s' if len(slots) != 1 else ''}, interleaved "
                             f"{clean(knob)} values (BASE arm 0 {clean(labels[0])}, CURRENT arm {arm} "
                             f"{clean(labels[arm])}{', seed ' + str(block['seed']) if 'seed' in block else ''})")
        outcome.notes += two_runs.steal_notes([whole], options.max_steal)
        lone = {k: p.without_pair for k, p in pairs.items() if p.without_pair}
        if lone:
            example = next(iter(lone))
            outcome.notes.append(
                f"{sum(lone.values())} process slot{'s' if sum(lone.values()) != 1 else ''} of {len(lone)} "
                f"case{'s' if len(lone) != 1 else ''} had only one of the two arms and gave no pair (e.g. "
                f"{compare.case_label(*example)}: {lone[example]}): those slots were dropped")
        zero = sum(p.zero_median for p in pairs.values())
        if zero:
            outcome.notes.append(f"{zero} pair{'s' if zero != 1 else ''} dropped: a median of 0 in one arm only "
                                 "(the log-ratio is undefined)")
        _companions(outcome, ok, arm, metric, options)
        for key in primary.only_base:
            outcome.missing_detail[key] = f"arm {arm} has no usable row"
        for key in primary.only_current:
            outcome.missing_detail[key] = "arm 0 has no usable row"
        counts = {k: v for k, v in two_runs._status_counts(whole.results.frame).items() if k != "ok"}
        if counts:
            outcome.not_compared["RUN"] = counts
        order = paired.order_effect(pairs)
        if order and order.pairs >= paired.min_pairs(options.alpha) and order.p_value < options.alpha:
            outcome.notes.append(
                f"order effect: in a slot, the arm run later measured {order.ratio:.3f}x the {metric} of the arm run "
                f"earlier (Hodges–Lehmann over {order.pairs} pairs of every case, signed-rank "
                f"p = {order.p_value:.2g}); "
                "the random balanced order keeps it out of the ratios on average, but it widens their intervals")
        short = primary.table[primary.table["ratio_ci_coverage"] < options.confidence - 1e-12]
        if len(short):
            outcome.notes.append(
                f"{len(short)} case{'s' if len(short) != 1 else ''} with {count_range(short['n_pairs'])} pairs: no "
                f"Hodges–Lehmann interval reaches {options.confidence:.0%}, the widest one shown covers "
                f"{short['ratio_ci_coverage'].min():.1%} (run more processes)")
        if options.unit != compare.AUTO:
            outcome.notes.append(f"--unit {options.unit} does not apply: the unit of a paired comparison is the "
                                 "process slot")
        outcome.warnings += [f"RUN: {w}" for w in whole.results.warnings]
        outcomes.append(outcome)
    return outcomes
