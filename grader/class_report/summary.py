"""The class report's numbers: each student's results file read, the class summed up."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from grader._text import clean
from stridelab.judging import GENERIC_MISTAKES
from grader.report import read_results

REPORT = "report.html"
CSV_FILES = ("report-notebooks.csv", "report-exercises.csv", "report-tests.csv",
             "report-mistakes.csv", "report-problems.csv", "report-students.csv")
REPORT_FILES = (REPORT, *CSV_FILES)
"""Every file the report writes into the output folder (all in ``RESERVED_NAMES``)."""

PROBLEMS = {
    "timeout": "Timeouts",
    "crash": "Crashes",
    "missing notebook": "Missing notebooks",
    "unreadable notebook": "Unreadable notebooks",
    "not graded": "Exercises not graded",
    "grader failure": "Grader failed",
}
"""Kinds of problem a student's row can show, with their column headings."""

OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "sky blue": "#56B4E9",
             "bluish green": "#009E73", "yellow": "#F0E442", "blue": "#0072B2",
             "vermillion": "#D55E00", "reddish purple": "#CC79A7", "grey": "#999999"}
"""Colours told apart with every common colour-vision deficiency (Okabe & Ito, 2008)."""

TOP_TESTS = 20
"""The hardest tests drawn in the figure; the table lists them all."""
TOP_MISTAKES = 15
SLOWEST = 10
DPI = 100

_TIMEOUT = ("did not finish within", "used up its", "was killed", "was not graded: the time "
            "allowed")
_CRASH = ("crashed the Python process", "ended the grading process", "closed the grader's "
          "connection", "sent an unreadable error report", "returned data the grader cannot "
          "read", "returned more data than the grader accepts")
_SANDBOX_MESSAGE = re.compile(
    r"^(?:(?! raised ).)*? → (?:was skipped: an earlier case |\(while defining [^)]*\) )?(.*)$")
"""A call's first line when the sandbox, not the student's code, ended it: the call (which
never holds " raised "), an arrow, then the sandbox's words."""
_NOT_GRADED = re.compile(r"^(?:Not graded|Could not be graded|Was not run)\b:?\s*(.*)$")
_HINT = re.compile(r"^Hint: (?:two known mistakes explain your answers between them: .*?"
                   r"\. Here: )?(?P<name>[^\n:]{1,100}?) — (?P<hint>.+)$")
"""``Hint: NAME — TEXT``, also as the second half of a two-mistake hint. A list of several
candidate mistakes ("match more than one known mistake: …") names none, and is skipped."""



@cache
def _known_mistakes(exercise: str) -> dict[str, str]:
    """The named mistakes ``exercise`` defines (and those any exercise can make), name → hint. Output text is the student's to
    shape (an exception message can hold any line), so the report counts only these names
    and shows only these hints."""
    from grader.exercises import exercise as find

    try:
        defined = {mistake.name: mistake.hint for mistake in find(exercise).mistakes}
    except KeyError:
        return {}
    return {**GENERIC_MISTAKES, **defined}


# --- Reading the results files -------------------------------------------------------------

@dataclass(frozen=True)
class ExerciseScore:
    """One exercise of one student, as ``extra_data.exercises`` records it."""

    score: float
    max_score: float
    notebook: str
    graded: bool = True
    """False when the exercise was not run at all (notebook missing, unreadable, cell gone)."""


@dataclass(frozen=True)
class StudentTest:
    """One test of one student."""

    name: str
    exercise: str
    hidden: bool
    passed: bool


@dataclass(frozen=True)
class Problem:
    """Something that kept part of a submission from being graded normally."""

    kind: str
    """A key of :data:`PROBLEMS`, or ``"note"`` for the grader's notes on the submission."""
    where: str
    """The exercise or notebook it concerns (``""`` for the whole submission)."""
    detail: str


