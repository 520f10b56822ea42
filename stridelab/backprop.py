"""Figures, a widget and checks for deriving a strided convolution's backward pass (notebook 07).

- :class:`ConvMatrixExplorer` — a 1-D strided convolution drawn as a matrix: each row is
  one window, so the gradient of each input is a column (overlaps add up, unread inputs
  get nothing).
- :func:`scatter_figure` — the backward pass as a scatter: each output's gradient, times
  the kernel, lands back on the window it read.
- :func:`dilation_figure` — the same gradient as a full convolution of the dilated gradient
  with the flipped kernel, and the extra rows when ``(n + 2p - k) mod s != 0``.
- :func:`gradient_check`, :func:`adjoint_check` — numerical checks as small tables.
- :func:`upsampling_figure` — transposed convolution as upsampling, checkerboard included.

Each takes the learner's function where there is one, and falls back to the helper's
(:mod:`stridelab.training`) while it is not written yet, saying so.

>>> ConvMatrixExplorer(n=7, k=3, s=2).describe()[:43]
'n = 7, k = 3, s = 2, p = 0: 3 outputs, so C'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.layout_engine import PlaceHolderLayoutEngine
from matplotlib.transforms import Bbox

from stridelab.architectures import Table
from stridelab.data import grace_hopper
from stridelab.learner import learner_or_fallback
from stridelab.plotting import (COLORS, DIVERGING, Box, FigureDisplay, PinnedLabels, draw_grid,
                                new_figure)
from stridelab.training import (as_pair, conv2d_backward, conv2d_layer, conv_transpose2d,
                                dilate, numerical_gradient)
from stridelab.widgets import InteractiveFigure

__all__ = ["ConvMatrixExplorer", "adjoint_check", "conv_matrix", "dilation_figure",
           "gradient_check", "overwriting_backward", "scatter_figure", "upsampling_figure"]


def conv_matrix(n: int, w: np.ndarray, s: int, p: int = 0) -> np.ndarray:
    """The matrix C with ``conv(x) = C @ x_padded`` for a 1-D strided convolution.

    Row ``i`` holds the kernel at columns ``i·s … i·s + k - 1`` of the padded input.
    """
    k = len(w)
    rows = (n + 2 * p - k) // s + 1
    matrix = np.zeros((rows, n + 2 * p))
    for i in range(rows):
        matrix[i, i * s:i * s + k] = w
    return matrix


def _read_counts(n: int, k: int, s: int, p: int) -> np.ndarray:
    return (conv_matrix(n, np.ones(k), s, p) > 0).sum(axis=0)


class ConvMatrixExplorer(InteractiveFigure):
    """A 1-D strided convolution as a matrix, and how many windows read each input.

    Move the sliders: rows shift by ``s``; when ``k > s`` neighbouring rows overlap, and the
    gradient of an input read by several windows is a sum of several terms; when
    ``(n + 2p - k) mod s != 0`` the last inputs are read by no window at all.
    """

    def __init__(self, n: int = 7, k: int = 3, s: int = 2, p: int = 0) -> None:
        self.n = widgets.IntSlider(value=n, min=3, max=12, description="n")
        self.k = widgets.IntSlider(value=k, min=1, max=5, description="k")
        self.s = widgets.IntSlider(value=s, min=1, max=4, description="s")
        self.p = widgets.IntSlider(value=p, min=0, max=2, description="p")
        super().__init__([self.n, self.k, self.s, self.p], width=11, height=4.2)

    def _values(self) -> tuple[int, int, int, int]:
        return self.n.value, self.k.value, self.s.value, self.p.value

    def problem(self) -> str:
        n, k, _, p = self._values()
        if k > n + 2 * p:
            return (f"A kernel of {k} does not fit {n} inputs padded by {p}: "
                    "make k smaller, or n or p larger.")
        return ""

    def _grids(self) -> tuple[tuple[np.ndarray, dict], tuple[np.ndarray, dict], list[str], str]:
        """What the two grids show now: values and draw_grid's changing arguments, the
        column labels (input positions, from −p) and the matrix's title."""
        n, k, s, p = self._values()
        weights = np.arange(1.0, k + 1)
        matrix = conv_matrix(n, weights, s, p)
        counts = _read_counts(n, k, s, p)
        unread = [j for j in range(p, n + p) if counts[j] == 0]
        boxes = [Box(0, j, len(matrix), 1, color=COLORS["vermillion"]) for j in unread]
        boxes += [Box(0, j, len(matrix), 1, color=COLORS["grey"], fill=True)
                  for j in [*range(p), *range(n + p, n + 2 * p)]]
        # viridis, not cividis: cividis is grey in the middle, where a count of 1 would look
        # like the grey of the padding. Padding cells are greyed out (masked) instead.
        padding = np.zeros((1, n + 2 * p), dtype=bool)
        padding[0, :p] = padding[0, n + p:] = True
        return ((matrix, dict(boxes=boxes)),
                (counts[None, :], dict(vmin=0, vmax=max(2, counts.max()),
                                       boxes=[Box(0, j, 1, 1, color=COLORS["vermillion"])
                                              for j in unread],
                                       mask=padding if p else None)),
                [str(j - p) for j in range(n + 2 * p)],
                f"C: one row per output (window), kernel w = {[int(v) for v in weights]}")

    def build(self) -> None:
        (matrix, top_state), (counts, bottom_state), _, title = self._grids()
        top, bottom = self.figure.subplots(2, 1, height_ratios=[max(len(matrix), 1), 1.2])
        self._top = draw_grid(top, matrix, title=title, xlabel="", ylabel="output i",
                              **top_state)
        self._bottom = draw_grid(bottom, counts, cmap="viridis",
                                 title="windows reading each input = terms in its gradient "
                                       "(column of C)",
                                 xlabel="input position j (padding greyed out; never read: "
                                        "red-orange)", ylabel="", **bottom_state)
        self._laid_out: list[Bbox] = []
        self._pins: list[PinnedLabels] | None = None
        if not self.full_redraw:                    # the largest grids the sliders allow
            n, k, s, p = (slider.max for slider in (self.n, self.k, self.s, self.p))
            self._top.reserve(n + 2 * p, n + 2 * p, outlines=n + 2 * p)
            self._bottom.reserve(1, n + 2 * p, outlines=n)

    def update(self) -> None:
        if (self._pins is None and not self.full_redraw
                and isinstance(self.figure.get_layout_engine(), PlaceHolderLayoutEngine)):
            self._laid_out = [grid.ax.get_position(original=True)   # as matplotlib laid out
                              for grid in (self._top, self._bottom)]  # the first settings
            self._pins = [PinnedLabels(grid.ax) for grid in (self._top, self._bottom)]
        (matrix, top_state), (counts, bottom_state), labels, title = self._grids()
        top, bottom = self._top.ax, self._bottom.ax
        self._top.update(matrix, **top_state)
        top.set_xticks(range(len(labels)), labels)
        top.title.set_text(title)
        self._bottom.update(counts, **bottom_state)
        bottom.set_yticks([])
        bottom.set_xticks(range(len(labels)), labels)
        if self._pins is not None:
            self._place(max(len(matrix), 1) / 1.2)

    def _place(self, ratio: float) -> None:
        """Share the height between the grids as the layout engine did for the first
        settings (it lays out those only): the same outer edges and gap, heights in
        ``ratio``; then the axis labels beside the tick labels."""
        top, bottom = self._laid_out
        height = top.height + bottom.height
        top_height = height * ratio / (ratio + 1)
        self._top.ax.set_position((top.x0, top.y1 - top_height, top.width, top_height))
        self._bottom.ax.set_position((bottom.x0, bottom.y0, bottom.width, height - top_height))
        for grid, pins in zip((self._top, self._bottom), self._pins):
            grid.ax.apply_aspect()
            pins.place()

    def layers(self) -> list:
        # Everything changes with every slider; each part is drawn by itself (see Grid.parts).
        return [(self._values(), [*self._top.parts(), *self._bottom.parts()])]

    def describe(self) -> str:
        n, k, s, p = self._values()
        counts = _read_counts(n, k, s, p)[p:n + p]
        rows = (n + 2 * p - k) // s + 1
        overlapping = [j for j, c in enumerate(counts) if c > 1]
        unread = [j for j, c in enumerate(counts) if c == 0]
        text = (f"n = {n}, k = {k}, s = {s}, p = {p}: {rows} outputs, so C has {rows} rows "
                f"shifted {s} apart. ")
        if overlapping:
            text += (f"Windows overlap (k > s): inputs {overlapping} are read by "
                     f"{max(counts)} windows at most, so their gradients add that many terms. ")
        else:
            text += "No two windows overlap (k ≤ s): each input gets at most one term. "
        remainder = (n + 2 * p - k) % s
        tail = [j for j in unread if j >= n + p - remainder]
        gaps = [j for j in unread if j not in tail]
        if gaps:
            text += f"Inputs {gaps} fall between windows (k < s). "
        if tail:
            text += (f"(n + 2p − k) mod s = {remainder}: the last {remainder} padded "
                     f"position(s) are read by no window, so inputs {tail} get gradient 0.")
        elif remainder:
            text += (f"(n + 2p − k) mod s = {remainder}: the last {remainder} padded "
                     "position(s) are padding no window reads; every real input is read.")
        elif not gaps:
            text += "The windows tile the padded input exactly: every input is read."
        return text


