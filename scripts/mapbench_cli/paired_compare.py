"""`mapbench compare RUN` on one interleaved run: arm 0 (BASE) against each other arm
(CURRENT), paired by process slot (paired.py computes; compare_report presents).

Hooks elsewhere (one line each): cli.main sends `compare RUN` here when RUN is
interleaved; compare_report.run refuses an interleaved run given as BASE or CURRENT;
compare_report._settings_text words the settings of a paired comparison.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, List, Optional, Sequence

import pandas as pd

from mapbench_cli import compare, compare_report, paired
from mapbench_cli.compare import Options
from mapbench_cli.compare_report import Outcome, Side
from mapbench_cli.runs import BadInput, load_runs
from mapbench_cli.text import clean, count_range, show


def interleave_of(envs: Sequence[Optional[dict]]) -> dict:
    """The first run's environment.json "interleave" block ({} when there is none)."""
    for env in envs:
        block = (env or {}).get("interleave")
        if isinstance(block, dict):
            return block
    return {}


def path_is_interleaved(path: str) -> bool:
    """Whether `path` loads as a run whose rows carry two or more arms (False when it does not load)."""
    try:
        return paired.is_interleaved(load_runs([path]).frame)
    except BadInput:
        return False


def wants_paired(args) -> bool:
    """`compare RUN`: a single positional run, interleaved."""
    return len(args.pair or []) == 1 and not args.base and not args.current and path_is_interleaved(args.pair[0])


def refuse_interleaved(sides: Sequence[Side]) -> None:
    """BadInput when BASE or CURRENT is an interleaved run: its arms are compared within the run."""
    for side in sides:
        if paired.is_interleaved(side.results.frame):
            knob = interleave_of(side.envs).get("knob") or "a knob"
            raise BadInput(f"{side.label} ({side.where()}) is an interleaved run (arms of {clean(knob)}): compare the "
                           f"arms of one run with `mapbench compare RUN`, not two runs")


def settings_text(o: Options, tested: int) -> str:
    return (f"regression = Wilcoxon signed-rank p < {o.alpha:g} on the log-ratios of paired process medians, after "
            f"Benjamini–Hochberg over the {tested} case{'s' if tested != 1 else ''} tested, and worse by more than "
            f"{o.threshold:.0%}; ratio = Hodges–Lehmann estimate of the median ratio CURRENT / BASE over the pairs, "
            f"with its {o.confidence:.0%} distribution-free interval (Walsh averages)")


def _arm_side(label: str, path: str, arm: int, variant: str, results, ok: pd.DataFrame) -> Side:
    rows = ok[paired.arm_numbers(ok) == arm]
    return Side(label, [f"{path} arm {arm} ({variant})"], results, rows)


def _companions(outcome: Outcome, ok: pd.DataFrame, arm: int, metric: str, options: Options) -> None:
    keep = set(zip(outcome.primary.table["name"], outcome.primary.table["threads"]))
    for companion in compare_report.COMPANIONS:
        if companion == metric:
            continue
        if companion == compare.INSTRUCTIONS:
            reason = compare_report._instructions_unavailable((outcome.base, outcome.current))
            if reason:
                outcome.notes.append(reason)
                continue
        if companion not in ok:
            continue
        c, _ = paired.compare_arms(ok, companion, arm, options, cases=keep)
        if len(c.table):
            outcome.companions.append(c)


def run(path: str, metric: str = compare_report.TIME, options: Options = Options()) -> List[Outcome]:
    """One Outcome per arm j >= 1, against arm 0."""
    whole = compare_report.load_side([path], "RUN")
    direction = compare_report.check_metric(metric, [whole])
    compare_report.check_counter_scope(metric, [whole])
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
        outcome = Outcome(base, current, primary, [])
        outcome.arms = ((0, labels[0]), (arm, labels[arm]))   # what each side ran, for titles and the CSV
        slots = sorted(set(s for p in pairs.values() for s in p.slots))
        outcome.notes.append(f"paired: {len(slots)} process slot{'s' if len(slots) != 1 else ''}, interleaved "
                             f"{clean(knob)} values (BASE arm 0 {clean(labels[0])}, CURRENT arm {arm} "
                             f"{clean(labels[arm])}{', seed ' + str(block['seed']) if 'seed' in block else ''})")
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
        counts = {k: v for k, v in compare_report._status_counts(whole.results.frame).items() if k != "ok"}
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


def _with_paired_line(lines: List[str], outcome: Outcome) -> List[str]:
    """The terminal lines with the "paired: ..." note moved up, under the headline."""
    note = outcome.notes[0]
    rest = [line for line in lines if line.strip() != note]
    if rest and rest[-1] == "Notes:":
        rest.pop()
    return rest[:1] + [note] + rest[1:]


def _title(outcome: Outcome) -> str:
    (_, base), (_, current) = outcome.arms
    return f"mapbench compare {current} vs {base}"


def _csv(outcomes: List[Outcome]) -> pd.DataFrame:
    frames = []
    for o in outcomes:
        f = compare_report.csv_frame(o)
        (base_arm, base), (current_arm, current) = o.arms
        for i, (column, value) in enumerate((("base_arm", base_arm), ("base_variant", base),
                                             ("current_arm", current_arm), ("current_variant", current))):
            f.insert(i, column, compare_report._csv_safe(value))
        frames.append(f)
    return pd.concat(frames, ignore_index=True, sort=False)


def compare_command(path: str, metric: str, options: Options, markdown_path: Optional[str] = None,
                    csv_path: Optional[str] = None, plot_path: Optional[str] = None,
                    say: Callable[[str], None] = print) -> int:
    md = compare_report.check_output(markdown_path, "--markdown")
    cs = compare_report.check_output(csv_path, "--csv")
    pl = compare_report.check_output(plot_path, "--plot", compare_report.PLOT_FORMATS)
    outcomes = run(path, metric, options)
    for i, outcome in enumerate(outcomes):
        if i:
            say("")
        for line in _with_paired_line(compare_report.terminal(outcome), outcome):
            say(line)
    written: List[Path] = []
    try:
        if md:
            md.write_text("\n".join(compare_report.markdown(o, _title(o)) for o in outcomes), encoding="utf-8")
            written.append(md)
        if cs:
            _csv(outcomes).to_csv(cs, index=False, float_format="%.10g")
            written.append(cs)
        if pl:
            for i, o in enumerate(outcomes):
                target = pl if len(outcomes) == 1 else pl.with_name(f"{pl.stem}-arm{o.arms[1][0]}{pl.suffix}")
                compare_report.plot(o, target)
                written.append(target)
    except OSError as e:
        raise BadInput(f"cannot write {show(getattr(e, 'filename', '') or 'an output')}: {e.strerror or e}") from None
    for p in written:
        say(f"wrote {show(p)}")
    return max(o.exit_status for o in outcomes)
