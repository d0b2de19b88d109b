"""Drawing only: turn already-computed summaries into matplotlib figures and files.

Nothing here reads CSVs or computes statistics; callers (plot.py) hand in medians and
interval bounds already in display units. Colours are fixed per method (and per
pattern) so the same method looks the same in every figure of every run.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

from mapbench_cli.text import figure_text  # noqa: E402

FORMATS = ("png", "svg")
PNG_DPI = 150

plt.rcParams.update({
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "legend.fontsize": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "mapbench",  # stable SVG ids: the same data gives the same file
    "hatch.linewidth": 0.8,
})

# Fixed colours: methods (and anything else keyed by a name) keep theirs across figures.
_FIXED_COLOURS = {
    "read": "#1f77b4", "pread": "#ff7f0e", "mmap": "#2ca02c", "mmap_copy": "#d62728",
    "seq": "#4c72b0", "random": "#dd8452",
}
_SPARE_COLOURS = ["#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
                  "#1b9e77", "#e6ab02", "#000080", "#a6761d", "#e7298a", "#66a61e",
                  "#800000", "#6a3d9a", "#b15928", "#004d40"]
REFERENCE_COLOUR = "#222222"
_HATCHES = {"kept": "////", "sequential": "....", "random": "xxxx", "willneed": "\\\\\\\\"}


_assigned: Dict[str, Dict[str, str]] = {}


def colour_for(name: str, scope: str = "") -> str:
    """The colour of a method/pattern/workload name.

    Known names (the read_vs_mmap methods, the patterns) have fixed colours everywhere.
    Any other name gets the next unused spare colour of its scope (a family) the first
    time it is drawn and keeps it for every later figure of that family; names arrive in
    results.csv order, so the same suite gets the same colours every run.
    """
    if name in _FIXED_COLOURS:
        return _FIXED_COLOURS[name]
    assigned = _assigned.setdefault(scope, {})
    if name not in assigned:
        assigned[name] = _SPARE_COLOURS[len(assigned) % len(_SPARE_COLOURS)]
    return assigned[name]


def _lighten(colour: str, amount: float) -> Tuple[float, float, float]:
    r, g, b = mcolors.to_rgb(colour)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount)


@dataclass(frozen=True)
class BarStyle:
    label: str
    colour: str
    hatch: str = ""

    def patch_kwargs(self) -> dict:
        if not self.hatch:
            return dict(facecolor=self.colour, edgecolor="white", linewidth=0.5)
        return dict(facecolor=_lighten(self.colour, 0.55), edgecolor=self.colour, hatch=self.hatch, linewidth=0.8)


def variant_style(label: str, base: str, modifiers: Sequence[str] = ()) -> BarStyle:
    """Colour from the base method; hatching from the modifiers (kept mapping, an advice)."""
    return BarStyle(label, colour_for(base), "".join(_HATCHES.get(m, "") for m in modifiers))


@dataclass
class Value:
    median: float
    low: float
    high: float


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


def _legend_rows(n_items: int, ncol: int) -> int:
    return max(1, math.ceil(n_items / ncol))


NOTE_SIZE = 7.0
TITLE_SIZE = 10.5
MIN_WIDTH = 6.6  # inches: room for a title and the notes even with one panel


def _wrap(texts: Iterable[str], width_in: float, fontsize: float, bold: bool = False) -> List[str]:
    """Wrap text to a figure width (a conservative estimate of the glyph width)."""
    chars = max(20, int(width_in * 72 / (fontsize * (0.60 if bold else 0.53))))
    lines: List[str] = []
    for text in texts:
        lines += textwrap.wrap(text, chars, break_on_hyphens=False) or [""]
    return lines


def _text_height(lines: int, fontsize: float, spacing: float = 1.35) -> float:
    return lines * fontsize * spacing / 72


@dataclass
class _Frame:
    """Vertical budget (inches) around the axes: title on top, legend and notes below."""
    width: float
    title: List[str]
    notes: List[str]
    legend_rows: int

    @property
    def title_h(self) -> float:
        return 0.18 + _text_height(len(self.title), TITLE_SIZE, 1.25)

    @property
    def legend_h(self) -> float:
        return 0.1 + 0.19 * self.legend_rows if self.legend_rows else 0.0

    @property
    def notes_h(self) -> float:
        return 0.1 + _text_height(len(self.notes), NOTE_SIZE) if self.notes else 0.05

    def extra(self) -> float:
        return self.title_h + self.legend_h + self.notes_h

    def finish(self, fig, handles, ncol: int, **tight) -> None:
        height = fig.get_figheight()
        fig.suptitle("\n".join(figure_text(t) for t in self.title), fontsize=TITLE_SIZE, fontweight="bold",
                     y=1 - 0.1 / height, va="top", linespacing=1.25)
        bottom = (self.legend_h + self.notes_h) / height
        fig.tight_layout(rect=(0, bottom, 1, 1 - self.title_h / height), **tight)
        if handles:
            fig.legend(handles=handles, loc="upper center", ncol=ncol, frameon=False,
                       bbox_to_anchor=(0.5, bottom + 0.04 / height), borderaxespad=0.0,
                       handlelength=2.2, columnspacing=1.4)
        if self.notes:
            fig.text(0.012, 0.06 / height, "\n".join(figure_text(t) for t in self.notes), fontsize=NOTE_SIZE,
                     color="0.35", ha="left", va="bottom", linespacing=1.35)


def grouped_bars(spec: GroupedBars):
    rows, cols = len(spec.panels), max(len(r) for r in spec.panels)
    panel_w = max(3.6, 0.9 + 0.22 * len(spec.variants) * len(spec.groups))
    panel_h = 2.7
    width = max(MIN_WIDTH, panel_w * cols)
    legend_items = len(spec.variants) + (1 if spec.reference_label else 0)
    ncol = max(1, min(legend_items, int(width // 1.9)))
    frame = _Frame(width, _wrap([spec.title], width - 0.3, TITLE_SIZE, bold=True),
                   _wrap(spec.notes, width - 0.2, NOTE_SIZE), _legend_rows(legend_items, ncol))
    fig, axes = plt.subplots(rows, cols, figsize=(width, panel_h * rows + frame.extra()), squeeze=False)

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
            if c == 0:
                ax.set_ylabel(figure_text(spec.ylabel))
            below = [spec.panels[rr][c] if c < len(spec.panels[rr]) else None for rr in range(r + 1, rows)]
            if all(p is None for p in below):
                ax.set_xlabel(figure_text(spec.xlabel))

    handles = [Patch(label=figure_text(spec.styles[v].label), **spec.styles[v].patch_kwargs()) for v in spec.variants]
    if spec.reference_label:
        handles.append(Line2D([], [], color=REFERENCE_COLOUR, linestyle="--", linewidth=1.3,
                              label=figure_text(spec.reference_label)))
    frame.finish(fig, handles, ncol, h_pad=1.2, w_pad=1.0)
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
    n = len(spec.labels)
    longest = max((len(label) for label in spec.labels), default=10)
    label_w = min(7.5, 0.3 + 0.062 * longest)
    width = max(MIN_WIDTH, label_w + 5.0)
    ncol = max(1, min(len(spec.legend), int(width // 2.2)))
    frame = _Frame(width, _wrap([spec.title], width - 0.3, TITLE_SIZE, bold=True),
                   _wrap(spec.notes, width - 0.2, NOTE_SIZE),
                   _legend_rows(len(spec.legend), ncol) if spec.legend else 0)
    fig, ax = plt.subplots(figsize=(width, max(1.9, 0.75 + 0.24 * n) + frame.extra()))
    ys = list(range(n))[::-1]  # first label on top
    medians = [v.median for v in spec.values]
    errs = [[max(0.0, v.median - v.low) for v in spec.values], [max(0.0, v.high - v.median) for v in spec.values]]
    ax.barh(ys, medians, xerr=errs, color=spec.colours, height=0.7, zorder=2,
            error_kw=dict(ecolor="#333333", elinewidth=0.9, capsize=2, capthick=0.9))
    ax.set_yticks(ys)
    ax.set_yticklabels([figure_text(label) for label in spec.labels], fontsize=8)
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
    frame.finish(fig, handles, ncol)
    return fig


def save(fig, out_dir: Path, stem: str, formats: Iterable[str] = FORMATS) -> List[Path]:
    """Write `fig` as out_dir/stem.<format> for each format; returns the paths written."""
    written = []
    for fmt in formats:
        path = out_dir / f"{stem}.{fmt}"
        metadata = {"Date": None} if fmt == "svg" else {"Software": None} if fmt == "png" else None
        fig.savefig(path, format=fmt, dpi=PNG_DPI, metadata=metadata)
        written.append(path)
    plt.close(fig)
    return written
