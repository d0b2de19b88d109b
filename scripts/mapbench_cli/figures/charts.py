"""The generic charts: grouped bars with intervals (read_vs_mmap, ceiling), horizontal bars
(one bar per case), and compare's ratio chart. Built on figures/base.py's styles, layout
and frame; drawing only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from mapbench_cli.figures import base
from mapbench_cli.figures.base import BarStyle, REFERENCE_COLOUR, Value, _frame, _legend_rows, wrap_label, plt
from mapbench_cli.text.words import figure_text

from matplotlib.patches import Patch
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter, NullLocator


@dataclass
class Panel:
    title: str
    bars: Dict[Tuple[str, str], Value] = field(default_factory=dict)   # (variant, group) -> value
    reference: Dict[str, Value] = field(default_factory=dict)         # group -> value


@dataclass
class GroupedBars:
    """A grid of panels; each panel has bar groups on x and one bar per variant in a group."""
    title: str
    ylabel: str
    xlabel: str
    groups: List[str]                 # x categories, in order
    variants: List[str]               # bar keys, in order
    styles: Dict[str, BarStyle]
    panels: List[List[Optional[Panel]]]  # rows x columns (None: empty cell)
    reference_label: str = ""
    notes: List[str] = field(default_factory=list)
    # When the reference dwarfs the bars (e.g. memory bandwidth over cold-cache reads),
    # it is marked at the top of the panel instead of squashing the bars.
    reference_max_ratio: float = 2.5


def grouped_bars(spec: GroupedBars):
    L = base._layout
    rows, cols = len(spec.panels), max(len(r) for r in spec.panels)
    panel_w = max(L.min_panel_width, 0.9 + 0.22 * len(spec.variants) * len(spec.groups))
    panel_h = L.panel_height
    width = L.fit(panel_w * cols)
    legend_items = len(spec.variants) + (1 if spec.reference_label else 0)
    ncol = max(1, min(legend_items, int(width // L.legend_column)))
    frame = _frame(width, spec.title, spec.notes, _legend_rows(legend_items, ncol))
    fig, axes = plt.subplots(rows, cols, figsize=(width, panel_h * rows + frame.extra()), squeeze=False)

    # Short panels (a paper's) cannot each hold the axis label: one label for the whole column.
    shared_ylabel = rows > 1 and L.panel_height < 2.5
    if shared_ylabel:
        fig.supylabel(figure_text(spec.ylabel), x=0.01, fontsize=plt.rcParams["axes.labelsize"])
    n_var = max(1, len(spec.variants))
    slot = 0.82 / n_var
    # At most ~2.4 inches per group: a lone group must not get bars as wide as a panel.
    n_groups = max(1, len(spec.groups))
    margin = max(0.0, (width / cols) / 2.4 - n_groups) / 2
    for r, row in enumerate(spec.panels):
        for c in range(cols):
            ax = axes[r][c]
            panel = row[c] if c < len(row) else None
            if panel is None:
                ax.set_visible(False)
                continue
            _draw_panel(ax, panel, spec, slot, n_var, margin)
            if c == 0 and not shared_ylabel:
                ax.set_ylabel(figure_text(spec.ylabel))
            below = [spec.panels[rr][c] if c < len(spec.panels[rr]) else None for rr in range(r + 1, rows)]
            if all(p is None for p in below):
                ax.set_xlabel(figure_text(spec.xlabel))

    handles = [Patch(label=figure_text(spec.styles[v].label), **spec.styles[v].patch_kwargs()) for v in spec.variants]
    if spec.reference_label:
        handles.append(Line2D([], [], color=REFERENCE_COLOUR, linestyle="--", linewidth=1.3,
                              label=figure_text(spec.reference_label)))
    frame.finish(fig, handles, ncol, (spec.title, spec.notes), h_pad=1.2, w_pad=1.0)
    return fig


def _draw_panel(ax, panel: Panel, spec: GroupedBars, slot: float, n_var: int, margin: float = 0.0) -> None:
    present = [v for v in spec.variants if any((v, g) in panel.bars for g in spec.groups)]
    bar_top = 0.0
    for i, variant in enumerate(spec.variants):
        xs, heights, errs = [], [], [[], []]
        for g, group in enumerate(spec.groups):
            value = panel.bars.get((variant, group))
            if value is None:
                continue
            xs.append(g - slot * n_var / 2 + slot * (i + 0.5))
            heights.append(value.median)
            errs[0].append(max(0.0, value.median - value.low))
            errs[1].append(max(0.0, value.high - value.median))
            bar_top = max(bar_top, value.high, value.median)
        if xs:
            ax.bar(xs, heights, width=slot * 0.92, yerr=errs, zorder=2,
                   error_kw=dict(ecolor="#333333", elinewidth=0.9, capsize=2.2, capthick=0.9),
                   **spec.styles[variant].patch_kwargs())
    if not present:
        ax.text(0.5, 0.5, "no ok rows", transform=ax.transAxes, ha="center", va="center", color="0.4")

    ref_top = max((v.high for v in panel.reference.values()), default=0.0)
    fits = bar_top > 0 and ref_top <= spec.reference_max_ratio * bar_top
    top = max(bar_top, ref_top if fits else 0.0) * 1.15 or 1.0
    for g, group in enumerate(spec.groups):
        ref = panel.reference.get(group)
        if ref is None:
            continue
        if fits:
            ax.fill_between([g - 0.44, g + 0.44], ref.low, ref.high, color="0.82", zorder=1, linewidth=0)
            ax.hlines(ref.median, g - 0.44, g + 0.44, colors=REFERENCE_COLOUR, linestyles="--", linewidth=1.3, zorder=3)
        else:  # off the scale: say so at the top rather than flatten every bar
            ax.annotate(f"ceiling {ref.median:.3g} ↑", xy=(g, top * 0.985), ha="center", va="top",
                        fontsize=7.5, color=REFERENCE_COLOUR,
                        bbox=dict(boxstyle="round,pad=0.2", facecolor="white", edgecolor="0.7", linewidth=0.6))
    if present:
        for g, group in enumerate(spec.groups):
            if not any((v, group) in panel.bars for v in spec.variants):
                ax.text(g, top * 0.03, "not run", ha="center", va="bottom", fontsize=7.5, color="0.45")
    ax.set_ylim(0, top)
    ax.set_xlim(-0.5 - margin, len(spec.groups) - 0.5 + margin)
    ax.set_xticks(range(len(spec.groups)))
    ax.set_xticklabels([figure_text(g) for g in spec.groups])
    ax.set_title(figure_text(panel.title))
    ax.grid(axis="y", color="0.9", linewidth=0.7, zorder=0)
    ax.set_axisbelow(True)


@dataclass
class HorizontalBars:
    title: str
    xlabel: str
    labels: List[str]
    values: List[Value]
    colours: List[str]
    legend: Dict[str, str] = field(default_factory=dict)  # label -> colour
    log: bool = True
    notes: List[str] = field(default_factory=list)


def horizontal_bars(spec: HorizontalBars):
    L = base._layout
    labels = [wrap_label(label, L.label_chars) for label in spec.labels]
    n = len(labels)
    lines = max((label.count("\n") + 1 for label in labels), default=1)
    longest = max((len(line) for label in labels for line in label.split("\n")), default=10)
    label_w = min(7.5, 0.3 + 0.062 * longest * L.label_size / 8.0)
    width = L.fit(label_w + 5.0)
    ncol = max(1, min(len(spec.legend), int(width // (L.legend_column + 0.3))))
    frame = _frame(width, spec.title, spec.notes, _legend_rows(len(spec.legend), ncol) if spec.legend else 0)
    row_h = 0.24 * (1 + 0.75 * (lines - 1)) * L.label_size / 8.0
    fig, ax = plt.subplots(figsize=(width, max(1.9, 0.75 + row_h * n) + frame.extra()))
    ys = list(range(n))[::-1]  # first label on top
    medians = [v.median for v in spec.values]
    errs = [[max(0.0, v.median - v.low) for v in spec.values], [max(0.0, v.high - v.median) for v in spec.values]]
    ax.barh(ys, medians, xerr=errs, color=spec.colours, height=0.7, zorder=2,
            error_kw=dict(ecolor="#333333", elinewidth=0.9, capsize=2, capthick=0.9))
    ax.set_yticks(ys)
    ax.set_yticklabels(["\n".join(figure_text(line) for line in label.split("\n")) for label in labels],
                       fontsize=L.label_size, linespacing=1.0)
    ax.set_ylim(-0.6, n - 0.4)
    if spec.log and medians and all(m > 0 for m in medians):
        ax.set_xscale("log")
        lows = [v.low for v in spec.values if v.low > 0]
        low, high = (min(lows) if lows else min(medians)) / 1.6, max(v.high for v in spec.values) * 1.6
        ax.set_xlim(low, high)
        decades = math.log10(high / low)
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if decades <= 3 else (1.0,)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(figure_text(spec.xlabel))
    ax.grid(axis="x", which="both", color="0.9", linewidth=0.6, zorder=0)
    ax.set_axisbelow(True)
    handles = [Patch(facecolor=c, label=figure_text(k)) for k, c in spec.legend.items()]
    frame.finish(fig, handles, ncol, (spec.title, spec.notes))
    return fig


@dataclass
class RatioChart:
    """Ratios (CURRENT/BASE) with their intervals as horizontal error bars on a log axis."""
    title: str
    xlabel: str
    labels: List[str]
    values: List[Value]               # median ratio and interval bounds (all > 0, finite)
    colours: List[str]
    band: Tuple[float, float] = (1 / 1.05, 1.05)   # the ±threshold band around 1
    legend: Dict[str, str] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)


def ratio_chart(spec: RatioChart):
    n = len(spec.labels)
    longest = max((len(label) for label in spec.labels), default=10)
    label_w = min(7.5, 0.3 + 0.062 * longest)
    width = base._layout.fit(label_w + 4.5)
    ncol = max(1, min(len(spec.legend), int(width // 1.6)))
    frame = _frame(width, spec.title, spec.notes, _legend_rows(len(spec.legend), ncol) if spec.legend else 0)
    fig, ax = plt.subplots(figsize=(width, max(1.9, 0.75 + 0.24 * n) + frame.extra()))
    ys = list(range(n))[::-1]  # first label on top
    low_band, high_band = spec.band
    ax.axvspan(low_band, high_band, color="0.88", zorder=0, linewidth=0)
    ax.axvline(1.0, color=REFERENCE_COLOUR, linewidth=1.0, zorder=1)
    for y, v, colour in zip(ys, spec.values, spec.colours):
        ax.errorbar([v.median], [y], xerr=[[max(0.0, v.median - v.low)], [max(0.0, v.high - v.median)]],
                    fmt="o", color=colour, ecolor=colour, elinewidth=1.3, capsize=2.5, markersize=4.5, zorder=3)
    ax.set_yticks(ys)
    ax.set_yticklabels([figure_text(label) for label in spec.labels], fontsize=8)
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xscale("log")
    lows = [v.low for v in spec.values if v.low > 0] + [low_band]
    highs = [v.high for v in spec.values if math.isfinite(v.high)] + [high_band]
    low, high = min(lows) / 1.08, max(highs) * 1.08
    span = max(high / 1.0, 1.0 / low)  # symmetric around 1 on the log axis
    ax.set_xlim(1 / span, span)
    if span <= 1.2:
        candidates = (0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15)
    elif span <= 1.8:
        candidates = (0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5)
    elif span <= 4:
        candidates = (0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0)
    else:
        candidates = tuple(2.0 ** k for k in range(-12, 13))
    ticks = [t for t in candidates if 1 / span <= t <= span]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel(figure_text(spec.xlabel))
    ax.grid(axis="x", color="0.9", linewidth=0.6, zorder=0)
    ax.set_axisbelow(True)
    handles = [Line2D([], [], marker="o", linestyle="", color=c, label=figure_text(k)) for k, c in spec.legend.items()]
    frame.finish(fig, handles, ncol, (spec.title, spec.notes))
    return fig
