"""Assets of notebook 03 (downsampling): the aliasing lab moving its input pixel by pixel."""

from __future__ import annotations

from collections.abc import Callable

from tools.assets import widget_gif


def aliasing_shift_gif() -> bytes:
    """A zone plate moved right 0, 1, 2, 3 pixels, subsampled at stride 2 with and without blur."""
    from stridelab.downsampling import AliasingLab

    lab = AliasingLab(stride=2, shift=0, pattern="zone plate", size=128, dpi=64)
    return widget_gif(lab, lab.shift, (0, 1, 2, 3), seconds_per_frame=1.2)


ASSETS: dict[str, Callable[[], bytes]] = {
    "aliasing_shift.gif": aliasing_shift_gif,
}
