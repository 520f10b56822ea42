"""A corpus of wrong implementations, written the way learners write them, and the hint each
must get: the one known mistake it makes, or no known mistake at all when its mistake is
unknown or it makes several at once.

Each variant is judged twice, as a learner meets it: by the check cell (``stridelab.check``,
public tests only, from the frozen files) and by grading (public and hidden tests of the
exercise for a few seeds, judged per test and named over the whole exercise). Every variant
must fail the public tests — a wrong function that the check cell passes is a gap — and
both judgements must give the expected hint.

The variants are not the exercises' ``Mistake`` implementations: they are loops, slices
and library calls as a learner writes them, so a ``Mistake`` that only matches its own
implementation, or cases that cannot tell two mistakes apart, show up here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from grader.exercises import all_exercises, exercise
from stridelab import Conv, Pool, as_pair, check
from stridelab.judging import judge_test, name_mistakes
from tests.test_exercises import outcomes_of

SEEDS = (4, 11, 2024)


# --- what a variant must be told ----------------------------------------------------------------

@dataclass(frozen=True)
class Named:
    """Every wrong answer is told this one known mistake, and no other."""

    name: str


@dataclass(frozen=True)
class Pair:
    """Two known mistakes at once, on different cases: the hint names both."""

    first: str
    second: str


@dataclass(frozen=True)
class Generic:
    """No known mistake fits, but the answer's form says what is wrong (a generic hint)."""

    start: str


NOTHING = None
"""No known mistake is named: the learner's mistake is not one the course knows."""


@dataclass(frozen=True)
class Variant:
    exercise: str
    function: Callable
    expect: Named | Pair | Generic | None

    @property
    def id(self) -> str:
        return f"{self.exercise}-{self.function.__name__}"


CORPUS: list[Variant] = []


def variant(name: str, expect: Named | Pair | Generic | None):
    """Register the decorated function as a wrong implementation of exercise ``name``."""
    def register(function: Callable) -> Callable:
        CORPUS.append(Variant(name, function, expect))
        return function
    return register


# =============================================================================================
# Notebook 01
# =============================================================================================

@variant("window_dot", Named("window size fixed at 3×3"))
def window_fixed_3x3(x, w, i, j):
    return float(np.sum(x[i:i + 3, j:j + 3] * w))


@variant("window_dot", Named("loops fixed at range(3)"))
def window_fixed_3x3_loops(x, w, i, j):
    total = 0.0
    for a in range(3):
        for b in range(3):
            total += x[i + a, j + b] * w[a, b]
    return total


@variant("window_dot", Named("flipped kernel"))
def window_flipped(x, w, i, j):
    kh, kw = w.shape
    return float(np.sum(x[i:i + kh, j:j + kw] * np.flip(w)))


@variant("window_dot", Named("i and j swapped"))
def window_i_j_swapped(x, w, i, j):
    kh, kw = w.shape
    return float(np.sum(x[j:j + kh, i:i + kw] * w))


@variant("window_dot", NOTHING)
def window_kh_kw_swapped(x, w, i, j):
    kw, kh = w.shape
    return float(np.sum(x[i:i + kh, j:j + kw] * w))


@variant("window_dot", NOTHING)
def window_one_short(x, w, i, j):
    kh, kw = w.shape
    total = 0.0
    for a in range(kh - 1):
        for b in range(kw - 1):
            total += x[i + a, j + b] * w[a, b]
    return total


@variant("conv1d", Named("one window short"))
def conv1d_range_short(x, w):
    n, k = len(x), len(w)
    out = np.zeros(n - k)
    for i in range(n - k):
        out[i] = np.sum(x[i:i + k] * w)
    return out


@variant("conv1d", Named("flipped kernel"))
def conv1d_numpy_convolve(x, w):
    return np.convolve(x, w, mode="valid")


@variant("conv1d", Named("flipped kernel"))
def conv1d_loop_reversed(x, w):
    k = len(w)
    return np.array([np.dot(x[i:i + k], w[::-1]) for i in range(len(x) - k + 1)])


@variant("conv1d", Named("'full' output"))
def conv1d_correlate_full(x, w):
    return np.correlate(x, w, mode="full")


@variant("conv1d", NOTHING)
def conv1d_output_as_long_as_x(x, w):
    n, k = len(x), len(w)
    out = np.zeros(n)
    for i in range(n - k + 1):
        out[i] = np.sum(x[i:i + k] * w)
    return out


@variant("conv1d", NOTHING)
def conv1d_convolve_same(x, w):
    return np.convolve(x, w, mode="same")


@variant("conv2d", Named("one window short"))
def conv2d_both_ranges_short(x, w):
    (h, wd), (kh, kw) = x.shape, w.shape
    out = np.zeros((h - kh, wd - kw))
    for i in range(h - kh):
        for j in range(wd - kw):
            out[i, j] = np.sum(x[i:i + kh, j:j + kw] * w)
    return out


@variant("conv2d", Named("one row of windows short"))
def conv2d_row_range_short(x, w):
    (h, wd), (kh, kw) = x.shape, w.shape
    out = np.zeros((h - kh, wd - kw + 1))
    for i in range(h - kh):
        for j in range(wd - kw + 1):
            out[i, j] = np.sum(x[i:i + kh, j:j + kw] * w)
    return out


@variant("conv2d", Named("flipped kernel"))
def conv2d_flipped(x, w):
    (h, wd), (kh, kw) = x.shape, w.shape
    flipped = w[::-1, ::-1]
    return np.array([[np.sum(x[i:i + kh, j:j + kw] * flipped) for j in range(wd - kw + 1)]
                     for i in range(h - kh + 1)])


@variant("conv2d", Generic("rows and columns swapped"))
def conv2d_loops_in_the_wrong_order(x, w):
    (h, wd), (kh, kw) = x.shape, w.shape
    return np.array([[np.sum(x[i:i + kh, j:j + kw] * w) for i in range(h - kh + 1)]
                     for j in range(wd - kw + 1)])


@variant("conv2d", NOTHING)
def conv2d_square_window(x, w):
    (h, wd), k = x.shape, w.shape[0]
    out = np.zeros((h - k + 1, wd - k + 1))
    for i in range(h - k + 1):
        for j in range(wd - k + 1):
            out[i, j] = np.sum(x[i:i + k, j:j + k] * w)
    return out


# =============================================================================================
# Notebook 02
# =============================================================================================

@variant("conv_output_size", Named("no check for impossible settings"))
def size_floor_without_checks(n, k, stride=1, padding=0):
    return (n + 2 * padding - k) // stride + 1


@variant("conv_output_size", Named("no check for impossible settings"))
def size_math_floor_without_checks(n, k, stride=1, padding=0):
    return math.floor((n + 2 * padding - k) / stride) + 1


@variant("conv_output_size", Named("ceil instead of floor"))
def size_ceil(n, k, stride=1, padding=0):
    if k < 1 or stride < 1 or padding < 0 or k > n + 2 * padding:
        raise ValueError("impossible layer")
    return math.ceil((n + 2 * padding - k) / stride) + 1


@variant("conv_output_size", Named("padding left out of the size check"))
def size_check_without_padding(n, k, stride=1, padding=0):
    if k < 1 or stride < 1 or padding < 0:
        raise ValueError("bad settings")
    if k > n:
        raise ValueError("kernel larger than the input")
    return (n + 2 * padding - k) // stride + 1


@variant("conv_output_size", Named("a kernel as large as the input refused"))
def size_refuses_a_kernel_that_just_fits(n, k, stride=1, padding=0):
    if k < 1 or stride < 1 or padding < 0 or k >= n + 2 * padding:
        raise ValueError("impossible layer")
    return (n + 2 * padding - k) // stride + 1


@variant("conv_output_size", Named("padding counted once"))
def size_padding_once(n, k, stride=1, padding=0):
    if k < 1 or stride < 1 or padding < 0 or k > n + 2 * padding:
        raise ValueError("impossible layer")
    return (n + padding - k) // stride + 1


@variant("conv_output_size", Named("first window not counted"))
def size_steps_only(n, k, stride=1, padding=0):
    if k < 1 or stride < 1 or padding < 0 or k > n + 2 * padding:
        raise ValueError("impossible layer")
    return (n + 2 * padding - k) // stride


