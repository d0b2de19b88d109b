"""A comparison's ratios with their intervals, one bar per case (`compare --plot`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from mapbench_cli.stats import compare
from mapbench_cli.data import schema
from mapbench_cli.stats.outcome import Outcome
from mapbench_cli.stats.paired import PAIR
from mapbench_cli.text.compare import common_parts, headline, short_label, shorten

# --- plot -----------------------------------------------------------------------------------

VERDICT_COLOURS = {compare.REGRESSION: "#c0392b", compare.IMPROVEMENT: "#1e8449",
                   compare.UNCHANGED: "#7f7f7f", compare.INCONCLUSIVE: "#d68910"}


def plot(outcome: Outcome, path: Path) -> None:
    from mapbench_cli.figures import base as figures  # late: matplotlib
    from mapbench_cli.figures import charts
    p = outcome.primary
    table = p.table
    drop = common_parts(list(table["case"]))
    finite = table[np.isfinite(table["ratio"]) & (table["ratio"] > 0)]
    labels = [shorten(c, drop) for c in finite["case"]]
    values = [figures.Value(r, lo if lo > 0 else r, hi if math.isfinite(hi) else r)
              for r, lo, hi in zip(finite["ratio"], finite["ratio_ci_low"], finite["ratio_ci_high"])]
    notes = []
    left_out = len(table) - len(finite)
    if left_out:
        notes.append(f"{left_out} case{'s' if left_out != 1 else ''} with a ratio of 0 or ∞ not drawn (see the table)")
    if drop:
        notes.append("common to every case: " + "/".join(drop))
    col = schema.describe(p.metric)
    better = "left" if p.direction == schema.LOWER else "right"
    kind = "Hodges–Lehmann" if PAIR in p.units else "bootstrap"   # the arms of one interleaved run
    notes.append(f"{p.options.confidence:.0%} {kind} intervals; grey band: ±{p.options.threshold:.0%} threshold; "
                 f"{better} of 1 is better ({col.direction} {short_label(p.metric)} is better)")
    notes.append(f"BASE: {', '.join(outcome.base.run_ids[:3])}  CURRENT: {', '.join(outcome.current.run_ids[:3])}")
    spec = charts.RatioChart(
        title=f"mapbench compare: {short_label(p.metric)}, CURRENT / BASE — {headline(outcome)}",
        xlabel=f"ratio of medians CURRENT / BASE ({p.metric})",
        labels=labels, values=values,
        colours=[VERDICT_COLOURS.get(v, "#333333") for v in finite["verdict"]],
        band=(1 / (1 + p.options.threshold), 1 + p.options.threshold),
        legend={v: VERDICT_COLOURS[v] for v in compare.VERDICTS if v in set(finite["verdict"])},
        notes=notes)
    fig = charts.ratio_chart(spec)
    fmt = path.suffix.lower().lstrip(".")
    figures.save(fig, path.parent, path.stem, formats=[fmt])
