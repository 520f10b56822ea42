"""nbgrader integration: autograde in the course's sandbox instead of in a live kernel.

nbgrader's own ``autograde`` runs the whole student notebook in a Jupyter kernel and scores
each test cell by whether it raised — so student code shares a process with the tests and
can patch them. The repository's ``nbgrader_config.py`` replaces that one step, nbgrader's
``Execute`` preprocessor, with :class:`GradeInSandbox`: it grades the notebook with this
grader (sandboxed worker, public and hidden tests, comparisons in this process) and writes
each check cell's result as that cell's output — the feedback as text, the points as the
cell's value, which nbgrader reads as partial credit. Every other step (sanitising,
``SaveAutoGrades``, late penalties, ``export``, feedback) is nbgrader's, and the points are
the grader's points.
"""

from __future__ import annotations

import secrets
import tempfile
import threading
from functools import cache
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Float, Integer

from grader._text import clean
from grader.discover import Submission
from grader.grade import GradingPlan, grade_submission
from grader.load import identify_notebook
from grader.results import ExerciseResult
from grader.sandbox import Limits, Sandbox, choose_sandbox
from stridelab.judging import verdict_lines

__all__ = ["GradeInSandbox"]

_PROCESS_SEED = secrets.randbits(128)
_LOCK = threading.Lock()


@cache
def _sandbox(step_seconds: float, allow_unsandboxed: bool) -> Sandbox:
    return choose_sandbox(Limits(step_seconds=step_seconds), allow_unsandboxed)


@cache
def _plan(seed: int, notebook: str, step_seconds: float, allow_unsandboxed: bool) -> GradingPlan:
    return GradingPlan.create(seed, [notebook], _sandbox(step_seconds, allow_unsandboxed))


def _cell_feedback(result: ExerciseResult) -> str:
    head = (f"{result.name}: {result.score:g} of {result.max_score:g} points "
            "(graded in a sandbox, with hidden tests drawn afresh for this submission)")
    return clean("\n".join([head, *verdict_lines(result.verdicts)])) + "\n"


class GradeInSandbox(NbGraderPreprocessor):
    """Score the check cells with the course grader, running student code in its sandbox."""

    seed = Integer(None, allow_none=True,
                   help="Seed for the hidden tests; by default one per autograde run.").tag(config=True)
    step_timeout = Float(Limits().step_seconds,
                         help="Wall-clock seconds for one cell or one call.").tag(config=True)
    time_per_notebook = Float(300.0, help="Wall-clock seconds for a whole notebook.").tag(config=True)
    allow_unsandboxed = Bool(False, help="Where bubblewrap cannot run, grade anyway with "
                             "resource limits only (student code can then read every file "
                             "you can).").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        seed = self.seed if self.seed is not None else _PROCESS_SEED
        info = resources.get("nbgrader", {})
        student = str(info.get("student", "student"))
        grade_ids = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells} - {None}
        name = identify_notebook(Path(f"{info.get('notebook', '')}.ipynb"), grade_ids)
        if name is None:
            self.log.warning("%s is not a course notebook; its cells are left ungraded", info)
            return nb, resources
        with _LOCK:
            plan = _plan(seed, name, self.step_timeout, self.allow_unsandboxed)
        with tempfile.TemporaryDirectory(prefix="nbgrader-sandbox-") as scratch:
            path = Path(scratch) / f"{name}.ipynb"
            nbformat.write(nb, path)
            result = grade_submission(Submission(student, (path,), Path(scratch)), plan,
                                      self.time_per_notebook)
        if result.failure:
            self.log.error("grading %s's %s failed:\n%s", clean(student), name,
                           clean(result.failure))
        scores = {e.name: e for e in result.exercises}
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            exercise = str(meta.get("grade_id", "")).removeprefix("check_")
            if cell.cell_type != "code" or not meta.get("grade") or exercise not in scores:
                continue
            outcome = scores[exercise]
            cell.outputs = [
                nbformat.v4.new_output("stream", name="stdout", text=_cell_feedback(outcome)),
                nbformat.v4.new_output("execute_result", data={"text/plain": f"{outcome.score:g}"},
                                       execution_count=None),
            ]
        self.log.info("%s / %s: %g of %g points (seed %d; %s)", clean(student), name, result.score,
                      result.max_score, seed, plan.sandbox.name)
        return nb, resources
