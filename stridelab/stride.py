"""Figures and the stride explorer of notebook 02 (stride: how far the filter jumps).

The explorer draws, for an input of length ``n``, a kernel of length ``k``, a stride ``s``
and a padding ``p`` per side, every window position along an axis, the padded 2-D grid
with the elements no window reaches in their own colour (the trailing border, and the gaps
between windows when ``s > k``), the output grid, and the output-size formula with the
current numbers. It redraws in a few tens of milliseconds (see ``benchmarks/widgets.py``):
everything is drawn straight onto the figure with a handful of artists — no Axes, ticks or
layout engine, which are what make matplotlib slow — and moving the highlighted window
redraws only its bar and outlines, over the rest kept as a picture.

>>> explorer = StrideExplorer(n=8, k=3, stride=2)
>>> explorer.describe()[:58]
'n = 8, k = 3, s = 2, p = 0: windows start at 0, 2, 4, so H'
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.colors import ListedColormap, to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Affine2D, Transform
from numpy.lib.stride_tricks import sliding_window_view

from stridelab.learner import learner_or_fallback
from stridelab.plotting import COLORS, Box, FigureDisplay, draw_grid, new_figure, padding_mask
from stridelab.widgets import InteractiveFigure, drawing_order

__all__ = ["AxisLayout", "SizeTable", "StrideExplorer", "pair_stride_figure",
           "same_padding_figure", "strided_conv_figure", "tf_same_padding"]

Size = int | tuple[int, int]

# Cell states of the padded grid, and their colours (Okabe–Ito; distinguishable for all).
PADDING, INPUT, IGNORED_INPUT, IGNORED_PADDING = 0, 1, 2, 3
STATE_COLORS = ListedColormap(["#DDDDDD", COLORS["sky"], COLORS["vermillion"], "#F2B8A0"])
WINDOW_COLOR = COLORS["orange"]
HIGHLIGHT_COLOR = COLORS["blue"]
OUTPUT_COLOR = COLORS["yellow"]
STATE_RGBA = np.array([STATE_COLORS(i) for i in range(4)])
OUTPUT_RGBA = np.array(to_rgba(OUTPUT_COLOR))


def _pair(value: Size) -> tuple[int, int]:
    return (value, value) if isinstance(value, (int, np.integer)) else (int(value[0]), int(value[1]))


@dataclass(frozen=True)
class AxisLayout:
    """Everything about one axis of a strided convolution, computed once.

    >>> AxisLayout(n=8, k=3, s=2, p=0).starts
    (0, 2, 4)
    """

    n: int
    k: int
    s: int
    p: int

    @property
    def padded(self) -> int:
        return self.n + 2 * self.p

    @property
    def fits(self) -> bool:
        return 1 <= self.k <= self.padded and self.s >= 1 and self.p >= 0

    @property
    def count(self) -> int:
        """The output length, floor((n + 2p − k) / s) + 1."""
        return (self.padded - self.k) // self.s + 1

    @property
    def starts(self) -> tuple[int, ...]:
        return tuple(range(0, self.padded - self.k + 1, self.s))

    @property
    def ignored(self) -> int:
        """Trailing padded elements no window covers: (n + 2p − k) mod s."""
        return (self.padded - self.k) % self.s

    def covered(self) -> np.ndarray:
        """Per padded element: whether at least one window contains it."""
        hit = np.zeros(self.padded, dtype=bool)
        for start in self.starts:
            hit[start:start + self.k] = True
        return hit

    @property
    def skipped(self) -> tuple[int, ...]:
        """Padded elements *between* windows (only when s > k): no window contains them,
        though windows lie on both sides. The trailing :attr:`ignored` ones are not counted."""
        end = self.starts[-1] + self.k if self.fits else 0
        return tuple(int(j) for j in np.flatnonzero(~self.covered()[:end]))

    def states(self) -> np.ndarray:
        """Per padded element: padding, input, or not covered by any window (input or
        padding) — at the end, and between windows when the stride exceeds the kernel."""
        index = np.arange(self.padded)
        is_input = (index >= self.p) & (index < self.p + self.n)
        is_ignored = ~self.covered()
        return np.where(is_ignored, np.where(is_input, IGNORED_INPUT, IGNORED_PADDING),
                        np.where(is_input, INPUT, PADDING))

    def formula(self) -> str:
        """The output-size law with these numbers substituted."""
        return (f"floor(({self.n} + 2·{self.p} − {self.k}) / {self.s}) + 1 = "
                f"floor({self.padded - self.k}/{self.s}) + 1 = {self.count}")

    def padding_only_windows(self) -> list[int]:
        """Indices of windows that cover nothing but padding (their output is just 0)."""
        return [m for m, start in enumerate(self.starts)
                if start + self.k <= self.p or start >= self.p + self.n]


def _number_list(values: Sequence[int], limit: int = 8) -> str:
    shown = ", ".join(map(str, values[:limit]))
    return shown + (f", … ({len(values)} in all)" if len(values) > limit else "")


# --- drawing primitives -------------------------------------------------------------------
# The explorer draws straight onto the figure, without Axes: creating, clearing and
# rendering axes with their ticks is most of the cost of a matplotlib redraw, and the
# explorer must redraw fast. A _Canvas maps cell coordinates — x the column, y the row
# growing downwards, cell (i, j) centred on (x = j, y = i) — onto a box of the figure.

@dataclass(frozen=True)
class _Canvas:
    fig: Figure
    transform: Transform
    unit: float
    """Inches per cell."""

    @classmethod
    def fit(cls, fig: Figure, box: tuple[float, float, float, float], columns: float,
            rows: float, margins: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0),
            max_unit: float = 0.5) -> _Canvas:
        """Square cells ``[-0.5, columns − 0.5] × [-0.5, rows − 0.5]`` in ``box``.

        ``box`` is ``(left, bottom, width, height)`` in figure fractions; ``margins``
        (left, right, top, bottom, in inches) stay free for labels. The cells hang from the
        top of what is left, centred across it.
        """
        width_in, height_in = fig.get_size_inches()
        x0, y0, w, h = box
        left, right, top, bottom = margins
        free_w = w * width_in - left - right
        free_h = h * height_in - top - bottom
        unit = min(free_w / columns, free_h / rows, max_unit)
        left_in = x0 * width_in + left + (free_w - unit * columns) / 2
        top_in = (y0 + h) * height_in - top
        transform = (Affine2D().translate(0.5, 0.5).scale(unit, -unit)
                     .translate(left_in, top_in) + fig.dpi_scale_trans)
        return cls(fig, transform, unit)

    def cells(self, inches: float) -> float:
        """A length in inches, in cells."""
        return inches / self.unit

    def squares(self, colors: np.ndarray, top: float = 0.0, edge: str = "white") -> None:
        """A grid of unit squares whose top-left cell is at row ``top``, column 0."""
        rows, cols = colors.shape[:2]
        i, j = np.mgrid[0:rows, 0:cols]
        x, y = j.ravel() - 0.5, i.ravel() + top - 0.5
        corners = np.stack([np.stack([x, y], 1), np.stack([x + 1, y], 1),
                            np.stack([x + 1, y + 1], 1), np.stack([x, y + 1], 1)], 1)
        self.fig.add_artist(PolyCollection(corners, facecolors=colors.reshape(-1, 4),
                                           edgecolors=edge, linewidths=1,
                                           transform=self.transform))

    def bars(self, lefts: Sequence[float], tops: Sequence[float], widths: Sequence[float],
             height: float, colors: Sequence[str]) -> PolyCollection:
        corners = [[(x, y), (x + w, y), (x + w, y + height), (x, y + height)]
                   for x, y, w in zip(lefts, tops, widths)]
        return self.fig.add_artist(PolyCollection(corners, facecolors=colors,
                                                  edgecolors="black", linewidths=0.5,
                                                  transform=self.transform))

    def outline(self, col: float, row: float, width: float, height: float, color: str,
                linewidth: float = 3) -> Rectangle:
        return self.fig.add_artist(Rectangle((col - 0.5, row - 0.5), width, height, fill=False,
                                             edgecolor=color, linewidth=linewidth, zorder=3,
                                             transform=self.transform))

    def dots(self, xs: np.ndarray, ys: np.ndarray) -> None:
        self.fig.add_artist(Line2D(xs, ys, linestyle="none", marker="o", markersize=4,
                                   color="black", zorder=2, transform=self.transform))

    def text(self, x: float, y: float, text: str, **style: object) -> Text:
        return self.fig.text(x, y, text, transform=self.transform, **{"fontsize": 8, **style})

    def column_labels(self, count: int, row: float, label: str) -> None:
        """Column numbers under ``row`` and an axis label below them."""
        y = row + 0.5 + self.cells(0.04)
        for j in _sparse(count):
            self.text(j, y, str(j), ha="center", va="top")
        self.text((count - 1) / 2, y + self.cells(0.17), label, ha="center", va="top",
                  fontsize=9)

    def row_labels(self, count: int, label: str) -> None:
        """Row numbers left of column 0 and a rotated axis label left of them."""
        x = -0.5 - self.cells(0.04)
        for i in _sparse(count):
            self.text(x, i, str(i), ha="right", va="center")
        self.text(x - self.cells(0.2), (count - 1) / 2, label, ha="right", va="center",
                  fontsize=9, rotation=90)


def _sparse(count: int, most: int = 4) -> list[int]:
    """Indices 0 … count − 1 at a step that labels at most about ``most`` of them."""
    step = max(1, math.ceil(count / most))
    picked = list(range(0, count, step))
    if count - 1 - picked[-1] > step / 2:
        picked.append(count - 1)
    return picked


def _state_colors(states: np.ndarray) -> np.ndarray:
    return STATE_RGBA[states]


def _lane_size(axis: AxisLayout) -> tuple[float, float, float]:
    """Rows the lane needs: the input row, a gap, the stacked windows; and the bar pitch."""
    count = len(axis.starts)
    pitch = 1.0 if count <= 8 else 8.0 / count
    return 1.3 + pitch * count, pitch, 0.3


def _window_colors(count: int, highlight: int | None) -> list[str]:
    return [HIGHLIGHT_COLOR if m == highlight else WINDOW_COLOR for m in range(count)]


def _draw_lane(fig: Figure, box: tuple[float, float, float, float], axis: AxisLayout,
               highlight: int | None = None, label: str = "column"
               ) -> tuple[PolyCollection, list[Text]]:
    """One axis as a row of cells, and every window below it as a bar. Returns the bars
    and the "start" labels drawn over their ends."""
    rows, pitch, gap = _lane_size(axis)
    canvas = _Canvas.fit(fig, box, axis.padded + 2.6, rows,
                         margins=(0.75, 0.0, 0.05, 0.45), max_unit=0.32)
    canvas.squares(_state_colors(axis.states())[np.newaxis, :])
    count = len(axis.starts)
    tops = 1 + gap + pitch * np.arange(count) - 0.5
    bars = canvas.bars(np.array(axis.starts) - 0.5, tops, [axis.k] * count, 0.75 * pitch,
                       _window_colors(count, highlight))
    labelled = range(count) if count <= 4 else (0, count - 1)
    starts = [canvas.text(axis.starts[m] + axis.k - 0.3, tops[m] + 0.37 * pitch,
                          f"start {axis.starts[m]}", va="center") for m in labelled]
    left = -0.5 - canvas.cells(0.08)
    canvas.text(left, 0, "input", ha="right", va="center", fontsize=9)
    canvas.text(left, tops[0] + (tops[-1] - tops[0] + pitch) / 2, "windows", ha="right",
                va="center", fontsize=9)
    canvas.column_labels(axis.padded, tops[-1] + pitch - 0.5,
                         f"{label} in padded coordinates (0 … n + 2p − 1 = {axis.padded - 1})")
    return bars, starts


def _grid_states(rows: AxisLayout, cols: AxisLayout) -> np.ndarray:
    """2-D states: input where both axes are input; ignored where either axis is."""
    r, c = rows.states(), cols.states()
    is_input = np.isin(r, (INPUT, IGNORED_INPUT))[:, None] & np.isin(c, (INPUT, IGNORED_INPUT))[None, :]
    ignored = (r >= IGNORED_INPUT)[:, None] | (c >= IGNORED_INPUT)[None, :]
    return np.where(ignored, np.where(is_input, IGNORED_INPUT, IGNORED_PADDING),
                    np.where(is_input, INPUT, PADDING))


def _draw_padded_grid(fig: Figure, box: tuple[float, float, float, float], rows: AxisLayout,
                      cols: AxisLayout, highlight: tuple[int, int] | None = None
                      ) -> Rectangle | None:
    """The padded 2-D input coloured by state, a dot at every window's centre. Returns the
    highlighted window's outline."""
    canvas = _Canvas.fit(fig, box, cols.padded, rows.padded, margins=(0.45, 0.0, 0.05, 0.45))
    canvas.squares(_state_colors(_grid_states(rows, cols)))
    centre_i = np.array(rows.starts) + (rows.k - 1) / 2
    centre_j = np.array(cols.starts) + (cols.k - 1) / 2
    jj, ii = np.meshgrid(centre_j, centre_i)
    canvas.dots(jj.ravel(), ii.ravel())
    outline = None
    if highlight is not None:
        i, j = highlight
        outline = canvas.outline(cols.starts[j], rows.starts[i], cols.k, rows.k,
                                 HIGHLIGHT_COLOR)
    canvas.column_labels(cols.padded, rows.padded - 1, "column j (padded)")
    canvas.row_labels(rows.padded, "row i (padded)")
    return outline


