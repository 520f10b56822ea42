"""Notebook 08 (dilation, dense prediction and the way back up), checked against independent
sources: the definitions written out here as plain loops over Python ints (exact arithmetic),
brute-force enumeration of taps and windows, Dumoulin & Visin's published numbers, and the
round trip conv → transposed conv over every small size — for the grader's references and for
the solution notebook's own functions. Plus the explorer, the figures and what the prose says."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest

from grader.exercises import exercise
from stridelab import check, dilation
from tests.notebook_text import cells, code, first_cell, prose
from tests.submissions import solution_functions
from tests.widget_checks import assert_control_redraws

NB = "08_dilation_and_dense_prediction"

SOLUTION = solution_functions(NB)
REFERENCE = {name: exercise(name).reference for name in ("dilated_conv2d", "transposed_output_size")}
BOTH = [pytest.param(REFERENCE, id="reference"), pytest.param(SOLUTION, id="solution")]

DUMOULIN_X = np.array([[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3],
                       [2, 0, 0, 2, 2], [2, 0, 0, 0, 1]], dtype=float)
DUMOULIN_W = np.array([[0, 1, 2], [2, 2, 0], [0, 1, 2]], dtype=float)


# --- independent definitions, written out ------------------------------------------------

def pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def loop_dilated(x, w, stride=1, padding=0, dilation=1):
    """The definition, one output at a time, padding as a bounds check, in the numbers' own
    type (Python ints or Fractions stay exact): out[i][j] = Σ w[a][b] · x[i·s + a·d − p][…]."""
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    h, width = len(x), len(x[0])
    kh, kw = len(w), len(w[0])
    out = []
    i = 0
    while i * sh + dh * (kh - 1) <= h + 2 * ph - 1:      # the window's last tap still fits
        row, j = [], 0
        while j * sw + dw * (kw - 1) <= width + 2 * pw - 1:
            total = 0
            for a in range(kh):
                for b in range(kw):
                    r, c = i * sh + a * dh - ph, j * sw + b * dw - pw
                    if 0 <= r < h and 0 <= c < width:
                        total += w[a][b] * x[r][c]
            row.append(total)
            j += 1
        out.append(row)
        i += 1
    return out


def loop_transposed(x, w, stride=1, padding=0, output_padding=0):
    """conv_transpose2d with output_padding by its definition: every input value stamps
    x·w at (i·s, j·s) of a large enough canvas; crop p at the start, keep (n − 1)s − 2p + k + a."""
    (sh, sw), (ph, pw), (ah, aw) = pair(stride), pair(padding), pair(output_padding)
    h, width = x.shape
    kh, kw = w.shape
    canvas = np.zeros(((h - 1) * sh + kh + ah, (width - 1) * sw + kw + aw))
    for i in range(h):
        for j in range(width):
            for a in range(kh):
                for b in range(kw):
                    canvas[i * sh + a, j * sw + b] += x[i, j] * w[a, b]
    rows = (h - 1) * sh - 2 * ph + kh + ah
    cols = (width - 1) * sw - 2 * pw + kw + aw
    return canvas[ph:ph + rows, pw:pw + cols]


def windows_by_search(n, k, s, p, d):
    """Every start that is a multiple of s and whose last tap lands inside the padded axis."""
    return [m for m in range(n + 2 * p) if m % s == 0 and m + d * (k - 1) <= n + 2 * p - 1]


def random_case(rng, index):
    """Non-square x and w; stride, padding, dilation as ints or pairs; half the cases with
    (n + 2p − d(k − 1) − 1) mod s ≠ 0 on some axis."""
    while True:
        h, width = (int(v) for v in rng.integers(4, 13, size=2))
        kh, kw = (int(v) for v in rng.integers(1, 5, size=2))
        sh, sw = (int(v) for v in rng.integers(1, 4, size=2))
        ph, pw = (int(v) for v in rng.integers(0, 3, size=2))
        dh, dw = (int(v) for v in rng.integers(1, 4, size=2))
        if index % 3 == 0:                  # the same on both axes: passed as ints
            sw, pw, dw = sh, ph, dh
        if h == width or kh == kw:
            continue
        rooms = (h + 2 * ph - dh * (kh - 1) - 1, width + 2 * pw - dw * (kw - 1) - 1)
        if min(rooms) < 0:
            continue
        ragged = rooms[0] % sh or rooms[1] % sw
        if bool(ragged) != (index % 2 == 0):
            continue
        as_int = index % 3 == 0
        args = (sh, ph, dh) if as_int else ((sh, sw), (ph, pw), (dh, dw))
        x = rng.integers(-4, 5, size=(h, width))
        w = rng.integers(-3, 4, size=(kh, kw))
        return x, w, args, bool(ragged)


# --- dilated_conv2d ----------------------------------------------------------------------

@pytest.mark.parametrize("functions", BOTH)
def test_dilation_1_is_dumoulin_and_visins_stride_2_padding_1_example(functions):
    out = functions["dilated_conv2d"](DUMOULIN_X, DUMOULIN_W, stride=2, padding=1, dilation=1)
    np.testing.assert_array_equal(out, [[6, 17, 3], [8, 17, 13], [6, 4, 4]])


@pytest.mark.parametrize("functions", BOTH)
def test_dumoulin_and_visins_dilation_setting_gives_3x3(functions):
    """Their relationship 15 and Figure 5.1: i = 7, k = 3, d = 2, s = 1, p = 0 → o = 3."""
    x = np.arange(49.0).reshape(7, 7)
    out = functions["dilated_conv2d"](x, DUMOULIN_W, dilation=2)
    assert out.shape == (3, 3)
    # output[0, 0] by hand: taps at rows 0, 2, 4 and columns 0, 2, 4 of x = 7·row + column
    hand = sum(DUMOULIN_W[a, b] * (7 * 2 * a + 2 * b) for a in range(3) for b in range(3))
    assert out[0, 0] == hand == 10 + 60 + 94     # rows a = 0, 1, 2 of the kernel


@pytest.mark.parametrize("functions", BOTH)
@pytest.mark.parametrize("seed", range(12))
def test_dilated_conv2d_agrees_exactly_with_the_integer_loop(functions, seed):
    """Integer inputs, so the loop's Python-int sums are exact and so must the answer be."""
    rng = np.random.default_rng(seed)
    for index in range(4):
        x, w, (s, p, d), _ = random_case(rng, index)
        want = loop_dilated(x.tolist(), w.tolist(), s, p, d)
        got = functions["dilated_conv2d"](x.astype(float), w.astype(float), stride=s, padding=p,
                                          dilation=d)
        assert np.shape(got) == np.shape(want), (x.shape, w.shape, s, p, d)
        np.testing.assert_array_equal(got, np.array(want, dtype=float))


