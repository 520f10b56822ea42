"""Figures and the window-sliding widget of notebook 01 (the sliding dot product).

>>> import numpy as np
>>> WindowSlider(np.arange(16.0).reshape(4, 4), np.ones((2, 2))).describe()[:37]
'Window 0 (of windows 0 to 8, row by r'
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from stridelab.data import grace_hopper, noisy_signal
from stridelab.learner import learner_or_fallback
from stridelab.plotting import (COLORS, DIVERGING, Box, FigureDisplay, Grid, draw_grid,
                                new_figure)
from stridelab.widgets import InteractiveFigure

__all__ = ["WindowSlider", "edge_demo", "show_window", "smoothing_demo"]

PREWITT_X = np.array([[-1.0, 0.0, 1.0]] * 3)
"""Responds to left-to-right brightness changes: vertical edges."""


def _correlate2d(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Valid cross-correlation, numpy's way: the trusted answer for demos."""
    return np.einsum("ijkl,kl->ij", sliding_window_view(x, w.shape), w)


def _products_text(window: np.ndarray, w: np.ndarray, limit: int = 9) -> str:
    terms = [f"{a:g}·{b:g}" for a, b in zip(window.ravel(), w.ravel())]
    shown = " + ".join(terms[:limit]) + (" + …" if len(terms) > limit else "")
    return f"{shown} = {np.sum(window * w):g}"


def _window_panels(x: np.ndarray, w: np.ndarray, i: int, j: int, out: np.ndarray | None = None,
                   done: int | None = None) -> list[tuple[np.ndarray, dict]]:
    """Per panel, what it shows of the window at ``(i, j)``: values and their limits, mask
    and outlines (:func:`draw_grid`'s arguments that change as the window moves)."""
    kh, kw = w.shape
    window = x[i:i + kh, j:j + kw]
    low = min(x.min(), 0)
    panels = [(x, dict(vmin=low, vmax=x.max(),
                       boxes=[Box(i, j, kh, kw, color=COLORS["vermillion"], linewidth=4)])),
              (w, {}),
              (window * w, {})]
    if out is not None:
        mask = np.ones(out.shape, dtype=bool)
        mask.ravel()[: (done or 0) + 1] = False
        panels.append((out, dict(mask=mask, vmin=out.min(), vmax=out.max(),
                                 boxes=[Box(i, j, 1, 1, color=COLORS["vermillion"],
                                            linewidth=4)])))
    return panels


_WINDOW_TITLES = (dict(title="input x"), dict(title="kernel w", xlabel="", ylabel=""),
                  dict(title="window × w", xlabel="", ylabel=""), dict(title="output"))


def _draw_window(fig, x: np.ndarray, w: np.ndarray, i: int, j: int,
                 out: np.ndarray | None = None, done: int | None = None) -> list[Grid]:
    """Input with the window outlined, the kernel, the products, and (optionally) the output."""
    kw = w.shape[1]
    shown = _window_panels(x, w, i, j, out, done)
    panels = fig.subplots(1, len(shown),
                          gridspec_kw={"width_ratios": [x.shape[1], kw, kw]
                                       + ([out.shape[1]] if out is not None else [])})
    return [draw_grid(ax, values, **titles, **state)
            for ax, (values, state), titles in zip(panels, shown, _WINDOW_TITLES)]


def show_window(x: np.ndarray, w: np.ndarray, i: int, j: int) -> FigureDisplay:
    """One window of ``x`` under kernel ``w``, its products and their sum."""
    fig = new_figure(9, 3)
    _draw_window(fig, x, w, i, j)
    total = float(np.sum(x[i:i + w.shape[0], j:j + w.shape[1]] * w))
    fig.suptitle(f"window_dot(x, w, i={i}, j={j}) = {total:g}")
    alt = (f"The {w.shape[0]}×{w.shape[1]} window of x whose top-left corner is row {i}, "
           f"column {j}, outlined in red-orange, next to the kernel and the element-wise "
           f"products, which sum to {total:g}.")
    return FigureDisplay(fig, alt)


