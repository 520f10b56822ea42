"""Run a submission's notebooks in one sandbox session and collect what every call returned.

For each notebook the worker executes the program's cells in order, then calls each
exercise's function on every case of its tests. When the worker dies — a timeout, a crash,
``os._exit`` — the rest of that exercise is skipped with the same reason, a fresh worker
replays the notebook's good cells, and grading goes on with the next exercise, so one
runaway function costs only its own points.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from grader.load import CodeCell, NotebookProgram
from grader.sandbox import Sandbox, Session, WorkerFailure
from stridelab.encoding import EncodingError, decode, encode
from stridelab.judging import ErrorInfo, GradedTest, Outcome

__all__ = ["run_programs"]


def _untrusted_error(data: Any) -> ErrorInfo:
    """Rebuild an :class:`ErrorInfo` from worker data, trusting none of its types."""
    if not isinstance(data, dict):
        return ErrorInfo("Crash", "sent an unreadable error report", kind="crash")
    bases = data.get("bases") if isinstance(data.get("bases"), list) else []
    return ErrorInfo(
        type=str(data.get("type", "Error"))[:80],
        message=str(data.get("message", ""))[:500],
        bases=tuple(str(b)[:80] for b in bases[:20]),
        where=str(data.get("where", ""))[:200],
        kind=str(data.get("kind", "exception"))[:20],
    )


def _outcome(answer: dict[str, Any], seconds: float) -> Outcome:
    if answer.get("ok") is True:
        try:
            return Outcome(value=decode(answer.get("value")), seconds=seconds)
        except (EncodingError, ValueError, TypeError) as error:
            return Outcome(error=ErrorInfo("Unreadable", f"returned data the grader cannot read "
                                           f"({error})", kind="crash"), seconds=seconds)
    return Outcome(error=_untrusted_error(answer.get("error")), seconds=seconds)


class _Worker:
    """A sandbox session that restarts itself, replaying a notebook's cells, after a failure."""

    def __init__(self, sandbox: Sandbox, workdir: Path, deadline: float) -> None:
        self.sandbox = sandbox
        self.workdir = workdir
        self.deadline = deadline
        self.session: Session | None = None
        self.good_cells: list[tuple[str, CodeCell]] = []

    def _timeout(self) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise WorkerFailure(ErrorInfo("TimeLimit", "was not graded: the time allowed for "
                                          "this submission ran out", kind="limit"))
        return min(self.sandbox.limits.step_seconds, remaining)

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        timeout = self._timeout()
        if self.session is None:
            self.session = self.sandbox.open(self.workdir)
            for namespace, cell in self.good_cells:
                self.session.request(_exec_message(namespace, cell), timeout)
        try:
            return self.session.request(message, timeout)
        except WorkerFailure:
            self.close()
            raise

    def start_notebook(self) -> None:
        self.good_cells = []

    def run_cell(self, namespace: str, cell: CodeCell) -> ErrorInfo | None:
        """Execute one cell; remember it for replays when it ran cleanly."""
        try:
            answer = self.request(_exec_message(namespace, cell))
        except WorkerFailure as failure:
            return failure.info
        if answer.get("ok") is True:
            self.good_cells.append((namespace, cell))
            return None
        return _untrusted_error(answer.get("error"))

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None


def _exec_message(namespace: str, cell: CodeCell) -> dict[str, Any]:
    return {"op": "exec", "namespace": namespace, "label": cell.label, "source": cell.source}


def _cell_error_outcome(exercise: str, info: ErrorInfo) -> ErrorInfo:
    if info.kind != "exception":
        return ErrorInfo(info.type, f"(while defining {exercise}) {info.message}", kind=info.kind)
    where = f" ({info.where})" if info.where else ""
    return ErrorInfo("CellError", f"could not be called: running the {exercise} cell raised "
                     f"{info.type}: {info.message}{where}", kind="crash")


def run_programs(
    programs: Sequence[NotebookProgram],
    tests: Mapping[str, Sequence[GradedTest]],
    sandbox: Sandbox,
    workdir: Path,
    time_budget: float,
) -> dict[str, list[Outcome]]:
    """Call every test's function on its cases; test name → one outcome per case.

    ``tests`` maps an exercise name to its tests. Exercises a program cannot provide (its
    cell is missing, or the notebook unreadable) are left out: the caller reports them.
    """
    worker = _Worker(sandbox, workdir, time.monotonic() + time_budget)
    outcomes: dict[str, list[Outcome]] = {}
    try:
        for program in programs:
            if program.error or program.notebook is None:
                continue
            namespace = program.notebook
            worker.start_notebook()
            cell_errors: dict[str, ErrorInfo] = {}
            for cell in program.cells:
                error = worker.run_cell(namespace, cell)
                if error is not None and cell.exercise:
                    cell_errors[cell.exercise] = error
            for exercise in dict.fromkeys(c.exercise for c in program.cells if c.exercise):
                if exercise not in tests or exercise in program.problems:
                    continue
                _call_exercise(worker, namespace, exercise, tests[exercise],
                               cell_errors.get(exercise), outcomes)
    finally:
        worker.close()
    return outcomes


def _call_exercise(worker: _Worker, namespace: str, exercise: str,
                   tests: Sequence[GradedTest], cell_error: ErrorInfo | None,
                   outcomes: dict[str, list[Outcome]]) -> None:
    """Call ``exercise`` on every case; after the worker dies, skip its remaining cases."""
    stopped: ErrorInfo | None = None
    if cell_error is not None and cell_error.kind != "exception":
        stopped = _cell_error_outcome(exercise, cell_error)
    for test in tests:
        results = outcomes.setdefault(test.name, [])
        for case in test.cases:
            if stopped is not None:
                results.append(Outcome(error=stopped))
                continue
            message = {"op": "call", "namespace": namespace, "function": exercise,
                       "args": [encode(a) for a in case.args],
                       "kwargs": {k: encode(v) for k, v in case.kwargs.items()}}
            started = time.perf_counter()
            try:
                answer = worker.request(message)
            except WorkerFailure as failure:
                results.append(Outcome(error=failure.info, seconds=time.perf_counter() - started))
                stopped = ErrorInfo(failure.info.type, "was skipped: an earlier case "
                                    + failure.info.message, kind="not_run")
                continue
            outcome = _outcome(answer, time.perf_counter() - started)
            if (cell_error is not None and outcome.error is not None
                    and outcome.error.type == "NameError" and exercise in outcome.error.message):
                outcome = Outcome(error=_cell_error_outcome(exercise, cell_error))
            results.append(outcome)
