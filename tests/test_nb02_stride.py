"""Notebook 02 (stride), checked against independent sources: Dumoulin & Visin's worked
examples, the sizes of real networks, and definitions written out as plain loops here —
for the grader's references and for the solution notebook's own answers. Plus the stride
explorer: it redraws, its caption follows every slider, and impossible settings explain
themselves instead of drawing a broken figure."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from grader.exercises import exercise
from stridelab import check
from tests.notebook_text import cells, first_cell, prose
from tests.submissions import solution_functions
from tests.widget_checks import assert_control_redraws

NB = "02_stride"


DUMOULIN_X = np.array([[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3],
                       [2, 0, 0, 2, 2], [2, 0, 0, 0, 1]], dtype=float)
DUMOULIN_W = np.array([[0, 1, 2], [2, 2, 0], [0, 1, 2]], dtype=float)


SOLUTION = solution_functions("02_stride")
REFERENCE = {name: exercise(name).reference for name in
             ("conv_output_size", "window_starts", "ignored_border", "conv2d_strided")}
BOTH = [pytest.param(REFERENCE, id="reference"), pytest.param(SOLUTION, id="solution")]


# --- independent definitions, written out ------------------------------------------------

def pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def loop_pad(x, ph, pw):
    """Zeros around x, element by element."""
    out = [[0.0] * (x.shape[1] + 2 * pw) for _ in range(x.shape[0] + 2 * ph)]
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[i + ph][j + pw] = float(x[i, j])
    return np.array(out)


def loop_dense_conv(x, w):
    """Stride-1 valid cross-correlation as four nested loops."""
    rows, cols = x.shape[0] - w.shape[0] + 1, x.shape[1] - w.shape[1] + 1
    out = np.zeros((rows, cols))
    for i in range(rows):
        for j in range(cols):
            total = 0.0
            for a in range(w.shape[0]):
                for b in range(w.shape[1]):
                    total += x[i + a, j + b] * w[a, b]
            out[i, j] = total
    return out


def loop_subsample(y, sh, sw):
    return np.array([[y[i, j] for j in range(0, y.shape[1], sw)]
                     for i in range(0, y.shape[0], sh)])


def strided_by_definition(x, w, stride, padding):
    """Dense convolution of the padded input, then every s-th row and column."""
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    return loop_subsample(loop_dense_conv(loop_pad(x, ph, pw), w), sh, sw)


def starts_by_search(n, k, s, p):
    """Every position that is a multiple of s and where a window of k still fits."""
    return [start for start in range(n + 2 * p) if start % s == 0 and start + k <= n + 2 * p]


def uncovered_tail(n, k, s, p):
    covered = [False] * (n + 2 * p)
    for start in starts_by_search(n, k, s, p):
        for index in range(start, start + k):
            covered[index] = True
    tail = 0
    for flag in reversed(covered):
        if flag:
            break
        tail += 1
    return tail


# --- worked examples and real networks ----------------------------------------------------

@pytest.mark.parametrize("functions", BOTH)
def test_dumoulin_and_visin_stride_2_padding_1(functions):
    result = functions["conv2d_strided"](DUMOULIN_X, DUMOULIN_W, stride=2, padding=1)
    np.testing.assert_allclose(result, [[6, 17, 3], [8, 17, 13], [6, 4, 4]])  # printed


@pytest.mark.parametrize("functions", BOTH)
def test_dumoulin_and_visin_stride_1_no_padding(functions):
    result = functions["conv2d_strided"](DUMOULIN_X, DUMOULIN_W)
    np.testing.assert_allclose(result, [[12, 12, 17], [10, 17, 19], [9, 6, 14]])


@pytest.mark.parametrize("functions", BOTH)
@pytest.mark.parametrize("args, expected", [
    ((5, 3, 2, 0), 2), ((5, 3, 2, 1), 3), ((6, 3, 2, 1), 3),   # Dumoulin & Visin
    ((227, 11, 4, 0), 55),                                      # AlexNet conv1
    ((224, 7, 2, 3), 112), ((112, 3, 2, 1), 56), ((56, 3, 2, 1), 28),
    ((28, 3, 2, 1), 14), ((14, 3, 2, 1), 7),                    # ResNet, He et al. table 1
    ((4, 4, 1, 0), 1), ((3, 5, 1, 1), 1),                       # kernel = padded input
])
def test_output_sizes_of_published_examples(functions, args, expected):
    n, k, s, p = args
    size = functions["conv_output_size"](n, k, stride=s, padding=p)
    assert size == expected and isinstance(size, int)


@pytest.mark.parametrize("functions", BOTH)
@pytest.mark.parametrize("args", [(5, 0, 1, 0), (5, 3, 0, 0), (5, 3, 1, -1), (3, 5, 1, 0),
                                  (2, 7, 2, 2), (5, -1, 1, 0)])
def test_impossible_settings_raise_value_error(functions, args):
    n, k, s, p = args
    with pytest.raises(ValueError):
        functions["conv_output_size"](n, k, stride=s, padding=p)


@pytest.mark.parametrize("functions", BOTH)
def test_window_starts_example_from_the_contract(functions):
    assert list(functions["window_starts"](7, 3, stride=2)) == [0, 2, 4]


@pytest.mark.parametrize("functions", BOTH)
def test_sizes_starts_and_borders_agree_with_a_brute_force_search(functions):
    for n, k, s, p in itertools.product(range(1, 13), range(1, 6), range(1, 5), range(0, 3)):
        if k > n + 2 * p:
            continue
        starts = starts_by_search(n, k, s, p)
        assert list(functions["window_starts"](n, k, stride=s, padding=p)) == starts
        assert functions["conv_output_size"](n, k, stride=s, padding=p) == len(starts)
        assert functions["ignored_border"](n, k, stride=s, padding=p) == uncovered_tail(n, k, s, p)
        # The derivation: floor, not ceil, of the room over the stride, plus one.
        assert len(starts) == math.floor((n + 2 * p - k) / s) + 1


CONV_CASES = [((7, 9), (3, 2), 2, 1), ((6, 11), (3, 2), (2, 3), (1, 0)), ((8, 5), (1, 3), (3, 1), 0),
              ((5, 5), (5, 5), 1, 0), ((9, 4), (2, 4), 3, (2, 1)), ((4, 7), (2, 3), 2, 1),
              ((10, 6), (4, 3), (3, 2), (0, 2))]


@pytest.mark.parametrize("functions", BOTH)
@pytest.mark.parametrize("shape, kernel, stride, padding", CONV_CASES)
def test_conv2d_strided_is_dense_convolution_of_the_padded_input_subsampled(
        functions, shape, kernel, stride, padding):
    rng = np.random.default_rng(sum(shape) + sum(kernel))
    x, w = rng.standard_normal(shape), rng.standard_normal(kernel)
    expected = strided_by_definition(x, w, stride, padding)
    np.testing.assert_allclose(functions["conv2d_strided"](x, w, stride=stride, padding=padding),
                               expected, atol=1e-12)


# --- feedback: realistic wrong answers get their named hint ------------------------------

STRIDE_LEFT_OUT = '''
def conv2d_strided(x, w, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    xp = np.pad(x, ((ph, ph), (pw, pw)))
    kh, kw = w.shape
    out = np.zeros(((xp.shape[0] - kh) // sh + 1, (xp.shape[1] - kw) // sw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(xp[i:i + kh, j:j + kw] * w)
    return out
'''
CEIL = '''
def conv2d_strided(x, w, stride=1, padding=0):
    import math
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    xp = np.pad(x, ((ph, ph), (pw, pw)))
    kh, kw = w.shape
    out = np.zeros((math.ceil((xp.shape[0] - kh) / sh) + 1, math.ceil((xp.shape[1] - kw) / sw) + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(xp[i * sh:i * sh + kh, j * sw:j * sw + kw] * w)
    return out
'''
PAD_AFTER = '''
def conv2d_strided(x, w, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    kh, kw = w.shape
    out = np.zeros(((x.shape[0] - kh) // sh + 1, (x.shape[1] - kw) // sw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(x[i * sh:i * sh + kh, j * sw:j * sw + kw] * w)
    return np.pad(out, ((ph, ph), (pw, pw)))
'''
P_MINUS_P = '''
def conv2d_strided(x, w, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    xp = np.zeros((x.shape[0] + 2 * ph, x.shape[1] + 2 * pw))
    xp[ph:-ph, pw:-pw] = x
    kh, kw = w.shape
    out = np.zeros(((xp.shape[0] - kh) // sh + 1, (xp.shape[1] - kw) // sw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(xp[i * sh:i * sh + kh, j * sw:j * sw + kw] * w)
    return out
'''
FLIPPED = '''
def conv2d_strided(x, w, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    xp = np.pad(x, ((ph, ph), (pw, pw)))
    w = w[::-1, ::-1]
    kh, kw = w.shape
    out = np.zeros(((xp.shape[0] - kh) // sh + 1, (xp.shape[1] - kw) // sw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(xp[i * sh:i * sh + kh, j * sw:j * sw + kw] * w)
    return out
'''
SIZE_CEIL = '''
def conv_output_size(n, k, stride=1, padding=0):
    import math
    if k < 1 or stride < 1 or padding < 0 or k > n + 2 * padding:
        raise ValueError("bad settings")
    return math.ceil((n + 2 * padding - k) / stride) + 1
'''


def defined(source: str, name: str):
    namespace = {"np": np}
    exec(source, namespace)  # noqa: S102
    return namespace[name]


@pytest.mark.parametrize("source, name, hint", [
    (STRIDE_LEFT_OUT, "conv2d_strided", "Hint: stride left out of the slice"),
    (CEIL, "conv2d_strided", "Hint: ceil instead of floor"),
    (PAD_AFTER, "conv2d_strided", "Hint: padding applied after striding"),
    (P_MINUS_P, "conv2d_strided", "Hint: x[p:-p] at p = 0"),
    (FLIPPED, "conv2d_strided", "Hint: flipped kernel"),
    (SIZE_CEIL, "conv_output_size", "Hint: ceil instead of floor"),
    # right formula, no checks: at p = 0 "padding counted once" gives the same numbers, but
    # the cases with padding rule it out
    ("def conv_output_size(n, k, stride=1, padding=0):\n    return (n + 2 * padding - k) // stride + 1\n",
     "conv_output_size", "Hint: no check for impossible settings"),
])
def test_the_required_wrong_variants_are_named_in_the_check_cell(source, name, hint):
    report = check(name, defined(source, name))
    assert not report.passed
    assert hint in str(report), str(report)


def test_every_required_mistake_is_defined_for_conv2d_strided():
    names = {m.name for m in exercise("conv2d_strided").mistakes}
    assert {"stride left out of the slice", "ceil instead of floor", "padding applied after striding",
            "x[p:-p] at p = 0", "flipped kernel"} <= names


def test_hidden_cases_cover_pairs_odd_even_and_uneven_fits():
    cases = [c for t in exercise("conv2d_strided").tests(seed=11) if t.hidden for c in t.cases]
    kwargs = [c.kwargs for c in cases]
    assert any(isinstance(k["stride"], tuple) for k in kwargs)
    assert any(isinstance(k["padding"], tuple) for k in kwargs)
    assert any(k["padding"] == 0 for k in kwargs)
    shapes = [c.args[0].shape for c in cases]
    assert any(h != w for h, w in shapes) and {h % 2 for h, _ in shapes} == {0, 1}
    assert any(c.args[1].shape[0] != c.args[1].shape[1] for c in cases)
    uneven = [((h + 2 * pair(k["padding"])[0] - c.args[1].shape[0]) % pair(k["stride"])[0])
              for c, k, (h, _) in zip(cases, kwargs, shapes)]
    assert any(uneven)


# --- the explorer ------------------------------------------------------------------------

@pytest.fixture()
def explorer():
    from stridelab.stride import StrideExplorer

    return StrideExplorer(n=8, k=3, stride=2, padding=0)


def test_explorer_starts_with_a_figure_and_the_formula_in_its_caption(explorer):
    assert bytes(explorer.image.value).startswith(b"\x89PNG")
    assert "floor((8 + 2·0 − 3) / 2) + 1" in explorer.describe()
    assert "never covered" in explorer.describe()  # (8 − 3) mod 2 = 1


@pytest.mark.parametrize("slider, value", [("n", 9), ("k", 4), ("s", 3), ("p", 1), ("window", 4)])
def test_every_slider_redraws_and_changes_the_caption(explorer, slider, value):
    assert_control_redraws(explorer, slider, value)
    assert explorer.message.value == ""


def test_the_window_slider_follows_the_number_of_windows(explorer):
    assert explorer.window.max == 3 * 3 - 1
    explorer.window.value = 8
    explorer.n.value = 5                       # 2×2 windows now
    assert explorer.window.max == explorer.play.max == 3
    assert explorer.window.value == 3
    assert "output[1, 1]" in explorer.describe()


def test_an_impossible_setting_shows_a_message_not_a_figure(explorer):
    explorer.k.value = 7                       # 7 <= 8 still fits
    explorer.n.value = 4
    assert "No window fits" in explorer.message.value and "k = 7" in explorer.message.value
    # The last picture and caption described other settings: both are hidden, not left under it.
    assert not explorer.showing_figure and explorer.caption.value == ""
    assert explorer.caption.layout.display == "none"
    fallback = explorer._repr_mimebundle_()
    assert "image/png" not in fallback and "No window fits" in fallback["text/html"]
    explorer.p.value = 2                       # 4 + 2·2 = 8 ≥ 7: fits again
    assert explorer.message.value == "" and explorer.showing_figure
    assert "floor((4 + 2·2 − 7) / 2) + 1 = floor(1/2) + 1 = 1" in explorer.describe()
    assert "floor((4 + 2·2 − 7) / 2)" in explorer.caption.value


def test_the_explorer_marks_inputs_skipped_between_windows():
    """n = 10, k = 2, s = 4: (n − k) mod s = 0, yet elements 2, 3, 6, 7 are in no window."""
    from stridelab.stride import IGNORED_INPUT, INPUT, AxisLayout, StrideExplorer

    axis = AxisLayout(10, 2, 4, 0)
    assert axis.ignored == 0 and axis.skipped == (2, 3, 6, 7)
    assert [j for j, state in enumerate(axis.states()) if state == IGNORED_INPUT] == [2, 3, 6, 7]
    assert AxisLayout(8, 3, 2, 0).skipped == ()            # k > s: no gaps, only the tail
    assert list(AxisLayout(8, 3, 2, 0).states()) == [INPUT] * 7 + [IGNORED_INPUT]
    caption = StrideExplorer(n=10, k=2, stride=4, padding=0).describe()
    assert "nothing is ignored" not in caption and "every element is in a window" not in caption
    assert "2, 3, 6, 7" in caption and "skipped" in caption
    for n, k, s, p in itertools.product(range(1, 12), range(1, 6), range(1, 6), range(3)):
        axis = AxisLayout(n, k, s, p)
        if axis.fits:
            reached = {j for start in axis.starts for j in range(start, start + k)}
            unreached = set(range(n + 2 * p)) - reached
            assert unreached == set(axis.skipped) | set(range(n + 2 * p - axis.ignored, n + 2 * p))
            assert set(np.flatnonzero(axis.states() >= IGNORED_INPUT)) == unreached


def test_the_pair_stride_figure_marks_the_skipped_columns():
    from stridelab.stride import IGNORED_INPUT, AxisLayout, pair_stride_figure

    alt = pair_stride_figure((6, 11), (3, 2), (2, 3), (1, 0)).alt
    assert "columns 2, 5, 8 fall between windows" in alt
    assert [j for j, v in enumerate(AxisLayout(11, 2, 3, 0).states()) if v == IGNORED_INPUT] == [2, 5, 8]
    assert "columns 2, 5 and 8 fall between them" in prose(NB)


def test_the_prose_says_skipped_inputs_are_not_only_the_border():
    text = prose(NB)
    assert "elements 2, 3, 6 and 7 fall *between* windows" in text
    assert "the `s − k` elements between neighbouring windows" in text
    assert "With <code>s = 3</code>: 0 and 3" in text            # the first Predict, answered


def test_as_pair_is_introduced_before_the_first_exercise_that_takes_pairs():
    imports = cells(NB)[first_cell(NB, "from stridelab import")].source
    assert "as_pair" in imports
    shown = first_cell(NB, "as_pair(2), as_pair((2, 3))")
    assert shown < first_cell(NB, "def conv2d_strided(")
    assert "as_pair" in prose(NB)[:prose(NB).index("### Exercise 4")]


def test_windows_that_see_only_padding_are_mentioned():
    from stridelab.stride import StrideExplorer

    caption = StrideExplorer(n=5, k=2, stride=3, padding=3).describe()
    assert "see only padding" in caption


def test_the_explorer_falls_back_to_an_image_with_alt_text(explorer):
    bundle = explorer._repr_mimebundle_()
    assert "image/png" in bundle and 'alt="n = 8, k = 3' in bundle["text/html"]


# --- the other figures and helpers -------------------------------------------------------

@pytest.mark.parametrize("n, k, s, expected", [(224, 7, 2, (2, 3, 112)), (8, 3, 2, (0, 1, 4)),
                                               (225, 3, 2, (1, 1, 113)), (13, 6, 5, (1, 2, 3))])
def test_tensorflow_same_padding(n, k, s, expected):
    from stridelab.stride import tf_same_padding

    assert tf_same_padding(n, k, s) == expected


def test_tensorflow_same_padding_always_gives_ceil_n_over_s_outputs():
    from stridelab.stride import tf_same_padding

    for n, k, s in itertools.product(range(1, 30), range(1, 8), range(1, 5)):
        before, after, out = tf_same_padding(n, k, s)
        assert out == -(-n // s) and 0 <= after - before <= 1
        if (out - 1) * s + k > n:   # padding was needed, and exactly enough of it
            assert len(starts_by_search(n + before + after, k, s, 0)) == out


def test_static_figures_carry_alt_text():
    from stridelab.stride import pair_stride_figure, same_padding_figure, strided_conv_figure

    assert "3×4 output" in pair_stride_figure((6, 11), (3, 2), (2, 3), (1, 0)).alt
    assert "start at -1, 1, 3, 5" in same_padding_figure(8, 3, 2).alt
    figure = strided_conv_figure(REFERENCE["conv2d_strided"], DUMOULIN_X, DUMOULIN_W, 2, 1)
    assert "[[6, 17, 3], [8, 17, 13], [6, 4, 4]]" in figure.alt


def test_the_size_table_uses_the_learners_function_only_when_it_is_right():
    from stridelab.stride import SizeTable

    layers = [("AlexNet conv1", 227, 11, 4, 0)]
    assert SizeTable.compute(REFERENCE["conv_output_size"], layers).rows[0][5:] == (55, "your function")
    wrong = SizeTable.compute(lambda n, k, stride=1, padding=0: 54, layers)
    assert wrong.rows[0][5] == 55 and "not ready" in wrong.rows[0][6]


def test_play_alone_does_not_redraw_twice(explorer):
    """In the browser Play moves the linked window slider, which triggers the redraw."""
    caption = explorer.caption.value
    explorer.play.value = 2
    assert explorer.caption.value == caption
