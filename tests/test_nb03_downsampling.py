"""Notebook 03 (downsampling), checked against definitions written out as plain loops —
for the grader's references and for the solution notebook's answers — and the facts the
notebook shows: strided convolution is dense convolution then subsampling, average pooling
and subsampling are strided convolutions, a blur makes subsampling steadier under shifts.
Plus the aliasing lab: its caption follows every control."""

from __future__ import annotations

import math

import numpy as np
import pytest

from grader.exercises import exercise
from stridelab import check
from tests.notebook_text import cells, first_cell, prose
from tests.test_nb02_stride import (defined, loop_dense_conv, loop_pad, loop_subsample,
                                    solution_functions)
from tests.widget_checks import assert_control_redraws

NB = "03_downsampling"

SOLUTION = solution_functions("03_downsampling")
REFERENCE = {name: exercise(name).reference for name in ("subsample", "pool2d", "blur_downsample")}
BOTH = [pytest.param(REFERENCE, id="reference"), pytest.param(SOLUTION, id="solution")]


def pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def loop_pool(x, size, stride, mode):
    """Whole windows only, each reduced by hand."""
    kh, kw = pair(size)
    sh, sw = pair(size if stride is None else stride)
    rows, cols = (x.shape[0] - kh) // sh + 1, (x.shape[1] - kw) // sw + 1
    out = np.zeros((rows, cols))
    for i in range(rows):
        for j in range(cols):
            values = [x[i * sh + a, j * sw + b] for a in range(kh) for b in range(kw)]
            out[i, j] = max(values) if mode == "max" else sum(values) / len(values)
    return out


def mirror_index(index, length):
    """numpy's 'reflect' padding by one, index by index: -1 → 1, length → length - 2."""
    if index < 0:
        return -index
    if index >= length:
        return 2 * (length - 1) - index
    return index


def loop_blur_downsample(x, stride):
    weights = [[1, 2, 1], [2, 4, 2], [1, 2, 1]]
    h, w = x.shape
    blurred = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            blurred[i, j] = sum(weights[a][b] * x[mirror_index(i + a - 1, h), mirror_index(j + b - 1, w)]
                                for a in range(3) for b in range(3)) / 16
    return loop_subsample(blurred, *pair(stride))


RNG = np.random.default_rng(2024)
SHAPES = [(4, 6), (5, 7), (7, 5), (8, 8), (3, 10), (9, 2), (2, 2)]


@pytest.mark.parametrize("functions", BOTH)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("stride", [1, 2, 3, (2, 1), (1, 3), (4, 2), 11])
def test_subsample_keeps_rows_and_columns_0_s_2s(functions, shape, stride):
    y = RNG.standard_normal(shape)
    result = functions["subsample"](y, stride)
    np.testing.assert_array_equal(result, loop_subsample(y, *pair(stride)))
    assert result.shape == tuple(math.ceil(n / s) for n, s in zip(shape, pair(stride)))


POOL_CASES = [((4, 4), 2, None), ((5, 7), 2, None), ((5, 5), 3, 2), ((7, 6), (3, 2), (2, 1)),
              ((6, 9), (2, 3), None), ((8, 5), 1, 2), ((9, 9), 4, 3), ((3, 8), (3, 1), (1, 4))]


@pytest.mark.parametrize("functions", BOTH)
@pytest.mark.parametrize("shape, size, stride", POOL_CASES)
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pool2d_against_loops(functions, shape, size, stride, mode):
    x = RNG.standard_normal(shape)
    np.testing.assert_allclose(functions["pool2d"](x, size, stride=stride, mode=mode),
                               loop_pool(x, size, stride, mode), atol=1e-12)


@pytest.mark.parametrize("functions", BOTH)
def test_pool2d_stride_defaults_to_size_and_its_default_mode_is_max(functions):
    x = np.arange(16.0).reshape(4, 4)
    np.testing.assert_array_equal(functions["pool2d"](x, 2), [[5, 7], [13, 15]])


