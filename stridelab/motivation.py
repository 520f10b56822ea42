"""Why convolution at all (notebook 01): weight counts, and a picture of the connections.

- :func:`weight_counts` — the weights of a dense layer, of a local but unshared one, and of a
  convolution, mapping an ``H×W×C_in`` image to an ``H×W×C_out`` map.
- :func:`connections_figure` — the same three layers drawn in 1-D: every output joined to
  every input (dense), to its neighbours only (locality), and with the same three weights at
  every position (weight sharing), one colour per weight.

>>> weight_counts(224, 224, 3, 64)["convolution"]
1728
"""

from __future__ import annotations

import numpy as np
from matplotlib.collections import LineCollection

from stridelab.plotting import COLORS, FigureDisplay, new_figure

__all__ = ["connections_figure", "weight_counts"]


def weight_counts(h: int, w: int, c_in: int, c_out: int, k: int = 3) -> dict[str, int]:
    """Weights (biases left out) of three layers from ``h×w×c_in`` to ``h×w×c_out``.

    ``dense``: every output value has a weight for every input value; ``local, not shared``:
    every output value has its own ``k×k×c_in`` window of weights; ``convolution``: one
    ``k×k×c_in`` window per output channel, used at every position.
    """
    inputs, outputs = h * w * c_in, h * w * c_out
    return {"dense": inputs * outputs, "local, not shared": outputs * k * k * c_in,
            "convolution": c_out * k * k * c_in}


def connections_figure(n: int = 8, k: int = 3) -> FigureDisplay:
    """A layer from ``n`` inputs to ``n − k + 1`` outputs, three ways: dense, local, convolution."""
    outputs = n - k + 1
    tap_colors = [COLORS["orange"], COLORS["blue"], COLORS["green"], COLORS["purple"],
                  COLORS["vermillion"]]
    fig = new_figure(12, 3.4)
    axes = fig.subplots(1, 3, sharey=True)
    layouts = [
        ("dense", [(i, j, COLORS["grey"]) for i in range(outputs) for j in range(n)],
         f"{outputs * n} weights, all different"),
        ("local (each output sees k inputs)",
         [(i, i + a, COLORS["grey"]) for i in range(outputs) for a in range(k)],
         f"{outputs * k} weights, all different"),
        ("convolution (local and shared)",
         [(i, i + a, tap_colors[a % len(tap_colors)]) for i in range(outputs) for a in range(k)],
         f"{k} weights, one colour each, used at every position"),
    ]
    offset = (n - outputs) / 2
    for ax, (title, links, count) in zip(axes, layouts):
        segments = [[(j, 0.0), (i + offset, 1.0)] for i, j, _ in links]
        ax.add_collection(LineCollection(segments, colors=[c for _, _, c in links],
                                         linewidths=1.6 if "convolution" in title else 1.0))
        ax.scatter(np.arange(n), np.zeros(n), s=60, color=COLORS["sky"], edgecolors="black",
                   zorder=3)
        ax.scatter(np.arange(outputs) + offset, np.ones(outputs), s=60, color=COLORS["yellow"],
                   edgecolors="black", zorder=3)
        ax.set_xlim(-0.6, n - 0.4)
        ax.set_ylim(-0.25, 1.25)
        ax.set_yticks([0, 1], ["input x", "output y"])
        ax.set_xlabel("position")
        ax.set_ylabel("layer")
        ax.set_title(f"{title}\n{count}", fontsize=10)
    fig.suptitle(f"A layer from {n} inputs to {outputs} outputs: what locality and weight sharing "
                 "remove")
    alt = (f"Three diagrams of a layer from {n} inputs (bottom row of dots) to {outputs} outputs "
           f"(top row). Dense: every output joined to every input, {outputs * n} lines, each its "
           f"own weight. Local: each output joined to the {k} inputs below it, {outputs * k} "
           f"lines, each its own weight. Convolution: the same {outputs * k} lines, but coloured "
           f"by their position in the window — {k} colours, so only {k} weights, repeated at every "
           "position.")
    return FigureDisplay(fig, alt)
