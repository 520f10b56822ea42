"""A tiny CNN in numpy, its backward pass, and a training comparison (notebook 07).

Three layers of helpers, each usable on its own:

1. **Convolution maths** — :func:`conv2d_layer` (notebook 04's forward pass, vectorised as in
   notebook 05), :func:`conv2d_backward`, :func:`dilate`, :func:`conv_transpose2d` and
   :func:`pool2d_backward`, all in PyTorch's layouts. They are working implementations of
   notebook 07's exercises, there so that the demos and the training run before the
   exercises are done.
2. **A trainer** — :class:`TinyCNN` builds a network from the layer specs of notebook 06
   (:class:`~stridelab.layers.Conv` followed by ReLU, :class:`~stridelab.layers.Pool` as max
   pooling, :class:`BlurPool` as notebook 03's blur-then-subsample, then one fully connected
   layer) and trains it with SGD and momentum. Its max pooling can send gradients back with
   the learner's own ``pool2d_backward`` (:func:`pool_backward_for_training`), called once per
   batch on a *contact sheet* of every image and channel side by side
   (:func:`batched_pool_backward`).
3. **The comparison** — :func:`compare_training` trains several networks epoch by epoch,
   interleaved, so each gets the same machine conditions, and measures how often a one-pixel
   shift of a test image changes the trained network's answer (:func:`shift_flips`);
   :func:`compare_seeds` repeats that from several seeds, because one training run's
   accuracy is partly luck; :func:`comparison_table` and :func:`training_figure` show
   accuracy (with its spread over the seeds) and time per epoch.

>>> import numpy as np
>>> x, w = np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3))
>>> conv2d_layer(x, w, stride=2).shape
(1, 1, 2, 2)
>>> dilate(np.array([[1, 2], [3, 4]]), 2)
array([[1, 0, 2],
       [0, 0, 0],
       [3, 0, 4]])
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from stridelab.datasets import Dataset
from stridelab.layers import Conv, Pool, as_pair
from stridelab.plotting import COLORS, FigureDisplay, new_figure

if TYPE_CHECKING:
    from stridelab.architectures import Table

__all__ = [
    "BlurPool",
    "History",
    "TinyCNN",
    "as_pair",
    "accuracy_verdict",
    "batched_pool_backward",
    "compare_seeds",
    "compare_training",
    "comparison_table",
    "conv2d_backward",
    "conv2d_layer",
    "conv_transpose2d",
    "dilate",
    "network_macs",
    "numerical_gradient",
    "one_blas_thread",
    "pool2d",
    "pool2d_backward",
    "pool_backward_for_training",
    "shift_flips",
    "shift_images",
    "shift_verdict",
    "training_figure",
]

Pair = tuple[int, int]


# --- convolution maths -------------------------------------------------------------------

def _windows(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair) -> np.ndarray:
    """Every window of the padded ``x`` ``(N, C, H, W)``: a view ``(N, C, H', W', kH, kW)``."""
    (ph, pw), (sh, sw) = padding, stride
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x
    if kernel[0] > padded.shape[2] or kernel[1] > padded.shape[3]:
        raise ValueError(f"a {kernel[0]}×{kernel[1]} kernel does not fit the padded "
                         f"{padded.shape[2]}×{padded.shape[3]} input; pad more or use a "
                         "smaller kernel")
    return sliding_window_view(padded, kernel, axis=(2, 3))[:, :, ::sh, ::sw]


def conv2d_layer(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None,
                 stride: int | Pair = 1, padding: int | Pair = 0) -> np.ndarray:
    """Notebook 04's ``conv2d_layer``: ``x`` ``(N, C_in, H, W)``, ``w`` ``(C_out, C_in, kH, kW)``.

    Returns ``(N, C_out, H', W')``: cross-correlation, as ``torch.nn.functional.conv2d``,
    with no Python loop over positions.
    """
    windows = _windows(x, w.shape[2:], as_pair(stride), as_pair(padding))
    out = np.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
    if b is not None:
        out = out + b.reshape(1, -1, 1, 1)
    return np.ascontiguousarray(out)


def _scatter_windows(dcols: np.ndarray, shape: tuple[int, ...], stride: Pair) -> np.ndarray:
    """Add window-shaped gradients ``(N, H', W', C, kH, kW)`` back into a padded-input-sized array.

    One slice assignment per kernel offset ``(a, b)``: every window's entry ``(a, b)`` lands on
    the padded input at ``(i·s + a, j·s + b)``. Overlapping windows (k > s) add up.
    """
    out = np.zeros(shape, dtype=dcols.dtype)
    _, rows, cols, _, kh, kw = dcols.shape
    sh, sw = stride
    for a in range(kh):
        for b in range(kw):
            out[:, :, a:a + sh * (rows - 1) + 1:sh, b:b + sw * (cols - 1) + 1:sw] += \
                dcols[:, :, :, :, a, b].transpose(0, 3, 1, 2)
    return out


def conv2d_backward(dout: np.ndarray, x: np.ndarray, w: np.ndarray, stride: int | Pair = 1,
                    padding: int | Pair = 0, need_dx: bool = True
                    ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Gradients ``(dx, dw, db)`` of :func:`conv2d_layer` given the upstream gradient ``dout``.

    Works for any size, including ``(n + 2p - k) mod s != 0``: input no window reaches gets
    a zero gradient. ``need_dx=False`` skips ``dx`` (a network's first layer never needs it).
    """
    (sh, sw), (ph, pw) = as_pair(stride), as_pair(padding)
    windows = _windows(x, w.shape[2:], (sh, sw), (ph, pw))
    dw = np.tensordot(dout, windows, axes=([0, 2, 3], [0, 2, 3]))
    db = dout.sum(axis=(0, 2, 3))
    if not need_dx:
        return None, dw, db
    dcols = np.tensordot(dout, w, axes=([1], [0]))  # (N, H', W', C_in, kH, kW)
    padded_shape = (x.shape[0], x.shape[1], x.shape[2] + 2 * ph, x.shape[3] + 2 * pw)
    dx = _scatter_windows(dcols, padded_shape, (sh, sw))
    return dx[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]], dw, db


