"""`mapbench compare`: two runs case by case, ratio, interval, significance, verdict.

Loads and compares through stats/outcome.py, presents through text/compare.py (terminal,
Markdown, CSV) and figures/compare.py (--plot). `compare RUN` with one interleaved run
compares its arms instead, paired by process slot (stats/paired_outcome.py,
text/paired_compare.py). Exit status: 0 no regression, 1 regression, 2 unusable input
(raised as BadInput, one line).
"""

from __future__ import annotations

import argparse
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, List, Optional, Sequence

from mapbench_cli.commands.common import add_statistics_options, check_output, options_from
from mapbench_cli.data.files import BadInput
from mapbench_cli.text.words import show

if TYPE_CHECKING:  # annotations only: the modules load pandas
    from mapbench_cli.stats.compare import Options
    from mapbench_cli.stats.outcome import Outcome

PLOT_FORMATS = ("png", "svg", "pdf")


def add_parser(commands) -> None:
    cmp = commands.add_parser(
        "compare", help="compare two runs case by case: ratio, interval, significance, verdict",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Compare CURRENT with BASE case by case (a case is a name and its thread count; the "
                    "repetitions of every process and every run of a side are pooled).\n\n"
                    "Per case: the ratio of medians CURRENT/BASE with a bootstrap interval, the two-sided "
                    "Mann-Whitney U test, p-values adjusted by Benjamini-Hochberg over the cases compared. "
                    "A case is a regression only when significant AND worse than --threshold in the metric's "
                    "direction; an improvement likewise; otherwise unchanged, or inconclusive when the data "
                    "cannot tell (fewer than 3 samples per side, or an interval reaching past the threshold).\n"
                    "Time and instructions (user + kernel, when counted) are shown side by side.",
        epilog="Several runs per side: --base RUN... --current RUN... instead of BASE CURRENT.\n"
               "Exit status: 0 no regression, 1 regression, 2 unusable input.")
    cmp.add_argument("pair", nargs="*", metavar="BASE CURRENT", help="run folders or results CSV files")
    cmp.add_argument("--base", nargs="+", metavar="RUN", help="BASE runs (several are pooled)")
    cmp.add_argument("--current", nargs="+", metavar="RUN", help="CURRENT runs (several are pooled)")
    cmp.add_argument("--by", choices=("host", "kernel_release", "machine_class"),
                     help="the machines of one dataset side by side (e.g. `mapbench merge`'s): the rows of the "
                          "first host (kernel, machine class) as BASE against each other one as CURRENT")
    add_statistics_options(cmp, headline=True)
    cmp.add_argument("--markdown", metavar="FILE", help="write a Markdown summary (CI job summary, PR comment)")
    cmp.add_argument("--csv", metavar="FILE", help="write the comparison as CSV")
    cmp.add_argument("--plot", metavar="FILE", help="draw the ratios with their intervals (.png, .svg or .pdf)")


def run(args, parser: argparse.ArgumentParser, say: Callable[[str], None], warn: Callable[[str], None]) -> int:
    if args.by:
        if not args.pair or args.base or args.current:
            parser.error("compare --by: give the dataset's run folders (or a merged one), without --base/--current")
        return compare_command(args.pair, [], args.metric, options_from(args), args.markdown, args.csv, args.plot,
                               say=say, by=args.by)
    if len(args.pair or []) == 1 and not args.base and not args.current:
        from mapbench_cli.stats.paired_outcome import loads_interleaved  # late: pandas
        if loads_interleaved(args.pair[:1]):   # `compare RUN`: the arms of one interleaved run
            return paired_command(args.pair[0], args.metric, options_from(args), args.markdown, args.csv, args.plot,
                                  say=say)
    base, current = _sides(parser, args)
    return compare_command(base, current, args.metric, options_from(args), args.markdown, args.csv, args.plot,
                           say=say)


def _sides(parser: argparse.ArgumentParser, args):
    if args.pair and (args.base or args.current):
        parser.error("compare: give either BASE CURRENT, or --base RUN... --current RUN..., not both")
    if args.pair:
        if len(args.pair) != 2:
            parser.error(f"compare: expected BASE CURRENT (two paths), got {len(args.pair)}; "
                         "for several runs per side use --base RUN... --current RUN...")
        return [args.pair[0]], [args.pair[1]]
    if not args.base or not args.current:
        parser.error("compare: expected BASE CURRENT, or --base RUN... --current RUN...")
    return args.base, args.current


def write_outputs(outcomes: Sequence[Outcome], markdown_path: Optional[Path], csv_path: Optional[Path],
                  plot_path: Optional[Path], title: str = "mapbench compare") -> List[Path]:
    """The outcomes (one per headline metric) in one Markdown file, one CSV, and a plot each."""
    import pandas as pd  # late, as below
    from mapbench_cli.text.compare import csv_frame, markdown
    written = []
    with _writing():
        if markdown_path:
            markdown_path.write_text("\n".join(markdown(o, title) for o in outcomes), encoding="utf-8")
            written.append(markdown_path)
        if csv_path:
            frame = pd.concat([csv_frame(o) for o in outcomes], ignore_index=True, sort=False)
            frame.to_csv(csv_path, index=False, float_format="%.10g")
            written.append(csv_path)
        if plot_path:
            written += _plots(outcomes, plot_path)
    return written


def _plots(outcomes: Sequence[Outcome], path: Path) -> List[Path]:
    """One plot per outcome: `path` itself when there is one, else named by metric and arm."""
    from mapbench_cli.figures.compare import plot
    from mapbench_cli.text.words import file_part
    metrics = {o.primary.metric for o in outcomes}
    currents = {tuple(o.current.paths) for o in outcomes}
    written = []
    for o in outcomes:
        target = path
        if len(outcomes) > 1:
            parts = ([o.primary.metric] if len(metrics) > 1 else []) + ([f"arm{o.arms[1][0]}"] if o.arms else [])
            if len(currents) > 1 and not o.arms:   # --by: one CURRENT machine per outcome
                parts.append(file_part(o.current.paths[0]))
            target = path.with_name(f"{path.stem}-{'-'.join(parts)}{path.suffix}")
        plot(o, target)
        written.append(target)
    return written


def exit_status(outcomes: Sequence[Outcome]) -> int:
    return max(o.exit_status for o in outcomes)


def compared(base: Sequence[str], current: Sequence[str], metric: Optional[str], options: Options,
             by: Optional[str] = None) -> List[Outcome]:
    """Two runs compared on `metric`, or with none on each family's headline metric; with `by`,
    the machines of the runs in `base` against each other."""
    from mapbench_cli.stats import by_machine, headline, outcome  # late: pandas, and scipy for the tests
    if by:
        return by_machine.run(base, by, metric, options)
    return headline.run(base, current, options) if metric is None else [outcome.run(base, current, metric, options)]


def terminal_lines(outcomes: Sequence[Outcome]) -> List[str]:
    """Every outcome's terminal lines, a blank line between them; with several, a line over all first."""
    from mapbench_cli.stats.compare import REGRESSION
    from mapbench_cli.text.compare import terminal
    lines: List[str] = []
    if len(outcomes) > 1:
        n = sum(o.primary.count(REGRESSION) for o in outcomes)
        cases = sum(len(o.primary.table) for o in outcomes)
        metrics = ", ".join(dict.fromkeys(o.primary.metric for o in outcomes))
        lead = f"{n} regression{'s' if n != 1 else ''}" if n else "no regression"
        lines += [f"mapbench compare: {lead} over {cases} cases in "
                  f"{len(outcomes)} comparisons ({metrics}):", ""]
    for i, o in enumerate(outcomes):
        lines += ([""] if i else []) + terminal(o)
    return lines


@contextmanager
def _writing() -> Iterator[None]:
    """An output that cannot be written is bad input (one line), not a traceback."""
    try:
        yield
    except OSError as e:
        raise BadInput(f"cannot write {show(getattr(e, 'filename', '') or 'an output')}: {e.strerror or e}") from None


def compare_command(base: Sequence[str], current: Sequence[str], metric: Optional[str], options: Options,
                    markdown_path: Optional[str] = None, csv_path: Optional[str] = None,
                    plot_path: Optional[str] = None, say: Callable[[str], None] = print,
                    by: Optional[str] = None) -> int:
    md = check_output(markdown_path, "--markdown")
    cs = check_output(csv_path, "--csv")
    pl = check_output(plot_path, "--plot", PLOT_FORMATS)
    outcomes = compared(base, current, metric, options, by)
    for line in terminal_lines(outcomes):
        say(line)
    for path in write_outputs(outcomes, md, cs, pl):
        say(f"wrote {show(path)}")
    return exit_status(outcomes)


def paired_command(path: str, metric: Optional[str], options: Options, markdown_path: Optional[str] = None,
                   csv_path: Optional[str] = None, plot_path: Optional[str] = None,
                   say: Callable[[str], None] = print) -> int:
    """`compare RUN`: arm 0 of one interleaved run against each other arm, paired by process slot."""
    md = check_output(markdown_path, "--markdown")
    cs = check_output(csv_path, "--csv")
    pl = check_output(plot_path, "--plot", PLOT_FORMATS)
    from mapbench_cli.text import paired_compare as text  # late: pandas
    outcomes = paired_outcomes(path, metric, options)
    for line in text.terminal(outcomes):
        say(line)
    for p in write_paired_outputs(outcomes, md, cs, pl):
        say(f"wrote {show(p)}")
    return exit_status(outcomes)


def paired_outcomes(path: str, metric: Optional[str], options: Options) -> List[Outcome]:
    """The arms of one interleaved run compared on `metric`, or with none on each family's headline."""
    from mapbench_cli.stats import headline, paired_outcome  # late: pandas, and scipy for the tests
    return headline.paired_run(path, options) if metric is None else paired_outcome.run(path, metric, options)


def write_paired_outputs(outcomes: Sequence[Outcome], md: Optional[Path], cs: Optional[Path],
                         pl: Optional[Path]) -> List[Path]:
    from mapbench_cli.text import paired_compare as text
    written: List[Path] = []
    with _writing():
        if md:
            md.write_text(text.markdown(list(outcomes)), encoding="utf-8")
            written.append(md)
        if cs:
            text.write_csv(list(outcomes), cs)
            written.append(cs)
        if pl:
            written += _plots(outcomes, pl)
    return written
