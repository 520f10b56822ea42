"""Notebook 01 (the sliding dot product): its facts, its widget and its figures."""

from __future__ import annotations

import numpy as np

from tests.notebook_text import cells, prose

NB = "01_convolution_dot_product"


def test_dumoulin_and_visins_worked_example_is_their_figure_1_1():
    text = prose(NB)
    assert "figure 2.1" not in text.lower() and "Figure 1.1" in text
    assert "chapter 2 — the worked example" not in text
    assert "chapter 1 — the worked example used here is its Figure 1.1" in text


def test_a_large_dot_product_is_not_claimed_to_mean_likeness():
    """The dot product is unnormalised: brightness raises it too, and the notebook says so."""
    text = prose(NB)
    assert "the window looks like the kernel — bright" not in text
    assert "not normalised" in text and "twice as bright" in text
    sources = [c.source for c in cells(NB)]
    assert "np.sum((2 * window) * w)" in sources


def test_every_predict_question_is_answered():
    text = prose(NB)
    assert "signal of length 8 give with a kernel of length 3? Answer" in text.replace(
        "<details><summary>", "").replace("</summary>", "")


def test_the_window_slider_counts_from_zero_like_the_stride_explorer():
    from stridelab.dotproduct import WindowSlider
    from stridelab.stride import StrideExplorer

    x = np.arange(25.0).reshape(5, 5)
    slider = WindowSlider(x, np.ones((3, 3)))
    explorer = StrideExplorer()
    assert (slider.position.min, slider.position.max) == (0, 8)
    assert slider.play.min == explorer.window.min == explorer.play.min == 0
    assert slider.describe().startswith("Window 0 (of windows 0 to 8")
    slider.position.value = 8
    assert "row i = 2, column j = 2" in slider.describe()
    assert "numbered from 0" in explorer.describe()


def test_the_smoothing_legend_sits_outside_the_plot():
    from stridelab.dotproduct import smoothing_demo

    figure = smoothing_demo(lambda x, w: np.correlate(x, w, "valid")).figure
    (ax,) = figure.axes
    assert ax.get_legend() is None and len(figure.legends) == 1
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


# --- why convolution at all ---------------------------------------------------------------------

def dense_weights_by_counting(h, w, c_in, c_out):
    """One weight per (output value, input value) pair: count them per output channel row."""
    per_output = h * w * c_in
    return sum(per_output for _ in range(c_out)) * h * w


def test_the_weight_counts_are_the_products_they_claim():
    from stridelab.motivation import weight_counts

    counts = weight_counts(224, 224, 3, 64)
    assert counts["dense"] == dense_weights_by_counting(224, 224, 3, 64) == 483_385_147_392
    assert counts["local, not shared"] == 224 * 224 * 64 * 27 == 86_704_128
    assert counts["convolution"] == 64 * 27 == 1_728
    assert counts["dense"] // counts["local, not shared"] == 150_528 // 27
    assert counts["local, not shared"] // counts["convolution"] == 224 * 224
    assert 1.9e12 < counts["dense"] * 4 < 2e12            # "nearly 2 TB as 32-bit floats"
    # deeplearning.ai's example, in the Predict question: 32×32×3 → 28×28×6, 5×5 filters
    assert (32 * 32 * 3) * (28 * 28 * 6) == 14_450_688 and 6 * 5 * 5 * 3 + 6 == 456


def test_why_convolution_opens_the_notebook_with_the_numbers_it_computes():
    text = prose(NB)
    headings = [c.source.splitlines()[0] for c in cells(NB) if c.cell_type == "markdown"]
    numbered = [h for h in headings if h.startswith("## ") and h[3].isdigit()]
    assert numbered[0] == "## 1. Why convolution at all"
    assert [int(h[3]) for h in numbered] == [1, 2, 3, 4, 5, 6]
    assert "About 483 billion weights" in text and "1,728" in text and "87 million" in text
    assert "by the 50,176 positions" in text and "**Locality.**" in text
    assert "**Weight sharing.**" in text and "translation equivariance" in text
    assert "section 4 explains the difference" in text
    assert "14,450,688" in text and "456 with one bias" in text


def test_translation_equivariance_cell_shows_equal_outputs():
    signal = np.array([0.0, 1, 3, 0, 0, 0, 0])
    kernel = np.array([1.0, -1])
    shifted_in = np.correlate(np.roll(signal, 2), kernel, "valid")
    shifted_out = np.roll(np.correlate(signal, kernel, "valid"), 2)
    np.testing.assert_array_equal(shifted_in, shifted_out)
    source = "".join(c.source for c in cells(NB))
    assert 'np.correlate(np.roll(signal, 2), kernel, "valid")' in source


def test_the_connections_figure_counts_its_lines():
    from matplotlib.collections import LineCollection

    from stridelab.motivation import connections_figure

    figure = connections_figure(n=8, k=3)
    lines = [len(c.get_segments()) for ax in figure.figure.axes for c in ax.collections
             if isinstance(c, LineCollection)]
    assert lines == [48, 18, 18]
    colours = {tuple(c) for c in figure.figure.axes[2].collections[0].get_colors()}
    assert len(colours) == 3                                # three shared weights
    assert all(ax.get_title() and ax.get_xlabel() and ax.get_ylabel() for ax in figure.figure.axes)
    assert "48 lines" in figure.alt and "only 3 weights" in figure.alt