def _listed(values: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:g}" for v in np.asarray(values, dtype=float)) + "]"


def scatter_figure(dout: np.ndarray, w: np.ndarray, n: int, s: int) -> FigureDisplay:
    """Each output's gradient times the kernel, placed on the window it read; their sum is dx."""
    k, rows = len(w), len(dout)
    parts = np.zeros((rows, n))
    for i in range(rows):
        parts[i, i * s:i * s + k] = dout[i] * w
    dx = parts.sum(axis=0)
    fig = new_figure(9, 1.2 + 0.55 * (rows + 1))
    top, bottom = fig.subplots(2, 1, height_ratios=[rows, 1])
    limit = float(np.abs(np.concatenate([parts.ravel(), dx])).max())
    draw_grid(top, parts, cmap=DIVERGING, vmin=-limit, vmax=limit,
              title=f"row i: dout[i] · w on the window it read (w = {_listed(w)}, stride {s})",
              xlabel="", ylabel="output i",
              boxes=[Box(i, i * s, 1, k, color=COLORS["black"], linewidth=2) for i in range(rows)])
    draw_grid(bottom, dx[None, :], cmap=DIVERGING, vmin=-limit, vmax=limit,
              title="dx: the sum of each column", xlabel="input position j", ylabel="")
    bottom.set_yticks([])
    starts = np.arange(rows) * s
    shared = [j for j in range(n) if ((starts <= j) & (j < starts + k)).sum() > 1]
    alt = (f"A grid with one row per output: row i holds dout[i] times the kernel {_listed(w)}, "
           f"starting at column {s}·i. The bottom row, dx, adds each column: {_listed(dx)}; "
           f"columns {shared} receive two contributions because the windows overlap there.")
    return FigureDisplay(fig, alt)


