"""Drawing only: turn already-computed summaries into matplotlib figures and files.

Nothing here reads CSVs or computes statistics; callers (plot.py) hand in medians and
interval bounds already in display units. Colours are fixed per method (and per
pattern) so the same method looks the same in every figure of every run.
"""

from __future__ import annotations

import math
import textwrap
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter, NullLocator  # noqa: E402

from mapbench_cli.text.words import figure_text  # noqa: E402

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
# Inches: above the title, between the title and the panels' own titles, below the notes,
# between notes and legend, between the legend and the x-axis labels.
TITLE_TOP = 0.1
TITLE_GAP = 0.06
NOTES_BOTTOM = 0.06
NOTES_GAP = 0.05
LEGEND_GAP = 0.06
LAYOUT_PAD = 0.8   # tight_layout's padding, in font sizes (its default 1.08 leaves gaps)
MIN_WIDTH = 6.6  # inches: room for a title and the notes even with one panel


@dataclass(frozen=True)
class Layout:
    """How big figures are and what they carry besides the data."""
    name: str = "screen"
    min_width: float = MIN_WIDTH
    widths: Tuple[float, ...] = ()     # allowed widths (a paper's columns); empty: any
    panel_height: float = 2.7
    min_panel_width: float = 3.6
    titles: bool = True                # a paper puts titles and notes in the caption instead
    notes: bool = True
    label_size: float = 8.0            # category labels of horizontal bars
    label_chars: int = 0               # wrap those labels at '/' beyond this many characters (0: never)
    legend_column: float = 1.9         # inches per legend column
    rc: Tuple[Tuple[str, float], ...] = ()

    def fit(self, natural: float) -> float:
        """The figure width: the natural one (at least min_width), or the smallest allowed width
        that holds it without squeezing by more than a fifth, else the widest allowed."""
        if not self.widths:
            return max(self.min_width, natural)
        for width in self.widths:
            if natural <= width * 1.2:
                return width
        return self.widths[-1]


SCREEN = Layout()
# A two-column paper: 3.5 in for one column, 7 in across both; no text below 7 pt.
PAPER = Layout(name="paper", min_width=3.5, widths=(3.5, 7.0), panel_height=2.1, min_panel_width=1.7,
               titles=False, notes=False, label_size=7.0, label_chars=42, legend_column=1.45,
               rc=(("font.size", 8.0), ("axes.titlesize", 8.0), ("axes.labelsize", 8.0), ("xtick.labelsize", 7.5),
                   ("ytick.labelsize", 7.5), ("legend.fontsize", 7.5)))
_layout = SCREEN


@contextmanager
def use_layout(layout: Layout):
    """Draw the figures made inside this block with `layout` (and its font sizes)."""
    global _layout
    previous = _layout
    _layout = layout
    try:
        with plt.rc_context(dict(layout.rc)):
            yield layout
    finally:
        _layout = previous


def _wrap_label(label: str, chars: int) -> str:
    """Break a long case name after '/' separators so no line is much longer than `chars`."""
    if not chars or len(label) <= chars:
        return label
    lines, line = [], ""
    for part in label.split("/"):
        piece = part if not line else "/" + part
        if line and len(line) + len(piece) > chars:
            lines.append(line + "/")
            line = part
        else:
            line += piece
    lines.append(line)
    return "\n".join(lines)


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
        return 0.18 + _text_height(len(self.title), TITLE_SIZE, 1.25) if self.title else 0.06

    @property
    def legend_h(self) -> float:
        return 0.1 + 0.19 * self.legend_rows if self.legend_rows else 0.0

    @property
    def notes_h(self) -> float:
        return 0.1 + _text_height(len(self.notes), NOTE_SIZE) if self.notes else 0.05

    def extra(self) -> float:
        return self.title_h + self.legend_h + self.notes_h

    def finish(self, fig, handles, ncol: int, caption: Tuple[str, Sequence[str]] = ("", ()), **tight) -> None:
        """Title, legend and notes around the axes, each given exactly the height it takes.

        The heights in this frame are estimates made before anything is drawn (to size the
        figure); here the texts are measured instead, the figure height is corrected by the
        difference (the panels keep theirs), and tight_layout fits the axes into what is
        left. The title is kept out of tight_layout's own accounting: its room is reserved
        here, and tight_layout counting it a second time is what left a wide gap under it.
        """
        # What a paper moves to the caption stays with the figure for whoever writes the caption.
        fig.mapbench_title, fig.mapbench_notes = caption[0], list(caption[1])
        renderer = fig.canvas.get_renderer()

        def inches(artist) -> float:
            return artist.get_window_extent(renderer).height / fig.dpi

        title = legend = notes = None
        top = self.title_h if not self.title else 0.0
        if self.title:
            title = fig.suptitle("\n".join(figure_text(t) for t in self.title), fontsize=TITLE_SIZE,
                                 fontweight="bold", va="top", linespacing=1.25)
            title.set_in_layout(False)
            top = TITLE_TOP + inches(title) + TITLE_GAP
        below = NOTES_BOTTOM if self.notes else self.notes_h
        if self.notes:
            notes = fig.text(0.012, 0.0, "\n".join(figure_text(t) for t in self.notes), fontsize=NOTE_SIZE,
                             color="0.35", ha="left", va="bottom", linespacing=1.35)
            notes.set_in_layout(False)
            below += inches(notes) + NOTES_GAP
        if handles:
            legend = fig.legend(handles=handles, loc="upper center", ncol=ncol, frameon=False, borderaxespad=0.0,
                                handlelength=2.2, columnspacing=1.4)
            legend.set_in_layout(False)
            below += inches(legend) + LEGEND_GAP
        height = max(1.0, fig.get_figheight() - self.extra() + top + below)
        fig.set_figheight(height)
        if title is not None:
            title.set_y(1 - TITLE_TOP / height)
        if notes is not None:
            notes.set_y(NOTES_BOTTOM / height)
        if legend is not None:
            legend.set_bbox_to_anchor((0.5, (below - LEGEND_GAP / 2) / height), transform=fig.transFigure)
        tight.setdefault("pad", LAYOUT_PAD)
        fig.tight_layout(rect=(0, below / height, 1, 1 - top / height), **tight)


def _frame(width: float, title: str, notes: Sequence[str], legend_rows: int) -> _Frame:
    L = _layout
    return _Frame(width, _wrap([title], width - 0.3, TITLE_SIZE, bold=True) if L.titles else [],
                  _wrap(notes, width - 0.2, NOTE_SIZE) if L.notes else [], legend_rows)


def grouped_bars(spec: GroupedBars):
    L = _layout
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
    L = _layout
    labels = [_wrap_label(label, L.label_chars) for label in spec.labels]
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


_STABLE_METADATA = {"svg": {"Date": None}, "png": {"Software": None}, "pdf": {"CreationDate": None, "Producer": None}}


def save(fig, out_dir: Path, stem: str, formats: Iterable[str] = FORMATS, dpi: int = PNG_DPI) -> List[Path]:
    """Write `fig` as out_dir/stem.<format> for each format; returns the paths written.
    No dates in the files: the same data gives the same bytes."""
    written = []
    for fmt in formats:
        path = out_dir / f"{stem}.{fmt}"
        fig.savefig(path, format=fmt, dpi=dpi, metadata=_STABLE_METADATA.get(fmt))
        written.append(path)
    plt.close(fig)
    return written


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
    width = _layout.fit(label_w + 4.5)
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