@pytest.mark.parametrize("functions", BOTH)
@pytest.mark.parametrize("mode", ["mean", "min", "MAX", "average", ""])
def test_pool2d_refuses_unknown_modes(functions, mode):
    with pytest.raises(ValueError):
        functions["pool2d"](np.zeros((4, 4)), 2, mode=mode)


@pytest.mark.parametrize("functions", BOTH)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("stride", [1, 2, 3, (1, 2), (3, 2)])
def test_blur_downsample_against_loops(functions, shape, stride):
    x = RNG.standard_normal(shape)
    np.testing.assert_allclose(functions["blur_downsample"](x, stride=stride),
                               loop_blur_downsample(x, stride), atol=1e-12)


@pytest.mark.parametrize("functions", BOTH)
def test_blur_downsample_keeps_a_flat_image_flat_and_defaults_to_stride_2(functions):
    result = functions["blur_downsample"](np.full((6, 5), 3.0))
    np.testing.assert_allclose(result, np.full((3, 3), 3.0))


def test_reflect_padding_is_what_the_notebook_says():
    np.testing.assert_array_equal(np.pad(np.array([1, 2, 3]), 1, mode="reflect"), [2, 1, 2, 3, 2])


# --- what the notebook shows ----------------------------------------------------------------

@pytest.mark.parametrize("shape, kernel, stride, padding", [
    ((9, 8), (3, 3), 2, 0), ((10, 7), (2, 3), 3, 1), ((6, 11), (3, 2), (2, 3), (1, 0)),
])
def test_strided_convolution_is_dense_convolution_then_subsampling(shape, kernel, stride, padding):
    from stridelab.downsampling import numpy_conv2d, numpy_conv2d_strided

    x, w = RNG.standard_normal(shape), RNG.standard_normal(kernel)
    (ph, pw), (sh, sw) = pair(padding), pair(stride)
    by_loops = loop_subsample(loop_dense_conv(loop_pad(x, ph, pw), w), sh, sw)
    np.testing.assert_allclose(numpy_conv2d_strided(x, w, stride, padding), by_loops, atol=1e-12)
    np.testing.assert_allclose(numpy_conv2d(x, w), loop_dense_conv(x, w), atol=1e-12)
    np.testing.assert_allclose(REFERENCE["subsample"](numpy_conv2d(np.pad(x, ((ph, ph), (pw, pw))), w),
                                                      stride), by_loops, atol=1e-12)


def test_average_pooling_and_subsampling_are_strided_convolutions():
    from stridelab.downsampling import numpy_conv2d_strided, pooling_as_convolution

    x = RNG.standard_normal((9, 10))
    np.testing.assert_allclose(REFERENCE["pool2d"](x, 3, mode="avg"),
                               numpy_conv2d_strided(x, np.full((3, 3), 1 / 9), stride=3))
    np.testing.assert_allclose(REFERENCE["subsample"](x, 2),
                               numpy_conv2d_strided(x, np.ones((1, 1)), stride=2))
    table = pooling_as_convolution(REFERENCE["pool2d"], REFERENCE["subsample"])
    assert [row[3][:3] for row in table.rows] == ["yes", "yes", "no:"]
    assert "your pool2d" in table.note and "your subsample" in table.note


def test_the_cost_table_counts_the_s_squared_waste():
    from stridelab.downsampling import measure_cost

    x, w = RNG.standard_normal((40, 36)), RNG.standard_normal((3, 3))
    cost = measure_cost(x, w, strides=(2, 4))
    assert cost.dense_macs == 38 * 34 * 9
    assert cost.strided_macs == (19 * 17 * 9, 10 * 9 * 9)       # floor(37/2)+1, floor(33/4)+1 …
    assert cost.max_difference == (0.0, 0.0)
    assert "wasted" in repr(cost)


