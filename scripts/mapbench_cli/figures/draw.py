"""Drawing for the per-family figures (family_*.py): lines on log axes, bars on a log or
linear scale, stacked phase bars, and text in the place of what could not run.

Drawing only, like figures.py, and built on it: its Value and BarStyle, colours, layouts
(screen, and the paper layout `mapbench report` uses), title, legend and notes frame. It
lives apart only because figures.py was being edited when the family figures were added;
it belongs there. Callers hand in medians and interval bounds already in display units.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

from mapbench_cli.figures import base as figures
from mapbench_cli.figures.base import BarStyle, Value, plt  # noqa: F401  (re-exported for the family modules)
from mapbench_cli.text.words import figure_text as _one_line

from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter, NullLocator  # noqa: E402

def figure_text(value: object) -> str:
    """text.figure_text for each line: line breaks the caller put in are kept."""
    return "\n".join(_one_line(line) for line in str(value).split("\n"))


NOTE_FONT = 6.6       # text beside points and above bars
MISSING_FONT = 6.6    # "skipped: ..." in the place of a bar
MISSING_COLOUR = "0.42"
FLAG_HATCH = "////"


@dataclass
class Point:
    x: float
    value: Value
    flagged: bool = False   # drawn hollow: a row whose claimed configuration was not observed
    note: str = ""          # small text beside the point


@dataclass
class Series:
    label: str
    colour: str
    points: List[Point]
    dashed: bool = False    # a reference (ideal scaling, a baseline): no markers, no error bars
    marker: str = "o"
    band: bool = False      # the interval as a shaded band instead of error bars (a time series)


@dataclass
class Mark:
    """A vertical line across a panel at x (an event: eviction began), with a small ▼ on top."""
    x: float
    colour: str


@dataclass
class Lines:
    title: str
    xlabel: str
    ylabel: str
    series: List[Series]
    logx: bool = True
    logy: bool = True
    xticks: Optional[List[Tuple[float, str]]] = None   # x positions and their labels
    message: str = ""       # drawn in the panel (why something is missing)
    ylim: Optional[Tuple[float, float]] = None        # fixed y range (a share from 0 to 1)
    marks: List[Mark] = field(default_factory=list)
    shade: Optional[Tuple[float, float]] = None       # an x range shaded light grey behind the lines
    reference_y: Optional[float] = None               # a thin horizontal line (a ratio of 1)
    xlim: Optional[Tuple[float, float]] = None        # fixed x range (time from 0)


MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "p")


@dataclass
class Bar:
    value: Optional[Value] = None
    note: str = ""          # above the bar
    flagged: bool = False   # light and hatched: a row whose claimed configuration was not observed
    missing: str = ""       # no bar: this text stands in its place


@dataclass
class Bars:
    title: str
    ylabel: str
    xlabel: str
    groups: List[str]                       # x categories
    variants: List[str]                     # one bar per variant in a group
    styles: Dict[str, BarStyle]
    bars: Dict[Tuple[str, str], Bar]        # (variant, group) -> bar
    logy: bool = False
    message: str = ""


@dataclass
class Stacked:
    title: str
    ylabel: str
    xlabel: str
    categories: List[str]
    layers: List[str]                       # bottom first
    styles: Dict[str, BarStyle]
    heights: Dict[Tuple[str, str], float]   # (category, layer) -> median of that part
    totals: Dict[str, Value] = field(default_factory=dict)   # the error bar of a whole stack
    notes: Dict[str, str] = field(default_factory=dict)      # above a stack
    flagged: Dict[str, bool] = field(default_factory=dict)   # a stack from rows not effective
    missing: Dict[str, str] = field(default_factory=dict)    # category -> text instead of a stack
    message: str = ""


@dataclass
class HeatCell:
    value: Optional[float] = None   # the colour (None: no colour, only the text on grey)
    text: str = ""
    hatched: bool = False           # light hatching over the colour: a value to read with care


@dataclass
class Heat:
    """A grid of coloured cells: columns on x, rows on y (the first row at the bottom)."""
    title: str
    xlabel: str
    ylabel: str
    columns: List[str]
    rows: List[str]
    cells: Dict[Tuple[int, int], HeatCell]   # (row, column) -> cell
    cmap: object = "PuOr"
    vmin: float = 0.5
    vmax: float = 2.0
    log: bool = True
    boundary: Optional[float] = None         # a thick line between neighbours on either side of it
    message: str = ""


@dataclass
class Scale:
    """The colour scale of the heat panels beside it, as a vertical bar."""
    label: str
    cmap: object = "PuOr"
    vmin: float = 0.5
    vmax: float = 2.0
    log: bool = True
    ticks: List[Tuple[float, str]] = field(default_factory=list)
    title: str = ""
    xlabel: str = ""
    ylabel: str = ""


Panel = Union[Lines, Bars, Stacked, Heat, Scale]


@dataclass
class Key:
    """A legend entry: kind is patch, hatch (a light hatched patch), line, dashed or hollow."""
    label: str
    colour: str
    kind: str = "patch"
    hatch: str = ""        # the hatch of a patch, or the marker of a line


@dataclass
class Chart:
    title: str
    panels: List[List[Optional[Panel]]]     # rows x columns (None: empty cell)
    legend: List[Key] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)


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


# --- axes -------------------------------------------------------------------------------------

def _fit_label(text: str, inches: float) -> str:
    """An axis label on as many lines as it needs to stay within the axis (at most three)."""
    chars = max(12, int(inches * 72 / (plt.rcParams["axes.labelsize"] * 0.55)))
    if len(text) <= chars:
        return text
    head, sep, tail = text.partition(", ")   # 'what (unit), lower is better': the direction apart
    if sep and len(head) <= chars and len(tail) <= chars:
        return head + ",\n" + tail
    lines = textwrap.wrap(text, chars, break_on_hyphens=False)
    return "\n".join(lines[:2] + ([" ".join(lines[2:])] if len(lines) > 2 else []))


def _fit_title(text: str, inches: float) -> str:
    """A panel title on two lines when one would run past its panel."""
    chars = max(16, int(inches * 72 / (plt.rcParams["axes.titlesize"] * 0.55)))
    if len(text) <= chars or "\n" in text:
        return text
    lines = textwrap.wrap(text, chars, break_on_hyphens=False)
    return "\n".join(lines[:1] + [" ".join(lines[1:])])


def wants_log(values: Sequence[float], spread: float = 4.0) -> bool:
    """A log axis pays off when the values span more than `spread` times."""
    finite = [v for v in values if _finite(v) and v > 0]
    return bool(finite) and max(finite) / min(finite) > spread


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1e5 or abs(v) < 1e-3:
        exponent = int(math.floor(math.log10(abs(v))))
        mantissa = v / 10 ** exponent
        return f"{mantissa:g}e{exponent}" if mantissa != 1 else f"1e{exponent}"
    return f"{v:g}"


def _log_axis(axis, low: float, high: float) -> None:
    decades = math.log10(high / low) if high > low > 0 else 1
    subs = (1.0, 2.0, 5.0) if decades <= 2.5 else (1.0,)
    axis.set_major_locator(LogLocator(base=10, subs=subs, numticks=12))
    axis.set_major_formatter(FuncFormatter(lambda v, _: _fmt(v)))
    axis.set_minor_formatter(NullFormatter())


def _message(ax, text: str, y: float = 0.5) -> None:
    ax.text(0.5, y, figure_text(text), transform=ax.transAxes, ha="center", va="center", fontsize=7.5,
            color=MISSING_COLOUR, wrap=True)


def _tick_labels(ax, labels: Sequence[str], inches: float) -> None:
    shown = [figure_text(t) for t in labels]
    longest = max((max(len(p) for p in t.split("\n")) for t in shown), default=1)
    per_label = max(0.3, inches - 0.9) / max(1, len(shown))
    if longest * plt.rcParams["xtick.labelsize"] * 0.55 / 72 > per_label * 0.95:
        ax.set_xticklabels(shown, rotation=30, ha="right", rotation_mode="anchor")
    else:
        ax.set_xticklabels(shown)


# --- lines ------------------------------------------------------------------------------------

def _thin_ticks(ticks, xlim, logx: bool, inches: float):
    """The tick labels that fit side by side: a label too close to the one kept before it
    is left out (its tick stays)."""
    width = max(0.5, inches - 0.9)
    lo, hi = (math.log10(v) for v in xlim) if logx else xlim
    char = plt.rcParams["xtick.labelsize"] * 0.6 / 72
    kept, last = [], None
    for x, label in sorted(ticks):
        pos = ((math.log10(x) if logx else x) - lo) / ((hi - lo) or 1) * width
        if last is None or pos - last[0] >= (last[1] + len(label)) / 2 * char + 0.06:
            kept.append((x, label))
            last = (pos, len(label))
    return kept


def _draw_lines(ax, panel: Lines, inches: float = 3.0) -> None:
    xs_all, lows, highs = [], [], []
    # Series with fewer points are drawn last, on top: a lone point is not hidden under a line.
    for s in sorted(panel.series, key=lambda s: -len(s.points)):
        pts = [p for p in s.points if _finite(p.value.median) and _finite(p.x)]
        if panel.logy:
            pts = [p for p in pts if p.value.median > 0]
        if panel.logx:
            pts = [p for p in pts if p.x > 0]
        pts.sort(key=lambda p: p.x)
        if not pts:
            continue
        xs = [p.x for p in pts]
        ys = [p.value.median for p in pts]
        xs_all += xs
        if s.dashed:
            ax.plot(xs, ys, color=s.colour, linestyle="--", linewidth=1.1, zorder=2)
            lows += ys
            highs += ys
            continue
        if s.band:
            low = [p.value.low if not panel.logy or p.value.low > 0 else p.value.median for p in pts]
            high = [max(p.value.high, p.value.median) for p in pts]
            if any(h > lo for h, lo in zip(high, low)):
                ax.fill_between(xs, low, high, color=s.colour, alpha=0.16, linewidth=0, zorder=2)
            ax.plot(xs, ys, color=s.colour, linewidth=1.5, zorder=3, marker=s.marker if len(pts) <= 12 else None,
                    markersize=3.5)
            lows += low
            highs += high
            continue
        ax.plot(xs, ys, color=s.colour, linewidth=1.4, zorder=3)
        for p in pts:
            low = p.value.low if not panel.logy or p.value.low > 0 else p.value.median
            err = [[max(0.0, p.value.median - low)], [max(0.0, p.value.high - p.value.median)]]
            ax.errorbar([p.x], [p.value.median], yerr=err, fmt=s.marker, color=s.colour, ecolor=s.colour,
                        elinewidth=1.0, capsize=2.2, markersize=4.5 if not p.flagged else 5,
                        markerfacecolor="white" if p.flagged else s.colour, markeredgewidth=1.1, zorder=4)
            lows.append(low)
            highs.append(max(p.value.high, p.value.median))
            if p.note:
                ax.annotate(figure_text(p.note), (p.x, p.value.median), xytext=(4, 3), textcoords="offset points",
                            fontsize=NOTE_FONT, color=s.colour, ha="left", va="bottom", zorder=5)
    if not xs_all:
        _message(ax, panel.message or "nothing to draw")
        ax.set_xticks([])
        ax.set_yticks([])
        return
    if panel.message:
        ax.text(0.02, 0.98, figure_text(panel.message), transform=ax.transAxes, ha="left", va="top",
                fontsize=NOTE_FONT, color=MISSING_COLOUR)
    if panel.reference_y is not None:
        ax.axhline(panel.reference_y, color="0.25", linewidth=1.0, zorder=2)
        lows.append(panel.reference_y)
        highs.append(panel.reference_y)
    if panel.logx:
        ax.set_xscale("log")
    if panel.logy:
        ax.set_yscale("log")
        low, high = min(lows), max(highs)
        pad = 1.5 if high / low > 3 else 1.25
        ax.set_ylim(low / pad, high * pad * (1.6 if panel.message else 1.0))
        _log_axis(ax.yaxis, low, high)
    else:
        top = max(highs) if highs else 1.0
        ax.set_ylim(0, top * (1.25 if panel.message else 1.12) or 1.0)
    if panel.ylim:
        ax.set_ylim(*panel.ylim)
    xs_all += [m.x for m in panel.marks if _finite(m.x) and (m.x > 0 or not panel.logx)]
    xmin, xmax = min(xs_all), max(xs_all)
    if panel.logx:
        span = max(xmax / xmin, 1.0)
        pad = 1.35 if span > 1 else 2.0
        ax.set_xlim(xmin / pad, xmax * pad * 1.25)  # room for the notes on the right
    else:
        span = (xmax - xmin) or 1.0
        ax.set_xlim(xmin - 0.12 * span, xmax + 0.2 * span)
    if panel.xlim:
        ax.set_xlim(*panel.xlim)
    if panel.xticks:
        shown = _thin_ticks(panel.xticks, ax.get_xlim(), panel.logx, inches)
        ax.xaxis.set_major_locator(FixedLocator([x for x, _ in panel.xticks]))
        ax.xaxis.set_major_formatter(FuncFormatter(
            lambda v, _: next((figure_text(t) for x, t in shown if math.isclose(x, v)), "")))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_minor_formatter(NullFormatter())
    elif panel.logx:
        _log_axis(ax.xaxis, xmin, xmax)
    if panel.shade:
        ax.axvspan(*panel.shade, color="0.93", zorder=0, linewidth=0)
    for mark in panel.marks:
        ax.axvline(mark.x, color=mark.colour, linestyle=":", linewidth=1.4, zorder=2)
        ax.plot([mark.x], [1.0], marker="v", color=mark.colour, markersize=5, clip_on=False, zorder=5,
                transform=ax.get_xaxis_transform())
    ax.grid(which="major", color="0.9", linewidth=0.6, zorder=0)
    ax.set_axisbelow(True)


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


# --- bars -------------------------------------------------------------------------------------

def _draw_bars(ax, panel: Bars, inches: float) -> None:
    n_var = max(1, len(panel.variants))
    slot = 0.82 / n_var
    values = [b.value for b in panel.bars.values() if b.value is not None and _finite(b.value.median)]
    if panel.logy:
        values = [v for v in values if v.median > 0]
    if not values:
        texts = sorted({b.missing for b in panel.bars.values() if b.missing})
        _message(ax, panel.message or ("; ".join(texts) if texts else "nothing to draw"))
        ax.set_xticks([])
        ax.set_yticks([])
        return
    top = max(max(v.high, v.median) for v in values)
    slot_inches = max(0.3, inches - 0.9) / max(1, len(panel.groups)) * slot * 0.9
    need = max([_note_inches(b.note, slot_inches) for b in panel.bars.values() if b.note and b.value is not None]
               + [0.0])
    if panel.logy:
        low = min(v.low if v.low > 0 else v.median for v in values)
        bottom = low / 2.2
    else:
        bottom = 0.0
    ceiling = _ceiling(bottom, top, need, panel.logy)
    for g, group in enumerate(panel.groups):
        bars = {v: panel.bars.get((v, group)) for v in panel.variants}
        missing = [v for v in panel.variants if bars[v] is not None and bars[v].value is None and bars[v].missing]
        all_missing = missing and len(missing) == sum(1 for b in bars.values() if b is not None)
        same_text = len({bars[v].missing for v in missing}) == 1
        if all_missing and same_text:   # one text for the whole group
            _missing_text(ax, g, bottom, ceiling, bars[missing[0]].missing, panel.logy)
            continue
        for i, variant in enumerate(panel.variants):
            bar = bars[variant]
            if bar is None:
                continue
            x = g - slot * n_var / 2 + slot * (i + 0.5)
            if bar.value is None or not _finite(bar.value.median) or (panel.logy and bar.value.median <= 0):
                if bar.missing:
                    _missing_text(ax, x, bottom, ceiling, bar.missing, panel.logy)
                continue
            style = panel.styles[variant]
            kwargs = style.patch_kwargs() if not bar.flagged else BarStyle(
                style.label, style.colour, style.hatch or FLAG_HATCH).patch_kwargs()
            v = bar.value
            low = v.low if (not panel.logy or v.low > 0) else v.median
            ax.bar([x], [v.median - bottom], bottom=bottom, width=slot * 0.92, zorder=2,
                   yerr=[[max(0.0, v.median - low)], [max(0.0, v.high - v.median)]],
                   error_kw=dict(ecolor="#333333", elinewidth=0.9, capsize=2.0, capthick=0.9), **kwargs)
            if bar.note:
                vertical = _vertical(bar.note, slot_inches)
                ax.annotate(figure_text(bar.note), (x, max(v.high, v.median)), xytext=(0, 4),
                            textcoords="offset points", ha="center", va="bottom", fontsize=NOTE_FONT, color="0.2",
                            rotation=90 if vertical else 0, zorder=5)
    if panel.logy:
        ax.set_yscale("log")
        ax.set_ylim(bottom, ceiling)
        _log_axis(ax.yaxis, bottom, ceiling)
    else:
        ax.set_ylim(0, ceiling)
    ax.set_xlim(-0.5, len(panel.groups) - 0.5)
    ax.set_xticks(range(len(panel.groups)))
    _tick_labels(ax, panel.groups, inches)
    ax.grid(axis="y", which="major", color="0.9", linewidth=0.7, zorder=0)
    ax.set_axisbelow(True)
    if panel.message:
        ax.text(0.02, 0.98, figure_text(panel.message), transform=ax.transAxes, ha="left", va="top",
                fontsize=NOTE_FONT, color=MISSING_COLOUR)


def _axes_inches() -> float:
    """About how tall one panel's axes are (its row minus title, tick labels, axis label)."""
    return max(0.8, figures._layout.panel_height - 1.15)


