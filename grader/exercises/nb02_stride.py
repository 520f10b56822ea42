"""Notebook 02 — stride: ``conv_output_size``, ``window_starts``, ``ignored_border``,
``conv2d_strided``.

The references are written differently from the solution notebook on purpose: sizes by
counting a ``range`` of window starts instead of the floor formula, the ignored border
from where the last window ends, and the convolution with ``sliding_window_view`` and a
sliced view instead of loops — so the solutions and the references check each other.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from grader.exercises._common import DUMOULIN_W, DUMOULIN_X, pair, random_array, small_ints
from grader.exercises._spec import Case, CaseSet, Exercise, Mistake

NOTEBOOK = "02_stride"

CEIL_HINT = (
    "you counted a window that does not fit. The last window must end inside the padded "
    "input, so the number of extra steps is rounded down: floor((n + 2p − k) / s), not up. "
    "The trailing (n + 2p − k) mod s elements are simply never covered."
)
PADDING_ONCE_HINT = (
    "`padding` is added on each side, so the padded length is n + 2p, not n + p."
)
FLIPPED_HINT = (
    "your answer matches true convolution, which flips the kernel. Deep-learning "
    "'convolution' is cross-correlation: multiply each window by w as it is, unflipped."
)


# --- references ---------------------------------------------------------------------------

def _validate(n: int, k: int, stride: int, padding: int) -> None:
    if k < 1:
        raise ValueError(f"kernel size k = {k}: a kernel needs at least one element")
    if stride < 1:
        raise ValueError(f"stride = {stride}: the window must move at least one step")
    if padding < 0:
        raise ValueError(f"padding = {padding}: padding cannot be negative")
    if k > n + 2 * padding:
        raise ValueError(f"k = {k} is larger than the padded input (n + 2p = "
                         f"{n + 2 * padding}): no window fits; use a smaller kernel or pad more")


def conv_output_size(n: int, k: int, stride: int = 1, padding: int = 0) -> int:
    """Number of window positions along one axis, by counting them."""
    _validate(n, k, stride, padding)
    return len(range(0, n + 2 * padding - k + 1, stride))


def window_starts(n: int, k: int, stride: int = 1, padding: int = 0) -> list[int]:
    """Where each window starts, in padded coordinates: 0, s, 2s, … while it fits."""
    return list(range(0, n + 2 * padding - k + 1, stride))


def ignored_border(n: int, k: int, stride: int = 1, padding: int = 0) -> int:
    """Trailing padded elements after the end of the last window."""
    last_start = window_starts(n, k, stride, padding)[-1]
    return n + 2 * padding - (last_start + k)


def conv2d_strided(x: np.ndarray, w: np.ndarray, stride=1, padding=0) -> np.ndarray:
    """Cross-correlation with zero padding per side and a (vertical, horizontal) stride."""
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    padded = np.pad(x, ((ph, ph), (pw, pw)))
    windows = sliding_window_view(padded, w.shape)[::sh, ::sw]
    return np.einsum("ijkl,kl->ij", windows, w)


# --- known mistakes -----------------------------------------------------------------------

def _ceil_size(n, k, stride=1, padding=0):
    _validate(n, k, stride, padding)
    return math.ceil((n + 2 * padding - k) / stride) + 1


def _checked(formula):
    """``formula(n, k, stride, padding)`` behind the contract's ValueError checks."""
    def wrong(n, k, stride=1, padding=0):
        _validate(n, k, stride, padding)
        return formula(n, k, stride, padding)
    return wrong


def _ceil_starts(n, k, stride=1, padding=0):
    count = math.ceil((n + 2 * padding - k) / stride) + 1
    return [i * stride for i in range(count)]


