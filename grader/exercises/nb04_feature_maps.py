"""Notebook 04 — many filters, many channels: ``conv2d_layer``, ``receptive_field``.

The references are written differently from the solution notebook on purpose. The
solution loops over output positions; :func:`conv2d_layer` here loops over the kernel's
offsets instead ("shift and add": one strided slice of the whole padded batch per kernel
element), and :func:`receptive_field` uses the closed form rather than the layer-by-layer
recurrence. :func:`conv2d_naive`, one ``np.sum`` per output value, is the baseline that
notebook 05's speed test measures ``conv2d_fast`` against.

>>> x = np.arange(16.0).reshape(1, 1, 4, 4)
>>> conv2d_layer(x, np.ones((1, 1, 2, 2)), stride=2)[0, 0]
array([[10., 18.],
       [42., 50.]])
>>> receptive_field([(3, 2), (3, 2)])
(7, 4)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from grader.exercises._common import DUMOULIN_W, DUMOULIN_X, pair, random_array, small_ints
from grader.exercises._spec import Case, CaseSet, Exercise, Mistake, ShapeOnly
from grader.exercises.nb01_convolution_dot_product import FLIPPED_HINT

NOTEBOOK = "04_feature_maps"

Size = int | tuple[int, int]


def output_size(n: int, k: int, s: int, p: int) -> int:
    """``floor((n + 2p - k) / s) + 1`` along one axis."""
    return (n + 2 * p - k) // s + 1


def _shapes(x: np.ndarray, w: np.ndarray, stride: Size, padding: Size) -> tuple[int, ...]:
    """``(sh, sw, ph, pw, h_out, w_out)``, after checking that ``x`` and ``w`` fit together."""
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"x must be (N, C_in, H, W) and w (C_out, C_in, kH, kW); got x of "
                         f"shape {x.shape} and w of shape {w.shape}")
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"x has {x.shape[1]} channels but each filter of w has {w.shape[1]}")
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    kh, kw = w.shape[2:]
    h_out = output_size(x.shape[2], kh, sh, ph)
    w_out = output_size(x.shape[3], kw, sw, pw)
    if h_out < 1 or w_out < 1:
        raise ValueError(f"a {kh}×{kw} kernel does not fit in the padded {x.shape[2]}×"
                         f"{x.shape[3]} input")
    return sh, sw, ph, pw, h_out, w_out


def _pad(x: np.ndarray, ph: int, pw: int) -> np.ndarray:
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def conv2d_layer(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None,
                 stride: Size = 1, padding: Size = 0) -> np.ndarray:
    """A convolution layer, NCHW, as ``torch.nn.functional.conv2d``: shift and add."""
    sh, sw, ph, pw, h_out, w_out = _shapes(x, w, stride, padding)
    xp = _pad(np.asarray(x, dtype=float), ph, pw)
    out = np.zeros((x.shape[0], w.shape[0], h_out, w_out))
    for a in range(w.shape[2]):
        for c in range(w.shape[3]):
            # Input element (a + sh*i, c + sw*j) meets kernel element (a, c) at output (i, j).
            shifted = xp[:, :, a:a + sh * (h_out - 1) + 1:sh, c:c + sw * (w_out - 1) + 1:sw]
            out += np.einsum("nchw,oc->nohw", shifted, w[:, :, a, c])
    if b is not None:
        out += np.asarray(b, dtype=float)[None, :, None, None]
    return out


def conv2d_naive(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None,
                 stride: Size = 1, padding: Size = 0) -> np.ndarray:
    """The naive loop over output positions: one ``np.sum`` per output value.

    Correct and slow on purpose: the baseline of notebook 05's speed test.
    """
    sh, sw, ph, pw, h_out, w_out = _shapes(x, w, stride, padding)
    xp = _pad(x, ph, pw)
    kh, kw = w.shape[2:]
    out = np.zeros((x.shape[0], w.shape[0], h_out, w_out))
    for n in range(out.shape[0]):
        for o in range(out.shape[1]):
            for i in range(h_out):
                for j in range(w_out):
                    window = xp[n, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
                    out[n, o, i, j] = np.sum(window * w[o])
            if b is not None:
                out[n, o] += b[o]
    return out


def receptive_field(layers: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """``(size, jump)`` in closed form: ``1 + Σ (k_l − 1)·Π_{m<l} s_m`` and ``Π s_l``."""
    size, jumps = 1, [math.prod(s for _, s in layers[:index]) for index in range(len(layers))]
    size += sum((k - 1) * jump for (k, _), jump in zip(layers, jumps))
    return int(size), int(math.prod(s for _, s in layers))


# --- known mistakes of conv2d_layer (notebook 05's conv2d_fast shares them) -----------------

def _without_bias(x, w, b=None, stride=1, padding=0):
    return conv2d_layer(x, w, None, stride, padding)


def _bias_times(factor: Callable[[np.ndarray], int]) -> Callable[..., np.ndarray]:
    def wrong(x, w, b=None, stride=1, padding=0):
        out = conv2d_layer(x, w, None, stride, padding)
        return out if b is None else out + factor(w) * b[None, :, None, None]
    return wrong


def _bias_on_last_axis(x, w, b=None, stride=1, padding=0):
    out = conv2d_layer(x, w, None, stride, padding)
    return out if b is None else out + b  # broadcasts along the width, or raises ValueError


def _last_channel_only(x, w, b=None, stride=1, padding=0):
    return conv2d_layer(x[:, -1:], w[:, -1:], b, stride, padding)


def _first_channel_only(x, w, b=None, stride=1, padding=0):
    return conv2d_layer(x[:, :1], w[:, :1], b, stride, padding)


def _channels_averaged(x, w, b=None, stride=1, padding=0):
    out = conv2d_layer(x, w, None, stride, padding) / x.shape[1]
    return out if b is None else out + b[None, :, None, None]


def _stride_ignored(x, w, b=None, stride=1, padding=0):
    return conv2d_layer(x, w, b, 1, padding)


def _stride_not_in_slice(x, w, b=None, stride=1, padding=0):
    sh, sw, _, _, h_out, w_out = _shapes(x, w, stride, padding)
    return conv2d_layer(x, w, b, 1, padding)[:, :, :h_out, :w_out]


def _flipped(x, w, b=None, stride=1, padding=0):
    return conv2d_layer(x, w[:, :, ::-1, ::-1], b, stride, padding)


def _ceil_size(x, w, b=None, stride=1, padding=0):
    """An output of the ceil size whose extra windows somehow got values: only its shape is
    known. Where ceil and floor agree it is the right answer."""
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    kh, kw = w.shape[2:]
    h_out = math.ceil((x.shape[2] + 2 * ph - kh) / sh) + 1
    w_out = math.ceil((x.shape[3] + 2 * pw - kw) / sw) + 1
    if (h_out, w_out) == _shapes(x, w, stride, padding)[4:]:
        return conv2d_layer(x, w, b, stride, padding)
    return ShapeOnly((x.shape[0], w.shape[0], h_out, w_out))


def _ceil_loop(x, w, b=None, stride=1, padding=0):
    """The loop over a ceil-sized output learners write: the last window is cut short by the
    edge of the padded input, and its product with the kernel raises ValueError — or, one row
    or column long, broadcasts into a wrong value."""
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    kh, kw = w.shape[2:]
    xp = _pad(np.asarray(x, dtype=float), ph, pw)
    rows = math.ceil((xp.shape[2] - kh) / sh) + 1
    cols = math.ceil((xp.shape[3] - kw) / sw) + 1
    out = np.zeros((x.shape[0], w.shape[0], rows, cols))
    for i in range(rows):
        for j in range(cols):
            # As np.sum(window * w[o]) per image n and filter o, for all of them at once.
            window = xp[:, None, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            out[:, :, i, j] = np.sum(window * w[None], axis=(2, 3, 4))
    return out if b is None else out + np.asarray(b, dtype=float)[None, :, None, None]


def _pad_with_negative_slice(x, w, b=None, stride=1, padding=0):
    (ph, pw) = pair(padding)
    xp = np.zeros(x.shape[:2] + (x.shape[2] + 2 * ph, x.shape[3] + 2 * pw))
    xp[:, :, ph:-ph, pw:-pw] = x  # an empty slice when a padding is 0: ValueError
    return conv2d_layer(xp, w, b, stride, 0)


def _pad_every_axis(x, w, b=None, stride=1, padding=0):
    """``np.pad(x, padding)`` pads every axis, the batch and channel axes too (a pair pads each
    axis padding[0] before and padding[1] after). Each filter's C_in channels then meet more
    channels than it has: ValueError — unless C_in is 1, when they broadcast and the output
    has a batch grown by the padding (its values depend on the loops around it)."""
    before, after = pair(padding)
    if before == after == 0:
        return conv2d_layer(x, w, b, stride, padding)
    if x.shape[1] != 1:
        raise ValueError("operands could not be broadcast together")
    (sh, sw), grow = pair(stride), before + after
    kh, kw = w.shape[2:]
    return ShapeOnly((x.shape[0] + grow, w.shape[0], (x.shape[2] + grow - kh) // sh + 1,
                      (x.shape[3] + grow - kw) // sw + 1))


def _pairs_reversed(x, w, b=None, stride=1, padding=0):
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    return conv2d_layer(x, w, b, (sw, sh), (pw, ph))


CEIL_HINT = ("your output has a row or column of windows too many, and the last of them runs "
             "off the padded input (its slice is too short to multiply by the kernel). The "
             "number of windows is floor((n + 2p − k) / s) + 1 — a window that would stick out "
             "is dropped, not computed. Use floor division //.")
BIAS_HINT_END = ("The bias is one number per filter, added once to each output value of that "
                 "filter, after the sum over the window and over the input channels.")

CONV_LAYER_MISTAKES = (
    Mistake("bias missing",
            "your output is right except for the bias: add b[o] to every value of output "
            "channel o (when b is not None).", _without_bias),
    Mistake("bias added to every product",
            "your bias is counted C_in·kH·kW times, once per product in the window. "
            + BIAS_HINT_END, _bias_times(lambda w: w.shape[1] * w.shape[2] * w.shape[3])),
    Mistake("bias added once per input channel",
            "your bias is counted C_in times, once per input channel. " + BIAS_HINT_END,
            _bias_times(lambda w: w.shape[1])),
    Mistake("bias broadcast along the wrong axis",
            "if the error points at your bias: adding b (shape (C_out,)) to an (N, C_out, H_out, W_out) array lines it up with "
            "the last axis, the width. Give b the shape that lines up with axis 1, the output "
            "channels, before adding it.", _bias_on_last_axis),
    Mistake("only the last input channel counted",
            "your output uses the last input channel only, as if each channel's sum "
            "overwrote the previous one. A filter sums its products over all C_in input "
            "channels: accumulate (+=) across channels, or sum over the channel axis too.",
            _last_channel_only),
    Mistake("only the first input channel counted",
            "your output uses the first input channel only. A filter sums its products over "
            "all C_in input channels: loop over every channel (or sum over the channel axis "
            "too), not just channel 0.",
            _first_channel_only),
    Mistake("input channels averaged",
            "your output is the mean over input channels, C_in times too small. A filter "
            "adds up its products over all input channels: a sum, not a mean.",
            _channels_averaged),
    Mistake("stride ignored",
            "your output is the stride-1 result: every window position is computed. Windows "
            "start every `stride` pixels, so along an axis there are "
            "floor((n + 2p − k) / s) + 1 of them.", _stride_ignored),
    Mistake("stride left out of the window slice",
            "your output has the right shape, but output (i, j) reads the window starting at "
            "(i, j). With stride s its window starts at (i·s_h, j·s_w) in the padded input.",
            _stride_not_in_slice),
    Mistake("flipped kernel", FLIPPED_HINT, _flipped),
    # Loops over a ceil-sized output crash on (or mis-multiply) the window cut short by the
    # edge; any other way of filling it leaves only the shape to go by.
    Mistake("ceil instead of floor", CEIL_HINT, _ceil_loop),
    Mistake("ceil instead of floor", CEIL_HINT, _ceil_size),
    Mistake("x[p:-p] at padding 0",
            "if the error points at your padding code: with padding 0 the slice p:-p is 0:-0, "
            "which is empty, so the input does not fit into it. Slice the interior as p:p + H (and p:p + W), or only pad when p > 0.",
            _pad_with_negative_slice),
    Mistake("padding added to the batch and channel axes",
            "np.pad(x, p) pads every axis, the batch and channel axes too: the batch grows by "
            "2p, and each filter meets more input channels than it has (a broadcasting error "
            "when C_in > 1). Pad only the last two axes (height and width), with zero padding "
            "for the batch and channel axes.",
            _pad_every_axis),
    Mistake("(vertical, horizontal) read backwards",
            "a pair stride or padding is (vertical, horizontal): the first number applies to "
            "the rows (height, axis 2), the second to the columns (width, axis 3).",
            _pairs_reversed),
)


# --- cases ----------------------------------------------------------------------------------

def _random_layer(rng: np.random.Generator, pairs: bool) -> Case:
    """A random layer: non-square input and kernel, sizes where (n + 2p − k) mod s != 0."""
    n, c_in, c_out = (int(v) for v in rng.integers(2, 5, size=3))
    kh, kw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    if kh == kw:
        kw = kw % 4 + 1
    if pairs:
        stride = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        padding = (int(rng.integers(0, 3)), int(rng.integers(0, 3)))
    else:
        stride, padding = int(rng.integers(1, 4)), int(rng.integers(0, 3))
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    # Sizes from kernel + a few strides + a remainder, so the last windows are tested.
    h = max(1, kh - 2 * ph + sh * int(rng.integers(1, 5)) + int(rng.integers(0, sh)))
    w = max(1, kw - 2 * pw + sw * int(rng.integers(1, 5)) + int(rng.integers(0, sw)))
    # The kernel also fits with the pairs read backwards, so that mistake gives wrong values
    # (which it predicts) rather than a kernel too large (which each learner's code meets
    # its own way: an empty output, or an exception).
    h, w = max(h, kh - 2 * pw), max(w, kw - 2 * ph)
    if h == w:
        w += 1
    bias = random_array(rng, c_out) if rng.random() < 0.7 else None
    return Case((random_array(rng, n, c_in, h, w), random_array(rng, c_out, c_in, kh, kw), bias),
                {"stride": stride, "padding": padding})


def conv_layer_case_sets() -> tuple[CaseSet, ...]:
    """The correctness tests shared by ``conv2d_layer`` and notebook 05's ``conv2d_fast``."""
    dx, dw = DUMOULIN_X[None, None], DUMOULIN_W[None, None]
    return (
        CaseSet("worked examples (Dumoulin & Visin), one image, one filter", 1, [
            Case((dx, dw)),
            Case((dx, dw), {"stride": 2, "padding": 1}),
        ]),
        CaseSet("two input channels are summed", 1, lambda rng: [
            Case((small_ints(rng, 1, 2, 3, 4), small_ints(rng, 1, 2, 2, 2))),
        ]),
        CaseSet("three filters with a bias, also at stride 2 with padding 1", 1, lambda rng: [
            Case((small_ints(rng, 1, 2, 4, 5), small_ints(rng, 3, 2, 2, 3), small_ints(rng, 3))),
            # Padding on both axes and a last row and column no window reaches: rounding,
            # padding and bias mistakes each show on their own here.
            Case((small_ints(rng, 1, 2, 5, 6), small_ints(rng, 3, 2, 2, 3), small_ints(rng, 3)),
                 {"stride": 2, "padding": 1}),
        ]),
        CaseSet("a batch of two, stride (2, 1), padding (1, 0)", 1, lambda rng: [
            Case((small_ints(rng, 2, 2, 5, 4), small_ints(rng, 3, 2, 3, 2), small_ints(rng, 3)),
                 {"stride": (2, 1), "padding": (1, 0)}),
        ]),
        CaseSet("random layers, int stride and padding (hidden)", 1, hidden=True,
                cases=lambda rng: [_random_layer(rng, pairs=False) for _ in range(6)]),
        CaseSet("random layers, pair stride and padding (hidden)", 1, hidden=True,
                cases=lambda rng: [_random_layer(rng, pairs=True) for _ in range(6)]),
    )


