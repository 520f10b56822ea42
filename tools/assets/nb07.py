"""Assets of notebook 07 (learning with strided convolutions)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tools.assets import gif

DOUT = np.array([[1.0, 2.0], [-1.0, 3.0]])
KERNEL = np.array([[1.0, 0, 2], [2, 1, 0], [1, 2, 1]])
"""Corners all non-zero: each of the four stamps adds something to the centre pixel
(1·1 + 1·2 + 2·(−1) + 1·3 = 4), so the animation shows four contributions adding up."""
STRIDE = 2


def backward_scatter_gif() -> bytes:
    """A 2×2 upstream gradient scattering ``dout[i, j] · w`` onto a 5×5 input, stride 2.

    One frame per output position; where the 3×3 windows overlap (the middle row and column)
    the contributions add up.
    """
    from stridelab.plotting import COLORS, DIVERGING, Box, draw_grid, figure_png, new_figure

    k = KERNEL.shape[0]
    size = (DOUT.shape[0] - 1) * STRIDE + k
    dx = np.zeros((size, size))
    final = np.zeros((size, size))
    for i in range(2):
        for j in range(2):
            final[i * STRIDE:i * STRIDE + k, j * STRIDE:j * STRIDE + k] += DOUT[i, j] * KERNEL
    limit = 1.5 * float(np.abs(final).max())  # lighter colours keep the numbers legible
    frames = []
    steps = [None, (0, 0), (0, 1), (1, 0), (1, 1)]
    for step in steps:
        fig = new_figure(10, 3.4)
        panels = fig.subplots(1, 3, width_ratios=[2, 3, 5])
        if step is None:
            stamp = np.zeros_like(KERNEL)
            title = "dx starts at zero"
            boxes, dout_boxes = [], []
        else:
            i, j = step
            stamp = DOUT[i, j] * KERNEL
            dx[i * STRIDE:i * STRIDE + k, j * STRIDE:j * STRIDE + k] += stamp
            title = f"dx += dout[{i}, {j}] · w on window ({i}·{STRIDE}, {j}·{STRIDE})"
            boxes = [Box(i * STRIDE, j * STRIDE, k, k, color=COLORS["vermillion"], linewidth=4)]
            dout_boxes = [Box(i, j, 1, 1, color=COLORS["vermillion"], linewidth=4)]
        draw_grid(panels[0], DOUT, title="dout", cmap=DIVERGING, vmin=-limit, vmax=limit,
                  boxes=dout_boxes)
        draw_grid(panels[1], stamp, title="dout[i, j] · w", cmap=DIVERGING, vmin=-limit,
                  vmax=limit, xlabel="", ylabel="")
        draw_grid(panels[2], dx, title=title, cmap=DIVERGING, vmin=-limit, vmax=limit,
                  boxes=boxes)
        fig.suptitle("Backward pass of a 3×3 convolution with stride 2: overlapping windows add up")
        frames.append(figure_png(fig))
    return gif(frames + [frames[-1]], seconds_per_frame=1.4)


ASSETS: dict[str, Callable[[], bytes]] = {
    "backward_scatter.gif": backward_scatter_gif,
}
