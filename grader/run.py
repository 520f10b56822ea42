"""Run one student's notebooks in a sandbox session and judge every answer as it arrives.

The worker first reads every notebook (before any student code runs in it), then, notebook
by notebook, executes the program's cells and calls each exercise's function on every case
of its tests. Each answer is capped at what its case can legitimately need, judged at once
and dropped, so the grader's memory does not grow with what a submission sends back. When
the worker dies — a timeout, a crash, ``os._exit`` — the rest of that exercise is skipped
with the same reason, a fresh worker replays the notebook's good cells, and grading goes on
with the next exercise, so one runaway function costs only its own points. Every request,
replays included, must finish by the student's one deadline.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader._text import clean
from grader.load import (CodeCell, NotebookError, NotebookFile, NotebookProgram, demo_modules,
                         open_notebook, program_from_answer)
from grader.sandbox import Sandbox, Session, WorkerFailure
from stridelab.encoding import EncodingError, Raises, decode, encode
from stridelab.graded_code import WHAT_GRADING_RUNS
from stridelab.judging import (ErrorInfo, Expectation, GradedTest, Outcome, TestVerdict, Verdict,
                               judge_safely, score_test)

__all__ = ["SubmissionRun", "answer_limit", "run_submission"]

SMALL_ANSWER = 64 * 2**10
"""Bytes allowed for an answer that carries no value: a cell's result, an error report."""
LOAD_ANSWER = 8 * 2**20
"""Bytes allowed for a notebook's program (the reader keeps at most 2 M characters)."""
WORKER_ANSWER_BYTES = 32 * 2**20
"""The same for every call: larger values are summarised by the worker instead of sent."""


@dataclass(frozen=True)
class SubmissionRun:
    """What running one student's notebooks produced."""

    programs: Mapping[str, NotebookProgram]
    """Course notebook → what the worker read from it (cells, problems, or an error)."""
    verdicts: Mapping[str, TestVerdict]
    """Test name → its verdict, for every test that could be run."""


def _legit_bytes(value: Any) -> int:
    """Bytes of the largest honest answer to a case whose expected result is ``value``."""
    if isinstance(value, np.ndarray):
        return value.size * 16  # any numeric dtype up to 16 bytes an element
    if isinstance(value, (tuple, list)):
        return sum(_legit_bytes(item) for item in value) + 64 * len(value)
    return 0 if isinstance(value, Raises) else 512


def answer_limit(expected: Any) -> int:
    """The most bytes the grader accepts from the worker for a case expecting ``expected``:
    twice the largest honest answer (base64 included), plus room for an error report."""
    return SMALL_ANSWER + 3 * _legit_bytes(expected)


def _untrusted_error(data: Any) -> ErrorInfo:
    """Rebuild an :class:`ErrorInfo` from worker data, trusting none of its types or text."""
    if not isinstance(data, dict):
        return ErrorInfo("Crash", "sent an unreadable error report", kind="crash")
    bases = data.get("bases") if isinstance(data.get("bases"), list) else []
    kind = data.get("kind")
    return ErrorInfo(
        type=clean(data.get("type", "Error"), 80, single_line=True),
        message=clean(data.get("message", ""), 500),
        bases=tuple(clean(b, 80, single_line=True) for b in bases[:20]),
        where=clean(data.get("where", ""), 200, single_line=True),
        kind=kind if kind in ("exception", "limit", "crash", "not_run") else "exception",
    )


def _outcome(answer: dict[str, Any], seconds: float) -> Outcome:
    if answer.get("ok") is True:
        try:
            return Outcome(value=decode(answer.get("value")), seconds=seconds)
        except (EncodingError, ValueError, TypeError, OverflowError, RecursionError) as error:
            why = clean(error, 200, single_line=True)
            return Outcome(error=ErrorInfo("Unreadable", f"returned data the grader cannot read "
                                           f"({why})", kind="crash"), seconds=seconds)
    return Outcome(error=_untrusted_error(answer.get("error")), seconds=seconds)


