"""Inputs and helpers shared by several notebooks' exercise definitions."""

from __future__ import annotations

import numpy as np

__all__ = ["DUMOULIN_W", "DUMOULIN_X", "pair", "random_array", "small_ints"]

DUMOULIN_X = np.array(
    [[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3], [2, 0, 0, 2, 2], [2, 0, 0, 0, 1]],
    dtype=float,
)
"""The 5×5 input of Dumoulin & Visin's worked examples (2016, figures 2.1 and 2.7)."""
DUMOULIN_W = np.array([[0, 1, 2], [2, 2, 0], [0, 1, 2]], dtype=float)
"""Their 3×3 kernel: asymmetric, so a flipped kernel gives a different answer."""


def pair(value: int | tuple[int, int]) -> tuple[int, int]:
    """``3`` → ``(3, 3)``; a pair stays as it is."""
    return (value, value) if isinstance(value, (int, np.integer)) else (int(value[0]), int(value[1]))


def random_array(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Standard-normal float64 values: no symmetry or integer accident hides a mistake."""
    return rng.standard_normal(shape)


def small_ints(rng: np.random.Generator, *shape: int, low: int = -3, high: int = 4) -> np.ndarray:
    """Small integer values stored as floats: readable in feedback and exact in any order."""
    return rng.integers(low, high, size=shape).astype(float)