def test_zhangs_one_dimensional_example():
    signal = np.array([[0.0, 0, 1, 1, 0, 0, 1, 1]])
    pool = REFERENCE["pool2d"]
    np.testing.assert_array_equal(pool(signal, (1, 2)), [[0, 1, 0, 1]])
    np.testing.assert_array_equal(pool(np.roll(signal, 1, axis=1), (1, 2)), [[1, 1, 1, 1]])
    from stridelab.downsampling import shift_demo_1d

    alt = shift_demo_1d(pool).alt
    assert "[0, 1, 0, 1]" in alt and "[1, 1, 1, 1]" in alt and "0.25" in alt


@pytest.mark.parametrize("pattern", ["zone plate", "fine stripes", "photograph"])
def test_blurring_first_makes_one_pixel_shifts_matter_less(pattern):
    from stridelab.downsampling import PATTERNS, shift_change

    make = PATTERNS[pattern]
    plain = shift_change(lambda a: REFERENCE["subsample"](a, 2), make, 2, 1)
    blurred = shift_change(lambda a: REFERENCE["blur_downsample"](a, 2), make, 2, 1)
    assert blurred < plain
    # A whole-stride shift only moves the output: nothing else changes.
    assert shift_change(lambda a: REFERENCE["subsample"](a, 2), make, 2, 2) < 1e-12


def test_fine_stripes_alias_to_stripes_twelve_pixels_apart():
    from stridelab.downsampling import stripes

    row = REFERENCE["subsample"](stripes(size=96, period=2.4), 2)[0]   # samples 2 pixels apart
    spectrum = np.abs(np.fft.rfft(row - row.mean()))
    period_in_input_pixels = 2 * len(row) / np.argmax(spectrum)
    assert period_in_input_pixels == pytest.approx(12, rel=0.05)


# --- feedback: realistic wrong answers get their named hint ---------------------------------

POOL_CEIL = '''
def pool2d(x, size, stride=None, mode="max"):
    import math
    if mode not in ("max", "avg"):
        raise ValueError(mode)
    k = size if isinstance(size, int) else size[0]
    s = k if stride is None else (stride if isinstance(stride, int) else stride[0])
    kw = size if isinstance(size, int) else size[1]
    sw = kw if stride is None else (stride if isinstance(stride, int) else stride[1])
    rows, cols = math.ceil((x.shape[0] - k) / s) + 1, math.ceil((x.shape[1] - kw) / sw) + 1
    f = np.max if mode == "max" else np.mean
    return np.array([[f(x[i * s:i * s + k, j * sw:j * sw + kw]) for j in range(cols)]
                     for i in range(rows)])
'''
POOL_STRIDE_ONE = '''
def pool2d(x, size, stride=None, mode="max"):
    from numpy.lib.stride_tricks import sliding_window_view
    if mode not in ("max", "avg"):
        raise ValueError(mode)
    k = (size, size) if isinstance(size, int) else size
    s = (1, 1) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    v = sliding_window_view(x, k)[::s[0], ::s[1]]
    return v.max(axis=(2, 3)) if mode == "max" else v.mean(axis=(2, 3))
'''
BLUR_ZEROS = '''
def blur_downsample(x, stride=2):
    k = np.outer([1, 2, 1], [1, 2, 1]) / 16
    p = np.pad(x, 1)
    b = np.array([[np.sum(p[i:i + 3, j:j + 3] * k) for j in range(x.shape[1])]
                  for i in range(x.shape[0])])
    s = (stride, stride) if isinstance(stride, int) else stride
    return b[::s[0], ::s[1]]
'''
BLUR_AFTER = '''
def blur_downsample(x, stride=2):
    s = (stride, stride) if isinstance(stride, int) else stride
    x = x[::s[0], ::s[1]]
    k = np.outer([1, 2, 1], [1, 2, 1]) / 16
    p = np.pad(x, 1, mode="reflect")
    return np.array([[np.sum(p[i:i + 3, j:j + 3] * k) for j in range(x.shape[1])]
                     for i in range(x.shape[0])])
'''
SUBSAMPLE_UNPACKED = '''
def subsample(y, stride):
    return y[::stride, ::stride]
'''
SUBSAMPLE_OFFSET = '''
def subsample(y, stride):
    s = (stride, stride) if isinstance(stride, int) else stride
    return y[s[0] - 1::s[0], s[1] - 1::s[1]]
'''


