"""Notebook 03 — downsampling: ``subsample``, ``pool2d``, ``blur_downsample``.

The references are written differently from the solution notebook on purpose: index
arrays instead of slices, ``sliding_window_view`` instead of loops, and the binomial
blur as two separable 1-D passes instead of one 3×3 correlation.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from grader.exercises._common import pair, random_array, small_ints
from grader.exercises._spec import Case, CaseSet, Exercise, Mistake

NOTEBOOK = "03_downsampling"

POOL_MODES = ("max", "avg")
UNKNOWN_MODE_HINT = (
    "a mode other than 'max' or 'avg' must raise ValueError: check `mode` before pooling "
    "instead of treating every other value as one of the two."
)
BINOMIAL = np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0]) / 16
"""Zhang's (2019) 3×3 binomial blur, 'Tri-3': the outer product of [1, 2, 1] / 4 with itself."""


# --- references ---------------------------------------------------------------------------

def subsample(y: np.ndarray, stride) -> np.ndarray:
    """Rows 0, s, 2s, … and columns 0, s, 2s, … of ``y``."""
    sh, sw = pair(stride)
    return y[np.ix_(np.arange(0, y.shape[0], sh), np.arange(0, y.shape[1], sw))]


def pool2d(x: np.ndarray, size, stride=None, mode: str = "max") -> np.ndarray:
    """Max or average over windows of ``size``, moving by ``stride`` (default: ``size``)."""
    if mode not in POOL_MODES:
        raise ValueError(f"mode must be 'max' or 'avg', not {mode!r}")
    kh, kw = pair(size)
    sh, sw = pair(size if stride is None else stride)
    windows = sliding_window_view(x, (kh, kw))[::sh, ::sw]
    return windows.max(axis=(2, 3)) if mode == "max" else windows.mean(axis=(2, 3))


def _binomial_rows(a: np.ndarray) -> np.ndarray:
    """[1, 2, 1] / 4 along axis 0, valid: two rows shorter."""
    return (a[:-2] + 2 * a[1:-1] + a[2:]) / 4


def blur_downsample(x: np.ndarray, stride=2) -> np.ndarray:
    """Reflect-pad by 1, blur with the separable binomial filter, then subsample."""
    padded = np.pad(x, 1, mode="reflect")
    blurred = _binomial_rows(_binomial_rows(padded).T).T
    return subsample(blurred, stride)


# --- known mistakes -----------------------------------------------------------------------

def _subsample_unpacked(y, stride):
    return y[::stride, ::stride]  # a tuple stride raises TypeError


def _pool_ceil(x, size, stride=None, mode="max"):
    """Loops over a ceil-sized output; the edge windows are cut short, not dropped."""
    if mode not in POOL_MODES:
        raise ValueError(mode)
    kh, kw = pair(size)
    sh, sw = pair(size if stride is None else stride)
    # Like PyTorch's ceil_mode: a window may run off the edge, but must start inside.
    rows = min(math.ceil((x.shape[0] - kh) / sh) + 1, math.ceil(x.shape[0] / sh))
    cols = min(math.ceil((x.shape[1] - kw) / sw) + 1, math.ceil(x.shape[1] / sw))
    reduce = np.max if mode == "max" else np.mean
    return np.array([[reduce(x[i * sh:i * sh + kh, j * sw:j * sw + kw]) for j in range(cols)]
                     for i in range(rows)])


def _pool_loops(x, size, stride, mode):
    """Pooling as learners loop it: the output sized by the floor formula, also when the
    window does not fit (an empty output; ValueError for a negative size)."""
    if mode not in POOL_MODES:
        raise ValueError(f"mode must be 'max' or 'avg', not {mode!r}")
    kh, kw = pair(size)
    sh, sw = pair(stride)
    rows, cols = (x.shape[0] - kh) // sh + 1, (x.shape[1] - kw) // sw + 1
    out = np.zeros((rows, cols))
    reduce = np.max if mode == "max" else np.mean
    for i in range(rows):
        for j in range(cols):
            out[i, j] = reduce(x[i * sh:i * sh + kh, j * sw:j * sw + kw])
    return out


def _pool_stride_left_out(x, size, stride=None, mode="max"):
    expected = pool2d(x, size, stride, mode)
    dense = pool2d(x, size, 1, mode)
    return dense[:expected.shape[0], :expected.shape[1]]


def _swapped(value):
    a, b = pair(value)
    return (b, a)


def _blur(x, pad_mode="reflect", scale=1.0):
    padded = np.pad(x, 1, mode=pad_mode)
    return scale * sliding_window_view(padded, (3, 3)).reshape(*x.shape, 9) @ BINOMIAL.ravel()


