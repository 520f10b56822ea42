"""Notebook 07 — learning with strided convolutions: ``dilate``, ``conv2d_backward``,
``conv_transpose2d``, ``pool2d_backward``.

The references take the other road from the solution notebook: the solution scatters the
upstream gradient window by window, while the reference for ``conv2d_backward`` computes
``dx`` as a full correlation of the *dilated* gradient with the *flipped* kernel and ``dw``
as a correlation of the padded input with the dilated gradient; ``conv_transpose2d``'s
reference stamps the kernel once per kernel offset, where the solution dilates, pads and
convolves; ``pool2d_backward``'s reference visits the windows one by one, where the solution
works on all of them at once. Known mistakes are written as the loops students write, with
one thing wrong.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from grader.exercises._common import DUMOULIN_W, DUMOULIN_X, pair, random_array, small_ints
from grader.exercises._spec import Case, CaseSet, Exercise, Mistake

NOTEBOOK = "07_training"


# --- references ------------------------------------------------------------------------------

def dilate(g: np.ndarray, stride) -> np.ndarray:
    """``stride - 1`` zeros between neighbours along the last two axes."""
    sh, sw = pair(stride)
    rows, cols = g.shape[-2:]
    out = np.zeros(g.shape[:-2] + ((rows - 1) * sh + 1, (cols - 1) * sw + 1), dtype=g.dtype)
    out[..., np.arange(rows)[:, None] * sh, np.arange(cols)[None, :] * sw] = g
    return out


def _correlate(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Valid, stride-1 cross-correlation: ``(N, C, H, W)`` with ``(O, C, kH, kW)``."""
    windows = sliding_window_view(x, w.shape[2:], axis=(2, 3))
    return np.einsum("nchwab,ocab->nohw", windows, w)


