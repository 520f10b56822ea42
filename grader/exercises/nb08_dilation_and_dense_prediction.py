"""Notebook 08 — dilation, dense prediction and the way back up: ``dilated_conv2d``,
``transposed_output_size``.

The references are written differently from the solution notebook on purpose: the solution
slides a window whose taps are ``d`` apart over the padded input, while the reference for
``dilated_conv2d`` builds the dilated kernel itself — ``d − 1`` zeros between the taps — and
slides that, stride 1, keeping every ``s``-th window; ``transposed_output_size``'s reference
measures the full stamp ``(n − 1)·s + k`` and crops it, where the solution writes the law.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from grader.exercises._common import (
    DUMOULIN_W,
    DUMOULIN_X,
    pair,
    random_array,
    small_ints,
)
from grader.exercises._spec import Case, CaseSet, Exercise, Mistake

NOTEBOOK = "08_dilation_and_dense_prediction"


# --- references -----------------------------------------------------------------------------

def dilated_conv2d(x: np.ndarray, w: np.ndarray, stride=1, padding=0, dilation=1) -> np.ndarray:
    """Slide the dilated kernel (``d − 1`` zeros between taps) over the padded input."""
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    kh, kw = w.shape
    spread = np.zeros(((kh - 1) * dh + 1, (kw - 1) * dw + 1))
    spread[::dh, ::dw] = w
    padded = np.pad(x, ((ph, ph), (pw, pw)))
    if spread.shape[0] > padded.shape[0] or spread.shape[1] > padded.shape[1]:
        raise ValueError("the dilated kernel does not fit the padded input")
    windows = sliding_window_view(padded, spread.shape)[::sh, ::sw]
    return np.einsum("ijab,ab->ij", windows, spread)


def transposed_output_size(n: int, k: int, stride: int = 1, padding: int = 0,
                           output_padding: int = 0) -> int:
    """The full stamp of ``n`` kernels ``s`` apart, cropped by ``p`` on each side, plus ``a``."""
    if k < 1 or stride < 1 or padding < 0 or output_padding < 0:
        raise ValueError("need k >= 1, stride >= 1, padding >= 0 and output_padding >= 0")
    if output_padding >= stride:
        raise ValueError("output_padding must be smaller than the stride")
    full = (n - 1) * stride + k
    size = full - 2 * padding + output_padding
    if size < 1:
        raise ValueError(f"no output: (n - 1)·s - 2p + k + a = {size}")
    return size


# --- known mistakes -------------------------------------------------------------------------

def _loose(x, w, stride=1, padding=0, dilation=1):
    """The reference as a learner's loop behaves: when no window fits along an axis, an empty
    output along it instead of an error."""
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    kh, kw = w.shape
    rows = (x.shape[0] + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    cols = (x.shape[1] + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if rows < 1 or cols < 1:
        return np.zeros((max(rows, 0), max(cols, 0)))
    return dilated_conv2d(x, w, stride, padding, dilation)


def _size_with_span_dk(x, w, stride=1, padding=0, dilation=1):
    """The output sized as if the kernel spanned d·k inputs; the values it does compute are
    right."""
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    rows = (x.shape[0] + 2 * ph - dh * w.shape[0]) // sh + 1
    cols = (x.shape[1] + 2 * pw - dw * w.shape[1]) // sw + 1
    right = dilated_conv2d(x, w, stride, padding, dilation)
    return right[:max(rows, 0), :max(cols, 0)]


def _swapped(value):
    a, b = pair(value)
    return (b, a)


def _checked(formula):
    """``formula(n, k, s, p, a)`` behind the contract's ValueError checks."""
    def wrong(n, k, stride=1, padding=0, output_padding=0):
        if k < 1 or stride < 1 or padding < 0 or output_padding < 0 or output_padding >= stride:
            raise ValueError("invalid")
        size = formula(n, k, stride, padding, output_padding)
        if size < 1:
            raise ValueError("no output")
        return size
    return wrong


def _law(n, k, stride=1, padding=0, output_padding=0):
    return (n - 1) * stride - 2 * padding + k + output_padding


