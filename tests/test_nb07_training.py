"""Notebook 07's references and the helper package's trainer, against definitions written
out here: an explicit-loop forward pass and its numerical gradient, the adjoint identity
⟨conv(x), y⟩ = ⟨x, convᵀ(y)⟩, dilation and upsampling worked by hand, and the training
comparison's accuracy."""

from __future__ import annotations

import numpy as np
import pytest

from grader.exercises import exercise
from stridelab import training
from tests.notebook_text import cells, code, first_cell, prose
from tests.submissions import solution_functions

NB = "07_training"

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


def assert_gradients_match_numerical_ones(net: training.TinyCNN, x: np.ndarray) -> None:
    """Every parameter's backward-pass gradient against central differences, in float64
    (with non-zero biases) so the comparison is exact to 1e-5."""
    net.layers = [type(l)(l.spec, l.w.astype(np.float64), l.b.astype(np.float64) + 0.1)
                  if hasattr(l, "spec") else l for l in net.layers]
    net.fc_w, net.fc_b = net.fc_w.astype(np.float64), net.fc_b.astype(np.float64)
    labels = np.array([0, 2])
    scores, cache = net.forward(x)
    grads = net.backward(training._softmax_cross_entropy(scores, labels)[1], cache)
    for param, grad in zip(net.parameters(), grads):
        def loss_at(value, param=param):
            param[...] = value
            return training._softmax_cross_entropy(net.forward(x)[0], labels)[0]

        want = training.numerical_gradient(loss_at, param.copy())
        np.testing.assert_allclose(grad, want, atol=1e-5)


@pytest.mark.parametrize("layers", ["pool", "strided"])
def test_tiny_cnn_gradients_match_numerical_ones(layers):
    from stridelab.layers import Conv, Pool

    specs = {"pool": [Conv(2, 3, padding=1), Pool(2), Conv(3, 3, padding=1), Pool(2)],
             "strided": [Conv(2, 3, stride=2, padding=1), Conv(3, 3, stride=2, padding=1)]}[layers]
    net = training.TinyCNN(specs, (1, 8, 8), classes=3, seed=1)
    x = np.random.default_rng(4).standard_normal((2, 1, 8, 8))
    assert_gradients_match_numerical_ones(net, x)


@pytest.mark.slow
def test_the_training_comparison_reaches_90_percent_and_stride_2_is_faster_per_epoch():
    from stridelab.datasets import shapes_dataset
    from stridelab.layers import Conv, Pool

    data = shapes_dataset()
    histories = training.compare_training({
        "stride 1 + pool": [Conv(8, 3, padding=1), Pool(2), Conv(16, 3, padding=1), Pool(2)],
        "stride 2": [Conv(8, 3, stride=2, padding=1), Conv(16, 3, stride=2, padding=1)],
    }, data, epochs=10)
    assert histories["stride 2"].test_accuracy[-1] >= 0.90
    assert histories["stride 1 + pool"].test_accuracy[-1] >= 0.90
    assert histories["stride 2"].best_seconds < histories["stride 1 + pool"].best_seconds


# --- what the chapter says, and the figures ---------------------------------------------------

def test_the_all_cnn_network_replaces_both_pools_and_costs_more():
    from stridelab.architectures import macs
    from stridelab.layers import Conv, Pool

    source = cells(NB)[first_cell(NB, "networks = {")].source
    networks = eval(source.split("networks = ", 1)[1].split("\n}\n")[0] + "\n}",  # noqa: S307
                    {"Conv": Conv, "Pool": Pool, "BlurPool": training.BlurPool})
    pooled, all_cnn = networks["conv + pool"], networks["All-CNN"]
    pools = [i for i, layer in enumerate(pooled) if isinstance(layer, Pool)]
    assert len(pools) == 2 and not any(isinstance(layer, Pool) for layer in all_cnn)
    # each pool became a stride-2 convolution after the convolution it followed
    assert [(l.stride, l.out_channels) for l in all_cnn] == [(1, 8), (2, 8), (1, 16), (2, 16)]
    assert macs((1, 16, 16), all_cnn) > macs((1, 16, 16), pooled)
    text = prose(NB)
    assert "at a cost in between" not in text and "All-CNN costs more than pooling, not less" in text


def test_accuracy_is_judged_over_several_seeds():
    source = cells(NB)[first_cell(NB, "compare_seeds(")].source
    assert "seeds=(0, 1, 2)" in source and "pool_backward=pool_backward" in source
    assert "3–4× less time" not in prose(NB) and "Accuracy needs the spread" in prose(NB)


