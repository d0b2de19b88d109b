"""mapbench's analysis CLI: one program, subcommands.

Exit status: 0 done; 2 bad input or usage (one line on stderr, never a traceback);
1 an unexpected internal error (with its traceback: that is a bug to report).
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

PROG = "mapbench"
EXIT_BAD_INPUT = 2


def _eprint(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Analyse mapbench run folders (results.csv + environment.json).",
        epilog="Exit status: 0 done, 2 bad input or usage, 1 internal error.")
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
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    try:
        # Imported here so a missing or broken package is one clear line, not a traceback.
        from mapbench_cli import plot
        from mapbench_cli.runs import BadInput
    except ImportError as e:
        _eprint(f"{PROG}: cannot import {getattr(e, 'name', None) or e}; run ci/install-deps, or: apt-get install "
                "python3-matplotlib python3-pandas python3-numpy python3-scipy")
        return EXIT_BAD_INPUT
    try:
        if args.command == "plot":
            return plot.plot_command(args.runs, args.out, say=_say, warn=lambda w: _eprint(f"{PROG}: warning: {w}"))
    except BadInput as e:
        _eprint(f"{PROG} {args.command}: {e}")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _eprint(f"{PROG}: interrupted")
        return 130
    except BrokenPipeError:
        return 0
    return EXIT_BAD_INPUT


def _say(line: str) -> None:
    print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
