"""A tiny CNN in numpy, its backward pass, and a training comparison (notebook 07).

Three layers of helpers, each usable on its own:

1. **Convolution maths** — :func:`conv2d_layer` (notebook 04's forward pass, vectorised as in
   notebook 05), :func:`conv2d_backward`, :func:`dilate` and :func:`conv_transpose2d`, all
   in PyTorch's layouts. They are working implementations of notebook 07's exercises, there
   so that the demos and the training run before the exercises are done.
2. **A trainer** — :class:`TinyCNN` builds a network from the layer specs of notebook 06
   (:class:`~stridelab.layers.Conv` followed by ReLU, :class:`~stridelab.layers.Pool` as max
   pooling, then one fully connected layer) and trains it with SGD and momentum.
3. **The comparison** — :func:`compare_training` trains several networks epoch by epoch,
   interleaved, so each gets the same machine conditions; :func:`compare_seeds` repeats that
   from several seeds, because one training run's accuracy is partly luck;
   :func:`comparison_table` and :func:`training_figure` show accuracy (with its spread over
   the seeds) and time per epoch.

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
    "History",
    "TinyCNN",
    "as_pair",
    "accuracy_verdict",
    "compare_seeds",
    "compare_training",
    "comparison_table",
    "conv2d_backward",
    "conv2d_layer",
    "conv_transpose2d",
    "dilate",
    "numerical_gradient",
    "one_blas_thread",
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

def _max_pool(x: np.ndarray, kernel: Pair, stride: Pair) -> tuple[np.ndarray, np.ndarray]:
    """Max pooling (no padding) and the flat index, into ``x``'s last two axes, of each max."""
    windows = sliding_window_view(x, kernel, axis=(2, 3))[:, :, ::stride[0], ::stride[1]]
    flat = windows.reshape(*windows.shape[:4], -1)
    best = flat.argmax(axis=-1)
    rows = np.arange(windows.shape[2])[:, None] * stride[0] + best // kernel[1]
    cols = np.arange(windows.shape[3])[None, :] * stride[1] + best % kernel[1]
    return np.take_along_axis(flat, best[..., None], axis=-1)[..., 0], rows * x.shape[3] + cols