def _conv_ceil(x, w, stride=1, padding=0):
    """Loops over a ceil-sized output: the extra window is cut short and cannot multiply w."""
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    kh, kw = w.shape
    padded = np.pad(x, ((ph, ph), (pw, pw)))
    rows = math.ceil((padded.shape[0] - kh) / sh) + 1
    cols = math.ceil((padded.shape[1] - kw) / sw) + 1
    out = np.zeros((rows, cols))
    for i in range(rows):
        for j in range(cols):
            out[i, j] = np.sum(padded[i * sh:i * sh + kh, j * sw:j * sw + kw] * w)
    return out


def _conv_stride_left_out(x, w, stride=1, padding=0):
    """The right output size, but every window taken at (i, j) instead of (i·s, j·s)."""
    expected = conv2d_strided(x, w, stride, padding)
    dense = conv2d_strided(x, w, 1, padding)
    return dense[:expected.shape[0], :expected.shape[1]]


def _conv_padded_after(x, w, stride=1, padding=0):
    """Strided convolution of the unpadded input, then zeros put around the result."""
    ph, pw = pair(padding)
    if w.shape[0] > x.shape[0] or w.shape[1] > x.shape[1]:
        return np.full((1, 1), np.nan)  # this mistake cannot produce anything sensible here
    return np.pad(conv2d_strided(x, w, stride, 0), ((ph, ph), (pw, pw)))


def _conv_p_minus_p(x, w, stride=1, padding=0):
    """Pads by assigning into ``padded[p:-p, p:-p]``, an empty slice when p = 0."""
    ph, pw = pair(padding)
    padded = np.zeros((x.shape[0] + 2 * ph, x.shape[1] + 2 * pw))
    padded[ph:-ph, pw:-pw] = x
    return conv2d_strided(padded, w, stride, 0)


def _conv_size_without_padding(x, w, stride=1, padding=0):
    """Pads the input but sizes the output from the unpadded input."""
    (sh, sw) = pair(stride)
    rows = (x.shape[0] - w.shape[0]) // sh + 1
    cols = (x.shape[1] - w.shape[1]) // sw + 1
    return conv2d_strided(x, w, stride, padding)[:max(rows, 0), :max(cols, 0)]


def _swapped(value):
    a, b = pair(value)
    return (b, a)