def test_the_random_cases_cover_ints_pairs_non_square_and_ragged_sizes():
    rng = np.random.default_rng(0)
    drawn = [random_case(rng, i) for i in range(12)]
    assert any(isinstance(args[0], int) for _, _, args, _ in drawn)
    assert any(isinstance(args[0], tuple) and args[2][0] != args[2][1] for _, _, args, _ in drawn)
    assert sum(ragged for *_, ragged in drawn) == 6
    assert all(x.shape[0] != x.shape[1] and w.shape[0] != w.shape[1] for x, w, _, _ in drawn)


@pytest.mark.parametrize("seed", range(5))
def test_dilated_conv2d_with_fractions_is_exact(seed):
    """Fractions: no rounding anywhere in the loop; the reference agrees to the last bit a
    float can hold."""
    rng = np.random.default_rng(100 + seed)
    x, w, (s, p, d), _ = random_case(rng, seed)
    xf = [[Fraction(int(v), 7) for v in row] for row in x]
    wf = [[Fraction(int(v), 3) for v in row] for row in w]
    want = np.array([[float(v) for v in row] for row in loop_dilated(xf, wf, s, p, d)])
    got = REFERENCE["dilated_conv2d"](x / 7, w / 3, stride=s, padding=p, dilation=d)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_dilated_conv2d_is_the_dense_dilated_output_subsampled_and_07s_dilated_kernel(seed):
    """Two more roads to the same numbers: stride s = stride 1, then every s-th; and notebook
    07's dilate applied to the kernel, slid at stride 1 (zeros multiplied and all)."""
    from stridelab.training import conv2d_layer, dilate

    rng = np.random.default_rng(200 + seed)
    x, w, (s, p, d), _ = random_case(rng, seed)
    x, w = x.astype(float), w.astype(float)
    sh, sw = pair(s)
    reference = REFERENCE["dilated_conv2d"]
    dense = reference(x, w, stride=1, padding=p, dilation=d)
    np.testing.assert_allclose(reference(x, w, stride=s, padding=p, dilation=d), dense[::sh, ::sw])
    spread = dilate(w, d)
    zeros_in_kernel = conv2d_layer(x[None, None], spread[None, None], stride=s, padding=p)[0, 0]
    np.testing.assert_allclose(zeros_in_kernel, reference(x, w, stride=s, padding=p, dilation=d))
    np.testing.assert_allclose(dilation.dilated_conv2d(x, w, s, p, d), zeros_in_kernel)


