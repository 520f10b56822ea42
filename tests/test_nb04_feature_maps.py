"""Notebook 04 against independent implementations: a convolution layer written as plain
nested loops over scalars, and receptive fields found by tracing input pixels by brute force.

Both the grader's references and the solution notebook's functions are checked, so a bug
shared by the two (they are written differently on purpose) would still be caught here.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from grader.exercises import exercise
from grader.exercises.nb04_feature_maps import conv2d_naive
from tests.notebook_text import cells, first_cell, prose
from tests.submissions import solution_functions

NB = "04_feature_maps"


DUMOULIN_X = np.array([[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3],
                       [2, 0, 0, 2, 2], [2, 0, 0, 0, 1]], dtype=float)
DUMOULIN_W = np.array([[0, 1, 2], [2, 2, 0], [0, 1, 2]], dtype=float)


def solution_function(notebook: str, name: str):
    """The function ``name`` as the grader builds it from ``solutions/<notebook>.ipynb``."""
    return solution_functions(notebook)[name]


def loop_conv(x, w, b=None, stride=1, padding=0):
    """The definition, scalar by scalar: no slicing, no numpy arithmetic to share a bug with."""
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n_images, c_in, h, width = x.shape
    c_out, _, kh, kw = w.shape
    h_out = (h + 2 * ph - kh) // sh + 1
    w_out = (width + 2 * pw - kw) // sw + 1

    def padded(n, c, r, col):
        r, col = r - ph, col - pw
        return float(x[n, c, r, col]) if 0 <= r < h and 0 <= col < width else 0.0

    out = np.zeros((n_images, c_out, h_out, w_out))
    for n, o, i, j in itertools.product(range(n_images), range(c_out), range(h_out), range(w_out)):
        total = 0.0 if b is None else float(b[o])
        for c, a, d in itertools.product(range(c_in), range(kh), range(kw)):
            total += float(w[o, c, a, d]) * padded(n, c, i * sh + a, j * sw + d)
        out[n, o, i, j] = total
    return out


LAYER_CASES = [
    # (x shape, w shape, with bias, stride, padding)
    ((2, 3, 7, 5), (4, 3, 3, 2), True, 1, 0),
    ((3, 2, 6, 9), (2, 2, 2, 3), False, 2, 1),
    ((2, 4, 8, 7), (3, 4, 3, 3), True, (2, 3), (1, 0)),
    ((1, 1, 5, 5), (1, 1, 3, 3), True, 3, 2),
    ((2, 2, 9, 4), (5, 2, 4, 1), True, (3, 1), (0, 2)),
    ((4, 3, 4, 6), (2, 3, 1, 1), None, 2, 0),
]


def make_layer(x_shape, w_shape, bias, seed=0):
    rng = np.random.default_rng(seed)
    b = rng.standard_normal(w_shape[0]) if bias else None
    return rng.standard_normal(x_shape), rng.standard_normal(w_shape), b


@pytest.fixture(scope="module")
def solution_conv2d_layer():
    return solution_function("04_feature_maps", "conv2d_layer")


@pytest.fixture(scope="module")
def solution_receptive_field():
    return solution_function("04_feature_maps", "receptive_field")


@pytest.mark.parametrize("x_shape, w_shape, bias, stride, padding", LAYER_CASES)
def test_every_conv_layer_matches_the_scalar_loop(x_shape, w_shape, bias, stride, padding,
                                                   solution_conv2d_layer):
    from stridelab.featuremaps import _conv_layer

    x, w, b = make_layer(x_shape, w_shape, bias)
    expected = loop_conv(x, w, b, stride, padding)
    for name, function in [("reference", exercise("conv2d_layer").reference),
                           ("solution", solution_conv2d_layer),
                           ("naive baseline", conv2d_naive),
                           ("stridelab fallback", _conv_layer)]:
        got = function(x, w, b, stride=stride, padding=padding)
        assert got.shape == expected.shape, name
        np.testing.assert_allclose(got, expected, atol=1e-10, err_msg=name)


def test_the_loop_itself_reproduces_dumoulin_and_visin():
    x, w = DUMOULIN_X[None, None], DUMOULIN_W[None, None]
    np.testing.assert_array_equal(loop_conv(x, w)[0, 0], [[12, 12, 17], [10, 17, 19], [9, 6, 14]])
    np.testing.assert_array_equal(loop_conv(x, w, stride=2, padding=1)[0, 0],
                                  [[6, 17, 3], [8, 17, 13], [6, 4, 4]])


def test_bias_is_added_once_per_output_value():
    x, w = np.zeros((2, 3, 4, 4)), np.ones((2, 3, 3, 3))
    out = exercise("conv2d_layer").reference(x, w, np.array([5.0, -1.0]), stride=1, padding=1)
    assert set(np.unique(out[:, 0])) == {5.0} and set(np.unique(out[:, 1])) == {-1.0}


def test_hidden_layer_cases_cover_what_the_brief_asks_for():
    """Batch and channels above 1, non-square inputs and kernels, pairs, b=None, ragged ends."""
    seen = set()
    for seed in range(6):
        for test in exercise("conv2d_layer").tests(seed=seed):
            if not test.hidden:
                continue
            for case in test.cases:
                x, w, b = case.args
                stride, padding = case.kwargs["stride"], case.kwargs["padding"]
                (sh, sw) = (stride, stride) if isinstance(stride, int) else stride
                (ph, pw) = (padding, padding) if isinstance(padding, int) else padding
                seen.add("batch" if x.shape[0] > 1 else "")
                seen.add("channels" if x.shape[1] > 1 and w.shape[0] > 1 else "")
                seen.add("non-square input" if x.shape[2] != x.shape[3] else "")
                seen.add("non-square kernel" if w.shape[2] != w.shape[3] else "")
                seen.add("pair" if isinstance(stride, tuple) else "int")
                seen.add("no bias" if b is None else "bias")
                seen.add("padding 0" if ph == 0 or pw == 0 else "")
                if (x.shape[2] + 2 * ph - w.shape[2]) % sh or (x.shape[3] + 2 * pw - w.shape[3]) % sw:
                    seen.add("ragged")
    assert {"batch", "channels", "non-square input", "non-square kernel", "pair", "int",
            "no bias", "bias", "padding 0", "ragged"} <= seen


def test_public_tests_include_the_worked_examples():
    calls = [c for t in exercise("conv2d_layer").tests(seed=None, hidden=False) for c in t.cases]
    outputs = [c.expected[0, 0].tolist() for c in calls if c.call.startswith("conv2d_layer(x: 1×1×5×5")]
    assert [[12, 12, 17], [10, 17, 19], [9, 6, 14]] in outputs
    assert [[6, 17, 3], [8, 17, 13], [6, 4, 4]] in outputs


# --- receptive_field -----------------------------------------------------------------------

def brute_force_field(layers):
    """Trace the input pixels that reach top units 0 and 1: the field's width, and the shift."""
    def pixels(unit):
        units = {unit}
        for k, s in reversed(layers):
            units = {u * s + t for u in units for t in range(k)}
        return units

    first, second = pixels(0), pixels(1)
    return max(first) - min(first) + 1, min(second) - min(first)


