"""`mapbench history RUN...`: the same cases over many runs (one per commit or kernel): a trend
figure per family and the steps found (stats/history.py, stats/changepoint.py; docs/history.md).

Exit status: 0 done (steps or not: history describes, compare and regress judge), 2 unusable input.
"""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path
from typing import Callable

from mapbench_cli.commands.common import check_output, percent, positive_int, probability
from mapbench_cli.data.files import BadInput
from mapbench_cli.text.words import show


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, not {text!r}")
    return value


def _wrap(text: str) -> str:
    return "\n".join(textwrap.fill(paragraph, 88) for paragraph in text.split("\n"))


def add_parser(commands) -> None:
    p = commands.add_parser(
        "history", help="many runs over time: a trend per case and the runs where it stepped",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=_wrap("Order the runs (by run.start_time in environment.json, or as given), summarise every case "
                    "per run (median and the interval of the median over its repetitions) and find the steps: "
                    "PELT on log(per-run median) with a penalty, each candidate confirmed by a Mann-Whitney test "
                    "of the samples before vs after, Benjamini-Hochberg over all candidates of all cases "
                    "(docs/history.md: the method and its measured false alarms).\n"
                    "Prints the runs and a table of the steps (case, the run it happened at with its commit and "
                    "kernel, the change with its interval, better or worse); draws one PNG per family."),
        epilog="Exit status: 0 done (with or without steps), 2 unusable input.")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run folders or results CSV files (at least 2)")
    p.add_argument("--metric", default="ns_per_op", metavar="COLUMN",
                   help="the column followed (default ns_per_op), as compare's --metric")
    p.add_argument("--order", choices=("start", "given"), default="start",
                   help="start: by run.start_time (default); given: as on the command line")
    p.add_argument("--out", default="history", metavar="DIR",
                   help="folder for the figures (default ./history; made if missing)")
    p.add_argument("--no-plot", action="store_true", help="print the table only")
    p.add_argument("--cases", type=positive_int, default=12, metavar="N",
                   help="panels per family figure: the N cases that stepped or moved most (default 12)")
    p.add_argument("--csv", metavar="FILE", help="write the steps as CSV")
    p.add_argument("--alpha", type=probability, default=0.05,
                   help="on the Benjamini-Hochberg adjusted p-value of a step (default 0.05)")
    p.add_argument("--threshold", type=percent, default=0.0, metavar="PERCENT",
                   help="report only steps at least this large (default 0: every confirmed step)")
    p.add_argument("--penalty", type=_positive, default=4.0,
                   help="PELT penalty per change point, times log(runs) and the noise variance (default 4)")
    p.add_argument("--confidence", type=probability, default=0.95, help="of the intervals (default 0.95)")
    p.add_argument("--resamples", type=positive_int, default=1000, metavar="N",
                   help="bootstrap resamples per step (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0): same input, same output")


def run(args, parser: argparse.ArgumentParser, say: Callable[[str], None], warn: Callable[[str], None]) -> int:
    if len(args.runs) < 2:
        raise BadInput(f"needs at least 2 runs, got {len(args.runs)}")
    csv_path = check_output(args.csv, "--csv")
    out = None if args.no_plot else Path(args.out)
    if out is not None and out.exists() and not out.is_dir():
        raise BadInput(f"--out {show(out)}: exists and is not a folder")
    from mapbench_cli.stats import history as stats  # late: pandas, scipy
    from mapbench_cli.text import history as text
    options = stats.Options(penalty=args.penalty, alpha=args.alpha, threshold=args.threshold,
                            confidence=args.confidence, resamples=args.resamples, seed=args.seed, order=args.order)
    history = stats.run(args.runs, args.metric, options)
    for line in text.terminal(history):
        say(line)
    written = []
    try:
        if csv_path:
            text.write_csv(history, csv_path)
            written.append(csv_path)
        if out is not None:
            from mapbench_cli.figures import history as figures
            out.mkdir(parents=True, exist_ok=True)
            written += figures.draw(history, out, args.cases)
    except OSError as e:
        raise BadInput(f"cannot write {show(getattr(e, 'filename', '') or 'an output')}: {e.strerror or e}") from None
    for path in written:
        say(f"wrote {show(path)}")
    return 0