def _history(name, accuracies, seconds=(1.0,), macs=100):
    history = training.History(name, [], macs)
    history.test_accuracy = [0.5, *accuracies][-len(accuracies):]
    history.seconds = list(seconds)
    return history


def test_the_verdict_counts_a_difference_only_when_every_seed_agrees():
    runs = {"pool": [_history("pool", [0.95]), _history("pool", [0.97])],
            "stride": [_history("stride", [0.90]), _history("stride", [0.92])],
            "lucky": [_history("lucky", [0.93]), _history("lucky", [0.99])]}
    verdict = training.accuracy_verdict(runs)
    assert "stride ended below pool with every seed" in verdict
    assert "lucky and pool overlap" in verdict and "2 seeds cannot tell them apart" in verdict
    table = training.comparison_table(runs)
    assert "over 2 seeds" in table.header[-1]
    assert table.rows[1][-1] == "91.0% (90.0%–92.0%)"
    assert "band from the lowest to the highest" in training.training_figure(runs).alt
    single = training.comparison_table({"a": _history("a", [0.9]), "b": _history("b", [0.8])})
    assert single.header[-1] == "test accuracy" and single.rows[0][-1] == "90.0%"


def test_compare_seeds_trains_once_per_seed():
    from stridelab.datasets import shapes_dataset
    from stridelab.layers import Conv

    data = shapes_dataset(train=64, test=32)
    runs = training.compare_seeds({"tiny": [Conv(2, 3, stride=2, padding=1)]}, data,
                                  seeds=(0, 1), epochs=1)
    assert len(runs["tiny"]) == 2 and all(len(h.test_accuracy) == 1 for h in runs["tiny"])


def test_the_checkerboard_rule_is_not_overstated():
    text = prose(NB)
    assert "kernel sizes divisible by the stride, or resizing followed by a convolution, avoid it" \
        not in text
    assert "learned weights can still paint one" in text
    assert "learned weights can paint them even when the kernel divides by the stride" in text


def test_the_checkerboard_colour_bar_counts_kernel_stamps():
    from stridelab.backprop import upsampling_figure

    figure = upsampling_figure(training.conv_transpose2d).figure
    bar = next(ax for ax in figure.axes if "stamps" in ax.get_ylabel())
    assert "kernel stamps covering the pixel" in bar.get_ylabel()
    labels = {t.get_text() for t in figure.axes[3].texts}
    assert labels == {"1", "2", "4"}


def test_the_matrix_view_does_not_paint_a_count_of_one_in_padding_grey():
    from matplotlib.colors import rgb_to_hsv

    from stridelab.backprop import ConvMatrixExplorer

    explorer = ConvMatrixExplorer(n=7, k=3, s=2, p=1)
    bottom = explorer.figure.axes[1]
    image = bottom.images[0]
    one = np.array(image.cmap(image.norm(1.0))[:3])
    hue, saturation, value = rgb_to_hsv(one)
    assert saturation > 0.4                            # a colour, not a grey
    assert np.ma.is_masked(image.get_array()[0, 0])    # padding is greyed out by masking


def test_the_backward_scatter_animation_has_a_non_zero_four_stamp_pixel():
    from tools.assets.nb07 import DOUT, KERNEL, STRIDE

    k = KERNEL.shape[0]
    stamps = [DOUT[i, j] * KERNEL[2 - i * STRIDE, 2 - j * STRIDE] for i in range(2) for j in range(2)]
    assert all(stamps) and sum(stamps) != 0            # every stamp adds to the centre pixel
    dx = np.zeros((5, 5))
    for i in range(2):
        for j in range(2):
            dx[i * STRIDE:i * STRIDE + k, j * STRIDE:j * STRIDE + k] += DOUT[i, j] * KERNEL
    assert dx[2, 2] == sum(stamps) == 4
    assert "1·1 + 1·2 + 2·(−1) + 1·3 = 4" in "".join(c.source for c in cells(NB))


def test_every_predict_question_has_its_answer():
    assert "(3 − 1)·2 − 2·1 + 3 = 5" in prose(NB)


# --- pooling's backward pass -----------------------------------------------------------------

pool2d_backward = exercise("pool2d_backward").reference