def dilation_figure(dilate_fn: Callable[..., Any], dout: np.ndarray, w: np.ndarray,
                    x_shape: tuple[int, int], s: int) -> FigureDisplay:
    """dout → dilated → framed by k − 1 zeros → correlated with the flipped kernel → + extra rows."""
    kh, kw = w.shape
    spread, note = learner_or_fallback(dilate_fn, dilate, dout, s)
    spread = np.asarray(spread, dtype=float)
    framed = np.pad(spread, ((kh - 1, kh - 1), (kw - 1, kw - 1)))
    flipped = w[::-1, ::-1]
    reached = conv2d_layer(framed[None, None], flipped[None, None])[0, 0]
    extra = (x_shape[0] - reached.shape[0], x_shape[1] - reached.shape[1])
    dx = np.pad(reached, ((0, extra[0]), (0, extra[1])))
    fig = new_figure(13, 3.8)
    panels = fig.subplots(1, 5, width_ratios=[dout.shape[1], spread.shape[1], framed.shape[1],
                                              kw, dx.shape[1]])
    draw_grid(panels[0], dout, title="dout")
    draw_grid(panels[1], spread, title=f"dilated, s = {s}")
    draw_grid(panels[2], framed, title=f"framed: k − 1 = {kh - 1} zeros",
              boxes=[Box(0, 0, kh, kw, color=COLORS["vermillion"])])
    draw_grid(panels[3], flipped, title="w flipped\n(rotated 180°)", xlabel="", ylabel="")
    boxes = []
    if extra[0]:
        boxes.append(Box(reached.shape[0], 0, extra[0], dx.shape[1], color=COLORS["vermillion"],
                         fill=True))
    if extra[1]:
        boxes.append(Box(0, reached.shape[1], dx.shape[0], extra[1], color=COLORS["vermillion"],
                         fill=True))
    draw_grid(panels[4], dx, title=f"dx: {reached.shape[0]}×{reached.shape[1]} + zeros\n"
              f"= {dx.shape[0]}×{dx.shape[1]}, the input's shape", boxes=boxes)
    fig.suptitle("The input gradient is a full convolution of the dilated gradient with the "
                 f"flipped kernel\n(dilated grid: {note})")
    alt = (f"Five grids. A {dout.shape[0]}×{dout.shape[1]} upstream gradient; the same with "
           f"{s - 1} zero between neighbours ({spread.shape[0]}×{spread.shape[1]}); that framed "
           f"by {kh - 1} zeros on every side; the kernel rotated by 180 degrees; and the result "
           f"of sliding it over the framed grid, {reached.shape[0]}×{reached.shape[1]}, to which "
           f"{extra[0]} row(s) and {extra[1]} column(s) of zeros are added at the end — the "
           f"input no window read — to give the {dx.shape[0]}×{dx.shape[1]} input's gradient.")
    return FigureDisplay(fig, alt)