def test_receptive_field_examples_of_the_course():
    for function in (exercise("receptive_field").reference,
                     solution_function("04_feature_maps", "receptive_field")):
        assert tuple(function([])) == (1, 1)
        assert tuple(function([(3, 2), (3, 2)])) == (7, 4)
        assert tuple(function([(3, 1)] * 5)) == (11, 1)


@pytest.mark.parametrize("seed", range(25))
def test_receptive_field_matches_brute_force(seed, solution_receptive_field):
    rng = np.random.default_rng(seed)
    layers = [(int(rng.integers(1, 8)), int(rng.integers(1, 4)))
              for _ in range(int(rng.integers(1, 7)))]
    expected = brute_force_field(layers)
    assert tuple(exercise("receptive_field").reference(layers)) == expected
    assert tuple(solution_receptive_field(layers)) == expected


def test_resnet18_field_by_brute_force():
    resnet18 = [(7, 2), (3, 2)] + [(3, 1)] * 4 + ([(3, 2)] + [(3, 1)] * 3) * 3
    assert brute_force_field(resnet18) == (435, 32)
    assert exercise("receptive_field").reference(resnet18) == (435, 32)


# --- the notebook's helpers ----------------------------------------------------------------

def test_sample_image_ships_with_its_licence():
    from stridelab.featuremaps import SAMPLE_DATA, sample_image

    x = sample_image()
    assert x.shape == (3, 200, 170) and 0 <= x.min() and x.max() <= 1
    assert sample_image(grey=True).shape == (200, 170)
    note = (SAMPLE_DATA / "README.md").read_text(encoding="utf-8")
    assert "grace_hopper.png" in note and "public domain" in note


