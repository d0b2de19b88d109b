"""`mapbench export RUN --format FORMAT [--out FILE]`: one run for other tools (text/export.py).

github-action-benchmark's custom tools, Bencher Metric Format, Google Benchmark 1.7.1 JSON.
Strict JSON (no NaN: a value that is not finite is left out). Exit status: 0 written, 2 unusable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Callable

from mapbench_cli.commands.common import check_output, probability
from mapbench_cli.data.files import BadInput
from mapbench_cli.text.words import show

FORMATS = ("github-action-benchmark", "bencher", "google-benchmark")
_DESCRIPTION = """\
Write one run in another tool's format. Values are medians over the repetitions (all
processes pooled), with the interval of the median as range / lower_value / upper_value.

  github-action-benchmark  a list of {name, unit, value, range, extra} for the action's
                           customSmallerIsBetter or customBiggerIsBetter tool, chosen by the
                           metric's direction (printed); every --metric must share it
  bencher                  Bencher Metric Format: {case: {measure: {value, lower_value,
                           upper_value}}}, a measure per --metric (its name in kebab case)
  google-benchmark         Google Benchmark 1.7.1's JSON: every repetition, and the mean,
                           median, stddev and cv of each case and process (real_time =
                           ns_per_op, cpu_time = cpu_ns_per_op, in ns; other metrics as
                           counters). Every run folder already holds the library's own
                           benchmark.json; this rebuilds one from results.csv."""


def add_parser(commands) -> None:
    p = commands.add_parser(
        "export", help="one run as github-action-benchmark, Bencher (BMF) or Google Benchmark JSON",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=_DESCRIPTION,
        epilog="Exit status: 0 written, 2 unusable input.")
    p.add_argument("run", metavar="RUN", help="a run folder or results CSV file")
    p.add_argument("--format", required=True, choices=FORMATS)
    p.add_argument("--metric", action="append", metavar="COLUMN",
                   help="the column exported (default ns_per_op); repeat for several")
    p.add_argument("--out", metavar="FILE", help="write here (default: standard output)")
    p.add_argument("--confidence", type=probability, default=0.95, help="of the intervals (default 0.95)")


def run(args, parser: argparse.ArgumentParser, say: Callable[[str], None], warn: Callable[[str], None]) -> int:
    out = check_output(args.out, "--out")
    metrics = list(dict.fromkeys(args.metric or ["ns_per_op"]))
    from mapbench_cli.stats.outcome import check_metric, load_side  # late: pandas
    from mapbench_cli.stats.history import refuse_mixed
    from mapbench_cli.text import export
    side = load_side([args.run], "RUN")
    refuse_mixed(side)
    directions = {m: check_metric(m, [side]) for m in metrics}
    run_id = export.frame_run_id(side.results.frame)
    tool = ""
    if args.format == export.GITHUB_ACTION:
        if len(set(directions.values())) > 1:
            raise BadInput("github-action-benchmark: one file holds one direction; export "
                           + ", ".join(m for m, d in directions.items() if d == "lower") + " and "
                           + ", ".join(m for m, d in directions.items() if d == "higher") + " apart")
        document = [e for m in metrics for e in export.github_action(side, m, run_id, args.confidence)]
        tool = export.TOOLS[directions[metrics[0]]]
    elif args.format == export.BENCHER:
        document = export.bencher(side, metrics, args.confidence)
    else:
        document = export.google_benchmark(side, metrics, run_id)
    text = json.dumps(document, indent=2, allow_nan=False) + "\n"
    tool_words = f" (github-action-benchmark tool: {tool})" if tool else ""
    if out is None:
        sys.stdout.write(text)
        if tool:
            print(f"mapbench export: {tool_words.strip(' ()')}", file=sys.stderr)
        return 0
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as e:
        raise BadInput(f"cannot write {show(out)}: {e.strerror or e}") from None
    say(f"wrote {show(out)}{tool_words}")
    return 0
