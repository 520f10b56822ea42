"""Every graded exercise of the course, found by notebook module (``nbNN_<notebook>.py``).

>>> exercise("conv2d").notebook
'01_convolution_dot_product'
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from grader.exercises._spec import Case, CaseSet, Exercise, Mistake, Speed

__all__ = ["Case", "CaseSet", "Exercise", "Mistake", "Speed", "all_exercises", "exercise",
           "notebooks"]


@cache
def notebooks() -> dict[str, tuple[Exercise, ...]]:
    """Notebook name → its exercises, in course order."""
    found: dict[str, tuple[Exercise, ...]] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not module_info.name.startswith("nb"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        found[module.NOTEBOOK] = tuple(module.EXERCISES)
    return found


def all_exercises() -> tuple[Exercise, ...]:
    """Every exercise of the course, in course order."""
    return tuple(e for exercises in notebooks().values() for e in exercises)


def exercise(name: str) -> Exercise:
    """The exercise called ``name``; ``KeyError`` listing the known names otherwise."""
    for candidate in all_exercises():
        if candidate.name == name:
            return candidate
    raise KeyError(f"no exercise {name!r}; known: {', '.join(e.name for e in all_exercises())}")