def test_the_size_law_counts_the_windows():
    """Every n ≤ 12, k, s, p, d ≤ 3: the law against a search for the windows that fit."""
    for n, k, s, p, d in itertools.product(range(1, 13), (1, 2, 3), (1, 2, 3), (0, 1, 2), (1, 2, 3)):
        starts = windows_by_search(n, k, s, p, d)
        room = n + 2 * p - d * (k - 1) - 1
        law = room // s + 1 if room >= 0 else 0
        assert len(starts) == law == dilation.dilated_size(n, k, s, p, d), (n, k, s, p, d)


def test_the_hidden_cases_are_what_the_brief_asks_for():
    """Pairs and ints, non-square inputs, (n + 2p − d(k − 1) − 1) mod s ≠ 0, and d > 1."""
    cases = [c for t in exercise("dilated_conv2d").tests(seed=7) if t.hidden
             for c in t.cases]
    kinds = {type(c.kwargs[name]).__name__ for c in cases for name in ("stride", "dilation")}
    assert kinds == {"int", "tuple"}
    assert all(c.args[0].shape[0] != c.args[0].shape[1] for c in cases)

    def ragged(case):
        (h, width), (kh, kw) = case.args[0].shape, case.args[1].shape
        (sh, sw), (ph, pw), (dh, dw) = (pair(case.kwargs[n]) for n in ("stride", "padding",
                                                                       "dilation"))
        return (h + 2 * ph - dh * (kh - 1) - 1) % sh or (width + 2 * pw - dw * (kw - 1) - 1) % sw

    assert sum(bool(ragged(c)) for c in cases) >= 3
    assert sum(max(pair(c.kwargs["dilation"])) > 1 for c in cases) >= 6


TAPS = "out[i, j] = np.sum(w * xp[i*sh:i*sh+dh*(kh-1)+1:dh, j*sw:j*sw+dw*(kw-1)+1:dw])"


@pytest.mark.parametrize("size, body, name", [
    ("rows, cols = (H + 2*ph - dh*kh) // sh + 1, (W + 2*pw - dw*kw) // sw + 1", TAPS,
     "wrong dilation offset d·k instead of d(k − 1)"),
    ("rows, cols = (H + 2*ph - kh) // sh + 1, (W + 2*pw - kw) // sw + 1",
     "out[i, j] = np.sum(w * xp[i*sh:i*sh+kh, j*sw:j*sw+kw])", "dilation ignored"),
])
def test_the_required_wrong_variants_are_named_in_the_check_cell(size, body, name):
    template = '''
import numpy as np
def dilated_conv2d(x, w, stride=1, padding=0, dilation=1):
    pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    kh, kw = w.shape
    H, W = x.shape
    xp = np.pad(x, ((ph, ph), (pw, pw)))
    rows = (H + 2*ph - dh*(kh - 1) - 1) // sh + 1
    cols = (W + 2*pw - dw*(kw - 1) - 1) // sw + 1
    {size}
    out = np.zeros((max(rows, 0), max(cols, 0)))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            {body}
    return out
'''
    namespace = {}
    exec(template.format(size=size, body=body), namespace)
    report = check("dilated_conv2d", namespace["dilated_conv2d"])
    assert not report.passed and f"Hint: {name} — " in str(report)


# --- transposed_output_size --------------------------------------------------------------

@pytest.mark.parametrize("functions", BOTH)
def test_dumoulin_and_visins_transposed_sizes(functions):
    size = functions["transposed_output_size"]
    assert size(2, 3, stride=2) == 5                       # relationship 12: i = 5, k = 3, s = 2
    assert size(3, 3, stride=2, padding=1) == 5            # relationship 13: i = 5, p = 1
    assert size(3, 3, stride=2, padding=1, output_padding=1) == 6   # relationship 14: i = 6, a = 1
    assert size(2, 3) == 4                                 # relationship 8: o' = i' + (k − 1)


