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
    add_statistics_options(cmp)
    cmp.add_argument("--markdown", metavar="FILE", help="write a Markdown summary (CI job summary, PR comment)")
    cmp.add_argument("--csv", metavar="FILE", help="write the comparison as CSV")
    cmp.add_argument("--plot", metavar="FILE", help="draw the ratios with their intervals (.png, .svg or .pdf)")


def run(args, parser: argparse.ArgumentParser, say: Callable[[str], None], warn: Callable[[str], None]) -> int:
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


def write_outputs(outcome: Outcome, markdown_path: Optional[Path], csv_path: Optional[Path],
                  plot_path: Optional[Path], title: str = "mapbench compare") -> List[Path]:
    from mapbench_cli.text.compare import markdown, write_csv  # late: pandas
    written = []
    with _writing():
        if markdown_path:
            markdown_path.write_text(markdown(outcome, title), encoding="utf-8")
            written.append(markdown_path)
        if csv_path:
            write_csv(outcome, csv_path)
            written.append(csv_path)
        if plot_path:
            from mapbench_cli.figures.compare import plot
            plot(outcome, plot_path)
            written.append(plot_path)
    return written


@contextmanager
def _writing() -> Iterator[None]:
    """An output that cannot be written is bad input (one line), not a traceback."""
    try:
        yield
    except OSError as e:
        raise BadInput(f"cannot write {show(getattr(e, 'filename', '') or 'an output')}: {e.strerror or e}") from None


def compare_command(base: Sequence[str], current: Sequence[str], metric: str, options: Options,
                    markdown_path: Optional[str] = None, csv_path: Optional[str] = None,
                    plot_path: Optional[str] = None, say: Callable[[str], None] = print) -> int:
    md = check_output(markdown_path, "--markdown")
    cs = check_output(csv_path, "--csv")
    pl = check_output(plot_path, "--plot", PLOT_FORMATS)
    from mapbench_cli.stats.outcome import run  # late: pandas, and scipy for the tests
    from mapbench_cli.text.compare import terminal
    outcome = run(base, current, metric, options)
    for line in terminal(outcome):
        say(line)
    for path in write_outputs(outcome, md, cs, pl):
        say(f"wrote {show(path)}")
    return outcome.exit_status


def paired_command(path: str, metric: str, options: Options, markdown_path: Optional[str] = None,
                   csv_path: Optional[str] = None, plot_path: Optional[str] = None,
                   say: Callable[[str], None] = print) -> int:
    """`compare RUN`: arm 0 of one interleaved run against each other arm, paired by process slot."""
    md = check_output(markdown_path, "--markdown")
    cs = check_output(csv_path, "--csv")
    pl = check_output(plot_path, "--plot", PLOT_FORMATS)
    from mapbench_cli.stats.paired_outcome import run  # late: pandas, and scipy for the tests
    from mapbench_cli.text import paired_compare as text
    outcomes = run(path, metric, options)
    for line in text.terminal(outcomes):
        say(line)
    written: List[Path] = []
    with _writing():
        if md:
            md.write_text(text.markdown(outcomes), encoding="utf-8")
            written.append(md)
        if cs:
            text.write_csv(outcomes, cs)
            written.append(cs)
        if pl:
            from mapbench_cli.figures.compare import plot
            for o in outcomes:
                target = pl if len(outcomes) == 1 else pl.with_name(f"{pl.stem}-arm{o.arms[1][0]}{pl.suffix}")
                plot(o, target)
                written.append(target)
    for p in written:
        say(f"wrote {show(p)}")
    return max(o.exit_status for o in outcomes)
