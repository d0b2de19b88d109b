"""`mapbench plot RUN_DIR...`: one set of figures per workload family (figures/plot.py draws them)."""

from __future__ import annotations

import argparse
from typing import Callable


def add_parser(commands) -> None:
    plot = commands.add_parser(
        "plot", help="draw figures (PNG and SVG) from one or more run folders",
        description="Draw one set of figures per workload family: medians with confidence intervals "
                    "of the median over repetitions. Several runs are concatenated (repetitions of the "
                    "same case are pooled). Rows whose status is not ok are left out and counted.")
    plot.add_argument("runs", nargs="+", metavar="RUN_DIR",
                      help="a run folder holding results.csv, or a results CSV file")
    plot.add_argument("--out", metavar="DIR",
                      help="folder for the figures (default: the first RUN_DIR's plots/ folder)")


def run(args, parser: argparse.ArgumentParser, say: Callable[[str], None], warn: Callable[[str], None]) -> int:
    from mapbench_cli.figures.plot_run import plot_command  # late: pandas (and matplotlib once the input is good)
    return plot_command(args.runs, args.out, say=say, warn=warn)
