"""mapbench's analysis CLI: one program, subcommands (each in commands/, with its own argparse).

Exit status: 0 done; 2 bad input or usage (one line on stderr, never a traceback);
1 an unexpected internal error (with its traceback: that is a bug to report).
`compare` (and `regress`, which runs it) use 1 for "regression found".
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from mapbench_cli.commands import compare, export, history, matrix, merge, plot, power, regress, report
from mapbench_cli.data.files import BadInput

PROG = "mapbench"
# In the order `mapbench --help` lists them.
COMMANDS = {"plot": plot, "compare": compare, "power": power, "matrix": matrix, "report": report,
            "regress": regress, "merge": merge, "history": history, "export": export}
EXIT_BAD_INPUT = 2


def _eprint(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Analyse mapbench run folders (results.csv + environment.json).",
        epilog="Exit status: 0 done, 2 bad input or usage, 1 internal error (compare, regress: 1 regression).")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for module in COMMANDS.values():
        module.add_parser(commands)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        # Imported here so a missing or broken package is one clear line, not a traceback.
        from mapbench_cli.figures import plot as _plot  # noqa: F401  (pandas, numpy and the family modules)
        if args.command != "plot":
            import scipy.stats  # noqa: F401  (the tests of compare)
    except ImportError as e:
        _eprint(f"{PROG}: cannot import {getattr(e, 'name', None) or e}; run ci/install-deps, or: apt-get install "
                "python3-matplotlib python3-pandas python3-numpy python3-scipy")
        return EXIT_BAD_INPUT
    warn = lambda w: _eprint(f"{PROG}: warning: {w}")  # noqa: E731
    try:
        if args.command in COMMANDS:
            return COMMANDS[args.command].run(args, parser, say=_say, warn=warn)
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