def conv2d_backward(dout: np.ndarray, x: np.ndarray, w: np.ndarray, stride=1, padding=0):
    """``(dx, dw, db)`` of ``conv2d_layer`` — the transposed-convolution way."""
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    kh, kw = w.shape[2:]
    spread = dilate(dout, (sh, sw))
    # dx: full correlation of the dilated gradient with the flipped, channel-swapped kernel.
    framed = np.pad(spread, ((0, 0), (0, 0), (kh - 1, kh - 1), (kw - 1, kw - 1)))
    reached = _correlate(framed, w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    # Rows and columns that no window reached ((n + 2p - k) mod s of them) get zeros.
    extra_rows = x.shape[2] + 2 * ph - reached.shape[2]
    extra_cols = x.shape[3] + 2 * pw - reached.shape[3]
    dx_padded = np.pad(reached, ((0, 0), (0, 0), (0, extra_rows), (0, extra_cols)))
    dx = dx_padded[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]
    # dw: correlation of the padded input (the part windows reach) with the dilated gradient.
    x_padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    reached_x = x_padded[:, :, :x_padded.shape[2] - extra_rows, :x_padded.shape[3] - extra_cols]
    windows = sliding_window_view(reached_x, spread.shape[2:], axis=(2, 3))
    dw = np.einsum("ncabij,noij->ocab", windows, spread)
    return dx, dw, dout.sum(axis=(0, 2, 3))


def conv_transpose2d(x: np.ndarray, w: np.ndarray, stride=1, padding=0) -> np.ndarray:
    """``torch.nn.functional.conv_transpose2d``: stamp ``x·w`` every ``s`` pixels, crop ``p``."""
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    n, _, h, width = x.shape
    c_out, kh, kw = w.shape[1:]
    full = np.zeros((n, c_out, (h - 1) * sh + kh, (width - 1) * sw + kw))
    for a in range(kh):
        for b in range(kw):
            full[:, :, a:a + (h - 1) * sh + 1:sh, b:b + (width - 1) * sw + 1:sw] += \
                np.einsum("nihw,io->nohw", x, w[:, :, a, b])
    return full[:, :, ph:full.shape[2] - ph, pw:full.shape[3] - pw]


POOL_MODES = ("max", "avg")


def pool2d_backward(dout: np.ndarray, x: np.ndarray, size, stride=None, mode: str = "max"):
    """The gradient of notebook 03's ``pool2d``, window by window: max sends each window's
    gradient to its first maximum (``numpy.argmax`` order), avg spreads it evenly; overlaps add."""
    if mode not in POOL_MODES:
        raise ValueError(f"mode must be 'max' or 'avg', not {mode!r}")
    (kh, kw), (sh, sw) = pair(size), pair(size if stride is None else stride)
    dx = np.zeros(x.shape)
    for i in range(dout.shape[0]):
        for j in range(dout.shape[1]):
            top, left = i * sh, j * sw
            window = x[top:top + kh, left:left + kw]
            if mode == "max":
                a, b = np.unravel_index(np.argmax(window), window.shape)
                dx[top + a, left + b] += dout[i, j]
            else:
                dx[top:top + kh, left:left + kw] += dout[i, j] / (kh * kw)
    return dx


# --- known mistakes, written as the loops students write -----------------------------------------

def _loop_backward(dout, x, w, stride=1, padding=0, *, overwrite_dx=False, overwrite_dw=False,
                   stride_in_slice=True, flip_dx=False, keep_padding=False, strip=None):
    """A window-by-window backward pass; each keyword switches on one known mistake."""
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    kh, kw = w.shape[2:]
    x_padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dx_padded = np.zeros_like(x_padded, dtype=float)
    dw = np.zeros_like(w, dtype=float)
    w_for_dx = w[:, :, ::-1, ::-1] if flip_dx else w
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            top, left = (i * sh, j * sw) if stride_in_slice else (i, j)
            rows, cols = slice(top, top + kh), slice(left, left + kw)
            g = dout[:, :, i, j]
            contribution = np.einsum("no,ocab->ncab", g, w_for_dx)
            if overwrite_dx:
                dx_padded[:, :, rows, cols] = contribution
            else:
                dx_padded[:, :, rows, cols] += contribution
            step = np.einsum("no,ncab->ocab", g, x_padded[:, :, rows, cols])
            dw = step if overwrite_dw else dw + step
    if keep_padding:
        dx = dx_padded
    elif strip == "negative":  # x[p:-p] is empty when p = 0
        dx = dx_padded[:, :, ph:-ph, pw:-pw]
    else:
        dx = dx_padded[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]
    return dx, dw, dout.sum(axis=(0, 2, 3))


def _nested_loop_backward(dout, x, w, stride=1, padding=0, *, overwrite_dx=False,
                          overwrite_dw=False):
    """The backward pass as the classic four nested loops (image, filter, row, column), one
    scalar of dout at a time; assigning with = then keeps only the last filter's and the last
    window's contribution."""
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    kh, kw = w.shape[2:]
    x_padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dx_padded = np.zeros_like(x_padded, dtype=float)
    dw = np.zeros_like(w, dtype=float)
    for n in range(dout.shape[0]):
        for o in range(dout.shape[1]):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    rows, cols = slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw)
                    g = dout[n, o, i, j]
                    if overwrite_dx:
                        dx_padded[n, :, rows, cols] = g * w[o]
                    else:
                        dx_padded[n, :, rows, cols] += g * w[o]
                    if overwrite_dw:
                        dw[o] = g * x_padded[n, :, rows, cols]
                    else:
                        dw[o] += g * x_padded[n, :, rows, cols]
    dx = dx_padded[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]
    return dx, dw, dout.sum(axis=(0, 2, 3))


def _tiling_only(dout, x, w, stride=1, padding=0, dw_too=False):
    """Backward as if (n + 2p - k) mod s were 0: the full correlation's rows, nothing added."""
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    dx, dw, db = conv2d_backward(dout, x, w, stride, padding)
    kh, kw = w.shape[2:]
    rows = (dout.shape[2] - 1) * sh + kh - 2 * ph   # n - r: the last r rows are missing
    cols = (dout.shape[3] - 1) * sw + kw - 2 * pw
    if dw_too:  # dw from the whole padded input: kH + r rows
        x_padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        windows = sliding_window_view(x_padded, dilate(dout, (sh, sw)).shape[2:], axis=(2, 3))
        dw = np.einsum("ncabij,noij->ocab", windows, dilate(dout, (sh, sw)))
    return dx[:, :, :rows, :cols], dw, db


def _cropped_full_correlation(dout, x, w, stride=1, padding=0, dw_too=False):
    """dx as the full correlation of the dilated gradient with the flipped kernel — the
    notebook's way — cropped ``[p:p + H]``: that array ends r = (n + 2p − k) mod s rows before
    the padded input does, so dx is r − p rows short when r > p (and right when r <= p).
    With ``dw_too``, dw too is a correlation, of the whole padded input: kH + r rows."""
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    dx, dw, db = _tiling_only(dout, x, w, stride, padding, dw_too=dw_too)
    _, _, h, width = x.shape
    rh = (h + 2 * ph - w.shape[2]) % sh
    rw = (width + 2 * pw - w.shape[3]) % sw
    full_dx = conv2d_backward(dout, x, w, stride, padding)[0]
    return full_dx[:, :, :min(h, h + ph - rh), :min(width, width + pw - rw)], dw, db