def _a_up_to_stride(n, k, stride=1, padding=0, output_padding=0):
    if output_padding > stride:
        raise ValueError("output_padding larger than the stride")
    if output_padding == stride:
        if k < 1 or stride < 1 or padding < 0:
            raise ValueError("invalid")
        size = _law(n, k, stride, padding, output_padding)
        if size < 1:
            raise ValueError("no output")
        return size
    return transposed_output_size(n, k, stride, padding, output_padding)


def _below_one_accepted(n, k, stride=1, padding=0, output_padding=0):
    if k < 1 or stride < 1 or padding < 0 or output_padding < 0 or output_padding >= stride:
        raise ValueError("invalid")
    return _law(n, k, stride, padding, output_padding)


DILATED_MISTAKES = (
    Mistake("wrong dilation offset d·k instead of d(k − 1)",
            "the last tap of a window sits d(k − 1) after its first, so a window spans "
            "d(k − 1) + 1 inputs, not d·k: H_out = floor((n + 2p − d(k − 1) − 1) / s) + 1. "
            "With d·k your output loses a row or column whenever d > 1.",
            _size_with_span_dk),
    Mistake("dilation ignored",
            "the taps of a dilated kernel are d apart: tap (a, b) of window (i, j) reads "
            "x_padded[i·s + a·d, j·s + b·d], and the output size uses d(k − 1) + 1 for the "
            "kernel's span.",
            lambda x, w, stride=1, padding=0, dilation=1: _loose(x, w, stride, padding, 1)),
    Mistake("taps d + 1 apart",
            "dilation d puts d − 1 zeros between the taps, so neighbouring taps are d apart "
            "(d = 1 is an ordinary convolution): tap a reads offset a·d.",
            lambda x, w, stride=1, padding=0, dilation=1: _loose(
                x, w, stride, padding, tuple(v + 1 for v in pair(dilation)))),
    Mistake("stride and dilation swapped",
            "the stride is the step between windows (i·s), the dilation the step between the "
            "taps inside one window (a·d): tap (a, b) of window (i, j) reads "
            "x_padded[i·s + a·d, j·s + b·d].",
            lambda x, w, stride=1, padding=0, dilation=1: _loose(x, w, dilation, padding, stride)),
    Mistake("flipped kernel",
            "deep learning's convolution is cross-correlation: multiply tap (a, b) by w[a, b] "
            "as it is, unflipped.",
            lambda x, w, stride=1, padding=0, dilation=1: _loose(
                x, w[::-1, ::-1], stride, padding, dilation)),
    Mistake("dilation pair swapped",
            "a pair dilation is (vertical, horizontal): the first spaces the taps down the rows, "
            "the second across the columns.",
            lambda x, w, stride=1, padding=0, dilation=1: _loose(
                x, w, stride, padding, _swapped(dilation))),
)

