"""mapbench's analysis CLI: one program, subcommands.

Exit status: 0 done; 2 bad input or usage (one line on stderr, never a traceback);
1 an unexpected internal error (with its traceback: that is a bug to report).
`compare` (and `regress`, which runs it) use 1 for "regression found".
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

PROG = "mapbench"
EXIT_BAD_INPUT = 2


def _eprint(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _percent(text: str) -> float:
    """'5', '5%' or '2.5' -> 0.05, 0.05, 0.025 (a percentage)."""
    raw = text.strip().rstrip("%")
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a percentage: {text!r}") from None
    if not 0 <= value < 1000:
        raise argparse.ArgumentTypeError(f"a percentage from 0 to 1000, not {text!r}")
    return value / 100


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text!r}")
    return value


def add_statistics_options(p: argparse.ArgumentParser, metric: bool = True) -> None:
    if metric:
        p.add_argument("--metric", default="ns_per_op", metavar="COLUMN",
                       help="the column compared (default ns_per_op): any numeric outcome, e.g. bytes_per_second, "
                            "cpu_ns_per_op, instructions_kernel_per_page, or instructions_per_op (user + kernel); "
                            "better direction from the name's suffix")
    p.add_argument("--threshold", type=_percent, default=0.05, metavar="PERCENT",
                   help="a case is a regression only if worse by more than this (default 5 %%)")
    p.add_argument("--alpha", type=_probability, default=0.05,
                   help="significance level on the Benjamini-Hochberg adjusted p-value (default 0.05)")
    p.add_argument("--confidence", type=_probability, default=0.95, help="of the ratio's interval (default 0.95)")
    p.add_argument("--resamples", type=_positive_int, default=2000, metavar="N",
                   help="bootstrap resamples per case (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0): same input, same output")
    p.add_argument("--unit", choices=("auto", "process", "repetition"), default="auto",
                   help="what the test compares: the median of each process (auto, when each side has at least 2 "
                        "processes of a case) or every repetition as if independent (optimistic when processes differ)")


def options_from(args):
    from mapbench_cli.compare import Options
    return Options(threshold=args.threshold, alpha=args.alpha, confidence=args.confidence,
                   resamples=args.resamples, seed=args.seed, unit=args.unit)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Analyse mapbench run folders (results.csv + environment.json).",
        epilog="Exit status: 0 done, 2 bad input or usage, 1 internal error (compare, regress: 1 regression).")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    plot = commands.add_parser(
        "plot", help="draw figures (PNG and SVG) from one or more run folders",
        description="Draw one set of figures per workload family: medians with confidence intervals "
                    "of the median over repetitions. Several runs are concatenated (repetitions of the "
                    "same case are pooled). Rows whose status is not ok are left out and counted.")
    plot.add_argument("runs", nargs="+", metavar="RUN_DIR",
                      help="a run folder holding results.csv, or a results CSV file")
    plot.add_argument("--out", metavar="DIR",
                      help="folder for the figures (default: the first RUN_DIR's plots/ folder)")

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

    power = commands.add_parser(
        "power", help="false-alarm rate and smallest detectable slowdown of compare, from real repeated runs",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Resample real repeated runs (made with --processes) to measure compare itself:\n"
                    "A/A: split the processes of each case into two groups that ran the same code and count "
                    "the cases compare flags (false alarms);\n"
                    "power: inject a known slowdown into one group and count how often compare reports it.")
    power.add_argument("runs", nargs="+", metavar="RUN_DIR")
    add_statistics_options(power)
    power.add_argument("--processes", type=_positive_int, default=8, metavar="N",
                       help="processes per side in each resampled comparison (default 8, as ci/regress)")
    power.add_argument("--trials", type=_positive_int, default=200, metavar="N",
                       help="resampled comparisons per setting (default 200; at least 20)")
    power.add_argument("--slowdowns", default="2,5,7.5,10,15,20,30,50,100", metavar="PERCENTS",
                       help="slowdowns to inject, in percent (default 2,5,7.5,10,15,20,30,50,100)")
    power.add_argument("--split", choices=("auto", "random", "by-run"), default="auto",
                       help="A/A halves: processes drawn at random from every run, or the two halves from two "
                            "different runs (auto: by-run when there are several runs)")
    power.add_argument("--markdown", metavar="FILE", help="also write the analysis as Markdown")

    matrix = commands.add_parser(
        "matrix", help="run the binary once per kernel-tuning combination, then compare them",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run mapbench once per combination of --tune values (needs root: the binary applies "
                    "each setting, records it in the run's environment and restores it), each into a "
                    "labelled run folder, then compare the first combination with each other one.",
        epilog="example: scripts/mapbench matrix --tune thp.enabled=always,madvise,never -- "
               "--suite quick --processes 8\nExit status: 0 done, 1 a run reported failed rows, "
               "2 bad input or a run refused (e.g. not root).")
    matrix.add_argument("--tune", action="append", required=True, metavar="KNOB=V1,V2,...",
                        help="a knob and its values (repeatable: every combination is run)")
    matrix.add_argument("--out", metavar="DIR", help="folder for the runs (default results/matrix-<time>)")
    matrix.add_argument("--binary", metavar="PATH", help="the mapbench binary (default build/mapbench beside scripts/)")
    add_statistics_options(matrix)
    matrix.add_argument("run_options", nargs=argparse.REMAINDER, metavar="-- RUN_OPTIONS",
                        help="options for every run, after --")

    report = commands.add_parser(
        "report", help="paper-ready figures (PDF, SVG, PNG), tables (Markdown, LaTeX) and an environment appendix",
        description="One figure per family comparison in PDF, SVG and PNG sized for a two-column paper, tables "
                    "of medians with confidence intervals in Markdown and LaTeX (booktabs), an environment "
                    "appendix, and an index.md linking it all. Several runs are pooled per case.")
    report.add_argument("runs", nargs="+", metavar="RUN_DIR")
    report.add_argument("--out", required=True, metavar="DIR", help="folder for the report")

    regress = commands.add_parser(
        "regress", help="CI: run a suite, compare it with a stored baseline, write the summary (ci/regress)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run the chosen suite with --processes into a new run folder, compare it with the baseline "
                    "run folder results/baselines/<name>/, write the Markdown summary to the run folder (and "
                    "to $GITHUB_STEP_SUMMARY when set). --update-baseline makes the new run the baseline.",
        epilog="Exit status: 0 no regression, 1 regression, 2 unusable input (no baseline, run failed to start).")
    regress.add_argument("--name", default="default", help="baseline name: results/baselines/<name>/ (default 'default')")
    regress.add_argument("--suite", default="quick", help="suite to run (default quick)")
    regress.add_argument("--filter", default="", metavar="REGEX", help="only the cases matching (default all)")
    regress.add_argument("--processes", type=_positive_int, default=8, metavar="N",
                         help="processes per case (default 8: the process is the unit of the test, and fewer than 4 "
                              "per side can never be significant; 8 lets one slowed case stand out among dozens)")
    regress.add_argument("--binary", metavar="PATH", help="the mapbench binary (default $MAPBENCH_BINARY, else build/mapbench)")
    regress.add_argument("--results", metavar="DIR", help="results folder (default results/ beside scripts/)")
    regress.add_argument("--run", metavar="RUN_DIR", help="use this existing run folder instead of running the suite")
    regress.add_argument("--update-baseline", action="store_true", help="store the run as the new baseline and exit 0")
    add_statistics_options(regress)
    regress.add_argument("run_options", nargs=argparse.REMAINDER, metavar="-- RUN_OPTIONS",
                         help="more options for the binary, after --")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        # Imported here so a missing or broken package is one clear line, not a traceback.
        from mapbench_cli import plot
        from mapbench_cli.runs import BadInput
        if args.command != "plot":
            import scipy.stats  # noqa: F401  (the tests of compare)
    except ImportError as e:
        _eprint(f"{PROG}: cannot import {getattr(e, 'name', None) or e}; run ci/install-deps, or: apt-get install "
                "python3-matplotlib python3-pandas python3-numpy python3-scipy")
        return EXIT_BAD_INPUT
    warn = lambda w: _eprint(f"{PROG}: warning: {w}")  # noqa: E731
    try:
        if args.command == "plot":
            return plot.plot_command(args.runs, args.out, say=_say, warn=warn)
        if args.command == "compare":
            from mapbench_cli import paired_compare  # paired hook: `compare RUN`, one interleaved run
            if paired_compare.wants_paired(args):  # paired hook
                return paired_compare.compare_command(args.pair[0], args.metric, options_from(args), args.markdown,  # paired hook
                                                      args.csv, args.plot, say=_say)  # paired hook
            base, current = _sides(parser, args)
            from mapbench_cli import compare_report
            return compare_report.compare_command(base, current, args.metric, options_from(args),
                                                  args.markdown, args.csv, args.plot, say=_say)
        if args.command == "power":
            from mapbench_cli import paired_power  # paired hook: power of an interleaved A/A run
            if paired_power.wants_paired(args):  # paired hook
                return paired_power.power_command(args, say=_say)  # paired hook
            from mapbench_cli import power
            return power.power_command(args, say=_say)
        if args.command == "matrix":
            from mapbench_cli import matrix
            return matrix.matrix_command(args, say=_say, warn=warn)
        if args.command == "report":
            from mapbench_cli import report
            return report.report_command(args.runs, args.out, say=_say, warn=warn)
        if args.command == "regress":
            from mapbench_cli import regress
            return regress.regress_command(args, say=_say, warn=warn)
    except BadInput as e:
        _eprint(f"{PROG} {args.command}: {e}")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _eprint(f"{PROG}: interrupted")
        return 130
    except BrokenPipeError:
        return 0
    return EXIT_BAD_INPUT


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


def _say(line: str) -> None:
    print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
