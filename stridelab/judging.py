"""Judge a call of a student's function: right, or wrong in a way the student can act on.

One judge serves everyone: the check cells (in the student's kernel, on public cases)
and the grader (in its own process, on public and hidden cases), so feedback reads the
same in the notebook, in ``results.json`` and in nbgrader. A verdict names the input,
what was expected against what came back (a shape, or the first differing element) and,
when the wrong answer is exactly what a known mistake produces, a hint naming it.

>>> import numpy as np
>>> case = Expectation(call="f(x: 2×2)", args=(), kwargs={}, expected=np.eye(2))
>>> judge(case, Outcome(value=np.eye(2))).passed
True
>>> judge(case, Outcome(value=np.ones((2, 3)))).message
'f(x: 2×2) → expected shape (2, 2), got (2, 3)'
"""

from __future__ import annotations

import sys
import sysconfig
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from stridelab.encoding import Raises, ShapeOnly, Unsupported

__all__ = [
    "ErrorInfo",
    "Expectation",
    "GradedTest",
    "KnownMistake",
    "Outcome",
    "TestVerdict",
    "Verdict",
    "compare",
    "judge",
    "judge_safely",
    "judge_test",
    "name_mistakes",
    "score_test",
    "verdict_lines",
]

RTOL = 1e-4
"""Relative tolerance: float32 results and any summation order pass, real mistakes do not."""
ATOL = 1e-4
"""Absolute tolerance, scaled by the largest expected magnitude (at least 1)."""
SMALL_INPUT = 36
"""Arrays with at most this many elements are printed in public feedback."""


@dataclass(frozen=True)
class ErrorInfo:
    """An exception raised by student code, or a limit it hit, as plain data."""

    type: str
    """Exception class name (``"IndexError"``), or ``"TimeLimit"``, ``"Crash"`` …"""
    message: str
    """The exception's message, or a full sentence for limits and crashes."""
    bases: tuple[str, ...] = ()
    """Names of the exception's classes, most specific first, to match ``Raises``."""
    where: str = ""
    """The line of student code that raised it, e.g. ``"line 7: out[i, j] = …"``."""
    kind: str = "exception"
    """``"exception"`` for a raised exception; ``"limit"`` or ``"crash"`` from the sandbox;
    ``"not_run"`` when the call never happened (skipped, not submitted)."""

    @classmethod
    def from_exception(cls, error: BaseException) -> ErrorInfo:
        """Capture ``error``, pointing at the last line of the learner's own code it passed."""
        frames = traceback.extract_tb(error.__traceback__)
        mine = [frame for frame in frames if _is_learner_code(frame.filename)]
        where = ""
        if mine:
            frame = mine[-1]
            code = (frame.line or "").strip()
            where = f"line {frame.lineno}" + (f": {code[:100]}" if code else "")
        message = str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
        bases = tuple(k.__name__ for k in type(error).__mro__[1:] if k not in (object, BaseException))
        return cls(type(error).__name__, message, bases, where)


@dataclass(frozen=True)
class Outcome:
    """What calling the student's function produced: a value, or an error."""

    value: Any = None
    error: ErrorInfo | None = None
    seconds: float = 0.0
    """Wall-clock time of the call, measured by the caller (the grader, for speed tests)."""


@dataclass(frozen=True)
class KnownMistake:
    """What a known wrong implementation returns for one case, and the hint that names it."""

    name: str
    hint: str
    output: Any


@dataclass(frozen=True)
class Expectation:
    """One case of a test: the call, its right answer, and what known mistakes give."""

    call: str
    """The call in words, e.g. ``"conv2d(x: 4×6, w: 2×3)"``."""
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    expected: Any
    """The right result, or ``Raises("ValueError")``."""
    mistakes: tuple[KnownMistake, ...] = ()
    mistake_source: Callable[[], tuple[KnownMistake, ...]] | None = field(
        default=None, compare=False, repr=False)
    """Computes ``mistakes`` when first needed instead (the grader's hidden cases: most
    answers are right, and then no mistake's output is ever wanted)."""
    show_inputs: bool = False
    """Print small input arrays in the feedback (public cases only)."""
    returns: tuple[str, ...] = ()
    """Names of the parts of a tuple result, e.g. ``("dx", "dw", "db")``."""
    arg_names: tuple[str, ...] = ()
    """Names of the positional ``args``, for printing inputs."""

    @cached_property
    def known_mistakes(self) -> tuple[KnownMistake, ...]:
        """What known mistakes give on this case (computed once, when first asked)."""
        return self.mistake_source() if self.mistake_source is not None else self.mistakes


