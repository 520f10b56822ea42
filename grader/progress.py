"""A learner's progress through the course: every exercise passed, failing or not started.

    python -m grader progress [notebooks/] [--run-unsandboxed]

Runs each saved notebook's exercises on their public tests — the same tests as the check
cells — and prints one table for the whole course. Hidden tests are not run: this is for
learning, not grading. Running a notebook's exercises runs its code, and a folder may hold
someone else's notebook: so the code runs in the grader's bubblewrap sandbox, and where
bubblewrap cannot run, only when the learner asks for it (``--run-unsandboxed``), because it
then runs with the learner's own permissions. The table says which happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader._text import terminal
from grader.discover import Submission
from grader.errors import SandboxUnavailable, UsageError
from grader.exercises import notebooks
from grader.grade import GradingPlan, grade_submission
from grader.load import inspect_notebook
from grader.results import ExerciseResult
from grader.sandbox import Limits, Sandbox, choose_sandbox

__all__ = ["CourseProgress", "ExerciseProgress", "course_progress", "format_progress"]


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


@dataclass(frozen=True)
class CourseProgress:
    """The table's rows, and how the notebooks' code was run."""

    items: list[ExerciseProgress]
    isolation: str = ""
    """One sentence on how isolated the notebooks' code was, or ``""`` if none ran."""
    notes: tuple[str, ...] = ()
    """Which file was read for a notebook, when it is not the one named after it."""


UNSANDBOXED_HELP = (
    "checking your progress runs the code in every notebook in {folder}, and {reason}, so it "
    "would run with your own permissions, able to read and change your files. If every "
    "notebook there is your own, run it anyway: python -m grader progress --run-unsandboxed "
    "{folder} (in a notebook: progress(run_unsandboxed=True)). Or install bubblewrap (Linux: "
    "sudo apt install bubblewrap)."
)


def _isolation(sandbox: Sandbox) -> str:
    if sandbox.isolated:
        return ("Your notebooks' code ran in a bubblewrap sandbox: no network, no access to "
                "your files.")
    return ("Your notebooks' code ran WITHOUT a sandbox, with your permissions, because you "
            "asked for it (--run-unsandboxed).")


def course_progress(folder: Path, sandbox: Sandbox | None = None,
                    run_unsandboxed: bool = False) -> CourseProgress:
    """The status of every exercise of the course, from the notebooks saved in ``folder``.

    Without bubblewrap, :class:`SandboxUnavailable` unless ``run_unsandboxed`` is given.
    """
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder of notebooks; give the folder your notebooks "
                         "are in: python -m grader progress FOLDER")
    candidates: dict[str, list[Path]] = {}
    for path in sorted(folder.glob("*.ipynb")):
        name = inspect_notebook(path).notebook
        if name is not None:
            candidates.setdefault(name, []).append(path)
    # The notebook named as the course names it wins; any other is said, not used silently.
    found = {name: min(paths, key=lambda p: (p.stem != name, p.name))
             for name, paths in candidates.items()}
    notes = [f"{name}: read {found[name].name}"
             + (f" (also found: {', '.join(p.name for p in paths if p != found[name])})"
                if len(paths) > 1 else "")
             for name, paths in candidates.items() if len(paths) > 1 or found[name].stem != name]
    results: dict[str, ExerciseResult] = {}
    isolation = ""
    if found:
        if sandbox is None:
            try:
                sandbox = choose_sandbox(Limits(step_seconds=10), run_unsandboxed)
            except SandboxUnavailable as error:
                raise SandboxUnavailable(UNSANDBOXED_HELP.format(
                    folder=folder, reason=error.reason), error.reason) from None
        plan = GradingPlan.create(0, list(found), sandbox, hidden=False)
        try:
            graded = grade_submission(Submission("me", tuple(found.values()), folder), plan,
                                      time_budget=300)
        except SandboxUnavailable as error:  # bubblewrap is there but cannot run
            raise SandboxUnavailable(UNSANDBOXED_HELP.format(
                folder=folder, reason=error.reason), error.reason) from None
        finally:
            sandbox.release()
        results = {e.name: e for e in graded.exercises}
        isolation = _isolation(sandbox)
    items = [_status(results.get(e.name), name, e.name)
             for name, exercises in notebooks().items() for e in exercises]
    if not found:
        notes.append(f"No course notebooks were found in {folder}: is it the folder your "
                     "notebooks are saved in?")
    return CourseProgress(items, isolation, tuple(notes))


MARKS = {"passed": "✓ passed", "failing": "✗ failing", "not started": "· not started"}
REASON_LIMIT = 200
"""Characters of a failing exercise's reason shown in the table."""


def format_progress(progress: list[ExerciseProgress], isolation: str = "",
                    notes: tuple[str, ...] = ()) -> str:
    """A table a learner reads at a glance, then a one-line total and how the code ran.

    Names and reasons are :func:`~grader._text.terminal`-escaped: a message from the
    notebook's code cannot move the cursor or rewrite a row.
    """
    width = max(len(terminal(p.notebook)) for p in progress) + 2
    name_width = max(len(terminal(p.exercise)) for p in progress) + 2
    lines = ["Your progress (public tests, on your saved notebooks):", ""]
    previous = None
    for item in progress:
        notebook = terminal(item.notebook) if item.notebook != previous else ""
        previous = item.notebook
        reason = (f" — {terminal(item.reason, REASON_LIMIT)}"
                  if item.reason and item.status == "failing" else "")
        lines.append(f"{notebook:<{width}}{terminal(item.exercise):<{name_width}}"
                     f"{MARKS[item.status]}{reason}")
    passed = sum(p.status == "passed" for p in progress)
    lines += ["", f"{passed} of {len(progress)} exercises pass their public tests."]
    lines += [terminal(note) for note in notes]
    if isolation:
        lines.append(isolation)
    return "\n".join(lines)
