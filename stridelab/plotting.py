"""Drawing primitives shared by every notebook's figures and widgets.

Figures are built with matplotlib's object API (no pyplot state) and shown through
:class:`FigureDisplay`, which carries alt text: JupyterLab and exported HTML get an
``<img alt=…>``, other front ends a PNG and a text description. Colours come from the
Okabe–Ito palette and the ``cividis`` colormap, both safe for colour-blind readers.

>>> fig = new_figure(3, 3)
>>> grid = draw_grid(fig.add_subplot(), np.eye(2), title="identity")
>>> FigureDisplay(fig, alt="A 2×2 identity matrix.").alt
'A 2×2 identity matrix.'
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable
from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backend_bases import RendererBase
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.ticker import NullLocator
from matplotlib.transforms import IdentityTransform, blended_transform_factory

from stridelab._canvas import FastAxis, FastImage, FastTexts

__all__ = ["COLORS", "CMAP", "DIVERGING", "FigureDisplay", "Box", "Grid", "PinnedLabels",
           "draw_grid", "log_ticks", "new_figure", "figure_png", "tick_label_width"]

COLORS = {
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "black": "#000000",
    "grey": "#999999",
}
"""The Okabe–Ito palette: distinguishable with every common colour-vision deficiency."""
CMAP = "cividis"
"""Sequential colormap for values: perceptually uniform and colour-blind safe."""
DIVERGING = "PuOr"
"""Diverging colormap for signed values (edges, gradients): colour-blind safe."""


@dataclass(frozen=True)
class Box:
    """A rectangle to outline on a grid: top-left cell ``(row, col)``, size, colour, label."""

    row: int
    col: int
    height: int
    width: int
    color: str = COLORS["orange"]
    label: str = ""
    linewidth: float = 3.0
    fill: bool = False


def new_figure(width: float, height: float, dpi: int = 100) -> Figure:
    """A figure not registered with pyplot: shown only when a cell returns it."""
    return Figure(figsize=(width, height), dpi=dpi, layout="constrained")


def figure_png(fig: Figure, dpi: int | None = None) -> bytes:
    """The figure as PNG bytes, without timestamps, so equal figures give equal files."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def _tick_text(value: float) -> str:
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


