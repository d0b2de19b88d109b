"""Drawing one panel of a family figure: lines on log axes, bars, stacked phase bars
(figures/draw.py lays the panels out; heat maps are in figures/heat.py).
"""

from __future__ import annotations

import math

from mapbench_cli.figures.base import BarStyle, plt

from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator
from mapbench_cli.figures.specs import Bars, Lines, Stacked
from mapbench_cli.figures.axes import FLAG_HATCH, MISSING_COLOUR, NOTE_FONT, _ceiling, _finite, _log_axis, _message, _missing_text, _note_inches, _tick_labels, _vertical, figure_text


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
