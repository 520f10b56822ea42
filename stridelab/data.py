"""Sample data for the notebooks: a real photograph and small generated signals.

The photograph is Grace Hopper's portrait, in the public domain, which matplotlib ships
as sample data; nothing is downloaded.

>>> grace_hopper().shape
(150, 128)
"""

from __future__ import annotations

from functools import cache

import numpy as np

__all__ = ["grace_hopper", "noisy_signal"]


@cache
def _grace_hopper_full() -> np.ndarray:
    from matplotlib import cbook
    from matplotlib import image as mpimg

    with cbook.get_sample_data("grace_hopper.jpg") as file:
        rgb = mpimg.imread(file).astype(float) / 255.0
    return rgb @ np.array([0.299, 0.587, 0.114])  # ITU-R BT.601 luma


def grace_hopper(factor: int = 4) -> np.ndarray:
    """Grace Hopper's portrait in grey levels 0–1, shrunk ``factor`` times by averaging.

    The full image is 600×512; the default gives 150×128, small enough for loops.
    """
    full = _grace_hopper_full()
    h, w = (s // factor * factor for s in full.shape)
    return full[:h, :w].reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))


def noisy_signal(n: int = 120, seed: int = 0) -> np.ndarray:
    """A slow wave plus noise: something a moving average visibly smooths."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 4 * np.pi, n)
    return np.sin(t) + 0.5 * np.sin(3 * t) + 0.35 * rng.standard_normal(n)
