"""What the family panels share on an axes: fonts and colours of notes, fitting labels and
titles to their room, log axes, tick labels, the room text takes (figures/draw.py).
"""

from __future__ import annotations

import math
import textwrap
from typing import Sequence

from mapbench_cli.figures import base as figures
from mapbench_cli.figures.base import plt
from mapbench_cli.text.words import figure_text as _one_line

from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter


def figure_text(value: object) -> str:
    """text.figure_text for each line: line breaks the caller put in are kept."""
    return "\n".join(_one_line(line) for line in str(value).split("\n"))


NOTE_FONT = 6.6       # text beside points and above bars
MISSING_FONT = 6.6    # "skipped: ..." in the place of a bar
MISSING_COLOUR = "0.42"
FLAG_HATCH = "////"


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


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


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