@pytest.mark.parametrize("functions", BOTH)
def test_every_size_comes_back_with_its_output_padding(functions):
    """For every small n, k, s, p: the convolution's output size, transposed with
    a = (n + 2p − k) mod s, is n again — and exactly s values of n share each output size."""
    size = functions["transposed_output_size"]
    for k in range(1, 6):
        for s in range(1, 5):
            for p in range(0, k):
                sharing = {}
                for n in range(max(1, k - 2 * p), 40):
                    m = (n + 2 * p - k) // s + 1
                    a = (n + 2 * p - k) % s
                    assert size(m, k, stride=s, padding=p, output_padding=a) == n
                    sharing.setdefault(m, []).append(n)
                full = [ns for m, ns in sharing.items() if m not in (min(sharing), max(sharing))]
                assert all(len(ns) == s for ns in full)


@pytest.mark.parametrize("functions", BOTH)
@pytest.mark.parametrize("seed", range(5))
def test_the_size_is_the_shape_of_a_real_transposed_convolution(functions, seed):
    """The stamping loop's output shape, for random n, k, s, p, a (int and pair arguments)."""
    rng = np.random.default_rng(300 + seed)
    for _ in range(6):
        h, width = (int(v) for v in rng.integers(1, 7, size=2))
        kh, kw = (int(v) for v in rng.integers(1, 5, size=2))
        sh, sw = (int(v) for v in rng.integers(1, 4, size=2))
        ph, pw = int(rng.integers(0, kh)), int(rng.integers(0, kw))
        ah, aw = int(rng.integers(0, sh)), int(rng.integers(0, sw))
        rows = (h - 1) * sh - 2 * ph + kh + ah
        cols = (width - 1) * sw - 2 * pw + kw + aw
        if rows < 1 or cols < 1:
            continue
        x, w = rng.standard_normal((h, width)), rng.standard_normal((kh, kw))
        want = loop_transposed(x, w, (sh, sw), (ph, pw), (ah, aw))
        got = dilation.conv_transpose2d_sized(x[None, None], w[None, None], (sh, sw), (ph, pw),
                                              (ah, aw))[0, 0]
        np.testing.assert_allclose(got, want, atol=1e-12)
        size = functions["transposed_output_size"]
        assert want.shape == (size(h, kh, sh, ph, ah), size(width, kw, sw, pw, aw))


@pytest.mark.parametrize("functions", BOTH)
@pytest.mark.parametrize("args", [
    dict(n=3, k=3, stride=2, output_padding=2), dict(n=3, k=3, stride=2, output_padding=3),
    dict(n=3, k=3, stride=1, output_padding=1), dict(n=3, k=0), dict(n=3, k=3, stride=0),
    dict(n=3, k=3, padding=-1), dict(n=3, k=3, stride=2, output_padding=-1),
    dict(n=1, k=1, padding=1), dict(n=2, k=1, stride=1, padding=2),
])
def test_impossible_settings_raise_value_error(functions, args):
    with pytest.raises(ValueError):
        functions["transposed_output_size"](**args)


def test_output_padding_makes_the_transposed_convolution_the_backward_pass():
    """With a = (n + 2p − k) mod s, convᵀ is conv's dx for every n, ragged ones included."""
    from stridelab.training import conv2d_backward, conv2d_layer

    rng = np.random.default_rng(5)
    for n, k, s, p in [(10, 3, 2, 1), (9, 3, 2, 1), (11, 4, 3, 1), (8, 2, 3, 0)]:
        x, w = rng.standard_normal((1, 1, n, n + 1)), rng.standard_normal((1, 1, k, k))
        g = rng.standard_normal(conv2d_layer(x, w, stride=s, padding=p).shape)
        a = ((n + 2 * p - k) % s, (n + 1 + 2 * p - k) % s)
        np.testing.assert_allclose(dilation.conv_transpose2d_sized(g, w, s, p, a),
                                   conv2d_backward(g, x, w, s, p)[0], atol=1e-12)


# --- receptive fields and gridding ---------------------------------------------------------

