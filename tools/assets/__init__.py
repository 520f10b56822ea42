"""Asset drawings, one module per notebook (``nbNN.py``), each with an ``ASSETS`` dict:
file name in ``assets/`` → function returning the file's bytes."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any


def gif(frames: list[bytes], seconds_per_frame: float, dither: bool = True) -> bytes:
    """An endlessly looping GIF from PNG frames (a 64-colour palette keeps it small).

    ``dither=False`` suits fine patterns, which dithering turns into noise and bytes.
    """
    from PIL import Image

    images = [Image.open(io.BytesIO(frame)).convert("RGB") for frame in frames]
    mode = Image.Dither.FLOYDSTEINBERG if dither else Image.Dither.NONE
    palette = [image.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=mode)
               for image in images]
    buffer = io.BytesIO()
    palette[0].save(buffer, format="GIF", save_all=True, append_images=palette[1:],
                    duration=int(seconds_per_frame * 1000), loop=0, optimize=False)
    return buffer.getvalue()


def widget_gif(widget: Any, control: Any, values: Iterable[Any], seconds_per_frame: float) -> bytes:
    """An animation of an interactive figure: one frame per value ``control`` is set to."""
    frames = []
    for value in values:
        control.value = value
        frames.append(widget.image.value)
    return gif(frames, seconds_per_frame)