@variant("conv_output_size", Generic("`/` always gives a float"))
def size_true_division(n, k, stride=1, padding=0):
    if k < 1 or stride < 1 or padding < 0 or k > n + 2 * padding:
        raise ValueError("impossible layer")
    return (n + 2 * padding - k) / stride + 1


@variant("conv_output_size", NOTHING)
def size_no_stride_check(n, k, stride=1, padding=0):
    if k < 1 or padding < 0 or k > n + 2 * padding:
        raise ValueError("impossible layer")
    return (n + 2 * padding - k) // stride + 1


@variant("conv_output_size", NOTHING)
def size_truncated_without_checks(n, k, stride=1, padding=0):
    return int((n + 2 * padding - k) / stride) + 1


@variant("window_starts", Named("padding left out"))
def starts_ignore_padding(n, k, stride=1, padding=0):
    return list(range(0, n - k + 1, stride))


@variant("window_starts", Named("stride left out"))
def starts_step_one(n, k, stride=1, padding=0):
    return [i for i in range(n + 2 * padding - k + 1)]


@variant("window_starts", Named("windows past the end"))
def starts_until_the_end(n, k, stride=1, padding=0):
    starts, i = [], 0
    while i < n + 2 * padding:
        starts.append(i)
        i += stride
    return starts


@variant("window_starts", Named("one window short"))
def starts_strict_while(n, k, stride=1, padding=0):
    starts, i = [], 0
    while i + k < n + 2 * padding:
        starts.append(i)
        i += stride
    return starts


@variant("window_starts", Named("ceil instead of floor"))
def starts_ceil_count(n, k, stride=1, padding=0):
    count = math.ceil((n + 2 * padding - k) / stride) + 1
    return [i * stride for i in range(count)]


@variant("window_starts", Named("unpadded coordinates"))
def starts_from_minus_p(n, k, stride=1, padding=0):
    return list(range(-padding, n + padding - k + 1, stride))


@variant("window_starts", Named("padding counted once"))
def starts_padding_once(n, k, stride=1, padding=0):
    return list(range(0, n + padding - k + 1, stride))


@variant("window_starts", NOTHING)
def starts_at_the_first_real_pixel(n, k, stride=1, padding=0):
    return list(range(padding, n + padding - k + 1, stride))


@variant("window_starts", NOTHING)
def starts_step_one_and_padding_once(n, k, stride=1, padding=0):
    return list(range(0, n + padding - k + 1))


@variant("ignored_border", Named("padding left out"))
def border_without_padding(n, k, stride=1, padding=0):
    return (n - k) % stride


@variant("ignored_border", Named("kernel left out"))
def border_without_kernel(n, k, stride=1, padding=0):
    return (n + 2 * padding) % stride


@variant("ignored_border", Named("quotient instead of remainder"))
def border_quotient(n, k, stride=1, padding=0):
    return (n + 2 * padding - k) // stride


@variant("ignored_border", Named("padding counted once"))
def border_padding_once(n, k, stride=1, padding=0):
    return (n + padding - k) % stride


@variant("ignored_border", NOTHING)
def border_gap_to_the_next_window(n, k, stride=1, padding=0):
    return stride - (n + 2 * padding - k) % stride


@variant("ignored_border", NOTHING)
def border_last_window_end_off_by_one(n, k, stride=1, padding=0):
    last = list(range(0, n + 2 * padding - k + 1, stride))[-1]
    return n + 2 * padding - (last + k - 1)


def _strided(x, w, stride, padding, *, slice_stride=True, flip=False, rounding=None,
             size_from_unpadded=False):
    """A learner's loop; the helper is shared only to keep the corpus short."""
    (sh, sw), (ph, pw) = as_pair(stride), as_pair(padding)
    kh, kw = w.shape
    xp = np.pad(x, ((ph, ph), (pw, pw)))
    n_h, n_w = (x.shape if size_from_unpadded else xp.shape)
    if rounding is None:
        rows, cols = (n_h - kh) // sh + 1, (n_w - kw) // sw + 1
    else:
        rows, cols = rounding((n_h - kh) / sh) + 1, rounding((n_w - kw) / sw) + 1
    if flip:
        w = w[::-1, ::-1]
    out = np.zeros((rows, cols))
    for i in range(rows):
        for j in range(cols):
            top, left = (i * sh, j * sw) if slice_stride else (i, j)
            out[i, j] = np.sum(xp[top:top + kh, left:left + kw] * w)
    return out


@variant("conv2d_strided", Named("stride left out of the slice"))
def strided_slice_without_stride(x, w, stride=1, padding=0):
    return _strided(x, w, stride, padding, slice_stride=False)


@variant("conv2d_strided", Named("flipped kernel"))
def strided_flipped(x, w, stride=1, padding=0):
    return _strided(x, w, stride, padding, flip=True)


@variant("conv2d_strided", Named("ceil instead of floor"))
def strided_ceil(x, w, stride=1, padding=0):
    return _strided(x, w, stride, padding, rounding=math.ceil)


@variant("conv2d_strided", Named("padding left out of the output size"))
def strided_size_from_unpadded(x, w, stride=1, padding=0):
    return _strided(x, w, stride, padding, size_from_unpadded=True)


@variant("conv2d_strided", Named("padding applied after striding"))
def strided_pad_the_result(x, w, stride=1, padding=0):
    (sh, sw), (ph, pw) = as_pair(stride), as_pair(padding)
    kh, kw = w.shape
    rows, cols = (x.shape[0] - kh) // sh + 1, (x.shape[1] - kw) // sw + 1
    out = np.zeros((rows, cols))
    for i in range(rows):
        for j in range(cols):
            out[i, j] = np.sum(x[i * sh:i * sh + kh, j * sw:j * sw + kw] * w)
    return np.pad(out, ((ph, ph), (pw, pw)))


@variant("conv2d_strided", Named("x[p:-p] at p = 0"))
def strided_p_minus_p(x, w, stride=1, padding=0):
    (sh, sw), (ph, pw) = as_pair(stride), as_pair(padding)
    kh, kw = w.shape
    xp = np.zeros((x.shape[0] + 2 * ph, x.shape[1] + 2 * pw))
    xp[ph:-ph, pw:-pw] = x
    rows, cols = (xp.shape[0] - kh) // sh + 1, (xp.shape[1] - kw) // sw + 1
    out = np.zeros((rows, cols))
    for i in range(rows):
        for j in range(cols):
            out[i, j] = np.sum(xp[i * sh:i * sh + kh, j * sw:j * sw + kw] * w)
    return out


@variant("conv2d_strided", Named("stride pair swapped"))
def strided_stride_read_backwards(x, w, stride=1, padding=0):
    sw, sh = as_pair(stride)
    return _strided(x, w, (sh, sw), padding)


@variant("conv2d_strided", Generic("rows and columns swapped"))
def strided_columns_outside(x, w, stride=1, padding=0):
    (sh, sw), (ph, pw) = as_pair(stride), as_pair(padding)
    kh, kw = w.shape
    xp = np.pad(x, ((ph, ph), (pw, pw)))
    rows, cols = (xp.shape[0] - kh) // sh + 1, (xp.shape[1] - kw) // sw + 1
    return np.array([[np.sum(xp[i * sh:i * sh + kh, j * sw:j * sw + kw] * w) for i in range(rows)]
                     for j in range(cols)])


@variant("conv2d_strided", NOTHING)
def strided_np_pad_with_the_pair(x, w, stride=1, padding=0):
    sh, sw = as_pair(stride)
    kh, kw = w.shape
    xp = np.pad(x, padding)   # a pair (1, 2) pads 1 before and 2 after, on both axes
    rows, cols = (xp.shape[0] - kh) // sh + 1, (xp.shape[1] - kw) // sw + 1
    return np.array([[np.sum(xp[i * sh:i * sh + kh, j * sw:j * sw + kw] * w)
                      for j in range(cols)] for i in range(rows)])