@dataclass(frozen=True)
class SpeedRequirement:
    """A speed test's bar: ``min_speedup`` times faster than a baseline timed in the same run."""

    baseline: str
    """What the baseline is, in words: ``"the naive loop over output positions"``."""
    baseline_seconds: float
    """The baseline's total CPU time on the test's cases, measured by the grader."""
    min_speedup: float
    hint: str = ""
    group: int = 1
    """Consecutive cases drawn alike (same shapes, fresh values): the fastest of each group
    counts, so a hiccup costs nothing, and a cache of earlier answers gains nothing."""

    def total(self, seconds: Sequence[float]) -> float:
        """The learner's time on the test from each case's ``seconds``: per group, the least."""
        size = max(1, self.group)
        return sum(min(seconds[i:i + size]) for i in range(0, len(seconds), size))


@dataclass(frozen=True)
class GradedTest:
    """A named, scored group of cases; it earns its points when every case passes."""

    exercise: str
    title: str
    points: float
    hidden: bool
    cases: tuple[Expectation, ...]
    speed: SpeedRequirement | None = None
    """For speed tests: how fast the function must be, against a baseline timed here."""

    @property
    def name(self) -> str:
        """The name graders show: it begins with the exercise's ``grade_id``."""
        return f"{self.exercise}: {self.title}"


@dataclass(frozen=True)
class Verdict:
    """The judgement of one case."""

    passed: bool
    message: str = ""
    hint: str = ""
    not_implemented: bool = False
    show_inputs: bool = True
    """False when the inputs do not help: the case was never run."""
    matches: frozenset[str] = frozenset()
    """A failed case: the known mistakes that give exactly this answer (or exception)."""
    generic: str = ""
    """A hint from the answer's form alone (no return, swapped axes, a float for an int)."""
    comparable: bool = False
    """A failed case that ran and returned or raised: evidence about which mistake was made."""


