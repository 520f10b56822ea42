"""Pooling's gradient checked, and what the networks of notebook 07 learned.

- :func:`pool_gradient_check` — the learner's ``pool2d_backward`` against central differences
  of ``sum(dout · pool2d(x))``, with a tie on purpose: there the maximum has a kink.
- :func:`filters_figure` — the first layer's learned 3×3 filters of two trained networks and
  the feature maps they compute for one test image, side by side: the stride-1 network's maps
  have the image's size, the stride-2 network's a quarter of the positions.
- :func:`seed_summary_figure` — per network, the final test accuracy, the time per epoch and
  how often a one-pixel shift changes the prediction, each as the mean over the seeds with a
  bar from the lowest to the highest run and a dot per seed.

Both read the runs :func:`stridelab.training.compare_seeds` returns (a ``History`` per seed,
which keeps its trained network).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from stridelab.architectures import Table
from stridelab.datasets import Dataset
from stridelab.plotting import CMAP, DIVERGING, FigureDisplay, new_figure
from stridelab.training import (
    NETWORK_COLORS,
    History,
    numerical_gradient,
    pool2d,
    pool2d_backward,
)

__all__ = ["filters_figure", "pool_gradient_check", "seed_summary_figure"]


POOL_CHECKS = (
    ("max, 2×2", np.array([[1.0, 5, 0, 2], [3, 4, 7, 6], [8, 0, 1, 2], [2, 9, 3, 4]]), 2, None,
     "max"),
    ("max, 3×3 windows, stride 2 (overlapping)",
     np.array([[1.0, 0, 2, 1, 0], [0, 3, 1, 2, 1], [2, 1, 9, 0, 2], [1, 2, 0, 3, 1],
               [0, 1, 2, 1, 0]]), 3, 2, "max"),
    ("avg, (2, 3) windows on 5×7", np.arange(35.0).reshape(5, 7) % 6, (2, 3), None, "avg"),
    ("max, a tie: [[3, 3], [1, 0]]", np.array([[3.0, 3], [1, 0]]), 2, None, "max"),
)
"""Cases for :func:`pool_gradient_check`; the last one has two equal maxima on purpose."""


def pool_gradient_check(backward: Callable[..., Any]) -> Table:
    """``backward``'s gradients of ``L = sum(dout · pool2d(x))`` against central differences.

    Away from ties max pooling is linear in ``x`` near the point, so the two agree to
    rounding. At a tie the maximum has a kink: central differences split the gradient
    between the tied inputs, while the course (like PyTorch) gives it all to the first.
    """
    name = getattr(backward, "__name__", "pool2d_backward")
    source = f"your {name}"
    rows = []
    for label, x, size, stride, mode in POOL_CHECKS:
        dout = np.arange(1.0, 1 + pool2d(x, size, stride, mode).size).reshape(
            pool2d(x, size, stride, mode).shape)
        numerical = numerical_gradient(
            lambda v, size=size, stride=stride, mode=mode, dout=dout:
            float(np.sum(dout * pool2d(v, size, stride, mode))), x, eps=1e-4)
        try:
            mine = np.asarray(backward(dout.copy(), x.copy(), size, stride, mode), dtype=float)
        except NotImplementedError:
            mine = pool2d_backward(dout, x, size, stride, mode)
            source = f"the helper's pool2d_backward ({name} is not implemented yet)"
        except Exception as error:  # noqa: BLE001 - a learner's error is reported, not raised
            rows.append((label, f"raised {type(error).__name__}: {error}"[:80], "✗"))
            continue
        if mine.shape != x.shape:
            rows.append((label, f"shape {mine.shape}, should be {x.shape}", "✗"))
            continue
        error = float(np.abs(mine - numerical).max())
        if "tie" in label:
            rows.append((label, f"{error:.2f}: numerical {numerical[0, 0]:g} and "
                         f"{numerical[0, 1]:g}, analytic {mine[0, 0]:g} and {mine[0, 1]:g}",
                         "a kink: both split dout"
                         if np.isclose(mine[0, :2].sum(), numerical[0, :2].sum()) else "✗"))
        else:
            rows.append((label, f"{error:.1e}", "✓" if error < 1e-6 else "✗"))
    return Table(("case", "largest |analytic − numerical|", "agrees"), rows,
                 title=f"Numerical gradient check of {source}, dout = 1, 2, 3, …")

Runs = Mapping[str, Sequence[History]]


def _trained(runs: Runs, name: str) -> History:
    for history in runs[name]:
        if history.model is not None:
            return history
    raise ValueError(f"no trained network kept for {name!r}: train with compare_seeds first")


def filters_figure(runs: Runs, data: Dataset, names: Sequence[str] = ("conv + pool", "stride-2 conv"),
                   image: int = 2) -> FigureDisplay:
    """First-layer filters (top row of each network) and their feature maps for test image
    ``image`` (bottom row), for the first seed's trained network of each name in ``names``."""
    picture = data.x_test[image:image + 1]
    label = data.classes[int(data.y_test[image])]
    fig = new_figure(12, 2.35 * len(names) + 0.4)
    rows = len(names) * 2
    filters_count = max(_trained(runs, n).model.layers[0].w.shape[0] for n in names)
    axes = fig.subplots(rows, filters_count + 1, squeeze=False)
    described = []
    for block, name in enumerate(names):
        history = _trained(runs, name)
        layer = history.model.layers[0]
        weights = layer.w[:, 0]                         # (filters, kH, kW), one input channel
        maps = history.model.first_feature_maps(picture)[0]
        top, bottom = axes[2 * block], axes[2 * block + 1]
        top[0].imshow(picture[0, 0], cmap=CMAP)
        top[0].set_title(f"input ({label})", fontsize=9)
        top[0].set_xlabel("column j", fontsize=8)
        top[0].set_ylabel(f"{name}\nrow i", fontsize=9)
        bottom[0].axis("off")
        bottom[0].text(0.5, 0.5, f"{name}:\nfeature maps\n{maps.shape[1]}×{maps.shape[2]}\n"
                       f"(stride {layer.spec.stride})", ha="center", va="center", fontsize=9,
                       transform=bottom[0].transAxes)
        limit = float(np.abs(weights).max())
        brightest = float(maps.max()) or 1.0
        for f in range(filters_count):
            for ax in (top[f + 1], bottom[f + 1]):
                ax.set_xticks([])
                ax.set_yticks([])
            if f >= len(weights):
                top[f + 1].axis("off")
                bottom[f + 1].axis("off")
                continue
            weight_image = top[f + 1].imshow(weights[f], cmap=DIVERGING, vmin=-limit, vmax=limit)
            top[f + 1].set_title(f"filter {f + 1}", fontsize=8)
            map_image = bottom[f + 1].imshow(maps[f], cmap=CMAP, vmin=0, vmax=brightest)
            bottom[f + 1].set_xlabel(f"map {f + 1}", fontsize=8)
        top[1].set_ylabel("3×3 weights", fontsize=8)
        bottom[1].set_ylabel("after ReLU", fontsize=8)
        for image_, row, label_ in ((weight_image, top, "weight"), (map_image, bottom, "response")):
            bar = fig.colorbar(image_, ax=list(row[1:]), shrink=0.85, pad=0.01)
            bar.set_label(label_, fontsize=8)
            bar.ax.tick_params(labelsize=7)
        active = int((maps.reshape(len(maps), -1).max(axis=1) > 0).sum())
        described.append(f"{name}: {len(weights)} filters of 3×3 weights (purple positive, orange "
                         f"negative) and {len(maps)} feature maps of {maps.shape[1]}×"
                         f"{maps.shape[2]} values, {active} of them lit somewhere")
    fig.suptitle("First layer after training (first seed): learned filters, and what they "
                 "compute on one test image")
    alt = (f"For one test image of a {label} stroke: " + "; ".join(described) + ". Filters are "
           "drawn on an orange–purple scale centred on 0, feature maps from dark blue (0) to "
           "bright yellow, each row with its colour bar. The stride-2 network's maps have a quarter of the positions of the "
           "stride-1 network's, so the stroke appears at half the resolution.")
    return FigureDisplay(fig, alt)