@variant("conv2d_strided", NOTHING)
def strided_flipped_and_slice_without_stride(x, w, stride=1, padding=0):
    return _strided(x, w, stride, padding, slice_stride=False, flip=True)


# =============================================================================================
# Notebook 03
# =============================================================================================

@variant("subsample", Named("pair stride not unpacked"))
def subsample_int_only(y, stride):
    return y[::stride, ::stride]


@variant("subsample", Named("started at stride − 1"))
def subsample_from_s_minus_1(y, stride):
    sh, sw = as_pair(stride)
    return y[sh - 1::sh, sw - 1::sw]


@variant("subsample", Named("rows only"))
def subsample_rows_only(y, stride):
    sh, sw = as_pair(stride)
    return y[::sh]


@variant("subsample", Named("stride pair swapped"))
def subsample_pair_backwards(y, stride):
    sw, sh = as_pair(stride)
    return y[::sh, ::sw]


@variant("subsample", NOTHING)
def subsample_rows_twice(y, stride):
    sh, sw = as_pair(stride)
    return y[::sh][::sw]


@variant("subsample", NOTHING)
def subsample_from_one(y, stride):
    sh, sw = as_pair(stride)
    return y[1::sh, 1::sw]


def _pool(x, size, stride, mode, *, reduce=None, rounding=None, slice_stride=True):
    kh, kw = as_pair(size)
    sh, sw = as_pair(stride)
    if rounding is None:
        rows, cols = (x.shape[0] - kh) // sh + 1, (x.shape[1] - kw) // sw + 1
    else:
        rows, cols = rounding((x.shape[0] - kh) / sh) + 1, rounding((x.shape[1] - kw) / sw) + 1
    reduce = reduce or (np.max if mode == "max" else np.mean)
    out = np.zeros((rows, cols))
    for i in range(rows):
        for j in range(cols):
            top, left = (i * sh, j * sw) if slice_stride else (i, j)
            out[i, j] = reduce(x[top:top + kh, left:left + kw])
    return out


def _mode_checked(mode):
    if mode not in ("max", "avg"):
        raise ValueError(f"unknown mode {mode!r}")


@variant("pool2d", Named("stride defaulted to 1"))
def pool_stride_defaults_to_one(x, size, stride=None, mode="max"):
    _mode_checked(mode)
    if stride is None:
        stride = 1
    return _pool(x, size, stride, mode)


@variant("pool2d", Named("stride left out of the slice"))
def pool_slice_without_stride(x, size, stride=None, mode="max"):
    _mode_checked(mode)
    return _pool(x, size, size if stride is None else stride, mode, slice_stride=False)


@variant("pool2d", Named("mode ignored"))
def pool_always_max(x, size, stride=None, mode="max"):
    _mode_checked(mode)
    return _pool(x, size, size if stride is None else stride, mode, reduce=np.max)


@variant("pool2d", Named("unknown mode accepted"))
def pool_else_means_average(x, size, stride=None, mode="max"):
    return _pool(x, size, size if stride is None else stride, mode)


@variant("pool2d", Named("unknown mode accepted"))
def pool_else_means_max(x, size, stride=None, mode="max"):
    reduce = np.mean if mode == "avg" else np.max
    return _pool(x, size, size if stride is None else stride, mode, reduce=reduce)


@variant("pool2d", Named("size pair swapped"))
def pool_size_backwards(x, size, stride=None, mode="max"):
    _mode_checked(mode)
    kw, kh = as_pair(size)
    return _pool(x, (kh, kw), (kh, kw) if stride is None else stride, mode)


@variant("pool2d", Named("ceil instead of floor"))
def pool_ceil(x, size, stride=None, mode="max"):
    _mode_checked(mode)
    return _pool(x, size, size if stride is None else stride, mode, rounding=math.ceil)


@variant("pool2d", NOTHING)
def pool_modes_exchanged(x, size, stride=None, mode="max"):
    _mode_checked(mode)
    return _pool(x, size, size if stride is None else stride, mode,
                 reduce=np.mean if mode == "max" else np.max)


@variant("blur_downsample", Named("zero padding instead of reflect"))
def blur_zero_padding(x, stride=2):
    return _blur_then_subsample(np.pad(x, 1), stride)


@variant("blur_downsample", Named("edge padding instead of reflect"))
def blur_symmetric_padding(x, stride=2):
    return _blur_then_subsample(np.pad(x, 1, mode="symmetric"), stride)


@variant("blur_downsample", Named("filter not normalised"))
def blur_unnormalised(x, stride=2):
    return _blur_then_subsample(np.pad(x, 1, mode="reflect"), stride, norm=1)


@variant("blur_downsample", Named("subsampled before blurring"))
def blur_after_subsampling(x, stride=2):
    sh, sw = as_pair(stride)
    return _blur_then_subsample(np.pad(x[::sh, ::sw], 1, mode="reflect"), 1)


@variant("blur_downsample", Named("not subsampled"))
def blur_only(x, stride=2):
    return _blur_then_subsample(np.pad(x, 1, mode="reflect"), 1)


@variant("blur_downsample", Named("no padding"))
def blur_unpadded(x, stride=2):
    return _blur_then_subsample(x, stride)


@variant("blur_downsample", NOTHING)
def blur_box_normalised_by_nine(x, stride=2):
    return _blur_then_subsample(np.pad(x, 1, mode="reflect"), stride, norm=9)


def _blur_then_subsample(padded, stride, norm=16):
    kernel = np.outer([1, 2, 1], [1, 2, 1]) / norm
    rows, cols = padded.shape[0] - 2, padded.shape[1] - 2
    blurred = np.zeros((rows, cols))
    for i in range(rows):
        for j in range(cols):
            blurred[i, j] = np.sum(padded[i:i + 3, j:j + 3] * kernel)
    sh, sw = as_pair(stride)
    return blurred[::sh, ::sw]


# =============================================================================================
# Notebooks 04 and 05: a layer, written as loops (conv2d_layer) or vectorised (conv2d_fast)
# =============================================================================================

def _layer_loops(x, w, b=None, stride=1, padding=0, *, bias="once", channels="all",
                 slice_stride=True, flip=False, rounding=None, pad=None, pairs="ok"):
    """The loop over output positions learners write; keywords switch on one slip each."""
    (sh, sw), (ph, pw) = as_pair(stride), as_pair(padding)
    if pairs == "backwards":
        (sw, sh), (pw, ph) = (sh, sw), (ph, pw)
    if pad == "np.pad(x, p)":
        xp = np.pad(x, padding)
    elif pad == "[p:-p]":
        xp = np.zeros((x.shape[0], x.shape[1], x.shape[2] + 2 * ph, x.shape[3] + 2 * pw))
        xp[:, :, ph:-ph, pw:-pw] = x
    else:
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n_images, c_in, h, wd = xp.shape
    c_out, _, kh, kw = w.shape
    if flip:
        w = w[:, :, ::-1, ::-1]
    if rounding is None:
        h_out, w_out = (h - kh) // sh + 1, (wd - kw) // sw + 1
    else:
        h_out, w_out = rounding((h - kh) / sh) + 1, rounding((wd - kw) / sw) + 1
    out = np.zeros((n_images, c_out, h_out, w_out))
    for n in range(n_images):
        for o in range(c_out):
            for i in range(h_out):
                for j in range(w_out):
                    top, left = (i * sh, j * sw) if slice_stride else (i, j)
                    window = xp[n, :, top:top + kh, left:left + kw]
                    if channels == "first":
                        value = np.sum(window[0] * w[o, 0])
                    elif channels == "mean":
                        value = np.mean([np.sum(window[c] * w[o, c]) for c in range(c_in)])
                    elif bias == "per channel" and b is not None:
                        value = sum(np.sum(window[c] * w[o, c]) + b[o] for c in range(c_in))
                    elif bias == "per product" and b is not None:
                        value = np.sum(window * w[o] + b[o])
                    else:
                        value = np.sum(window * w[o])
                    if bias == "once" and b is not None:
                        value += b[o]
                    out[n, o, i, j] = value
    if bias == "last axis" and b is not None:
        out = out + b
    return out