def _text_inches(text: str, size: float) -> float:
    return max((len(line) for line in text.split("\n")), default=0) * size * 0.56 / 72


def _vertical(text: str, room: float) -> bool:
    return _text_inches(text, NOTE_FONT) > room


def _note_inches(text: str, room: float) -> float:
    """Height a note above a bar takes (rotated when wider than its bar slot)."""
    lines = text.count("\n") + 1
    return _text_inches(text, NOTE_FONT) if _vertical(text, room) else lines * NOTE_FONT * 1.3 / 72


def _ceiling(bottom: float, top: float, need: float, logy: bool) -> float:
    """The axis top that leaves `need` inches above the highest bar for its note."""
    share = min(0.5, (need + 0.06) / _axes_inches()) if need else 0.08
    if logy:
        return math.exp(math.log(bottom) + (math.log(top) - math.log(bottom)) / (1 - share))
    return (top / (1 - share)) or 1.0


def _missing_text(ax, x: float, bottom: float, ceiling: float, text: str, logy: bool) -> None:
    y = bottom * (ceiling / bottom) ** 0.03 if logy else ceiling * 0.03
    if "\n" not in text and ": " in text and len(text) > 16:  # 'skipped:' beside its reason: half the height
        head, _, tail = text.partition(": ")
        text = f"{head}:\n{tail}"
    artist = ax.text(x, y, figure_text(text), rotation=90, ha="center", va="bottom", fontsize=MISSING_FONT,
                     color=MISSING_COLOUR, zorder=5)
    artist._mapbench_fit = True