def offsets_by_enumeration(layers):
    """Every input offset a top unit reaches, with how many tap chains reach it; ``layers``
    from the input up, so each tap's step is its dilation times the jump of the layers below."""
    counts = {}
    for choice in itertools.product(*[range(k) for k, _, _ in layers]):
        position, jump = 0, 1
        for (k, s, d), a in zip(layers, choice):
            position += a * d * jump
            jump *= s
        counts[position] = counts.get(position, 0) + 1
    return counts


@pytest.mark.parametrize("layers", [
    [(3, 1, 2)] * 3, [(3, 1, 1), (3, 1, 2), (3, 1, 4)], [(3, 1, 1), (3, 1, 2), (3, 1, 5)],
    [(3, 2, 1), (3, 2, 1)], [(2, 2, 2), (3, 1, 3)], [(5, 1, 2), (3, 3, 1), (2, 1, 2)],
])
def test_receptive_field_and_path_counts_match_enumeration(layers):
    """Each chain picks one tap per layer; the unit reads position Σ a_l · d_l · (jump below l)."""
    reached = offsets_by_enumeration(layers)
    counts = dilation.path_counts(layers)
    size, _ = dilation.receptive_field(layers)
    assert len(counts) == size == max(reached) + 1
    assert {i: int(c) for i, c in enumerate(counts) if c} == reached
    jump = int(np.prod([s for _, s, _ in layers]))
    assert dilation.receptive_field(layers)[1] == jump


def test_gridding_and_doubling_rates():
    assert dilation.describe_stack([(3, 1, 2)] * 3)["holes"] == pytest.approx(1 - 49 / 169)
    for rates in ((1, 2, 4), (1, 2, 5), (1, 2, 3)):
        assert dilation.describe_stack([(3, 1, d) for d in rates])["holes"] == 0
    for layers_count in range(1, 6):
        rates = [2 ** i for i in range(layers_count)]
        assert dilation.receptive_field([(3, 1, d) for d in rates])[0] == 2 ** (layers_count + 1) - 1


# --- dense prediction ------------------------------------------------------------------------

def test_output_stride_costs_are_counted_with_notebook_06s_network():
    from stridelab import architectures as arch

    plain = arch.resnet(101, 513)
    os32 = dilation.output_stride_network(101, 513, 32)
    assert os32.macs == plain.macs - plain.stage_costs()[-1].macs     # just the classifier off
    sizes = {os_: arch.trace(net.input_shape, net.layers)[-1]
             for os_, net in ((os_, dilation.output_stride_network(101, 513, os_))
                              for os_ in (32, 16, 8))}
    assert sizes == {32: (2048, 17, 17), 16: (2048, 33, 33), 8: (2048, 65, 65)}
    ratio16 = dilation.output_stride_network(101, 513, 16).macs / os32.macs
    ratio8 = dilation.output_stride_network(101, 513, 8).macs / os32.macs
    assert f"{ratio16:.2f}" == "1.29" and f"{ratio8:.2f}" == "4.35"
    table = dilation.output_stride_table(101, 513)
    assert [row[-1] for row in table.rows] == ["1.00×", "1.29×", "4.35×"]
    text = prose(NB)
    assert "1.29×" in text and "4.35×" in text and "nearly 15× more numbers" in text
    assert 14.5 < (65 / 17) ** 2 < 15


def test_dilated_stages_keep_the_receptive_field_they_lost_the_stride_of():
    assert [dilation.receptive_field(layers) for layers in
            ([(3, 2, 1), (3, 1, 1)], [(3, 1, 1), (3, 1, 1)], [(3, 1, 1), (3, 1, 2)])] == \
        [(7, 2), (5, 1), (7, 1)]


def test_dense_labels_at_output_stride_32_lose_the_thin_objects():
    alt = dilation.dense_labels_figure().alt
    assert "output stride 32 (8×8 labels)" in alt and "the bar and the square gone" in alt
    assert "output stride 8 (32×32 labels)" in alt and "gone" not in alt.split("output stride 8")[1]


def test_keeping_resolution_costs_about_9x_the_strided_stack():
    from stridelab import architectures as arch
    from stridelab.layers import Conv

    dense = arch.macs((64, 256, 256), [Conv(64, 3, padding=1)] * 3)
    strided = arch.macs((64, 256, 256), [Conv(64, 3, stride=2, padding=1)] * 3)
    assert round(dense / strided) == 9 and "About 9× more work" in prose(NB)
    # a dilated 3×3 layer padded by its dilation has the shape of the undilated one padded by 1
    x = np.zeros((20, 23))
    for d in (1, 2, 4):
        assert dilation.dilated_conv2d(x, np.ones((3, 3)), padding=d, dilation=d).shape == x.shape