def loop_pool(x, size, stride=None, mode="max"):
    """Notebook 03's pool2d by its definition, window by window, in Python."""
    kh, kw = pair(size)
    sh, sw = pair(size if stride is None else stride)
    rows, cols = (len(x) - kh) // sh + 1, (len(x[0]) - kw) // sw + 1
    out = np.zeros((rows, cols))
    for i in range(rows):
        for j in range(cols):
            window = [x[i * sh + a][j * sw + b] for a in range(kh) for b in range(kw)]
            out[i, j] = max(window) if mode == "max" else sum(window) / len(window)
    return out


def first_max_routing(dout, x, size, stride=None):
    """Max pooling's gradient as the contract words it: each window's gradient to its first
    maximum in reading order, found by a plain scan (no numpy argmax)."""
    kh, kw = pair(size)
    sh, sw = pair(size if stride is None else stride)
    dx = np.zeros(x.shape)
    for i in range(dout.shape[0]):
        for j in range(dout.shape[1]):
            best = None
            for a in range(kh):
                for b in range(kw):
                    value = x[i * sh + a, j * sw + b]
                    if best is None or value > best[0]:
                        best = (value, a, b)
            dx[i * sh + best[1], j * sw + best[2]] += dout[i, j]
    return dx


POOL_CONFIGS = [((6, 7), 2, None), ((7, 5), (3, 2), (2, 1)), ((8, 8), 3, 2), ((5, 9), (2, 3), 1),
                ((9, 6), 2, 3), ((4, 4), 1, None)]
POOLS = [pytest.param(pool2d_backward, id="reference"),
         pytest.param(training.pool2d_backward, id="helper"),
         pytest.param(solution_functions(NB)["pool2d_backward"], id="solution")]


@pytest.mark.parametrize("backward", POOLS)
@pytest.mark.parametrize("shape, size, stride", POOL_CONFIGS)
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pool2d_backward_is_the_numerical_gradient_of_the_loop_forward(backward, shape, size,
                                                                       stride, mode):
    """Distinct values: max pooling is linear near the point, so central differences are exact."""
    rng = np.random.default_rng(6)
    x = rng.permutation(np.prod(shape)).reshape(shape).astype(float)
    dout = rng.standard_normal(loop_pool(x, size, stride, mode).shape)
    want = numerical(lambda z: float(np.sum(loop_pool(z, size, stride, mode) * dout)), x, eps=1e-3)
    np.testing.assert_allclose(backward(dout, x, size, stride, mode), want, atol=1e-6)


@pytest.mark.parametrize("backward", POOLS)
@pytest.mark.parametrize("shape, size, stride", POOL_CONFIGS)
def test_max_pool_gradient_goes_to_the_first_of_tied_maxima(backward, shape, size, stride):
    rng = np.random.default_rng(7)
    x = rng.integers(0, 3, size=shape).astype(float)            # ties in most windows
    dout = rng.standard_normal(loop_pool(x, size, stride).shape)
    np.testing.assert_allclose(backward(dout, x, size, stride, "max"),
                               first_max_routing(dout, x, size, stride))


def test_a_tie_is_a_kink_that_splits_the_numerical_gradient():
    from stridelab import learned

    table = learned.pool_gradient_check(training.pool2d_backward)
    assert [row[-1] for row in table.rows] == ["✓", "✓", "✓", "a kink: both split dout"]
    assert "numerical 0.5 and 0.5, analytic 1 and 0" in table.rows[-1][1]


@pytest.mark.parametrize("x_shape, kernel, stride", [
    ((3, 4, 16, 16), (2, 2), (2, 2)), ((2, 3, 9, 7), (3, 3), (2, 2)), ((2, 2, 8, 9), (2, 3), (1, 2)),
    ((1, 3, 7, 10), (2, 2), (3, 3)), ((2, 1, 6, 6), (1, 1), (1, 1)), ((2, 2, 5, 11), (3, 2), (2, 3)),
])
def test_the_contact_sheet_gives_every_image_its_own_gradient(x_shape, kernel, stride):
    """One call on all images side by side equals one call per image and channel, and the
    trainer's own max-pool backward."""
    rng = np.random.default_rng(8)
    x = rng.integers(0, 4, size=x_shape).astype(np.float32)
    out, where = training._max_pool(x, kernel, stride)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    one_by_one = np.stack([np.stack([first_max_routing(dout[n, c], x[n, c], kernel, stride)
                                     for c in range(x_shape[1])]) for n in range(x_shape[0])])
    for backward in (pool2d_backward, training.pool2d_backward):
        np.testing.assert_allclose(training.batched_pool_backward(backward, dout, x, kernel, stride),
                                   one_by_one, atol=1e-5)
    np.testing.assert_allclose(training._max_pool_backward(dout, where, x.shape), one_by_one,
                               atol=1e-5)
    np.testing.assert_array_equal(out, np.stack([np.stack([loop_pool(x[n, c], kernel, stride)
                                                           for c in range(x_shape[1])])
                                                 for n in range(x_shape[0])]))


