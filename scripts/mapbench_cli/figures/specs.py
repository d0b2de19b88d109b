"""What a family figure is made of, as data: points, series, bars, stacked bars, heat cells,
legend keys, panels and the chart (figures/draw.py draws a Chart). No drawing here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple, Union

from mapbench_cli.figures.base import BarStyle, Value



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
