"""Dilation, dense prediction and the way back up: figures, a widget and helpers (notebook 08).

- **Dilated convolution** — :func:`dilated_conv2d` (the helper's twin of the exercise),
  :func:`dilated_size` (the size law), :func:`tap_offsets`, and :func:`taps_figure`, which
  draws one window's taps on the padded input beside the learner's output.
- **Receptive fields of stacks** — :func:`receptive_field` for ``(kernel, stride, dilation)``
  layers, :func:`path_counts` (how many paths lead from each input pixel to one unit on top:
  zeros inside the field are the *gridding* holes), :func:`gridding_figure`, and the
  :class:`DilationExplorer` widget: kernel, dilation, stride and padding sliders drawing the
  taps on the input, the output, and the receptive field of a stack of such layers.
- **Dense prediction** — :func:`dense_labels_figure` (what labels predicted at output stride
  ``s`` and blown back up lose), :func:`output_stride_network` and
  :func:`output_stride_table` (DeepLab's output stride on notebook 06's ResNets: strides
  replaced by dilation in the last stages, counted with notebook 06's tools).
- **The way back up** — :func:`conv_transpose2d_sized` (transposed convolution with
  ``output_padding``), :func:`ambiguity_figure` and :func:`ambiguity_table` (several input
  sizes, one output size), and :func:`encoder_decoder`, a small encoder–decoder whose
  transposed convolutions return exactly the input's size when ``output_padding`` is chosen
  with the learner's ``transposed_output_size``.

Every function that takes a learner's function falls back to the helper's while it is not
written yet, and says so.

>>> dilated_size(7, 3, dilation=2)      # Dumoulin & Visin, relationship 15: i = 7, k = 3, d = 2
3
>>> receptive_field([(3, 1, 1), (3, 1, 2), (3, 1, 4)])
(15, 1)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import ipywidgets as widgets
import matplotlib
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from stridelab import architectures as arch
from stridelab.layers import Conv, as_pair
from stridelab.learner import learner_or_fallback
from stridelab.plotting import (CMAP, COLORS, Box, FigureDisplay, draw_grid, new_figure,
                                padding_mask)
from stridelab.training import conv2d_layer, conv_transpose2d
from stridelab.widgets import InteractiveFigure

__all__ = [
    "DilationExplorer",
    "EncoderDecoder",
    "ambiguity_figure",
    "ambiguity_table",
    "conv_transpose2d_sized",
    "dense_labels_figure",
    "describe_stack",
    "dilated_conv2d",
    "dilated_size",
    "encoder_decoder",
    "gridding_figure",
    "output_stride_network",
    "output_stride_table",
    "path_counts",
    "receptive_field",
    "tap_offsets",
    "taps_figure",
    "transposed_size",
]

Size = int | tuple[int, int]
Layer3 = tuple[int, int, int]
"""A layer along one axis: ``(kernel, stride, dilation)``."""

PADDING_COLOR, INPUT_COLOR, UNREAD_COLOR = "#DDDDDD", COLORS["sky"], COLORS["vermillion"]
TAP_COLOR, NEXT_COLOR, OUTPUT_COLOR = COLORS["orange"], COLORS["blue"], COLORS["yellow"]


# --- the arithmetic -------------------------------------------------------------------------

def tap_offsets(k: int, dilation: int = 1) -> list[int]:
    """Where a kernel of ``k`` taps reads, relative to its window's start: ``0, d, 2d, …``.

    >>> tap_offsets(3, 2)
    [0, 2, 4]
    """
    return [a * dilation for a in range(k)]


def dilated_size(n: int, k: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Output length ``floor((n + 2p − d(k − 1) − 1) / s) + 1`` (0 when no window fits)."""
    room = n + 2 * padding - dilation * (k - 1) - 1
    return room // stride + 1 if room >= 0 else 0


def transposed_size(n: int, k: int, stride: int = 1, padding: int = 0,
                    output_padding: int = 0) -> int:
    """Dumoulin & Visin's relationship 14: ``(n − 1)·s − 2p + k + a``."""
    return (n - 1) * stride - 2 * padding + k + output_padding


