"""A learner's progress through the course: every exercise passed, failing or not started.

    python -m grader progress [notebooks/]

Runs each saved notebook's exercises on their public tests — the same tests as the check
cells, in the same sandbox as grading — and prints one table for the whole course. Hidden
tests are not run: this is for learning, not grading.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from grader.discover import Submission
from grader.errors import UsageError
from grader.exercises import notebooks
from grader.grade import GradingPlan, grade_submission
from grader.load import load_notebook
from grader.results import ExerciseResult
from grader.sandbox import Limits, Sandbox, choose_sandbox

__all__ = ["ExerciseProgress", "course_progress", "format_progress"]


@dataclass(frozen=True)
class ExerciseProgress:
    """Where a learner stands on one exercise."""

    notebook: str
    exercise: str
    status: str
    """``"passed"``, ``"failing"`` or ``"not started"``."""
    reason: str = ""
    """For a failing exercise, the first failure in one line."""


def _status(result: ExerciseResult | None, notebook: str, name: str) -> ExerciseProgress:
    if result is None:
        return ExerciseProgress(notebook, name, "not started", "notebook not found")
    if all(v.passed for v in result.verdicts):
        return ExerciseProgress(notebook, name, "passed")
    if any(v.not_implemented for v in result.verdicts):
        return ExerciseProgress(notebook, name, "not started")
    first = next(v for v in result.verdicts if not v.passed)
    reason = first.feedback(show_inputs=False).splitlines()[0]
    if "was not graded: " in reason:
        reason = reason.split("was not graded: ", 1)[1]
    return ExerciseProgress(notebook, name, "failing", reason)


def course_progress(folder: Path, sandbox: Sandbox | None = None) -> list[ExerciseProgress]:
    """The status of every exercise of the course, from the notebooks saved in ``folder``."""
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder of notebooks")
    found: dict[str, Path] = {}
    for path in sorted(folder.glob("*.ipynb")):
        name = load_notebook(path).notebook
        if name is not None and name not in found:
            found[name] = path
    results: dict[str, ExerciseResult] = {}
    if found:
        sandbox = sandbox or choose_sandbox(Limits(step_seconds=10))
        plan = GradingPlan.create(0, list(found), sandbox, hidden=False)
        with tempfile.TemporaryDirectory(prefix="progress-") as scratch:
            graded = grade_submission(Submission("me", tuple(found.values()), folder), plan,
                                      Path(scratch), time_budget=300)
        results = {e.name: e for e in graded.exercises}
    return [_status(results.get(e.name), name, e.name)
            for name, exercises in notebooks().items() for e in exercises]


MARKS = {"passed": "✓ passed", "failing": "✗ failing", "not started": "· not started"}


def format_progress(progress: list[ExerciseProgress]) -> str:
    """A table a learner reads at a glance, then a one-line total."""
    width = max(len(p.notebook) for p in progress) + 2
    name_width = max(len(p.exercise) for p in progress) + 2
    lines = ["Your progress (public tests, on your saved notebooks):", ""]
    previous = None
    for item in progress:
        notebook = item.notebook if item.notebook != previous else ""
        previous = item.notebook
        reason = f" — {item.reason}" if item.reason and item.status == "failing" else ""
        lines.append(f"{notebook:<{width}}{item.exercise:<{name_width}}{MARKS[item.status]}{reason}")
    passed = sum(p.status == "passed" for p in progress)
    lines += ["", f"{passed} of {len(progress)} exercises pass their public tests."]
    return "\n".join(lines)
