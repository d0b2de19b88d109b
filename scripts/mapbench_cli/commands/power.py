"""`mapbench power`: the false-alarm rate and the smallest slowdown compare catches, measured by
resampling real repeated runs (stats/power.py computes, text/power.py words the result).
"""

from __future__ import annotations

import argparse
from typing import Callable, List

from mapbench_cli.commands.common import add_statistics_options, check_output, options_from, positive_int
from mapbench_cli.data.files import BadInput
from mapbench_cli.text.words import clean


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
    power.add_argument("--slowdowns", default="2,5,7.5,10,15,20,30,50,100", metavar="PERCENTS",
                       help="slowdowns to inject, in percent (default 2,5,7.5,10,15,20,30,50,100)")
    power.add_argument("--split", choices=("auto", "random", "by-run"), default="auto",
                       help="A/A halves: processes drawn at random from every run, or the two halves from two "
                            "different runs (auto: by-run when there are several runs)")
    power.add_argument("--markdown", metavar="FILE", help="also write the analysis as Markdown")


def run(args, parser: argparse.ArgumentParser, say: Callable[[str], None], warn: Callable[[str], None]) -> int:
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
    for line in lines(result):
        say(line)
    if md:
        try:
            md.write_text(markdown(result), encoding="utf-8")
        except OSError as e:
            raise BadInput(f"--markdown {md}: cannot write: {e.strerror or e}") from None
        say(f"wrote {md}")
    return 0
