"""Real networks as lists of layer specs, their shapes and costs, and figures of both (notebook 06).

A network here is a sequence of named *stages*. Each stage is a list of
:class:`~stridelab.layers.Conv` / :class:`~stridelab.layers.Pool` specs on the main path,
plus the *shortcut* layers that a residual network applies to the stage's input (the 1×1,
stride-2 projections of ResNet). Flattened, the main paths are the plain list of layers the
learner's ``trace_shapes`` and ``total_macs`` take; the shortcuts are counted on top.

Two conventions keep every layer a ``Conv`` or a ``Pool``:

- a **fully connected** layer on a ``C×h×w`` map is a convolution whose kernel covers the
  whole map: ``Conv(units, kernel=(h, w))`` — the same multiply-adds, ``units·C·h·w``;
- **global average pooling** is, shape-wise, a ``Pool`` whose kernel covers the whole map
  (averaging costs additions only, which multiply-add counts leave out).

The numbers reproduce published ones: AlexNet's first layer maps 3×227×227 to 96×55×55, and
ResNet-18 costs 1.8 G multiply-adds (He et al. 2015, Table 1):

>>> trace((3, 227, 227), [Conv(96, kernel=11, stride=4)])
[(96, 55, 55)]
>>> round(resnet(18).macs / 1e9, 3)
1.814
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Union

import numpy as np

import ipywidgets as widgets
from matplotlib.figure import Figure
from matplotlib.layout_engine import PlaceHolderLayoutEngine
from matplotlib.ticker import NullLocator
from matplotlib.transforms import Bbox

from stridelab.layers import Conv, Pool
from stridelab.learner import learner_or_fallback
from stridelab._canvas import FastAxis, FastTexts
from stridelab.plotting import COLORS, FigureDisplay, PinnedLabels, new_figure, tick_label_width
from stridelab.widgets import InteractiveFigure

__all__ = [
    "ALEXNET_CONV1",
    "PAPER_GMACS",
    "Network",
    "ResNetExplorer",
    "Stage",
    "Table",
    "all_cnn",
    "alexnet",
    "compare_figure",
    "cost_breakdown",
    "layer_macs",
    "layer_table",
    "layer_weights",
    "macs",
    "output_shape",
    "resnet",
    "stage_figure",
    "stage_outputs",
    "stride_sweep_figure",
    "table_1",
    "trace",
    "with_learner",
]

Layer = Union[Conv, Pool]
Shape = tuple[int, int, int]

ALEXNET_CONV1 = Conv(96, kernel=11, stride=4)
"""AlexNet's first layer (Krizhevsky et al. 2012): 96 filters 11×11 moving 4 pixels at a time."""

PAPER_GMACS = {18: 1.8, 34: 3.6, 50: 3.8, 101: 7.6, 152: 11.3}
"""He et al. (2015), Table 1, bottom row: multiply-adds of each ResNet, in units of 10⁹."""


def _pair(value: int | tuple[int, int] | None) -> tuple[int, int]:
    if isinstance(value, tuple):
        return int(value[0]), int(value[1])
    return int(value), int(value)  # type: ignore[arg-type]


def _length(n: int, k: int, s: int, p: int, layer: Layer) -> int:
    """Windows along one axis; a layer whose kernel does not fit is an error, not a 0."""
    if k > n + 2 * p:
        raise ValueError(f"{layer}: a kernel of {k} does not fit an input of {n} padded by "
                         f"{p} on each side; use a smaller kernel or more padding")
    return (n + 2 * p - k) // s + 1


def output_shape(shape: Shape, layer: Layer) -> Shape:
    """The ``(C, H, W)`` after ``layer``: ``floor((n + 2p - k) / s) + 1`` on each axis.

    >>> output_shape((64, 56, 56), Pool(2))
    (64, 28, 28)
    """
    c, h, w = shape
    (kh, kw), (ph, pw) = _pair(layer.kernel), _pair(layer.padding)
    sh, sw = _pair(layer.stride if layer.stride is not None else layer.kernel)
    channels = layer.out_channels if isinstance(layer, Conv) else c
    return channels, _length(h, kh, sh, ph, layer), _length(w, kw, sw, pw, layer)


def trace(input_shape: Shape, layers: Iterable[Layer]) -> list[Shape]:
    """The shape after every layer, in order (the helper's twin of ``trace_shapes``)."""
    shapes, shape = [], tuple(input_shape)
    for layer in layers:
        shape = output_shape(shape, layer)  # type: ignore[arg-type]
        shapes.append(shape)
    return shapes