def _draw_output(fig: Figure, box: tuple[float, float, float, float], rows: AxisLayout,
                 cols: AxisLayout, highlight: tuple[int, int] | None = None
                 ) -> Rectangle | None:
    """The output grid, one cell per window; the highlighted window's cell outlined (the
    outline is returned)."""
    shape = (rows.count, cols.count)
    canvas = _Canvas.fit(fig, box, max(shape[1], 3), max(shape[0], 3),
                         margins=(0.45, 0.0, 0.05, 0.45), max_unit=0.45)
    canvas.squares(np.broadcast_to(OUTPUT_RGBA, (*shape, 4)))
    outline = None
    if highlight is not None:
        i, j = highlight
        outline = canvas.outline(j, i, 1, 1, HIGHLIGHT_COLOR)
    canvas.column_labels(shape[1], shape[0] - 1, "output column")
    canvas.row_labels(shape[0], "output row")
    return outline


def _title(fig: Figure, box: tuple[float, float, float, float], text: str) -> None:
    """A panel title centred above ``box`` (figure fractions)."""
    x0, y0, w, h = box
    fig.text(x0 + w / 2, y0 + h + 0.01, text, ha="center", va="bottom", fontsize=11)


def _legend(fig: Figure, ignored: bool, padding_ignored: bool = False, y: float = 0.03,
            windows: bool = True, highlight: bool = True) -> None:
    """A one-line legend along the bottom, drawn as patches and texts (fig.legend is slow)."""
    entries = [(dict(color=STATE_COLORS(PADDING)), "padding (zeros)"),
               (dict(color=STATE_COLORS(INPUT)), "input x")]
    if ignored:
        entries.append((dict(color=STATE_COLORS(IGNORED_INPUT)), "input no window reaches"))
    if padding_ignored:
        entries.append((dict(color=STATE_COLORS(IGNORED_PADDING)), "padding no window reaches"))
    if windows:
        entries.append((dict(color=WINDOW_COLOR), "a window"))
    if highlight:
        entries.append((dict(facecolor="white", edgecolor=HIGHLIGHT_COLOR, linewidth=2),
                        "highlighted window"))
    width, height = fig.get_size_inches()
    x = 0.02
    for style, label in entries:
        fig.patches.append(Rectangle((x, y), 0.22 / width, 0.16 / height, transform=fig.transFigure,
                                     figure=fig, **style))
        fig.text(x + 0.3 / width, y + 0.08 / height, label, va="center", fontsize=9)
        x += (0.45 + 0.075 * len(label)) / width