def _random_stack(rng: np.random.Generator) -> Case:
    depth = int(rng.integers(1, 7))
    layers = [(int(rng.integers(1, 8)), int(rng.integers(1, 4))) for _ in range(depth)]
    return Case((layers,))


def _rf_jump_ignored(layers):
    return 1 + sum(k - 1 for k, _ in layers), math.prod(s for _, s in layers)


def _rf_jump_updated_first(layers):
    size, jump = 1, 1
    for k, s in layers:
        jump *= s
        size += (k - 1) * jump
    return size, jump


def _rf_k_not_k_minus_1(layers):
    size, jump = 1, 1
    for k, s in layers:
        size += k * jump
        jump *= s
    return size, jump


def _rf_started_at_zero(layers):
    size, jump = receptive_field(layers)
    return size - 1, jump


def _rf_swapped(layers):
    size, jump = receptive_field(layers)
    return jump, size


def _rf_kernels_multiplied(layers):
    return math.prod(k for k, _ in layers), math.prod(s for _, s in layers)


RECEPTIVE_FIELD_MISTAKES = (
    Mistake("jump left out",
            "your size adds k − 1 per layer, as if every layer had stride 1 before it. One "
            "step of a layer's kernel moves jump input pixels, where jump is the product of "
            "the strides of the layers below it: add (k − 1) · jump.", _rf_jump_ignored),
    Mistake("jump updated before the size",
            "you multiplied the jump by the layer's own stride before growing the size. A "
            "layer's kernel steps over units of the layer below it, so use the jump from "
            "before this layer, then update it.", _rf_jump_updated_first),
    Mistake("k instead of k − 1",
            "a kernel of size k adds k − 1 new positions to the field, not k (a 1×1 kernel "
            "adds nothing).", _rf_k_not_k_minus_1),
    Mistake("started from 0",
            "your sizes are one too small. With no layers the field is a single input pixel: "
            "start from size 1 and jump 1, so [] gives (1, 1).", _rf_started_at_zero),
    Mistake("size and jump swapped",
            "return (size, jump): the field's width first, then the distance between "
            "neighbouring units' fields.", _rf_swapped),
    Mistake("kernel sizes multiplied",
            "fields do not multiply: each layer widens the field by (k − 1) · jump input "
            "pixels.", _rf_kernels_multiplied),
)