def _spread_text(values: Sequence[float], unit: str = "", scale: float = 1.0,
                 digits: int = 1) -> str:
    low, high, mean = min(values) * scale, max(values) * scale, float(np.mean(values)) * scale
    return f"{mean:.{digits}f}{unit} ({low:.{digits}f}–{high:.{digits}f})"


def seed_summary_figure(runs: Runs) -> FigureDisplay:
    """Final test accuracy, seconds per epoch and predictions changed by a one-pixel shift:
    per network the mean over seeds (bar), the range (whisker) and each seed (dot)."""
    names = list(runs)
    seeds = len(next(iter(runs.values())))
    panels = [
        ("final test accuracy (%)", lambda h: 100 * h.test_accuracy[-1], "Accuracy on unseen images",
         "%", 1),
        ("seconds per epoch (median epoch of a run)", lambda h: h.median_seconds,
         "Time per training epoch", " s", 2),
        ("predictions changed by a 1-pixel shift (%)", lambda h: 100 * (h.shift_flips or 0.0),
         "Shift consistency (lower is steadier)", "%", 1),
    ]
    fig = new_figure(13, 4.2)
    axes = fig.subplots(1, len(panels))
    texts = []
    for ax, (ylabel, value, title, unit, digits) in zip(axes, panels):
        summary = []
        for i, name in enumerate(names):
            values = np.array([value(h) for h in runs[name]])
            color = NETWORK_COLORS[i % len(NETWORK_COLORS)]
            ax.bar(i, values.mean(), color=color, alpha=0.55, width=0.65)
            ax.errorbar(i, values.mean(), yerr=[[values.mean() - values.min()],
                                                [values.max() - values.mean()]],
                        color="black", capsize=5, linewidth=1.5)
            ax.plot(np.full(len(values), i) + np.linspace(-0.12, 0.12, len(values)), values,
                    "o", color="black", markersize=4)
            summary.append(f"{name} {_spread_text(values, unit, digits=digits)}")
        ax.set_xticks(range(len(names)), names, rotation=15)
        ax.set_xlabel("network")
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=11)
        texts.append(f"{title}: " + ", ".join(summary))
    accuracy_ax = axes[0]
    low = min(100 * h.test_accuracy[-1] for hs in runs.values() for h in hs)
    accuracy_ax.set_ylim(max(0.0, low - 8), 100)
    fig.suptitle(f"{seeds} seeds per network: bar = mean, whisker = lowest to highest run, "
                 "dots = single runs")
    alt = ("Three bar charts, one bar per network with a whisker from the lowest to the highest "
           f"of {seeds} runs and a dot per run. " + ". ".join(texts)
           + " (mean, then lowest–highest).")
    return FigureDisplay(fig, alt)
