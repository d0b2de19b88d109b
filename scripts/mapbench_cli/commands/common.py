"""What the subcommands share: argument types, the statistics options, output paths.

Cheap to import (argparse and pathlib only): `mapbench --help` and a usage error never
load pandas, and a missing package is reported by cli.main in one line.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Optional, Sequence

from mapbench_cli.data.files import BadInput
from mapbench_cli.text.words import show


def percent(text: str) -> float:
    """'5', '5%' or '2.5' -> 0.05, 0.05, 0.025 (a percentage)."""
    raw = text.strip().rstrip("%")
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a percentage: {text!r}") from None
    if not 0 <= value < 1000:
        raise argparse.ArgumentTypeError(f"a percentage from 0 to 1000, not {text!r}")
    return value / 100


def probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {text!r}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text!r}")
    return value


def add_statistics_options(p: argparse.ArgumentParser, metric: bool = True, headline: bool = False) -> None:
    """`headline`: without --metric, each family is tested on the headline column it declares."""
    if metric:
        p.add_argument("--metric", default=None if headline else "ns_per_op", metavar="COLUMN",
                       help="the column compared (default: " + (
                           "each family's headline, declared by its benchmark: ns_per_op, crossover's "
                           "steady_bytes_per_second" if headline else "ns_per_op") + "): any numeric outcome, e.g. "
                            "bytes_per_second, cpu_ns_per_op, instructions_kernel_per_page, or instructions_per_op "
                            "(user + kernel); better direction from the name's suffix")
    p.add_argument("--threshold", type=percent, default=0.05, metavar="PERCENT",
                   help="a case is a regression only if worse by more than this (default 5 %%)")
    p.add_argument("--alpha", type=probability, default=0.05,
                   help="significance level on the Benjamini-Hochberg adjusted p-value (default 0.05)")
    p.add_argument("--confidence", type=probability, default=0.95, help="of the ratio's interval (default 0.95)")
    p.add_argument("--resamples", type=positive_int, default=2000, metavar="N",
                   help="bootstrap resamples per case (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0): same input, same output")
    p.add_argument("--max-steal", type=percent, default=None, metavar="PERCENT",
                   help="leave out rows measured while the host stole more than this share of the CPU time "
                        "(steal_fraction; default: keep every row, and say how many had steal)")
    p.add_argument("--work-tolerance", type=percent, default=0.05, metavar="PERCENT",
                   help="a work metric (faults per page, TLB shootdowns, device writes, ...) changed when its "
                        "medians differ by more than this and the sides' process medians do not overlap (default 5 %%)")
    p.add_argument("--unit", choices=("auto", "process", "repetition"), default="auto",
                   help="what the test compares: the median of each process (auto, when each side has at least 2 "
                        "processes of a case) or every repetition as if independent (optimistic when processes differ)")


def options_from(args):
    from mapbench_cli.stats.compare import Options
    return Options(threshold=args.threshold, alpha=args.alpha, confidence=args.confidence,
                   resamples=args.resamples, seed=args.seed, unit=args.unit,
                   max_steal=getattr(args, "max_steal", None), work_tolerance=getattr(args, "work_tolerance", 0.05))


def check_output(path: Optional[str], what: str, suffixes: Sequence[str] = ()) -> Optional[Path]:
    """An output file's path, or BadInput before any work is done (a folder, an unknown suffix, no parent)."""
    if path is None:
        return None
    out = Path(path)
    if out.is_dir():
        raise BadInput(f"{what} {show(out)}: is a folder; give a file name")
    if suffixes and out.suffix.lower().lstrip(".") not in suffixes:
        raise BadInput(f"{what} {show(out)}: unknown format; use a name ending in "
                       + ", ".join("." + s for s in suffixes))
    if not out.parent.is_dir():
        raise BadInput(f"{what} {show(out)}: the folder {show(out.parent)} does not exist")
    return out
