"""How an exercise is defined: a reference, known mistakes, and sets of cases with points.

Each notebook module (``nbNN_*.py``) declares its exercises with these classes. One
definition serves every use: the public case sets are frozen for the check cells, and
the grader expands public and hidden sets — hidden ones drawn from a seed chosen at
grading time — into :class:`~stridelab.judging.GradedTest` objects with the reference's
expected results and the outputs of the known mistakes.

>>> import numpy as np
>>> square = Exercise(
...     name="square", notebook="00_demo", reference=lambda x: x * x,
...     case_sets=(CaseSet("small", 1, [Case((np.arange(3),))]),))
>>> [t.name for t in square.tests(seed=0)]
['square: small']
"""

from __future__ import annotations

import copy
import inspect
import time as _clock
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Union

import numpy as np

from stridelab.encoding import Raises, ShapeOnly
from stridelab.judging import Expectation, GradedTest, KnownMistake, SpeedRequirement, compare

__all__ = ["Case", "CaseSet", "Exercise", "Mistake", "Raises", "ShapeOnly", "Speed",
           "describe_value"]


@dataclass(frozen=True)
class Case:
    """The arguments of one call of an exercise's function."""

    args: tuple[Any, ...]
    kwargs: Mapping[str, Any] = field(default_factory=dict)


CaseSource = Union[Sequence[Case], Callable[[np.random.Generator], Sequence[Case]]]


@dataclass(frozen=True)
class Speed:
    """A speed test's bar: ``min_speedup`` times less CPU time than ``baseline`` on the same
    cases.

    Both are CPU times, which machine load and ``--jobs`` barely change: the baseline's is
    measured in the grader's own thread, the learner's by the kernel for the sandboxed
    worker (``/proc/<pid>/schedstat``), so neither can be forged; each case counts its
    fastest of three calls. Cases should be shaped so that every vectorised implementation is
    far above the bar and every Python loop over output positions far below it.
    """

    baseline: Callable[..., Any]
    description: str
    """The baseline in words: ``"the naive loop over output positions"``."""
    min_speedup: float
    hint: str = ""
    group: int = 1
    """Consecutive cases drawn alike (same shapes, fresh values); the fastest of each group
    counts, for the learner and the baseline alike."""

    def time(self, cases: Sequence[Case]) -> float:
        """The baseline's CPU seconds on ``cases``: per group, its fastest case.

        Measured once per process for cases of the same shapes: the baseline's time depends
        on the shapes, not on the values, which every submission draws afresh.
        """
        key = (id(self.baseline), self.group, tuple(_shape_signature(c) for c in cases))
        if key not in _BASELINE_TIMES:
            seconds = []
            for case in cases:
                started = _clock.thread_time()
                self.baseline(*case.args, **case.kwargs)
                seconds.append(_clock.thread_time() - started)
            size = max(1, self.group)
            _BASELINE_TIMES[key] = sum(min(seconds[i:i + size])
                                       for i in range(0, len(seconds), size))
        return _BASELINE_TIMES[key]


_BASELINE_TIMES: dict[tuple[Any, ...], float] = {}


def _shape_signature(case: Case) -> tuple[Any, ...]:
    def sig(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return ("array", value.shape, str(value.dtype))
        return repr(value)

    return (tuple(sig(a) for a in case.args), tuple((k, sig(v)) for k, v in sorted(case.kwargs.items())))


@dataclass(frozen=True)
class CaseSet:
    """A titled, scored set of cases: one test in the results, passed when all cases pass.

    ``cases`` is a list, or a function of a random generator that draws them (hidden sets
    draw from the grading seed; public sets from a fixed seed, so they can be frozen).
    Public cases should use small integer-valued arrays: readable in feedback, and exact.
    """

    title: str
    points: float
    cases: CaseSource
    hidden: bool = False
    speed: Speed | None = None
    """Makes this a speed test: see :class:`Speed`. Speed tests are always hidden."""

    def __post_init__(self) -> None:
        if self.speed is not None and not self.hidden:
            raise ValueError(f"{self.title}: speed tests are timed by the grader, so hidden")

    def draw(self, rng: np.random.Generator) -> list[Case]:
        return list(self.cases(rng) if callable(self.cases) else self.cases)


@dataclass(frozen=True)
class Mistake:
    """A known wrong implementation, and the hint shown when a student's output matches it.

    ``implementation`` has the exercise's signature; it may return :class:`ShapeOnly` when
    only the shape of the wrong output is predictable. Where it raises an exception but the
    reference does not (``x[p:-p]`` at ``p = 0``, say), a student raising the same
    exception type gets the hint. Cases where it agrees with the reference do not mention it.
    """

    name: str
    hint: str
    implementation: Callable[..., Any]


def describe_value(value: Any) -> str:
    """A compact description of an argument: arrays by shape, everything else by repr."""
    if isinstance(value, np.ndarray):
        if value.ndim == 1:
            return f"length {value.shape[0]}"
        return "×".join(map(str, value.shape)) if value.ndim else repr(value.item())
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "…"


def _fresh(value: Any) -> Any:
    """A copy of ``value`` that a function may change without changing the case: arrays and
    containers copied, immutable scalars shared (``copy.deepcopy`` for anything else).

    >>> args = (np.zeros(2), [1, 2]); fresh = _fresh(args)
    >>> fresh[0] is args[0], fresh[0].base is None, fresh[1] == args[1]
    (False, True, True)
    """
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, tuple):
        return tuple(_fresh(item) for item in value)
    if isinstance(value, list):
        return [_fresh(item) for item in value]
    if isinstance(value, dict):
        return {key: _fresh(item) for key, item in value.items()}
    if value is None or isinstance(value, (bool, int, float, str, np.generic)):
        return value
    return copy.deepcopy(value)


