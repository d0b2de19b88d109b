"""Drawing for the per-family figures (figures/<family>.py): lines on log axes, bars on a log or
linear scale, stacked phase bars, and text in the place of what could not run.

Drawing only, like figures/base.py, and built on it: its Value and BarStyle, colours, layouts
(screen, and the paper layout `mapbench report` uses), title, legend and notes frame.
Callers hand in medians and interval bounds already in display units.

The chart's parts are data in figures/specs.py (re-exported here: families write
draw.Lines, draw.Bars, ...); figures/panels.py and figures/heat.py draw the panels and
figures/axes.py holds what they share.
"""

from __future__ import annotations

import textwrap
from typing import Optional, Sequence

from mapbench_cli.figures import base as figures
from mapbench_cli.figures.base import BarStyle, Value, plt  # noqa: F401  (re-exported for the family modules)

from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from mapbench_cli.figures.specs import (MARKERS, Bar, Bars, Chart, Heat, HeatCell, Key, Lines, Mark,  # noqa: F401
                                        Panel, Point, Scale, Series, Stacked)  # (re-exported: draw.Lines, ...)
from mapbench_cli.figures.axes import FLAG_HATCH, _fit_label, _fit_title, figure_text, wants_log  # noqa: F401
from mapbench_cli.figures.panels import _draw_bars, _draw_lines, _draw_stacked
from mapbench_cli.figures.heat import _draw_heat, _draw_scale


def _natural_width(panel: Optional[Panel]) -> float:
    L = figures._layout
    if panel is None:
        return 0.0
    if isinstance(panel, Lines):
        return max(L.min_panel_width, 3.1)
    if isinstance(panel, Heat):
        return max(L.min_panel_width, 1.0 + 0.8 * len(panel.columns))
    if isinstance(panel, Scale):
        return 1.35 if L.notes else 1.1
    if isinstance(panel, Bars):
        # Room for the category labels up to about an inch each; longer ones are rotated.
        per_group = max(0.24 * len(panel.variants), min(1.0, _label_inches(panel.groups)))
        return max(L.min_panel_width, 0.9 + per_group * len(panel.groups))
    return max(L.min_panel_width, 0.9 + max(0.5, min(0.7, _label_inches(panel.categories))) * len(panel.categories))


def _label_inches(labels: Sequence[str]) -> float:
    """Width a category's tick label wants, unrotated."""
    longest = max((len(line) for t in labels for line in str(t).split("\n")), default=1)
    return longest * plt.rcParams["xtick.labelsize"] * 0.55 / 72 + 0.12


def _handle(key: Key):
    label = figure_text(key.label)
    if key.kind == "line":
        return Line2D([], [], color=key.colour, marker=key.hatch or "o", markersize=4, linewidth=1.4, label=label)
    if key.kind == "dashed":
        return Line2D([], [], color=key.colour, linestyle="--", linewidth=1.2, label=label)
    if key.kind == "dotted":
        return Line2D([], [], color=key.colour, linestyle=":", linewidth=1.4, label=label)
    if key.kind == "boundary":
        return Line2D([], [], color=key.colour, linestyle="-", linewidth=2.4, label=label)
    if key.kind == "hollow":
        return Line2D([], [], color=key.colour, marker="o", markersize=4.5, markerfacecolor="white",
                      linestyle="", label=label)
    if key.kind == "hatch":
        return Patch(label=label, **BarStyle(label, key.colour, key.hatch or FLAG_HATCH).patch_kwargs())
    return Patch(label=label, **BarStyle(label, key.colour, key.hatch).patch_kwargs())


def draw(chart: Chart):
    """One figure: the chart's panels in a grid, one legend and the notes below."""
    L = figures._layout
    rows = len(chart.panels)
    cols = max(1, max(len(r) for r in chart.panels))
    grid = [list(r) + [None] * (cols - len(r)) for r in chart.panels]
    widths = [max([_natural_width(grid[r][c]) for r in range(rows)] + [0.5]) for c in range(cols)]
    width = L.fit(sum(widths))
    longest = max((len(k.label) for k in chart.legend), default=0)
    column = max(L.legend_column, longest * plt.rcParams["legend.fontsize"] * 0.55 / 72 + 0.75)
    ncol = max(1, min(len(chart.legend), int(width // column)))
    legend_rows = figures._legend_rows(len(chart.legend), ncol) if chart.legend else 0
    frame = figures._frame(width, chart.title, chart.notes, legend_rows)
    fig, axes = plt.subplots(rows, cols, figsize=(width, L.panel_height * rows + frame.extra()), squeeze=False,
                             gridspec_kw=dict(width_ratios=widths))
    scale = width / sum(widths)
    for r in range(rows):
        for c in range(cols):
            ax, panel = axes[r][c], grid[r][c]
            if panel is None:
                ax.set_visible(False)
                continue
            inches = widths[c] * scale
            if isinstance(panel, Lines):
                _draw_lines(ax, panel, inches)
            elif isinstance(panel, Heat):
                _draw_heat(ax, panel, inches)
            elif isinstance(panel, Scale):
                _draw_scale(ax, panel)
            elif isinstance(panel, Bars):
                _draw_bars(ax, panel, inches)
            else:
                _draw_stacked(ax, panel, inches)
            ax.set_title(_fit_title(figure_text(panel.title), inches - 0.7))
            ax.set_ylabel(_fit_label(figure_text(panel.ylabel), L.panel_height * 0.85))
            below = [grid[rr][c] for rr in range(r + 1, rows)]
            if all(p is None for p in below) or any(getattr(p, "xlabel", "") != panel.xlabel for p in below):
                ax.set_xlabel(figure_text(panel.xlabel))
    frame.finish(fig, [_handle(k) for k in chart.legend], ncol, (chart.title, chart.notes), h_pad=1.2, w_pad=1.0)
    _shorten_to_fit(fig)
    return fig


def _shorten_to_fit(fig) -> None:
    """Vertical texts standing in for bars must stay inside their axes: shorten them (…) if not."""
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        top = ax.get_window_extent(renderer).y1
        for t in ax.texts:
            if not getattr(t, "_mapbench_fit", False):
                continue
            text = t.get_text()
            while len(text) > 4 and t.get_window_extent(renderer).y1 > top - 2:
                text = text[:-2].rstrip() + "…"
                t.set_text(text)


def note_only(title: str, headline: str, notes: Sequence[str]):
    """A figure that only says why there is nothing to draw (every row skipped, say): the
    headline and the reasons in the panel itself (a paper moves notes to the caption)."""
    reasons = [n for n in notes if n]
    lines = textwrap.wrap(headline, 80)
    if not figures._layout.notes:  # no notes under the figure: the reasons go in the panel
        lines += [""] + [line for n in reasons[:8] for line in textwrap.wrap(n, 100)]
    chart = Chart(title=title, panels=[[Lines(title="", xlabel="", ylabel="", series=[],
                                              message="\n".join(lines[:14]))]], notes=reasons)
    fig = draw(chart)
    for ax in fig.axes:
        ax.axis("off")
    return fig