@dataclass(frozen=True)
class StudentRecord:
    """What the report needs of one student's ``results.json``, read defensively."""

    student: str
    score: float
    max_score: float
    seconds: float | None
    """``execution_time``: wall-clock seconds grading this submission took."""
    exercises: Mapping[str, ExerciseScore]
    tests: tuple[StudentTest, ...]
    mistakes: Mapping[str, str]
    """Named mistake → its hint (the first one shown)."""
    mistake_exercises: Mapping[str, frozenset[str]]
    """Named mistake → every exercise it showed in."""
    problems: tuple[Problem, ...]

    def count(self, kind: str) -> int:
        """How many exercises (or notebooks) a problem of ``kind`` touched."""
        return len({p.where for p in self.problems if p.kind == kind})

    @property
    def needs_attention(self) -> bool:
        return any(p.kind in PROBLEMS for p in self.problems)


def _number(value: Any) -> float:
    """A number from a results file, or 0 (as the gradebook reads it)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return 0.0


def _exercise_of(test_name: str, exercises: Sequence[str]) -> str:
    """The exercise a test belongs to: its name begins with the ``grade_id`` (longest match;
    ``exercises`` longest first)."""
    for name in exercises:
        if test_name == name or test_name.startswith((name + ":", name + " ")):
            return name
    return test_name.split(":", 1)[0].strip()


def _problem_in(output: str, exercise: str, notebook: str) -> Problem | None:
    """The problem a failed test's output reports, if it is one the report shows."""
    first = output.split("\n", 1)[0]
    not_graded = _NOT_GRADED.match(first)
    if not_graded:
        reason = not_graded.group(1)
        if first.startswith("Could not be graded"):
            return Problem("grader failure", exercise, reason)
        if reason.endswith("was not submitted"):
            return Problem("missing notebook", notebook, reason)
        if re.match(r"^\S[^\n]*?\.ipynb ", reason):
            return Problem("unreadable notebook", notebook, reason)
        return Problem("not graded", exercise, reason or first)
    sandbox = _SANDBOX_MESSAGE.match(first)
    if sandbox:
        reason = sandbox.group(1)
        if reason.startswith(_TIMEOUT):
            return Problem("timeout", exercise, reason)
        if reason.startswith(_CRASH):
            return Problem("crash", exercise, reason)
    return None


def read_student(student: str, data: Mapping[str, Any], exercises: Sequence[str]) -> StudentRecord:
    """One student's record from their parsed ``results.json`` (any shape: unknown parts are
    left out, missing numbers read as 0, as the gradebook reads them)."""
    extra = data.get("extra_data") if isinstance(data.get("extra_data"), dict) else {}
    recorded = extra.get("exercises") if isinstance(extra.get("exercises"), dict) else {}
    notebook_of = {name: clean(value.get("notebook", ""), 100, single_line=True)
                   for name, value in recorded.items() if isinstance(value, dict)}
    problems: list[Problem] = []
    tests: list[StudentTest] = []
    mistakes: dict[str, str] = {}
    seen_in: dict[str, set[str]] = {}
    ungraded: set[str] = set()
    longest_first = sorted(exercises, key=len, reverse=True)
    raw_tests = data.get("tests") if isinstance(data.get("tests"), list) else []
    for raw in raw_tests:
        if not isinstance(raw, dict):
            continue
        name = clean(raw.get("name", ""), 300, single_line=True)
        exercise = _exercise_of(name, longest_first)
        output = clean(raw.get("output", ""), 20_000) if isinstance(raw.get("output"), str) else ""
        passed = raw.get("status") == "passed"
        tests.append(StudentTest(name, exercise, raw.get("visibility") == "after_published",
                                 passed))
        if passed:
            continue
        problem = _problem_in(output, exercise, notebook_of.get(exercise, ""))
        if problem is not None:
            problems.append(problem)
            if problem.kind in ("missing notebook", "unreadable notebook", "not graded",
                                "grader failure"):
                ungraded.add(exercise)
        known = _known_mistakes(exercise)
        for line in output.split("\n"):
            hint = _HINT.match(line)
            mistake = hint.group("name").strip() if hint else ""
            if mistake in known:  # a name the exercise defines, with the hint it defines
                mistakes.setdefault(mistake, known[mistake])
                seen_in.setdefault(mistake, set()).add(exercise)
    if isinstance(extra.get("grader_failure"), str) and extra["grader_failure"].strip():
        problems.append(Problem("grader failure", "", "the grader failed on this submission "
                                "(see grader-error.txt)"))
    notes = extra.get("notes") if isinstance(extra.get("notes"), list) else []
    said = [p.detail for p in problems if p.detail]
    problems += [Problem("note", "", clean(note, 500)) for note in notes
                 if isinstance(note, str) and not any(d in note for d in said)]
    scores = {name: ExerciseScore(_number(value.get("score")), _number(value.get("max_score")),
                                  notebook_of.get(name, ""), name not in ungraded)
              for name, value in recorded.items() if isinstance(value, dict)}
    seconds = data.get("execution_time")
    return StudentRecord(
        student=student, score=_number(data.get("score")),
        max_score=_number(data.get("max_score")),
        seconds=_number(seconds) if isinstance(seconds, (int, float)) else None,
        exercises=scores, tests=tuple(tests), mistakes=mistakes,
        mistake_exercises={name: frozenset(where) for name, where in seen_in.items()},
        problems=tuple(_unique(problems)))