def test_training_uses_the_learners_pool_backward_only_when_right_and_fast():
    from stridelab.datasets import shapes_dataset
    from stridelab.layers import Conv, Pool

    data = shapes_dataset(train=64, test=16)
    models = {"pool": [Conv(2, 3, padding=1), Pool(2), Conv(3, 3, padding=1), Pool(2)]}
    chosen, note = training.pool_backward_for_training(training.pool2d_backward, models, data)
    assert chosen is training.pool2d_backward and note.startswith("computed by your")

    def not_written(dout, x, size, stride=None, mode="max"):
        raise NotImplementedError

    def last_of_ties(dout, x, size, stride=None, mode="max"):
        flipped = pool2d_backward(dout[::-1, ::-1], x[::-1, ::-1], size, stride, mode)
        return flipped[::-1, ::-1] if stride in (None, size) else flipped

    assert training.pool_backward_for_training(not_written, models, data) == (
        None, "the helper's max-pool backward is used: not_written is not implemented yet")
    chosen, note = training.pool_backward_for_training(last_of_ties, models, data)
    assert chosen is None and "gives a different answer" in note
    chosen, note = training.pool_backward_for_training(pool2d_backward, models, data,
                                                       budget_seconds=0.0)
    assert chosen is None and "is right, but" in note and "Loop over the kH·kW offsets" in note


def test_the_notebook_trains_with_the_learners_pool_backward():
    source = code(NB)
    assert "pool_backward_for_training(pool2d_backward, networks, data" in source
    assert "compare_seeds(networks, data, seeds=(0, 1, 2), epochs=5, pool_backward=pool_backward)" \
        in source


# --- BlurPool, shift consistency, what was learned ---------------------------------------------

def test_blurpool_is_notebook_03s_blur_downsample_on_every_channel():
    blur_downsample = exercise("blur_downsample").reference
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 3, 9, 12))
    out = training._blur_forward(x)
    for n in range(2):
        for c in range(3):
            np.testing.assert_allclose(out[n, c], blur_downsample(x[n, c], 2))
    from stridelab.architectures import trace
    assert trace((3, 9, 12), [training.BlurPool()]) == [(3, 5, 6)] == [out.shape[1:]]
    with pytest.raises(ValueError):
        training.BlurPool(4)


def test_blurpool_backward_is_its_numerical_gradient():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((1, 2, 7, 6))
    dout = rng.standard_normal(training._blur_forward(x).shape)
    want = numerical(lambda z: float(np.sum(training._blur_forward(z) * dout)), x)
    np.testing.assert_allclose(training._blur_backward(dout, x.shape), want, atol=1e-7)


def test_network_macs_counts_the_blur_as_a_depthwise_convolution():
    from stridelab.architectures import macs
    from stridelab.layers import Conv

    layers = [Conv(8, 3, padding=1), training.BlurPool(), Conv(16, 3, padding=1), training.BlurPool()]
    convs = 16 * 16 * 8 * 1 * 9 + 8 * 8 * 16 * 8 * 9
    blurs = 8 * 8 * 8 * 9 + 16 * 4 * 4 * 9
    assert macs((1, 16, 16), layers) == convs
    assert training.network_macs((1, 16, 16), layers) == convs + blurs == 99_072


@pytest.mark.parametrize("layers", ["blur", "stride-1 pool", "learner pool"])
def test_tiny_cnn_gradients_match_numerical_ones_with_blur_and_the_learners_pool(layers):
    from stridelab.layers import Conv, Pool

    specs = {"blur": [Conv(2, 3, padding=1), training.BlurPool(), Conv(3, 3, padding=1),
                      training.BlurPool()],
             "stride-1 pool": [Conv(2, 3, padding=1), Pool(2, stride=1), training.BlurPool()],
             "learner pool": [Conv(2, 3, padding=1), Pool(3, stride=2), Conv(3, 2), Pool(2)]}[layers]
    backward = pool2d_backward if layers == "learner pool" else None
    net = training.TinyCNN(specs, (1, 9, 8), classes=3, seed=2, pool_backward=backward)
    x = np.random.default_rng(11).standard_normal((2, 1, 9, 8))
    assert_gradients_match_numerical_ones(net, x)


