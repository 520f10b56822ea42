"""Assets of notebook 02 (stride): windows moving at strides 1, 2 and 3, and the output-size
law drawn on a number line."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import FancyArrowPatch, Rectangle

from stridelab.plotting import COLORS, figure_png, new_figure
from stridelab.stride import (IGNORED_INPUT, INPUT, OUTPUT_COLOR, STATE_COLORS, WINDOW_COLOR,
                              AxisLayout)
from tools.assets import gif

N, K = 10, 3
STRIDES = (1, 2, 3)


def _row(ax: Axes, y: float, axis: AxisLayout, step: int) -> None:
    """One stride's input row at height ``y``, its window number ``step``, its outputs so far."""
    count = len(axis.starts)
    done = step >= count
    current = min(step, count - 1)
    states = axis.states() if done else np.full(axis.padded, INPUT)
    for j, state in enumerate(states):
        ax.add_patch(Rectangle((j, y), 0.94, 0.94, color=STATE_COLORS(int(state))))
        ax.text(j + 0.47, y + 0.47, str(j), ha="center", va="center", fontsize=9,
                color="white" if state == IGNORED_INPUT else "black")
    start = axis.starts[current]
    if not done:
        ax.add_patch(Rectangle((start - 0.06, y - 0.06), axis.k + 0.06, 1.06, fill=False,
                               edgecolor=WINDOW_COLOR, linewidth=4))
    for m in range(count if done else current + 1):
        ax.plot(axis.starts[m] + 0.47, y - 0.25, marker="^", color="black", markersize=6)
    # The output row, one cell per window computed so far.
    for m in range(count):
        filled = m < current + 1 or done
        ax.add_patch(Rectangle((N + 1.5 + m * 0.8, y + 0.1), 0.74, 0.74,
                               color=OUTPUT_COLOR if filled else "#EEEEEE"))
    summary = f"stride {axis.s}: {count} outputs"
    if axis.ignored:
        summary += f", {axis.ignored} element ignored" if axis.ignored == 1 else \
            f", {axis.ignored} elements ignored"
    ax.text(-0.4, y + 0.47, f"s = {axis.s}", ha="right", va="center", fontsize=12,
            fontweight="bold")
    ax.text(N + 1.5, y - 0.35, summary, fontsize=9, va="center")


def stride_frame(step: int) -> bytes:
    """Frame ``step``: each row shows its window number ``step`` (or its finished state)."""
    fig = new_figure(9, 4.4, dpi=80)
    fig.set_layout_engine(None)
    ax = fig.add_axes((0.06, 0.04, 0.92, 0.78))
    for row, stride in enumerate(STRIDES):
        _row(ax, 2.0 * (len(STRIDES) - 1 - row), AxisLayout(N, K, stride, 0), step)
    ax.set_xlim(-1.2, N + 8.5)
    ax.set_ylim(-0.8, 2.0 * len(STRIDES) - 0.9)
    ax.set_axis_off()
    ax.text(N / 2, 2.0 * len(STRIDES) - 0.95, "input x, element index 0 … 9", ha="center",
            fontsize=10)
    ax.text(N + 3.0, 2.0 * len(STRIDES) - 0.95, "output", ha="center", fontsize=10)
    fig.suptitle(f"A kernel of k = {K} on n = {N} inputs: the stride is how far it jumps",
                 fontsize=13)
    return figure_png(fig)


def stride_windows_gif() -> bytes:
    """Windows of 3 sliding over 10 inputs at strides 1, 2 and 3, side by side in time."""
    longest = max(len(AxisLayout(N, K, s, 0).starts) for s in STRIDES)
    frames = [stride_frame(step) for step in range(longest)]
    frames += [stride_frame(longest)] * 3  # hold the finished picture
    return gif(frames, seconds_per_frame=0.9)


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], color: str) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14,
                                 color=color, linewidth=1.8))


def output_size_law_png(n: int = 10, k: int = 3, s: int = 3) -> bytes:
    """The law read off a number line: room n − k, whole steps, plus the first window."""
    axis = AxisLayout(n, k, s, 0)
    fig = new_figure(9, 4.2, dpi=100)
    fig.set_layout_engine(None)
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.86))
    ax.set_axis_off()
    states = axis.states()
    for j in range(n):
        ax.add_patch(Rectangle((j, 0), 0.94, 0.94, color=STATE_COLORS(int(states[j]))))
        ax.text(j + 0.47, 0.47, str(j), ha="center", va="center", fontsize=11,
                color="white" if states[j] == IGNORED_INPUT else "black")
    for m, start in enumerate(axis.starts):
        y = -0.9 - 0.75 * m
        ax.add_patch(Rectangle((start, y), k - 0.06, 0.55, color=WINDOW_COLOR))
        ax.text(start + k + 0.15, y + 0.27, f"window {m}: starts at {m}·s = {start}, "
                f"ends at {start + k - 1}", va="center", fontsize=10)
    # The room the window start can move in: 0 … n − k.
    y_room = 1.55
    _arrow(ax, (0.47, y_room), (n - k + 0.47, y_room), COLORS["blue"])
    ax.text((n - k) / 2 + 0.47, y_room + 0.2,
            f"a start can be 0 … n − k = {n - k}: room to move n − k = {n - k}",
            ha="center", va="bottom", fontsize=10, color=COLORS["blue"])
    for start in axis.starts[1:]:
        ax.plot([start + 0.47] * 2, [y_room - 0.15, y_room + 0.15], color=COLORS["blue"])
    ignored_from = n - axis.ignored
    ax.add_patch(Rectangle((ignored_from - 0.05, -0.1), axis.ignored + 0.04, 1.14,
                           fill=False, edgecolor=COLORS["vermillion"], linewidth=2.5))
    ax.text(n + 0.25, 0.47, f"(n − k) mod s = {n - k} mod {s} = {axis.ignored}\n"
            f"element never reached", ha="left", va="center", fontsize=10,
            color=COLORS["vermillion"])
    lines = [
        f"n = {n}, k = {k}, s = {s}.  Window m starts at m·s and must end by the last element:",
        f"m·s + k ≤ n   ⇔   m ≤ (n − k)/s = {n - k}/{s}   ⇒   m = 0, 1, …, "
        f"floor({n - k}/{s}) = {(n - k) // s}",
        f"so there are floor((n − k)/s) + 1 = {(n - k) // s} + 1 = {axis.count} windows",
    ]
    ax.text(-0.2, 4.1, "\n".join(lines), fontsize=11, va="top", linespacing=1.6)
    ax.set_xlim(-0.4, n + 6.8)
    ax.set_ylim(-0.9 - 0.75 * len(axis.starts) - 0.1, 4.2)
    fig.suptitle("Deriving the output size: count the window starts that fit", fontsize=13)
    return figure_png(fig)


ASSETS: dict[str, Callable[[], bytes]] = {
    "stride_windows.gif": stride_windows_gif,
    "output_size_law.png": output_size_law_png,
}