def layer_macs(shape: Shape, layer: Layer) -> int:
    """Multiply-accumulates of one layer on one image: ``H'·W'·c_out·c_in·kH·kW`` (pools: 0)."""
    if not isinstance(layer, Conv):
        return 0
    c_out, h, w = output_shape(shape, layer)
    kh, kw = _pair(layer.kernel)
    return h * w * c_out * shape[0] * kh * kw


def layer_weights(shape: Shape, layer: Layer) -> int:
    """Learned weights of one layer, ``c_out·c_in·kH·kW`` (biases left out; pools have none)."""
    if not isinstance(layer, Conv):
        return 0
    kh, kw = _pair(layer.kernel)
    return layer.out_channels * shape[0] * kh * kw


def macs(input_shape: Shape, layers: Sequence[Layer]) -> int:
    """Total multiply-accumulates of a list of layers (the helper's twin of ``total_macs``)."""
    shapes = [tuple(input_shape), *trace(input_shape, layers)]
    return sum(layer_macs(shape, layer)  # type: ignore[arg-type]
               for shape, layer in zip(shapes, layers))


@dataclass(frozen=True)
class Stage:
    """A named run of layers; ``shortcuts`` act on the stage's input, beside the main path."""

    name: str
    layers: tuple[Layer, ...]
    shortcuts: tuple[Layer, ...] = ()
    shortcut_after: int = 0
    """How many of ``layers`` come before the block the shortcuts belong to (ResNet's
    ``conv2_x`` starts with a max pool, and its shortcut reads the pooled map)."""

    def shortcut_input(self, shape: Shape) -> Shape:
        """The shape the shortcuts read, given the stage's input ``shape``."""
        return trace(shape, self.layers[: self.shortcut_after])[-1] if self.shortcut_after else shape


@dataclass(frozen=True)
class StageCost:
    """One stage's output and what it costs, as counted by :meth:`Network.stage_costs`."""

    name: str
    output: Shape
    macs: int
    shortcut_macs: int
    weights: int


@dataclass(frozen=True)
class Network:
    """A network as stages of layer specs on an input of shape ``(C, H, W)``."""

    name: str
    input_shape: Shape
    stages: tuple[Stage, ...]

    @property
    def layers(self) -> list[Layer]:
        """The main path as one flat list: what ``trace_shapes`` and ``total_macs`` take."""
        return [layer for stage in self.stages for layer in stage.layers]

    @property
    def shortcuts(self) -> list[tuple[Shape, Layer]]:
        """Each shortcut layer with the shape of the input it reads."""
        found, shape = [], self.input_shape
        for stage in self.stages:
            found += [(stage.shortcut_input(shape), layer) for layer in stage.shortcuts]
            if stage.layers:
                shape = trace(shape, stage.layers)[-1]
        return found

    def stage_costs(self) -> list[StageCost]:
        """Per stage: output shape, main-path and shortcut multiply-adds, and weights."""
        return list(self._stage_costs)

    @cached_property
    def _stage_costs(self) -> tuple[StageCost, ...]:   # counted once: the network is frozen
        costs, shape = [], self.input_shape
        for stage in self.stages:
            shapes = [shape, *trace(shape, stage.layers)]
            main = sum(layer_macs(s, layer) for s, layer in zip(shapes, stage.layers))
            read = stage.shortcut_input(shape)
            side = sum(layer_macs(read, layer) for layer in stage.shortcuts)
            weights = sum(layer_weights(s, layer) for s, layer in zip(shapes, stage.layers))
            weights += sum(layer_weights(read, layer) for layer in stage.shortcuts)
            costs.append(StageCost(stage.name, shapes[-1], main, side, weights))
            shape = shapes[-1]
        return tuple(costs)

    @property
    def macs(self) -> int:
        """Every multiply-add: main path, shortcut projections and classifier."""
        return sum(c.macs + c.shortcut_macs for c in self.stage_costs())

    @property
    def weights(self) -> int:
        return sum(c.weights for c in self.stage_costs())

    def table(self) -> Table:
        """The stages as a table: output shape, multiply-adds (millions) and their share."""
        costs = self.stage_costs()
        total = self.macs
        rows = [(c.name, "×".join(map(str, c.output)), f"{c.macs / 1e6:,.1f}",
                 f"{c.shortcut_macs / 1e6:,.1f}" if c.shortcut_macs else "–",
                 f"{(c.macs + c.shortcut_macs) / total:.0%}") for c in costs]
        rows.append(("total", "", f"{sum(c.macs for c in costs) / 1e6:,.1f}",
                     f"{sum(c.shortcut_macs for c in costs) / 1e6:,.1f}", "100%"))
        return Table(("stage", "output C×H×W", "main path (M MACs)", "shortcuts (M MACs)",
                      "share"), rows, title=f"{self.name}: {total / 1e9:.3f} G multiply-adds")