def log_ticks(ax: Axes, values: Iterable[float], axis: str = "y") -> list[float]:
    """A log scale on ``axis`` with plain-number ticks at 1, 2, 5, 10, 20, … covering ``values``.

    matplotlib's own log ticks are powers of ten written as ``10⁵`` — often a single labelled
    tick on data spanning less than a decade. Returns the ticks.

    >>> fig = new_figure(3, 3); ax = fig.add_subplot()
    >>> log_ticks(ax, [3.0, 40.0])
    [2.0, 5.0, 10.0, 20.0, 50.0]
    """
    finite = [float(v) for v in values if np.isfinite(v) and v > 0]
    low, high = min(finite), max(finite)
    first, last = int(np.floor(np.log10(low / 1.5))), int(np.ceil(np.log10(high * 1.5)))
    ticks = [m * 10.0 ** e for e in range(first, last + 1) for m in (1, 2, 5)
             if low / 1.5 <= m * 10.0 ** e <= high * 1.5]
    axis_ = ax.yaxis if axis == "y" else ax.xaxis
    (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    axis_.set_ticks(ticks, [_tick_text(t) for t in ticks])
    axis_.set_minor_locator(NullLocator())
    return ticks


def _value_text(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2g}"


def padding_mask(shape: tuple[int, ...], padding: tuple[int, int]) -> np.ndarray:
    """True on the border of a padded 2-D array of ``shape`` that ``(ph, pw)`` added.

    >>> padding_mask((3, 4), (1, 0)).astype(int)
    array([[1, 1, 1, 1],
           [0, 0, 0, 0],
           [1, 1, 1, 1]])
    """
    (rows, cols), (ph, pw) = shape, padding
    mask = np.zeros((rows, cols), dtype=bool)
    mask[:ph, :] = mask[rows - ph:, :] = True
    mask[:, :pw] = mask[:, cols - pw:] = True
    return mask


def draw_grid(
    ax: Axes,
    values: np.ndarray,
    title: str = "",
    annotate: bool | None = None,
    cmap: str = CMAP,
    vmin: float | None = None,
    vmax: float | None = None,
    boxes: Iterable[Box] = (),
    mask: np.ndarray | None = None,
    xlabel: str = "column j",
    ylabel: str = "row i",
) -> Grid:
    """Draw a 2-D array as a grid of coloured cells, values written in small grids.

    ``mask`` greys out cells (not computed yet, or padding); ``boxes`` outline windows.
    Returns the :class:`Grid`, which can show other values without drawing anew.
    """
    return Grid(ax, values, title=title, annotate=annotate, cmap=cmap, vmin=vmin, vmax=vmax,
                boxes=boxes, mask=mask, xlabel=xlabel, ylabel=ylabel)


class Grid:
    """The artists :func:`draw_grid` puts on an Axes, kept so :meth:`update` can change them.

    ``update`` takes the same values, limits, mask and boxes as ``draw_grid`` and gives the
    same picture, reusing the image, the value texts and the outlines (even when the grid
    changes shape), so that a widget need not clear and draw its Axes again.
    """

    def __init__(self, ax: Axes, values: np.ndarray, title: str = "",
                 annotate: bool | None = None, cmap: str = CMAP, vmin: float | None = None,
                 vmax: float | None = None, boxes: Iterable[Box] = (),
                 mask: np.ndarray | None = None, xlabel: str = "column j",
                 ylabel: str = "row i") -> None:
        self.ax = ax
        values = np.asarray(values, dtype=float)
        colormap = matplotlib.colormaps[cmap].with_extremes(bad=to_rgba(COLORS["grey"], 0.25))
        # Nearest: what "auto" picks for cells many pixels wide, without the choosing.
        self.image = ax.imshow(_shown(values, mask), cmap=colormap, vmin=vmin, vmax=vmax,
                               interpolation="nearest")
        self._fast_image = FastImage(self.image)
        self.numbers: list[Text] = []
        """One text per annotated cell (spares hidden)."""
        self.outlines: list[Rectangle] = []
        self.labels: list[Text] = []
        self.shape = values.shape
        self._axes: tuple[FastAxis, FastAxis] | None = None
        self._annotate(values, mask, annotate)
        self._ticks()
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
        self.outline(boxes)

    def update(self, values: np.ndarray, annotate: bool | None = None,
               vmin: float | None = None, vmax: float | None = None, boxes: Iterable[Box] = (),
               mask: np.ndarray | None = None) -> None:
        """Show ``values`` as ``draw_grid`` would have (title and axis labels stay)."""
        values = np.asarray(values, dtype=float)
        self.image.set_data(_shown(values, mask))
        self.image.norm.vmin, self.image.norm.vmax = vmin, vmax
        self.image.autoscale_None()              # limits not given: the data's, as imshow does
        if values.shape != self.shape:
            self.shape = values.shape
            rows, cols = values.shape
            self.image.set_extent((-0.5, cols - 0.5, rows - 0.5, -0.5))
            self.ax.set_xlim(-0.5, cols - 0.5)
            self.ax.set_ylim(rows - 0.5, -0.5)
            self._ticks(styled=True)
        self._annotate(values, mask, annotate)
        self.outline(boxes)

    def changing(self, cells: bool = True) -> list[Artist]:
        """What an update changes, in drawing order, for a widget that draws them over a
        background: the cells (unless ``cells`` is false: only :meth:`outline` is called),
        the outlines, then the white grid lines and the frame again, as the Axes draws them,
        and the texts."""
        gridlines = [tick.gridline for axis in (self.ax.xaxis, self.ax.yaxis)
                     for tick in axis.get_minor_ticks()]
        return [*([self._fast_image] if cells else []), *self.outlines, *gridlines,
                *self.ax.spines.values(), FastTexts(self.numbers if cells else []),
                FastTexts(self.labels)]

    def reserve(self, rows: int, cols: int, outlines: int = 0) -> None:
        """Make now, hidden, the ticks, value texts and outlines that a grid of up to
        ``rows`` × ``cols`` cells with up to ``outlines`` boxes needs: matplotlib makes
        each in a millisecond or more, which a redraw would pay when the grid grows."""
        for axis, count in ((self.ax.xaxis, cols), (self.ax.yaxis, rows)):
            axis.get_major_ticks(count)
            axis.get_minor_ticks(count + 1)
        while len(self.numbers) < min(rows * cols, 100):
            self.numbers.append(self.ax.text(0, 0, "", ha="center", va="center", fontsize=10,
                                             visible=False))
        while len(self.outlines) < outlines:
            self.outlines.append(self.ax.add_patch(Rectangle((-0.5, -0.5), 1, 1,
                                                             visible=False)))

    def parts(self) -> list[Artist]:
        """The whole Axes, part by part in the order ``Axes.draw`` draws them, for a widget
        that draws the parts itself: without the Axes' own bookkeeping, which costs more
        than the drawing (the axes are drawn by :class:`~stridelab._canvas.FastAxis`, so
        their labels must be pinned, see :class:`PinnedLabels`)."""
        ax = self.ax
        if self._axes is None:
            self._axes = (FastAxis(ax.xaxis), FastAxis(ax.yaxis))
        return [ax.patch, self._fast_image, *self.outlines, *self._axes, *ax.spines.values(),
                FastTexts(self.numbers), FastTexts(self.labels), ax.title]

    def _annotate(self, values: np.ndarray, mask: np.ndarray | None,
                  annotate: bool | None) -> None:
        if annotate is None:
            annotate = values.size <= 100
        cells = [] if not annotate else [
            (i, j, value) for (i, j), value in np.ndenumerate(values)
            if not (mask is not None and mask[i, j])]
        if cells:
            rgba = self.image.cmap(self.image.norm(values))
            dark = rgba[..., :3] @ [0.299, 0.587, 0.114] < 0.5
        for index, (i, j, value) in enumerate(cells):
            color = "white" if dark[i, j] else "black"
            if index < len(self.numbers):
                text = self.numbers[index]
                text.set_position((j, i))
                text.set_text(_value_text(value))
                text.set_color(color)
                text.set_visible(True)
            else:
                self.numbers.append(self.ax.text(j, i, _value_text(value), ha="center",
                                                 va="center", fontsize=10, color=color))
        for text in self.numbers[len(cells):]:
            text.set_visible(False)

    def _ticks(self, styled: bool = False) -> None:
        ax, (rows, cols) = self.ax, self.shape
        ax.set_xticks(range(cols))
        ax.set_yticks(range(rows))
        ax.set_xticks(np.arange(-0.5, cols), minor=True)
        ax.set_yticks(np.arange(-0.5, rows), minor=True)
        if not styled:                           # kept for ticks made later: set them once
            ax.grid(which="minor", color="white", linewidth=1)
            ax.tick_params(which="minor", length=0)
        if cols > 12:
            ax.set_xticks(range(0, cols, max(1, cols // 6)))
        if rows > 12:
            ax.set_yticks(range(0, rows, max(1, rows // 6)))

    def outline(self, boxes: Iterable[Box]) -> None:
        """Outline ``boxes`` instead of the boxes outlined so far."""
        boxes = list(boxes)
        labelled = [box for box in boxes if box.label]
        for index, box in enumerate(boxes):
            if index == len(self.outlines):  # a new patch, where the box is (for the limits)
                self.outlines.append(self.ax.add_patch(Rectangle(
                    (box.col - 0.5, box.row - 0.5), box.width, box.height)))
            patch = self.outlines[index]
            patch.set_xy((box.col - 0.5, box.row - 0.5))
            patch.set_width(box.width)
            patch.set_height(box.height)
            patch.set_fill(box.fill)
            patch.set_edgecolor(box.color)
            patch.set_facecolor(box.color)
            patch.set_linewidth(box.linewidth)
            patch.set_alpha(0.25 if box.fill else 1.0)
            patch.set_visible(True)
        for patch in self.outlines[len(boxes):]:
            patch.set_visible(False)
        for index, box in enumerate(labelled):
            if index < len(self.labels):
                text = self.labels[index]
                text.set_position((box.col - 0.45, box.row - 0.55))
                text.set_text(box.label)
                text.set_color(box.color)
                text.set_visible(True)
            else:
                self.labels.append(self.ax.text(box.col - 0.45, box.row - 0.55, box.label,
                                                color=box.color, fontsize=9,
                                                fontweight="bold", va="bottom"))
        for text in self.labels[len(labelled):]:
            text.set_visible(False)


def tick_label_width(axis: Axis, renderer: RendererBase) -> float:
    """The width, in pixels, of the widest major tick label ``axis`` shows now (0 if none)."""
    low, high = sorted(axis.get_view_interval())
    locs = [loc for loc in axis.get_majorticklocs() if low <= loc <= high]
    if not locs:
        return 0.0
    font = axis.get_major_ticks()[0].label1.get_fontproperties()
    return max(renderer.get_text_width_height_descent(label, font, False)[0]
               for label in axis.get_major_formatter().format_ticks(locs))


class PinnedLabels:
    """An Axes' x label kept below its tick labels and its y label left of them, as
    matplotlib places them, without it measuring every tick label on every draw.

    Make it once matplotlib has drawn the Axes; then :meth:`place` the labels after the
    Axes moves or its y tick labels change (x tick labels must keep their height).
    """

    def __init__(self, ax: Axes) -> None:
        renderer = ax.get_figure(root=True).canvas.get_renderer()
        self.ax = ax
        self.below = ax.bbox.y0 - ax.xaxis.label.get_position()[1]
        self.left = ax.bbox.x0 - ax.yaxis.label.get_position()[0]
        self.width = tick_label_width(ax.yaxis, renderer)

    def place(self, width: float | None = None) -> None:
        """Put the labels beside the tick labels; ``width``: of the widest y tick label, if
        it has been measured already."""
        ax = self.ax
        if width is None:
            width = tick_label_width(ax.yaxis, ax.get_figure(root=True).canvas.get_renderer())
        wider = width - self.width
        ax.xaxis.set_label_coords(ax.xaxis.label.get_position()[0], ax.bbox.y0 - self.below,
                                  transform=blended_transform_factory(ax.transAxes,
                                                                      IdentityTransform()))
        ax.yaxis.set_label_coords(ax.bbox.x0 - self.left - wider,
                                  ax.yaxis.label.get_position()[1],
                                  transform=blended_transform_factory(IdentityTransform(),
                                                                      ax.transAxes))


def _shown(values: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    return np.ma.masked_array(values, mask=mask) if mask is not None else values


class FigureDisplay:
    """A finished figure with alt text; shows itself as an accessible image in notebooks.

    ``png`` is the picture when it has been drawn already (an interactive figure's).
    """

    def __init__(self, fig: Figure, alt: str, dpi: int | None = None,
                 png: bytes | None = None) -> None:
        self.figure = fig
        self.alt = alt
        self._png = figure_png(fig, dpi) if png is None else png

    @property
    def png(self) -> bytes:
        return self._png

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, str]:
        encoded = base64.b64encode(self._png).decode("ascii")
        alt = html.escape(self.alt, quote=True)
        return {
            "text/html": f'<img src="data:image/png;base64,{encoded}" alt="{alt}" '
                         f'style="max-width: 100%"/>',
            "image/png": encoded,
            "text/plain": f"[figure] {self.alt}",
        }

    def __repr__(self) -> str:
        return f"[figure] {self.alt}"
