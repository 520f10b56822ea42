"""Notebook 07's references and the helper package's trainer, against definitions written
out here: an explicit-loop forward pass and its numerical gradient, the adjoint identity
⟨conv(x), y⟩ = ⟨x, convᵀ(y)⟩, dilation and upsampling worked by hand, and the training
comparison's accuracy."""

from __future__ import annotations

import time

import numpy as np
import pytest

from grader.exercises import exercise
from stridelab import training

dilate = exercise("dilate").reference
conv2d_backward = exercise("conv2d_backward").reference
conv_transpose2d = exercise("conv_transpose2d").reference


def pair(v):
    return (v, v) if isinstance(v, int) else v


def loop_conv(x, w, stride=1, padding=0):
    """conv2d_layer by its definition: every output value a sum over c, a, b, one at a time."""
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    n, c_in, h, width = x.shape
    c_out, _, kh, kw = w.shape
    rows, cols = (h + 2 * ph - kh) // sh + 1, (width + 2 * pw - kw) // sw + 1
    out = np.zeros((n, c_out, rows, cols))
    for b in range(n):
        for o in range(c_out):
            for i in range(rows):
                for j in range(cols):
                    total = 0.0
                    for c in range(c_in):
                        for a in range(kh):
                            for d in range(kw):
                                r, q = i * sh + a - ph, j * sw + d - pw
                                if 0 <= r < h and 0 <= q < width:
                                    total += x[b, c, r, q] * w[o, c, a, d]
                    out[b, o, i, j] = total
    return out


def numerical(f, x, eps=1e-5):
    """Central differences, one element at a time (exact up to rounding: f is linear)."""
    x = x.copy()
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


CONFIGS = [
    # (x shape, w shape, stride, padding): what each one exercises
    ((1, 1, 5, 5), (1, 1, 3, 3), 2, 1),            # overlapping windows (k > s), tiles exactly
    ((1, 1, 6, 5), (1, 1, 3, 3), 2, 0),            # (6 - 3) mod 2 = 1: a row no window reaches
    ((2, 3, 7, 4), (2, 3, 3, 2), 2, 0),            # batch, channels, non-square, ragged height
    ((1, 2, 8, 9), (3, 2, 4, 3), 3, 1),            # k > s, (8 + 2 - 4) mod 3 = 0, (9 + 2 - 3) mod 3 = 2
    ((2, 1, 9, 6), (2, 1, 3, 4), (2, 3), (1, 2)),  # pair stride and padding, ragged both ways
    ((1, 2, 4, 6), (2, 2, 2, 3), 1, 0),            # stride 1
    ((1, 1, 7, 7), (1, 1, 2, 2), 3, 0),            # k < s: gaps between windows
]


@pytest.mark.parametrize("x_shape, w_shape, stride, padding", CONFIGS)
def test_backward_matches_the_numerical_gradient_of_the_loop_forward(x_shape, w_shape, stride, padding):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    dout = rng.standard_normal(loop_conv(x, w, stride, padding).shape)
    loss_of_x = lambda z: float(np.sum(loop_conv(z, w, stride, padding) * dout))  # noqa: E731
    loss_of_w = lambda z: float(np.sum(loop_conv(x, z, stride, padding) * dout))  # noqa: E731
    want_dx, want_dw = numerical(loss_of_x, x), numerical(loss_of_w, w)
    for backward in (conv2d_backward, training.conv2d_backward):
        dx, dw, db = backward(dout, x, w, stride, padding)
        np.testing.assert_allclose(dx, want_dx, atol=1e-6)
        np.testing.assert_allclose(dw, want_dw, atol=1e-6)
        np.testing.assert_allclose(db, dout.sum(axis=(0, 2, 3)))


def test_input_no_window_reaches_gets_zero_gradient():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((1, 1, 6, 5)), rng.standard_normal((1, 1, 3, 3))
    dx, _, _ = conv2d_backward(rng.standard_normal((1, 1, 2, 2)), x, w, stride=2)
    assert dx.shape == x.shape
    assert np.all(dx[0, 0, 5] == 0) and np.any(dx[0, 0, 4] != 0)


@pytest.mark.parametrize("x_shape, w_shape, stride, padding", CONFIGS)
def test_transposed_convolution_is_the_adjoint(x_shape, w_shape, stride, padding):
    """⟨conv(x), y⟩ = ⟨x, convᵀ(y)⟩ for every x and y: convᵀ is the matrix transpose."""
    rng = np.random.default_rng(2)
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    kh, kw = w_shape[2:]
    # convᵀ gives (H' - 1)s - 2p + k rows: the input size minus the rows no window reaches.
    h = x_shape[2] - (x_shape[2] + 2 * ph - kh) % sh
    width = x_shape[3] - (x_shape[3] + 2 * pw - kw) % sw
    x = rng.standard_normal((*x_shape[:2], h, width))
    w = rng.standard_normal(w_shape)
    y = rng.standard_normal(loop_conv(x, w, stride, padding).shape)
    for transpose in (conv_transpose2d, training.conv_transpose2d):
        left = np.sum(loop_conv(x, w, stride, padding) * y)
        right = np.sum(x * transpose(y, w, stride, padding))
        assert np.isclose(left, right), (left, right)
        np.testing.assert_allclose(transpose(y, w, stride, padding),
                                   conv2d_backward(y, x, w, stride, padding)[0])