# --- the explorer -------------------------------------------------------------------------

class StrideExplorer(InteractiveFigure):
    """Sliders for n, k, stride and padding; every window, the ignored border and the output.

    The same numbers apply to both axes (a square input and kernel). The ``window`` slider
    (or Play) steps through the windows, highlighting one and its output cell.
    """

    def __init__(self, n: int = 8, k: int = 3, stride: int = 2, padding: int = 0) -> None:
        style = {"description_width": "initial"}
        self.n = widgets.IntSlider(value=n, min=1, max=16, description="input size n", style=style)
        self.k = widgets.IntSlider(value=k, min=1, max=7, description="kernel k", style=style)
        self.s = widgets.IntSlider(value=stride, min=1, max=5, description="stride s", style=style)
        self.p = widgets.IntSlider(value=padding, min=0, max=3, description="padding p",
                                   style=style)
        self.window = widgets.IntSlider(value=0, min=0, max=0, description="window", style=style)
        self.play = widgets.Play(value=0, min=0, max=0, interval=800, description="Play")
        widgets.jslink((self.play, "value"), (self.window, "value"))
        self._syncing = False
        self._sync_window_range()
        super().__init__([self.n, self.k, self.s, self.p, self.play, self.window],
                         width=11, height=4.6, dpi=80)

    @property
    def axis(self) -> AxisLayout:
        return AxisLayout(self.n.value, self.k.value, self.s.value, self.p.value)

    def _sync_window_range(self) -> None:
        """Keep the window slider within the windows that exist now."""
        axis = self.axis
        last = axis.count ** 2 - 1 if axis.fits else 0
        self._syncing = True
        try:
            self.window.value = min(self.window.value, last)
            self.play.value = min(self.play.value, last)
            self.window.max = self.play.max = max(last, 0)
        finally:
            self._syncing = False

    def _on_change(self, change: dict) -> None:
        # Play is linked to the window slider in the browser, which reports the same move
        # itself: redrawing for both would draw every animation frame twice.
        if self._syncing or change.get("owner") is self.play:
            return
        if change.get("owner") is not self.window:
            self._sync_window_range()
        self.redraw()

    def _highlight(self) -> tuple[int, int]:
        return divmod(self.window.value, self.axis.count)

    def problem(self) -> str:
        axis = self.axis
        if axis.k > axis.padded:
            return (f"No window fits: the kernel (k = {axis.k}) is longer than the padded input "
                    f"(n + 2p = {axis.n} + 2·{axis.p} = {axis.padded}). conv_output_size raises "
                    f"ValueError here. Make k smaller, or add padding.")
        return ""

    def structure(self) -> tuple[int, int, int, int]:
        """Sizes, stride and padding decide every artist; the window only colours some."""
        return self.n.value, self.k.value, self.s.value, self.p.value

    def build(self) -> None:
        fig, axis = self.figure, self.axis
        fig.set_layout_engine(None)
        i, j = self._highlight()
        lane, grid, out = (0.01, 0.1, 0.41, 0.7), (0.43, 0.1, 0.33, 0.7), (0.77, 0.1, 0.22, 0.7)
        self._bars, self._starts = _draw_lane(fig, lane, axis, highlight=j)
        _title(fig, lane, f"one axis: {len(axis.starts)} windows of k = {axis.k}, {axis.s} apart")
        self._grid_outline = _draw_padded_grid(fig, grid, axis, axis, highlight=(i, j))
        _title(fig, grid, f"padded input: {axis.padded}×{axis.padded}")
        self._output_outline = _draw_output(fig, out, axis, axis, highlight=(i, j))
        _title(fig, out, f"output: {axis.count}×{axis.count}")
        fig.text(0.02, 0.945, f"H_out = {axis.formula()}", fontsize=13, fontweight="bold")
        leftover = (f"in no window: {axis.ignored} at the end, (n + 2p − k) mod s = "
                    f"{axis.padded - axis.k} mod {axis.s} = {axis.ignored}")
        if axis.skipped:
            leftover += (f"; {len(axis.skipped)} between windows, because s = {axis.s} > "
                         f"k = {axis.k}")
        fig.text(0.02, 0.885, leftover, fontsize=10.5,
                 color=COLORS["vermillion"] if axis.ignored or axis.skipped else "black")
        states = axis.states()
        _legend(fig, ignored=bool(np.any(states == IGNORED_INPUT)),
                padding_ignored=bool(np.any(states == IGNORED_PADDING)))

    def update(self) -> None:
        """Highlight the window on the slider: its bar, its outline, its output cell."""
        axis = self.axis
        i, j = self._highlight()
        self._bars.set_facecolors(_window_colors(len(axis.starts), j))
        self._grid_outline.set_xy((axis.starts[j] - 0.5, axis.starts[i] - 0.5))
        self._output_outline.set_xy((j - 0.5, i - 0.5))

    def layers(self) -> list:
        # Everything, drawn once per n, k, s, p (texts faster than the figure would), then
        # the window's highlight over it: the "start" labels overlap the bars' ends, so they
        # are drawn again over them.
        moving = [self._bars, *self._starts, self._grid_outline, self._output_outline]
        rest = [artist for artist in drawing_order(self.figure)
                if not any(artist is other for other in moving)]
        return [((), rest), (self.window.value, moving)]

    def describe(self) -> str:
        axis = self.axis
        i, j = self._highlight()
        text = (f"n = {axis.n}, k = {axis.k}, s = {axis.s}, p = {axis.p}: windows start at "
                f"{_number_list(axis.starts)}, so H_out = {axis.formula()} and the output is "
                f"{axis.count}×{axis.count}. ")
        if axis.skipped:
            gap = axis.s - axis.k
            text += (f"The stride is larger than the kernel (s = {axis.s} > k = {axis.k}), so "
                     f"{gap} element{'s' if gap != 1 else ''} between neighbouring windows "
                     f"{'are' if gap != 1 else 'is'} skipped: padded "
                     f"element{'s' if len(axis.skipped) != 1 else ''} "
                     f"{_number_list(axis.skipped)}, in red-orange, "
                     f"{'are' if len(axis.skipped) != 1 else 'is'} in no window. ")
        if axis.ignored:
            first = axis.padded - axis.ignored
            where = (f"element {first}" if axis.ignored == 1
                     else f"elements {first} to {axis.padded - 1}")
            text += (f"The last {axis.ignored} padded {'element is' if axis.ignored == 1 else 'elements are'} "
                     f"never covered ({where}, in red-orange). ")
        elif axis.skipped:
            text += "The last window ends exactly at the last element. "
        else:
            text += "The windows end exactly at the last element: every element is in a window. "
        alone = axis.padding_only_windows()
        if alone:
            text += (f"{len(alone)} window(s) along each axis see only padding, so their "
                     f"outputs are 0. ")
        text += (f"Highlighted: window {self.window.value} (windows are numbered from 0, row by "
                 f"row), top-left corner at row {axis.starts[i]}, column {axis.starts[j]}, gives "
                 f"output[{i}, {j}].")
        return text


