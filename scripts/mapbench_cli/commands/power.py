"""`mapbench power`: the false-alarm rate and the smallest slowdown compare catches, measured by
resampling real repeated runs (stats/power.py computes, text/power.py words the result).
On an interleaved A/A run (`mapbench --interleave KNOB=A,A`), the paired test's instead:
stats/paired_power.py computes, text/paired_power.py words it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, List, Optional

from mapbench_cli.commands.common import add_statistics_options, check_output, options_from, positive_int
from mapbench_cli.data.files import BadInput
from mapbench_cli.text.words import clean

SLOWDOWNS = "2,5,7.5,10,15,20,30,50,100"   # --slowdowns' default (an interleaved run has its own)


def add_parser(commands) -> None:
    power = commands.add_parser(
        "power", help="false-alarm rate and smallest detectable slowdown of compare, from real repeated runs",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Resample real repeated runs (made with --processes) to measure compare itself:\n"
                    "A/A: split the processes of each case into two groups that ran the same code and count "
                    "the cases compare flags (false alarms);\n"
                    "power: inject a known slowdown into one group and count how often compare reports it.")
    power.add_argument("runs", nargs="+", metavar="RUN_DIR")
    add_statistics_options(power)
    power.add_argument("--processes", type=positive_int, default=8, metavar="N",
                       help="processes per side in each resampled comparison (default 8, as ci/regress)")
    power.add_argument("--trials", type=positive_int, default=200, metavar="N",
                       help="resampled comparisons per setting (default 200; at least 20)")
    power.add_argument("--slowdowns", default=SLOWDOWNS, metavar="PERCENTS",
                       help="slowdowns to inject, in percent (default 2,5,7.5,10,15,20,30,50,100)")
    power.add_argument("--split", choices=("auto", "random", "by-run"), default="auto",
                       help="A/A halves: processes drawn at random from every run, or the two halves from two "
                            "different runs (auto: by-run when there are several runs)")
    power.add_argument("--markdown", metavar="FILE", help="also write the analysis as Markdown")


def run(args, parser: argparse.ArgumentParser, say: Callable[[str], None], warn: Callable[[str], None]) -> int:
    from mapbench_cli.stats.paired_outcome import loads_interleaved  # late: pandas
    if loads_interleaved(args.runs):   # an interleaved A/A run: its arms, paired by process slot
        return paired_power_command(args, say=say)
    return power_command(args, say=say)


def _slowdowns(text: str) -> List[float]:
    try:
        values = sorted(set(float(x.strip().rstrip("%")) / 100 for x in text.split(",") if x.strip()))
    except ValueError:
        raise BadInput(f"--slowdowns {clean(text)[:40]!r}: a comma list of percentages, e.g. 5,10,20") from None
    if not values or any(not (0 < v <= 100) for v in values):
        raise BadInput("--slowdowns: percentages above 0 and at most 10000")
    return values


def power_command(args, say: Callable[[str], None] = print) -> int:
    from mapbench_cli.stats.outcome import check_metric, load_side  # late: pandas
    from mapbench_cli.stats.power import MIN_TRIALS, analyse, collect_blocks
    from mapbench_cli.text.power import lines, markdown
    if args.trials < MIN_TRIALS:
        raise BadInput(f"--trials {args.trials}: at least {MIN_TRIALS} resampled comparisons are needed for a rate")
    slowdowns = _slowdowns(args.slowdowns)
    md = check_output(args.markdown, "--markdown")
    options = options_from(args)
    side = load_side(args.runs, "RUN", options.max_steal)
    direction = check_metric(args.metric, [side])
    result = analyse(collect_blocks(side.ok, args.metric), args.metric, direction, options, args.processes,
                     args.trials, slowdowns, args.split)
    for w in side.results.warnings:
        result.notes.append(f"warning: {w}")
    return _report(lines(result), md, lambda: markdown(result), say)


def _report(text: List[str], md: Optional[Path], markdown: Callable[[], str], say: Callable[[str], None]) -> int:
    """Say the lines; write the Markdown to --markdown when asked."""
    for line in text:
        say(line)
    if md:
        try:
            md.write_text(markdown(), encoding="utf-8")
        except OSError as e:
            raise BadInput(f"--markdown {md}: cannot write: {e.strerror or e}") from None
        say(f"wrote {md}")
    return 0


def paired_power_command(args, say: Callable[[str], None] = print) -> int:
    """`power RUN` on an interleaved A/A run: arm 1 against arm 0, trials drawing process slots."""
    from mapbench_cli.data.environment import interleave_of  # late: pandas, as the rest
    from mapbench_cli.stats import paired
    from mapbench_cli.stats.outcome import check_metric, load_side, steal_notes
    from mapbench_cli.stats.paired_power import DEFAULT_SLOWDOWNS, analyse, notes, slot_matrix
    from mapbench_cli.stats.power import MIN_TRIALS
    from mapbench_cli.text.paired_power import lines, markdown
    if args.trials < MIN_TRIALS:
        raise BadInput(f"--trials {args.trials}: at least {MIN_TRIALS} resampled comparisons are needed "
                       "for a rate")
    slowdowns = list(DEFAULT_SLOWDOWNS) if args.slowdowns == SLOWDOWNS else _slowdowns(args.slowdowns)
    md = check_output(args.markdown, "--markdown")
    options = options_from(args)
    side = load_side(args.runs, "RUN", options.max_steal)
    direction = check_metric(args.metric, [side])
    block = interleave_of(side.envs)
    labels = paired.variant_labels(side.results.frame, block)
    values = [labels[a].split("=", 1)[-1] for a in sorted(labels)]
    knob = block.get("knob") or labels[min(labels)].split("=", 1)[0]
    if len(set(values)) > 1:
        raise BadInput(f"RUN is not an A/A run: its arms ran {', '.join(clean(labels[a]) for a in sorted(labels))}; "
                       f"power needs arms of the same value (--interleave {clean(knob)}={values[0]},{values[0]})")
    m = slot_matrix(side.ok, args.metric)
    if not m.cases:
        raise BadInput("no case has values in both arm 0 and arm 1")
    if args.processes > len(m.slots):
        raise BadInput(f"--processes {args.processes}: the run has only {len(m.slots)} process slots with both arms; "
                       f"ask for at most {len(m.slots)}, or run more")
    result = analyse(m, args.metric, direction, options, args.processes, args.trials, slowdowns)
    ignored = [f"--{name} {getattr(args, name)}" for name in ("split", "unit") if getattr(args, name, "auto") != "auto"]
    result.notes += notes(m, len(labels), args.processes, options, ignored) + steal_notes([side], options.max_steal)
    result.notes += [f"warning: {w}" for w in side.results.warnings]
    text = lines(result, knob, values)
    return _report(text, md, lambda: markdown(text), say)