# --- the way back up -------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(4))
def test_the_encoder_decoder_returns_every_input_size(seed):
    rng = np.random.default_rng(seed)
    for _ in range(5):
        h, width = (int(v) for v in rng.integers(8, 70, size=2))
        x = rng.standard_normal((1, 2, h, width))
        trip = dilation.encoder_decoder(x, SOLUTION["transposed_output_size"])
        assert trip.returns_input_size and trip.decoded[-1].shape == x.shape
        for up, skip in zip(trip.decoded, reversed(trip.skips)):
            assert up.shape[2:] == skip.shape[2:]
        assert "your transposed_output_size" in trip.note
        unpadded = dilation.encoder_decoder(x, use_output_padding=False)
        assert unpadded.returns_input_size == (h % 8 == 1 and width % 8 == 1)


def test_the_encoder_decoder_falls_back_while_the_exercise_is_not_written():
    def transposed_output_size(n, k, stride=1, padding=0, output_padding=0):
        raise NotImplementedError

    trip = dilation.encoder_decoder(np.zeros((1, 1, 37, 50)), transposed_output_size)
    assert trip.returns_input_size and "not implemented yet" in trip.note


def test_the_ambiguity_table_and_figure():
    table = dilation.ambiguity_table(3, 2, 1, range(8, 14))
    assert [tuple(map(int, row[:2])) for row in table.rows] == \
        [(8, 4), (9, 5), (10, 5), (11, 6), (12, 6), (13, 7)]
    assert all(row[4] == row[0] for row in table.rows)
    alt = dilation.ambiguity_figure(3, 2, 1, (9, 10)).alt
    assert "n = 9: 5 windows" in alt and "n = 10: 5 windows" in alt


# --- the explorer ----------------------------------------------------------------------------

@pytest.fixture()
def explorer():
    return dilation.DilationExplorer(n=9, k=3, dilation=2, stride=1, padding=0, layers=2)


def test_the_explorer_starts_with_the_formula_and_gridding_in_its_caption(explorer):
    assert bytes(explorer.image.value).startswith(b"\x89PNG")
    text = explorer.describe()
    assert "floor((9 + 2·0 − 2·(3 − 1) − 1) / 1) + 1 = floor(4/1) + 1 = 5" in text
    assert "9×9" in text and "69% never reaches the top unit" in text


@pytest.mark.parametrize("slider, value", [("n", 10), ("k", 4), ("d", 3), ("s", 2), ("p", 1),
                                           ("layers", 3)])
def test_every_slider_redraws_and_changes_the_caption(explorer, slider, value):
    assert_control_redraws(explorer, slider, value)
    assert explorer.message.value == ""


def test_the_browser_tests_key_presses_keep_changing_the_figure(explorer):
    """The browser test moves each slider one step right, in order: each step must show a
    figure or a message that differs from the step before."""
    seen = [explorer.caption.value + explorer.message.value]
    for slider in (explorer.n, explorer.k, explorer.d, explorer.s, explorer.p, explorer.layers):
        slider.value = slider.value + 1 if slider.value < slider.max else slider.value - 1
        seen.append(explorer.caption.value + explorer.message.value)
    assert len(set(seen)) == len(seen)


def test_stride_2_and_dilation_2_leave_odd_inputs_unread(explorer):
    explorer.p.value = 2
    explorer.s.value = 2
    assert "No tap ever reads input rows and columns 1, 3, 5, 7" in explorer.describe()
    explorer.s.value = 1
    explorer.d.value = 1
    assert "no holes" in explorer.describe()


def test_an_impossible_setting_shows_a_message_not_a_figure(explorer):
    explorer.k.value = 5
    explorer.d.value = 3
    assert "No window fits" in explorer.message.value and "13" in explorer.message.value
    assert not explorer.showing_figure and explorer.caption.value == ""
    fallback = explorer._repr_mimebundle_()
    assert "image/png" not in fallback and "No window fits" in fallback["text/html"]