# --- stacked ----------------------------------------------------------------------------------

def _draw_stacked(ax, panel: Stacked, inches: float) -> None:
    drawn = [c for c in panel.categories if any((c, layer) in panel.heights for layer in panel.layers)]
    if not drawn:
        _message(ax, panel.message or "; ".join(sorted(set(panel.missing.values()))) or "nothing to draw")
        ax.set_xticks([])
        ax.set_yticks([])
        return
    top = 0.0
    for c in drawn:
        total = sum(panel.heights.get((c, layer), 0.0) for layer in panel.layers)
        err = panel.totals.get(c)
        top = max(top, total, err.high if err else 0.0)
    width = 0.66
    room = max(0.3, inches - 0.9) / max(1, len(panel.categories)) * width
    need = max([_note_inches(n, room) for n in panel.notes.values() if n] + [0.0])
    ceiling = _ceiling(0.0, top, need, False)
    for i, c in enumerate(panel.categories):
        if c not in drawn:
            if c in panel.missing:
                _missing_text(ax, i, 0.0, ceiling, panel.missing[c], False)
            continue
        base = 0.0
        for layer in panel.layers:
            h = panel.heights.get((c, layer))
            if h is None or not _finite(h):
                continue
            style = panel.styles[layer]
            kwargs = style.patch_kwargs() if not panel.flagged.get(c) else BarStyle(
                style.label, style.colour, FLAG_HATCH).patch_kwargs()
            ax.bar([i], [h], bottom=base, width=width, zorder=2, **kwargs)
            base += h
        err = panel.totals.get(c)
        if err is not None:
            ax.errorbar([i], [err.median], yerr=[[max(0.0, err.median - err.low)], [max(0.0, err.high - err.median)]],
                        fmt="_", color="#222222", markersize=9, elinewidth=0.9, capsize=2.5, zorder=4)
            base = max(base, err.high)
        note = panel.notes.get(c)
        if note:
            vertical = _vertical(note, room)
            ax.annotate(figure_text(note), (i, base), xytext=(0, 2.5), textcoords="offset points", ha="center",
                        va="bottom", fontsize=NOTE_FONT, color="0.2", rotation=90 if vertical else 0, zorder=5)
    ax.set_ylim(0, ceiling)
    ax.set_xlim(-0.6, len(panel.categories) - 0.4)
    ax.set_xticks(range(len(panel.categories)))
    _tick_labels(ax, panel.categories, inches)
    ax.grid(axis="y", color="0.9", linewidth=0.7, zorder=0)
    ax.set_axisbelow(True)
    if panel.message:
        ax.text(0.02, 0.98, figure_text(panel.message), transform=ax.transAxes, ha="left", va="top",
                fontsize=NOTE_FONT, color=MISSING_COLOUR)


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