@pytest.mark.parametrize("source, name, hint", [
    (POOL_CEIL, "pool2d", "Hint: ceil instead of floor"),
    (POOL_STRIDE_ONE, "pool2d", "Hint: stride defaulted to 1"),
    (BLUR_ZEROS, "blur_downsample", "Hint: zero padding instead of reflect"),
    (BLUR_AFTER, "blur_downsample", "Hint: subsampled before blurring"),
    (SUBSAMPLE_UNPACKED, "subsample", "Hint: pair stride not unpacked"),
    (SUBSAMPLE_OFFSET, "subsample", "Hint: started at stride − 1"),
])
def test_wrong_variants_are_named_in_the_check_cell(source, name, hint):
    report = check(name, defined(source, name))
    assert not report.passed
    assert hint in str(report), str(report)


# --- the aliasing lab -------------------------------------------------------------------------

@pytest.fixture()
def lab():
    from stridelab.downsampling import AliasingLab

    return AliasingLab(stride=2, shift=0)


@pytest.mark.parametrize("control, value", [("stride", 3), ("shift", 1), ("pattern", "fine stripes")])
def test_every_control_redraws_and_changes_the_caption(lab, control, value):
    assert_control_redraws(lab, control, value)


def test_the_caption_reports_the_changes_and_explains_whole_stride_shifts(lab):
    lab.shift.value = 1
    assert "The plain output changes" in lab.describe()
    lab.shift.value = 2
    assert "only moves the output by 1 pixel" in lab.describe()
    assert lab._repr_mimebundle_()["text/html"].count('alt="') == 1


# --- a blur sized for the stride ------------------------------------------------------------

def test_the_blur_filter_widens_with_the_stride():
    from stridelab.downsampling import blur_filter

    assert {s: len(blur_filter(s)) for s in (1, 2, 3, 4, 8)} == {1: 1, 2: 3, 3: 5, 4: 7, 8: 15}
    for s in (1, 2, 3, 4, 8):
        assert blur_filter(s).sum() == pytest.approx(1)
        np.testing.assert_allclose(blur_filter(s), blur_filter(s)[::-1])
    np.testing.assert_allclose(blur_filter(2), [0.25, 0.5, 0.25])      # BlurPool's, the exercise's
    np.testing.assert_allclose(blur_filter(3) * 16, [1, 4, 6, 4, 1])
    # Stride 4 is two stride-2 stages: [1, 2, 1] then [1, 2, 1] on every second pixel.
    np.testing.assert_allclose(blur_filter(4), np.convolve([1, 2, 1], [1, 0, 2, 0, 1]) / 16)


def test_stride_4_blurs_in_two_stages_of_the_learners_function():
    from stridelab.downsampling import antialiased_downsample

    calls = []

    def blur_downsample(x, stride=2):
        calls.append(stride)
        return REFERENCE["blur_downsample"](x, stride)

    x = RNG.standard_normal((32, 24))
    out = antialiased_downsample(x, 4, blur_downsample)
    assert calls == [2, 2] and out.shape == (8, 6)
    np.testing.assert_allclose(out, REFERENCE["blur_downsample"](REFERENCE["blur_downsample"](x, 2), 2))
    assert antialiased_downsample(x, 3).shape == (11, 8)
    np.testing.assert_array_equal(antialiased_downsample(x, 1), x)