def dilated_conv2d(x: np.ndarray, w: np.ndarray, stride: Size = 1, padding: Size = 0,
                   dilation: Size = 1) -> np.ndarray:
    """Dilated cross-correlation of ``x`` ``(H, W)`` with ``w`` ``(kH, kW)``, as
    ``torch.nn.functional.conv2d`` on one channel: one strided slice of the padded input per
    tap, weighted and summed (the helper's twin of notebook 08's exercise)."""
    (sh, sw), (ph, pw), (dh, dw) = as_pair(stride), as_pair(padding), as_pair(dilation)
    kh, kw = w.shape
    padded = np.pad(np.asarray(x, dtype=float), ((ph, ph), (pw, pw)))
    rows = dilated_size(x.shape[0], kh, sh, ph, dh)
    cols = dilated_size(x.shape[1], kw, sw, pw, dw)
    if rows < 1 or cols < 1:
        raise ValueError(f"a {kh}×{kw} kernel dilated by ({dh}, {dw}) spans "
                         f"{dh * (kh - 1) + 1}×{dw * (kw - 1) + 1}: it does not fit the padded "
                         f"{padded.shape[0]}×{padded.shape[1]} input")
    out = np.zeros((rows, cols))
    for a in range(kh):
        for b in range(kw):
            out += w[a, b] * padded[a * dh:a * dh + sh * (rows - 1) + 1:sh,
                                    b * dw:b * dw + sw * (cols - 1) + 1:sw]
    return out


def receptive_field(layers: Sequence[Layer3]) -> tuple[int, int]:
    """``(size, jump)`` of one unit on top of ``layers``, relative to the input.

    Each layer is ``(kernel, stride, dilation)`` along one axis. A dilated kernel reaches as
    far as an undilated one of ``d(k − 1) + 1`` taps, so the field grows by ``d(k − 1)`` input
    steps of the layer below: ``r ← r + d(k − 1)·j``, ``j ← j·s`` (notebook 04's rule with the
    kernel's span in place of its size).
    """
    size, jump = 1, 1
    for k, s, d in layers:
        size += d * (k - 1) * jump
        jump *= s
    return size, jump


def path_counts(layers: Sequence[Layer3]) -> np.ndarray:
    """How many paths lead from each input position to one unit on top of ``layers``.

    Along one axis, position ``j`` of the unit's receptive field feeds the unit through every
    chain of taps that ends at it; with all weights 1 that count is the unit's sensitivity to
    ``j``. A 0 inside the field is an input the unit never reads: repeated equal dilations
    leave such holes (gridding).

    >>> path_counts([(3, 1, 2), (3, 1, 2)]).tolist()
    [1, 0, 2, 0, 3, 0, 2, 0, 1]
    """
    counts = np.ones(1, dtype=np.int64)
    for k, s, d in reversed(list(layers)):
        below = np.zeros((len(counts) - 1) * s + d * (k - 1) + 1, dtype=np.int64)
        for a in range(k):
            below[a * d:a * d + s * (len(counts) - 1) + 1:s] += counts
        counts = below
    return counts


# --- taps on the input ----------------------------------------------------------------------

def _unread(n: int, k: int, s: int, p: int, d: int) -> np.ndarray:
    """Per padded position along one axis: whether no tap of any window reads it."""
    count = dilated_size(n, k, s, p, d)
    read = np.zeros(n + 2 * p, dtype=bool)
    for m in range(count):
        read[[m * s + a * d for a in range(k)]] = True
    return ~read


def _array_text(values: np.ndarray) -> str:
    rows = ["[" + ", ".join(f"{v:g}" for v in row) + "]" for row in np.asarray(values, float)]
    return "[" + ", ".join(rows) + "]"