def _unique(problems: Iterable[Problem]) -> list[Problem]:
    """Each problem once per place: a timeout shows in every test of its exercise."""
    kept: dict[tuple[str, str], Problem] = {}
    for problem in problems:
        key = (problem.kind, problem.where if problem.kind != "note" else problem.detail)
        kept.setdefault(key, problem)
    return list(kept.values())


# --- Summing up ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ScoreStats:
    """How the class scored on one exercise or one notebook, in points."""

    name: str
    notebook: str
    max_score: float
    scores: tuple[float, ...]
    """Every student's score, in student order."""
    not_graded: int = 0
    """Students for whom it was not run at all (notebook missing or unreadable, cell gone)."""

    @property
    def students(self) -> int:
        return len(self.scores)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.scores) if self.scores else 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.scores) if self.scores else 0.0

    @property
    def full_marks(self) -> int:
        return sum(self.max_score > 0 and s >= self.max_score - 1e-9 for s in self.scores)

    @property
    def no_points(self) -> int:
        return sum(s <= 1e-9 for s in self.scores)

    @property
    def partial(self) -> int:
        return self.students - self.full_marks - self.no_points

    @property
    def percent(self) -> float:
        return 100 * self.mean / self.max_score if self.max_score else 0.0


@dataclass(frozen=True)
class PassRate:
    """How many students passed one test."""

    name: str
    exercise: str
    hidden: bool
    passed: int
    students: int

    @property
    def rate(self) -> float:
        return 100 * self.passed / self.students if self.students else 0.0


@dataclass(frozen=True)
class MistakeStats:
    """One named mistake: how many students made it, where, and the hint that names it."""

    name: str
    students: int
    exercises: tuple[tuple[str, int], ...]
    """(exercise, students who made it there), most first."""
    hint: str


@dataclass(frozen=True)
class ClassReport:
    """Everything the page and its CSV files show."""

    records: tuple[StudentRecord, ...]
    notebooks: tuple[ScoreStats, ...]
    exercises: tuple[ScoreStats, ...]
    tests: tuple[PassRate, ...]
    mistakes: tuple[MistakeStats, ...]
    left_out: tuple[str, ...] = field(default_factory=tuple)
    """Students of the class without a readable ``results.json`` (not in the gradebook)."""

    @property
    def total(self) -> ScoreStats:
        top = max((r.max_score for r in self.records), default=0.0)
        return ScoreStats("total", "", top, tuple(r.score for r in self.records))

    @property
    def attention(self) -> tuple[StudentRecord, ...]:
        return tuple(r for r in self.records if r.needs_attention)

    @property
    def seconds(self) -> tuple[float, ...]:
        return tuple(r.seconds for r in self.records if r.seconds is not None)


