"""`history`'s trend figures: one PNG per family, a panel per case (the worst N), each the
per-run median with its interval, the steps found drawn as dashed lines with their size.

The y axis is logarithmic, as the family figures draw times and rates, when a panel spans
more than a factor of 2; a narrower range stays linear (a log axis over ±20 % only loses the
tick labels).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Dict, List

import numpy as np

from mapbench_cli.data import schema
from mapbench_cli.stats.history import History, ranked
from mapbench_cli.text.compare import common_parts, shorten
from mapbench_cli.text.words import figure_text, file_part

LOG_SPAN = 2.0
STEP_COLOURS = {"worse": "#c0392b", "better": "#1e8449"}
MEDIAN_COLOUR = "#1f4e79"
DENSE = 30          # more runs than this: intervals drawn as a band
TITLE_CHARS = 58    # a panel title's line


def _wrapped(title: str, width: int = TITLE_CHARS) -> str:
    """A case name over lines of at most `width` characters, broken after a '/'."""
    lines, line = [], ""
    for part in title.split("/"):
        piece = part if not line else "/" + part
        if line and len(line) + len(piece) > width:
            lines.append(line + "/")
            line = part
        else:
            line += piece
    lines.append(line)
    return "\n".join(lines)


def _ticks(history: History, n: int):
    """Run positions and labels: short commits (or run ids) for a few runs, numbers for many."""
    if n <= 12:
        labels = []
        for info in history.runs:
            labels.append(info.commit[:8] if info.commit else info.run_id[-14:])
        return list(range(n)), labels
    step = max(1, int(math.ceil(n / 10)))
    positions = list(range(0, n, step))
    return positions, [str(p + 1) for p in positions]


def draw(history: History, out_dir: Path, cases_per_figure: int = 12) -> List[Path]:
    from mapbench_cli.figures import base  # late: matplotlib
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    by_family: Dict[str, list] = {}
    for case in ranked(history):
        by_family.setdefault(case.family, []).append(case)
    written: List[Path] = []
    n_runs = len(history.runs)
    column = schema.describe(history.metric)
    for family, cases in sorted(by_family.items()):
        shown = cases[:cases_per_figure]
        drop = common_parts([c.label for c in shown]) if len(shown) > 1 else []
        cols = 1 if len(shown) == 1 else 2 if len(shown) <= 4 else 3
        rows = int(math.ceil(len(shown) / cols))
        fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.7 * rows + 1.0), squeeze=False)
        for ax in axes.flat[len(shown):]:
            ax.set_visible(False)
        values = np.concatenate([np.concatenate([c.medians, c.ci_low, c.ci_high]) for c in shown])
        scale, unit = schema.display_scale(history.metric, values.tolist())
        for ax, case in zip(axes.flat, shown):
            x = np.array(case.runs, dtype=float)
            m, lo, hi = case.medians / scale, case.ci_low / scale, case.ci_high / scale
            if n_runs <= DENSE:
                ax.errorbar(x, m, yerr=[np.maximum(m - lo, 0), np.maximum(hi - m, 0)], fmt="o-", ms=3, lw=1,
                            color=MEDIAN_COLOUR, ecolor="#8fa9c4", elinewidth=1, capsize=1.5)
            else:  # many runs: the intervals as a band, or the bars would hide the line
                ax.fill_between(x, lo, hi, color="#8fa9c4", alpha=0.45, lw=0, step="mid")
                ax.plot(x, m, "o-", ms=1.8, lw=0.9, color=MEDIAN_COLOUR)
            positive = np.concatenate([lo, hi])[np.concatenate([lo, hi]) > 0]
            if positive.size and positive.max() / positive.min() > LOG_SPAN:
                ax.set_yscale("log")
                plain = FuncFormatter(lambda v, _: f"{v:g}")
                ax.yaxis.set_major_formatter(plain)
                shown = "23456789" if positive.max() / positive.min() < 10 else "25"  # within a decade: all
                ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _, d=shown: f"{v:g}" if f"{v:.0e}"[0] in d else ""))
            for s in case.reported:
                at = case.runs[s.step.index] - 0.5
                colour = STEP_COLOURS.get(s.direction, "#333333")
                ax.axvline(at, color=colour, ls="--", lw=1.2)
                ax.annotate(f"{(s.step.ratio - 1) * 100:+.0f}% ({s.direction})", (at, 1.0),
                            xycoords=("data", "axes fraction"), xytext=(3, -10), textcoords="offset points",
                            color=colour, fontsize=7.5, va="top")
            title = shorten(case.label, drop) if drop else case.label
            if title.startswith(family + "/"):
                title = title[len(family) + 1:]
            ax.set_title(_wrapped(figure_text(title)), fontsize=7.5, loc="left")
            ax.set_xlim(-0.5, n_runs - 0.5)
            positions, labels = _ticks(history, n_runs)
            ax.set_xticks(positions)
            ax.set_xticklabels([figure_text(t) for t in labels], rotation=45 if n_runs <= 12 else 0,
                               ha="right" if n_runs <= 12 else "center", fontsize=7)
            ax.set_ylabel(figure_text(f"{column.label}" + (f" ({unit})" if unit else "")), fontsize=7.5)
            ax.grid(True, axis="y", color="#dddddd", lw=0.6)
        more = f", the {len(shown)} that moved most of {len(cases)}" if len(cases) > len(shown) else ""
        fig.suptitle(figure_text(f"mapbench history — {family}: {history.metric} per run{more}"),
                     fontsize=10, x=0.01, ha="left")
        notes = [f"median per run with its {history.options.confidence:.0%} interval over the repetitions "
                 f"(order statistics); dashed: a confirmed step ({history.direction} is better)",
                 "x: run in history order" + (" (numbers as in the terminal's list)" if n_runs > 12 else "")]
        if drop:
            notes.append("common to every panel: " + "/".join(drop))
        fig.text(0.01, 0.005, "\n".join(figure_text(n) for n in notes), fontsize=7, va="bottom", ha="left",
                 color="#444444")
        height = fig.get_figheight()
        fig.tight_layout(rect=(0, (0.2 + 0.13 * len(notes)) / height, 1, 1 - 0.35 / height))
        written += base.save(fig, out_dir, f"history-{file_part(family)}-{file_part(history.metric)}",
                             formats=["png"])
    return written