class Table:
    """A small table that shows as HTML in a notebook and as aligned text elsewhere."""

    def __init__(self, header: Sequence[str], rows: Sequence[Sequence[object]],
                 title: str = "") -> None:
        self.header = tuple(header)
        self.rows = [tuple(str(v) for v in row) for row in rows]
        self.title = title

    def _repr_html_(self) -> str:
        cells = lambda row, tag: "".join(  # noqa: E731
            f'<{tag} style="text-align:right">{html.escape(v)}</{tag}>' for v in row)
        body = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in self.rows)
        caption = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        return f"<table>{caption}<tr>{cells(self.header, 'th')}</tr>{body}</table>"

    def __repr__(self) -> str:
        widths = [max(len(r[i]) for r in [self.header, *self.rows]) for i in range(len(self.header))]
        line = lambda row: "  ".join(v.rjust(w) for v, w in zip(row, widths))  # noqa: E731
        return "\n".join(([self.title] if self.title else []) + [line(self.header)]
                         + [line(r) for r in self.rows])


# --- the networks ------------------------------------------------------------------------

def alexnet() -> Network:
    """AlexNet (Krizhevsky et al. 2012) on 3×227×227, as one tower (no two-GPU split).

    The fully connected layers are written as convolutions: ``fc6`` reads the whole 6×6 map.
    """
    return Network("AlexNet", (3, 227, 227), (
        Stage("conv1", (ALEXNET_CONV1, Pool(3, stride=2))),
        Stage("conv2", (Conv(256, 5, padding=2), Pool(3, stride=2))),
        Stage("conv3–5", (Conv(384, 3, padding=1), Conv(384, 3, padding=1),
                          Conv(256, 3, padding=1), Pool(3, stride=2))),
        Stage("fc6–8", (Conv(4096, 6), Conv(4096, 1), Conv(1000, 1))),
    ))


_BLOCKS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3),
           152: (3, 8, 36, 3)}


def _basic_stage(name: str, c_in: int, width: int, blocks: int, stride: int) -> Stage:
    """Two 3×3 convolutions per block; the first block of a stage may halve the map."""
    layers: list[Layer] = []
    for block in range(blocks):
        layers += [Conv(width, 3, stride=stride if block == 0 else 1, padding=1),
                   Conv(width, 3, padding=1)]
    needs_projection = stride != 1 or c_in != width
    shortcuts = (Conv(width, 1, stride=stride),) if needs_projection else ()
    return Stage(name, tuple(layers), shortcuts)


def _bottleneck_stage(name: str, c_in: int, width: int, blocks: int, stride: int,
                      stride_on_3x3: bool) -> Stage:
    """1×1 (reduce) → 3×3 → 1×1 (expand ×4) per block, with a projection on the first."""
    layers: list[Layer] = []
    for block in range(blocks):
        s = stride if block == 0 else 1
        layers += [Conv(width, 1, stride=1 if stride_on_3x3 else s),
                   Conv(width, 3, stride=s if stride_on_3x3 else 1, padding=1),
                   Conv(4 * width, 1)]
    return Stage(name, tuple(layers), (Conv(4 * width, 1, stride=stride),))