TRANSPOSED_MISTAKES = (
    Mistake("output_padding added twice",
            "output_padding adds a rows (and columns) on one side only — the bottom and right — "
            "so the size grows by a, not 2a: (n − 1)·s − 2p + k + a.",
            _checked(lambda n, k, s, p, a: (n - 1) * s - 2 * p + k + 2 * a)),
    Mistake("output_padding ignored",
            "output_padding a adds a rows (and columns) at the end: (n − 1)·s − 2p + k + a. It is "
            "what tells apart the input sizes that gave the same strided output.",
            _checked(lambda n, k, s, p, a: (n - 1) * s - 2 * p + k)),
    Mistake("padding added instead of removed",
            "in a transposed convolution, padding p removes p rows and columns from each border "
            "of the full result — it undoes the forward convolution's padding: − 2p.",
            _checked(lambda n, k, s, p, a: (n - 1) * s + 2 * p + k + a)),
    Mistake("padding counted once",
            "padding p is per side, so the transposed convolution crops p from both ends: − 2p.",
            _checked(lambda n, k, s, p, a: (n - 1) * s - p + k + a)),
    Mistake("n·s instead of (n − 1)·s",
            "n kernels stamped s apart start at 0, s, …, (n − 1)·s; the last one ends k − 1 "
            "later, so the full result is (n − 1)·s + k long.",
            _checked(lambda n, k, s, p, a: n * s - 2 * p + k + a)),
    Mistake("the convolution's size law instead",
            "floor((n + 2p − k) / s) + 1 is the size a strided convolution makes *smaller*; its "
            "transpose goes back up: (n − 1)·s − 2p + k + a.",
            _checked(lambda n, k, s, p, a: (n + 2 * p - k) // s + 1)),
    Mistake("no check for impossible settings",
            "your formula is right, but the function must refuse settings no layer can have: "
            "raise ValueError when k < 1, stride < 1, padding < 0, output_padding < 0, "
            "output_padding >= stride, or when the size comes out below 1.",
            _law),
    Mistake("output_padding up to the stride accepted",
            "output_padding picks one of the s input sizes that share an output size, so it is "
            "0, 1, …, s − 1: raise ValueError when output_padding >= stride (PyTorch does too).",
            _a_up_to_stride),
    Mistake("a size below 1 not refused",
            "when (n − 1)·s − 2p + k + a comes out below 1 the padding removes everything: raise "
            "ValueError instead of returning the number.",
            _below_one_accepted),
)


# --- cases ----------------------------------------------------------------------------------

def _size(n: int, k: int, s: int, p: int, d: int) -> int:
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def _as_arg(rng: np.random.Generator, value: tuple[int, int], int_chance: float = 0.5):
    """An int when both axes agree (half the time), else the pair."""
    return value[0] if value[0] == value[1] and rng.random() < int_chance else value


def _random_dilated_case(rng: np.random.Generator, index: int) -> Case:
    """Non-square inputs and kernels, strides, paddings and dilations as ints (every third
    case) or pairs; every third case with (n + 2p − d(k − 1) − 1) mod s ≠ 0 on some axis, and
    d > 1 on both axes in most, so that d·k and d(k − 1) + 1 differ."""
    while True:
        kh, kw = int(rng.integers(1, 4)), int(rng.integers(2, 4))
        dh, dw = int(rng.integers(1, 4)), int(rng.integers(2, 4))
        if index % 2 == 0:
            dh = max(dh, 2)
        sh, sw = int(rng.integers(1, 4)), int(rng.integers(1, 3))
        ph, pw = int(rng.integers(0, 3)), int(rng.integers(0, 3))
        if index % 3 == 1:                  # the same on both axes: passed as ints
            sw, pw, dw = sh, ph, max(dh, 2)
            dh = dw
        h, w = int(rng.integers(4, 12)), int(rng.integers(4, 12))
        if h == w:
            w += 1
        rows, cols = _size(h, kh, sh, ph, dh), _size(w, kw, sw, pw, dw)
        if rows < 1 or cols < 1:
            continue
        ragged = (h + 2 * ph - dh * (kh - 1) - 1) % sh or (w + 2 * pw - dw * (kw - 1) - 1) % sw
        if index % 3 == 0 and not ragged:
            continue
        break
    chance = 1.0 if index % 3 == 1 else 0.5
    return Case((random_array(rng, h, w), random_array(rng, kh, kw)),
                {"stride": _as_arg(rng, (sh, sw), chance), "padding": _as_arg(rng, (ph, pw), chance),
                 "dilation": _as_arg(rng, (dh, dw), chance)})


def _random_size_case(rng: np.random.Generator) -> Case:
    while True:
        n, k = int(rng.integers(1, 40)), int(rng.integers(1, 8))
        s = int(rng.integers(1, 5))
        p = int(rng.integers(0, k + 1))
        a = int(rng.integers(0, s))
        if _law(n, k, s, p, a) >= 1:
            return Case((n, k), {"stride": s, "padding": p, "output_padding": a})


def _random_invalid_size_case(rng: np.random.Generator, kind: int) -> Case:
    n, k, s = int(rng.integers(2, 30)), int(rng.integers(2, 7)), int(rng.integers(2, 5))
    p = int(rng.integers(0, k // 2 + 1))
    if kind == 0:     # output_padding as large as the stride
        return Case((n, k), {"stride": s, "padding": p, "output_padding": s})
    if kind == 1:     # a negative or zero setting
        bad = [{"padding": -int(rng.integers(1, 3))}, {"stride": 0}, {"output_padding": -1}][
            int(rng.integers(0, 3))]
        return Case((n, k), {"stride": s, "padding": p, **bad})
    if kind == 2:     # a kernel of size 0
        return Case((n, 0), {"stride": s})
    return Case((1, 1), {"stride": 1, "padding": int(rng.integers(1, 3))})   # size below 1


D_AND_V_7X7 = np.array([[3, 3, 2, 1, 0, 1, 2], [0, 0, 1, 3, 1, 0, 1], [3, 1, 2, 2, 3, 2, 0],
                        [2, 0, 0, 2, 2, 1, 3], [2, 0, 0, 0, 1, 3, 2], [1, 2, 3, 0, 0, 1, 1],
                        [0, 1, 1, 2, 3, 0, 2]], dtype=float)
"""A 7×7 input: Dumoulin & Visin's 5×5 example, extended by two rows and columns, for their
dilation setting (i = 7, k = 3, d = 2: Figure 5.1, relationship 15)."""


def _rng(label: str) -> np.random.Generator:
    return np.random.default_rng(sum(map(ord, label)))


EXERCISES = (
    Exercise(
        name="dilated_conv2d",
        notebook=NOTEBOOK,
        reference=dilated_conv2d,
        case_sets=(
            CaseSet("Dumoulin & Visin's dilation setting: 7×7 input, 3×3 kernel, d = 2 → 3×3", 1, [
                Case((D_AND_V_7X7, DUMOULIN_W), {"dilation": 2}),
            ]),
            CaseSet("dilation 1 is notebook 02's convolution (stride 2, padding 1)", 1, [
                Case((DUMOULIN_X, DUMOULIN_W), {"stride": 2, "padding": 1, "dilation": 1}),
            ]),
            CaseSet("padding d keeps the size at stride 1 (non-square input, d = 2 and 3)", 1, [
                Case((small_ints(_rng("same-2"), 6, 7), DUMOULIN_W), {"padding": 2, "dilation": 2}),
                Case((small_ints(_rng("same-3"), 7, 8), DUMOULIN_W), {"padding": 3, "dilation": 3}),
            ]),
            CaseSet("pairs: dilation (2, 3), stride (2, 1), padding (1, 0), a 2×3 kernel, "
                    "(n + 2p − d(k − 1) − 1) mod s ≠ 0", 1, [
                Case((small_ints(_rng("pairs"), 8, 9), small_ints(_rng("pairs-w"), 2, 3)),
                     {"stride": (2, 1), "padding": (1, 0), "dilation": (2, 3)}),
            ]),
            CaseSet("random inputs, kernels, strides, paddings and dilations (hidden)", 3,
                    hidden=True, cases=lambda rng: [_random_dilated_case(rng, i) for i in range(9)]),
        ),
        mistakes=DILATED_MISTAKES,
    ),
    Exercise(
        name="transposed_output_size",
        notebook=NOTEBOOK,
        reference=transposed_output_size,
        case_sets=(
            CaseSet("Dumoulin & Visin: back from 3 to 5, and with a = 1 to 6 (k = 3, s = 2, p = 1)",
                    1, [
                        Case((3, 3), {"stride": 2, "padding": 1}),
                        Case((3, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
                        Case((2, 3), {"stride": 2}),
                    ]),
            CaseSet("stride 1: the transpose of a valid convolution grows by k − 1 − 2p", 1, [
                Case((4, 3)),
                Case((5, 4), {"padding": 1}),
            ]),
            CaseSet("real layers undone: ResNet's conv1 (112 → 224) and a U-Net up-step", 1, [
                Case((112, 7), {"stride": 2, "padding": 3, "output_padding": 1}),
                Case((28, 2), {"stride": 2}),
                Case((5, 3), {"stride": 3, "padding": 1, "output_padding": 2}),
            ]),
            CaseSet("invalid settings raise ValueError", 1, [
                Case((3, 3), {"stride": 2, "padding": 1, "output_padding": 2}),
                Case((3, 3), {"stride": 1, "output_padding": 1}),
                Case((3, 0), {"stride": 2}),
                Case((3, 3), {"stride": 0}),
                Case((3, 3), {"padding": -1}),
                Case((3, 3), {"stride": 2, "output_padding": -1}),
                Case((1, 1), {"padding": 1}),
            ]),
            CaseSet("random sizes, strides, paddings and output paddings (hidden)", 1, hidden=True,
                    cases=lambda rng: [_random_size_case(rng) for _ in range(12)]),
            CaseSet("random invalid settings (hidden)", 1, hidden=True,
                    cases=lambda rng: [_random_invalid_size_case(rng, kind) for kind in range(4)]),
        ),
        mistakes=TRANSPOSED_MISTAKES,
    ),
)