@variant("conv2d_layer", Named("padding added to the batch and channel axes"))
def layer_np_pad_every_axis(x, w, b=None, stride=1, padding=0):
    return _layer_loops(x, w, b, stride, padding, pad="np.pad(x, p)")


@variant("conv2d_layer", Named("only the first input channel counted"))
def layer_first_channel_only(x, w, b=None, stride=1, padding=0):
    return _layer_loops(x, w, b, stride, padding, channels="first")


@variant("conv2d_layer", Named("input channels averaged"))
def layer_channels_averaged(x, w, b=None, stride=1, padding=0):
    return _layer_loops(x, w, b, stride, padding, channels="mean")


@variant("conv2d_layer", Named("bias missing"))
def layer_bias_forgotten(x, w, b=None, stride=1, padding=0):
    return _layer_loops(x, w, b, stride, padding, bias="never")


@variant("conv2d_layer", Named("bias added once per input channel"))
def layer_bias_in_the_channel_loop(x, w, b=None, stride=1, padding=0):
    return _layer_loops(x, w, b, stride, padding, bias="per channel")


@variant("conv2d_layer", Named("bias added to every product"))
def layer_bias_inside_the_sum(x, w, b=None, stride=1, padding=0):
    return _layer_loops(x, w, b, stride, padding, bias="per product")


@variant("conv2d_layer", Named("bias broadcast along the wrong axis"))
def layer_bias_added_to_the_array(x, w, b=None, stride=1, padding=0):
    return _layer_loops(x, w, b, stride, padding, bias="last axis")


@variant("conv2d_layer", Named("stride left out of the window slice"))
def layer_slice_without_stride(x, w, b=None, stride=1, padding=0):
    return _layer_loops(x, w, b, stride, padding, slice_stride=False)


@variant("conv2d_layer", Named("stride ignored"))
def layer_stride_forgotten(x, w, b=None, stride=1, padding=0):
    return _layer_loops(x, w, b, 1, padding)


@variant("conv2d_layer", Named("flipped kernel"))
def layer_flipped(x, w, b=None, stride=1, padding=0):
    return _layer_loops(x, w, b, stride, padding, flip=True)


@variant("conv2d_layer", Named("ceil instead of floor"))
def layer_ceil(x, w, b=None, stride=1, padding=0):
    return _layer_loops(x, w, b, stride, padding, rounding=math.ceil)


@variant("conv2d_layer", Named("x[p:-p] at padding 0"))
def layer_p_minus_p(x, w, b=None, stride=1, padding=0):
    return _layer_loops(x, w, b, stride, padding, pad="[p:-p]")


@variant("conv2d_layer", Named("(vertical, horizontal) read backwards"))
def layer_pairs_backwards(x, w, b=None, stride=1, padding=0):
    return _layer_loops(x, w, b, stride, padding, pairs="backwards")


@variant("conv2d_layer", NOTHING)
def layer_bias_if_b(x, w, b=None, stride=1, padding=0):
    out = _layer_loops(x, w, None, stride, padding)
    if b:   # the truth value of an array of more than one element is ambiguous
        out += b[None, :, None, None]
    return out


@variant("conv2d_layer", NOTHING)
def layer_flipped_and_bias_forgotten(x, w, b=None, stride=1, padding=0):
    return _layer_loops(x, w, b, stride, padding, flip=True, bias="never")


@variant("conv2d_layer", Pair("bias missing", "x[p:-p] at padding 0"))
def layer_bias_forgotten_and_p_minus_p(x, w, b=None, stride=1, padding=0):
    return _layer_loops(x, w, b, stride, padding, bias="never", pad="[p:-p]")


def _fast(x, w, b=None, stride=1, padding=0, *, step=True, crop=True, bias="axis 1",
          flip=False, spec="nchwij,ocij->nohw"):
    (sh, sw), (ph, pw) = as_pair(stride), as_pair(padding)
    kh, kw = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    windows = sliding_window_view(xp, (kh, kw), axis=(2, 3))
    h_out, w_out = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    if step:
        windows = windows[:, :, ::sh, ::sw]
    if crop:
        windows = windows[:, :, :h_out, :w_out]
    out = np.einsum(spec, windows, w[:, :, ::-1, ::-1] if flip else w)
    if b is None:
        return out
    if bias == "axis 1":
        return out + b[None, :, None, None]
    if bias == "last axis":
        return out + b
    return out


@variant("conv2d_fast", Named("stride ignored"))
def fast_every_window(x, w, b=None, stride=1, padding=0):
    return _fast(x, w, b, stride, padding, step=False, crop=False)


@variant("conv2d_fast", Named("stride left out of the window slice"))
def fast_first_windows(x, w, b=None, stride=1, padding=0):
    return _fast(x, w, b, stride, padding, step=False)


@variant("conv2d_fast", Named("bias broadcast along the wrong axis"))
def fast_bias_plus(x, w, b=None, stride=1, padding=0):
    return _fast(x, w, b, stride, padding, bias="last axis")


@variant("conv2d_fast", Named("bias missing"))
def fast_no_bias(x, w, b=None, stride=1, padding=0):
    return _fast(x, w, b, stride, padding, bias="none")


@variant("conv2d_fast", Named("flipped kernel"))
def fast_flipped(x, w, b=None, stride=1, padding=0):
    return _fast(x, w, b, stride, padding, flip=True)


@variant("conv2d_fast", Named("only the first input channel counted"))
def fast_first_channel_only(x, w, b=None, stride=1, padding=0):
    (sh, sw), (ph, pw) = as_pair(stride), as_pair(padding)
    kh, kw = w.shape[2:]
    xp = np.pad(x[:, 0], ((0, 0), (ph, ph), (pw, pw)))     # "one image is (H, W)"
    windows = sliding_window_view(xp, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]
    out = np.einsum("nhwij,oij->nohw", windows, w[:, 0])
    return out if b is None else out + b[None, :, None, None]


@variant("conv2d_fast", Generic("rows and columns swapped"))
def fast_width_before_height(x, w, b=None, stride=1, padding=0):
    return _fast(x, w, b, stride, padding, spec="nchwij,ocij->nowh")


@variant("conv2d_fast", NOTHING)
def fast_weights_read_as_c_in_c_out(x, w, b=None, stride=1, padding=0):
    return _fast(x, w, b, stride, padding, spec="nchwij,coij->nohw")


# =============================================================================================
# Notebook 04: receptive field; notebook 05: MACs
# =============================================================================================

@variant("receptive_field", Named("jump left out"))
def rf_adds_k_minus_1(layers):
    size, jump = 1, 1
    for k, s in layers:
        size += k - 1
        jump *= s
    return size, jump


@variant("receptive_field", Named("jump updated before the size"))
def rf_jump_first(layers):
    size, jump = 1, 1
    for k, s in layers:
        jump *= s
        size += (k - 1) * jump
    return size, jump


@variant("receptive_field", Named("k instead of k − 1"))
def rf_adds_k(layers):
    size, jump = 1, 1
    for k, s in layers:
        size += k * jump
        jump *= s
    return size, jump


@variant("receptive_field", Named("started from 0"))
def rf_from_zero(layers):
    size, jump = 0, 1
    for k, s in layers:
        size += (k - 1) * jump
        jump *= s
    return size, jump


@variant("receptive_field", Named("size and jump swapped"))
def rf_jump_first_in_the_tuple(layers):
    size, jump = 1, 1
    for k, s in layers:
        size += (k - 1) * jump
        jump *= s
    return jump, size


@variant("receptive_field", NOTHING)
def rf_own_stride(layers):
    size, jump = 1, 1
    for k, s in layers:
        size += (k - 1) * s
        jump *= s
    return size, jump


@variant("receptive_field", NOTHING)
def rf_list_instead_of_tuple_and_from_zero(layers):
    size, jump = 0, 1
    for k, s in layers:
        size += k * jump
        jump *= s
    return [size, jump]