def test_the_explorer_falls_back_to_an_image_with_alt_text(explorer):
    bundle = explorer._repr_mimebundle_()
    assert "image/png" in bundle and 'alt="n = 9, k = 3, d = 2' in bundle["text/html"]


def test_the_explorers_figure_is_titled_labelled_and_colour_blind_safe(explorer):
    grid_ax, out_ax, field_ax = explorer.figure.axes[:3]
    for ax in (grid_ax, out_ax, field_ax):
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert explorer.figure._suptitle.get_text().startswith("H_out = floor(")
    assert field_ax.images[0].cmap.name.startswith("cividis")


# --- figures, the asset and the prose --------------------------------------------------------

def test_static_figures_carry_titles_labels_and_alt_text():
    x7 = np.arange(49.0).reshape(7, 7)
    for display in (dilation.taps_figure(SOLUTION["dilated_conv2d"], x7, DUMOULIN_W, dilation=2),
                    dilation.gridding_figure(), dilation.dense_labels_figure(),
                    dilation.ambiguity_figure()):
        assert len(display.alt) > 80 and display.figure._suptitle.get_text()
        for ax in display.figure.axes:
            if ax.get_label() == "<colorbar>":
                continue
            assert ax.get_xlabel(), display.alt[:60]
    assert "computed by your dilated_conv2d" in dilation.taps_figure(
        SOLUTION["dilated_conv2d"], x7, DUMOULIN_W, dilation=2).figure._suptitle.get_text()


def test_the_opening_animation_spreads_the_taps_1_to_4_apart():
    from PIL import Image

    from tests.test_build import ROOT
    from tools.assets.nb08 import DILATIONS

    assert DILATIONS == (1, 2, 3, 4)
    with Image.open(ROOT / "assets" / "dilated_taps.gif") as gif:
        assert gif.n_frames == 4
    opening = cells(NB)[0].source
    assert "../assets/dilated_taps.gif" in opening and "from 5×5 to 17×17" in opening
    assert [dilation.receptive_field([(3, 1, d)] * 2)[0] for d in DILATIONS] == [5, 9, 13, 17]
    assert [dilation.dilated_size(11, 3, dilation=d) for d in DILATIONS] == [9, 7, 5, 3]


def test_the_prose_says_what_the_numbers_are():
    text = prose(NB)
    assert "Same word, different things" in text
    assert "relationship 14" in text and "relationship 15" in text and "Figure 5.1" in text
    assert "o' = s(i' − 1) + a + k − 2p" in text
    assert dilation.describe_stack([(3, 1, 2)] * 2)["holes"] == pytest.approx(0.69, abs=0.005)
    assert "69 %" in text and "71 %" in text
    assert dilation.describe_stack([(3, 1, 2)] * 3)["holes"] == pytest.approx(0.71, abs=0.005)
    assert "`2^(L+1) − 1`" in text


def test_the_failures_on_purpose_are_shown():
    source = code(NB)
    assert "transposed_output_size(3, 3, stride=2, output_padding=2)" in source
    assert "use_output_padding=False" in source and "np.concatenate" in source
    index = first_cell(NB, "use_output_padding=False")
    assert "skip connection" in cells(NB)[index - 1].source


@pytest.mark.slow
def test_nbgrader_releases_and_autogrades_notebook_08(tmp_path):
    """nbgrader's own commands on notebook 08: the solution scores 13 of 13, the untouched
    student notebook 0, both through the course grader's sandbox."""
    import csv

    from tests.conftest import run_grader
    from tests.submissions import write_submission
    from tests.test_nbgrader import nbgrader

    course = tmp_path / "course"
    assert run_grader("nbgrader-course", course).returncode == 0
    nbgrader(course, "generate_assignment", NB)
    for student, student_version in (("honest", False), ("untouched", True)):
        folder = course / "submitted" / student / NB
        folder.mkdir(parents=True)
        write_submission(folder, NB, {}, student_version=student_version)
    nbgrader(course, "autograde", NB, "--GradeInSandbox.seed=5")
    nbgrader(course, "export", "--to", "grades.csv")
    with open(course / "grades.csv", newline="") as file:
        scores = {row["student_id"]: (float(row["score"]), float(row["max_score"]))
                  for row in csv.DictReader(file)}
    assert scores == {"honest": (13.0, 13.0), "untouched": (0.0, 13.0)}