def resnet(depth: int = 18, image_size: int = 224, stride_on_3x3: bool = False) -> Network:
    """ResNet-18/34/50/101/152 as in He et al. (2015), Table 1, on a ``3×size×size`` image.

    Every stage after the first starts by halving the map with a stride-2 convolution and
    doubling the filters; the shortcut of that block is a 1×1, stride-2 projection. The
    classifier is global average pooling and a 1000-way fully connected layer. For the
    bottleneck networks (50 and up) the stride sits in the first 1×1 convolution, as in the
    paper's models; ``stride_on_3x3=True`` moves it to the 3×3 one, as torchvision does.
    """
    if depth not in _BLOCKS:
        raise ValueError(f"ResNet depth must be one of {sorted(_BLOCKS)}, got {depth}")
    stages = [Stage("conv1", (Conv(64, 7, stride=2, padding=3),))]
    pool = Pool(3, stride=2, padding=1)
    c_in, expansion = 64, 4 if depth >= 50 else 1
    for index, (blocks, width) in enumerate(zip(_BLOCKS[depth], (64, 128, 256, 512))):
        stride = 1 if index == 0 else 2
        name = f"conv{index + 2}_x"
        if depth >= 50:
            stage = _bottleneck_stage(name, c_in, width, blocks, stride, stride_on_3x3)
        else:
            stage = _basic_stage(name, c_in, width, blocks, stride)
        if index == 0:  # conv2_x begins with the 3×3, stride-2 max pool
            stage = Stage(name, (pool, *stage.layers), stage.shortcuts, shortcut_after=1)
        stages.append(stage)
        c_in = width * expansion
    final = trace((3, image_size, image_size), [l for s in stages for l in s.layers])[-1]
    stages.append(Stage("classifier", (Pool((final[1], final[2])), Conv(1000, 1))))
    return Network(f"ResNet-{depth}", (3, image_size, image_size), tuple(stages))


def all_cnn(variant: str = "All-CNN-C") -> Network:
    """Springenberg et al. (2014), base model C on 3×32×32 CIFAR-10 images, and its variants.

    ``"Model C"`` downsamples with 3×3 max pooling, stride 2; ``"Strided-CNN-C"`` drops the
    pooling and gives the convolution before it stride 2; ``"ConvPool-CNN-C"`` keeps the
    pooling and adds a 3×3 convolution before it; ``"All-CNN-C"`` replaces each pooling layer
    by a 3×3 convolution with stride 2. Paddings follow common reimplementations, so the
    map goes 32 → 16 → 8 → 6 as in the paper's 6×6 global average.
    """
    def block(width: int) -> tuple[Layer, ...]:
        conv = Conv(width, 3, padding=1)
        if variant == "Model C":
            return conv, conv, Pool(3, stride=2, padding=1)
        if variant == "Strided-CNN-C":
            return conv, Conv(width, 3, stride=2, padding=1)
        if variant == "ConvPool-CNN-C":
            return conv, conv, conv, Pool(3, stride=2, padding=1)
        if variant == "All-CNN-C":
            return conv, conv, Conv(width, 3, stride=2, padding=1)
        raise ValueError(f"unknown variant {variant!r}; choose Model C, Strided-CNN-C, "
                         "ConvPool-CNN-C or All-CNN-C")

    return Network(variant, (3, 32, 32), (
        Stage("block 1", block(96)),
        Stage("block 2", block(192)),
        Stage("head", (Conv(192, 3), Conv(192, 1), Conv(10, 1), Pool(6))),
    ))


def table_1() -> Table:
    """Our multiply-add counts for every ResNet next to He et al.'s Table 1."""
    rows = []
    for depth, paper in PAPER_GMACS.items():
        ours = resnet(depth).macs / 1e9
        rows.append((f"ResNet-{depth}", f"{ours:.2f}", f"{paper}", f"{(ours - paper) / paper:+.1%}"))
    return Table(("network", "counted here (G)", "Table 1 (G)", "difference"), rows,
                 title="Multiply-adds per 224×224 image")


# --- the learner's functions, when they work ------------------------------------------------

def with_learner(function: Callable[..., Any], fallback: Callable[..., Any], *args: Any
                 ) -> tuple[Any, str]:
    """``(value, note)``: the helper's value; the note says whether yours agrees exactly.

    Demos call the learner's ``trace_shapes`` / ``total_macs`` through this, so the notebook
    runs top to bottom before the exercises are done, and says whose numbers it shows.
    """
    return learner_or_fallback(function, fallback, *args, agree=_same_ints,
                               shown="the helper's answer")


def _same_ints(mine: Any, trusted: Any) -> bool:
    """Exactly equal, ints as ints: an int, or a list of (C, H, W) tuples."""
    def is_int(value: Any) -> bool:
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool)

    if is_int(trusted):
        return is_int(mine) and int(mine) == trusted
    try:
        return (len(mine) == len(trusted)
                and all(len(a) == len(b) and all(is_int(v) and int(v) == w for v, w in zip(a, b))
                        for a, b in zip(mine, trusted)))
    except TypeError:
        return False