class _Worker:
    """A sandbox session that restarts itself, replaying a notebook's cells, after a failure."""

    def __init__(self, sandbox: Sandbox, deadline: float) -> None:
        self.sandbox = sandbox
        self.deadline = deadline
        self.session: Session | None = None
        self.good_cells: list[tuple[str, CodeCell]] = []

    def _step_deadline(self) -> float:
        now = time.monotonic()
        if now >= self.deadline:
            raise WorkerFailure(ErrorInfo("TimeLimit", "was not graded: the time allowed for "
                                          "this submission ran out", kind="limit"))
        return min(now + self.sandbox.limits.step_seconds, self.deadline)

    def start(self, files: Sequence[int]) -> None:
        """Start the first session, handing it the notebooks' descriptors."""
        self.session = self.sandbox.open(self._step_deadline(), files)

    def timed_request(self, message: dict[str, Any], max_bytes: int) -> tuple[dict[str, Any], float]:
        """:meth:`request`, and the worker's CPU seconds for it (wall-clock if not known)."""
        self._ensure_session()
        assert self.session is not None
        cpu, wall = self.session.cpu_seconds(), time.perf_counter()
        answer = self.request(message, max_bytes)
        after = self.session.cpu_seconds() if self.session is not None else None
        if cpu is not None and after is not None:
            return answer, after - cpu
        return answer, time.perf_counter() - wall

    def _ensure_session(self) -> None:
        if self.session is None:
            self.session = self.sandbox.open(self._step_deadline())
            try:
                for namespace, cell in self.good_cells:
                    self.session.request(_exec_message(namespace, cell), self._step_deadline(),
                                         SMALL_ANSWER)
            except WorkerFailure:
                self.close()
                raise

    def request(self, message: dict[str, Any], max_bytes: int) -> dict[str, Any]:
        self._ensure_session()
        assert self.session is not None
        try:
            return self.session.request(message, self._step_deadline(), max_bytes)
        except WorkerFailure:
            self.close()
            raise

    def start_notebook(self) -> None:
        self.good_cells = []

    def run_cell(self, namespace: str, cell: CodeCell) -> ErrorInfo | None:
        """Execute one cell; remember it for replays when it ran cleanly."""
        try:
            answer = self.request(_exec_message(namespace, cell), SMALL_ANSWER)
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


def _load_all(worker: _Worker, files: Mapping[str, NotebookFile],
              exercises: Mapping[str, Sequence[str]]) -> dict[str, NotebookProgram]:
    """Have a worker read every notebook before any student code runs in it.

    A worker that dies reading one notebook is replaced by a fresh one, handed the notebooks
    still to read (the descriptors the first one held went with it).
    """
    programs: dict[str, NotebookProgram] = {}
    waiting = list(files)
    while waiting:
        fds: dict[str, int] = {}
        try:
            for name in waiting:
                try:
                    fds[name] = open_notebook(files[name].readable)
                except NotebookError as error:
                    programs[name] = NotebookProgram(files[name].path, name, error=str(error))
            try:
                worker.start(list(fds.values()))
            except WorkerFailure as failure:
                for name in fds:
                    programs[name] = NotebookProgram(files[name].path, name, error=(
                        f"could not be read: the sandbox {failure.info.message}"))
                return programs
        finally:
            for fd in fds.values():
                os.close(fd)  # the worker has its own copies now
        waiting = []
        names = list(fds)
        for index, name in enumerate(names):
            message = {"op": "load", "fd": fds[name], "exercises": list(exercises[name]),
                       "demo_modules": list(demo_modules())}
            try:
                answer = worker.request(message, LOAD_ANSWER)
            except WorkerFailure as failure:
                programs[name] = NotebookProgram(files[name].path, name, error=(
                    f"could not be read: reading it {failure.info.message}"))
                waiting = names[index + 1:]  # read by a fresh worker
                break
            programs[name] = program_from_answer(files[name].path, name, answer, exercises[name])
    return dict(sorted(programs.items(), key=lambda item: list(files).index(item[0])))