class WindowSlider(InteractiveFigure):
    """Step a kernel across an input and watch each output value being computed.

    Press play, or drag the slider; the caption spells out the sum of products. Windows are
    numbered from 0, row by row, as in the stride explorer of notebook 02.
    """

    def __init__(self, x: np.ndarray, w: np.ndarray) -> None:
        self.x = np.asarray(x, dtype=float)
        self.w = np.asarray(w, dtype=float)
        self.out = _correlate2d(self.x, self.w)
        count = self.out.size
        self.position = widgets.IntSlider(value=0, min=0, max=count - 1,
                                          description="window", continuous_update=True)
        self.play = widgets.Play(value=0, min=0, max=count - 1, interval=900, description="Play")
        widgets.jslink((self.play, "value"), (self.position, "value"))
        super().__init__([self.play, self.position], width=11, height=3.4)

    def _corner(self) -> tuple[int, int]:
        """Row and column of the current window's top-left corner (windows count from 0)."""
        return divmod(self.position.value, self.out.shape[1])

    def build(self) -> None:
        i, j = self._corner()
        self._grids = _draw_window(self.figure, self.x, self.w, i, j, self.out,
                                   self.position.value)

    def update(self) -> None:
        # The input's outline moves; the products and the output change; the kernel stays.
        i, j = self._corner()
        (_, input_state), _, (products, _), (out, out_state) = _window_panels(
            self.x, self.w, i, j, self.out, self.position.value)
        self._grids[0].outline(input_state["boxes"])
        self._grids[2].update(products)
        self._grids[3].update(out, **out_state)

    def layers(self) -> list:
        return [(self.position.value, [*self._grids[0].changing(cells=False),
                                       *self._grids[2].changing(), *self._grids[3].changing()])]

    def describe(self) -> str:
        i, j = self._corner()
        kh, kw = self.w.shape
        window = self.x[i:i + kh, j:j + kw]
        return (f"Window {self.position.value} (of windows 0 to {self.out.size - 1}, row by row), "
                f"top-left corner at row i = {i}, column j = {j}: "
                f"{_products_text(window, self.w)}, written to output[{i}, {j}].")


def smoothing_demo(conv1d: Callable[[np.ndarray, np.ndarray], np.ndarray],
                   k: int = 9) -> FigureDisplay:
    """A noisy signal and its moving average, computed with the learner's ``conv1d``."""
    x = noisy_signal()
    w = np.ones(k) / k
    smooth, note = learner_or_fallback(conv1d, lambda a, b: np.correlate(a, b, "valid"), x, w)
    fig = new_figure(8, 3.2)
    ax = fig.add_subplot()
    ax.plot(np.arange(len(x)), x, color=COLORS["grey"], label=f"signal x (n = {len(x)})")
    # Output i averages x[i : i + k]: draw it at the window's centre, i + (k - 1) / 2.
    centres = np.arange(len(smooth)) + (k - 1) / 2
    ax.plot(centres, smooth, color=COLORS["blue"], linewidth=2.5,
            label=f"moving average, k = {k} ({len(smooth)} values)")
    ax.set_xlabel("index")
    ax.set_ylabel("value")
    ax.set_title(f"A moving average is a convolution with w = ones({k}) / {k}\n({note})")
    # Below the axes, never over the signal.
    fig.legend(loc="outside lower center", ncols=2, frameon=False)
    alt = (f"A noisy wave of {len(x)} samples in grey and its {k}-point moving average in "
           f"blue, which is smooth and {k - 1} samples shorter.")
    return FigureDisplay(fig, alt)


def edge_demo(conv2d: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> FigureDisplay:
    """Vertical edges in a photograph: cross-correlation and true convolution side by side."""
    image = grace_hopper()
    mine, note = learner_or_fallback(conv2d, _correlate2d, image, PREWITT_X)
    flipped = _correlate2d(image, PREWITT_X[::-1, ::-1])
    limit = float(np.abs(mine).max())
    fig = new_figure(11, 4)
    panels = fig.subplots(1, 3)
    panels[0].imshow(image, cmap="gray")
    panels[0].set_title(f"input x: {image.shape[0]}×{image.shape[1]}")
    panels[1].imshow(mine, cmap=DIVERGING, vmin=-limit, vmax=limit)
    panels[1].set_title(f"cross-correlation with w: {mine.shape[0]}×{mine.shape[1]}")
    shown = panels[2].imshow(flipped, cmap=DIVERGING, vmin=-limit, vmax=limit)
    panels[2].set_title("true convolution (w flipped)")
    for ax in panels:
        ax.set_xlabel("column j")
        ax.set_ylabel("row i")
    fig.colorbar(shown, ax=panels[1:], shrink=0.8, label="output value")
    fig.suptitle("w = three rows of [-1, 0, 1] lights up vertical edges; flipping it swaps "
                 f"their sign\n(middle panel: {note})")
    alt = ("Grace Hopper's portrait in grey, then two edge maps in purple and orange. "
           "Vertical edges such as the sides of her face stand out in both; where one map is "
           "purple the other is orange, because flipping the kernel flips the sign.")
    return FigureDisplay(fig, alt)
