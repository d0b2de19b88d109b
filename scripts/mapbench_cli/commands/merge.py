"""`mapbench merge RUN... --out DIR`: runs from several hosts as one dataset (data/merge.py)."""

from __future__ import annotations

import argparse
from typing import Callable


def add_parser(commands) -> None:
    merge = commands.add_parser(
        "merge", help="concatenate run folders (from several hosts) into one dataset folder",
        description="Concatenate run folders into one dataset that plot, compare and report read like a run: "
                    "results.csv (the union of the columns; host, kernel_release and machine_class filled for "
                    "older runs from their environment.json), series.csv when a run has one, and an "
                    "environment.json listing each source run with its host, kernel and machine class (and "
                    "keeping its whole environment). Refused (exit 2): a missing or malformed CSV, schema "
                    "versions that differ, columns that cannot be aligned, a run_id in two inputs.")
    merge.add_argument("runs", nargs="+", metavar="RUN", help="a run folder (or a merged one), or a results CSV")
    merge.add_argument("--out", required=True, metavar="DIR", help="the merged folder (new or empty)")


def run(args, parser: argparse.ArgumentParser, say: Callable[[str], None], warn: Callable[[str], None]) -> int:
    from pathlib import Path

    from mapbench_cli.data.merge import merge  # late: pandas
    from mapbench_cli.text.words import show
    counts, warnings = merge(args.runs, Path(args.out))
    for w in warnings:
        warn(w)
    say(f"merged {counts['runs']} run{'s' if counts['runs'] != 1 else ''} ({counts['rows']} rows, "
        f"{counts['columns']} columns{', ' + str(counts['series_points']) + ' series points' if counts['series_points'] else ''}) "
        f"into {show(args.out)}")
    return 0