@dataclass(frozen=True)
class TestVerdict:
    """The judgement of a whole test: its score and, when it failed, why."""

    test: GradedTest
    score: float
    failures: tuple[tuple[Expectation, Verdict], ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def not_implemented(self) -> bool:
        return any(verdict.not_implemented for _, verdict in self.failures)

    @property
    def hint(self) -> str:
        """The hint of the first failing case, if it has one."""
        return self.failures[0][1].hint if self.failures else ""

    def feedback(self, show_inputs: bool = True, show_hint: bool = True) -> str:
        """What went wrong, for the student: the first failing case in full, then a count.

        ``show_hint=False`` replaces a hint the reader has just seen by "as above".
        """
        if self.passed:
            return ""
        expectation, verdict = self.failures[0]
        if verdict.not_implemented:
            return (f"{self.test.exercise} is not implemented yet (it still raises "
                    "NotImplementedError).")
        lines = [verdict.message]
        if show_inputs and expectation.show_inputs and verdict.show_inputs:
            lines += _describe_inputs(expectation)
            index = next(i for i, case in enumerate(self.test.cases) if case is expectation)
            lines += _reproduce_large_inputs(self.test, index)
        if verdict.hint:
            lines.append(f"Hint: {verdict.hint}" if show_hint else "Hint: as above.")
        more = len(self.failures) - 1
        if more and not verdict.message.startswith(("Not graded", "Could not be graded")):
            lines.append(f"({more} more case{'s' if more > 1 else ''} of this test also "
                         f"fail{'' if more > 1 else 's'}.)")
        return "\n".join(lines)


def _short(value: Any) -> str:
    """A value in a few words, for messages that must not print whole arrays."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, Unsupported):
        return _article(value.type_name)
    text = repr(value)
    return text if len(text) <= 60 else f"{_article(type(value).__name__)} ({text[:40]}…)"


def _article(noun: str) -> str:
    """``"an int"``, ``"a str"``."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _number(value: Any) -> str:
    return f"{float(value):.6g}" if isinstance(value, (float, np.floating)) else repr(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _compare_arrays(expected: np.ndarray, got: Any, where: str) -> str | None:
    if isinstance(got, Unsupported) or got is None:
        return f"{where}expected an array of shape {expected.shape}, got {_short(got)}"
    try:
        array = np.asarray(got)
    except (ValueError, TypeError):
        array = None
    if array is None or array.dtype.kind not in "biuf":
        return f"{where}expected an array of shape {expected.shape}, got {_short(got)}"
    if array.shape != expected.shape:
        return f"{where}expected shape {expected.shape}, got {array.shape}"
    if expected.size == 0:
        return None
    array = array.astype(np.float64)
    bad_values = ~np.isfinite(array)
    if bad_values.any():
        index = tuple(int(i) for i in np.argwhere(bad_values)[0])
        return f"{where}the result contains {array[index]} at index {list(index)}"
    scale = max(1.0, float(np.max(np.abs(expected))))
    wrong = ~np.isclose(array, expected, rtol=RTOL, atol=ATOL * scale)
    if not wrong.any():
        return None
    index = tuple(int(i) for i in np.argwhere(wrong)[0])
    count = int(wrong.sum())
    return (
        f"{where}{count} of {expected.size} values are wrong; the first is at index "
        f"{list(index)}: expected {_number(expected[index])}, got {_number(array[index])}"
    )


def compare(expected: Any, got: Any, where: str = "") -> str | None:
    """The difference between ``expected`` and ``got`` in words, or ``None`` when they agree.

    Arrays agree within a tolerance (any float dtype passes); ints must be ints; tuples and
    lists agree element by element. ``where`` prefixes the message (``"dw: "``).
    """
    if isinstance(expected, ShapeOnly):
        shape = getattr(got, "shape", None)
        return None if shape == expected.shape else f"{where}shape {shape}, not {expected.shape}"
    if isinstance(expected, np.ndarray):
        return _compare_arrays(expected, got, where)
    if isinstance(expected, (tuple, list)):
        kind = "tuple" if isinstance(expected, tuple) else "list"
        if isinstance(got, np.ndarray) and got.ndim >= 1:
            got = list(got)
        if not isinstance(got, (tuple, list)):
            return f"{where}expected a {kind} of {len(expected)} items, got {_short(got)}"
        if len(got) != len(expected):
            return f"{where}expected {len(expected)} items, got {len(got)}: {_short(got)}"
        for index, (want, have) in enumerate(zip(expected, got)):
            problem = compare(want, have, f"{where}item {index}: ")
            if problem:
                return problem
        return None
    if _is_int(expected):
        if not _is_int(got):
            return f"{where}expected an int, got {_short(got)}"
        return None if int(got) == int(expected) else f"{where}expected {expected}, got {got}"
    if isinstance(expected, (float, np.floating)):
        if isinstance(got, np.ndarray) and got.shape == ():
            got = got.item()
        if not isinstance(got, (int, float, np.integer, np.floating)) or isinstance(got, bool):
            return f"{where}expected a number, got {_short(got)}"
        scale = max(1.0, abs(float(expected)))
        if np.isclose(float(got), float(expected), rtol=RTOL, atol=ATOL * scale):
            return None
        return f"{where}expected {_number(expected)}, got {_number(got)}"
    if got == expected and type(got) is type(expected):
        return None
    return f"{where}expected {_short(expected)}, got {_short(got)}"


SWAPPED_AXES = "rows and columns swapped"
GENERIC_MISTAKES = {
    SWAPPED_AXES: "the height (rows) comes first and the width (columns) last: an input of "
                  "shape (H, W) gives an output of shape (H_out, W_out). Check which of your "
                  "sizes and loops use axis 0 and which use axis 1.",
}
"""Named mistakes any exercise can make, known from the answer's form alone: name → hint."""


def _generic_hint(expected: Any, got: Any) -> str:
    """A hint for mistakes any exercise can make: no return, swapped axes, float for int."""
    if got is None:
        return "your function returned None: did you forget the `return` statement?"
    if isinstance(expected, np.ndarray) and expected.ndim >= 2:
        swapped = expected.shape[:-2] + (expected.shape[-1], expected.shape[-2])
        if swapped != expected.shape and getattr(got, "shape", None) == swapped:
            return f"{SWAPPED_AXES} — {GENERIC_MISTAKES[SWAPPED_AXES]}"
    if _is_int(expected) and isinstance(got, (float, np.floating)):
        return "`/` always gives a float in Python 3: use `//` (floor division) or int(...)."
    return ""


def _matching_mistakes(expectation: Expectation, got: Any) -> frozenset[str]:
    """The known mistakes whose output on this case is ``got``."""
    found = set()
    for mistake in expectation.known_mistakes:
        if isinstance(mistake.output, Raises):
            continue
        try:
            if compare(mistake.output, got) is None:
                found.add(mistake.name)
        except Exception:  # noqa: BLE001 - an untrusted value the comparison cannot handle
            continue
    return frozenset(found)


def _raising_mistakes(expectation: Expectation, error: ErrorInfo) -> frozenset[str]:
    return frozenset(m.name for m in expectation.known_mistakes if isinstance(m.output, Raises)
                     and m.output.exception in (error.type, *error.bases))


def _wrong(expectation: Expectation, message: str, matches: frozenset[str],
           generic: str = "") -> Verdict:
    """A failed case, its hint decided as for an exercise of this one case."""
    hints = {m.name: m.hint for m in expectation.known_mistakes}
    return Verdict(False, message, _hint_for(matches, hints, generic), matches=matches,
                   generic=generic, comparable=True)


def _hint_for(candidates: frozenset[str] | set[str], hints: Mapping[str, str], generic: str) -> str:
    """One mistake that explains everything is named; a few are listed; else the generic hint."""
    if len(candidates) == 1:
        name = next(iter(candidates))
        return f"{name} — {hints.get(name, '')}"
    if 1 < len(candidates) <= 3:
        return ("your answers match more than one known mistake: " + "; ".join(
            f"{name} ({hints.get(name, '')})" for name in sorted(candidates)))
    return generic


def _error_message(call: str, error: ErrorInfo) -> str:
    if error.type == "NotGraded":  # nothing ran: the call would be made up
        text = error.message.replace("was not graded", "not graded", 1)
        return text[:1].upper() + text[1:]
    if error.kind != "exception":
        return f"{call} → {error.message}"
    where = f" ({error.where})" if error.where else ""
    return f"{call} raised {error.type}: {error.message}{where}"


def judge(expectation: Expectation, outcome: Outcome) -> Verdict:
    """Decide whether ``outcome`` is right for ``expectation``, and say why not."""
    call, expected = expectation.call, expectation.expected
    error = outcome.error
    if error is not None and error.type == "NotImplementedError":
        return Verdict(False, f"{call} → not implemented yet", not_implemented=True)
    right = Verdict(True)
    got = outcome.value
    if isinstance(expected, Raises):
        if error is not None and expected.exception in (error.type, *error.bases):
            return right
        if error is not None and error.kind != "exception":
            return Verdict(False, _error_message(call, error),
                           show_inputs=error.kind != "not_run")
        if error is not None:
            return _wrong(expectation, f"{call} should raise {expected.exception}, but "
                          + _error_message("it", error).removeprefix("it "),
                          _raising_mistakes(expectation, error))
        return _wrong(expectation, f"{call} should raise {expected.exception}, but it returned "
                      f"{_short(got)}", _matching_mistakes(expectation, got),
                      _generic_hint(expected, got))
    if error is not None:
        if error.kind != "exception":
            return Verdict(False, _error_message(call, error), show_inputs=error.kind != "not_run")
        return _wrong(expectation, _error_message(call, error),
                      _raising_mistakes(expectation, error))
    names = expectation.returns
    if names and isinstance(expected, tuple) and isinstance(got, (tuple, list)) \
            and len(got) == len(expected):
        for name, want, have in zip(names, expected, got):
            problem = compare(want, have, f"{name}: ")
            if problem:
                return _wrong(expectation, f"{call} → {problem}",
                              _matching_mistakes(expectation, got), _generic_hint(expected, got))
        return right
    problem = compare(expected, got)
    if problem is None:
        return right
    return _wrong(expectation, f"{call} → {problem}", _matching_mistakes(expectation, got),
                  _generic_hint(expected, got))


def name_mistakes(verdicts: Sequence[TestVerdict]) -> list[TestVerdict]:
    """Hints for one exercise's tests, decided from all its cases at once.

    A known mistake is named only when it gives exactly the learner's answer on every case
    they got wrong (leaving out cases that timed out or crashed, which say nothing) and would
    have got wrong a case they got right; when two or three do, they are listed; otherwise
    the hint comes from the answer's form alone. So a coincidence on one case never becomes a
    diagnosis.
    """
    wrong = [v for test in verdicts for _, v in test.failures if v.comparable]
    if not wrong:
        return list(verdicts)
    passed = [case for test in verdicts for case in _passed_cases(test)]
    ruled_out = {m.name for case in passed for m in case.known_mistakes}
    hints = {m.name: m.hint for test in verdicts for case in test.test.cases
             for m in case.known_mistakes}
    candidates = set.intersection(*(set(v.matches) for v in wrong)) - ruled_out
    if candidates:
        named = {id(v): _hint_for(candidates, hints, v.generic) for v in wrong}
    else:
        named = _two_mistakes(wrong, ruled_out, hints)
    return [replace(test, failures=tuple(
        (case, replace(v, hint=named.get(id(v), v.generic)) if v.comparable else v)
        for case, v in test.failures)) for test in verdicts]


def _passed_cases(test: TestVerdict) -> list[Expectation]:
    """The cases of ``test`` that passed: every known mistake that fails one is ruled out."""
    failed = {id(case) for case, _ in test.failures}
    return [case for case in test.test.cases if id(case) not in failed]


def _two_mistakes(wrong: Sequence[Verdict], ruled_out: set[str],
                  hints: Mapping[str, str]) -> dict[int, str]:
    """When exactly one pair of known mistakes, neither ruled out, explains every wrong case
    between them (two bugs at once), each case is told the one that explains it."""
    possible = sorted(set().union(*(v.matches for v in wrong)) - ruled_out)
    pairs = [(a, b) for i, a in enumerate(possible) for b in possible[i + 1:]
             if all(a in v.matches or b in v.matches for v in wrong)
             and any(a in v.matches and b not in v.matches for v in wrong)
             and any(b in v.matches and a not in v.matches for v in wrong)]
    if len(pairs) != 1:
        return {}
    a, b = pairs[0]
    both = f"two known mistakes explain your answers between them: {a}; {b}"
    return {id(v): f"{both}. Here: {a if a in v.matches else b} — "
                   f"{hints.get(a if a in v.matches else b, '')}" for v in wrong}


def judge_safely(expectation: Expectation, outcome: Outcome) -> Verdict:
    """:func:`judge`, for values from untrusted code: any value at all gets a verdict.

    A value the comparison cannot handle (an int with 400 digits where a float is due,
    say) fails the case with a message instead of stopping the grader.
    """
    try:
        return judge(expectation, outcome)
    except Exception as error:  # noqa: BLE001 - untrusted values must never stop judging
        return Verdict(False, f"{expectation.call} → returned {_short_safely(outcome.value)}, "
                       f"which cannot be compared with the expected result "
                       f"({type(error).__name__})")


def _short_safely(value: Any) -> str:
    try:
        return _short(value)
    except Exception:  # noqa: BLE001 - a value whose repr fails
        return f"a value of type {type(value).__name__}"


def score_test(test: GradedTest, verdicts: Sequence[Verdict], seconds: float = 0.0) -> TestVerdict:
    """The verdict of ``test`` from its cases' verdicts, in order; ``seconds`` is the
    learner's total time on them, for speed tests."""
    failures = [(expectation, verdict) for expectation, verdict in zip(test.cases, verdicts,
                                                                      strict=True)
                if not verdict.passed]
    if not failures and test.speed is not None and test.cases:
        speedup = test.speed.baseline_seconds / max(seconds, 1e-9)
        if speedup < test.speed.min_speedup:
            message = (f"{test.cases[0].call} and {len(test.cases) - 1} more: correct, but your "
                       f"function used {seconds * 1e3:.3g} ms of CPU time and "
                       f"{test.speed.baseline} {test.speed.baseline_seconds * 1e3:.3g} ms — "
                       f"{speedup:.1f}× less; this test needs {test.speed.min_speedup:g}×")
            failures.append((test.cases[0], Verdict(False, message, test.speed.hint)))
    return TestVerdict(test, 0.0 if failures else float(test.points), tuple(failures))


def judge_test(test: GradedTest, outcomes: Sequence[Outcome]) -> TestVerdict:
    """Judge every case of ``test``; it scores its points only when all of them pass.

    A speed test also needs the learner's total time (``Outcome.seconds``, measured by the
    caller) to beat the baseline's by ``min_speedup``.
    """
    verdicts = [judge_safely(e, o) for e, o in zip(test.cases, outcomes, strict=True)]
    seconds = [outcome.seconds for outcome in outcomes]
    return score_test(test, verdicts, test.speed.total(seconds) if test.speed else sum(seconds))


_LIBRARY_DIRS = tuple(
    str(Path(p).resolve())
    for p in {sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"],
              sysconfig.get_paths()["platlib"], sys.prefix, sys.base_prefix,
              str(Path(__file__).resolve().parent)}
)


def _is_learner_code(filename: str) -> bool:
    """True for a notebook cell or a learner's own file; false for Python, numpy, this package."""
    if filename.startswith("<"):
        return not filename.startswith("<frozen")
    try:
        resolved = str(Path(filename).resolve())
    except OSError:
        return False
    return not resolved.startswith(_LIBRARY_DIRS)


def verdict_lines(verdicts: Sequence[TestVerdict]) -> list[str]:
    """A ✓/✗ line per test, each failure's feedback under it; repeated hints read "as above"."""
    lines: list[str] = []
    seen: set[str] = set()
    for verdict in verdicts:
        lines.append(f"  {'✓' if verdict.passed else '✗'} {verdict.test.title}")
        if not verdict.passed:
            feedback = verdict.feedback(show_hint=verdict.hint not in seen)
            lines += ["      " + line for line in feedback.splitlines()]
            seen.add(verdict.hint)
    return lines


def _reproduce_large_inputs(test: GradedTest, index: int) -> list[str]:
    """For a public case whose inputs are too big to print, the lines that rebuild it.

    >>> # To reproduce: from stridelab.public import public_case
    >>> #   args, kwargs = public_case("conv2d", "random sizes", 2)
    """
    expectation = test.cases[index]
    values = [*expectation.args, *expectation.kwargs.values()]
    if test.hidden or not any(isinstance(v, np.ndarray) and v.size > SMALL_INPUT for v in values):
        return []
    return ["  To reproduce it: from stridelab.public import public_case",
            f"    args, kwargs = public_case({test.exercise!r}, {test.title!r}, {index})",
            f"    {test.exercise}(*args, **kwargs)"]


def _describe_inputs(expectation: Expectation) -> list[str]:
    """Small input arrays written out, so a student can reproduce a public case."""
    named = [*zip(expectation.arg_names, expectation.args), *expectation.kwargs.items()]
    lines = []
    for name, value in named:
        if isinstance(value, np.ndarray) and 0 < value.size <= SMALL_INPUT:
            indent = "\n" + " " * (len(name) + 5)
            lines.append(f"  {name} = " + np.array2string(value, separator=", ").replace("\n", indent))
    return lines