def _layer_text(layer: Layer) -> str:
    """``Conv(96, 11, s=4)``-style short text for tables."""
    size = lambda v: "×".join(map(str, v)) if isinstance(v, tuple) else str(v)  # noqa: E731
    parts = [size(layer.kernel)]
    if layer.stride not in (None, 1):
        parts.append(f"s={size(layer.stride)}")
    if layer.padding != 0:
        parts.append(f"p={size(layer.padding)}")
    if isinstance(layer, Conv):
        return f"Conv({layer.out_channels}, {', '.join(parts)})"
    return f"Pool({', '.join(parts)})"


def layer_table(input_shape: Shape, layers: Sequence[Layer], trace_shapes: Callable[..., Any],
                total_macs: Callable[..., Any] | None = None) -> Table:
    """Every layer with its output shape (and multiply-adds), from the learner's functions.

    Without ``total_macs`` the table has shapes only.
    """
    shapes, shape_note = with_learner(trace_shapes, trace, input_shape, list(layers))
    names = [_layer_text(layer) for layer in layers]
    shown = ["×".join(map(str, shape)) for shape in shapes]
    title = f"Input {'×'.join(map(str, input_shape))}. Shapes: {shape_note}"
    if total_macs is None:
        rows = [(i + 1, name, shape) for i, (name, shape) in enumerate(zip(names, shown))]
        return Table(("#", "layer", "output C×H×W"), rows, title=title + ".")
    inputs = [tuple(input_shape), *shapes[:-1]]
    counts = [with_learner(total_macs, macs, before, [layer]) for before, layer in zip(inputs, layers)]
    rows = [(i + 1, name, shape, f"{count / 1e6:,.1f}" if isinstance(layer, Conv) else "–")
            for i, (name, shape, (count, _), layer) in enumerate(zip(names, shown, counts, layers))]
    rows.append(("", "total", "", f"{sum(count for count, _ in counts) / 1e6:,.1f}"))
    macs_note = counts[0][1] if counts else ""
    return Table(("#", "layer", "output C×H×W", "M multiply-adds"), rows,
                 title=f"{title}; multiply-adds: {macs_note}.")


def stage_outputs(network: Network, trace_shapes: Callable[..., Any]) -> Table:
    """The shape at the end of each stage, traced with the learner's ``trace_shapes``."""
    shapes, note = with_learner(trace_shapes, trace, network.input_shape, network.layers)
    ends = np.cumsum([len(stage.layers) for stage in network.stages]) - 1
    rows = [(stage.name, len(stage.layers), "×".join(map(str, shapes[end])))
            for stage, end in zip(network.stages, ends)]
    return Table(("stage", "layers", "output C×H×W"), rows,
                 title=f"{network.name}, input {'×'.join(map(str, network.input_shape))} ({note})")


def cost_breakdown(network: Network, total_macs: Callable[..., Any]) -> Table:
    """Main path, shortcut projections and classifier, counted with the learner's ``total_macs``."""
    *body, head = network.stages
    body_layers = [layer for stage in body for layer in stage.layers]
    body_shape = trace(network.input_shape, body_layers)[-1]
    main, note = with_learner(total_macs, macs, network.input_shape, body_layers)
    shortcuts = sum(with_learner(total_macs, macs, shape, [layer])[0]
                    for shape, layer in network.shortcuts)
    classifier = with_learner(total_macs, macs, body_shape, list(head.layers))[0]
    total = main + shortcuts + classifier
    rows = [("convolutions on the main path", f"{main:,}"),
            (f"{len(network.shortcuts)} shortcut projections", f"{shortcuts:,}"),
            ("classifier", f"{classifier:,}"),
            ("total", f"{total:,}")]
    depth = int(network.name.split("-")[1]) if network.name.startswith("ResNet-") else None
    if depth in PAPER_GMACS:
        paper = PAPER_GMACS[depth]
        difference = (total / 1e9 - paper) / paper
        rows.append(("He et al. 2015, Table 1", f"{paper} × 10⁹ ({difference:+.1%})"))
    return Table(("part", "multiply-adds"), rows, title=f"{network.name} ({note})")


# --- figures -----------------------------------------------------------------------------

def _giga(value: float) -> str:
    return f"{value / 1e9:.2f} G" if value >= 1e8 else f"{value / 1e6:.1f} M"