def taps_figure(dilated_conv2d_fn: Callable[..., np.ndarray], x: np.ndarray, w: np.ndarray,
                stride: Size = 1, padding: Size = 0, dilation: Size = 1,
                window: tuple[int, int] = (0, 0)) -> FigureDisplay:
    """The padded input with one window's taps circled, the kernel, and the output of the
    learner's ``dilated_conv2d`` (the helper's when it is not ready)."""
    (sh, sw), (ph, pw), (dh, dw) = as_pair(stride), as_pair(padding), as_pair(dilation)
    out, note = learner_or_fallback(
        lambda a, b: dilated_conv2d_fn(a, b, stride=stride, padding=padding, dilation=dilation),
        lambda a, b: dilated_conv2d(a, b, stride, padding, dilation), x, w,
        name="dilated_conv2d")
    padded = np.pad(x, ((ph, ph), (pw, pw)))
    kh, kw = w.shape
    i, j = window
    fig = new_figure(11, 4.0)
    panels = fig.subplots(1, 3, gridspec_kw={"width_ratios": [padded.shape[1], kw + 1,
                                                              out.shape[1] + 1.5]})
    draw_grid(panels[0], padded, title=f"x padded by ({ph}, {pw}): taps of window ({i}, {j})",
              mask=padding_mask(padded.shape, (ph, pw)), xlabel="column (padded)", ylabel="row (padded)",
              boxes=[Box(i * sh, j * sw, dh * (kh - 1) + 1, dw * (kw - 1) + 1,
                         color=COLORS["vermillion"], linewidth=2)])
    rows = [i * sh + a * dh for a in range(kh)]
    cols = [j * sw + b * dw for b in range(kw)]
    jj, ii = np.meshgrid(cols, rows)
    panels[0].scatter(jj.ravel(), ii.ravel(), s=430, facecolors="none", edgecolors="black",
                      linewidths=3.5)
    panels[0].scatter(jj.ravel(), ii.ravel(), s=300, facecolors="none", edgecolors="white",
                      linewidths=1.2)
    draw_grid(panels[1], w, title="kernel w", xlabel="column b", ylabel="row a")
    draw_grid(panels[2], out, title=f"output {out.shape[0]}×{out.shape[1]}",
              boxes=[Box(i, j, 1, 1, color=COLORS["vermillion"], linewidth=4)],
              xlabel="output column", ylabel="output row")
    value = float(sum(w[a, b] * padded[rows[a], cols[b]] for a in range(kh) for b in range(kw)))
    fig.suptitle(f"dilation ({dh}, {dw}), stride ({sh}, {sw}): output[{i}, {j}] = {value:g} = "
                 f"Σ w[a, b] · x_padded[{i}·{sh} + a·{dh}, {j}·{sw} + b·{dw}], the circled "
                 f"taps\n({note})", fontsize=10.5)
    alt = (f"A {x.shape[0]}×{x.shape[1]} input padded to {padded.shape[0]}×{padded.shape[1]}; "
           f"the {kh}×{kw} taps of the window for output[{i}, {j}] are circled at padded rows "
           f"{rows} and columns {cols}, {dh} rows and {dw} columns apart, inside an outlined "
           f"span of {dh * (kh - 1) + 1}×{dw * (kw - 1) + 1}. Next, the kernel, and the "
           f"{out.shape[0]}×{out.shape[1]} output {_array_text(out)}.")
    return FigureDisplay(fig, alt)


# --- the explorer ---------------------------------------------------------------------------

_STATE_COLORS = ListedColormap([PADDING_COLOR, INPUT_COLOR, UNREAD_COLOR])