EXERCISES = (
    Exercise(
        name="conv2d_layer",
        notebook=NOTEBOOK,
        reference=conv2d_layer,
        case_sets=conv_layer_case_sets(),
        mistakes=CONV_LAYER_MISTAKES,
    ),
    Exercise(
        name="receptive_field",
        notebook=NOTEBOOK,
        reference=receptive_field,
        case_sets=(
            CaseSet("no layers, one layer", 1, [
                Case(([],)),
                Case(([(3, 1)],)),
            ]),
            CaseSet("two 3×3 stride-2 layers (the notebook's example)", 1, [
                Case(([(3, 2), (3, 2)],)),
            ]),
            CaseSet("ResNet's stem and a VGG block", 1, [
                Case(([(7, 2), (3, 2)],)),
                Case(([(3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (2, 2)],)),
            ]),
            CaseSet("random stacks of layers (hidden)", 2, hidden=True, cases=lambda rng: [
                *(_random_stack(rng) for _ in range(8)),
                Case(([(1, 3), (5, 1), (2, 2)],)),
            ]),
        ),
        mistakes=RECEPTIVE_FIELD_MISTAKES,
    ),
)

__all__ = ["CONV_LAYER_MISTAKES", "EXERCISES", "NOTEBOOK", "conv2d_layer", "conv2d_naive",
           "conv_layer_case_sets", "output_size", "receptive_field"]

