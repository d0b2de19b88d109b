"""Heat-map panels and their colour scale (the crossover map), for figures/draw.py.
"""

from __future__ import annotations


from mapbench_cli.figures import base as figures
from mapbench_cli.figures.base import plt

from matplotlib.ticker import NullLocator
from mapbench_cli.figures.specs import Heat, Scale
from mapbench_cli.figures.axes import NOTE_FONT, _finite, _message, _text_inches, figure_text


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
