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
