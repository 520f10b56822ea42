"""Check cells: run an exercise's public tests right in the notebook and say what to fix.

``check("conv2d", conv2d)`` calls the learner's function on every public case, judges the
results with the same judge the grader uses, and returns a report that prints as a short
list of passing and failing tests, each failure with its input, expected against got, and
a hint when the answer matches a known mistake. It never raises, so "Run All" goes on.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stridelab.graded_code import WHAT_GRADING_RUNS, missing_when_graded
from stridelab.judging import (ErrorInfo, Outcome, TestVerdict, judge_test, name_mistakes,
                               verdict_lines)
from stridelab.public import public_tests

__all__ = ["CheckReport", "check", "run_public_tests"]


def _call(function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Outcome:
    """Call ``function`` on private copies of the inputs, capturing any exception."""
    try:
        return Outcome(value=function(*copy.deepcopy(args), **copy.deepcopy(kwargs)))
    except Exception as error:  # noqa: BLE001 - any learner error becomes feedback
        return Outcome(error=ErrorInfo.from_exception(error))


def run_public_tests(name: str, function: Callable[..., Any]) -> list[TestVerdict]:
    """Judge ``function`` on every public test of exercise ``name``."""
    verdicts = []
    for test in public_tests(name):
        outcomes = [_call(function, case.args, dict(case.kwargs)) for case in test.cases]
        verdicts.append(judge_test(test, outcomes))
    return name_mistakes(verdicts)


@dataclass(frozen=True)
class CheckReport:
    """The result of a check cell; shows itself as readable text."""

    name: str
    verdicts: tuple[TestVerdict, ...] = ()
    problem: str = ""
    unseen: tuple[str, ...] = ()
    """Names the function uses that grading will not define (see :mod:`stridelab.graded_code`)."""

    @property
    def passed(self) -> bool:
        return not self.problem and all(v.passed for v in self.verdicts)

    @property
    def not_implemented(self) -> bool:
        return any(v.not_implemented for v in self.verdicts)

    def __str__(self) -> str:
        if self.problem:
            return f"{self.name}: {self.problem}"
        if self.not_implemented:
            return (
                f"{self.name} is not implemented yet: write your code in its cell in place of "
                "`raise NotImplementedError`, run that cell, then run this check again."
            )
        total, passing = len(self.verdicts), sum(v.passed for v in self.verdicts)
        if passing == total:
            head = f"{self.name}: all {total} public tests pass. Well done!"
        else:
            head = f"{self.name}: {passing} of {total} public tests pass."
        lines = [head, *verdict_lines(self.verdicts)]
        if self.unseen:
            names = ", ".join(f"`{n}`" for n in self.unseen)
            lines.append(
                f"⚠ Grading will not see {names}: {self.name} uses it, but {WHAT_GRADING_RUNS}. "
                f"Define it inside this cell (or as a def, an import or a literal constant) "
                "so the graded function finds it.")
        lines.append(
            "When grading, hidden tests also run on fresh random inputs "
            "(other sizes, non-square shapes)."
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


def check(name: str, function: Any) -> CheckReport:
    """Run the public tests of exercise ``name`` on ``function`` and report; never raises."""
    if not callable(function):
        return CheckReport(name, problem=f"expected your function, got {type(function).__name__}; "
                           f"run the cell that defines {name} first.")
    try:
        return CheckReport(name, tuple(run_public_tests(name, function)),
                           unseen=tuple(_unseen_when_graded(name, function)))
    except KeyError as error:
        return CheckReport(name, problem=str(error.args[0]))


def _unseen_when_graded(name: str, function: Any) -> list[str]:
    """What ``function`` uses from cells grading does not run, from the kernel's history."""
    try:
        from IPython import get_ipython
    except ImportError:
        return []
    shell = get_ipython()
    history = shell.user_ns.get("In", []) if shell is not None else []
    cells = [cell for cell in history if isinstance(cell, str)]
    own = [cell for cell in cells if f"def {name}" in cell]
    if not own:
        return []
    try:
        return missing_when_graded(function, own[-1], [c for c in cells if c is not own[-1]])
    except Exception:  # noqa: BLE001 - a warning must never break a check cell
        return []