# --- heat maps --------------------------------------------------------------------------------

def _norm(log: bool, vmin: float, vmax: float):
    return figures.mcolors.LogNorm(vmin=vmin, vmax=vmax) if log else figures.mcolors.Normalize(vmin=vmin, vmax=vmax)


def _cmap(cmap):
    return plt.get_cmap(cmap) if isinstance(cmap, str) else cmap


def _draw_heat(ax, panel: Heat, inches: float = 6.0) -> None:
    import numpy as np
    from matplotlib.patches import Rectangle

    n_rows, n_cols = len(panel.rows), len(panel.columns)
    norm, cmap = _norm(panel.log, panel.vmin, panel.vmax), _cmap(panel.cmap)
    grid = np.full((n_rows, n_cols), np.nan)
    for (r, c), cell in panel.cells.items():
        if cell.value is not None and _finite(cell.value) and (cell.value > 0 or not panel.log):
            grid[r, c] = cell.value
    ax.set_facecolor("0.93")  # cells with no colour: not run, or nothing to compare
    ax.pcolormesh(np.arange(n_cols + 1), np.arange(n_rows + 1), np.ma.masked_invalid(grid), cmap=cmap, norm=norm,
                  edgecolors="white", linewidth=1.5)
    # What fits in a cell, the same in every cell of the panel: the first line shrinks to fit,
    # the others are left out when one would not fit (a paper's narrow cells).
    room = max(0.2, (inches - 0.9) / max(1, n_cols)) * 0.92
    texts = [figure_text(cell.text).split("\n") for cell in panel.cells.values() if cell.text]
    size = min([plt.rcParams["font.size"]] + [room * 72 / (len(t[0]) * 0.62) for t in texts if t[0]])
    keep = all(_text_inches(line, NOTE_FONT) <= room for t in texts for line in t[1:])
    for (r, c), cell in panel.cells.items():
        value = grid[r, c]
        if cell.hatched:
            ax.add_patch(Rectangle((c, r), 1, 1, fill=False, hatch="////", edgecolor=(0.3, 0.3, 0.3, 0.45),
                                   linewidth=0, zorder=2))
        colour = "0.25"
        if value == value:
            red, green, blue, _ = cmap(norm(value))
            colour = "white" if 0.299 * red + 0.587 * green + 0.114 * blue < 0.48 else "black"
        if cell.text:
            lines = figure_text(cell.text).split("\n")
            lines = lines if keep else lines[:1]
            ax.text(c + 0.5, r + 0.5 + (0.1 if len(lines) > 1 else 0), lines[0], ha="center", va="center",
                    fontsize=size, color=colour, zorder=3,
                    fontweight="bold" if value == value else "normal")
            if len(lines) > 1:
                ax.text(c + 0.5, r + 0.27, "\n".join(lines[1:]), ha="center", va="center", fontsize=NOTE_FONT,
                        color=colour, zorder=3)
    if panel.boundary is not None:
        side = np.sign(np.log(grid / panel.boundary)) if panel.log else np.sign(grid - panel.boundary)
        hatched = np.zeros((n_rows, n_cols), dtype=bool)
        for (r, c), cell in panel.cells.items():
            hatched[r, c] = cell.hatched

        def edge(xs, ys, a, b):
            faint = hatched[a] and hatched[b]  # neither side clear: a thin dashed edge
            ax.plot(xs, ys, color="black", linewidth=1.1 if faint else 2.6, linestyle=(0, (3, 2)) if faint else "-",
                    zorder=4, solid_capstyle="butt")

        for r in range(n_rows):
            for c in range(n_cols):
                if c + 1 < n_cols and side[r, c] * side[r, c + 1] < 0:
                    edge([c + 1, c + 1], [r, r + 1], (r, c), (r, c + 1))
                if r + 1 < n_rows and side[r, c] * side[r + 1, c] < 0:
                    edge([c, c + 1], [r + 1, r + 1], (r, c), (r + 1, c))
    ax.set_xlim(0, n_cols)
    ax.set_ylim(0, n_rows)
    ax.set_xticks([c + 0.5 for c in range(n_cols)])
    ax.set_xticklabels([figure_text(t) for t in panel.columns])
    ax.set_yticks([r + 0.5 for r in range(n_rows)])
    ax.set_yticklabels([figure_text(t) for t in panel.rows])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if panel.message:
        _message(ax, panel.message)


def _draw_scale(ax, panel: Scale) -> None:
    from matplotlib.cm import ScalarMappable

    ax.axis("off")
    bar = ax.inset_axes([0.0, 0.04, 0.16, 0.92])
    mappable = ScalarMappable(norm=_norm(panel.log, panel.vmin, panel.vmax), cmap=_cmap(panel.cmap))
    colourbar = ax.figure.colorbar(mappable, cax=bar)
    colourbar.outline.set_linewidth(0.5)
    if panel.ticks:
        colourbar.set_ticks([t for t, _ in panel.ticks])
        colourbar.set_ticklabels([figure_text(label) for _, label in panel.ticks])
        colourbar.ax.yaxis.set_minor_locator(NullLocator())
    colourbar.ax.tick_params(labelsize=NOTE_FONT + 0.4)
    colourbar.set_label(figure_text(panel.label), fontsize=plt.rcParams["axes.labelsize"] * 0.92)