def test_shift_flips_counts_changed_predictions_over_both_shifts():
    class ByCorner:
        """Predicts from one pixel: a shift moves another pixel there."""

        def predict(self, x):
            return (x[:, 0, 0, 0] > 0).astype(int)

    x = np.zeros((4, 1, 3, 3))
    x[0, 0, 0, 0] = 1          # bright corner: any shift moves it away → 2 changes
    x[1, 0, 0, 2] = 1          # wraps into the corner when moved right → 1 change
    x[2, 0, 2, 0] = 1          # wraps into the corner when moved down → 1 change
    assert training.shift_flips(ByCorner(), x) == pytest.approx(4 / 8)
    np.testing.assert_array_equal(training.shift_images(x, 0, 1)[1, 0, 0], [1, 0, 0])


def test_compare_training_keeps_the_model_and_its_shift_consistency():
    from stridelab.datasets import shapes_dataset
    from stridelab.layers import Conv

    data = shapes_dataset(train=64, test=32)
    history = training.compare_training({"tiny": [Conv(2, 3, stride=2, padding=1)]}, data,
                                        epochs=1)["tiny"]
    assert isinstance(history.model, training.TinyCNN)
    assert history.shift_flips == training.shift_flips(history.model, data.x_test)
    assert 0 <= history.shift_flips <= 1


def test_the_table_reports_shift_consistency_and_says_which_network_is_steadiest():
    runs = {"pool": [_history("pool", [0.95]), _history("pool", [0.97])],
            "stride": [_history("stride", [0.90]), _history("stride", [0.92])]}
    for hs, flips in ((runs["pool"], (0.02, 0.04)), (runs["stride"], (0.10, 0.20))):
        for history, value in zip(hs, flips):
            history.shift_flips = value
    table = training.comparison_table(runs)
    assert table.header[-2] == "predictions a 1-pixel shift changes"
    assert table.rows[1][-2] == "15.0% (10.0%–20.0%)"
    assert "fewest predictions of pool (3.0% on average) and the most of stride (15.0%)" in \
        table.title


def test_learned_figures_show_filters_maps_and_the_spread_over_seeds():
    from stridelab import learned
    from stridelab.datasets import shapes_dataset
    from stridelab.layers import Conv, Pool

    data = shapes_dataset(train=96, test=24)
    runs = training.compare_seeds({
        "conv + pool": [Conv(4, 3, padding=1), Pool(2)],
        "stride-2 conv": [Conv(4, 3, stride=2, padding=1)]}, data, seeds=(0, 1), epochs=1)
    filters = learned.filters_figure(runs, data)
    assert "16×16 values" in filters.alt and "8×8 values" in filters.alt
    assert filters.figure._suptitle.get_text()
    cmaps = {image.cmap.name for ax in filters.figure.axes for image in ax.images}
    assert cmaps <= {"cividis", "PuOr"} and {"cividis", "PuOr"} <= cmaps
    summary = learned.seed_summary_figure(runs)
    axes = [ax for ax in summary.figure.axes]
    assert len(axes) == 3 and all(ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
                                  for ax in axes)
    assert "Shift consistency" in summary.alt and "2 runs" in summary.alt


def test_the_chapter_covers_pooling_blurpool_and_the_learned_filters():
    text = prose(NB)
    assert "first** maximum in reading order" in text and "kink" in text
    assert "BlurPool costs about what pooling costs, in multiply-adds" in text
    assert "CS231n's *switches*" in text
    assert "Shift consistency is notebook 03's aliasing, in a trained network" in text
    assert "## 11. What the first layer learned" in "\n".join(c.source for c in cells(NB))
    assert "08_dilation_and_dense_prediction.ipynb" in text
    assert "(purple) beside a band of negative ones\n(orange)" not in text
    assert "positive weights (purple) beside a band of negative ones (orange)" in text


