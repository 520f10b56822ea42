"""Layer specifications for tracing shapes and costs through a CNN (notebook 06).

A spec only describes a layer; it holds no weights. ``kernel``, ``stride`` and
``padding`` are an int or a ``(vertical, horizontal)`` pair, as everywhere in the course.

>>> Conv(96, kernel=11, stride=4)
Conv(out_channels=96, kernel=11, stride=4, padding=0)
>>> Pool(2).stride is None   # max pooling; the stride defaults to the kernel size
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

__all__ = ["Conv", "Pool", "Size", "as_pair"]

Size = Union[int, tuple[int, int]]


def as_pair(value: Size) -> tuple[int, int]:
    """``3`` → ``(3, 3)``; a pair ``(vertical, horizontal)`` stays as it is.

    The course's convention for ``kernel``, ``stride`` and ``padding``, usable in graded code.

    >>> as_pair(2), as_pair((1, 3))
    ((2, 2), (1, 3))
    """
    if isinstance(value, int) or hasattr(value, "__index__"):
        return int(value), int(value)
    first, second = value
    return int(first), int(second)


def _check_size(layer: str, name: str, value: object, minimum: int) -> None:
    """Reject a kernel/stride/padding that is not an int (or pair of ints) >= ``minimum``."""
    parts = value if isinstance(value, tuple) else (value,)
    valid = (
        len(parts) in (1, 2)
        and (len(parts) == 2 or not isinstance(value, tuple))
        and all(isinstance(p, int) and not isinstance(p, bool) and p >= minimum for p in parts)
    )
    if not valid:
        raise ValueError(
            f"{layer}: {name} must be an int >= {minimum} or a pair of them, got {value!r}"
        )


@dataclass(frozen=True)
class Conv:
    """A convolution layer: ``out_channels`` filters of size ``kernel`` moving by ``stride``."""

    out_channels: int
    kernel: Size
    stride: Size = 1
    padding: Size = 0

    def __post_init__(self) -> None:
        _check_size("Conv", "out_channels", self.out_channels, 1)
        if isinstance(self.out_channels, tuple):
            raise ValueError(f"Conv: out_channels must be an int, got {self.out_channels!r}")
        _check_size("Conv", "kernel", self.kernel, 1)
        _check_size("Conv", "stride", self.stride, 1)
        _check_size("Conv", "padding", self.padding, 0)


@dataclass(frozen=True)
class Pool:
    """A max-pooling layer: keeps the channels; ``stride`` defaults to ``kernel``."""

    kernel: Size
    stride: Size | None = None
    padding: Size = 0

    def __post_init__(self) -> None:
        _check_size("Pool", "kernel", self.kernel, 1)
        if self.stride is not None:
            _check_size("Pool", "stride", self.stride, 1)
        _check_size("Pool", "padding", self.padding, 0)
