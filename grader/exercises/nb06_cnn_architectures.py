"""Notebook 06 — stride in real networks: ``trace_shapes``, ``total_macs``.

The references work on all layers' sizes at once as numpy arrays (kernel, stride and
padding as ``(2,)`` vectors) rather than axis by axis as the solution notebook does, so
testing the solutions against them checks two independent implementations. They do not
use ``stridelab.architectures`` either: the ResNet-18 below is written out here again.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from grader.exercises._spec import Case, CaseSet, Exercise, Mistake
from stridelab.layers import Conv, Pool

NOTEBOOK = "06_cnn_architectures"

Shape = tuple[int, int, int]


def _vector(value: object) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype=np.int64), (2,))


def _step(shape: Shape, layer: Conv | Pool, *, rounding=np.floor_divide, pad_factor: int = 2,
          default_stride: str = "kernel", swap: bool = False, keep_channels: bool = False,
          pad_after: bool = False, pool_padding: bool = True) -> Shape:
    """One layer's output shape; the keyword arguments switch on the known mistakes."""
    size = np.array(shape[1:], dtype=np.int64)
    kernel, padding = _vector(layer.kernel), _vector(layer.padding)
    if isinstance(layer, Pool) and not pool_padding:
        padding = np.zeros(2, dtype=np.int64)
    stride = layer.stride if layer.stride is not None else (
        layer.kernel if default_stride == "kernel" else 1)
    stride = _vector(stride)
    if swap:
        kernel, stride, padding = kernel[::-1], stride[::-1], padding[::-1]
    if pad_after:
        spatial = (size - kernel) // stride + 1 + 2 * padding
    else:
        spatial = rounding(size + pad_factor * padding - kernel, stride) + 1
    if isinstance(layer, Conv) and not keep_channels:
        channels = layer.out_channels
    else:
        channels = shape[0]
    return (int(channels), int(spatial[0]), int(spatial[1]))


def _trace(input_shape: Shape, layers: Sequence[Conv | Pool], **mistake) -> list[Shape]:
    shapes = [tuple(int(v) for v in input_shape)]
    for layer in layers:
        shapes.append(_step(shapes[-1], layer, **mistake))
    return shapes[1:]


def trace_shapes(input_shape: Shape, layers: Sequence[Conv | Pool]) -> list[Shape]:
    """``(C, H, W)`` after each layer: ``floor((n + 2p - k) / s) + 1`` per axis."""
    return _trace(input_shape, layers)


