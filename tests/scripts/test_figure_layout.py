"""The frame around every figure (figures._Frame): the title, legend and notes take the room
they need and no more — measured on drawn figures, in inches."""

import pytest

from mapbench_cli.figures import draw
from mapbench_cli.figures import base as figures

MAX_GAP = 0.3  # inches between the title's bottom and the top of the panels' own titles


def _chart(title, notes, legend=2, rows=1):
    series = [draw.Series(f"s{i}", figures.colour_for(f"s{i}", "layout-test"),
                          [draw.Point(x, figures.Value(x, x * 0.9, x * 1.1)) for x in (1, 2, 4)])
              for i in range(legend)]
    panels = [[draw.Lines(title=f"panel {r}", xlabel="x (units)", ylabel="y (units)", series=series)]
              for r in range(rows)]
    keys = [draw.Key(s.label, s.colour, "line") for s in series]
    return draw.draw(draw.Chart(title=title, panels=panels, legend=keys, notes=notes))


def _extents(fig):
    renderer = fig.canvas.get_renderer()
    dpi = fig.dpi
    title = fig._suptitle.get_window_extent(renderer)
    axes_top = max(ax.get_tightbbox(renderer).y1 for ax in fig.axes if ax.get_visible())
    axes_bottom = min(ax.get_tightbbox(renderer).y0 for ax in fig.axes if ax.get_visible())
    legend = fig.legends[0].get_window_extent(renderer) if fig.legends else None
    notes = [t.get_window_extent(renderer) for t in fig.texts if t is not fig._suptitle]
    return dpi, title, axes_top, axes_bottom, legend, notes


@pytest.mark.parametrize("title, notes, rows", [
    ("a short title", ["one note"], 1),
    ("a title long enough to be wrapped onto two lines when the figure is narrow: " * 3, ["n"] * 6, 2),
])
def test_title_sits_just_above_the_panels_and_nothing_overlaps(title, notes, rows):
    fig = _chart(title, notes, rows=rows)
    fig.canvas.draw()
    dpi, title_box, axes_top, axes_bottom, legend, note_boxes = _extents(fig)
    height = fig.get_figheight() * dpi
    gap = (title_box.y0 - axes_top) / dpi
    assert 0 <= gap <= MAX_GAP, f"{gap:.2f} in between the title and the panels"
    assert title_box.y1 <= height + 1, "the title is inside the figure"
    # Below the panels: the legend, then the notes, without overlapping, inside the figure.
    assert legend is not None and legend.y1 <= axes_bottom + 1
    assert note_boxes and all(n.y1 <= legend.y0 + 1 and n.y0 >= -1 for n in note_boxes)
    assert (axes_bottom - legend.y1) / dpi <= MAX_GAP
    figures.plt.close(fig)


def test_paper_layout_without_title_keeps_a_thin_top_margin():
    with figures.use_layout(figures.PAPER):
        fig = _chart("not shown in a paper", ["moved to the caption"])
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        top = max(ax.get_tightbbox(renderer).y1 for ax in fig.axes) / fig.dpi
        assert fig._suptitle is None and not fig.texts
        assert 0 <= fig.get_figheight() - top <= MAX_GAP
        figures.plt.close(fig)
