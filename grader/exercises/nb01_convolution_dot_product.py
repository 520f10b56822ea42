"""Notebook 01 — the sliding dot product: ``window_dot``, ``conv1d``, ``conv2d``.

The references are written differently from the solution notebook on purpose (numpy's
``correlate`` and ``sliding_window_view`` rather than loops), so testing the solutions
against them checks two independent implementations against each other.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from grader.exercises._common import DUMOULIN_W, DUMOULIN_X, random_array, small_ints
from grader.exercises._spec import Case, CaseSet, Exercise, Mistake

NOTEBOOK = "01_convolution_dot_product"

FLIPPED_HINT = (
    "your answer matches true convolution, which flips the kernel before sliding it. "
    "Deep-learning 'convolution' is cross-correlation: multiply each input value by the "
    "kernel value at the same offset, without reversing the kernel."
)


def window_dot(x: np.ndarray, w: np.ndarray, i: int, j: int) -> float:
    """Sum of ``w * x[i:i+kH, j:j+kW]``."""
    kh, kw = w.shape
    return float(np.tensordot(x[i:i + kh, j:j + kw], w, axes=2))


def conv1d(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Valid 1-D cross-correlation, stride 1."""
    return np.correlate(x, w, mode="valid")


def conv2d(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Valid 2-D cross-correlation, stride 1."""
    return np.einsum("ijkl,kl->ij", sliding_window_view(x, w.shape), w)


def _window_i_j_swapped(x, w, i, j):
    """``x[j:j+kH, i:i+kW]``, as learners slice it: ``np.sum`` of a broadcast product, so a
    window cut short by the edge broadcasts or raises as theirs does."""
    kh, kw = w.shape
    return float(np.sum(x[j:j + kh, i:i + kw] * w))


def _window_fixed_3x3(x, w, i, j):
    """A 3×3 slice whatever the kernel: a broadcast product, or ValueError."""
    return float(np.sum(x[i:i + 3, j:j + 3] * w))


def _window_loops_fixed_3x3(x, w, i, j):
    """Loops over ``range(3)`` whatever the kernel: IndexError when it is smaller."""
    total = 0.0
    for a in range(3):
        for b in range(3):
            total += x[i + a, j + b] * w[a, b]
    return total


def _random_window(rng: np.random.Generator) -> Case:
    h, w = rng.integers(3, 9, size=2)
    kh, kw = rng.integers(1, 4, size=2)
    kh, kw = min(kh, h), min(kw, w)
    # Favour the last valid positions: that is where slicing mistakes show.
    i = int(rng.choice([0, h - kh, rng.integers(0, h - kh + 1)]))
    j = int(rng.choice([0, w - kw, rng.integers(0, w - kw + 1)]))
    return Case((random_array(rng, h, w), random_array(rng, kh, kw), i, j))


def _random_signal(rng: np.random.Generator, k: int | None = None) -> Case:
    n = int(rng.integers(4, 21))
    k = int(rng.integers(2, min(n, 6) + 1)) if k is None else min(k, n)
    return Case((random_array(rng, n), random_array(rng, k)))


def _random_image(rng: np.random.Generator, square: bool) -> Case:
    h = int(rng.integers(3, 13))
    w = h if square else int(rng.integers(3, 13)) + (h % 2 == 0)  # odd and even, mixed
    kh, kw = int(rng.integers(1, min(h, 5) + 1)), int(rng.integers(1, min(w, 5) + 1))
    if kh == kw and kh > 1:
        kw -= 1
    return Case((random_array(rng, h, w), random_array(rng, kh, kw)))


EXERCISES = (
    Exercise(
        name="window_dot",
        notebook=NOTEBOOK,
        reference=window_dot,
        case_sets=(
            CaseSet("worked example (Dumoulin & Visin)", 1, [
                Case((DUMOULIN_X, DUMOULIN_W, 0, 0)),
                Case((DUMOULIN_X, DUMOULIN_W, 1, 2)),
            ]),
            CaseSet("non-square kernel at the last window; a 2×2 kernel inside the input", 1,
                    lambda rng: [
                        Case((small_ints(rng, 4, 5), small_ints(rng, 2, 3), 2, 2)),
                        # Away from the edges and not 3×3: a window whose size does not come
                        # from the kernel shows here, and i ≠ j shows swapped indices.
                        Case((small_ints(rng, 5, 6), small_ints(rng, 2, 2), 1, 3)),
                    ]),
            CaseSet("random windows (hidden)", 2, hidden=True, cases=lambda rng: [
                _random_window(rng) for _ in range(6)
            ]),
        ),
        mistakes=(
            Mistake("flipped kernel", FLIPPED_HINT,
                    lambda x, w, i, j: window_dot(x, w[::-1, ::-1], i, j)),
            Mistake("i and j swapped",
                    "`i` is the row (axis 0) and `j` the column (axis 1) of the window's "
                    "top-left corner: slice x[i:i+kH, j:j+kW].",
                    _window_i_j_swapped),
            Mistake("window size fixed at 3×3",
                    "your window is always 3×3, the size of the worked example's kernel. The "
                    "window has the kernel's size: take kH, kW from w.shape and slice "
                    "x[i:i+kH, j:j+kW].",
                    _window_fixed_3x3),
            Mistake("loops fixed at range(3)",
                    "your loops always run over 3 rows and 3 columns, the size of the worked "
                    "example's kernel. Loop over the kernel's own size: kH, kW = w.shape, then "
                    "range(kH) and range(kW).",
                    _window_loops_fixed_3x3),
        ),
    ),
    Exercise(
        name="conv1d",
        notebook=NOTEBOOK,
        reference=conv1d,
        case_sets=(
            CaseSet("a difference filter", 1, [
                Case((np.array([1.0, 4, 9, 16, 25]), np.array([-1.0, 1]))),
            ]),
            CaseSet("asymmetric kernel", 1, [
                Case((np.array([3.0, 1, 4, 1, 5, 9, 2, 6]), np.array([1.0, 2, 3]))),
            ]),
            CaseSet("kernel as long as the signal", 1, [
                Case((np.array([2.0, -1, 3]), np.array([1.0, 0, 2]))),
            ]),
            CaseSet("random signals and kernels (hidden)", 2, hidden=True, cases=lambda rng: [
                *(_random_signal(rng) for _ in range(5)),
                _random_signal(rng, k=1),
                _random_signal(rng, k=50),
            ]),
        ),
        mistakes=(
            Mistake("flipped kernel", FLIPPED_HINT,
                    lambda x, w: np.convolve(x, w, mode="valid")),
            Mistake("one window short",
                    "the last window starts at n − k, so there are n − k + 1 windows: "
                    "loop over range(n - k + 1), not range(n - k).",
                    lambda x, w: conv1d(x, w)[:-1]),
            Mistake("'full' output",
                    "your output has n + k − 1 values, as if x were padded with zeros. "
                    "Keep only windows that lie entirely inside x: n − k + 1 of them.",
                    lambda x, w: np.correlate(x, w, mode="full")),
            Mistake("'same' output",
                    "your output has n values, as if x were padded with zeros. Keep only "
                    "windows that lie entirely inside x: n − k + 1 of them.",
                    lambda x, w: np.correlate(x, w, mode="same")),
        ),
    ),
    Exercise(
        name="conv2d",
        notebook=NOTEBOOK,
        reference=conv2d,
        case_sets=(
            CaseSet("worked example (Dumoulin & Visin)", 1, [Case((DUMOULIN_X, DUMOULIN_W))]),
            CaseSet("non-square input and kernel", 1, lambda rng: [
                Case((small_ints(rng, 4, 6), small_ints(rng, 2, 3))),
            ]),
            CaseSet("1×1 kernel", 1, [
                Case((np.arange(12.0).reshape(3, 4), np.array([[2.0]]))),
            ]),
            CaseSet("random images and kernels (hidden)", 3, hidden=True, cases=lambda rng: [
                *(_random_image(rng, square=False) for _ in range(5)),
                _random_image(rng, square=True),
            ]),
        ),
        mistakes=(
            Mistake("flipped kernel", FLIPPED_HINT,
                    lambda x, w: conv2d(x, w[::-1, ::-1])),
            Mistake("one window short",
                    "your output is missing its last row and column. Along an axis of "
                    "length n there are n − k + 1 windows: range(n - k + 1).",
                    lambda x, w: conv2d(x, w)[:-1, :-1]),
            Mistake("one row of windows short",
                    "your output is missing its last row: there are H − kH + 1 rows of "
                    "windows, range(H - kH + 1).",
                    lambda x, w: conv2d(x, w)[:-1, :]),
            Mistake("one column of windows short",
                    "your output is missing its last column: there are W − kW + 1 columns "
                    "of windows, range(W - kW + 1).",
                    lambda x, w: conv2d(x, w)[:, :-1]),
        ),
    ),
)