def _with_db(db_of):
    return lambda dout, x, w, stride=1, padding=0: (
        *conv2d_backward(dout, x, w, stride, padding)[:2], db_of(dout))


class _NotApplicable(Exception):
    """Raised by a mistake that cannot happen for this case's shapes; no student raises it."""


def _weights_as_conv_layout(x, w, stride=1, padding=0):
    """``w`` read as ``(C_out, C_in, kH, kW)``: only runs when both channel counts agree."""
    if w.shape[0] != w.shape[1]:
        raise _NotApplicable
    return conv_transpose2d(x, w.transpose(1, 0, 2, 3), stride, padding)


def _transpose_overwriting(x, w, stride=1, padding=0):
    """Each input value's stamp written with ``=``: overlaps keep only the last stamp."""
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    n, _, h, width = x.shape
    c_out, kh, kw = w.shape[1:]
    full = np.zeros((n, c_out, (h - 1) * sh + kh, (width - 1) * sw + kw))
    for i in range(h):
        for j in range(width):
            full[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw] = \
                np.einsum("ni,ioab->noab", x[:, :, i, j], w)
    return full[:, :, ph:full.shape[2] - ph, pw:full.shape[3] - pw]


def _transpose_uncropped(x, w, stride=1, padding=0, add=False):
    full = conv_transpose2d(x, w, stride, 0)
    if not add:
        return full
    ph, pw = pair(padding)
    return np.pad(full, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def _dilate_leading_axes(g, stride):
    """Zeros inserted along the first two axes (batch and channels) instead of the last two."""
    if g.ndim < 4:
        raise _NotApplicable
    return np.moveaxis(dilate(np.moveaxis(g, (0, 1), (-2, -1)), stride), (-2, -1), (0, 1))


def _transpose_negative_strip(x, w, stride=1, padding=0):
    ph, pw = pair(padding)
    return conv_transpose2d(x, w, stride, 0)[:, :, ph:-ph, pw:-pw]


def _pool_loop(dout, x, size, stride=None, mode="max", *, route="first", assign=False,
               divide=True, default_stride=None, stride_in_slice=True):
    """The window-by-window pooling backward learners write; keywords switch on one slip each.

    ``route``: where max sends a window's gradient — ``"first"`` maximum (right), ``"last"``
    of tied maxima, ``"ties"`` (every tied maximum, a mask) or ``"window"`` (every element).
    ``assign``: each window's gradient written into its slice with ``=`` (one-hot for max).
    """
    if mode not in POOL_MODES:
        raise ValueError(mode)
    kh, kw = pair(size)
    sh, sw = pair((size if default_stride is None else default_stride) if stride is None else stride)
    dx = np.zeros(x.shape)
    for i in range(dout.shape[0]):
        for j in range(dout.shape[1]):
            top, left = (i * sh, j * sw) if stride_in_slice else (i, j)
            window = x[top:top + kh, left:left + kw]
            if mode == "avg":
                share = np.full(window.shape, dout[i, j] / (kh * kw if divide else 1))
            elif route == "window":
                share = np.full(window.shape, float(dout[i, j]))
            else:
                hits = window == window.max()
                if route != "ties":
                    order = np.flatnonzero(hits)
                    hits = np.zeros(window.shape, dtype=bool)
                    hits.flat[order[0] if route == "first" else order[-1]] = True
                share = hits * dout[i, j]
            if assign:
                dx[top:top + kh, left:left + kw] = share
            else:
                dx[top:top + kh, left:left + kw] += share
    return dx


def _pool_mistake(**slip):
    return lambda dout, x, size, stride=None, mode="max": _pool_loop(dout, x, size, stride, mode,
                                                                     **slip)


POOL_MISTAKES = (
    Mistake("gradient sent to every element of the window",
            "max pooling passed on one value per window — its maximum — so only that input "
            "affects the output: send dout[i, j] to the window's maximum alone, not to the "
            "whole window (that is average pooling's gradient, without the division).",
            _pool_mistake(route="window")),
    Mistake("gradient sent to every tied maximum",
            "a mask window == window.max() marks every tied maximum, and each one receives the "
            "full gradient, so a window with two equal maxima passes back twice what it "
            "received. The forward pass used one of them: send the gradient to the first "
            "maximum only, np.argmax over the flattened window "
            "(np.unravel_index turns it into a row and column).",
            _pool_mistake(route="ties")),
    Mistake("gradient sent to the last of tied maxima",
            "when a window holds several equal maxima, the gradient goes to the *first* one, "
            "in reading order — the one np.argmax over the flattened window returns. A loop "
            "with >= (or a reversed search) picks the last one instead.",
            _pool_mistake(route="last")),
    Mistake("overlapping windows overwritten",
            "where windows overlap (stride smaller than the size), an input gets gradient from "
            "every window it belongs to: add each window's share with +=. Assigning the "
            "window's slice with = erases what the windows before it wrote there.",
            _pool_mistake(assign=True)),
    Mistake("average not divided by the window size",
            "average pooling divides the window's sum by kH·kW, so each input's share of the "
            "gradient is dout[i, j] / (kH·kW).",
            _pool_mistake(divide=False)),
    Mistake("stride defaulted to 1",
            "as in pool2d, stride=None means the windows move by the pool size: use "
            "stride = size when none is given.",
            _pool_mistake(default_stride=1)),
    Mistake("the stride left out of the window slice",
            "the window of output (i, j) starts at row i·s, column j·s of x: that is where its "
            "gradient goes.",
            _pool_mistake(stride_in_slice=False)),
)


# --- cases ---------------------------------------------------------------------------------

def _out_size(n: int, k: int, s: int, p: int) -> int:
    return (n + 2 * p - k) // s + 1


def _backward_case(rng: np.random.Generator, ragged: bool | None = None,
                   unit_stride: bool = False, padded: bool | None = None) -> Case:
    """Random shapes; ``ragged`` asks for (n + 2p - k) mod s != 0 (True) or == 0 (False)."""
    while True:
        n, c_in, c_out = (int(v) for v in rng.integers(1, 4, size=3))
        kh, kw = int(rng.integers(2, 5)), int(rng.integers(1, 5))
        if unit_stride:
            sh = sw = 1
        else:
            sh = int(rng.integers(2, 4))
            sw = sh if rng.random() < 0.5 else int(rng.integers(1, 4))
        if padded is None:
            ph, pw = int(rng.integers(0, kh)), int(rng.integers(0, kw))
        elif padded:
            ph, pw = int(rng.integers(1, kh)), int(rng.integers(0, kw))
        else:
            ph = pw = 0
        h, w = int(rng.integers(max(kh - 2 * ph, 1), 12)), int(rng.integers(max(kw - 2 * pw, 1), 12))
        if h == w:
            w += 1
        remainder = ((h + 2 * ph - kh) % sh, (w + 2 * pw - kw) % sw)
        if ragged is not None and any(remainder) != ragged:
            continue
        if not unit_stride and kh <= sh:  # keep the windows overlapping along the height
            continue
        if _out_size(h, kh, sh, ph) < 2:  # … with at least two of them to overlap
            continue
        break
    stride = sh if sh == sw and rng.random() < 0.6 else (sh, sw)
    padding = ph if ph == pw and rng.random() < 0.6 else (ph, pw)
    x = random_array(rng, n, c_in, h, w)
    weights = random_array(rng, c_out, c_in, kh, kw)
    dout = random_array(rng, n, c_out, _out_size(h, kh, sh, ph), _out_size(w, kw, sw, pw))
    return Case((dout, x, weights), {"stride": stride, "padding": padding})


def _public_backward(rng: np.random.Generator, x_shape, w_shape, stride, padding) -> Case:
    x, w = small_ints(rng, *x_shape), small_ints(rng, *w_shape)
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    out = (_out_size(x_shape[2], w_shape[2], sh, ph), _out_size(x_shape[3], w_shape[3], sw, pw))
    dout = small_ints(rng, x_shape[0], w_shape[0], *out)
    return Case((dout, x, w), {"stride": stride, "padding": padding})


def _transpose_case(rng: np.random.Generator, square_channels: bool = False,
                    unit_stride: bool = False) -> Case:
    n, c_in = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    c_out = c_in if square_channels else int(rng.integers(1, 4))
    h, w = int(rng.integers(1, 6)), int(rng.integers(2, 7))
    kh, kw = int(rng.integers(2, 5)), int(rng.integers(1, 5))
    sh = 1 if unit_stride else int(rng.integers(2, 4))
    sw = 1 if unit_stride else int(rng.integers(1, 4))
    ph, pw = int(rng.integers(0, kh)), int(rng.integers(0, kw))
    while (h - 1) * sh + kh - 2 * ph < 1:
        ph -= 1
    while (w - 1) * sw + kw - 2 * pw < 1:
        pw -= 1
    stride = sh if sh == sw else (sh, sw)
    padding = ph if ph == pw else (ph, pw)
    return Case((random_array(rng, n, c_in, h, w), random_array(rng, c_in, c_out, kh, kw)),
                {"stride": stride, "padding": padding})


def _dilate_case(rng: np.random.Generator, ndim: int) -> Case:
    shape = [int(v) for v in rng.integers(1, 4, size=ndim - 2)]
    h, w = int(rng.integers(1, 6)), int(rng.integers(2, 7))
    stride = int(rng.integers(1, 5)) if rng.random() < 0.5 else \
        (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
    return Case((random_array(rng, *shape, h, w), stride))


def _pool_out(shape, size, stride):
    (kh, kw), (sh, sw) = pair(size), pair(size if stride is None else stride)
    return (shape[0] - kh) // sh + 1, (shape[1] - kw) // sw + 1


def _pool_case(x: np.ndarray, dout_values: np.ndarray | None, size, stride=None, mode="max",
               rng: np.random.Generator | None = None) -> Case:
    """A case for ``pool2d_backward``: ``dout`` shaped like ``pool2d``'s output."""
    shape = _pool_out(x.shape, size, stride)
    dout = dout_values if dout_values is not None else small_ints(rng, *shape, low=1, high=6)
    kwargs = {"mode": mode} if stride is None else {"stride": stride, "mode": mode}
    return Case((dout, x, size), kwargs)


def _random_pool_backward_case(rng: np.random.Generator, index: int) -> Case:
    """Random shapes (non-square, with leftover rows or columns), sizes and strides as ints or
    pairs, overlapping windows, and inputs of small integers, so windows often hold tied
    maxima; in every other case the largest value sits where two windows overlap."""
    while True:
        h, w = (int(v) for v in rng.integers(3, 10, size=2))
        if h == w:
            w += 1
        size = int(rng.integers(2, 4)) if rng.random() < 0.5 else \
            (int(rng.integers(1, 4)), int(rng.integers(2, 4)))
        kh, kw = pair(size)
        choice = index % 3
        stride = (None if choice == 0 else int(rng.integers(1, min(kh, kw) + 1)) if choice == 1
                  else (int(rng.integers(1, kh + 1)), int(rng.integers(1, kw + 1))))
        if kh <= h and kw <= w:
            break
    mode = "avg" if index % 4 == 3 else "max"
    x = small_ints(rng, h, w, low=0, high=4) if index % 2 == 0 else random_array(rng, h, w)
    sh = pair(size if stride is None else stride)[0]
    rows, cols = _pool_out(x.shape, size, stride)
    if index % 2 == 1 and rows > 1 and sh < kh:        # plant the maximum in an overlap
        x[sh + int(rng.integers(0, kh - sh)), int(rng.integers(0, min(kw, w)))] = 10.0
    dout = random_array(rng, rows, cols)
    kwargs = {"mode": mode} if stride is None else {"stride": stride, "mode": mode}
    return Case((dout, x, size), kwargs)


POOL_TIES = np.array([[1, 3, 3, 0], [3, 2, 1, 1], [0, 0, 2, 2], [2, 1, 2, 0]], dtype=float)
"""Tied maxima: windows with two, one, one and three of them (2×2 pooling)."""
POOL_PEAK = np.array([[1, 0, 2, 1, 0], [0, 3, 1, 2, 1], [2, 1, 9, 0, 2], [1, 2, 0, 3, 1],
                      [0, 1, 2, 1, 0]], dtype=float)
"""A peak at the centre, inside all four 3×3 windows of stride 2."""


def _public_rng(label: str) -> np.random.Generator:
    return np.random.default_rng(sum(map(ord, label)))


PUBLIC_BACKWARD = {
    "one channel, stride 2, padding 1, overlapping windows (Dumoulin & Visin's input)": [
        Case((small_ints(_public_rng("dv"), 1, 1, 3, 3), DUMOULIN_X[None, None],
              DUMOULIN_W[None, None]), {"stride": 2, "padding": 1}),
    ],
    "(n + 2p − k) mod s ≠ 0: a row no window reaches (6×5 input, 3×3 kernel, stride 2)": [
        _public_backward(_public_rng("ragged"), (1, 1, 6, 5), (1, 1, 3, 3), 2, 0),
        # The same with padding 1: the row no window reaches is now a padding row.
        _public_backward(_public_rng("ragged"), (1, 1, 6, 5), (1, 1, 3, 3), 2, 1),
    ],
    "a batch of 2, 2 → 3 channels, stride 1": [
        _public_backward(_public_rng("batch"), (2, 2, 4, 3), (3, 2, 2, 2), 1, 0),
    ],
    "non-square kernel, stride (2, 3), padding (1, 0)": [
        # A 3×4 kernel: its windows overlap along both axes, as in every case, so gradients
        # overwritten instead of added show here however the loops are nested.
        _public_backward(_public_rng("pairs"), (1, 2, 5, 7), (2, 2, 3, 4), (2, 3), (1, 0)),
    ],
}

OVERWRITE_HINT = ("where windows overlap (kernel larger than the stride), an input pixel "
                  "feeds several outputs and receives a gradient from each: add every "
                  "window's contribution with +=, don't assign it with =.")
TILING_HINT = ("your gradient is only right when the windows tile the padded input exactly. "
               "When (n + 2p − k) mod s ≠ 0, the last rows/columns are read by no window: "
               "dx must still have x's shape, with zero gradient there — and dw only sees the "
               "part of the input the windows reach.")
DW_OVERWRITE_HINT = ("every output position uses the same kernel, so dw is a sum over all "
                     "positions and all images: accumulate it with += across the loop.")
DB_HINT = ("the bias b[o] is added at every position of every image, so db[o] sums dout[:, o] "
           "over the batch and over all positions: db has shape (C_out,).")

BACKWARD_MISTAKES = (
    # Each overwriting mistake twice: a loop over positions that handles the batch and the
    # filters at once, and the classic four nested loops, which overwrite across filters too.
    Mistake("gradients overwritten instead of accumulated", OVERWRITE_HINT,
            lambda dout, x, w, stride=1, padding=0: _loop_backward(
                dout, x, w, stride, padding, overwrite_dx=True)),
    Mistake("gradients overwritten instead of accumulated", OVERWRITE_HINT,
            lambda dout, x, w, stride=1, padding=0: _nested_loop_backward(
                dout, x, w, stride, padding, overwrite_dx=True)),
    Mistake("dw overwritten instead of accumulated", DW_OVERWRITE_HINT,
            lambda dout, x, w, stride=1, padding=0: _loop_backward(
                dout, x, w, stride, padding, overwrite_dw=True)),
    Mistake("dw overwritten instead of accumulated", DW_OVERWRITE_HINT,
            lambda dout, x, w, stride=1, padding=0: _nested_loop_backward(
                dout, x, w, stride, padding, overwrite_dw=True)),
    Mistake("backward valid only when the windows tile exactly", TILING_HINT,
            _tiling_only),
    Mistake("backward valid only when the windows tile exactly", TILING_HINT,
            lambda dout, x, w, stride=1, padding=0: _tiling_only(
                dout, x, w, stride, padding, dw_too=True)),
    Mistake("backward valid only when the windows tile exactly", TILING_HINT,
            lambda dout, x, w, stride=1, padding=0: _cropped_full_correlation(
                dout, x, w, stride, padding, dw_too=True)),
    # The same crop with a right dw is right whenever the unreached rows lie in the padding,
    # so it fails on fewer cases than the three above: a name of its own.
    Mistake("dx short where no window reaches",
            "your dx is missing the last rows or columns of x when more of them than the "
            "padding are read by no window ((n + 2p − k) mod s > p). They get zero gradient, "
            "but dx must still have x's shape: build the gradient as large as the padded input, "
            "then crop p from each side.",
            _cropped_full_correlation),
    Mistake("db not summed over batch and positions", DB_HINT,
            _with_db(lambda dout: dout.sum(axis=(2, 3)))),
    Mistake("db not summed over batch and positions", DB_HINT,
            _with_db(lambda dout: dout.sum(axis=0))),
    Mistake("db averaged instead of summed",
            "the loss adds up every position's output, so db is a sum over the batch and "
            "positions, not a mean.",
            _with_db(lambda dout: dout.mean(axis=(0, 2, 3)))),
    Mistake("non-flipped kernel in the input gradient",
            "as a full convolution of the dilated gradient, dx uses the kernel rotated by "
            "180° (flipped in both axes). Scattering window by window needs no flip: "
            "window (i, j) sends dout[i, j] · w to the pixels it read.",
            lambda dout, x, w, stride=1, padding=0: _loop_backward(
                dout, x, w, stride, padding, flip_dx=True)),
    Mistake("the stride left out of the window slice",
            "output (i, j) read the window starting at row i·s, column j·s of the padded "
            "input, so that is where its gradient goes: slice x_padded[i*s : i*s + kH].",
            lambda dout, x, w, stride=1, padding=0: _loop_backward(
                dout, x, w, stride, padding, stride_in_slice=False)),
    Mistake("padding not removed from dx",
            "the padding zeros are not part of x: return the gradient of the original "
            "pixels only, dx_padded[:, :, p:p + H, p:p + W].",
            lambda dout, x, w, stride=1, padding=0: _loop_backward(
                dout, x, w, stride, padding, keep_padding=True)),
    Mistake("padding stripped with [p:-p]",
            "with p = 0, a[p:-p] is a[0:0] — empty. Slice with the size instead: "
            "a[p:p + H].",
            lambda dout, x, w, stride=1, padding=0: _loop_backward(
                dout, x, w, stride, padding, strip="negative")),
)

TRANSPOSE_MISTAKES = (
    Mistake("kernel not flipped",
            "as a convolution of the dilated, zero-framed input, the transposed convolution "
            "uses the kernel rotated by 180°. (Stamping x[i, j]·w onto the output needs no "
            "flip.)",
            lambda x, w, stride=1, padding=0: conv_transpose2d(x, w[:, :, ::-1, ::-1],
                                                               stride, padding)),
    Mistake("overlaps overwritten instead of added",
            "where stamps overlap (kernel larger than the stride) they add up: use +=.",
            _transpose_overwriting),
    Mistake("padding not removed",
            "padding p in a transposed convolution crops p rows and columns from each border "
            "of the full result: (H − 1)·s − 2p + kH rows, the inverse of conv2d's padding.",
            _transpose_uncropped),
    Mistake("padding added instead of removed",
            "padding p in a transposed convolution removes p rows and columns from each "
            "border — it undoes the forward convolution's padding — so the output has "
            "(H − 1)·s − 2p + kH rows.",
            lambda x, w, stride=1, padding=0: _transpose_uncropped(x, w, stride, padding, add=True)),
    Mistake("weights read as (C_out, C_in, kH, kW)",
            "for a transposed convolution, w has shape (C_in, C_out, kH, kW) — the same "
            "array as the forward convolution it transposes, read the other way: w[i, o] "
            "links input channel i to output channel o.",
            _weights_as_conv_layout),
    Mistake("padding stripped with [p:-p]",
            "with p = 0, a[p:-p] is a[0:0] — empty. Slice with the size instead.",
            _transpose_negative_strip),
)

DILATE_MISTAKES = (
    Mistake("trailing zeros",
            "zeros go *between* neighbours only: n values become (n − 1)·s + 1, with no "
            "zeros after the last one.",
            lambda g, stride: np.pad(dilate(g, stride), [(0, 0)] * (g.ndim - 2)
                                     + [(0, pair(stride)[0] - 1), (0, pair(stride)[1] - 1)])),
    Mistake("stride zeros instead of stride − 1",
            "a stride of s leaves s − 1 gaps between the windows' starts: insert s − 1 zeros, "
            "so that neighbours end up s apart.",
            lambda g, stride: dilate(g, (pair(stride)[0] + 1, pair(stride)[1] + 1))),
    Mistake("rows and columns swapped",
            "a pair stride is (vertical, horizontal): the first number spaces the rows "
            "(axis −2), the second the columns (axis −1).",
            lambda g, stride: dilate(g, pair(stride)[::-1])),
    Mistake("the wrong axes dilated",
            "dilate only the last two axes (height and width): batch and channel axes keep "
            "their size.",
            _dilate_leading_axes),
)


EXERCISES = (
    Exercise(
        name="dilate",
        notebook=NOTEBOOK,
        reference=dilate,
        case_sets=(
            CaseSet("2×2, stride 2", 1, [Case((np.array([[1.0, 2], [3, 4]]), 2))]),
            CaseSet("non-square, stride pair (2, 3)", 1, [
                Case((np.arange(1.0, 7).reshape(2, 3), (2, 3))),
            ]),
            CaseSet("stride 1 changes nothing", 1, [Case((np.array([[5.0, -1, 2]]), 1))]),
            CaseSet("a batch (N, C, H, W): only the last two axes", 1, [
                Case((small_ints(_public_rng("batch4d"), 2, 1, 2, 2), 2)),
            ]),
            CaseSet("random shapes and strides (hidden)", 2, hidden=True, cases=lambda rng: [
                *(_dilate_case(rng, 2) for _ in range(3)),
                *(_dilate_case(rng, 4) for _ in range(3)),
                Case((random_array(rng, 2, 3, 3, 4), (3, 2))),
            ]),
        ),
        mistakes=DILATE_MISTAKES,
    ),
    Exercise(
        name="conv2d_backward",
        notebook=NOTEBOOK,
        reference=conv2d_backward,
        returns=("dx", "dw", "db"),
        case_sets=tuple(CaseSet(title, 1, cases) for title, cases in PUBLIC_BACKWARD.items()) + (
            CaseSet("stride > 1, overlapping windows, random shapes (hidden)", 2, hidden=True,
                    cases=lambda rng: [_backward_case(rng) for _ in range(5)]),
            CaseSet("(n + 2p − k) mod s ≠ 0, padding 0 and > 0 (hidden)", 2, hidden=True,
                    cases=lambda rng: [_backward_case(rng, ragged=True, padded=False),
                                       _backward_case(rng, ragged=True, padded=True),
                                       _backward_case(rng, ragged=True)]),
            CaseSet("windows that tile exactly, and stride 1 (hidden)", 1, hidden=True,
                    cases=lambda rng: [_backward_case(rng, ragged=False),
                                       _backward_case(rng, unit_stride=True, padded=False),
                                       _backward_case(rng, unit_stride=True, padded=True)]),
        ),
        mistakes=BACKWARD_MISTAKES,
    ),
    Exercise(
        name="conv_transpose2d",
        notebook=NOTEBOOK,
        reference=conv_transpose2d,
        case_sets=(
            CaseSet("2×2 → 5×5 with a 3×3 kernel, stride 2", 1, [
                Case((np.array([[[[1.0, 2], [3, 4]]]]), DUMOULIN_W[None, None]), {"stride": 2}),
            ]),
            CaseSet("stride 2, padding 1: 3×3 back to 5×5 (Dumoulin & Visin)", 1, [
                Case((small_ints(_public_rng("t-dv"), 1, 1, 3, 3), DUMOULIN_W[None, None]),
                     {"stride": 2, "padding": 1}),
            ]),
            CaseSet("stride 1: a full convolution, 3×2 → 4×3", 1, [
                Case((small_ints(_public_rng("t-full"), 1, 1, 3, 2),
                      small_ints(_public_rng("t-full-w"), 1, 1, 2, 2))),
            ]),
            CaseSet("2 → 3 channels, stride (2, 1), padding (0, 1)", 1, [
                Case((small_ints(_public_rng("t-ch"), 1, 2, 2, 3),
                      small_ints(_public_rng("t-ch-w"), 2, 3, 2, 3)),
                     {"stride": (2, 1), "padding": (0, 1)}),
            ]),
            CaseSet("random shapes, strides and paddings (hidden)", 3, hidden=True,
                    cases=lambda rng: [*(_transpose_case(rng) for _ in range(5)),
                                       _transpose_case(rng, square_channels=True),
                                       _transpose_case(rng, square_channels=True),
                                       _transpose_case(rng, unit_stride=True)]),
        ),
        mistakes=TRANSPOSE_MISTAKES,
    ),
    Exercise(
        name="pool2d_backward",
        notebook=NOTEBOOK,
        reference=pool2d_backward,
        case_sets=(
            CaseSet("max, 2×2 windows: each gradient to its window's maximum", 1, [
                _pool_case(np.array([[1, 5, 0, 2], [3, 4, 7, 6], [8, 0, 1, 2], [2, 9, 3, 4]],
                                    dtype=float), np.array([[1.0, 2], [3, 4]]), 2),
            ]),
            CaseSet("max with tied maxima: the first one, in reading order, gets it", 1, [
                _pool_case(POOL_TIES, np.array([[1.0, 2], [3, 4]]), 2),
            ]),
            CaseSet("overlapping windows (3×3, stride 2): max and avg gradients add up", 1, [
                _pool_case(POOL_PEAK, np.array([[1.0, 2], [3, 4]]), 3, 2, "max"),
                _pool_case(POOL_PEAK, np.array([[9.0, 18], [27, 36]]), 3, 2, "avg"),
            ]),
            CaseSet("avg with a pair size (2, 3): leftover rows and columns get 0", 1, [
                _pool_case(small_ints(_public_rng("pool-avg"), 5, 7, low=0, high=9),
                           np.array([[6.0, 12], [18, 24]]), (2, 3), mode="avg"),
            ]),
            CaseSet("max with a pair size (3, 2) and stride (2, 1) on a non-square input", 1, [
                _pool_case(small_ints(_public_rng("pool-pair"), 7, 5, low=0, high=9), None, (3, 2),
                           (2, 1), rng=_public_rng("pool-pair-dout")),
            ]),
            CaseSet("random shapes, sizes, strides, ties and overlaps (hidden)", 3, hidden=True,
                    cases=lambda rng: [_random_pool_backward_case(rng, i) for i in range(12)]),
        ),
        mistakes=POOL_MISTAKES,
    ),
)
