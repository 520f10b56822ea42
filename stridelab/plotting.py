"""Drawing primitives shared by every notebook's figures and widgets.

Figures are built with matplotlib's object API (no pyplot state) and shown through
:class:`FigureDisplay`, which carries alt text: JupyterLab and exported HTML get an
``<img alt=…>``, other front ends a PNG and a text description. Colours come from the
Okabe–Ito palette and the ``cividis`` colormap, both safe for colour-blind readers.

>>> fig = new_figure(3, 3)
>>> draw_grid(fig.add_subplot(), np.eye(2), title="identity")
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
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import NullLocator

__all__ = ["COLORS", "CMAP", "DIVERGING", "FigureDisplay", "Box", "draw_grid", "log_ticks",
           "new_figure", "figure_png"]

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
) -> None:
    """Draw a 2-D array as a grid of coloured cells, values written in small grids.

    ``mask`` greys out cells (not computed yet, or padding); ``boxes`` outline windows.
    """
    values = np.asarray(values, dtype=float)
    shown = np.ma.masked_array(values, mask=mask) if mask is not None else values
    colormap = matplotlib.colormaps[cmap].with_extremes(bad=to_rgba(COLORS["grey"], 0.25))
    image = ax.imshow(shown, cmap=colormap, vmin=vmin, vmax=vmax)
    if annotate is None:
        annotate = values.size <= 100
    if annotate:
        for (i, j), value in np.ndenumerate(values):
            if mask is not None and mask[i, j]:
                continue
            red, green, blue, _ = image.cmap(image.norm(value))
            dark_cell = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
            ax.text(j, i, _value_text(value), ha="center", va="center", fontsize=10,
                    color="white" if dark_cell else "black")
    rows, cols = values.shape
    ax.set_xticks(range(cols))
    ax.set_yticks(range(rows))
    ax.set_xticks(np.arange(-0.5, cols), minor=True)
    ax.set_yticks(np.arange(-0.5, rows), minor=True)
    ax.grid(which="minor", color="white", linewidth=1)
    ax.tick_params(which="minor", length=0)
    if cols > 12:
        ax.set_xticks(range(0, cols, max(1, cols // 6)))
    if rows > 12:
        ax.set_yticks(range(0, rows, max(1, rows // 6)))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    for box in boxes:
        ax.add_patch(Rectangle((box.col - 0.5, box.row - 0.5), box.width, box.height,
                               fill=box.fill, alpha=0.25 if box.fill else 1.0,
                               edgecolor=box.color, facecolor=box.color,
                               linewidth=box.linewidth))
        if box.label:
            ax.text(box.col - 0.45, box.row - 0.55, box.label, color=box.color,
                    fontsize=9, fontweight="bold", va="bottom")


class FigureDisplay:
    """A finished figure with alt text; shows itself as an accessible image in notebooks."""

    def __init__(self, fig: Figure, alt: str, dpi: int | None = None) -> None:
        self.figure = fig
        self.alt = alt
        self._png = figure_png(fig, dpi)

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
