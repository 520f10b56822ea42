"""Notebook 05 — what stride saves: ``conv_macs``, ``conv2d_fast``.

:func:`conv_macs` counts with the output size computed directly; the solution notebook
goes through its own helper. :func:`conv2d_fast` contracts a ``sliding_window_view`` with
``tensordot`` (the solution uses ``einsum``), and its correctness tests are notebook 04's,
so both notebooks' layers are held to the same standard. The speed test compares the
learner's CPU time with that of notebook 04's
:func:`~grader.exercises.nb04_feature_maps.conv2d_naive`, one ``np.sum`` per output value,
on the same cases (see :func:`_speed_cases`).

>>> conv_macs(5, 5, 1, 1, 3, stride=2, padding=1)   # 3×3 outputs, 9 MACs each
81
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from grader.exercises._common import pair, random_array
from grader.exercises._spec import Case, CaseSet, Exercise, Mistake, Speed
from grader.exercises.nb04_feature_maps import (CONV_LAYER_MISTAKES, conv2d_naive,
                                                conv_layer_case_sets, output_size)

NOTEBOOK = "05_efficiency"

Size = int | tuple[int, int]


def conv_macs(h: int, w: int, c_in: int, c_out: int, k: Size, stride: Size = 1,
              padding: Size = 0) -> int:
    """Multiply-accumulates of one layer on one image: ``H'·W'·c_out·c_in·kH·kW``."""
    (kh, kw), (sh, sw), (ph, pw) = pair(k), pair(stride), pair(padding)
    h_out, w_out = output_size(h, kh, sh, ph), output_size(w, kw, sw, pw)
    return int(h_out * w_out * c_out * c_in * kh * kw)


def conv2d_fast(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None,
                stride: Size = 1, padding: Size = 0) -> np.ndarray:
    """``conv2d_layer`` without a Python loop: windows as a view, one ``tensordot``."""
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    windows = sliding_window_view(xp, w.shape[2:], axis=(2, 3))[:, :, ::sh, ::sw]
    out = np.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3]))  # (N, H', W', C_out)
    out = out.transpose(0, 3, 1, 2)
    return out if b is None else out + b[:, None, None]


# --- known mistakes of conv_macs ------------------------------------------------------------

def _macs_with(h_out_of, k_factor=None, extra=0):
    """A wrong count: output sizes from ``h_out_of(n, k, s, p)``."""
    def wrong(h, w, c_in, c_out, k, stride=1, padding=0):
        (kh, kw), (sh, sw), (ph, pw) = pair(k), pair(stride), pair(padding)
        h_out, w_out = h_out_of(h, kh, sh, ph), h_out_of(w, kw, sw, pw)
        per_output = c_in * kh * kw if k_factor is None else k_factor(c_in, kh, kw)
        return int(h_out * w_out * c_out * per_output + extra * h_out * w_out * c_out)
    return wrong


def _macs_square(h, w, c_in, c_out, k, stride=1, padding=0):
    first = lambda v: v if isinstance(v, (int, np.integer)) else v[0]  # noqa: E731
    return conv_macs(h, w, c_in, c_out, first(k), first(stride), first(padding))


CONV_MACS_MISTAKES = (
    Mistake("input size instead of output size",
            "you counted one window per input pixel, H·W. Only H_out·W_out windows are "
            "computed, H_out = floor((H + 2p − kH) / s) + 1: that is where stride saves work.",
            _macs_with(lambda n, k, s, p: n)),
    Mistake("stride left out",
            "your count is the stride-1 count: with stride s only every s-th window is "
            "computed, floor((n + 2p − k) / s) + 1 of them along an axis.",
            _macs_with(lambda n, k, s, p: n + 2 * p - k + 1)),
    Mistake("output size taken as n / s",
            "n // s is only an approximation of the output size; the exact number of windows "
            "is floor((n + 2p − k) / s) + 1, with the kernel and padding included.",
            _macs_with(lambda n, k, s, p: n // s)),
    Mistake("ceil instead of floor",
            "a window that would stick out of the padded input is not computed: the output "
            "size uses floor((n + 2p − k) / s) + 1, not ceil.",
            _macs_with(lambda n, k, s, p: math.ceil((n + 2 * p - k) / s) + 1)),
    Mistake("padding on one side only",
            "padding p adds p pixels on each side, so an axis of length n becomes n + 2p.",
            _macs_with(lambda n, k, s, p: (n + p - k) // s + 1)),
    Mistake("input channels left out",
            "each output value is a sum over the whole window in every input channel: "
            "c_in·kH·kW multiply-accumulates, not kH·kW.",
            _macs_with(lambda n, k, s, p: (n + 2 * p - k) // s + 1,
                       k_factor=lambda c, kh, kw: kh * kw)),
    Mistake("bias counted",
            "the count excludes the bias: adding b is one addition per output value, not a "
            "multiply-accumulate. Count c_in·kH·kW per output value.",
            _macs_with(lambda n, k, s, p: (n + 2 * p - k) // s + 1, extra=1)),
    Mistake("pair used as a square",
            "k, stride and padding may be pairs (vertical, horizontal): use the first number "
            "for the height and the second for the width.", _macs_square),
)


# --- cases ----------------------------------------------------------------------------------

def _random_macs_case(rng: np.random.Generator, pairs: bool) -> Case:
    h, w = (int(v) for v in rng.integers(5, 230, size=2))
    c_in, c_out = int(rng.integers(1, 65)), int(rng.integers(1, 257))
    if pairs:
        k = (int(rng.integers(1, 8)), int(rng.integers(1, 8)))
        stride = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
        padding = (int(rng.integers(0, 4)), int(rng.integers(0, 4)))
        return Case((h, w, c_in, c_out, k), {"stride": stride, "padding": padding})
    k = int(rng.choice([1, 3, 5, 7]))
    return Case((h, w, c_in, c_out, k),
                {"stride": int(rng.integers(1, 5)), "padding": int(rng.integers(0, k // 2 + 1))})


def _speed_cases(rng: np.random.Generator) -> list[Case]:
    """Many output positions and little work at each: 1–2 images, 2–3 channels, 2 filters.

    A loop over output positions then runs Python code thousands of times whatever it
    vectorises inside (batch and filters are too few to help), so it stays within about 2×
    of the naive loop, while every loop-free implementation — a window view with ``einsum``
    or ``tensordot``, im2col with one matrix product, a loop over the 3×3 kernel offsets —
    uses 50 to 200 times less CPU time (measured: ``tests/test_nb05_efficiency.py``). The
    bar of 10× sits far from both, so the verdict does not depend on the machine or its load.
    """
    cases = []
    for (n, c, h, w), stride, padding in (((1, 3, 64, 64), 1, 1), ((1, 3, 96, 96), 2, 1),
                                          ((2, 2, 40, 56), 1, 0)):
        for _ in range(SPEED_DRAWS):  # fresh values each time: the fastest of each shape counts
            cases.append(Case((random_array(rng, n, c, h, w), random_array(rng, 2, c, 3, 3),
                               random_array(rng, 2)), {"stride": stride, "padding": padding}))
    return cases


SPEED_DRAWS = 3
"""Cases of each shape in the speed test; the least CPU time of them counts."""


SPEED_HINT = (
    "a loop over output positions (or over batch and channels) runs Python code thousands of "
    "times. Build every window at once as a view with numpy's sliding_window_view (over the "
    "last two axes), keep every s-th window, and contract the channel and kernel axes in one "
    "call: np.einsum with optimize=True, or np.tensordot."
)

EXERCISES = (
    Exercise(
        name="conv_macs",
        notebook=NOTEBOOK,
        reference=conv_macs,
        case_sets=(
            CaseSet("the worked examples (Dumoulin & Visin)", 1, [
                Case((5, 5, 1, 1, 3)),
                Case((5, 5, 1, 1, 3), {"stride": 2, "padding": 1}),
            ]),
            CaseSet("AlexNet conv1 and ResNet's first layer", 1, [
                Case((227, 227, 3, 96, 11), {"stride": 4}),
                Case((224, 224, 3, 64, 7), {"stride": 2, "padding": 3}),
            ]),
            CaseSet("non-square: pair kernel, stride and padding", 1, [
                Case((6, 9, 2, 4, (3, 2)), {"stride": (2, 3), "padding": (1, 0)}),
            ]),
            CaseSet("random layers (hidden)", 1, hidden=True, cases=lambda rng: [
                *(_random_macs_case(rng, pairs=False) for _ in range(5)),
                *(_random_macs_case(rng, pairs=True) for _ in range(5)),
            ]),
        ),
        mistakes=CONV_MACS_MISTAKES,
    ),
    Exercise(
        name="conv2d_fast",
        notebook=NOTEBOOK,
        reference=conv2d_fast,
        case_sets=(
            *conv_layer_case_sets(),
            CaseSet("10× less CPU time than the naive loop (hidden)", 2, hidden=True,
                    cases=_speed_cases,
                    speed=Speed(conv2d_naive, "the naive loop over output positions",
                                min_speedup=10, hint=SPEED_HINT, group=SPEED_DRAWS)),
        ),
        mistakes=CONV_LAYER_MISTAKES,
    ),
)

__all__ = ["EXERCISES", "NOTEBOOK", "conv2d_fast", "conv_macs"]