def dilate(g: np.ndarray, stride: int | Pair) -> np.ndarray:
    """Insert ``stride - 1`` zeros between neighbours along the last two axes of ``g``."""
    sh, sw = as_pair(stride)
    rows, cols = g.shape[-2:]
    out = np.zeros((*g.shape[:-2], (rows - 1) * sh + 1, (cols - 1) * sw + 1), dtype=g.dtype)
    out[..., ::sh, ::sw] = g
    return out


def conv_transpose2d(x: np.ndarray, w: np.ndarray, stride: int | Pair = 1,
                     padding: int | Pair = 0) -> np.ndarray:
    """Transposed convolution, as ``torch.nn.functional.conv_transpose2d``.

    ``x`` is ``(N, C_in, H, W)`` and ``w`` ``(C_in, C_out, kH, kW)``; the output has
    ``(H - 1)·s - 2p + kH`` rows: every input value stamps ``x·w`` onto the output, ``s``
    apart, overlaps add up, and ``p`` rows and columns are cut from each border.
    """
    (sh, sw), (ph, pw) = as_pair(stride), as_pair(padding)
    n, _, h, width = x.shape
    c_out, kh, kw = w.shape[1:]
    dcols = np.tensordot(x, w, axes=([1], [0]))  # (N, H, W, C_out, kH, kW)
    full = _scatter_windows(dcols, (n, c_out, (h - 1) * sh + kh, (width - 1) * sw + kw), (sh, sw))
    rows, cols = full.shape[2] - 2 * ph, full.shape[3] - 2 * pw
    if rows < 1 or cols < 1:
        raise ValueError(f"padding {ph, pw} leaves no output: (H - 1)·s - 2p + k must be ≥ 1")
    return full[:, :, ph:ph + rows, pw:pw + cols]


def pool2d(x: np.ndarray, size: int | Pair, stride: int | Pair | None = None,
           mode: str = "max") -> np.ndarray:
    """Notebook 03's ``pool2d`` for a 2-D ``x``: the max or mean of each window, no padding,
    ``stride`` defaulting to ``size``.

    >>> pool2d(np.array([[1.0, 4], [4, 2]]), 2)
    array([[4.]])
    """
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg', not {mode!r}")
    kernel, step = as_pair(size), as_pair(size if stride is None else stride)
    if mode == "max":
        return _max_pool(np.asarray(x, dtype=float)[None, None], kernel, step)[0][0, 0]
    return sliding_window_view(x, kernel)[::step[0], ::step[1]].mean(axis=(2, 3))


def pool2d_backward(dout: np.ndarray, x: np.ndarray, size: int | Pair, stride: int | Pair | None = None,
                    mode: str = "max") -> np.ndarray:
    """The gradient of notebook 03's ``pool2d`` for a 2-D ``x``: notebook 07's ``pool2d_backward``.

    ``"max"`` sends each window's gradient to the window's first maximum (``numpy.argmax``
    over the flattened window, as the forward pass picked it); ``"avg"`` spreads it evenly over
    the window. Where windows overlap (stride smaller than the size) the gradients add up.

    >>> pool2d_backward(np.array([[5.0]]), np.array([[1.0, 4], [4, 2]]), 2)
    array([[0., 5.],
           [0., 0.]])
    """
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg', not {mode!r}")
    (kh, kw), (sh, sw) = as_pair(size), as_pair(size if stride is None else stride)
    rows, cols = dout.shape
    dtype = np.result_type(dout.dtype, x.dtype, np.float32)
    if rows == 0 or cols == 0:
        return np.zeros(x.shape, dtype)
    if mode == "avg":  # one slice per offset inside the window: every window's share lands
        dx = np.zeros(x.shape, dtype)
        share = dout / (kh * kw)
        for a in range(kh):
            for b in range(kw):
                dx[a:a + sh * (rows - 1) + 1:sh, b:b + sw * (cols - 1) + 1:sw] += share
        return dx
    _, where = _max_pool(x[None, None], (kh, kw), (sh, sw))
    flat = np.bincount(where[0, 0, :rows, :cols].ravel(), weights=dout.ravel(), minlength=x.size)
    return flat.reshape(x.shape).astype(dtype)