# --- static figures -----------------------------------------------------------------------

def pair_stride_figure(shape: tuple[int, int], kernel: Size, stride: Size,
                       padding: Size = 0) -> FigureDisplay:
    """The padded grid and output of one 2-D strided convolution with pair sizes."""
    (h, w), (kh, kw), (sh, sw), (ph, pw) = shape, _pair(kernel), _pair(stride), _pair(padding)
    rows, cols = AxisLayout(h, kh, sh, ph), AxisLayout(w, kw, sw, pw)
    fig = new_figure(9, 3.6)
    fig.set_layout_engine(None)
    grid, out = (0.02, 0.14, 0.56, 0.68), (0.6, 0.14, 0.38, 0.68)
    _draw_padded_grid(fig, grid, rows, cols, highlight=(0, 1) if cols.count > 1 else (0, 0))
    _title(fig, grid, f"padded input {rows.padded}×{cols.padded}; a dot per window centre")
    _draw_output(fig, out, rows, cols)
    _title(fig, out, f"output {rows.count}×{cols.count}")
    fig.suptitle(f"kernel {kh}×{kw}, stride ({sh}, {sw}), padding ({ph}, {pw}): "
                 f"H_out = {rows.count}, W_out = {cols.count}", x=0.07, ha="left")
    both = np.concatenate([rows.states(), cols.states()])
    _legend(fig, ignored=bool(np.any(both == IGNORED_INPUT)),
            padding_ignored=bool(np.any(both == IGNORED_PADDING)), windows=False)
    alt = (f"A {h}×{w} input padded to {rows.padded}×{cols.padded}. Window centres, marked by "
           f"dots, are {sh} rows apart and {sw} columns apart, giving a {rows.count}×{cols.count} "
           f"output; {rows.ignored} trailing row(s) and {cols.ignored} trailing column(s) are "
           f"never covered" + _skipped_text(rows, "row") + _skipped_text(cols, "column") + ".")
    return FigureDisplay(fig, alt)


