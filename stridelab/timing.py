"""Timing for demos and benchmarks: the fastest of several runs, the least disturbed one.

>>> best_time(lambda: None, budget=0.01) < 0.01
True
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

__all__ = ["best_time"]


def best_time(function: Callable[[], Any], budget: float = 0.3, max_repeats: int = 7) -> float:
    """The fastest of several runs of ``function()``, in seconds.

    Runs at least once, then again until ``budget`` seconds are spent or ``max_repeats``
    runs are done. The minimum is the least disturbed by whatever else the machine does.
    """
    times: list[float] = []
    spent = 0.0
    while not times or (spent < budget and len(times) < max_repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
        spent += times[-1]
    return min(times)