class DilationExplorer(InteractiveFigure):
    """Sliders for input size, kernel, dilation, stride, padding and the number of stacked layers.

    Left: the padded input (the same numbers on both axes), the taps of the first window
    (orange) and of the next one along the row (blue rings), and the inputs no tap ever reads
    (red-orange). Middle: the output grid. Right: the receptive field of one unit on top of a
    stack of such layers, coloured by the number of paths from each input pixel to the unit —
    red-orange cells inside it are inputs the unit never reads (gridding).
    """

    def __init__(self, n: int = 9, k: int = 3, dilation: int = 2, stride: int = 1,
                 padding: int = 0, layers: int = 2, dpi: int = 80) -> None:
        style = {"description_width": "initial"}
        self.n = widgets.IntSlider(value=n, min=3, max=16, description="input size n", style=style)
        self.k = widgets.IntSlider(value=k, min=1, max=5, description="kernel k", style=style)
        self.d = widgets.IntSlider(value=dilation, min=1, max=4, description="dilation d",
                                   style=style)
        self.s = widgets.IntSlider(value=stride, min=1, max=3, description="stride s", style=style)
        self.p = widgets.IntSlider(value=padding, min=0, max=4, description="padding p",
                                   style=style)
        self.layers = widgets.IntSlider(value=layers, min=1, max=4, description="stacked layers",
                                        style=style)
        super().__init__([self.n, self.k, self.d, self.s, self.p, self.layers], width=12,
                         height=4.6, dpi=dpi)

    def _values(self) -> tuple[int, int, int, int, int, int]:
        return (self.n.value, self.k.value, self.d.value, self.s.value, self.p.value,
                self.layers.value)

    def span(self) -> int:
        """How many inputs one window covers: ``d(k − 1) + 1``."""
        _, k, d, _, _, _ = self._values()
        return d * (k - 1) + 1

    def output_size(self) -> int:
        n, k, d, s, p, _ = self._values()
        return dilated_size(n, k, s, p, d)

    def formula(self) -> str:
        n, k, d, s, p, _ = self._values()
        room = n + 2 * p - d * (k - 1) - 1
        return (f"floor(({n} + 2·{p} − {d}·({k} − 1) − 1) / {s}) + 1 = floor({room}/{s}) + 1 = "
                f"{self.output_size()}")

    def stack(self) -> list[Layer3]:
        _, k, d, s, _, count = self._values()
        return [(k, s, d)] * count

    def problem(self) -> str:
        n, k, d, s, p, count = self._values()
        if self.span() > n + 2 * p:
            return (f"No window fits: the dilated kernel spans d(k − 1) + 1 = {d}·({k} − 1) + 1 = "
                    f"{self.span()} inputs, more than the padded input's n + 2p = {n} + 2·{p} = "
                    f"{n + 2 * p} (stride {s}, {count} stacked layer{'s' if count > 1 else ''}). "
                    "Make k or d smaller, or n or p larger.")
        return ""

    def draw(self) -> None:
        n, k, d, s, p, count = self._values()
        fig = self.figure
        size = n + 2 * p
        unread = _unread(n, k, s, p, d)
        states = np.ones((size, size), dtype=int)
        is_pad = np.zeros(size, dtype=bool)
        is_pad[:p] = is_pad[size - p:] = True
        states[is_pad[:, None] | is_pad[None, :]] = 0
        states[(unread[:, None] | unread[None, :]) & (states == 1)] = 2
        # Fixed boxes instead of a layout engine: laying out three axes and a colour bar on
        # every redraw is most of a redraw's time.
        fig.set_layout_engine(None)
        grid_ax = fig.add_axes((0.06, 0.2, 0.3, 0.64))
        out_ax = fig.add_axes((0.43, 0.28, 0.17, 0.5))
        field_ax = fig.add_axes((0.67, 0.2, 0.25, 0.64))
        bar_ax = fig.add_axes((0.935, 0.3, 0.012, 0.44))
        grid_ax.imshow(states, cmap=_STATE_COLORS, vmin=0, vmax=2)
        offsets = tap_offsets(k, d)
        jj, ii = np.meshgrid(offsets, offsets)
        grid_ax.scatter(jj.ravel(), ii.ravel(), s=max(30, 2400 / size ** 1.3), color=TAP_COLOR,
                        edgecolors="black", linewidths=0.6, zorder=3, label="taps of window (0, 0)")
        if self.output_size() > 1:
            grid_ax.scatter(jj.ravel() + s, ii.ravel(), s=max(60, 4000 / size ** 1.3),
                            facecolors="none", edgecolors=NEXT_COLOR, linewidths=2, zorder=4,
                            label=f"window (0, 1), {s} to the right")
        grid_ax.add_patch(Rectangle((-0.5, -0.5), self.span(), self.span(), fill=False,
                                    edgecolor=TAP_COLOR, linewidth=2, linestyle="--"))
        grid_ax.set_title(f"padded input {size}×{size}: one window spans {self.span()}×"
                          f"{self.span()}", fontsize=10)
        grid_ax.set_xticks(np.arange(-0.5, size), minor=True)
        grid_ax.set_yticks(np.arange(-0.5, size), minor=True)
        grid_ax.grid(which="minor", color="white", linewidth=1)
        grid_ax.tick_params(which="minor", length=0)
        grid_ax.set_xlabel("column j (padded)")
        grid_ax.set_ylabel("row i (padded)")
        grid_ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=8, ncol=2,
                       frameon=False)
        rows = self.output_size()
        out_ax.imshow(np.ones((rows, rows)), cmap=ListedColormap([OUTPUT_COLOR]), vmin=0, vmax=1)
        out_ax.set_xticks(np.arange(-0.5, rows), minor=True)
        out_ax.set_yticks(np.arange(-0.5, rows), minor=True)
        out_ax.grid(which="minor", color="white", linewidth=1.5)
        out_ax.tick_params(which="minor", length=0)
        for axis in (out_ax.xaxis, out_ax.yaxis, grid_ax.xaxis, grid_ax.yaxis,
                     field_ax.xaxis, field_ax.yaxis):
            axis.set_major_locator(MaxNLocator(nbins=6, integer=True))
        out_ax.set_title(f"output {rows}×{rows}", fontsize=10)
        out_ax.set_xlabel("output column")
        out_ax.set_ylabel("output row")
        counts = path_counts(self.stack())
        field = np.outer(counts, counts).astype(float)
        shown = np.ma.masked_equal(field, 0)
        colormap = matplotlib.colormaps[CMAP].with_extremes(bad=UNREAD_COLOR)
        image = field_ax.imshow(shown, cmap=colormap, vmin=1, vmax=max(field.max(), 2))
        bar = fig.colorbar(image, cax=bar_ax)
        bar.set_label("paths to the top unit", fontsize=8)
        bar.ax.tick_params(labelsize=7)
        field_size, _ = receptive_field(self.stack())
        field_ax.set_title(f"{count} stacked layer{'s' if count > 1 else ''}: field "
                           f"{field_size}×{field_size}, {self.hole_share():.0%} holes", fontsize=10)
        field_ax.set_xlabel("input column, relative to the field")
        field_ax.set_ylabel("input row, relative")
        fig.suptitle(f"H_out = {self.formula()}", fontsize=12, fontweight="bold", y=0.97)

    def hole_share(self) -> float:
        """Share of the stacked receptive field (2-D) that never reaches the top unit."""
        counts = path_counts(self.stack())
        return 1.0 - float((np.outer(counts, counts) > 0).mean())

    def describe(self) -> str:
        n, k, d, s, p, count = self._values()
        unread = np.flatnonzero(_unread(n, k, s, p, d)[p:n + p])
        field_size, jump = receptive_field(self.stack())
        text = (f"n = {n}, k = {k}, d = {d}, s = {s}, p = {p}: a window's taps are {d} apart and "
                f"span d(k − 1) + 1 = {self.span()} inputs, so H_out = {self.formula()} and the "
                f"output is {self.output_size()}×{self.output_size()}. ")
        if len(unread):
            shown = ", ".join(map(str, unread[:8])) + (", …" if len(unread) > 8 else "")
            text += f"No tap ever reads input rows and columns {shown} (red-orange). "
        else:
            text += "Every input is read by some tap. "
        text += (f"{count} such layer{'s' if count > 1 else ''} stacked give a receptive field of "
                 f"{field_size}×{field_size} (jump {jump})")
        holes = self.hole_share()
        if holes > 0:
            text += (f", of which {holes:.0%} never reaches the top unit: gridding, the holes "
                     "that repeated dilations leave.")
        else:
            text += ", with no holes: every input pixel in it reaches the top unit."
        return text