def batched_pool_backward(pool_backward: Callable[..., np.ndarray], dout: np.ndarray,
                          x: np.ndarray, kernel: Pair, stride: Pair, mode: str = "max"
                          ) -> np.ndarray:
    """``dx`` for a batch ``x`` ``(N, C, H, W)`` from a 2-D ``pool_backward``, in one call.

    Every image and channel is laid side by side on one wide 2-D *contact sheet*, each
    starting on a multiple of the horizontal stride, so that each real window lies inside one
    picture; windows that straddle two pictures get a zero gradient, which sends nothing
    anywhere. One call of the learner's function then serves the whole batch.
    """
    n, c, h, w = x.shape
    (kh, kw), (sh, sw) = kernel, stride
    out_h, out_w = dout.shape[2:]
    pictures = n * c
    block = -(-w // sw) * sw                   # ceil(w / sw) · sw columns per picture
    sheet = np.zeros((h, pictures, block), dtype=x.dtype)
    sheet[:, :, :w] = x.reshape(pictures, h, w).transpose(1, 0, 2)
    sheet = sheet.reshape(h, pictures * block)
    sheet_cols = (pictures * block - kw) // sw + 1
    dsheet = np.zeros((out_h, sheet_cols), dtype=dout.dtype)
    columns = (np.arange(pictures)[:, None] * (block // sw) + np.arange(out_w)[None, :]).ravel()
    dsheet[:, columns] = dout.reshape(pictures, out_h, out_w).transpose(1, 0, 2).reshape(out_h, -1)
    dx_sheet = np.asarray(pool_backward(dsheet, sheet, (kh, kw), stride=(sh, sw), mode=mode))
    if dx_sheet.shape != sheet.shape:
        raise ValueError(f"pool2d_backward returned shape {dx_sheet.shape} for an input of "
                         f"shape {sheet.shape}")
    dx = dx_sheet.reshape(h, pictures, block)[:, :, :w].transpose(1, 0, 2)
    return np.ascontiguousarray(dx.reshape(n, c, h, w), dtype=dout.dtype)


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray,
                       eps: float = 1e-6) -> np.ndarray:
    """``∂f/∂x`` by central differences, one element at a time: slow, simple, trustworthy.

    For a function that is linear in ``x`` — a convolution is — the result is exact up to
    rounding, whatever ``eps``.
    """
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        saved = x[index]
        x[index] = saved + eps
        plus = f(x)
        x[index] = saved - eps
        minus = f(x)
        x[index] = saved
        grad[index] = (plus - minus) / (2 * eps)
    return grad


# --- the network ---------------------------------------------------------------------------

def _offset_slices(kernel: Pair, stride: Pair, out: tuple[int, int]
                   ) -> Iterator[tuple[int, int, tuple[slice, slice]]]:
    """For each offset ``(a, b)`` inside a window, in row-major order, the slice of the input
    that holds entry ``(a, b)`` of every window: rows ``a, a + s, …``, columns ``b, b + s, …``."""
    (kh, kw), (sh, sw), (rows, cols) = kernel, stride, out
    for a in range(kh):
        for b in range(kw):
            yield a, b, (slice(a, a + sh * (rows - 1) + 1, sh), slice(b, b + sw * (cols - 1) + 1, sw))


def _max_pool(x: np.ndarray, kernel: Pair, stride: Pair) -> tuple[np.ndarray, np.ndarray]:
    """Max pooling (no padding) and the flat index, into ``x``'s last two axes, of each max.

    One pass per offset inside the window, keeping the first maximum (a later offset wins only
    when strictly larger), as ``numpy.argmax`` over the flattened window would.
    """
    (kh, kw), (sh, sw) = kernel, stride
    width = x.shape[3]
    rows, cols = (x.shape[2] - kh) // sh + 1, (width - kw) // sw + 1
    best = offset = None
    for a, b, (r, c) in _offset_slices(kernel, stride, (rows, cols)):
        candidate = x[:, :, r, c]
        if best is None:
            best, offset = candidate, np.zeros(candidate.shape, dtype=np.int32)
            continue
        better = candidate > best
        best = np.maximum(best, candidate)
        offset = np.where(better, np.int32(a * width + b), offset)  # the maximum's place
    corner = np.arange(rows)[:, None] * (sh * width) + np.arange(cols)[None, :] * sw
    return np.array(best), corner + offset


def _max_pool_backward(dout: np.ndarray, where: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Send each gradient to the input position that held the window's maximum; where windows
    overlap and share a maximum, the gradients add up."""
    n, c, h, w = shape
    planes = np.arange(n * c).reshape(n, c, 1, 1) * (h * w)
    flat = np.bincount((where + planes).ravel(), weights=dout.ravel(), minlength=n * c * h * w)
    return flat.reshape(shape).astype(dout.dtype)


BINOMIAL = np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0]) / 16
"""Notebook 03's 3×3 binomial blur (Zhang 2019): its weights add up to 1."""


@dataclass(frozen=True)
class BlurPool:
    """Anti-aliased downsampling by 2 on every channel (Zhang 2019's BlurPool): notebook 03's
    ``blur_downsample`` — reflect-pad by 1, blur with the 3×3 binomial filter, keep every
    second row and column. ``kernel`` and ``padding`` describe it for notebook 06's shape
    tracing, which gives ``ceil(n / 2)`` outputs from ``n``.

    ``[Pool(2, stride=1), BlurPool()]`` is Zhang's MaxBlurPool: the max taken densely, then
    blurred before it is subsampled.

    >>> from stridelab.architectures import trace
    >>> trace((8, 15, 15), [BlurPool()])
    [(8, 8, 8)]
    """

    stride: int = 2
    kernel: int = field(default=3, init=False)
    padding: int = field(default=1, init=False)

    def __post_init__(self) -> None:
        if self.stride != 2:
            raise ValueError("BlurPool here downsamples by 2 with the 3×3 binomial filter; a "
                             "larger stride needs a wider filter (notebook 03)")


def _binomial_rows(a: np.ndarray, count: int) -> np.ndarray:
    """Rows ``2i, 2i + 1, 2i + 2`` weighted 1, 2, 1 (over 4), for ``i < count``: axis 2."""
    return (a[:, :, 0:2 * count - 1:2] + 2 * a[:, :, 1:2 * count:2] + a[:, :, 2:2 * count + 1:2]) / 4


def _binomial_rows_backward(d: np.ndarray, length: int) -> np.ndarray:
    """The transpose of :func:`_binomial_rows`: each output row's gradient back onto its three
    rows (weights 1, 2, 1 over 4), neighbours' shares adding up."""
    count = d.shape[2]
    g = np.zeros((*d.shape[:2], length, *d.shape[3:]), dtype=d.dtype)
    g[:, :, 0:2 * count - 1:2] += d / 4
    g[:, :, 1:2 * count:2] += d / 2
    g[:, :, 2:2 * count + 1:2] += d / 4
    return g


def _blur_forward(x: np.ndarray) -> np.ndarray:
    """Reflect-pad, blur and subsample every channel of ``x`` ``(N, C, H, W)``: the binomial
    filter is separable, so one [1, 2, 1] / 4 pass down the rows, one across the columns."""
    h, w = x.shape[2:]
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="reflect")
    rows, cols = (h - 1) // 2 + 1, (w - 1) // 2 + 1
    down = _binomial_rows(padded, rows)
    return _binomial_rows(down.swapaxes(2, 3), cols).swapaxes(2, 3)


def _blur_backward(dout: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The gradient of :func:`_blur_forward`: back through both passes, then fold the reflected
    border onto the pixels it copied (padded row 0 is row 1, the last is row H − 2)."""
    h, w = shape[2:]
    across = _binomial_rows_backward(dout.swapaxes(2, 3), w + 2).swapaxes(2, 3)
    grad = _binomial_rows_backward(across, h + 2)
    rows = grad[:, :, 1:-1, :].copy()
    rows[:, :, 1, :] += grad[:, :, 0, :]
    rows[:, :, -2, :] += grad[:, :, -1, :]
    dx = rows[:, :, :, 1:-1].copy()
    dx[:, :, :, 1] += rows[:, :, :, 0]
    dx[:, :, :, -2] += rows[:, :, :, -1]
    return dx


def network_macs(input_shape: tuple[int, int, int], layers: Sequence[Conv | Pool | BlurPool]) -> int:
    """Multiply-adds of one image: notebook 06's count of the convolutions, plus each
    :class:`BlurPool`'s 9 per output value and channel (a fixed depthwise convolution)."""
    from stridelab.architectures import macs, trace

    shapes = trace(input_shape, list(layers))
    blur = sum(9 * c * h * w for (c, h, w), layer in zip(shapes, layers)
               if isinstance(layer, BlurPool))
    return macs(input_shape, list(layers)) + blur


def _pool_geometry(layer: Pool) -> tuple[Pair, Pair]:
    """A ``Pool`` spec's kernel and stride as pairs (the stride defaults to the kernel)."""
    return as_pair(layer.kernel), as_pair(layer.stride if layer.stride is not None else layer.kernel)


@dataclass
class _Conv:
    spec: Conv
    w: np.ndarray
    b: np.ndarray


def _conv_forward(x: np.ndarray, layer: _Conv) -> tuple[np.ndarray, np.ndarray]:
    """:func:`conv2d_layer` as one matrix product, and the window matrix it multiplied.

    Every window is copied once into a row of ``cols`` ``(N·H'·W', C·kH·kW)``; the backward
    pass reuses it for ``dw`` instead of copying the windows again.
    """
    spec, w = layer.spec, layer.w
    windows = _windows(x, w.shape[2:], as_pair(spec.stride), as_pair(spec.padding))
    n, _, rows, cols_out = windows.shape[:4]
    cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * rows * cols_out, -1)
    out = cols @ w.reshape(len(w), -1).T + layer.b
    return np.ascontiguousarray(out.reshape(n, rows, cols_out, -1).transpose(0, 3, 1, 2)), cols


def _conv_backward(dout: np.ndarray, shape: tuple[int, ...], cols: np.ndarray, layer: _Conv,
                   need_dx: bool = True) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """:func:`conv2d_backward` from :func:`_conv_forward`'s window matrix: ``dw`` and ``dx`` are
    two matrix products, and ``dx``'s rows are scattered back onto the windows they came from."""
    w = layer.w
    n, c_out, rows, cols_out = dout.shape
    d = dout.transpose(0, 2, 3, 1).reshape(-1, c_out)
    dw = (d.T @ cols).reshape(w.shape)
    db = d.sum(axis=0)
    if not need_dx:
        return None, dw, db
    (sh, sw), (ph, pw) = as_pair(layer.spec.stride), as_pair(layer.spec.padding)
    dcols = (d @ w.reshape(c_out, -1)).reshape(n, rows, cols_out, *w.shape[1:])
    padded = (shape[0], shape[1], shape[2] + 2 * ph, shape[3] + 2 * pw)
    dx = _scatter_windows(dcols, padded, (sh, sw))
    return dx[:, :, ph:ph + shape[2], pw:pw + shape[3]], dw, db


class TinyCNN:
    """A small CNN from layer specs: each ``Conv`` is followed by ReLU, each ``Pool`` is max
    pooling, each :class:`BlurPool` blurs and subsamples, and one fully connected layer maps
    the last feature map to class scores.

    ``pool_backward``, a function with the signature of notebook 07's ``pool2d_backward``,
    sends max pooling's gradients back in place of the helper's own code (one call per batch
    and layer, through :func:`batched_pool_backward`).

    >>> from stridelab.layers import Conv
    >>> net = TinyCNN([Conv(4, 3, stride=2, padding=1)], input_shape=(1, 8, 8), classes=3)
    >>> net.forward(np.zeros((2, 1, 8, 8), dtype=np.float32))[0].shape
    (2, 3)
    """

    def __init__(self, layers: Sequence[Conv | Pool | BlurPool], input_shape: tuple[int, int, int],
                 classes: int, seed: int = 0,
                 pool_backward: Callable[..., np.ndarray] | None = None) -> None:
        from stridelab.architectures import trace

        rng = np.random.default_rng(seed)
        self.specs = list(layers)
        self.input_shape = tuple(input_shape)
        self.pool_backward = pool_backward
        self.layers: list[_Conv | Pool | BlurPool] = []
        shape = self.input_shape
        for spec, after in zip(self.specs, trace(self.input_shape, self.specs)):
            if isinstance(spec, Conv):
                kh, kw = as_pair(spec.kernel)
                fan_in = shape[0] * kh * kw
                w = rng.standard_normal((spec.out_channels, shape[0], kh, kw)) * np.sqrt(2 / fan_in)
                self.layers.append(_Conv(spec, w.astype(np.float32),
                                         np.zeros(spec.out_channels, np.float32)))
            elif isinstance(spec, BlurPool):
                self.layers.append(spec)
            else:
                if as_pair(spec.padding) != (0, 0):
                    raise ValueError("TinyCNN's max pooling has no padding: use Pool(k, s)")
                self.layers.append(spec)
            shape = after
        features = int(np.prod(shape))
        scale = np.sqrt(1 / features)
        self.fc_w = (rng.standard_normal((features, classes)) * scale).astype(np.float32)
        self.fc_b = np.zeros(classes, np.float32)
        self._velocity: dict[int, np.ndarray] = {}

    def parameters(self) -> list[np.ndarray]:
        return [p for layer in self.layers if isinstance(layer, _Conv)
                for p in (layer.w, layer.b)] + [self.fc_w, self.fc_b]

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, list]:
        """Class scores ``(N, classes)`` and what the backward pass needs."""
        cache = []
        for layer in self.layers:
            if isinstance(layer, _Conv):
                out, cols = _conv_forward(x, layer)
                cache.append((x.shape, cols, out > 0))
                x = np.maximum(out, 0)
            elif isinstance(layer, BlurPool):
                cache.append(x.shape)
                x = _blur_forward(x)
            else:
                out, where = _max_pool(x, *_pool_geometry(layer))
                cache.append((x, where))
                x = out
        cache.append(x.shape)
        return x.reshape(len(x), -1) @ self.fc_w + self.fc_b, cache + [x.reshape(len(x), -1)]

    def first_feature_maps(self, x: np.ndarray) -> np.ndarray:
        """What the first layer computes for ``x`` ``(N, C, H, W)``: its ReLU'd feature maps."""
        layer = self.layers[0]
        if not isinstance(layer, _Conv):
            raise ValueError("the network does not start with a convolution")
        return np.maximum(conv2d_layer(x, layer.w, layer.b, layer.spec.stride,
                                       layer.spec.padding), 0)

    def backward(self, dscores: np.ndarray, cache: list) -> list[np.ndarray]:
        """Gradients of every parameter, in the order of :meth:`parameters`."""
        flat, shape = cache[-1], cache[-2]
        grads = [flat.T @ dscores, dscores.sum(axis=0)]
        dx = (dscores @ self.fc_w.T).reshape(shape)
        for index in range(len(self.layers) - 1, -1, -1):
            layer, saved = self.layers[index], cache[index]
            if isinstance(layer, _Conv):
                shape, cols, active = saved
                dx, dw, db = _conv_backward(dx * active, shape, cols, layer, need_dx=index > 0)
                grads = [dw, db] + grads
            elif isinstance(layer, BlurPool):
                dx = _blur_backward(dx, saved)
            elif self.pool_backward is not None:
                dx = batched_pool_backward(self.pool_backward, dx, saved[0],
                                           *_pool_geometry(layer))
            else:
                dx = _max_pool_backward(dx, saved[1], saved[0].shape)
        return grads

    def step(self, grads: Sequence[np.ndarray], learning_rate: float, momentum: float = 0.9) -> None:
        """One step of SGD with momentum, in place."""
        for index, (param, grad) in enumerate(zip(self.parameters(), grads)):
            velocity = self._velocity.get(index)
            step = -learning_rate * grad
            velocity = step if velocity is None else momentum * velocity + step
            self._velocity[index] = velocity
            param += velocity.astype(param.dtype)

    def predict(self, x: np.ndarray, batch_size: int = 250) -> np.ndarray:
        return np.concatenate([self.forward(x[i:i + batch_size])[0].argmax(axis=1)
                               for i in range(0, len(x), batch_size)])


def _softmax_cross_entropy(scores: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy loss and its gradient with respect to the scores."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    n = len(labels)
    loss = float(-np.log(probs[np.arange(n), labels] + 1e-12).mean())
    probs[np.arange(n), labels] -= 1
    return loss, probs / n


@dataclass
class History:
    """What happened while training one network: one entry per epoch."""

    name: str
    layers: list
    macs: int
    """Multiply-adds of the convolutions for one image (notebook 06's ``total_macs``)."""
    seconds: list[float] = field(default_factory=list)
    """Wall-clock time of each training epoch (forward, backward and update)."""
    loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    shift_flips: float | None = None
    """Share of the trained network's test predictions that a one-pixel shift of the image
    changes (:func:`shift_flips`): 0 is perfectly shift-consistent."""
    model: TinyCNN | None = field(default=None, repr=False, compare=False)
    """The trained network, to look inside (filters, feature maps)."""

    @property
    def median_seconds(self) -> float:
        return float(np.median(self.seconds))

    @property
    def best_seconds(self) -> float:
        """The fastest epoch: the least disturbed by other programs, so the most repeatable."""
        return float(min(self.seconds))


def _epoch(model: TinyCNN, data: Dataset, order: np.ndarray, batch_size: int,
           learning_rate: float) -> tuple[float, float]:
    """One pass over the shuffled training set; returns (seconds, mean loss)."""
    losses = []
    started = time.perf_counter()
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        scores, cache = model.forward(data.x_train[batch])
        loss, dscores = _softmax_cross_entropy(scores, data.y_train[batch])
        model.step(model.backward(dscores, cache), learning_rate)
        losses.append(loss)
    return time.perf_counter() - started, float(np.mean(losses))


@cache
def _bundled_openblas() -> ctypes.CDLL | None:
    """The OpenBLAS library numpy's wheels bundle, if that is what this numpy uses."""
    root = Path(np.__file__).resolve().parent
    for library in [*root.parent.glob("numpy.libs/*openblas*"), *root.glob(".dylibs/*openblas*")]:
        try:
            blas = ctypes.CDLL(str(library))
            blas.scipy_openblas_get_num_threads64_.restype = ctypes.c_int
            blas.scipy_openblas_set_num_threads64_.argtypes = [ctypes.c_int]
            return blas
        except (OSError, AttributeError):
            continue
    return None


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run matrix products on one thread inside the ``with`` block, then restore the setting.

    A small network's products are too small to gain from threads, and on a busy machine
    threads waiting for one another make them several times slower — and their timings
    erratic. Does nothing where numpy's BLAS is not the OpenBLAS its wheels bundle.
    """
    blas = _bundled_openblas()
    if blas is None:
        yield
        return
    previous = blas.scipy_openblas_get_num_threads64_()
    blas.scipy_openblas_set_num_threads64_(1)
    try:
        yield
    finally:
        blas.scipy_openblas_set_num_threads64_(previous)


SHIFTS = ((0, 1), (1, 0))
"""One pixel right, one pixel down: the shifts :func:`shift_flips` tries."""


def shift_images(x: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``x`` ``(N, C, H, W)`` moved ``rows`` down and ``cols`` right, wrapping round (as
    ``numpy.roll``): what leaves at one edge comes back at the other, so nothing is lost."""
    return np.roll(x, (rows, cols), axis=(2, 3))


def shift_flips(model: TinyCNN, x: np.ndarray, shifts: Sequence[tuple[int, int]] = SHIFTS) -> float:
    """How often a one-pixel shift changes the prediction: over every image of ``x`` and every
    shift in ``shifts``, the share whose predicted class differs from the unshifted image's."""
    before = model.predict(x)
    changed = [model.predict(shift_images(x, rows, cols)) != before for rows, cols in shifts]
    return float(np.mean(changed))


def compare_training(models: Mapping[str, Sequence[Conv | Pool | BlurPool]], data: Dataset,
                     epochs: int = 10, batch_size: int = 32, learning_rate: float = 0.08,
                     seed: int = 0, pool_backward: Callable[..., np.ndarray] | None = None
                     ) -> dict[str, History]:
    """Train each network in ``models`` on ``data``, epochs interleaved, and record each epoch.

    Every network sees the same batches in the same order and starts from weights drawn
    from the same seed; the learning rate falls linearly to zero over the epochs; matrix
    products run on one thread (:func:`one_blas_thread`); interleaving the epochs gives
    each the same machine conditions, so their times per epoch compare fairly. At the end,
    each trained network's :func:`shift_flips` on the test images is recorded, and the network
    itself. ``pool_backward`` is passed on to :class:`TinyCNN`.
    """
    input_shape = data.x_train.shape[1:]
    nets = {name: TinyCNN(layers, input_shape, len(data.classes), seed, pool_backward)
            for name, layers in models.items()}
    histories = {name: History(name, list(layers), network_macs(input_shape, list(layers)))
                 for name, layers in models.items()}
    rng = np.random.default_rng(seed)
    with one_blas_thread():
        for epoch in range(epochs):
            order = rng.permutation(len(data.x_train))
            rate = learning_rate * (1 - epoch / epochs)  # linear decay: settle at the end
            for name, net in nets.items():
                seconds, loss = _epoch(net, data, order, batch_size, rate)
                history = histories[name]
                history.seconds.append(seconds)
                history.loss.append(loss)
                history.test_accuracy.append(float((net.predict(data.x_test) == data.y_test).mean()))
        for name, net in nets.items():
            histories[name].shift_flips = shift_flips(net, data.x_test)
            histories[name].model = net
    return histories


def compare_seeds(models: Mapping[str, Sequence[Conv | Pool | BlurPool]], data: Dataset,
                  seeds: Sequence[int] = (0, 1, 2), epochs: int = 6, batch_size: int = 32,
                  learning_rate: float = 0.08,
                  pool_backward: Callable[..., np.ndarray] | None = None
                  ) -> dict[str, list[History]]:
    """:func:`compare_training` once per seed: each seed draws other starting weights and
    another order of the batches. Returns, per network, one :class:`History` per seed."""
    runs: dict[str, list[History]] = {name: [] for name in models}
    for seed in seeds:
        for name, history in compare_training(models, data, epochs, batch_size, learning_rate,
                                              seed, pool_backward).items():
            runs[name].append(history)
    return runs


def _pool_layer_inputs(models: Mapping[str, Sequence[Conv | Pool | BlurPool]],
                       input_shape: tuple[int, int, int]) -> list[tuple[tuple[int, int, int], Pool]]:
    """Every max-pooling layer of ``models`` with the shape of the map it reads."""
    from stridelab.architectures import trace

    found = []
    for layers in models.values():
        shapes = [tuple(input_shape), *trace(input_shape, list(layers))]
        found += [(shape, layer) for shape, layer in zip(shapes, layers)
                  if isinstance(layer, Pool)]
    return found


def _fastest_call(function: Callable[[], object], repeats: int = 3) -> float:
    fastest = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        fastest = min(fastest, time.perf_counter() - started)
    return fastest


def pool_backward_for_training(pool_backward: Callable[..., np.ndarray] | None,
                               models: Mapping[str, Sequence[Conv | Pool | BlurPool]],
                               data: Dataset, seeds: int = 3, epochs: int = 6,
                               batch_size: int = 32, budget_seconds: float = 30.0, seed: int = 0
                               ) -> tuple[Callable[..., np.ndarray] | None, str]:
    """``(function, note)``: the learner's ``pool2d_backward`` for :func:`compare_seeds` when it
    is right and fast enough, else ``None`` (the helper's code); the note says which, and why.

    Right: it gives the helper's gradients on small cases with ties and overlapping windows,
    and on a batch of every pooling layer of ``models``, laid out as one contact sheet.
    Fast enough: the time it adds to the whole comparison — measured on those batches,
    multiplied by the calls ``seeds`` runs of ``epochs`` epochs make — stays within
    ``budget_seconds``.
    """
    fallback = "the helper's max-pool backward is used"
    if pool_backward is None:
        return None, f"{fallback} (no function given)"
    name = getattr(pool_backward, "__name__", "pool2d_backward")
    rng = np.random.default_rng(seed)
    ties = rng.integers(0, 3, size=(7, 8)).astype(np.float64)   # many tied maxima
    small = [(ties, (2, 2), None), (ties, (2, 2), (1, 1)), (ties, (3, 2), (2, 1))]
    layers = _pool_layer_inputs(models, data.x_train.shape[1:])
    try:
        for x, size, stride in small:
            dout = rng.standard_normal(_pool_out(x.shape, size, stride))
            want = pool2d_backward(dout, x, size, stride)
            if not close_enough(pool_backward(dout.copy(), x.copy(), size, stride, "max"), want):
                return None, f"{fallback}: your {name} gives a different answer on max pooling"
        mine = helper = 0.0
        for (c, h, w), layer in layers:
            kernel, stride = _pool_geometry(layer)
            x = rng.standard_normal((batch_size, c, h, w)).astype(np.float32)
            out, where = _max_pool(x, kernel, stride)
            dout = rng.standard_normal(out.shape).astype(np.float32)
            want = _max_pool_backward(dout, where, x.shape)
            got = batched_pool_backward(pool_backward, dout, x, kernel, stride)
            if not close_enough(got, want):
                return None, (f"{fallback}: your {name} gives a different answer on a "
                              f"{c}×{h}×{w} map")
            mine += _fastest_call(lambda: batched_pool_backward(pool_backward, dout, x, kernel,
                                                                stride))
            helper += _fastest_call(lambda: _max_pool_backward(dout, where, x.shape))
    except NotImplementedError:
        return None, f"{fallback}: {name} is not implemented yet"
    except Exception as error:  # noqa: BLE001 - any learner error is explained, not raised
        return None, f"{fallback}: your {name} raised {type(error).__name__}"
    batches = -(-len(data.x_train) // batch_size)
    extra = max(mine - helper, 0.0) * batches * epochs * seeds
    timing = (f"{1000 * mine:.1f} ms per batch for all {len(layers)} pooling layers, against "
              f"the helper's {1000 * helper:.1f} ms")
    if extra > budget_seconds:
        return None, (f"{fallback}: your {name} is right, but at {timing} it would add about "
                      f"{extra:.0f} s to the training. Loop over the kH·kW offsets inside a "
                      "window instead of over every window, and run this cell again")
    return pool_backward, f"computed by your {name} ({timing}: about {extra:.0f} s more in all)"


def _pool_out(shape: tuple[int, ...], size: Pair, stride: Pair | None) -> tuple[int, int]:
    (kh, kw), (sh, sw) = as_pair(size), as_pair(size if stride is None else stride)
    return (shape[0] - kh) // sh + 1, (shape[1] - kw) // sw + 1


def close_enough(mine: object, trusted: np.ndarray) -> bool:
    """Same shape and values within float32 tolerance."""
    try:
        array = np.asarray(mine, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return array.shape == trusted.shape and bool(np.allclose(array, trusted, rtol=1e-4, atol=1e-5))


Runs = Mapping[str, "History | Sequence[History]"]

NETWORK_COLORS = [COLORS["blue"], COLORS["orange"], COLORS["green"], COLORS["purple"],
                  COLORS["vermillion"]]
"""One Okabe–Ito colour per network, in the order the networks are given."""


def _as_runs(histories: Runs) -> dict[str, list[History]]:
    """One training run per network, or several: always a list per network."""
    return {name: [h] if isinstance(h, History) else list(h) for name, h in histories.items()}


def _final_accuracies(runs: Sequence[History]) -> list[float]:
    return [h.test_accuracy[-1] for h in runs]


def _spread(values: Sequence[float]) -> str:
    low, high = min(values), max(values)
    mean = float(np.mean(values))
    return f"{mean:.1%}" if len(values) == 1 else f"{mean:.1%} ({low:.1%}–{high:.1%})"


def accuracy_verdict(histories: Runs) -> str:
    """Each network's final accuracy against the first one's, judged over the seeds: a
    difference counts only when every seed agrees on it."""
    runs = _as_runs(histories)
    names = list(runs)
    first = _final_accuracies(runs[names[0]])
    seeds = len(first)
    parts = []
    for name in names[1:]:
        mine = _final_accuracies(runs[name])
        if max(mine) < min(first):
            parts.append(f"{name} ended below {names[0]} with every seed")
        elif min(mine) > max(first):
            parts.append(f"{name} ended above {names[0]} with every seed")
        else:
            parts.append(f"{name} and {names[0]} overlap: their ranges share values, so "
                         f"{seeds} seed{'s' if seeds != 1 else ''} cannot tell them apart")
    return "Measured here: " + "; ".join(parts) + "."


def shift_verdict(histories: Runs) -> str:
    """Which network's predictions a one-pixel shift changed least and most, on average."""
    runs = _as_runs(histories)
    means = {name: float(np.mean([h.shift_flips for h in hs])) for name, hs in runs.items()
             if all(h.shift_flips is not None for h in hs)}
    if len(means) < 2:
        return ""
    steady, shaky = min(means, key=means.get), max(means, key=means.get)
    return (f"A one-pixel shift changed the fewest predictions of {steady} ({means[steady]:.1%} "
            f"on average) and the most of {shaky} ({means[shaky]:.1%}).")


def comparison_table(histories: Runs) -> Table:
    """Cost, time per epoch and final accuracy of each network, the first one as the baseline.

    With several runs per network (:func:`compare_seeds`), the accuracy is the mean over the
    seeds with its range, and the time the fastest epoch of all the runs.
    """
    from stridelab.architectures import Table

    runs = _as_runs(histories)
    first = next(iter(runs.values()))
    base_best = min(h.best_seconds for h in first)
    base_macs = first[0].macs
    rows = []
    for name, hs in runs.items():
        best = min(h.best_seconds for h in hs)
        median = float(np.median([s for h in hs for s in h.seconds]))
        flips = [h.shift_flips for h in hs if h.shift_flips is not None]
        rows.append((name, f"{hs[0].macs:,}", f"{best:.3f}", f"{median:.3f}",
                     f"{base_best / best:.1f}×", f"{base_macs / hs[0].macs:.2g}×",
                     _spread(flips) if flips else "–", _spread(_final_accuracies(hs))))
    seeds = len(first)
    accuracy = ("test accuracy" if seeds == 1 else
                f"test accuracy: mean (lowest–highest) over {seeds} seeds")
    epochs = len(first[0].seconds)
    title = (f"{epochs} epochs each, epochs interleaved"
             + (f", {seeds} seeds" if seeds > 1 else "")
             + "; speed-ups from the fastest epochs. " + accuracy_verdict(runs)
             + (" " + shift_verdict(runs) if shift_verdict(runs) else ""))
    return Table(("network", "multiply-adds per image", "s per epoch (fastest)",
                  "s per epoch (median)", "faster than the first", "multiply-adds: first / this",
                  "predictions a 1-pixel shift changes", accuracy), rows, title=title)


def training_figure(histories: Runs) -> FigureDisplay:
    """Test accuracy per epoch (left: the mean over seeds, shaded from the lowest to the
    highest) and the fastest epoch's time (right) of each network."""
    runs = _as_runs(histories)
    fig = new_figure(11, 3.8)
    accuracy_ax, time_ax = fig.subplots(1, 2)
    colors = NETWORK_COLORS
    markers = ["o", "s", "^", "D", "v"]
    for (name, hs), color, marker in zip(runs.items(), colors, markers):
        curves = np.array([h.test_accuracy for h in hs]) * 100
        epochs = np.arange(1, curves.shape[1] + 1)
        accuracy_ax.plot(epochs, curves.mean(axis=0), color=color, marker=marker, linewidth=2,
                         label=name)
        if len(hs) > 1:
            accuracy_ax.fill_between(epochs, curves.min(axis=0), curves.max(axis=0),
                                     color=color, alpha=0.2, linewidth=0)
    seeds = len(next(iter(runs.values())))
    accuracy_ax.set_xlabel("epoch")
    accuracy_ax.set_ylabel("test accuracy (%)")
    accuracy_ax.set_ylim(top=100)
    accuracy_ax.set_title("Accuracy on unseen images" + (
        f"\n(line: mean of {seeds} seeds; band: lowest to highest)" if seeds > 1 else ""),
        fontsize=11)
    accuracy_ax.legend(loc="lower right")
    names = list(runs)
    fastest = [min(h.best_seconds for h in runs[n]) for n in names]
    time_ax.bar(range(len(names)), fastest, color=colors[: len(names)])
    for i, seconds in enumerate(fastest):
        time_ax.text(i, seconds, f"{seconds:.2f} s\n{runs[names[i]][0].macs / 1e3:.0f} k MACs",
                     ha="center", va="bottom")
    time_ax.set_xticks(range(len(names)), names)
    time_ax.set_xlabel("network")
    epochs_run = sum(len(h.seconds) for h in runs[names[0]])
    time_ax.set_ylabel(f"seconds per epoch (fastest of {epochs_run})")
    time_ax.set_ylim(top=max(fastest) * 1.35)
    time_ax.set_title("Training time per epoch", fontsize=11)
    fig.suptitle("Ways to downsample, trained side by side: " + ", ".join(names))
    alt = ("Left: test accuracy per epoch" + (f", mean of {seeds} seeds with a band from the "
                                              "lowest to the highest" if seeds > 1 else "")
           + "; final accuracy " + "; ".join(
               f"{n} {_spread(_final_accuracies(runs[n]))}" for n in names)
           + ". Right: seconds per training epoch, fastest epoch of each, " + "; ".join(
               f"{n} {t:.2f} s" for n, t in zip(names, fastest)) + ".")
    return FigureDisplay(fig, alt)