def _macs(h, w, c_in, c_out, k, stride=1, padding=0, *, out=None, per=None, extra=0):
    (kh, kw), (sh, sw), (ph, pw) = as_pair(k), as_pair(stride), as_pair(padding)
    out = out or (lambda n, k, s, p: (n + 2 * p - k) // s + 1)
    h_out, w_out = out(h, kh, sh, ph), out(w, kw, sw, pw)
    per_output = c_in * kh * kw if per is None else per(c_in, kh, kw)
    return h_out * w_out * c_out * (per_output + extra)


@variant("conv_macs", Named("input size instead of output size"))
def macs_input_size(h, w, c_in, c_out, k, stride=1, padding=0):
    return _macs(h, w, c_in, c_out, k, stride, padding, out=lambda n, k, s, p: n)


@variant("conv_macs", Named("stride left out"))
def macs_stride_one(h, w, c_in, c_out, k, stride=1, padding=0):
    return _macs(h, w, c_in, c_out, k, stride, padding, out=lambda n, k, s, p: n + 2 * p - k + 1)


@variant("conv_macs", Named("output size taken as n / s"))
def macs_n_over_s(h, w, c_in, c_out, k, stride=1, padding=0):
    return _macs(h, w, c_in, c_out, k, stride, padding, out=lambda n, k, s, p: n // s)


@variant("conv_macs", Named("ceil instead of floor"))
def macs_ceil(h, w, c_in, c_out, k, stride=1, padding=0):
    return _macs(h, w, c_in, c_out, k, stride, padding,
                 out=lambda n, k, s, p: math.ceil((n + 2 * p - k) / s) + 1)


@variant("conv_macs", Named("input channels left out"))
def macs_kernel_area_only(h, w, c_in, c_out, k, stride=1, padding=0):
    return _macs(h, w, c_in, c_out, k, stride, padding, per=lambda c, kh, kw: kh * kw)


@variant("conv_macs", Named("bias counted"))
def macs_with_bias(h, w, c_in, c_out, k, stride=1, padding=0):
    return _macs(h, w, c_in, c_out, k, stride, padding, extra=1)


@variant("conv_macs", Named("padding on one side only"))
def macs_padding_once(h, w, c_in, c_out, k, stride=1, padding=0):
    return _macs(h, w, c_in, c_out, k, stride, padding,
                 out=lambda n, k, s, p: (n + p - k) // s + 1)


@variant("conv_macs", Generic("`/` always gives a float"))
def macs_true_division(h, w, c_in, c_out, k, stride=1, padding=0):
    (kh, kw), (sh, sw), (ph, pw) = as_pair(k), as_pair(stride), as_pair(padding)
    h_out = (h + 2 * ph - kh) // sh + 1
    w_out = (w + 2 * pw - kw) // sw + 1
    return h_out * w_out * c_out * c_in * kh * kw / 1   # a float, though the right number


@variant("conv_macs", NOTHING)
def macs_ints_only(h, w, c_in, c_out, k, stride=1, padding=0):
    h_out = (h + 2 * padding - k) // stride + 1     # TypeError for a pair
    w_out = (w + 2 * padding - k) // stride + 1
    return h_out * w_out * c_out * c_in * k * k


# =============================================================================================
# Notebook 06
# =============================================================================================

def _trace(input_shape, layers, *, floor=True, pool_default=None, pad_factor=2,
           pad_after=False, backwards=False, keep_channels=False, pool_padding=True):
    c, h, w = input_shape
    shapes = []
    for layer in layers:
        (kh, kw) = as_pair(layer.kernel)
        stride = layer.stride
        if stride is None:
            stride = layer.kernel if pool_default is None else pool_default
        (sh, sw), (ph, pw) = as_pair(stride), as_pair(layer.padding)
        if isinstance(layer, Pool) and not pool_padding:
            ph = pw = 0
        if backwards:
            (kw, kh), (sw, sh), (pw, ph) = (kh, kw), (sh, sw), (ph, pw)

        def size(n, k, s, p):
            if pad_after:
                return (n - k) // s + 1 + 2 * p
            room = n + pad_factor * p - k
            return room // s + 1 if floor else math.ceil(room / s) + 1

        h, w = size(h, kh, sh, ph), size(w, kw, sw, pw)
        if isinstance(layer, Conv) and not keep_channels:
            c = layer.out_channels
        shapes.append((c, h, w))
    return shapes


@variant("trace_shapes", Named("ceil instead of floor"))
def trace_ceil(input_shape, layers):
    return _trace(input_shape, layers, floor=False)


@variant("trace_shapes", Named("pool stride defaulting to 1"))
def trace_pool_stride_or_one(input_shape, layers):
    return _trace(input_shape, layers, pool_default=1)


@variant("trace_shapes", NOTHING)
def trace_ceil_for_pools_only(input_shape, layers):
    """Caffe's rounding: ceil for pooling layers, floor for convolutions."""
    shapes, shape = [], tuple(input_shape)
    for layer in layers:
        shape = _trace(shape, [layer], floor=isinstance(layer, Conv))[0]
        shapes.append(shape)
    return shapes


@variant("trace_shapes", Named("padding counted once"))
def trace_padding_once(input_shape, layers):
    return _trace(input_shape, layers, pad_factor=1)


@variant("trace_shapes", Named("padding applied after striding"))
def trace_pad_after(input_shape, layers):
    return _trace(input_shape, layers, pad_after=True)


@variant("trace_shapes", Named("rows and columns swapped"))
def trace_pairs_backwards(input_shape, layers):
    return _trace(input_shape, layers, backwards=True)


@variant("trace_shapes", Named("channels not set by Conv"))
def trace_channels_kept(input_shape, layers):
    return _trace(input_shape, layers, keep_channels=True)


@variant("trace_shapes", Named("the input shape included"))
def trace_with_input(input_shape, layers):
    return [tuple(input_shape), *_trace(input_shape, layers)]


@variant("trace_shapes", Named("pool padding ignored"))
def trace_pool_padding_ignored(input_shape, layers):
    return _trace(input_shape, layers, pool_padding=False)


def _total(input_shape, layers, *, pools=False, positions="out", c_in="current",
           area="kh*kw", bias=False, **trace):
    shapes = [tuple(input_shape), *_trace(input_shape, layers, **trace)]
    total = 0
    for before, after, layer in zip(shapes, shapes[1:], layers):
        kh, kw = as_pair(layer.kernel)
        if isinstance(layer, Pool):
            if pools:
                total += after[0] * after[1] * after[2] * kh * kw
            continue
        channels = before[0] if c_in == "current" else input_shape[0]
        where = after[1] * after[2] if positions == "out" else before[1] * before[2]
        k_area = kh * kw if area == "kh*kw" else kh * kh
        total += where * layer.out_channels * channels * k_area
        if bias:
            total += after[1] * after[2] * layer.out_channels
    return total


@variant("total_macs", Named("pooling counted"))
def total_pools_too(input_shape, layers):
    return _total(input_shape, layers, pools=True)


@variant("total_macs", Named("input size instead of output size"))
def total_input_positions(input_shape, layers):
    return _total(input_shape, layers, positions="in")


@variant("total_macs", Named("input channels not tracked"))
def total_network_input_channels(input_shape, layers):
    return _total(input_shape, layers, c_in="input")


@variant("total_macs", Named("bias counted"))
def total_bias(input_shape, layers):
    return _total(input_shape, layers, bias=True)


@variant("total_macs", Named("ceil instead of floor"))
def total_ceil(input_shape, layers):
    return _total(input_shape, layers, floor=False)


@variant("total_macs", NOTHING)
def total_kernel_height_squared(input_shape, layers):
    return _total(input_shape, layers, area="kh*kh")


@variant("total_macs", NOTHING)
def total_out_channels_for_pools(input_shape, layers):
    total, (c, h, w) = 0, input_shape
    for layer in layers:
        (kh, kw), (sh, sw) = as_pair(layer.kernel), as_pair(layer.stride or layer.kernel)
        ph, pw = as_pair(layer.padding)
        h, w = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
        total += h * w * layer.out_channels * c * kh * kw   # AttributeError on a Pool
        c = layer.out_channels
    return total


# =============================================================================================
# Notebook 07
# =============================================================================================

@variant("dilate", Named("trailing zeros"))
def dilate_kron(g, stride):
    sh, sw = as_pair(stride)
    spot = np.zeros((sh, sw))
    spot[0, 0] = 1
    return np.kron(g, spot)


@variant("dilate", Named("stride zeros instead of stride − 1"))
def dilate_stride_zeros(g, stride):
    sh, sw = as_pair(stride)
    h, w = g.shape[-2:]
    out = np.zeros(g.shape[:-2] + ((h - 1) * (sh + 1) + 1, (w - 1) * (sw + 1) + 1))
    out[..., ::sh + 1, ::sw + 1] = g
    return out


@variant("dilate", Named("rows and columns swapped"))
def dilate_pair_backwards(g, stride):
    sw, sh = as_pair(stride)
    h, w = g.shape[-2:]
    out = np.zeros(g.shape[:-2] + ((h - 1) * sh + 1, (w - 1) * sw + 1))
    out[..., ::sh, ::sw] = g
    return out


@variant("dilate", NOTHING)
def dilate_two_dimensional_only(g, stride):
    sh, sw = as_pair(stride)
    h, w = g.shape
    out = np.zeros(((h - 1) * sh + 1, (w - 1) * sw + 1))
    out[::sh, ::sw] = g
    return out


def _backward(dout, x, w, stride=1, padding=0, *, dx_assign=False, dw_assign=False,
              slice_stride=True, flip=False, crop="size", db="sum", dx_rows="x"):
    """The window-by-window backward pass learners write; keywords switch on one slip each."""
    (sh, sw), (ph, pw) = as_pair(stride), as_pair(padding)
    n_images, c_in, h, wd = x.shape
    c_out, _, kh, kw = w.shape
    h_out, w_out = dout.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    if dx_rows == "x":
        dxp = np.zeros_like(xp)
    else:   # sized from the windows: as if they tiled the padded input exactly
        dxp = np.zeros((n_images, c_in, (h_out - 1) * sh + kh, (w_out - 1) * sw + kw))
    dw = np.zeros_like(w)
    w_dx = w[:, :, ::-1, ::-1] if flip else w
    for n in range(n_images):
        for o in range(c_out):
            for i in range(h_out):
                for j in range(w_out):
                    top, left = (i * sh, j * sw) if slice_stride else (i, j)
                    g = dout[n, o, i, j]
                    if dx_assign:
                        dxp[n, :, top:top + kh, left:left + kw] = g * w_dx[o]
                    else:
                        dxp[n, :, top:top + kh, left:left + kw] += g * w_dx[o]
                    if dw_assign:
                        dw[o] = g * xp[n, :, top:top + kh, left:left + kw]
                    else:
                        dw[o] += g * xp[n, :, top:top + kh, left:left + kw]
    if crop == "size":
        dx = dxp[:, :, ph:ph + h, pw:pw + wd]
    elif crop == "none":
        dx = dxp
    elif crop == "[p:-p]":
        dx = dxp[:, :, ph:-ph, pw:-pw]
    else:   # both sides by p, from the end of the array
        dx = dxp[:, :, ph:dxp.shape[2] - ph, pw:dxp.shape[3] - pw]
    db_value = {"sum": dout.sum(axis=(0, 2, 3)), "per image": dout.sum(axis=(2, 3)),
                "mean": dout.mean(axis=(0, 2, 3))}[db]
    return dx, dw, db_value


@variant("conv2d_backward", Named("gradients overwritten instead of accumulated"))
def backward_dx_assigned(dout, x, w, stride=1, padding=0):
    return _backward(dout, x, w, stride, padding, dx_assign=True)


@variant("conv2d_backward", Named("dw overwritten instead of accumulated"))
def backward_dw_assigned(dout, x, w, stride=1, padding=0):
    return _backward(dout, x, w, stride, padding, dw_assign=True)


@variant("conv2d_backward", Named("backward valid only when the windows tile exactly"))
def backward_sized_from_the_windows(dout, x, w, stride=1, padding=0):
    return _backward(dout, x, w, stride, padding, dx_rows="windows", crop="both sides")


@variant("conv2d_backward", Named("db not summed over batch and positions"))
def backward_db_per_image(dout, x, w, stride=1, padding=0):
    return _backward(dout, x, w, stride, padding, db="per image")


@variant("conv2d_backward", Named("db averaged instead of summed"))
def backward_db_mean(dout, x, w, stride=1, padding=0):
    return _backward(dout, x, w, stride, padding, db="mean")


@variant("conv2d_backward", Named("non-flipped kernel in the input gradient"))
def backward_scatter_flipped(dout, x, w, stride=1, padding=0):
    return _backward(dout, x, w, stride, padding, flip=True)


@variant("conv2d_backward", Named("the stride left out of the window slice"))
def backward_slice_without_stride(dout, x, w, stride=1, padding=0):
    return _backward(dout, x, w, stride, padding, slice_stride=False)


@variant("conv2d_backward", Named("padding not removed from dx"))
def backward_padded_dx(dout, x, w, stride=1, padding=0):
    return _backward(dout, x, w, stride, padding, crop="none")


@variant("conv2d_backward", Named("padding stripped with [p:-p]"))
def backward_p_minus_p(dout, x, w, stride=1, padding=0):
    return _backward(dout, x, w, stride, padding, crop="[p:-p]")


@variant("conv2d_backward", Named("dx short where no window reaches"))
def backward_as_a_full_correlation(dout, x, w, stride=1, padding=0):
    """dx as the full correlation of the dilated gradient with the flipped kernel (the
    notebook's way), cropped by p: right when the rows no window reaches lie in the padding,
    short otherwise."""
    (sh, sw), (ph, pw) = as_pair(stride), as_pair(padding)
    kh, kw = w.shape[2:]
    n_images, c_out, h_out, w_out = dout.shape
    spread = np.zeros((n_images, c_out, (h_out - 1) * sh + 1, (w_out - 1) * sw + 1))
    spread[:, :, ::sh, ::sw] = dout
    framed = np.pad(spread, ((0, 0), (0, 0), (kh - 1, kh - 1), (kw - 1, kw - 1)))
    windows = sliding_window_view(framed, (kh, kw), axis=(2, 3))
    dx_full = np.einsum("nohwij,ocij->nchw", windows, w[:, :, ::-1, ::-1])
    dx = dx_full[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]
    _, dw, db = _backward(dout, x, w, stride, padding)
    return dx, dw, db


@variant("conv2d_backward", Named("backward valid only when the windows tile exactly"))
def backward_all_by_correlation(dout, x, w, stride=1, padding=0):
    """dx as above, and dw as the correlation of the whole padded input with the dilated
    gradient: kH + r rows when r rows are reached by no window."""
    (sh, sw), (ph, pw) = as_pair(stride), as_pair(padding)
    dx, _, db = backward_as_a_full_correlation(dout, x, w, stride, padding)
    n_images, c_out, h_out, w_out = dout.shape
    spread = np.zeros((n_images, c_out, (h_out - 1) * sh + 1, (w_out - 1) * sw + 1))
    spread[:, :, ::sh, ::sw] = dout
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    windows = sliding_window_view(xp, spread.shape[2:], axis=(2, 3))
    return dx, np.einsum("ncabij,noij->ocab", windows, spread), db


@variant("conv2d_backward", NOTHING)
def backward_dx_assigned_and_db_mean(dout, x, w, stride=1, padding=0):
    return _backward(dout, x, w, stride, padding, dx_assign=True, db="mean")


@variant("conv2d_backward", NOTHING)
def backward_dw_without_dilation(dout, x, w, stride=1, padding=0):
    dx, _, db = _backward(dout, x, w, stride, padding)
    ph, pw = as_pair(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    kh, kw = w.shape[2:]
    windows = sliding_window_view(xp, dout.shape[2:], axis=(2, 3))[:, :, :kh, :kw]
    return dx, np.einsum("ncabij,noij->ocab", windows, dout), db


def _stamp(x, w, stride=1, padding=0, *, assign=False, crop="size", flip=False):
    (sh, sw), (ph, pw) = as_pair(stride), as_pair(padding)
    n_images, c_in, h, wd = x.shape
    _, c_out, kh, kw = w.shape
    if flip:
        w = w[:, :, ::-1, ::-1]
    full = np.zeros((n_images, c_out, (h - 1) * sh + kh, (wd - 1) * sw + kw))
    for n in range(n_images):
        for i in range(h):
            for j in range(wd):
                stamp = np.einsum("c,cokl->okl", x[n, :, i, j], w)
                if assign:
                    full[n, :, i * sh:i * sh + kh, j * sw:j * sw + kw] = stamp
                else:
                    full[n, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += stamp
    if crop == "none":
        return full
    if crop == "[p:-p]":
        return full[:, :, ph:-ph, pw:-pw]
    if crop == "pad":
        return np.pad(full, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    if crop == "start only":
        return full[:, :, ph:, pw:]
    return full[:, :, ph:full.shape[2] - ph, pw:full.shape[3] - pw]


@variant("conv_transpose2d", Named("overlaps overwritten instead of added"))
def transpose_assigned(x, w, stride=1, padding=0):
    return _stamp(x, w, stride, padding, assign=True)


@variant("conv_transpose2d", Named("padding not removed"))
def transpose_uncropped(x, w, stride=1, padding=0):
    return _stamp(x, w, stride, padding, crop="none")


@variant("conv_transpose2d", Named("padding stripped with [p:-p]"))
def transpose_p_minus_p(x, w, stride=1, padding=0):
    return _stamp(x, w, stride, padding, crop="[p:-p]")


@variant("conv_transpose2d", Named("padding added instead of removed"))
def transpose_padded(x, w, stride=1, padding=0):
    return _stamp(x, w, stride, padding, crop="pad")


@variant("conv_transpose2d", Named("kernel not flipped"))
def transpose_as_convolution_without_flip(x, w, stride=1, padding=0):
    return _stamp(x, w, stride, padding, flip=True)


@variant("conv_transpose2d", NOTHING)
def transpose_cropped_at_the_start_only(x, w, stride=1, padding=0):
    return _stamp(x, w, stride, padding, crop="start only")


def _pool_back(dout, x, size, stride=None, mode="max", *, pick="first", assign=False,
               divide=True, default=None, slice_stride=True):
    """Pooling's backward pass as learners loop it; keywords switch on one slip each."""
    kh, kw = as_pair(size)
    sh, sw = as_pair((size if default is None else default) if stride is None else stride)
    dx = np.zeros_like(x, dtype=float)
    for i in range(dout.shape[0]):
        for j in range(dout.shape[1]):
            r, c = (i * sh, j * sw) if slice_stride else (i, j)
            window = x[r:r + kh, c:c + kw]
            if mode == "avg":
                part = np.ones(window.shape) * dout[i, j] / ((kh * kw) if divide else 1)
            elif pick == "mask":                       # window == max marks every tie
                part = (window == np.max(window)) * dout[i, j]
            elif pick == "all":
                part = np.ones(window.shape) * dout[i, j]
            else:
                part = np.zeros(window.shape)
                best = (0, 0)
                for a in range(window.shape[0]):
                    for b in range(window.shape[1]):
                        better = window[a, b] >= window[best] if pick == "last" else \
                            window[a, b] > window[best]
                        if better:
                            best = (a, b)
                part[best] = dout[i, j]
            if assign:
                dx[r:r + kh, c:c + kw] = part
            else:
                dx[r:r + kh, c:c + kw] += part
    return dx


@variant("pool2d_backward", Named("gradient sent to every tied maximum"))
def pool_back_mask(dout, x, size, stride=None, mode="max"):
    return _pool_back(dout, x, size, stride, mode, pick="mask")


@variant("pool2d_backward", Named("gradient sent to the last of tied maxima"))
def pool_back_greater_or_equal(dout, x, size, stride=None, mode="max"):
    return _pool_back(dout, x, size, stride, mode, pick="last")


@variant("pool2d_backward", Named("gradient sent to the last of tied maxima"))
def pool_back_reversed_argmax(dout, x, size, stride=None, mode="max"):
    kh, kw = as_pair(size)
    sh, sw = as_pair(size if stride is None else stride)
    dx = np.zeros(x.shape)
    for i in range(dout.shape[0]):
        for j in range(dout.shape[1]):
            window = x[i * sh:i * sh + kh, j * sw:j * sw + kw]
            if mode == "avg":
                dx[i * sh:i * sh + kh, j * sw:j * sw + kw] += dout[i, j] / window.size
                continue
            last = window.size - 1 - np.argmax(window.ravel()[::-1])
            a, b = divmod(int(last), kw)
            dx[i * sh + a, j * sw + b] += dout[i, j]
    return dx


@variant("pool2d_backward", Named("gradient sent to every element of the window"))
def pool_back_whole_window(dout, x, size, stride=None, mode="max"):
    return _pool_back(dout, x, size, stride, mode, pick="all")


@variant("pool2d_backward", Named("overlapping windows overwritten"))
def pool_back_assigned(dout, x, size, stride=None, mode="max"):
    return _pool_back(dout, x, size, stride, mode, assign=True)


@variant("pool2d_backward", Named("average not divided by the window size"))
def pool_back_avg_sum(dout, x, size, stride=None, mode="max"):
    return _pool_back(dout, x, size, stride, mode, divide=False)


@variant("pool2d_backward", Named("stride defaulted to 1"))
def pool_back_stride_one(dout, x, size, stride=None, mode="max"):
    return _pool_back(dout, x, size, stride, mode, default=1)


@variant("pool2d_backward", Named("the stride left out of the window slice"))
def pool_back_slice_without_stride(dout, x, size, stride=None, mode="max"):
    return _pool_back(dout, x, size, stride, mode, slice_stride=False)


@variant("pool2d_backward", Pair("average not divided by the window size",
                                  "gradient sent to every element of the window"))
def pool_back_mode_ignored(dout, x, size, stride=None, mode="max"):
    return _pool_back(dout, x, size, stride, "avg", divide=False)


@variant("pool2d_backward", NOTHING)
def pool_back_rows_by_kernel_height(dout, x, size, stride=None, mode="max"):
    """The flat argmax turned into (row, column) with the kernel's height instead of its
    width: wrong only for non-square windows."""
    kh, kw = as_pair(size)
    sh, sw = as_pair(size if stride is None else stride)
    dx = np.zeros(x.shape)
    for i in range(dout.shape[0]):
        for j in range(dout.shape[1]):
            window = x[i * sh:i * sh + kh, j * sw:j * sw + kw]
            if mode == "avg":
                dx[i * sh:i * sh + kh, j * sw:j * sw + kw] += dout[i, j] / window.size
                continue
            a, b = divmod(int(np.argmax(window)), kh)
            dx[min(i * sh + a, x.shape[0] - 1), min(j * sw + b, x.shape[1] - 1)] += dout[i, j]
    return dx


# =============================================================================================
# Notebook 08
# =============================================================================================

def _dilated(x, w, stride=1, padding=0, dilation=1, *, size="d(k-1)+1", tap_step=0,
             flip=False, swap_roles=False, swap_pair=False):
    """Dilated convolution as learners loop it; keywords switch on one slip each."""
    (sh, sw), (ph, pw), (dh, dw) = as_pair(stride), as_pair(padding), as_pair(dilation)
    if swap_roles:
        (sh, sw), (dh, dw) = (dh, dw), (sh, sw)
    if swap_pair:
        dh, dw = dw, dh
    dh, dw = dh + tap_step, dw + tap_step
    kh, kw = w.shape
    if flip:
        w = w[::-1, ::-1]
    xp = np.pad(x, ((ph, ph), (pw, pw)))
    if size == "d*k":
        rows = (xp.shape[0] - dh * kh) // sh + 1
        cols = (xp.shape[1] - dw * kw) // sw + 1
    else:
        rows = (xp.shape[0] - dh * (kh - 1) - 1) // sh + 1
        cols = (xp.shape[1] - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((max(rows, 0), max(cols, 0)))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            total = 0.0
            for a in range(kh):
                for b in range(kw):
                    total += w[a, b] * xp[i * sh + a * dh, j * sw + b * dw]
            out[i, j] = total
    return out


@variant("dilated_conv2d", Named("wrong dilation offset d·k instead of d(k − 1)"))
def dilated_size_from_d_times_k(x, w, stride=1, padding=0, dilation=1):
    return _dilated(x, w, stride, padding, dilation, size="d*k")


@variant("dilated_conv2d", Named("dilation ignored"))
def dilated_without_dilation(x, w, stride=1, padding=0, dilation=1):
    return _dilated(x, w, stride, padding, 1)


@variant("dilated_conv2d", Named("taps d + 1 apart"))
def dilated_d_zeros_between_taps(x, w, stride=1, padding=0, dilation=1):
    """d zeros inserted between the taps, as if they were the gaps of notebook 07's dilate."""
    (dh, dw) = as_pair(dilation)
    kh, kw = w.shape
    spread = np.zeros(((kh - 1) * (dh + 1) + 1, (kw - 1) * (dw + 1) + 1))
    spread[::dh + 1, ::dw + 1] = w
    return _dilated(x, spread, stride, padding, 1)


@variant("dilated_conv2d", Named("stride and dilation swapped"))
def dilated_roles_swapped(x, w, stride=1, padding=0, dilation=1):
    return _dilated(x, w, stride, padding, dilation, swap_roles=True)


@variant("dilated_conv2d", Named("flipped kernel"))
def dilated_flipped(x, w, stride=1, padding=0, dilation=1):
    return _dilated(x, w, stride, padding, dilation, flip=True)


@variant("dilated_conv2d", Named("dilation pair swapped"))
def dilated_pair_read_backwards(x, w, stride=1, padding=0, dilation=1):
    return _dilated(x, w, stride, padding, dilation, swap_pair=True)


@variant("dilated_conv2d", NOTHING)
def dilated_padding_once(x, w, stride=1, padding=0, dilation=1):
    """Padded on one side only (bottom and right)."""
    ph, pw = as_pair(padding)
    return _dilated(np.pad(x, ((0, ph), (0, pw))), w, stride, 0, dilation)


def _t_size(n, k, stride=1, padding=0, output_padding=0, *, formula=None, check_a="strict",
            check_result=True, check_params=True):
    if check_params and (k < 1 or stride < 1 or padding < 0 or output_padding < 0):
        raise ValueError("invalid setting")
    if check_a == "strict" and output_padding >= stride:
        raise ValueError("output_padding must be smaller than the stride")
    if check_a == "loose" and output_padding > stride:
        raise ValueError("output_padding larger than the stride")
    size = (formula or (lambda: (n - 1) * stride - 2 * padding + k + output_padding))()
    if check_result and size < 1:
        raise ValueError("nothing left")
    return size


@variant("transposed_output_size", Named("output_padding added twice"))
def t_size_padding_twice(n, k, stride=1, padding=0, output_padding=0):
    return _t_size(n, k, stride, padding, output_padding,
                   formula=lambda: (n - 1) * stride - 2 * padding + k + output_padding
                   + output_padding)


@variant("transposed_output_size", Named("output_padding ignored"))
def t_size_without_a(n, k, stride=1, padding=0, output_padding=0):
    return _t_size(n, k, stride, padding, output_padding,
                   formula=lambda: (n - 1) * stride - 2 * padding + k)


@variant("transposed_output_size", Named("padding added instead of removed"))
def t_size_plus_padding(n, k, stride=1, padding=0, output_padding=0):
    return _t_size(n, k, stride, padding, output_padding,
                   formula=lambda: (n - 1) * stride + 2 * padding + k + output_padding)


@variant("transposed_output_size", Named("padding counted once"))
def t_size_padding_once(n, k, stride=1, padding=0, output_padding=0):
    return _t_size(n, k, stride, padding, output_padding,
                   formula=lambda: (n - 1) * stride - padding + k + output_padding)


@variant("transposed_output_size", Named("n·s instead of (n − 1)·s"))
def t_size_n_times_s(n, k, stride=1, padding=0, output_padding=0):
    return _t_size(n, k, stride, padding, output_padding,
                   formula=lambda: n * stride - 2 * padding + k + output_padding)


@variant("transposed_output_size", Named("the convolution's size law instead"))
def t_size_forward_law(n, k, stride=1, padding=0, output_padding=0):
    return _t_size(n, k, stride, padding, output_padding,
                   formula=lambda: math.floor((n + 2 * padding - k) / stride) + 1)


@variant("transposed_output_size", Named("no check for impossible settings"))
def t_size_unchecked(n, k, stride=1, padding=0, output_padding=0):
    return (n - 1) * stride - 2 * padding + k + output_padding


@variant("transposed_output_size", Named("output_padding up to the stride accepted"))
def t_size_a_up_to_s(n, k, stride=1, padding=0, output_padding=0):
    return _t_size(n, k, stride, padding, output_padding, check_a="loose")


@variant("transposed_output_size", Named("a size below 1 not refused"))
def t_size_negative_returned(n, k, stride=1, padding=0, output_padding=0):
    return _t_size(n, k, stride, padding, output_padding, check_result=False)


@variant("transposed_output_size", Generic("`/` always gives a float"))
def t_size_float(n, k, stride=1, padding=0, output_padding=0):
    return float(_t_size(n, k, stride, padding, output_padding))


@variant("transposed_output_size", NOTHING)
def t_size_off_by_one(n, k, stride=1, padding=0, output_padding=0):
    return _t_size(n, k, stride, padding, output_padding,
                   formula=lambda: n * stride - 2 * padding + k - 1 + output_padding)


# --- judging ----------------------------------------------------------------------------------

HINT_SEPARATOR = " — "
LISTED = "your answers match more than one known mistake"
TWO = "two known mistakes explain your answers between them"


def _hints(verdicts) -> list[str]:
    """The hint of every failed case that ran (crashes and timeouts say nothing)."""
    return [verdict.hint for v in verdicts for _, verdict in v.failures if verdict.comparable]


def _assert_told(variant: Variant, verdicts, where: str) -> None:
    hints = _hints(verdicts)
    assert any(not v.passed for v in verdicts), f"{where}: {variant.id} passes every test"
    names = {m.name for m in exercise(variant.exercise).mistakes}
    named = {n for h in hints for n in names if h.startswith(n + HINT_SEPARATOR)}
    expect = variant.expect
    if isinstance(expect, Named):
        assert expect.name in names, f"{expect.name!r} is not a known mistake"
        assert hints and all(h.startswith(expect.name + HINT_SEPARATOR) for h in hints), \
            f"{where}: {variant.id} should be told {expect.name!r}; hints were {hints}"
    elif isinstance(expect, Pair):
        both = f"{TWO}: {expect.first}; {expect.second}."
        assert hints and all(h.startswith(both) for h in hints), \
            f"{where}: {variant.id} should be told {both!r}; hints were {hints}"
    else:
        assert not named and not any(LISTED in h or TWO in h for h in hints), \
            f"{where}: {variant.id} makes no single known mistake; hints were {hints}"
        if isinstance(expect, Generic):
            assert any(h.startswith(expect.start) for h in hints), \
                f"{where}: {variant.id} should get the hint {expect.start!r}; hints were {hints}"


@cache
def _tests(name: str, seed: int):
    return exercise(name).tests(seed=seed)


@pytest.mark.parametrize("variant", CORPUS, ids=lambda v: v.id)
def test_the_check_cell_names_the_mistake(variant):
    report = check(variant.exercise, variant.function)
    assert not report.passed, f"the public tests pass {variant.id}"
    _assert_told(variant, report.verdicts, "check cell")
    if isinstance(variant.expect, Named):
        assert f"Hint: {variant.expect.name}{HINT_SEPARATOR}" in str(report)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("variant", CORPUS, ids=lambda v: v.id)
def test_grading_names_the_mistake(variant, seed):
    verdicts = name_mistakes([judge_test(t, outcomes_of(variant.function, t))
                              for t in _tests(variant.exercise, seed)])
    _assert_told(variant, verdicts, f"grading (seed {seed})")


def test_the_corpus_covers_every_exercise():
    covered = {v.exercise for v in CORPUS}
    graded = {e.name for e in all_exercises()}
    assert covered == graded, f"no variants for {sorted(graded - covered)}"
    counts = {name: sum(v.exercise == name for v in CORPUS) for name in graded}
    assert min(counts.values()) >= 3, counts