# --- gridding -------------------------------------------------------------------------------

def gridding_figure(stacks: Sequence[Sequence[int]] = ((2, 2, 2), (1, 2, 4), (1, 2, 5)),
                    k: int = 3) -> FigureDisplay:
    """Path counts of one unit on top of stride-1 ``k``×``k`` layers with the given dilations."""
    fig = new_figure(4 * len(stacks) + 0.8, 4.2)
    axes = fig.subplots(1, len(stacks))
    parts = []
    colormap = matplotlib.colormaps[CMAP].with_extremes(bad=UNREAD_COLOR)
    for ax, rates in zip(np.atleast_1d(axes), stacks):
        layers = [(k, 1, d) for d in rates]
        counts = path_counts(layers)
        field = np.outer(counts, counts).astype(float)
        image = ax.imshow(np.ma.masked_equal(field, 0), cmap=colormap, vmin=1)
        holes = 1 - float((field > 0).mean())
        size, _ = receptive_field(layers)
        ax.set_title(f"dilations {', '.join(map(str, rates))}: field {size}×{size}\n"
                     f"{holes:.0%} of it never reaches the unit", fontsize=10)
        ax.set_xlabel("input column, relative to the field")
        ax.set_ylabel("input row, relative")
        bar = fig.colorbar(image, ax=ax, shrink=0.7)
        bar.set_label("paths to the unit", fontsize=8)
        parts.append(f"dilations {', '.join(map(str, rates))}: a {size}×{size} field with "
                     f"{holes:.0%} holes")
    fig.suptitle(f"One unit on top of {len(stacks[0])} stride-1 {k}×{k} layers: which input "
                 "pixels reach it (red-orange: none)")
    alt = ("Heat maps of how many paths lead from each input pixel to one unit on top of a stack "
           "of dilated 3×3 layers, red-orange where there is none. " + "; ".join(parts)
           + ". Equal dilations leave a regular grid of holes; rates without a common factor "
           "fill the field.")
    return FigureDisplay(fig, alt)


# --- dense prediction -------------------------------------------------------------------------