EXERCISES = (
    Exercise(
        name="subsample",
        notebook=NOTEBOOK,
        reference=subsample,
        case_sets=(
            CaseSet("every second row and column", 1, [
                Case((np.arange(24.0).reshape(4, 6), 2)),
                Case((np.arange(35.0).reshape(5, 7), 3)),
            ]),
            CaseSet("pair strides, odd sizes", 1, [
                Case((np.arange(35.0).reshape(5, 7), (2, 3))),
                Case((np.arange(24.0).reshape(6, 4), (1, 2))),
            ]),
            CaseSet("random arrays and strides (hidden)", 1, hidden=True, cases=lambda rng: [
                _random_subsample_case(rng, i) for i in range(8)
            ]),
        ),
        mistakes=(
            Mistake("started at stride − 1",
                    "keep rows and columns 0, s, 2s, …: start at index 0, not at s − 1.",
                    lambda y, stride: y[pair(stride)[0] - 1::pair(stride)[0],
                                        pair(stride)[1] - 1::pair(stride)[1]]),
            Mistake("rows only",
                    "subsample both axes: every s-th row and every s-th column.",
                    lambda y, stride: y[::pair(stride)[0]]),
            Mistake("stride pair swapped",
                    "a pair stride is (vertical, horizontal): stride[0] picks rows (axis 0), "
                    "stride[1] picks columns (axis 1).",
                    lambda y, stride: subsample(y, _swapped(stride))),
            Mistake("pair stride not unpacked",
                    "`stride` may be an int or a pair (vertical, horizontal): turn it into "
                    "two ints first, then use one per axis.",
                    _subsample_unpacked),
            Mistake("stride left out",
                    "your output is the whole input: keep only every s-th row and column.",
                    lambda y, stride: np.array(y, copy=True)),
        ),
    ),
    Exercise(
        name="pool2d",
        notebook=NOTEBOOK,
        reference=pool2d,
        case_sets=(
            CaseSet("2×2 max pooling", 1, lambda rng: [
                Case((small_ints(rng, 4, 4, low=0, high=10), 2)),
                Case((small_ints(rng, 4, 6, low=-5, high=5), 2)),
            ]),
            CaseSet("average pooling with overlapping windows", 1, lambda rng: [
                Case((small_ints(rng, 5, 5, low=0, high=10), 3), {"stride": 2, "mode": "avg"}),
            ]),
            CaseSet("pair size and stride; leftover rows and columns are dropped", 1,
                    lambda rng: [
                        Case((small_ints(rng, 5, 7, low=0, high=10), (2, 3))),
                        Case((small_ints(rng, 7, 6, low=0, high=10), (3, 2)),
                             {"stride": (2, 1), "mode": "avg"}),
                    ]),
            CaseSet("an unknown mode raises ValueError", 1, [
                Case((np.arange(16.0).reshape(4, 4), 2), {"mode": "min"}),
                Case((np.arange(16.0).reshape(4, 4), 2), {"mode": "mean"}),
            ]),
            CaseSet("random inputs, sizes, strides and modes (hidden)", 2, hidden=True,
                    cases=lambda rng: [_random_pool_case(rng, i) for i in range(10)]),
        ),
        mistakes=(
            Mistake("stride defaulted to 1",
                    "when `stride` is None, the windows move by the pool size: 2×2 pooling "
                    "halves each side. Use stride = size when none is given.",
                    lambda x, size, stride=None, mode="max":
                        pool2d(x, size, 1 if stride is None else stride, mode)),
            Mistake("ceil instead of floor",
                    "your output keeps windows that are cut off at the bottom or right edge. "
                    "Pooling here has no padding: only whole windows count, "
                    "floor((n − k) / s) + 1 of them, and leftover rows and columns are dropped.",
                    _pool_ceil),
            Mistake("stride left out of the slice",
                    "the output has the right size but stride-1 values: the window of "
                    "output[i, j] starts at row i·s and column j·s.",
                    _pool_stride_left_out),
            Mistake("mode ignored",
                    "mode='avg' takes the mean of each window, mode='max' its maximum.",
                    lambda x, size, stride=None, mode="max": pool2d(x, size, stride, "max")
                    if mode in POOL_MODES else pool2d(x, size, stride, mode)),
            Mistake("size pair swapped",
                    "a pair size is (height, width): size[0] rows by size[1] columns.",
                    lambda x, size, stride=None, mode="max":
                        _pool_loops(x, _swapped(size),
                                    _swapped(size) if stride is None else stride, mode)),
            Mistake("stride pair swapped",
                    "a pair stride is (vertical, horizontal): stride[0] moves down the rows, "
                    "stride[1] along the columns.",
                    lambda x, size, stride=None, mode="max":
                        pool2d(x, size, _swapped(size if stride is None else stride), mode)),
            # Two ways to fall back on a mode: both are the same mistake.
            Mistake("unknown mode accepted", UNKNOWN_MODE_HINT,
                    lambda x, size, stride=None, mode="max":
                        pool2d(x, size, stride, "max" if mode == "max" else "avg")),
            Mistake("unknown mode accepted", UNKNOWN_MODE_HINT,
                    lambda x, size, stride=None, mode="max":
                        pool2d(x, size, stride, "avg" if mode == "avg" else "max")),
        ),
    ),
    Exercise(
        name="blur_downsample",
        notebook=NOTEBOOK,
        reference=blur_downsample,
        case_sets=(
            CaseSet("stride 2 on a small image", 1, lambda rng: [
                Case((small_ints(rng, 4, 6, low=0, high=9),)),
                Case((small_ints(rng, 5, 5, low=0, high=9),), {"stride": 2}),
            ]),
            CaseSet("stride 3 and a pair stride", 1, lambda rng: [
                Case((small_ints(rng, 7, 6, low=0, high=9),), {"stride": 3}),
                Case((small_ints(rng, 5, 8, low=0, high=9),), {"stride": (1, 2)}),
            ]),
            CaseSet("random images and strides (hidden)", 2, hidden=True, cases=lambda rng: [
                _random_blur_case(rng, i) for i in range(8)
            ]),
        ),
        mistakes=(
            Mistake("zero padding instead of reflect",
                    "pad with np.pad(x, 1, mode='reflect'): zeros darken the border, "
                    "mirrored values do not.",
                    lambda x, stride=2: subsample(_blur(x, "constant"), stride)),
            Mistake("edge padding instead of reflect",
                    "mode='edge' and mode='symmetric' repeat the border value; "
                    "mode='reflect' mirrors around it without repeating it: "
                    "[1, 2, 3] → [2, 1, 2, 3, 2].",
                    lambda x, stride=2: subsample(_blur(x, "edge"), stride)),
            Mistake("filter not normalised",
                    "the binomial filter is outer([1, 2, 1], [1, 2, 1]) / 16: its weights add "
                    "up to 1, so a flat image stays as bright as it was.",
                    lambda x, stride=2: subsample(_blur(x, scale=16.0), stride)),
            Mistake("subsampled before blurring",
                    "blur first, then subsample: once samples are dropped, the aliasing has "
                    "happened and no blur afterwards can undo it.",
                    lambda x, stride=2: _blur(subsample(x, stride))),
            Mistake("no padding",
                    "pad by 1 first (reflect), so the blurred image keeps the input's size "
                    "before it is subsampled.",
                    lambda x, stride=2: subsample(_blur(x)[1:-1, 1:-1], stride)),
            Mistake("not subsampled",
                    "after blurring, keep every stride-th row and column (your subsample).",
                    lambda x, stride=2: _blur(x)),
        ),
    ),
)