def _max_pool_backward(dout: np.ndarray, where: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Send each gradient to the input position that held the window's maximum."""
    n, c = shape[:2]
    dx = np.zeros((n * c, shape[2] * shape[3]), dtype=dout.dtype)
    rows = np.repeat(np.arange(n * c), where[0, 0].size)
    np.add.at(dx, (rows, where.reshape(-1)), dout.reshape(-1))
    return dx.reshape(shape)


@dataclass
class _Conv:
    spec: Conv
    w: np.ndarray
    b: np.ndarray


class TinyCNN:
    """A small CNN from layer specs: each ``Conv`` is followed by ReLU, each ``Pool`` is max
    pooling, and one fully connected layer maps the last feature map to class scores.

    >>> from stridelab.layers import Conv
    >>> net = TinyCNN([Conv(4, 3, stride=2, padding=1)], input_shape=(1, 8, 8), classes=3)
    >>> net.forward(np.zeros((2, 1, 8, 8), dtype=np.float32))[0].shape
    (2, 3)
    """

    def __init__(self, layers: Sequence[Conv | Pool], input_shape: tuple[int, int, int],
                 classes: int, seed: int = 0) -> None:
        from stridelab.architectures import trace

        rng = np.random.default_rng(seed)
        self.specs = list(layers)
        self.input_shape = tuple(input_shape)
        self.layers: list[_Conv | Pool] = []
        shape = self.input_shape
        for spec, after in zip(self.specs, trace(self.input_shape, self.specs)):
            if isinstance(spec, Conv):
                kh, kw = as_pair(spec.kernel)
                fan_in = shape[0] * kh * kw
                w = rng.standard_normal((spec.out_channels, shape[0], kh, kw)) * np.sqrt(2 / fan_in)
                self.layers.append(_Conv(spec, w.astype(np.float32),
                                         np.zeros(spec.out_channels, np.float32)))
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
                spec = layer.spec
                out = conv2d_layer(x, layer.w, layer.b, spec.stride, spec.padding)
                cache.append((x, out > 0))
                x = np.maximum(out, 0)
            else:
                kernel = as_pair(layer.kernel)
                stride = as_pair(layer.stride if layer.stride is not None else layer.kernel)
                out, where = _max_pool(x, kernel, stride)
                cache.append((x.shape, where))
                x = out
        cache.append(x.shape)
        return x.reshape(len(x), -1) @ self.fc_w + self.fc_b, cache + [x.reshape(len(x), -1)]

    def backward(self, dscores: np.ndarray, cache: list) -> list[np.ndarray]:
        """Gradients of every parameter, in the order of :meth:`parameters`."""
        flat, shape = cache[-1], cache[-2]
        grads = [flat.T @ dscores, dscores.sum(axis=0)]
        dx = (dscores @ self.fc_w.T).reshape(shape)
        for index in range(len(self.layers) - 1, -1, -1):
            layer, saved = self.layers[index], cache[index]
            if isinstance(layer, _Conv):
                x, active = saved
                dout = dx * active
                dx, dw, db = conv2d_backward(dout, x, layer.w, layer.spec.stride,
                                             layer.spec.padding, need_dx=index > 0)
                grads = [dw, db] + grads
            else:
                dx = _max_pool_backward(dx, saved[1], saved[0])
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


def compare_training(models: Mapping[str, Sequence[Conv | Pool]], data: Dataset, epochs: int = 10,
                     batch_size: int = 32, learning_rate: float = 0.08, seed: int = 0
                     ) -> dict[str, History]:
    """Train each network in ``models`` on ``data``, epochs interleaved, and record each epoch.

    Every network sees the same batches in the same order and starts from weights drawn
    from the same seed; the learning rate falls linearly to zero over the epochs; matrix
    products run on one thread (:func:`one_blas_thread`); interleaving the epochs gives
    each the same machine conditions,
    so their times per epoch compare fairly.
    """
    from stridelab.architectures import macs

    input_shape = data.x_train.shape[1:]
    nets = {name: TinyCNN(layers, input_shape, len(data.classes), seed)
            for name, layers in models.items()}
    histories = {name: History(name, list(layers), macs(input_shape, list(layers)))
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
    return histories


def compare_seeds(models: Mapping[str, Sequence[Conv | Pool]], data: Dataset,
                  seeds: Sequence[int] = (0, 1, 2), epochs: int = 6, batch_size: int = 32,
                  learning_rate: float = 0.08) -> dict[str, list[History]]:
    """:func:`compare_training` once per seed: each seed draws other starting weights and
    another order of the batches. Returns, per network, one :class:`History` per seed."""
    runs: dict[str, list[History]] = {name: [] for name in models}
    for seed in seeds:
        for name, history in compare_training(models, data, epochs, batch_size, learning_rate,
                                              seed).items():
            runs[name].append(history)
    return runs


Runs = Mapping[str, "History | Sequence[History]"]


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
        rows.append((name, f"{hs[0].macs:,}", f"{best:.3f}", f"{median:.3f}",
                     f"{base_best / best:.1f}×", f"{base_macs / hs[0].macs:.2g}×",
                     _spread(_final_accuracies(hs))))
    seeds = len(first)
    accuracy = ("test accuracy" if seeds == 1 else
                f"test accuracy: mean (lowest–highest) over {seeds} seeds")
    epochs = len(first[0].seconds)
    title = (f"{epochs} epochs each, epochs interleaved"
             + (f", {seeds} seeds" if seeds > 1 else "")
             + "; speed-ups from the fastest epochs. " + accuracy_verdict(runs))
    return Table(("network", "multiply-adds per image", "s per epoch (fastest)",
                  "s per epoch (median)", "faster than the first", "multiply-adds: first / this",
                  accuracy), rows, title=title)


def training_figure(histories: Runs) -> FigureDisplay:
    """Test accuracy per epoch (left: the mean over seeds, shaded from the lowest to the
    highest) and the fastest epoch's time (right) of each network."""
    runs = _as_runs(histories)
    fig = new_figure(11, 3.8)
    accuracy_ax, time_ax = fig.subplots(1, 2)
    colors = [COLORS["blue"], COLORS["orange"], COLORS["green"], COLORS["purple"]]
    markers = ["o", "s", "^", "D"]
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
    fig.suptitle("Pooling, stride-2 convolution, and a learned stride-2 layer in place of each pool")
    alt = ("Left: test accuracy per epoch" + (f", mean of {seeds} seeds with a band from the "
                                              "lowest to the highest" if seeds > 1 else "")
           + "; final accuracy " + "; ".join(
               f"{n} {_spread(_final_accuracies(runs[n]))}" for n in names)
           + ". Right: seconds per training epoch, fastest epoch of each, " + "; ".join(
               f"{n} {t:.2f} s" for n, t in zip(names, fastest)) + ".")
    return FigureDisplay(fig, alt)