def _scene(size: int) -> np.ndarray:
    """A label map: background 0, a large disk 1, a thin diagonal bar 2, a small square 3."""
    i, j = np.mgrid[0:size, 0:size]
    labels = np.zeros((size, size), dtype=int)
    labels[(i - 0.58 * size) ** 2 + (j - 0.36 * size) ** 2 < (0.27 * size) ** 2] = 1
    labels[(np.abs(i - j + 0.1 * size) < 0.025 * size) & (j > 0.45 * size)] = 2
    small = slice(int(0.12 * size), int(0.12 * size) + size // 14)
    labels[small, int(0.7 * size):int(0.7 * size) + size // 14] = 3
    return labels


def dense_labels_figure(size: int = 256, strides: Sequence[int] = (32, 16, 8)) -> FigureDisplay:
    """A label map, and the best any network can do when it predicts one label per
    ``s``×``s`` block (the block's majority) and blows it back up: boundaries to within ``s``
    pixels, and objects thinner than a block lost."""
    labels = _scene(size)
    fig = new_figure(3.2 * (len(strides) + 1) + 0.6, 3.8)
    axes = fig.subplots(1, len(strides) + 1)
    colormap = ListedColormap(["#F2F2F2", COLORS["sky"], COLORS["vermillion"], COLORS["green"]])
    axes[0].imshow(labels, cmap=colormap, vmin=0, vmax=3, interpolation="nearest")
    axes[0].set_title(f"labels, {size}×{size}\n(one per pixel)", fontsize=10)
    parts = []
    for ax, s in zip(axes[1:], strides):
        blocks = labels.reshape(size // s, s, size // s, s).transpose(0, 2, 1, 3).reshape(
            size // s, size // s, -1)
        coarse = np.apply_along_axis(lambda v: np.bincount(v, minlength=4).argmax(), 2, blocks)
        blown = np.kron(coarse, np.ones((s, s), dtype=int))
        wrong = float((blown != labels).mean())
        kept = sorted(set(np.unique(blown)) - {0})
        lost = [name for value, name in ((2, "bar"), (3, "square")) if value not in kept]
        ax.imshow(blown, cmap=colormap, vmin=0, vmax=3, interpolation="nearest")
        ax.set_title(f"output stride {s}: {size // s}×{size // s} labels\n"
                     f"{wrong:.1%} of pixels wrong" + (f", {' and '.join(lost)} lost" if lost else ""),
                     fontsize=10)
        parts.append(f"output stride {s} ({size // s}×{size // s} labels): {wrong:.1%} of the "
                     "pixels wrong" + (f", the {' and the '.join(lost)} gone" if lost else ""))
    for ax in axes:
        ax.set_xlabel("column j")
        ax.set_ylabel("row i")
    fig.suptitle("Segmentation at a coarse output stride, even when every coarse label is right")
    alt = ("A label map with a large disk, a thin diagonal bar and a small square, then the best "
           "labels a network predicting one label per block could give, blown back up: "
           + "; ".join(parts) + ".")
    return FigureDisplay(fig, alt)


def output_stride_network(depth: int = 101, image_size: int = 513,
                          output_stride: int = 16) -> arch.Network:
    """Notebook 06's ResNet without its classifier, at DeepLab's ``output_stride`` 32, 16 or 8.

    For 16, the stride-2 layers of ``conv5_x`` become stride 1 and its 3×3 convolutions are
    dilated by 2; for 8, ``conv4_x`` too, with dilation 2 there and 4 in ``conv5_x``. A 3×3
    convolution dilated by ``d`` with padding ``d`` has the shape and the 9 multiply-adds per
    output value of an undilated one with padding 1, which is how notebook 06's ``Conv``
    spec (it has no dilation) describes it here; the stage's name records the dilation.
    """
    undone = {32: (), 16: ("conv5_x",), 8: ("conv4_x", "conv5_x")}
    if output_stride not in undone:
        raise ValueError("DeepLab's output stride is 32 (a plain ResNet), 16 or 8")
    network = arch.resnet(depth, image_size)
    stages = []
    rate = 1
    for stage in network.stages:
        if stage.name == "classifier":
            continue
        if stage.name in undone[output_stride]:
            rate *= 2
            unstrided = lambda layers: tuple(  # noqa: E731
                Conv(l.out_channels, l.kernel, 1, l.padding) if isinstance(l, Conv) else l
                for l in layers)
            stage = replace(stage, name=f"{stage.name} (dilation {rate})",
                            layers=unstrided(stage.layers), shortcuts=unstrided(stage.shortcuts))
        stages.append(stage)
    return arch.Network(f"ResNet-{depth}, output stride {output_stride}", network.input_shape,
                        tuple(stages))


def output_stride_table(depth: int = 101, image_size: int = 513,
                        strides: Sequence[int] = (32, 16, 8)) -> arch.Table:
    """Each output stride's last feature map and multiply-adds, with notebook 06's tools."""
    rows = []
    base = None
    for os_ in strides:
        network = output_stride_network(depth, image_size, os_)
        c, h, w = arch.trace(network.input_shape, network.layers)[-1]
        macs = network.macs
        base = base or macs
        dilated = [s.name.split(" (")[1].rstrip(")") + " in " + s.name.split(" ")[0]
                   for s in network.stages if "(dilation" in s.name]
        rows.append((os_, ", ".join(dilated) or "none (plain ResNet)", f"{c}×{h}×{w}",
                     f"{c * h * w * 4 / 1e6:.1f}", f"{macs / 1e9:.1f}", f"{macs / base:.2f}×"))
    return arch.Table(("output stride", "dilated stages", "last feature map",
                       "its size (MB, float32)", "multiply-adds (G)", "cost vs stride 32"),
                      rows, title=f"ResNet-{depth} backbone on a {image_size}×{image_size} image "
                                  "(classifier removed), counted with notebook 06's tools")


# --- the way back up --------------------------------------------------------------------------

def conv_transpose2d_sized(x: np.ndarray, w: np.ndarray, stride: Size = 1, padding: Size = 0,
                           output_padding: Size = 0) -> np.ndarray:
    """``torch.nn.functional.conv_transpose2d`` with ``output_padding``: ``a`` more rows and
    columns at the bottom and right, so the output has ``(H − 1)·s − 2p + kH + a`` rows.

    The extra rows are the ones a strided convolution of that size never read: the result is
    then the backward pass (``dx``) of that convolution, whatever its size.
    """
    (ph, pw), (ah, aw) = as_pair(padding), as_pair(output_padding)
    full = conv_transpose2d(x, w, stride, 0)
    full = np.pad(full, ((0, 0), (0, 0), (0, ah), (0, aw)))
    rows = full.shape[2] - 2 * ph
    cols = full.shape[3] - 2 * pw
    return full[:, :, ph:ph + rows, pw:pw + cols]


def ambiguity_table(k: int = 3, stride: int = 2, padding: int = 1,
                    sizes: Sequence[int] = range(8, 14)) -> arch.Table:
    """For each input size: the convolution's output size, what the transposed convolution
    gives back without and with ``output_padding``, and which ``a`` that takes."""
    rows = []
    for n in sizes:
        out = dilated_size(n, k, stride, padding)
        a = (n + 2 * padding - k) % stride
        back = transposed_size(out, k, stride, padding)
        rows.append((n, out, back, a, transposed_size(out, k, stride, padding, a),
                     "✓" if back == n else f"{n - back} short"))
    return arch.Table(("input n", "conv output", "transposed back, a = 0", "a = (n + 2p − k) mod s",
                       "transposed back with a", "a = 0 recovers n?"), rows,
                      title=f"k = {k}, s = {stride}, p = {padding}: {stride} input sizes per "
                            "output size")


def ambiguity_figure(k: int = 3, stride: int = 2, padding: int = 1,
                     sizes: Sequence[int] = (9, 10)) -> FigureDisplay:
    """Two input sizes, their windows, and the same number of outputs."""
    fig = new_figure(11, 1.3 + 1.25 * len(sizes))
    axes = np.atleast_1d(fig.subplots(len(sizes), 1))
    widest = max(sizes) + 2 * padding
    parts = []
    for ax, n in zip(axes, sizes):
        total = n + 2 * padding
        count = dilated_size(n, k, stride, padding)
        reached = (count - 1) * stride + k
        for j in range(total):
            inside = padding <= j < padding + n
            color = (UNREAD_COLOR if j >= reached else INPUT_COLOR) if inside else \
                ("#F2B8A0" if j >= reached else PADDING_COLOR)
            ax.add_patch(Rectangle((j, 0), 1, 1, facecolor=color, edgecolor="white"))
        for m in range(count):
            ax.add_patch(Rectangle((m * stride + 0.1, 1.25 + 0.22 * (m % 2)), k - 0.2, 0.18,
                                   facecolor=TAP_COLOR, edgecolor="black", linewidth=0.5))
        ax.text(widest + 0.4, 0.5, f"n = {n} → {count} outputs", va="center", fontsize=11)
        ax.set_xlim(-0.2, widest + 6.5)
        ax.set_ylim(-0.1, 1.9)
        ax.set_yticks([])
        ax.set_xticks(np.arange(total) + 0.5, [str(j - padding) for j in range(total)], fontsize=8)
        ax.set_xlabel("input position (padding at −1 and n)", fontsize=9)
        ax.set_ylabel(f"n = {n}", rotation=0, ha="right", va="center")
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        unread = total - reached
        parts.append(f"n = {n}: {count} windows (orange bars) cover padded positions 0 to "
                     f"{reached - 1}; {unread} trailing position{'s' if unread != 1 else ''} "
                     "unread")
    fig.suptitle(f"k = {k}, s = {stride}, p = {padding}: different inputs, the same output size — "
                 "so going back up, the size must be told (output_padding)", fontsize=11)
    alt = (f"Two rows of cells, inputs of {' and '.join(map(str, sizes))} elements padded by "
           f"{padding} on each side, with the windows of a size-{k}, stride-{stride} "
           "convolution drawn above them as bars. " + "; ".join(parts) + ". Both give the same "
           "number of outputs.")
    return FigureDisplay(fig, alt)


@dataclass(frozen=True)
class EncoderDecoder:
    """Shapes and arrays of one pass down and back up, and whether the sizes met again."""

    down: tuple[tuple[int, int], ...]
    """The map's height and width: the input, then after each strided convolution."""
    up: tuple[tuple[int, int], ...]
    """After each transposed convolution."""
    output_paddings: tuple[tuple[int, int], ...]
    note: str
    decoded: tuple[np.ndarray, ...]
    """Each transposed convolution's output, the last one the decoder's result."""
    skips: tuple[np.ndarray, ...]
    """The encoder's maps, the input first: a U-Net concatenates ``decoded[i]`` with
    ``skips[-1 - i]``, which must then have the same height and width."""

    @property
    def returns_input_size(self) -> bool:
        return self.up[-1] == self.down[0]

    def table(self) -> arch.Table:
        rows = [(f"down {i + 1}", f"{a[0]}×{a[1]}", f"{b[0]}×{b[1]}", "–")
                for i, (a, b) in enumerate(zip(self.down, self.down[1:]))]
        before = (self.down[-1], *self.up)
        for i, (a, b, pad) in enumerate(zip(before, self.up, self.output_paddings)):
            match = self.down[-2 - i]
            rows.append((f"up {i + 1}", f"{a[0]}×{a[1]}", f"{b[0]}×{b[1]}"
                         + ("" if b == match else f" ≠ {match[0]}×{match[1]}"), str(pad)))
        verdict = ("back to the input's size" if self.returns_input_size else
                   f"{self.up[-1][0]}×{self.up[-1][1]}, not the input's "
                   f"{self.down[0][0]}×{self.down[0][1]}")
        return arch.Table(("layer", "in", "out", "output_padding"), rows,
                          title=f"3×3 kernels, stride 2, padding 1: {verdict} ({self.note})")

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()

    def __repr__(self) -> str:
        return repr(self.table())


def encoder_decoder(x: np.ndarray, transposed_output_size: Callable[..., int] | None = None,
                    levels: int = 3, use_output_padding: bool = True,
                    seed: int = 0) -> EncoderDecoder:
    """Run ``x`` ``(N, C, H, W)`` down ``levels`` stride-2 convolutions (3×3, padding 1) and
    back up as many transposed ones, with random weights.

    Each transposed convolution's ``output_padding`` is the ``a`` that makes
    ``transposed_output_size(n, 3, 2, 1, a)`` equal the size its mirror convolution read —
    found with the learner's function when it works, else the helper's; with
    ``use_output_padding=False`` it is 0 everywhere.
    """
    rng = np.random.default_rng(seed)
    k, s, p = 3, 2, 1
    shapes = [x.shape[2:]]
    maps = [x]
    current = x
    for _ in range(levels):
        w = rng.standard_normal((4, current.shape[1], k, k)) / 3
        current = np.maximum(conv2d_layer(current, w, stride=s, padding=p), 0)
        maps.append(current)
        shapes.append(current.shape[2:])
    notes = set()

    def pick(n: int, wanted: int) -> int:
        if not use_output_padding:
            return 0
        for a in range(s):
            if transposed_output_size is None:
                value = transposed_size(n, k, s, p, a)
                notes.add("the helper's sizes")
            else:
                value, note = learner_or_fallback(
                    lambda *args: transposed_output_size(*args), transposed_size, n, k, s, p, a,
                    agree=lambda mine, trusted: (isinstance(mine, (int, np.integer))
                                                 and not isinstance(mine, bool) and mine == trusted),
                    shown="the helper's sizes", name="transposed_output_size")
                notes.add(note)
            if value == wanted:
                return a
        return 0

    ups, paddings, decoded = [], [], []
    for level in range(levels):
        target = shapes[-2 - level]
        pad = (pick(current.shape[2], target[0]), pick(current.shape[3], target[1]))
        w = rng.standard_normal((current.shape[1], 4 if level < levels - 1 else x.shape[1], k, k)) / 3
        current = conv_transpose2d_sized(current, w, s, p, pad)
        ups.append(current.shape[2:])
        paddings.append(pad)
        decoded.append(current)
    if not use_output_padding:
        note = "output_padding 0 everywhere"
    elif any(n.startswith("the helper") for n in notes):
        note = "output_padding found with " + sorted(n for n in notes if n.startswith("the helper"))[0]
    else:
        note = "output_padding found with your transposed_output_size"
    return EncoderDecoder(tuple(map(tuple, shapes)), tuple(map(tuple, ups)), tuple(paddings),
                          note, tuple(decoded), tuple(maps[:-1]))


def describe_stack(layers: Sequence[Layer3]) -> dict[str, Any]:
    """Receptive field, jump and hole share of a stack, for tables and tests."""
    counts = path_counts(layers)
    size, jump = receptive_field(layers)
    return {"field": size, "jump": jump, "holes": 1 - float((np.outer(counts, counts) > 0).mean())}