def _ceil_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return -(-a // b)


def _macs(input_shape: Shape, layers: Sequence[Conv | Pool], *, count_pools: bool = False,
          input_size: bool = False, track_channels: bool = True, with_c_in: bool = True,
          kernel_area: bool = True, bias: bool = False, **trace_mistake) -> int:
    """Multiply-adds of the Conv layers; the keyword arguments switch on the known mistakes."""
    shapes = [tuple(input_shape), *_trace(input_shape, layers, **trace_mistake)]
    total = 0
    for before, after, layer in zip(shapes, shapes[1:], layers):
        if isinstance(layer, Pool) and not count_pools:
            continue
        kernel = _vector(layer.kernel)
        area = int(np.prod(kernel)) if kernel_area else int(kernel[0])
        if isinstance(layer, Pool):  # counted as one operation per value compared
            total += after[0] * after[1] * after[2] * area
            continue
        c_in = before[0] if track_channels else input_shape[0]
        positions = before[1] * before[2] if input_size else after[1] * after[2]
        total += positions * after[0] * (c_in if with_c_in else 1) * area
        if bias and isinstance(layer, Conv):
            total += after[1] * after[2] * after[0]
    return int(total)


def total_macs(input_shape: Shape, layers: Sequence[Conv | Pool]) -> int:
    """Sum over the Conv layers of ``H'·W'·c_out·c_in·kH·kW`` (pools and bias cost nothing)."""
    return _macs(input_shape, layers)


# --- cases -------------------------------------------------------------------------------

def _resnet18() -> list[Conv | Pool]:
    """ResNet-18's main path (He et al. 2015, Table 1), written out independently."""
    layers: list[Conv | Pool] = [Conv(64, 7, stride=2, padding=3), Pool(3, stride=2, padding=1)]
    for width in (64, 128, 256, 512):
        layers.append(Conv(width, 3, stride=1 if width == 64 else 2, padding=1))
        layers += [Conv(width, 3, padding=1)] * 3
    return layers


def _size(rng: np.random.Generator, low: int, high: int, pair_chance: float = 0.4):
    """An int in [low, high], or — sometimes — a pair of two different ones."""
    first = int(rng.integers(low, high + 1))
    if rng.random() >= pair_chance:
        return first
    second = int(rng.choice([v for v in range(low, high + 1) if v != first]))
    return (first, second)


def _random_layer(rng: np.random.Generator, shape: Shape) -> Conv | Pool | None:
    """A layer that fits ``shape`` (its kernel no larger than the padded map), or None."""
    for _ in range(20):
        if rng.random() < 0.7:
            layer: Conv | Pool = Conv(int(rng.integers(1, 17)), _size(rng, 1, 5),
                                      _size(rng, 1, 3), _size(rng, 0, 2))
        else:
            kernel = _size(rng, 2, 3, pair_chance=0.25)
            stride = None if rng.random() < 0.5 else _size(rng, 1, 3)
            layer = Pool(kernel, stride, _size(rng, 0, 1, pair_chance=0.2))
        kh, kw = _vector(layer.kernel)
        ph, pw = _vector(layer.padding)
        if kh <= shape[1] + 2 * ph and kw <= shape[2] + 2 * pw:
            return layer
    return None


def _random_network(rng: np.random.Generator, square: bool = False) -> Case:
    h = int(rng.integers(7, 41))
    w = h if square else h + int(rng.choice([-1, 1])) * int(rng.integers(1, 6))
    shape: Shape = (int(rng.integers(1, 5)), h, max(w, 5))
    layers: list[Conv | Pool] = []
    current = shape
    for _ in range(int(rng.integers(2, 6))):
        layer = _random_layer(rng, current)
        if layer is None:
            break
        layers.append(layer)
        current = trace_shapes(current, [layer])[0]
    return Case((shape, layers))


def _random_networks(rng: np.random.Generator) -> list[Case]:
    cases = [_random_network(rng) for _ in range(6)] + [_random_network(rng, square=True)]
    # One network whose every layer has (n + 2p - k) mod s != 0: rounding shows everywhere.
    shape = (3, int(rng.choice([15, 17, 19])), int(rng.choice([22, 24, 26])))
    cases.append(Case((shape, [Conv(8, 4, stride=2, padding=1), Pool(2, stride=2),
                               Conv(4, (2, 3), stride=(2, 2))])))
    return cases


def _by_hand() -> list[Case]:
    return [Case(((3, 32, 32), [Conv(16, 3, padding=1), Pool(2),
                                Conv(32, 3, stride=2, padding=1), Pool(3, stride=2)]))]


def _resnet_stem() -> list[Case]:
    """ResNet's stem: a padded max pool after a padded, strided conv (224 → 112 → 56)."""
    return [Case(((3, 224, 224), [Conv(64, 7, stride=2, padding=3), Pool(3, stride=2, padding=1)]))]


def _pairs() -> list[Case]:
    return [Case(((2, 9, 14), [Conv(4, (3, 5), stride=(2, 3), padding=(1, 0)), Pool((2, 1))]))]


ALEXNET = Case(((3, 227, 227), [Conv(96, 11, stride=4)]))

CEIL_HINT = ("you rounded up. A window that would stick out past the (padded) input is not "
             "computed, so the output size rounds down: floor((n + 2p − k) / s) + 1, which "
             "is `//` in Python.")
SWAP_HINT = ("rows and columns swapped — a pair (vertical, horizontal) applies its first "
             "number to the height H (axis 1 of C×H×W) and its second to the width W.")
POOL_STRIDE_HINT = ("a Pool whose stride is None moves by its kernel size (non-overlapping "
                    "windows, as in Pool(2) halving the map), not by 1.")

SHAPE_MISTAKES = (
    Mistake("ceil instead of floor", CEIL_HINT,
            lambda input_shape, layers: _trace(input_shape, layers, rounding=_ceil_divide)),
    Mistake("pool stride defaulting to 1", POOL_STRIDE_HINT,
            lambda input_shape, layers: _trace(input_shape, layers, default_stride="one")),
    Mistake("padding counted once",
            "padding adds `padding` zeros on each side, so the padded length is n + 2p, "
            "not n + p.",
            lambda input_shape, layers: _trace(input_shape, layers, pad_factor=1)),
    Mistake("padding ignored",
            "your sizes are those of unpadded layers: use n + 2p in the formula.",
            lambda input_shape, layers: _trace(input_shape, layers, pad_factor=0)),
    Mistake("padding applied after striding",
            "you added 2p to the strided size; padding widens the input before the windows "
            "are placed: floor((n + 2p − k) / s) + 1.",
            lambda input_shape, layers: _trace(input_shape, layers, pad_after=True)),
    Mistake("rows and columns swapped", SWAP_HINT,
            lambda input_shape, layers: _trace(input_shape, layers, swap=True)),
    Mistake("pool padding ignored",
            "a Pool pads too: `padding` adds p elements on each side before its windows are "
            "placed, exactly as for a Conv, so its output size is also "
            "floor((n + 2p − k) / s) + 1.",
            lambda input_shape, layers: _trace(input_shape, layers, pool_padding=False)),
    Mistake("channels not set by Conv",
            "a Conv layer's output has one channel per filter: C becomes layer.out_channels. "
            "Only pooling keeps the channel count.",
            lambda input_shape, layers: _trace(input_shape, layers, keep_channels=True)),
    Mistake("the input shape included",
            "return one shape per layer — the shape *after* it — without the input's shape "
            "in front: len(result) == len(layers).",
            lambda input_shape, layers: [tuple(input_shape), *trace_shapes(input_shape, layers)]),
    Mistake("only the last shape returned",
            "return the list of every layer's output shape, not just the final one.",
            lambda input_shape, layers: trace_shapes(input_shape, layers)[-1]
            if layers else tuple(input_shape)),
)

MAC_MISTAKES = (
    Mistake("pooling counted",
            "pooling layers compare numbers, they multiply nothing: only Conv layers add "
            "multiply-adds (pools add 0).",
            lambda input_shape, layers: _macs(input_shape, layers, count_pools=True)),
    Mistake("input size instead of output size",
            "a layer does one dot product per *output* position: multiply by H_out · W_out, "
            "the size after the layer, not the size of its input.",
            lambda input_shape, layers: _macs(input_shape, layers, input_size=True)),
    Mistake("input channels not tracked",
            "each Conv reads the channels produced by the layer before it, not the network "
            "input's C: keep the current shape as you go (trace_shapes does).",
            lambda input_shape, layers: _macs(input_shape, layers, track_channels=False)),
    Mistake("c_in left out",
            "every filter spans all input channels, so one output value costs c_in · kH · kW "
            "multiply-adds.",
            lambda input_shape, layers: _macs(input_shape, layers, with_c_in=False)),
    Mistake("kernel area as kH",
            "the window has kH · kW weights; for an int kernel k that is k², and for a pair "
            "the product of both.",
            lambda input_shape, layers: _macs(input_shape, layers, kernel_area=False)),
    Mistake("bias counted",
            "multiply-adds here exclude the bias: H' · W' · c_out · c_in · kH · kW per Conv.",
            lambda input_shape, layers: _macs(input_shape, layers, bias=True)),
    Mistake("the stride left out",
            "your output sizes ignore the stride: a stride-s layer has about s² times fewer "
            "output positions — and multiply-adds — than a stride-1 one.",
            lambda input_shape, layers: _macs_without_stride(input_shape, layers)),
    Mistake("ceil instead of floor", CEIL_HINT,
            lambda input_shape, layers: _macs(input_shape, layers, rounding=_ceil_divide)),
)


def _macs_without_stride(input_shape: Shape, layers: Sequence[Conv | Pool]) -> int:
    """The multiply-adds if every layer moved one pixel at a time."""
    unit = [Conv(l.out_channels, l.kernel, 1, l.padding) if isinstance(l, Conv)
            else Pool(l.kernel, 1, l.padding) for l in layers]
    return total_macs(input_shape, unit)


EXERCISES = (
    Exercise(
        name="trace_shapes",
        notebook=NOTEBOOK,
        reference=trace_shapes,
        case_sets=(
            CaseSet("AlexNet's first layer: 3×227×227 → 96×55×55", 1, [ALEXNET]),
            CaseSet("Dumoulin & Visin's output sizes", 1, [
                Case(((1, 5, 5), [Conv(1, 3, stride=2)])),
                Case(((1, 5, 5), [Conv(1, 3, stride=2, padding=1)])),
                Case(((1, 6, 6), [Conv(1, 3, stride=2, padding=1)])),
            ]),
            CaseSet("conv, pool, strided conv, overlapping pool; ResNet's stem with a padded pool",
                    1, _by_hand() + _resnet_stem()),
            CaseSet("non-square input, kernel, stride and padding pairs", 1, _pairs()),
            CaseSet("no layers at all", 1, [Case(((3, 8, 8), []))]),
            CaseSet("random networks (hidden)", 3, hidden=True, cases=_random_networks),
            CaseSet("ResNet-18 (hidden)", 1, hidden=True, cases=lambda rng: [
                Case(((3, 224, 224), _resnet18())),
                Case(((3, int(rng.integers(150, 300)), int(rng.integers(150, 300))),
                      _resnet18())),
            ]),
        ),
        mistakes=SHAPE_MISTAKES,
    ),
    Exercise(
        name="total_macs",
        notebook=NOTEBOOK,
        reference=total_macs,
        case_sets=(
            CaseSet("AlexNet's first layer", 1, [ALEXNET]),
            CaseSet("conv, pool, strided conv, overlapping pool", 1, _by_hand()),
            CaseSet("non-square input, kernel, stride and padding pairs", 1, _pairs()),
            CaseSet("pooling only: no multiply-adds", 1, [
                Case(((4, 16, 16), [Pool(2), Pool(3, stride=2)])),
            ]),
            CaseSet("random networks (hidden)", 3, hidden=True, cases=_random_networks),
            CaseSet("ResNet-18's main path (hidden)", 1, hidden=True, cases=lambda rng: [
                Case(((3, 224, 224), _resnet18())),
                Case(((int(rng.integers(1, 4)), int(rng.integers(100, 200)),
                       int(rng.integers(100, 200))), _resnet18())),
            ]),
        ),
        mistakes=MAC_MISTAKES,
    ),
)
