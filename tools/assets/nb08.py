"""Assets of notebook 08 (dilation, dense prediction and the way back up)."""

from __future__ import annotations

from collections.abc import Callable

from tools.assets import widget_gif

DILATIONS = (1, 2, 3, 4)
"""The frames: a 3×3 kernel's taps 1, 2, 3 and 4 pixels apart on an 11×11 input."""


def dilated_taps_gif() -> bytes:
    """The dilation explorer on an 11×11 input, a 3×3 kernel and two stacked layers, its
    dilation slider moved from 1 to 4: the taps spread, the output shrinks by 2d, and the
    stacked receptive field grows to 4d + 1 with holes from d = 2 on."""
    from stridelab.dilation import DilationExplorer

    explorer = DilationExplorer(n=11, k=3, dilation=1, stride=1, padding=0, layers=2, dpi=64)
    return widget_gif(explorer, explorer.d, DILATIONS, seconds_per_frame=1.4)


ASSETS: dict[str, Callable[[], bytes]] = {
    "dilated_taps.gif": dilated_taps_gif,
}