def _seed_for(*parts: object) -> int:
    return zlib.crc32("/".join(map(str, parts)).encode())


@dataclass(frozen=True)
class Exercise:
    """One graded function of one notebook, with everything needed to test it."""

    name: str
    """The function's name, which is also its solution cell's nbgrader ``grade_id``."""
    notebook: str
    """The notebook's file name without ``.ipynb``."""
    reference: Callable[..., Any]
    """The grader's own implementation; expected results come from it."""
    case_sets: tuple[CaseSet, ...]
    mistakes: tuple[Mistake, ...] = ()
    returns: tuple[str, ...] = ()
    """Names of the parts of a tuple result, e.g. ``("dx", "dw", "db")``."""

    @property
    def points(self) -> float:
        return float(sum(s.points for s in self.case_sets))

    @cached_property
    def arg_names(self) -> tuple[str, ...]:
        return tuple(inspect.signature(self.reference).parameters)

    def describe_call(self, case: Case) -> str:
        """The call in words, e.g. ``conv2d(x: 4×6, w: 2×3)``."""
        parts = []
        for name, value in zip(self.arg_names, case.args):
            sep = ": " if isinstance(value, np.ndarray) and value.ndim else "="
            parts.append(f"{name}{sep}{describe_value(value)}")
        parts += [f"{k}={describe_value(v)}" for k, v in case.kwargs.items()]
        return f"{self.name}({', '.join(parts)})"

    def _run(self, function: Callable[..., Any], case: Case) -> Any:
        return function(*_fresh(case.args), **_fresh(dict(case.kwargs)))

    def expect(self, case: Case, show_inputs: bool = False, lazy: bool = False) -> Expectation:
        """The expectation for one case: the reference's result and the mistakes' outputs
        (with ``lazy``, worked out only if a judge asks for them)."""
        try:
            expected = self._run(self.reference, case)
        except Exception as error:  # the reference raising is the expected behaviour
            expected = Raises(type(error).__name__)
        return Expectation(
            call=self.describe_call(case),
            args=case.args,
            kwargs=dict(case.kwargs),
            expected=expected,
            mistakes=() if lazy else self._mistakes(case, expected),
            mistake_source=(lambda: self._mistakes(case, expected)) if lazy else None,
            show_inputs=show_inputs,
            returns=self.returns,
            arg_names=self.arg_names[: len(case.args)],
        )

    def _mistakes(self, case: Case, expected: Any) -> tuple[KnownMistake, ...]:
        """What each known mistake gives on ``case``, where it differs from ``expected``."""
        known = []
        for mistake in self.mistakes:
            try:
                output = self._run(mistake.implementation, case)
            except Exception as error:  # noqa: BLE001 - the mistake crashes on this case
                if isinstance(expected, Raises) and expected.exception == type(error).__name__:
                    continue  # it raises what the reference raises: no mistake here
                output = Raises(type(error).__name__)
            if isinstance(output, ShapeOnly) and output.shape == getattr(expected, "shape", None):
                continue  # only its shape is known, and that is right: no telling it apart
            if isinstance(expected, Raises) or compare(expected, output) is not None:
                known.append(KnownMistake(mistake.name, mistake.hint, output))
        return tuple(known)

    def tests(self, seed: int | None, hidden: bool = True,
              public: bool = True) -> list[GradedTest]:
        """Expand the case sets into graded tests; hidden sets are drawn from ``seed``.

        ``hidden=False`` leaves the hidden sets out, ``public=False`` the public ones.
        """
        tests = []
        for case_set in self.case_sets:
            if (case_set.hidden and not hidden) or (not case_set.hidden and not public):
                continue
            if case_set.hidden:
                if seed is None:
                    raise ValueError("hidden tests need a seed")
                rng = np.random.default_rng([seed, _seed_for(self.name, case_set.title)])
            else:
                rng = np.random.default_rng(_seed_for(self.name, case_set.title))
            drawn = case_set.draw(rng)
            cases = tuple(self.expect(case, show_inputs=not case_set.hidden, lazy=case_set.hidden)
                          for case in drawn)
            speed = None
            if case_set.speed is not None:
                bar = case_set.speed
                speed = SpeedRequirement(bar.description, bar.time(drawn), bar.min_speedup,
                                         bar.hint, bar.group)
            tests.append(GradedTest(self.name, case_set.title, case_set.points,
                                    case_set.hidden, cases, speed))
        return tests