class _StagePlot:
    """Spatial size and channels (left) and multiply-adds (right) of each stage of a network,
    drawn into a figure; :meth:`update` shows another network with the same stages."""

    def __init__(self, fig: Figure, network: Network) -> None:
        self.figure = fig
        costs = network.stage_costs()
        self.names = [c.name for c in costs]
        x = np.arange(len(costs))
        size_ax, cost_ax = self.axes = fig.subplots(1, 2)
        heights = [c.output[1] for c in costs]
        self.size_bars = size_ax.bar(x, heights, color=COLORS["sky"])
        size_ax.set_yscale("log", base=2)
        size_ax.yaxis.set_minor_locator(NullLocator())
        self.size_texts = [size_ax.text(i, 1, "", ha="center", va="bottom", fontsize=8)
                           for i in range(len(costs))]
        size_ax.set_xticks(x, self.names, rotation=30, ha="right")
        size_ax.set_xlabel("stage")
        size_ax.set_ylabel("output height H (log scale)")
        size_ax.set_title("Map size after each stage (channels above)")
        main = np.array([c.macs for c in costs]) / 1e6
        side = np.array([c.shortcut_macs for c in costs]) / 1e6
        self.main_bars = cost_ax.bar(x, main, color=COLORS["blue"], label="main path")
        self.side_bars = cost_ax.bar(x, side, bottom=main, color=COLORS["orange"],
                                     label="shortcut projections")
        cost_ax.set_xticks(x, self.names, rotation=30, ha="right")
        cost_ax.set_xlabel("stage")
        cost_ax.set_ylabel("multiply-adds (millions)")
        cost_ax.set_title("")
        self.legend = cost_ax.legend(loc="upper right")
        self.title = fig.suptitle("")
        self._x_axes = (FastAxis(size_ax.xaxis), FastAxis(cost_ax.xaxis))
        self._y_axes = (FastAxis(size_ax.yaxis), FastAxis(cost_ax.yaxis))
        self.update(network)

    def update(self, network: Network) -> None:
        costs = network.stage_costs()
        size_ax, cost_ax = self.axes
        heights = [c.output[1] for c in costs]
        ticks = sorted(set(heights))  # the sizes themselves: 1, 7, 14, 28, 56, 112 for ResNet
        size_ax.set_yticks(ticks, [str(t) for t in ticks])
        size_ax.set_ylim(0.5, max(heights) * 4)
        for bar, text, c in zip(self.size_bars, self.size_texts, costs):
            bar.set_height(c.output[1])
            text.set_y(c.output[1] * 1.1)
            text.set_text(f"{c.output[1]}×{c.output[2]}\n{c.output[0]} ch")
        main = np.array([c.macs for c in costs]) / 1e6
        side = np.array([c.shortcut_macs for c in costs]) / 1e6
        for bar, top in zip(self.main_bars, main):
            bar.set_height(top)
        for bar, bottom, top in zip(self.side_bars, main, side):
            bar.set_y(bottom)
            bar.set_height(top)
        cost_ax.set_ylim(0, float((main + side).max()) * 1.3)
        cost_ax.title.set_text(f"Cost per stage: {_giga(network.macs)} in total")
        self.title.set_text(f"{network.name} on a {network.input_shape[1]}×"
                            f"{network.input_shape[2]} input")

    # What a widget draws, in layers (the axes' labels must be pinned, see PinnedLabels):

    def frames(self, legend: bool) -> list:
        """What moves only with the Axes: their backgrounds, x axes and the left title, and
        the legend if ``legend`` (when no bar can reach it, see :meth:`legend_clear`)."""
        (size_ax, cost_ax), (size_x, cost_x) = self.axes, self._x_axes
        return [size_ax.patch, size_x, size_ax.title, cost_ax.patch, cost_x,
                *([self.legend] if legend else [])]

    def sizes(self) -> list:
        """What :meth:`update` changes with the input size alone, in drawing order."""
        size_ax = self.axes[0]
        return [*self.size_bars, self._y_axes[0], *size_ax.spines.values()]

    def costs(self, legend: bool) -> list:
        """The rest of what :meth:`update` changes, in drawing order (with the legend, drawn
        over the bars, if ``legend``)."""
        cost_ax = self.axes[1]
        return [FastTexts(self.size_texts), *self.main_bars, *self.side_bars, self._y_axes[1],
                *cost_ax.spines.values(), *([self.legend] if legend else []), cost_ax.title,
                self.title]

    def legend_clear(self) -> bool:
        """Whether the legend is above the tallest bar any network can have: the y axis
        always ends at 1.3 times the tallest."""
        cost_ax = self.axes[1]
        box = self.legend.get_window_extent(self.figure.canvas.get_renderer())
        return box.y0 > cost_ax.bbox.y0 + cost_ax.bbox.height / 1.3

    def label_widths(self) -> list[float]:
        """Per Axes, the width of its widest y tick label (pixels)."""
        renderer = self.figure.canvas.get_renderer()
        return [tick_label_width(ax.yaxis, renderer) for ax in self.axes]