def _skipped_text(axis: AxisLayout, name: str) -> str:
    """``"; padded columns 2, 5, 8 fall between windows"`` when the stride exceeds the kernel."""
    if not axis.skipped:
        return ""
    many = len(axis.skipped) != 1
    return (f"; padded {name}{'s' if many else ''} {_number_list(axis.skipped)} "
            f"{'fall' if many else 'falls'} between windows (stride {axis.s} > kernel {axis.k}) "
            f"and {'are' if many else 'is'} never covered either")


def tf_same_padding(n: int, k: int, s: int) -> tuple[int, int, int]:
    """TensorFlow's ``padding="SAME"``: ``(before, after, output length)`` along one axis.

    The output has ``ceil(n / s)`` elements; the padding needed for that is split with the
    odd one out at the end (bottom or right), as in TensorFlow's ``kernel_shape_util.cc``.

    >>> tf_same_padding(224, 7, 2)
    (2, 3, 112)
    """
    out = math.ceil(n / s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2, out


def _draw_windows_on_axis(ax: Axes, n: int, k: int, s: int, before: int, after: int,
                          title: str) -> None:
    """A 1-D input with its own padding on each side and the windows as bars."""
    padded = n + before + after
    index = np.arange(padded)
    states = np.where((index >= before) & (index < before + n), INPUT, PADDING)
    starts = list(range(0, padded - k + 1, s))
    ignored = (padded - k) % s
    states = np.where(index >= padded - ignored,
                      np.where(states == INPUT, IGNORED_INPUT, IGNORED_PADDING), states)
    ax.imshow(states[np.newaxis, :], cmap=STATE_COLORS, vmin=-0.5, vmax=3.5, aspect="auto",
              extent=(-before - 0.5, n + after - 0.5, 0.5, -0.5))
    ax.vlines(np.arange(-before - 0.5, n + after), -0.5, 0.5, color="white", linewidth=1)
    for m, start in enumerate(starts):
        ax.barh(1.2 + 0.8 * m, k, height=0.6, left=start - before - 0.5, color=WINDOW_COLOR,
                edgecolor="black", linewidth=0.5)
    ax.set_ylim(1.2 + 0.8 * len(starts), -0.6)
    ax.set_xlim(-4.5, n + 3.5)
    ax.set_yticks([])
    ax.set_xticks(range(-3, n + 3))
    ax.set_xlabel("index into the unpadded input x (negative and ≥ n: padding)")
    ax.set_title(title, fontsize=11, loc="left")


def same_padding_figure(n: int = 8, k: int = 3, s: int = 2) -> FigureDisplay:
    """TensorFlow's "SAME" padding against PyTorch's symmetric padding, with stride."""
    before, after, out = tf_same_padding(n, k, s)
    p = (k - 1) // 2
    torch_out = (n + 2 * p - k) // s + 1
    fig = new_figure(9, 4.8)
    top, bottom = fig.subplots(2, 1)
    fig.get_layout_engine().set(rect=(0, 0.07, 1, 0.93))  # room for the legend below
    _draw_windows_on_axis(top, n, k, s, before, after,
                          f'TensorFlow padding="SAME": {before} before, {after} after → '
                          f"{out} outputs (ceil(n / s) = ceil({n}/{s}))")
    _draw_windows_on_axis(bottom, n, k, s, p, p,
                          f"PyTorch padding={p} on each side → {torch_out} outputs, "
                          f"windows start one element earlier")
    fig.suptitle(f"n = {n}, k = {k}, s = {s}: the same output length, different windows")
    _legend(fig, ignored=False, padding_ignored=True, y=0.015, highlight=False)
    alt = (f"Two rows of {n} input cells with padding and windows of {k} drawn as bars. "
           f"TensorFlow's SAME adds {before} zero(s) before and {after} after, so its windows start "
           f"at input indices {', '.join(str(i - before) for i in range(0, n + before + after - k + 1, s))}; "
           f"PyTorch's padding={p} adds {p} on each side, so its windows start at "
           f"{', '.join(str(i - p) for i in range(0, n + 2 * p - k + 1, s))}: one element "
           f"earlier, with the same {out} outputs.")
    return FigureDisplay(fig, alt)


def _array_text(values: np.ndarray) -> str:
    """A small array on one line, integers without decimals: [[6, 17, 3], [8, 17, 13]]."""
    text = np.array2string(np.asarray(values, dtype=float), separator=", ",
                           formatter={"float_kind": lambda v: f"{v:g}"})
    return " ".join(text.split())


def _conv_strided(x: np.ndarray, w: np.ndarray, stride: Size = 1, padding: Size = 0) -> np.ndarray:
    """numpy's strided cross-correlation: the trusted answer for demos."""
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    padded = np.pad(x, ((ph, ph), (pw, pw)))
    return np.einsum("ijkl,kl->ij", sliding_window_view(padded, w.shape)[::sh, ::sw], w)


def strided_conv_figure(conv2d_strided: Callable[..., np.ndarray], x: np.ndarray,
                        w: np.ndarray, stride: Size, padding: Size,
                        window: tuple[int, int] = (0, 1)) -> FigureDisplay:
    """The padded input with one window outlined, the kernel, and the output of the learner's
    ``conv2d_strided`` (numpy's when it is not ready)."""
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    out, note = learner_or_fallback(
        lambda a, b: conv2d_strided(a, b, stride=stride, padding=padding),
        lambda a, b: _conv_strided(a, b, stride, padding), x, w, name="conv2d_strided")
    padded = np.pad(x, ((ph, ph), (pw, pw)))
    i, j = window
    kh, kw = w.shape
    fig = new_figure(10, 3.8)
    panels = fig.subplots(1, 3, gridspec_kw={"width_ratios": [padded.shape[1], kw + 1,
                                                              out.shape[1] + 1]})
    draw_grid(panels[0], padded, title=f"x padded by ({ph}, {pw}) (grey: zeros)",
              mask=padding_mask(padded.shape, (ph, pw)),
              boxes=[Box(i * sh, j * sw, kh, kw, color=COLORS["vermillion"], linewidth=4)],
              xlabel="column (padded)", ylabel="row (padded)")
    draw_grid(panels[1], w, title="kernel w", xlabel="", ylabel="")
    draw_grid(panels[2], out, title=f"output {out.shape[0]}×{out.shape[1]}",
              boxes=[Box(i, j, 1, 1, color=COLORS["vermillion"], linewidth=4)],
              xlabel="output column", ylabel="output row")
    value = float(np.sum(padded[i * sh:i * sh + kh, j * sw:j * sw + kw] * w))
    fig.suptitle(f"stride ({sh}, {sw}), padding ({ph}, {pw}): output[{i}, {j}] = {value:g} comes "
                 f"from the window at padded row {i}·{sh} = {i * sh}, column {j}·{sw} = {j * sw}\n"
                 f"({note})", fontsize=11)
    alt = (f"A {x.shape[0]}×{x.shape[1]} input padded with zeros to {padded.shape[0]}×"
           f"{padded.shape[1]}, the window for output[{i}, {j}] outlined at padded row {i * sh}, "
           f"column {j * sw}; the {kh}×{kw} kernel; and the {out.shape[0]}×{out.shape[1]} output "
           f"with values {_array_text(out)}.")
    return FigureDisplay(fig, alt)


@dataclass(frozen=True)
class SizeTable:
    """Output sizes of real layers, computed with the learner's ``conv_output_size``.

    Shows as an HTML table in notebooks and as text elsewhere.
    """

    rows: tuple[tuple[str, int, int, int, int, int, str], ...]
    """``(layer, n, k, s, p, output, how)`` per row."""

    @classmethod
    def compute(cls, conv_output_size: Callable[..., int],
                layers: Sequence[tuple[str, int, int, int, int]]) -> SizeTable:
        def trusted(n: int, k: int, s: int, p: int) -> int:
            return (n + 2 * p - k) // s + 1

        rows = []
        for name, n, k, s, p in layers:
            out, note = learner_or_fallback(
                lambda *a: conv_output_size(a[0], a[1], stride=a[2], padding=a[3]),
                trusted, n, k, s, p)
            how = "your function" if note.startswith("computed by") else "the formula (yours is not ready)"
            rows.append((name, n, k, s, p, int(out), how))
        return cls(tuple(rows))

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{h}</th>" for h in ("layer", "n", "k", "s", "p", "H_out", "computed by"))
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                       for row in self.rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def __repr__(self) -> str:
        lines = [f"{'layer':<28} {'n':>4} {'k':>3} {'s':>2} {'p':>2} {'H_out':>5}"]
        lines += [f"{r[0]:<28} {r[1]:>4} {r[2]:>3} {r[3]:>2} {r[4]:>2} {r[5]:>5}" for r in self.rows]
        lines.append(f"(computed by {self.rows[0][6]})" if self.rows else "")
        return "\n".join(lines)
