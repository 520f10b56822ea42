"""Helpers for the strided-convolutions notebooks: checks, layer specs, widgets and figures.

The notebooks import what they need from here so that their cells stay short:

>>> from stridelab import check, Conv, Pool
>>> Conv(64, kernel=3, padding=1).stride
1

Widgets and figures live in :mod:`stridelab.widgets` and :mod:`stridelab.figures`
(they import matplotlib, so they are not loaded until asked for).
"""

from stridelab.check import CheckReport, check
from stridelab.layers import Conv, Pool, as_pair
from stridelab.progress import progress

__all__ = ["CheckReport", "Conv", "Pool", "as_pair", "check", "progress"]
