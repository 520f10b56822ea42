"""Draw the figures and animations in ``assets/`` from code.

    python3 course.py build       # runs this too
    python -m tools.make_assets   # just the assets

Each asset is a function returning the file's bytes, registered in :data:`ASSETS` under
its file name; notebooks show them with Markdown images that carry alt text.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = ROOT / "assets"


def _gif(frames: list[bytes], seconds_per_frame: float) -> bytes:
    """An endlessly looping GIF from PNG frames."""
    from PIL import Image

    images = [Image.open(io.BytesIO(frame)).convert("RGB") for frame in frames]
    palette = [image.quantize(colors=64, method=Image.Quantize.MEDIANCUT) for image in images]
    buffer = io.BytesIO()
    palette[0].save(buffer, format="GIF", save_all=True, append_images=palette[1:],
                    duration=int(seconds_per_frame * 1000), loop=0, optimize=False)
    return buffer.getvalue()


def sliding_window_gif() -> bytes:
    """Notebook 01: a 3×3 kernel sliding over Dumoulin & Visin's 5×5 input, stride 1."""
    from grader.exercises._common import DUMOULIN_W, DUMOULIN_X
    from stridelab.dotproduct import WindowSlider

    slider = WindowSlider(DUMOULIN_X, DUMOULIN_W)
    frames = []
    for position in range(slider.out.size):
        slider.position.value = position
        frames.append(slider.image.value)
    return _gif(frames, seconds_per_frame=1.0)


ASSETS: dict[str, Callable[[], bytes]] = {
    "sliding_window.gif": sliding_window_gif,
}


def main(argv: list[str] | None = None) -> int:
    """Write every asset whose bytes changed; print what was written."""
    ASSETS_DIR.mkdir(exist_ok=True)
    for name, draw in ASSETS.items():
        data = draw()
        path = ASSETS_DIR / name
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
            print(f"wrote assets/{name} ({len(data) // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
