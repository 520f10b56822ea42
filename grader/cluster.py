"""Grading on a ``dask.distributed`` cluster: each submission is one task, graded in the
worker machine's own sandbox, its files rendered there and written here.

The client (``python -m grader grade … --scheduler ADDRESS``) discovers and inspects the
class as on one machine, then sends each submission as plain data — its notebooks' bytes and
the run's plan — and writes the files that come back. A worker runs the same grader code on
the same bytes with the same seed, so every file is the one a local run writes; a worker
whose grader differs refuses the task. Dask re-runs the tasks of a worker that is lost; the
client writes each student's files once, as each task completes. :mod:`grader.pool` grades
a class in local processes with the same task; ``distributed`` is imported only when a
scheduler is given.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from grader.discover import Submission
from grader.errors import GraderError
from grader.load import NotebookFile
from grader.results import StudentScore
from grader.sandbox import Limits, Sandbox, Session

__all__ = ["ClusterSandbox", "SubmissionTask", "grade_on_cluster", "grade_task",
           "release_sandboxes", "task_for"]


@dataclass(frozen=True)
class SubmissionTask:
    """What a worker needs to grade one submission: plain data only."""

    student: str
    notebooks: tuple[tuple[str, bytes], ...]
    """``(file name, bytes)`` of each notebook, as the client read them."""
    skipped: tuple[str, ...]
    seed: int
    notebook_names: tuple[str, ...]
    limits: tuple[int, int, float, int]
    """``Limits``: CPU seconds, memory bytes, step seconds, open files."""
    time_budget: float
    allow_unsandboxed: bool
    fingerprint: str
    """The client's plan fingerprint: the worker's must equal it (same grader, same seed)."""


class ClusterSandbox(Sandbox):
    """Stands for the workers' sandboxes in the client's plan: it runs nothing here."""

    name = "dask"
    isolated = True

    def __init__(self, address: str, limits: Limits | None = None) -> None:
        super().__init__(limits)
        self.address = address

    @property
    def description(self) -> str:
        return (f"graded on the Dask cluster at {self.address}; each result says how its "
                "worker isolated student code")

    def open(self, deadline: float, files: Sequence[int] = ()) -> Session:
        raise GraderError("the client of a Dask cluster runs no student code")


@cache
def _sandbox(limits: tuple[int, int, float, int], allow_unsandboxed: bool) -> Sandbox:
    """The worker process's own sandbox, chosen once (bubblewrap, or refused without it)."""
    from grader.sandbox import choose_sandbox

    cpu, memory, step, files = limits
    sandbox = choose_sandbox(Limits(cpu_seconds=cpu, memory_bytes=memory, step_seconds=step,
                                    open_files=files), allow_unsandboxed)
    _SANDBOXES.append(sandbox)
    return sandbox


_SANDBOXES: list[Sandbox] = []


def release_sandboxes() -> None:
    """Stop what this process's sandboxes keep ready (their zygotes), as it ends."""
    for sandbox in _SANDBOXES:
        sandbox.release()


_SANDBOX_LOCK = threading.Lock()


def grade_task(task: SubmissionTask) -> tuple[StudentScore, dict[str, str]]:
    """On a worker: grade one submission; its score and its files, name → text."""
    from grader.grade import GradingPlan, grade_submission
    from grader.report import render_student

    with _SANDBOX_LOCK:
        sandbox = _sandbox(task.limits, task.allow_unsandboxed)
    plan = GradingPlan.create(task.seed, list(task.notebook_names), sandbox)
    if plan.fingerprint != task.fingerprint:
        raise GraderError("this worker runs a different version of the grader than the client: "
                          "install the same course checkout on every worker")
    with tempfile.TemporaryDirectory(prefix="grader-task-") as scratch:
        folder = Path(scratch)
        paths = []
        for index, (name, data) in enumerate(task.notebooks):
            subfolder = folder / str(index)  # names stay as submitted, files never collide
            subfolder.mkdir()
            path = subfolder / Path(name).name
            path.write_bytes(data)
            paths.append(path)
        submission = Submission(task.student, tuple(paths), folder, task.skipped, folder)
        result = grade_submission(submission, plan, task.time_budget)
    return StudentScore(result.student, result.score, result.max_score), render_student(result)


def task_for(submission: Submission, files: Mapping[Path, NotebookFile], plan_seed: int,
             names: Sequence[str], options, fingerprint: str) -> SubmissionTask:  # noqa: ANN001
    """One submission as plain data, for a process that grades it: its notebooks' bytes,
    what was skipped and why, and the run's plan."""
    limits = options.limits
    return SubmissionTask(
        student=submission.student,
        notebooks=tuple((p.name, files[p].readable.read_bytes()) for p in submission.notebooks
                        if not files[p].problem),
        skipped=tuple(submission.skipped) + tuple(
            f"{p.name} {files[p].problem}" for p in submission.notebooks if files[p].problem),
        seed=plan_seed, notebook_names=tuple(names),
        limits=(limits.cpu_seconds, limits.memory_bytes, limits.step_seconds, limits.open_files),
        time_budget=options.time_per_submission, allow_unsandboxed=options.allow_unsandboxed,
        fingerprint=fingerprint)


def grade_on_cluster(address: str, todo: Sequence[Submission],
                     files: Mapping[Path, NotebookFile], seed: int, names: Sequence[str],
                     options, fingerprint: str,  # noqa: ANN001
                     write: Callable[[str, dict[str, str]], None],
                     advance: Callable[[str | None], None]) -> list[StudentScore]:
    """Grade ``todo`` on the cluster at ``address``, writing each student's files with
    ``write`` as their task completes; :class:`GraderError` if the cluster cannot be used."""
    try:
        from distributed import Client, as_completed
    except ImportError as error:  # pragma: no cover - dask is in requirements.txt
        raise GraderError("--scheduler needs dask.distributed: pip install -r "
                          "requirements.txt") from error
    try:
        client = Client(address, timeout="30s")
    except (OSError, TimeoutError) as error:
        raise GraderError(f"cannot reach the Dask scheduler at {address}: {error}") from error
    scores: list[StudentScore] = []
    try:
        futures = {}
        for submission in todo:
            task = task_for(submission, files, seed, names, options, fingerprint)
            # pure=False, no key of ours: a fresh task per submission and run, so two runs on
            # one scheduler never share a task (same id and seed, different notebooks).
            futures[client.submit(grade_task, task, pure=False)] = submission.student
        for future in as_completed(futures):
            try:
                score, rendered = future.result()
            except GraderError:
                raise
            except Exception as error:  # noqa: BLE001 - a worker-side failure stops the run
                raise GraderError(f"grading {futures[future]} on the cluster failed: "
                                  f"{type(error).__name__}: {error}") from error
            write(score.student, rendered)
            scores.append(score)
            advance(score.student)
    except BaseException:
        for future in futures:
            future.cancel()
        advance(None)
        raise
    finally:
        client.close()
    return scores