def run_submission(files: Mapping[str, NotebookFile],
                   tests: Mapping[str, Sequence[GradedTest]],
                   exercises: Mapping[str, Sequence[str]],
                   sandbox: Sandbox, deadline: float) -> SubmissionRun:
    """Read, run and judge one student's notebooks by ``deadline`` (``time.monotonic``).

    ``files`` maps each course notebook to grade to its file; ``exercises`` maps it to its
    exercises' names, ``tests`` an exercise to its tests. Exercises a program cannot provide
    (cell missing, notebook unreadable) get no verdicts: the caller reports them.
    """
    worker = _Worker(sandbox, deadline)
    verdicts: dict[str, TestVerdict] = {}
    try:
        programs = _load_all(worker, files, exercises)
        for name, program in programs.items():
            if program.error:
                continue
            worker.start_notebook()
            cell_errors: dict[str, ErrorInfo] = {}
            for cell in program.cells:
                error = worker.run_cell(name, cell)
                if error is not None and cell.exercise:
                    cell_errors[cell.exercise] = error
            for exercise in dict.fromkeys(c.exercise for c in program.cells if c.exercise):
                if exercise not in tests or exercise in program.problems:
                    continue
                for test, verdict in _call_exercise(worker, name, exercise, tests[exercise],
                                                    cell_errors.get(exercise)):
                    verdicts[test] = verdict
    finally:
        worker.close()
    return SubmissionRun(programs, verdicts)


def _call_exercise(worker: _Worker, namespace: str, exercise: str,
                   tests: Sequence[GradedTest], cell_error: ErrorInfo | None
                   ) -> list[tuple[str, TestVerdict]]:
    """Call ``exercise`` on every case, judging each answer as it comes; after the worker
    dies, its remaining cases are skipped with the reason."""
    stopped: ErrorInfo | None = None
    if cell_error is not None and cell_error.kind != "exception":
        stopped = _cell_error_outcome(exercise, cell_error)
    results = []
    for test in tests:
        case_verdicts: list[Verdict] = []
        seconds: list[float] = []
        for case in test.cases:
            if stopped is not None:
                outcome = Outcome(error=stopped)
            else:
                outcome, failure = _call(worker, namespace, exercise, case,
                                         timed=test.speed is not None)
                seconds.append(outcome.seconds)
                if failure is not None:
                    stopped = ErrorInfo(failure.type, "was skipped: an earlier case "
                                        + failure.message, kind="not_run")
                elif (cell_error is not None and outcome.error is not None
                        and outcome.error.type == "NameError" and exercise in outcome.error.message):
                    outcome = Outcome(error=_cell_error_outcome(exercise, cell_error))
                elif outcome.error is not None and outcome.error.type == "NameError":
                    outcome = _explain_name_error(outcome)
            case_verdicts.append(judge_safely(case, outcome))
        total = test.speed.total(seconds) if test.speed and seconds else sum(seconds)
        results.append((test.name, score_test(test, case_verdicts, total)))
    return results


def _explain_name_error(outcome: Outcome) -> Outcome:
    """A NameError when graded is usually a name defined by code grading skips: say so."""
    error = outcome.error
    assert error is not None
    message = f"{error.message} — {WHAT_GRADING_RUNS}; define it in the exercise's cell"
    return Outcome(error=ErrorInfo(error.type, message, error.bases, error.where, error.kind),
                   seconds=outcome.seconds)


def _call(worker: _Worker, namespace: str, exercise: str, case: Expectation,
          timed: bool) -> tuple[Outcome, ErrorInfo | None]:
    """One call of the learner's function: its outcome (with the worker's CPU seconds when
    ``timed``: speed tests), and the failure if the worker died."""
    limit = answer_limit(case.expected)
    # The worker is told one cap for every case (not this case's, which would tell it the
    # expected answer's size): an honest oversized answer comes back as a short summary.
    message = {"op": "call", "namespace": namespace, "function": exercise,
               "args": [encode(a) for a in case.args],
               "kwargs": {k: encode(v) for k, v in case.kwargs.items()},
               "max_bytes": WORKER_ANSWER_BYTES}
    try:
        answer, seconds = (worker.timed_request(message, limit) if timed
                           else (worker.request(message, limit), 0.0))
    except WorkerFailure as failure:
        return Outcome(error=failure.info), failure.info
    return _outcome(answer, seconds), None
