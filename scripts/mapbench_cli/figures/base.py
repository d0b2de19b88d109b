"""Drawing only: turn already-computed summaries into matplotlib figures and files.

Nothing here reads CSVs or computes statistics; callers (figures/plot.py, the family
modules) hand in medians and interval bounds already in display units. Colours are fixed
per method (and per pattern) so the same method looks the same in every figure of every
run. The generic charts built on this (grouped bars, horizontal bars, the ratio chart)
are in figures/charts.py.
"""

from __future__ import annotations

import math
import textwrap
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

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
    # The storage baselines (read_vs_mmap, crossover): O_DIRECT purple/magenta, io_uring teal.
    "odirect_pread": "#7b3294", "io_uring_qd1": "#018571", "io_uring_qd32": "#5ab4ac",
    "io_uring_odirect_qd1": "#c51b7d", "io_uring_odirect_qd32": "#de77ae",
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