def _random_subsample_case(rng: np.random.Generator, index: int) -> Case:
    h, w = (int(v) for v in rng.integers(1, 14, size=2))
    if index == 0:
        h, w = 7, 10            # odd and even
    stride = (int(rng.integers(1, 5)) if index % 2 else
              tuple(int(v) for v in rng.integers(1, 5, size=2)))
    if index == 1:
        stride = max(h, w) + 1  # a stride longer than the array keeps one row and column
    return Case((random_array(rng, h, w), stride))


def _random_pool_case(rng: np.random.Generator, index: int) -> Case:
    """Windows that fit either way round (so a swapped pair still pools) and strides no longer
    than the window, as in networks: with gaps between windows, a ceil-sized output would end
    on empty windows, whose max raises and whose mean is nan — no evidence of anything."""
    h, w = (int(v) for v in rng.integers(2, 13, size=2))
    if h == w:
        w += 1
    fits = min(h, w, 4)
    if rng.random() < 0.5:
        size = int(rng.integers(1, fits + 1))
    else:
        size = (int(rng.integers(1, fits + 1)), int(rng.integers(1, fits + 1)))
    kh, kw = pair(size)
    choice = index % 3
    stride = (None if choice == 0 else int(rng.integers(1, min(kh, kw, 3) + 1)) if choice == 1
              else (int(rng.integers(1, min(kh, 3) + 1)), int(rng.integers(1, min(kw, 3) + 1))))
    mode = "max" if index % 2 == 0 else "avg"
    return Case((random_array(rng, h, w), size), {"stride": stride, "mode": mode})


def _random_blur_case(rng: np.random.Generator, index: int) -> Case:
    h, w = (int(v) for v in rng.integers(2, 16, size=2))
    if h == w:
        w += 1
    stride = (int(rng.integers(1, 5)) if index % 3 else
              tuple(int(v) for v in rng.integers(1, 4, size=2)))
    if index == 0:
        return Case((random_array(rng, h, w),))      # the default stride, 2
    return Case((random_array(rng, h, w),), {"stride": stride})