@pytest.mark.parametrize("pattern", ["zone plate", "photograph"])
def test_at_stride_4_the_wider_blur_is_steadier_than_the_3x3_one(pattern):
    from stridelab.downsampling import PATTERNS, antialiased_downsample, shift_change

    make = PATTERNS[pattern]
    one_stage = np.mean([shift_change(lambda a: REFERENCE["blur_downsample"](a, 4), make, 4, d, 96)
                         for d in (1, 2, 3)])
    two_stages = np.mean([shift_change(lambda a: antialiased_downsample(a, 4), make, 4, d, 96)
                          for d in (1, 2, 3)])
    assert two_stages < 0.8 * one_stage


def test_the_gallery_and_lab_use_the_stride_4_blur():
    from stridelab.downsampling import AliasingLab, downsampling_gallery

    calls = []

    def blur_downsample(x, stride=2):
        calls.append(stride)
        return REFERENCE["blur_downsample"](x, stride)

    gallery = downsampling_gallery(REFERENCE["subsample"], REFERENCE["pool2d"], blur_downsample,
                                   stride=4)
    assert set(calls) == {2} and "2 × (blur 3×3, subsample 2)" in gallery.alt
    assert "average pooling is smoother but keeps some jagged edges" in gallery.alt
    lab = AliasingLab(stride=4, shift=1)
    assert "2 stride-2 stages" in lab.describe() and "7 taps" in lab.describe()


def test_the_lab_caption_and_the_table_give_the_same_numbers():
    from stridelab.downsampling import AliasingLab, shift_sensitivity

    table = shift_sensitivity(REFERENCE["blur_downsample"], REFERENCE["subsample"], stride=2)
    for pattern in ("zone plate", "fine stripes", "photograph"):
        row = next(r for r in table.rows if r[0] == pattern and r[1] == "1")
        caption = AliasingLab(stride=2, shift=1, pattern=pattern).describe()
        assert f"changed by {row[2]} on average" in caption
        assert f"the output changed by {row[3]}" in caption


# --- what the chapter says ------------------------------------------------------------------

def test_the_prose_gets_pooling_and_all_cnn_right():
    text = prose(NB)
    assert "replaced every pooling layer" not in text
    assert "kept one global average pool" in text
    assert "Here are the four at stride 4 on a detail" not in text
    assert "made four times smaller five ways" in text
    assert "average pooling too" in text and "fine detail leaks through it and aliases" in text
    assert "blur must widen with the stride" in text


def test_the_one_dimensional_shift_says_it_wraps_around():
    from stridelab.downsampling import shift_demo_1d

    assert "circular (`np.roll`): the last sample wraps round" in prose(NB)
    assert "wraps round to the front" in shift_demo_1d(REFERENCE["pool2d"]).alt


def test_timing_prose_comes_from_the_measurement():
    from stridelab.downsampling import measure_cost

    assert "About 4×, 9× and 16×" not in prose(NB)
    assert "The last line under the table says what your machine just measured" in prose(NB)
    x, w = RNG.standard_normal((40, 36)), RNG.standard_normal((3, 3))
    cost = measure_cost(x, w, strides=(2, 4), repeats=3)
    assert cost.repeats == 3 and len(cost.time_ratios()) == 2
    summary = cost.summary()
    assert summary.startswith("Measured on this machine")
    assert f"{cost.time_ratios()[1]:.1f}×" in summary and f"{cost.work_ratios()[1]:.1f}×" in summary
    assert summary in repr(cost)


def test_the_cost_figure_has_readable_log_ticks():
    from stridelab.downsampling import cost_figure, measure_cost

    cost = measure_cost(RNG.standard_normal((40, 36)), RNG.standard_normal((3, 3)), repeats=1)
    figure = cost_figure(cost).figure
    for ax in figure.axes:
        labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
        assert len(labels) >= 2 and all("e+" not in label and "$" not in label for label in labels)
        assert ax.get_title() and ax.get_xlabel() and "log scale" in ax.get_ylabel()


def test_blur_filter_is_imported_and_shown_where_the_chapter_explains_it():
    assert first_cell(NB, "blur_filter(2) * 4") > first_cell(NB, "def blur_downsample(")
    assert "as_pair" in cells(NB)[first_cell(NB, "from stridelab import")].source