def _describe_stages(network: Network) -> str:
    costs = network.stage_costs()
    biggest = max(costs, key=lambda c: c.macs + c.shortcut_macs)
    return (f"{network.name} on a {network.input_shape[1]}×{network.input_shape[2]} input: "
            "the map's height after each stage is "
            + ", ".join(f"{c.name} {c.output[1]}" for c in costs)
            + f". The costliest stage is {biggest.name} with "
            f"{_giga(biggest.macs + biggest.shortcut_macs)} multiply-adds; "
            f"{_giga(network.macs)} in total.")


def stage_figure(network: Network) -> FigureDisplay:
    """Bar charts of each stage's spatial size (log scale, channels written above) and cost."""
    fig = new_figure(11, 4)
    _StagePlot(fig, network)
    return FigureDisplay(fig, "Two bar charts. " + _describe_stages(network))


class ResNetExplorer(InteractiveFigure):
    """Pick a ResNet and an input size; see each stage's map size and cost.

    Halving the map and doubling the filters keeps the stages' costs level; the total grows
    with the input's area.
    """

    def __init__(self, depth: int = 18, image_size: int = 224) -> None:
        self.depth = widgets.Dropdown(options=sorted(_BLOCKS), value=depth, description="depth")
        self.size = widgets.IntSlider(value=image_size, min=64, max=512, step=32,
                                      description="input size")
        self._networks: dict[tuple[int, int], Network] = {}
        super().__init__([self.depth, self.size], width=11, height=4)

    def network(self, size: int | None = None) -> Network:
        """The chosen ResNet on the chosen input size (or on ``size``), built once."""
        key = (self.depth.value, self.size.value if size is None else size)
        if key not in self._networks:
            self._networks[key] = resnet(*key)
        return self._networks[key]

    def build(self) -> None:
        self._plot = _StagePlot(self.figure, self.network())
        self._pins: list[PinnedLabels] | None = None
        self._laid_out: tuple[list[float], list[Bbox]] = ([], [])
        self._legend_clear: dict[tuple, bool] = {}

    def update(self) -> None:
        if (self._pins is None and not self.full_redraw
                and isinstance(self.figure.get_layout_engine(), PlaceHolderLayoutEngine)):
            # The layout engine has laid out the first network: remember how.
            self._laid_out = (self._plot.label_widths(),
                              [ax.get_position(original=True) for ax in self._plot.axes])
            self._pins = [PinnedLabels(ax) for ax in self._plot.axes]
        self._plot.update(self.network())
        if self._pins is not None:
            self._place()

    def _place(self) -> None:
        """Move the charts as the layout engine would for these tick labels (it lays out the
        first network only): an Axes whose labels widen by d moves right by d, and both
        narrow by d/2, so that they keep equal widths and their gap."""
        (first, (left, right)), axes = self._laid_out, self._plot.axes
        widths = self._plot.label_widths()
        wider = [(now - then) / self.figure.bbox.width for now, then in zip(widths, first)]
        narrower = (wider[0] + wider[1]) / 2
        x0 = left.x0 + wider[0]
        x1 = x0 + left.width - narrower + (right.x0 - left.x1) + wider[1]
        axes[0].set_position((x0, left.y0, left.width - narrower, left.height))
        axes[1].set_position((x1, right.y0, right.width - narrower, right.height))
        for pins, width in zip(self._pins, widths):
            pins.place(width)

    def layers(self) -> list:
        # The frames, x axes and titles move only when tick labels widen or narrow; sizes
        # follow the input size; channels and costs follow the depth too.
        plot = self._plot
        place = tuple(round(v, 5) for ax in plot.axes for v in ax.get_position().bounds)
        if place not in self._legend_clear:
            self._legend_clear[place] = self._pins is not None and plot.legend_clear()
        clear = self._legend_clear[place]
        return [((place, clear), plot.frames(legend=clear)), (self.size.value, plot.sizes()),
                (self.depth.value, plot.costs(legend=not clear))]

    def describe(self) -> str:
        network = self.network()
        ratio = network.macs / self.network(224).macs
        return (_describe_stages(network) + f" That is {ratio:.2f}× the cost at 224×224 "
                f"(He et al. report {PAPER_GMACS[self.depth.value]} G there).")