def summarize(out: Path, exercises: Sequence[str], students: Sequence[str]) -> ClassReport:
    """The report of ``students`` (this run's class, as for ``gradebook.csv``) in ``out``."""
    results = read_results(out)
    records, left_out = [], []
    for student in sorted(set(students)):
        data = results.get(student)
        if isinstance(data, dict):
            records.append(read_student(student, data, exercises))
        else:
            left_out.append(student)
    per_exercise = _exercise_stats(records, exercises)
    return ClassReport(tuple(records), _notebook_stats(records, per_exercise), per_exercise,
                       _test_stats(records), _mistake_stats(records), tuple(left_out))


def _exercise_stats(records: Sequence[StudentRecord], exercises: Sequence[str]
                    ) -> tuple[ScoreStats, ...]:
    stats = []
    for name in exercises:
        found = [r.exercises[name] for r in records if name in r.exercises]
        notebook = next((e.notebook for e in found if e.notebook), "")
        top = max((e.max_score for e in found), default=0.0)
        scores = tuple(r.exercises[name].score if name in r.exercises else 0.0 for r in records)
        stats.append(ScoreStats(name, notebook, top, scores, sum(not e.graded for e in found)))
    return tuple(stats)


def _notebook_stats(records: Sequence[StudentRecord], exercises: Sequence[ScoreStats]
                    ) -> tuple[ScoreStats, ...]:
    """Each notebook's scores: the sums of its exercises' (``exercises`` in course order)."""
    stats = []
    for notebook in dict.fromkeys(s.notebook for s in exercises):
        parts = [s for s in exercises if s.notebook == notebook]
        scores = tuple(sum(p.scores[i] for p in parts) for i in range(len(records)))
        missing = sum(any(p.kind in ("missing notebook", "unreadable notebook")
                          and p.where == notebook for p in r.problems) for r in records)
        stats.append(ScoreStats(notebook, notebook, sum(p.max_score for p in parts), scores,
                                missing))
    return tuple(stats)


def _test_stats(records: Sequence[StudentRecord]) -> tuple[PassRate, ...]:
    order: dict[str, StudentTest] = {}
    passed: Counter[str] = Counter()
    taken: Counter[str] = Counter()
    for record in records:
        for test in record.tests:
            order.setdefault(test.name, test)
            taken[test.name] += 1
            passed[test.name] += test.passed
    return tuple(PassRate(name, t.exercise, t.hidden, passed[name], taken[name])
                 for name, t in order.items())


def _mistake_stats(records: Sequence[StudentRecord]) -> tuple[MistakeStats, ...]:
    students: Counter[str] = Counter()
    where: dict[str, Counter[str]] = {}
    hints: dict[str, Counter[str]] = {}
    for record in records:
        for name, hint in record.mistakes.items():
            students[name] += 1
            hints.setdefault(name, Counter())[hint] += 1
            where.setdefault(name, Counter()).update(record.mistake_exercises.get(name, ()))
    ranked = sorted(students, key=lambda name: (-students[name], name))
    return tuple(MistakeStats(name, students[name], tuple(where[name].most_common()),
                              hints[name].most_common(1)[0][0]) for name in ranked)


# --- Numbers as text -------------------------------------------------------------------------

def _fmt(value: float) -> str:
    """A mean, median or share: ``4``, ``4.5``, ``4.333``."""
    return f"{round(value, 3):g}"


def _points(value: float) -> str:
    """One student's points, exactly as ``gradebook.csv`` writes them."""
    return f"{value:g}"


def _pct(value: float) -> str:
    return f"{value:.0f}%"