EXERCISES = (
    Exercise(
        name="window_starts",
        notebook=NOTEBOOK,
        reference=window_starts,
        case_sets=(
            CaseSet("stride 2 and 3, no padding", 1, [
                Case((7, 3), {"stride": 2}),
                Case((8, 3), {"stride": 2}),
                Case((10, 3), {"stride": 3}),
            ]),
            CaseSet("with padding (padded coordinates)", 1, [
                Case((5, 3), {"stride": 2, "padding": 1}),
                Case((6, 3), {"stride": 2, "padding": 1}),
                Case((4, 2), {"stride": 1, "padding": 2}),
            ]),
            CaseSet("random sizes, strides and paddings (hidden)", 1, hidden=True,
                    cases=lambda rng: [_random_size_case(rng, limit=40) for _ in range(10)]),
        ),
        mistakes=(
            Mistake("stride left out",
                    "consecutive windows start s elements apart: 0, s, 2s, … — step the "
                    "start by the stride, not by 1.",
                    lambda n, k, stride=1, padding=0: list(range(0, n + 2 * padding - k + 1))),
            Mistake("ceil instead of floor", CEIL_HINT, _ceil_starts),
            Mistake("windows past the end",
                    "a window starting at i covers i … i + k − 1, so it fits only when "
                    "i + k <= n + 2p: the last possible start is n + 2p − k, not n + 2p − 1.",
                    lambda n, k, stride=1, padding=0: list(range(0, n + 2 * padding, stride))),
            Mistake("one window short",
                    "the last window may start exactly at n + 2p − k (it then ends on the "
                    "last element): include that start — range's stop is exclusive.",
                    lambda n, k, stride=1, padding=0: list(range(0, n + 2 * padding - k, stride))),
            Mistake("padding counted once", PADDING_ONCE_HINT,
                    lambda n, k, stride=1, padding=0: list(range(0, n + padding - k + 1, stride))),
            Mistake("padding left out",
                    "the windows slide over the padded input, n + 2p long: let the starts run "
                    "up to n + 2p − k, not n − k.",
                    lambda n, k, stride=1, padding=0: list(range(0, n - k + 1, stride))),
            Mistake("unpadded coordinates",
                    "give the starts in padded coordinates: the first window starts at 0, "
                    "the left edge of the padding, not at −p.",
                    lambda n, k, stride=1, padding=0:
                        [s - padding for s in window_starts(n, k, stride, padding)]),
        ),
    ),
    Exercise(
        name="ignored_border",
        notebook=NOTEBOOK,
        reference=ignored_border,
        case_sets=(
            CaseSet("stride 2 and 3, no padding", 1, [
                Case((7, 3), {"stride": 2}),
                Case((8, 3), {"stride": 2}),
                Case((10, 3), {"stride": 3}),
                Case((11, 2), {"stride": 4}),
                # Many windows: the remainder is neither the quotient nor (n + 2p) mod s.
                Case((20, 3), {"stride": 3}),
            ]),
            CaseSet("with padding", 1, [
                Case((5, 3), {"stride": 2, "padding": 1}),
                Case((6, 3), {"stride": 2, "padding": 1}),
                Case((9, 4), {"stride": 3, "padding": 2}),
            ]),
            CaseSet("random sizes, strides and paddings (hidden)", 1, hidden=True,
                    cases=lambda rng: [_random_size_case(rng) for _ in range(12)]),
        ),
        mistakes=(
            Mistake("padding counted once", PADDING_ONCE_HINT,
                    lambda n, k, stride=1, padding=0: (n + padding - k) % stride),
            Mistake("padding left out",
                    "the windows slide over the padded input, n + 2p long: the ignored "
                    "border is what is left of n + 2p − k after whole steps of s.",
                    lambda n, k, stride=1, padding=0: (n - k) % stride),
            Mistake("kernel left out",
                    "the last window ends k − 1 elements after it starts, so the room the "
                    "window moves in is n + 2p − k, not n + 2p.",
                    lambda n, k, stride=1, padding=0: (n + 2 * padding) % stride),
            Mistake("quotient instead of remainder",
                    "(n + 2p − k) // s is the number of steps; the leftover elements are "
                    "the remainder of that division, the % operator.",
                    lambda n, k, stride=1, padding=0: (n + 2 * padding - k) // stride),
        ),
    ),
    Exercise(
        name="conv_output_size",
        notebook=NOTEBOOK,
        reference=conv_output_size,
        case_sets=(
            CaseSet("worked examples (Dumoulin & Visin) and real networks", 1, [
                Case((5, 3), {"stride": 2}),
                Case((5, 3), {"stride": 2, "padding": 1}),
                Case((6, 3), {"stride": 2, "padding": 1}),
                Case((227, 11), {"stride": 4}),          # AlexNet conv1 → 55
                Case((224, 7), {"stride": 2, "padding": 3}),  # ResNet conv1 → 112
            ]),
            CaseSet("windows that do not fit exactly, and a kernel as large as the padded input",
                    1, [
                        Case((8, 3), {"stride": 3}),
                        Case((10, 4), {"stride": 3, "padding": 1}),
                        Case((7, 2), {"stride": 4}),
                        Case((4, 4)),
                        Case((3, 5), {"padding": 1}),
                    ]),
            CaseSet("invalid settings raise ValueError", 1, [
                Case((5, 0)),
                Case((5, 3), {"stride": 0}),
                Case((5, 3), {"padding": -1}),
                Case((3, 5)),
                Case((2, 7), {"stride": 2, "padding": 2}),
            ]),
            CaseSet("random sizes, strides and paddings (hidden)", 1, hidden=True,
                    cases=lambda rng: [_random_size_case(rng) for _ in range(12)]),
            CaseSet("random invalid settings (hidden)", 1, hidden=True,
                    cases=lambda rng: [_random_invalid_case(rng, kind) for kind in range(4)]),
        ),
        mistakes=(
            Mistake("ceil instead of floor", CEIL_HINT, _ceil_size),
            # Wrong formulas behind the right checks: a learner who refuses the impossible
            # settings is not told to add the checks they have.
            Mistake("padding counted once", PADDING_ONCE_HINT,
                    _checked(lambda n, k, stride, padding: (n + padding - k) // stride + 1)),
            Mistake("first window not counted",
                    "(n + 2p − k) // s counts the steps between windows; the window at "
                    "position 0 comes before the first step, so add 1.",
                    _checked(lambda n, k, stride, padding: (n + 2 * padding - k) // stride)),
            Mistake("stride left out",
                    "with stride s the window jumps s elements at a time, so only every s-th "
                    "position is used: divide the room the window has, n + 2p − k, by s.",
                    _checked(lambda n, k, stride, padding: n + 2 * padding - k + 1)),
            Mistake("no check for impossible settings",
                    "your formula is right, but the function must refuse settings no layer can "
                    "have: raise ValueError when k < 1, stride < 1, padding < 0 or "
                    "k > n + 2 * padding, before computing anything.",
                    lambda n, k, stride=1, padding=0: (n + 2 * padding - k) // stride + 1),
            Mistake("padding left out of the size check",
                    "padding makes room: a kernel larger than n still fits when k <= n + 2p. "
                    "Raise ValueError only when k > n + 2 * padding.",
                    lambda n, k, stride=1, padding=0: _raise_if(k > n, "kernel larger than n")
                    or conv_output_size(n, k, stride, padding)),
            Mistake("a kernel as large as the input refused",
                    "a kernel exactly as long as the padded input fits once: one output. "
                    "Raise ValueError only when k > n + 2p, not when k >= n + 2p.",
                    lambda n, k, stride=1, padding=0: _raise_if(k >= n + 2 * padding, "k >= n+2p")
                    or conv_output_size(n, k, stride, padding)),
        ),
    ),
    Exercise(
        name="conv2d_strided",
        notebook=NOTEBOOK,
        reference=conv2d_strided,
        case_sets=(
            CaseSet("worked example: stride 2, padding 1 (Dumoulin & Visin)", 1, [
                Case((DUMOULIN_X, DUMOULIN_W), {"stride": 2, "padding": 1}),
            ]),
            CaseSet("stride 1 and stride 2 without padding", 1, [
                Case((DUMOULIN_X, DUMOULIN_W)),
                Case((DUMOULIN_X, DUMOULIN_W), {"stride": 2}),
            ]),
            CaseSet("non-square input and kernel, pair stride and padding", 1, lambda rng: [
                Case((small_ints(rng, 6, 7), small_ints(rng, 3, 2)),
                     {"stride": (2, 3), "padding": (1, 2)}),
                Case((small_ints(rng, 4, 7), small_ints(rng, 2, 3)),
                     {"stride": 2, "padding": 1}),
            ]),
            CaseSet("random images, kernels, strides and paddings (hidden)", 3, hidden=True,
                    cases=lambda rng: [_random_conv_case(rng, i) for i in range(8)]),
        ),
        mistakes=(
            Mistake("stride left out of the slice",
                    "the output has the right size, but its values are the stride-1 ones: "
                    "output[i, j] is the window whose top-left corner is at (i·s, j·s) of the "
                    "padded input — multiply the indices by the stride when slicing.",
                    _conv_stride_left_out),
            Mistake("flipped kernel", FLIPPED_HINT,
                    lambda x, w, stride=1, padding=0:
                        conv2d_strided(x, w[::-1, ::-1], stride, padding)),
            Mistake("ceil instead of floor",
                    "your output has a row or column of windows too many, and the last "
                    "of them runs off the padded input (its slice is too short to multiply "
                    "by w). Size the output with floor((n + 2p − k) / s) + 1.",
                    _conv_ceil),
            Mistake("padding applied after striding",
                    "you padded the result instead of the input. Pad x with zeros first "
                    "(p on each side), then slide the kernel over the padded input.",
                    _conv_padded_after),
            Mistake("x[p:-p] at p = 0",
                    "with p = 0, the slice p:-p is 0:0 (−0 is 0), which is empty. Use "
                    "p:p + H (or np.pad) to place x inside the padded array.",
                    _conv_p_minus_p),
            Mistake("padding left out of the output size",
                    "you padded the input but computed the output size from the unpadded "
                    "one: use the padded length n + 2p in floor((n + 2p − k) / s) + 1.",
                    _conv_size_without_padding),
            Mistake("stride pair swapped",
                    "a pair stride is (vertical, horizontal): stride[0] moves down the rows "
                    "(axis 0), stride[1] along the columns (axis 1).",
                    lambda x, w, stride=1, padding=0:
                        conv2d_strided(x, w, _swapped(stride), padding)),
            Mistake("padding pair swapped",
                    "a pair padding is (vertical, horizontal): padding[0] rows of zeros go "
                    "above and below, padding[1] columns left and right.",
                    lambda x, w, stride=1, padding=0:
                        conv2d_strided(x, w, stride, _swapped(padding))),
        ),
    ),
)


def _raise_if(condition: bool, message: str) -> None:
    if condition:
        raise ValueError(message)


def _random_size_case(rng: np.random.Generator, limit: int = 300) -> Case:
    """A valid (n, k, stride, padding), often with (n + 2p − k) mod s != 0."""
    n = int(rng.integers(1, limit + 1))
    padding = int(rng.integers(0, 4))
    k = int(rng.integers(1, min(n + 2 * padding, 12) + 1))
    stride = int(rng.integers(1, 6))
    return Case((n, k), {"stride": stride, "padding": padding})


def _random_invalid_case(rng: np.random.Generator, kind: int) -> Case:
    n = int(rng.integers(1, 30))
    stride, padding = int(rng.integers(1, 4)), int(rng.integers(0, 3))
    if kind == 0:
        return Case((n, -int(rng.integers(0, 3))), {"stride": stride, "padding": padding})
    if kind == 1:
        return Case((n, 1), {"stride": -int(rng.integers(0, 3)), "padding": padding})
    if kind == 2:
        return Case((n, 1), {"stride": stride, "padding": -int(rng.integers(1, 3))})
    return Case((n, n + 2 * padding + int(rng.integers(1, 4))),
                {"stride": stride, "padding": padding})


def _random_size_or_pair(rng: np.random.Generator, low: int, high: int, pair_chance: float):
    if rng.random() < pair_chance:
        a, b = (int(v) for v in rng.integers(low, high + 1, size=2))
        return (a, b)
    return int(rng.integers(low, high + 1))


def _random_conv_case(rng: np.random.Generator, index: int) -> Case:
    """Odd and even, non-square inputs and kernels; int and pair strides and paddings."""
    h, w = (int(v) for v in rng.integers(3, 13, size=2))
    if h == w:
        w += 1
    kh, kw = int(rng.integers(1, min(h, 5) + 1)), int(rng.integers(1, min(w, 5) + 1))
    if kh == kw and kh > 1:
        kw -= 1
    stride = _random_size_or_pair(rng, 1, 3, pair_chance=0.5)
    padding = _random_size_or_pair(rng, 0, 2, pair_chance=0.4)
    if index == 0:      # the plain convolution: stride 1, no padding
        stride, padding = 1, 0
    elif index == 1:    # stride 2, no padding, windows that do not fit exactly
        stride, padding = 2, 0
        h += (h - kh) % 2 == 0
        w += (w - kw) % 2 == 0
    return Case((random_array(rng, h, w), random_array(rng, kh, kw)),
                {"stride": stride, "padding": padding})