def test_transposed_convolution_by_hand():
    # A 2×2 kernel of ones at stride 2 copies each value into a 2×2 block: nearest-neighbour.
    x = np.array([[[[1.0, 2], [3, 4]]]])
    np.testing.assert_array_equal(conv_transpose2d(x, np.ones((1, 1, 2, 2)), stride=2)[0, 0],
                                  [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])
    # A 3×3 kernel at stride 2: neighbouring stamps overlap on the middle row and column.
    np.testing.assert_array_equal(conv_transpose2d(x, np.ones((1, 1, 3, 3)), stride=2)[0, 0],
                                  [[1, 1, 3, 2, 2], [1, 1, 3, 2, 2], [4, 4, 10, 6, 6],
                                   [3, 3, 7, 4, 4], [3, 3, 7, 4, 4]])
    # Padding 1 crops one row and column from each border: o' = s(i' - 1) + k - 2p.
    assert conv_transpose2d(x, np.ones((1, 1, 3, 3)), stride=2, padding=1).shape == (1, 1, 3, 3)


def test_dilate_by_hand():
    np.testing.assert_array_equal(dilate(np.array([[1, 2], [3, 4]]), 2),
                                  [[1, 0, 2], [0, 0, 0], [3, 0, 4]])
    np.testing.assert_array_equal(dilate(np.array([[1, 2], [3, 4]]), (1, 3)),
                                  [[1, 0, 0, 2], [3, 0, 0, 4]])
    np.testing.assert_array_equal(dilate(np.array([[7]]), 5), [[7]])
    batch = np.arange(8).reshape(2, 1, 2, 2)
    assert dilate(batch, 3).shape == (2, 1, 4, 4)
    np.testing.assert_array_equal(dilate(batch, 3)[1, 0],
                                  [[4, 0, 0, 5], [0] * 4, [0] * 4, [6, 0, 0, 7]])
    for g, s in ((np.arange(6.0).reshape(2, 3), (2, 3)), (batch, 3)):
        np.testing.assert_array_equal(training.dilate(g, s), dilate(g, s))


def test_numerical_gradient_helper_and_max_pool_backward():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 6, 6))
    dout = rng.standard_normal((2, 3, 3, 3))

    def pool_loss(z):
        return float(np.sum(training._max_pool(z, (2, 2), (2, 2))[0] * dout))

    _, where = training._max_pool(x, (2, 2), (2, 2))
    analytic = training._max_pool_backward(dout, where, x.shape)
    np.testing.assert_allclose(analytic, training.numerical_gradient(pool_loss, x), atol=1e-6)


@pytest.mark.parametrize("layers", ["pool", "strided"])
def test_tiny_cnn_gradients_match_numerical_ones(layers):
    from stridelab.layers import Conv, Pool

    specs = {"pool": [Conv(2, 3, padding=1), Pool(2), Conv(3, 3, padding=1), Pool(2)],
             "strided": [Conv(2, 3, stride=2, padding=1), Conv(3, 3, stride=2, padding=1)]}[layers]
    rng = np.random.default_rng(4)
    net = training.TinyCNN(specs, (1, 8, 8), classes=3, seed=1)
    # float64 weights (and non-zero biases) for an exact comparison
    net.layers = [type(l)(l.spec, l.w.astype(np.float64), l.b.astype(np.float64) + 0.1)
                  if hasattr(l, "spec") else l for l in net.layers]
    net.fc_w, net.fc_b = net.fc_w.astype(np.float64), net.fc_b.astype(np.float64)
    x, labels = rng.standard_normal((2, 1, 8, 8)), np.array([0, 2])
    scores, cache = net.forward(x)
    grads = net.backward(training._softmax_cross_entropy(scores, labels)[1], cache)
    for param, grad in zip(net.parameters(), grads):
        def loss_at(value, param=param):
            param[...] = value
            return training._softmax_cross_entropy(net.forward(x)[0], labels)[0]

        want = training.numerical_gradient(loss_at, param.copy())
        np.testing.assert_allclose(grad, want, atol=1e-5)


@pytest.mark.slow
def test_the_training_comparison_reaches_90_percent_with_stride_2_in_under_a_minute():
    from stridelab.datasets import shapes_dataset
    from stridelab.layers import Conv, Pool

    started = time.perf_counter()
    data = shapes_dataset()
    histories = training.compare_training({
        "stride 1 + pool": [Conv(8, 3, padding=1), Pool(2), Conv(16, 3, padding=1), Pool(2)],
        "stride 2": [Conv(8, 3, stride=2, padding=1), Conv(16, 3, stride=2, padding=1)],
    }, data, epochs=10)
    elapsed = time.perf_counter() - started
    assert histories["stride 2"].test_accuracy[-1] >= 0.90
    assert histories["stride 1 + pool"].test_accuracy[-1] >= 0.90
    assert histories["stride 2"].best_seconds < histories["stride 1 + pool"].best_seconds
    assert elapsed < 60
