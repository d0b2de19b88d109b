"""`history` in words: the runs in their order, and a table of the steps found (terminal, CSV)."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import List

from mapbench_cli.data import schema
from mapbench_cli.stats.history import History
from mapbench_cli.text.words import clean

STEP_COLUMNS = ("case", "family", "threads", "run_id", "label", "previous_run_id", "ratio", "ratio_ci_low",
                "ratio_ci_high", "change_percent", "direction", "p_value", "p_adjusted", "runs_before", "runs_after")


def _percent(ratio: float) -> str:
    if not math.isfinite(ratio):
        return "∞"
    return f"{(ratio - 1) * 100:+.1f}%"


def headline(history: History) -> str:
    steps = history.steps
    cases = len({id(c) for c, _ in steps})
    worse = sum(s.direction == "worse" for _, s in steps)
    if not steps:
        return f"no step in {len(history.cases)} cases over {len(history.runs)} runs"
    return (f"{len(steps)} step{'s' if len(steps) != 1 else ''} in {cases} of {len(history.cases)} cases over "
            f"{len(history.runs)} runs ({worse} worse, {len(steps) - worse} better)")


def settings(history: History) -> str:
    o = history.options
    order = "by start time (environment.json)" if o.order == "start" else "as given"
    return (f"runs ordered {order}; PELT on log(per-run median), penalty {o.penalty:g}·log(n)·σ²; each step "
            f"confirmed by Mann-Whitney before/after, Benjamini-Hochberg over {sum(len(c.steps) for c in history.cases)} "
            f"candidates, alpha {o.alpha:g}" + (f", at least {o.threshold:.0%}" if o.threshold else ""))


def step_rows(history: History) -> List[dict]:
    rows = []
    for case, s in history.steps:
        rows.append({
            "case": case.label, "family": case.family, "threads": case.key[1], "run_id": s.run.run_id,
            "label": s.run.label, "previous_run_id": s.previous.run_id, "ratio": s.step.ratio,
            "ratio_ci_low": s.step.ci_low, "ratio_ci_high": s.step.ci_high,
            "change_percent": (s.step.ratio - 1) * 100 if math.isfinite(s.step.ratio) else math.inf,
            "direction": s.direction, "p_value": s.step.p_value, "p_adjusted": s.p_adjusted,
            "runs_before": s.step.n_before, "runs_after": s.step.n_after})
    return rows


def terminal(history: History) -> List[str]:
    column = schema.describe(history.metric)
    lines = [f"mapbench history: {headline(history)}",
             f"metric: {history.metric} ({column.label}, {history.direction} is better)",
             settings(history), "", "runs:"]
    for i, info in enumerate(history.runs):
        lines.append(f"  {i + 1:>3}  {clean(info.run_id)}  {clean(info.start) or '-'}  {clean(info.label)}")
    rows = step_rows(history)
    if rows:
        header = ["case", "step at run", "commit / kernel", "change", f"{history.options.confidence:.0%} CI",
                  "direction", "p (BH)"]
        cells = [[clean(r["case"]), clean(r["run_id"]), clean(r["label"]), _percent(r["ratio"]),
                  f"{_percent(r['ratio_ci_low'])} … {_percent(r['ratio_ci_high'])}", r["direction"],
                  f"{r['p_adjusted']:.2g}"] for r in rows]
        widths = [max(len(str(x)) for x in col) for col in zip(header, *cells)]
        numbers = {3, 4, 6}

        def line(values):
            return "  ".join(str(v).rjust(w) if i in numbers else str(v).ljust(w)
                             for i, (v, w) in enumerate(zip(values, widths))).rstrip()
        lines += ["", line(header), line(["-" * w for w in widths])] + [line(c) for c in cells]
    quiet = [c for c in history.cases if not c.reported]
    lines += ["", f"{len(quiet)} case{'s' if len(quiet) != 1 else ''} without a step"]
    if any(c.coverage < history.options.confidence - 1e-12 for c in history.cases):
        worst = min(c.coverage for c in history.cases)
        lines.append(f"note: some runs have too few repetitions for a {history.options.confidence:.0%} interval "
                     f"of the median; min–max drawn (coverage {worst:.0%})")
    lines += [f"note: {clean(n)}" for n in history.notes]
    return lines


def write_csv(history: History, path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=STEP_COLUMNS)
        writer.writeheader()
        for row in step_rows(history):
            writer.writerow(row)