def overwriting_backward(dout: np.ndarray, x: np.ndarray, w: np.ndarray,
                         stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A deliberately wrong backward pass: each window's input gradient *replaces* what
    overlapping windows wrote before it, instead of adding to it. Everything else is right."""
    (sh, sw), (ph, pw) = as_pair(stride), as_pair(padding)
    kh, kw = w.shape[2:]
    grad = np.zeros((x.shape[0], x.shape[1], x.shape[2] + 2 * ph, x.shape[3] + 2 * pw))
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            grad[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw] = np.tensordot(dout[:, :, i, j], w, 1)
    _, dw, db = conv2d_backward(dout, x, w, stride, padding)
    return grad[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]], dw, db


def _loss_gradients(dout, x, w, stride, padding):
    """Numerical gradients of L = sum(dout · conv2d_layer(x, w, b)) for x, w and b."""
    b = np.zeros(w.shape[0])

    def loss(x_, w_, b_):
        return float(np.sum(dout * conv2d_layer(x_, w_, b_, stride, padding)))

    return (numerical_gradient(lambda v: loss(v, w, b), x),
            numerical_gradient(lambda v: loss(x, v, b), w),
            numerical_gradient(lambda v: loss(x, w, v), b))


def gradient_check(backward: Callable[..., Any], dout: np.ndarray, x: np.ndarray,
                   w: np.ndarray, stride: int | tuple[int, int] = 1,
                   padding: int | tuple[int, int] = 0) -> Table:
    """Compare ``backward``'s ``(dx, dw, db)`` with central differences of the loss."""
    name = getattr(backward, "__name__", "backward")
    owner = "the helper's" if getattr(backward, "__module__", "").startswith("stridelab") else "your"
    try:
        analytic = backward(dout, x, w, stride, padding)
        source = f"{owner} {name}"
    except NotImplementedError:
        analytic = conv2d_backward(dout, x, w, stride, padding)
        source = f"the helper's conv2d_backward ({name} is not implemented yet)"
    rows = []
    numerical = _loss_gradients(dout, x, w, stride, padding)
    for part, mine, wanted in zip(("dx", "dw", "db"), analytic, numerical):
        mine = np.asarray(mine, dtype=float)
        if mine.shape != wanted.shape:
            rows.append((part, f"shape {mine.shape}, should be {wanted.shape}", "✗"))
            continue
        error = float(np.max(np.abs(mine - wanted))) if mine.size else 0.0
        agrees = error < 1e-5 * max(1.0, float(np.abs(wanted).max()))
        rows.append((part, f"{error:.1e}", "✓" if agrees else "✗"))
    return Table(("gradient", "largest |analytic − numerical|", "agrees"), rows,
                 title=f"Numerical gradient check of {source}: stride {stride}, padding {padding}, "
                 f"x {'×'.join(map(str, x.shape))}")


def adjoint_check(transpose_fn: Callable[..., Any], seed: int = 0) -> Table:
    """⟨conv(x), y⟩ against ⟨x, convᵀ(y)⟩ for random x, y, for a few strides and paddings."""
    rng = np.random.default_rng(seed)
    rows = []
    note = ""
    # Sizes where the windows tile exactly: convᵀ(y) then has x's shape.
    cases = ((1, 0, (5, 6)), (2, 1, (7, 5)), (3, 0, (6, 9)), ((2, 1), (1, 0), (5, 4)))
    for stride, padding, size in cases:
        x = rng.standard_normal((2, 3, *size))
        w = rng.standard_normal((4, 3, 3, 3))
        y = rng.standard_normal(conv2d_layer(x, w, stride=stride, padding=padding).shape)
        left = float(np.sum(conv2d_layer(x, w, stride=stride, padding=padding) * y))
        back, note = learner_or_fallback(transpose_fn, conv_transpose2d, y, w, stride, padding)
        right = float(np.sum(x * back))
        rows.append((f"s = {stride}, p = {padding}, x {size[0]}×{size[1]}", f"{left:.6f}",
                     f"{right:.6f}", f"{abs(left - right):.1e}"))
    return Table(("case", "⟨conv(x), y⟩", "⟨x, convᵀ(y)⟩", "difference"), rows,
                 title=f"The adjoint identity (convᵀ: {note})")


def upsampling_figure(transpose_fn: Callable[..., Any]) -> FigureDisplay:
    """Transposed convolution at stride 2 as upsampling: nearest, bilinear, and a checkerboard."""
    image = grace_hopper(factor=12)[None, None]  # 50×42, small enough to see the pixels
    ones2 = np.ones((1, 1, 2, 2))
    line = np.array([0.25, 0.75, 0.75, 0.25])
    bilinear = np.outer(line, line)[None, None]
    ones3 = np.ones((1, 1, 3, 3)) / 2.25  # weights summing to 4, like the others
    nearest, note = learner_or_fallback(transpose_fn, conv_transpose2d, image, ones2, 2)
    smooth, _ = learner_or_fallback(transpose_fn, conv_transpose2d, image, bilinear, 2, 1)
    flat = np.ones((1, 1, 6, 6))
    checker, _ = learner_or_fallback(transpose_fn, conv_transpose2d, flat, ones3, 2, 1)
    fig = new_figure(13, 3.8)
    panels = fig.subplots(1, 4, width_ratios=[1, 1, 1, 1.1])
    panels[0].imshow(image[0, 0], cmap="gray")
    panels[0].set_title(f"input x: {image.shape[2]}×{image.shape[3]}")
    panels[1].imshow(np.asarray(nearest)[0, 0], cmap="gray")
    panels[1].set_title(f"k = 2, s = 2: blocks\n{nearest.shape[2]}×{nearest.shape[3]}")
    panels[2].imshow(np.asarray(smooth)[0, 0], cmap="gray")
    panels[2].set_title(f"k = 4, s = 2, p = 1, bilinear w\n{smooth.shape[2]}×{smooth.shape[3]}")
    # Every weight is 1 / 2.25, so output × 2.25 counts the kernel stamps on each pixel.
    stamps = np.rint(np.asarray(checker)[0, 0] * 2.25)
    shown = panels[3].imshow(stamps, cmap="cividis", vmin=0.5, vmax=4.5)
    for (i, j), v in np.ndenumerate(stamps):
        panels[3].text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=7,
                       color="white" if v < 3 else "black")
    panels[3].set_title("k = 3, s = 2 on a flat input:\nuneven overlaps, a checkerboard")
    bar = fig.colorbar(shown, ax=panels[3], shrink=0.7, ticks=[1, 2, 3, 4])
    bar.set_label("kernel stamps covering the pixel\n(output = stamps / 2.25)", fontsize=9)
    for ax in panels:
        ax.set_xlabel("column j")
        ax.set_ylabel("row i")
    fig.suptitle(f"Transposed convolution with stride 2 doubles the size ({note})")
    alt = ("Four images. A small, blocky portrait of Grace Hopper; the same twice as large "
           "made of 2×2 blocks; a smoother twice-as-large version made with a bilinear 4×4 "
           "kernel; and a flat input upsampled with a 3×3 kernel, whose output alternates "
           "between pixels covered by one, two or four stamps of the kernel: a checkerboard. "
           "Its colour bar counts those stamps.")
    return FigureDisplay(fig, alt)