def test_filter_bank_acts_on_brightness():
    from stridelab.featuremaps import FILTERS, filter_bank, sample_image

    rgb, grey = sample_image(), sample_image(grey=True)
    w = filter_bank(["vertical edges"])
    colour_map = exercise("conv2d_layer").reference(rgb[None], w)
    grey_map = exercise("conv2d_layer").reference(grey[None, None],
                                                  FILTERS["vertical edges"][None, None])
    np.testing.assert_allclose(colour_map, grey_map, atol=1e-9)
    with pytest.raises(ValueError, match="unknown filter"):
        filter_bank(["emboss"])


def test_explorer_caption_follows_both_controls():
    from stridelab.featuremaps import FeatureMapExplorer

    explorer = FeatureMapExplorer()
    first = explorer.describe()
    explorer.stride.value = 4
    after_stride = explorer.describe()
    explorer.filter.value = "blur"
    after_filter = explorer.describe()
    assert len({first, after_stride, after_filter}) == 3
    assert "50×43" in after_stride and "44%" in after_stride
    assert explorer.last_redraw_seconds < 1.0


def test_the_explorer_redrawn_in_place_shows_what_a_full_redraw_shows():
    """Changing the filter or the stride updates the artists in place; do the crop's window
    marks, the kernel, the map, their colours and titles, and the caption come out as they
    do when the figure is drawn anew?"""
    from matplotlib.colors import to_hex

    from stridelab.featuremaps import FeatureMapExplorer

    def shown(explorer):
        crop, kernel, fmap = explorer.figure.axes[:3]
        return dict(
            titles=[ax.get_title() for ax in (crop, kernel, fmap)],
            centres=sorted(map(tuple, crop.collections[0].get_offsets().tolist())),
            windows=sorted((*patch.get_xy(), patch.get_width()) for patch in crop.patches
                           if patch.get_visible()),
            kernel=[(text.get_text(), to_hex(text.get_color())) for text in kernel.texts
                    if text.get_visible()],
            images=[(image.get_array().tolist(), image.get_clim(), image.get_cmap().name,
                     image.get_extent()) for image in (kernel.images[0], fmap.images[0])],
            limits=(fmap.get_xlim(), fmap.get_ylim()),
            caption=explorer.caption.value)

    in_place, full = FeatureMapExplorer(), FeatureMapExplorer()
    full.full_redraw = True
    for name, s in (("blur", 2), ("blur", 4), ("horizontal edges", 1), ("sharpen", 3),
                    ("vertical edges", 2)):
        for explorer in (in_place, full):
            explorer.filter.value, explorer.stride.value = name, s
        assert shown(in_place) == shown(full), (name, s)
        # The map's axis labels, kept beside its tick labels without a layout engine, stay
        # clear of them as the tick labels widen and narrow.
        fmap, renderer = in_place.figure.axes[2], in_place.figure.canvas.get_renderer()
        for axis in (fmap.yaxis, fmap.xaxis):
            low, high = sorted(axis.get_view_interval())
            ticks = [label.get_window_extent(renderer) for tick, label
                     in zip(axis.get_majorticklocs(), axis.get_majorticklabels())
                     if low <= tick <= high]
            label = axis.label.get_window_extent(renderer)
            if axis is fmap.yaxis:
                assert label.x1 <= min(box.x0 for box in ticks), (name, s)
            else:
                assert label.y1 <= min(box.y0 for box in ticks), (name, s)