@pytest.mark.slow
def test_the_notebooks_comparison_supports_what_its_prose_says():
    """The notebook's own settings: 2,000 images, four networks, seeds 0–2, five epochs."""
    from stridelab.datasets import shapes_dataset
    from stridelab.layers import Conv, Pool

    source = cells(NB)[first_cell(NB, "networks = {")].source
    networks = eval(source.split("networks = ", 1)[1].split("\n}\n")[0] + "\n}",  # noqa: S307
                    {"Conv": Conv, "Pool": Pool, "BlurPool": training.BlurPool})
    runs = training.compare_seeds(networks, shapes_dataset(train=2000), seeds=(0, 1, 2),
                                  epochs=5, pool_backward=solution_functions(NB)["pool2d_backward"])
    flips = {name: np.mean([h.shift_flips for h in hs]) for name, hs in runs.items()}
    assert max(flips, key=flips.get) == "stride-2 conv"
    assert flips["stride-2 conv"] > 2 * max(flips["conv + pool"], flips["BlurPool"])
    accuracy = {name: [h.test_accuracy[-1] for h in hs] for name, hs in runs.items()}
    assert max(accuracy["stride-2 conv"]) < min(accuracy["conv + pool"])


def _what_the_axes_show(figure) -> list[dict]:
    """Per Axes: titles, limits, cells (None where greyed out), colour limits and map,
    visible texts and outlines, ticks and their labels, and where it sits on the figure."""
    from matplotlib.colors import to_hex

    shown = []
    for ax in figure.axes:
        image = ax.images[0]
        cells = np.ma.getdata(image.get_array()).astype(float).round(6).tolist()
        masked = np.ma.getmaskarray(image.get_array())
        (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
        shown.append(dict(
            title=ax.get_title(), xlabel=ax.get_xlabel(), ylabel=ax.get_ylabel(),
            limits=(ax.get_xlim(), ax.get_ylim()), clim=image.get_clim(),
            cmap=image.get_cmap().name,
            cells=[[None if hidden else value for value, hidden in zip(row, row_masked)]
                   for row, row_masked in zip(cells, masked)],
            texts=sorted((text.get_text(), *np.round(text.get_position(), 3).tolist(),
                          to_hex(text.get_color())) for text in ax.texts
                         if text.get_visible() and text.get_text()),
            boxes=sorted((*np.round(patch.get_xy(), 3).tolist(), patch.get_width(),
                          patch.get_height(), to_hex(patch.get_edgecolor()),
                          to_hex(patch.get_facecolor()), patch.get_fill(),
                          patch.get_linewidth()) for patch in ax.patches
                         if patch.get_visible()),
            xticks=[(tick, label.get_text()) for tick, label
                    in zip(ax.get_xticks(), ax.get_xticklabels()) if x0 <= tick <= x1],
            yticks=[(tick, label.get_text()) for tick, label
                    in zip(ax.get_yticks(), ax.get_yticklabels()) if y0 <= tick <= y1],
            place=np.round(ax.get_position().bounds, 1).tolist()))
    return shown


def test_the_matrix_view_redrawn_in_place_shows_what_a_full_redraw_shows():
    """Moving a slider updates the figure's artists in place (``full_redraw`` false); does
    it show the same matrix, counts, outlines, ticks and caption as drawing it anew?"""
    from stridelab.backprop import ConvMatrixExplorer

    in_place, full = ConvMatrixExplorer(n=7, k=3, s=2), ConvMatrixExplorer(n=7, k=3, s=2)
    full.full_redraw = True
    for settings in ({"n": 12, "p": 2}, {"k": 1, "s": 4}, {"n": 5, "k": 5, "s": 1, "p": 0},
                     {"n": 7, "k": 3, "s": 2, "p": 1}, {"k": 4}):
        for explorer in (in_place, full):
            for name, value in settings.items():
                getattr(explorer, name).value = value
        assert in_place.showing_figure and full.showing_figure, settings
        assert _what_the_axes_show(in_place.figure) == _what_the_axes_show(full.figure), \
            settings
        assert in_place.caption.value == full.caption.value
        # Axis labels, kept beside the tick labels without a layout engine, stay clear of them.
        renderer = in_place.figure.canvas.get_renderer()
        for ax in in_place.figure.axes:
            for axis in (ax.xaxis, ax.yaxis):
                low, high = sorted(axis.get_view_interval())
                ticks = [label.get_window_extent(renderer) for tick, label
                         in zip(axis.get_majorticklocs(), axis.get_majorticklabels())
                         if low <= tick <= high and label.get_text()]
                if not (axis.label.get_text() and ticks):
                    continue
                label = axis.label.get_window_extent(renderer)
                if axis is ax.yaxis:
                    assert label.x1 <= min(box.x0 for box in ticks), settings
                else:
                    assert label.y1 <= min(box.y0 for box in ticks), settings