def stride_sweep_figure(input_shape: Shape, conv: Conv, strides: Sequence[int] = (1, 2, 3, 4)
                        ) -> FigureDisplay:
    """Output size and multiply-adds of one convolution as its stride grows."""
    variants = [Conv(conv.out_channels, conv.kernel, s, conv.padding) for s in strides]
    sizes = [trace(input_shape, [v])[0][1] for v in variants]
    costs = [macs(input_shape, [v]) for v in variants]
    fig = new_figure(10, 3.6)
    size_ax, cost_ax = fig.subplots(1, 2)
    size_ax.bar([str(s) for s in strides], sizes, color=COLORS["sky"])
    for i, n in enumerate(sizes):
        size_ax.text(i, n, f"{n}×{n}", ha="center", va="bottom")
    size_ax.set_ylim(0, max(sizes) * 1.15)
    size_ax.set_xlabel("stride s")
    size_ax.set_ylabel("output height H_out")
    size_ax.set_title("Output size")
    cost_ax.bar([str(s) for s in strides], np.array(costs) / 1e6, color=COLORS["blue"])
    for i, c in enumerate(costs):
        cost_ax.text(i, c / 1e6, f"{c / costs[-1]:.1f}×" if i < len(costs) - 1 else "1×",
                     ha="center", va="bottom")
    cost_ax.set_ylim(0, costs[0] / 1e6 * 1.15)
    cost_ax.set_xlabel("stride s")
    cost_ax.set_ylabel("multiply-adds (millions)")
    cost_ax.set_title(f"Cost, relative to stride {strides[-1]}")
    kernel = "×".join(map(str, _pair(conv.kernel)))
    fig.suptitle(f"{conv.out_channels} filters {kernel} on {'×'.join(map(str, input_shape))}")
    alt = (f"Two bar charts: a layer of {conv.out_channels} {kernel} filters on a "
           f"{'×'.join(map(str, input_shape))} input at strides {', '.join(map(str, strides))}. "
           f"The output shrinks from {sizes[0]}×{sizes[0]} to {sizes[-1]}×{sizes[-1]} and the "
           f"multiply-adds from {_giga(costs[0])} to {_giga(costs[-1])}, "
           f"{costs[0] / costs[-1]:.1f} times fewer.")
    return FigureDisplay(fig, alt)


def compare_figure(networks: Sequence[Network]) -> FigureDisplay:
    """Multiply-adds and weights of several networks side by side."""
    names = [n.name for n in networks]
    costs = np.array([n.macs for n in networks]) / 1e6
    weights = np.array([n.weights for n in networks]) / 1e6
    fig = new_figure(10, 3.6)
    cost_ax, weight_ax = fig.subplots(1, 2)
    colors = [COLORS["blue"], COLORS["orange"], COLORS["green"], COLORS["purple"],
              COLORS["vermillion"], COLORS["sky"]][: len(networks)]
    for ax, values, label in ((cost_ax, costs, "multiply-adds (millions)"),
                              (weight_ax, weights, "weights (millions)")):
        ax.bar(range(len(names)), values, color=colors)
        for i, v in enumerate(values):
            ax.text(i, v, f"{v:.{1 if v >= 10 else 2}f}", ha="center", va="bottom")
        ax.set_ylim(0, float(values.max()) * 1.15)
        ax.set_xticks(range(len(names)), names, rotation=15)
        ax.set_xlabel("network")
        ax.set_ylabel(label)
    cost_ax.set_title("Cost of one forward pass")
    weight_ax.set_title("Learned weights")
    fig.suptitle("What each way of downsampling costs")
    alt = ("Two bar charts comparing " + ", ".join(names) + ". Multiply-adds: "
           + ", ".join(f"{n} {c:.0f} M" for n, c in zip(names, costs)) + ". Weights: "
           + ", ".join(f"{n} {w:.2f} M" for n, w in zip(names, weights)) + ".")
    return FigureDisplay(fig, alt)