def test_coverage_counts_and_unseen_fraction():
    from stridelab.featuremaps import _coverage, unseen_fraction

    assert _coverage(11, 3, 4).tolist() == [1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1]
    assert unseen_fraction(3, 4) == pytest.approx(7 / 16)
    assert unseen_fraction(3, 2) == 0


def test_figures_carry_alt_text_and_use_the_learners_function_when_it_is_right():
    from stridelab.featuremaps import FieldTable, feature_map_grid, growth_figure

    def broken(*args):
        raise NotImplementedError

    assert "not implemented" in str(FieldTable(broken, {"a": [(3, 2)]}))
    assert "computed by your" in str(FieldTable(exercise("receptive_field").reference,
                                                {"a": [(3, 2)]}))
    grid = feature_map_grid(broken)
    assert "200×170 at stride 1" in grid.alt and "50×43 at stride 4" in grid.alt
    assert "511" in growth_figure(exercise("receptive_field").reference).alt


def test_unseen_pixels_of_a_small_image_include_its_border():
    """33 % on the 11×11 example at strides 3 and 4, against 7/16 on a large image at stride 4."""
    from stridelab.featuremaps import _unseen_lines, coverage_figure, unseen_fraction

    assert unseen_fraction(3, 4, n=11) == pytest.approx(1 - (9 / 11) ** 2)
    assert unseen_fraction(3, 3, n=11) == pytest.approx(1 - (9 / 11) ** 2)
    assert unseen_fraction(3, 3) == 0                       # a large image, border ignored
    assert _unseen_lines(11, 3, 3) == ([], [9, 10])          # stride 3: the border only
    assert _unseen_lines(11, 3, 4) == ([3, 7], [])           # stride 4: gaps only
    alt = coverage_figure().alt
    assert "at stride 3 33% of the pixels, rows and columns 9, 10 after the last window" in alt
    assert "at stride 4 33% of the pixels, rows and columns 3, 7 between windows" in alt
    # Exact on the photograph too (padding 1): what the explorer's caption reports.
    assert unseen_fraction(3, 4, n=200, padding=1) == pytest.approx(
        1 - (np.count_nonzero([(r + 1) % 4 != 3 and r + 1 <= 198 for r in range(200)]) / 200) ** 2)


def test_the_prose_explains_the_33_percent_and_the_1x1_shortcut():
    text = prose(NB)
    assert "tile the image exactly: every pixel is in one window" not in text
    assert "real networks keep the stride at most the kernel size" not in text
    assert "the border no window reaches" in text
    assert "Why did the figure say 33 %, not 7/16" in text and "`1 − (9/11)² ≈ 33 %`" in text
    assert "a 1×1 convolution at stride 2 (notebook 06)" in text
    assert "hundreds of times faster" not in text


def test_the_feature_map_grid_has_a_colour_bar_per_filter():
    from stridelab.featuremaps import FILTERS, feature_map_grid

    def broken(*args):
        raise NotImplementedError

    figure = feature_map_grid(broken).figure
    bars = [ax for ax in figure.axes if ax.get_ylabel() in ("response (signed)", "brightness")]
    assert len(bars) == len(FILTERS)
    assert all(ax.get_position().width < 0.05 for ax in bars)      # thin strips: colour bars
    maps = [ax for ax in figure.axes if ax.images and ax not in bars and ax.get_xlabel()]
    assert all(ax.get_title() and ax.get_ylabel() for ax in maps)


def test_conv2d_layer_uses_the_course_pair_helper():
    assert "as_pair" in cells(NB)[first_cell(NB, "from stridelab import")].source
