"""Assets of notebook 01 (the sliding dot product)."""

from __future__ import annotations

from collections.abc import Callable

from tools.assets import widget_gif


def sliding_window_gif() -> bytes:
    """A 3×3 kernel sliding over Dumoulin & Visin's 5×5 input, stride 1, one frame a window."""
    from grader.exercises._common import DUMOULIN_W, DUMOULIN_X
    from stridelab.dotproduct import WindowSlider

    slider = WindowSlider(DUMOULIN_X, DUMOULIN_W)
    return widget_gif(slider, slider.position, range(slider.out.size), seconds_per_frame=1.0)


ASSETS: dict[str, Callable[[], bytes]] = {
    "sliding_window.gif": sliding_window_gif,
}
