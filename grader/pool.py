"""Grading a class in several local processes, one per job: each with its own interpreter lock.

The grader's own part of grading one submission — drawing its hidden cases and working out
their expected results, encoding arguments, decoding and judging answers — is Python code
that threads of one process can only take turns at. A class is therefore graded in ``--jobs``
processes, forked from this one once, each grading one submission at a time in its own
sandbox exactly as a Dask worker does (:func:`grader.cluster.grade_task`: same code, same
bytes, same seed, so the same files), and sending back the rendered files, which this
process alone writes. Linux only (``fork``); elsewhere, and for a class smaller than the
jobs, submissions are graded in threads of this process.

Ctrl-C reaches only this process: the workers ignore it and are killed, and with them their
sandboxes (bubblewrap's ``--die-with-parent``); they die with this process however it ends
(``kill -9`` included), and the command line treats SIGTERM and SIGHUP as Ctrl-C.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path

from grader.cluster import SubmissionTask, grade_task, release_sandboxes, task_for
from grader.discover import Submission
from grader.errors import GraderError
from grader.load import NotebookFile
from grader.results import StudentScore

__all__ = ["grade_in_processes", "worth_processes"]

PR_SET_PDEATHSIG = 1
IN_FLIGHT_PER_JOB = 2
"""Tasks handed to the pool per process at a time: enough to keep each busy, few enough that
the class's notebooks are never all in memory at once."""


def worth_processes(jobs: int, submissions: int) -> bool:
    """Whether a class is graded in processes rather than threads: several jobs, more
    submissions than jobs, and ``fork`` (Linux)."""
    return jobs > 1 and submissions > jobs and sys.platform.startswith("linux")


def _in_worker(scratch: str, grader: int) -> None:
    """A pool process ignores Ctrl-C (the grading process handles it and kills it), dies
    with the grading process ``grader`` however that ends, keeps its temporary files in
    ``scratch`` (removed by the grading process even if this one is killed) and, when the
    pool shuts down, stops its sandboxes' zygotes before it exits."""
    import ctypes
    from multiprocessing.util import Finalize

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != grader:  # it ended before the line above
        os._exit(1)
    tempfile.tempdir = scratch
    Finalize(None, release_sandboxes, exitpriority=10)


def grade_in_processes(todo: Sequence[Submission], files: Mapping[Path, NotebookFile],
                       seed: int, names: Sequence[str], options, fingerprint: str,  # noqa: ANN001
                       write: Callable[[str, dict[str, str]], None],
                       advance: Callable[[str | None], None]) -> list[StudentScore]:
    """Grade ``todo`` in ``options.jobs`` processes, writing each student's files with
    ``write`` as they come back."""
    with tempfile.TemporaryDirectory(prefix="grader-pool-") as scratch:
        return _grade(todo, files, seed, names, options, fingerprint, write, advance, scratch)


def _grade(todo: Sequence[Submission], files: Mapping[Path, NotebookFile], seed: int,
           names: Sequence[str], options, fingerprint: str,  # noqa: ANN001
           write: Callable[[str, dict[str, str]], None], advance: Callable[[str | None], None],
           scratch: str) -> list[StudentScore]:
    tasks: Iterator[SubmissionTask] = (task_for(s, files, seed, names, options, fingerprint)
                                       for s in todo)
    pool = ProcessPoolExecutor(max_workers=options.jobs,
                               mp_context=multiprocessing.get_context("fork"),
                               initializer=_in_worker, initargs=(scratch, os.getpid()))
    running: dict[Future[tuple[StudentScore, dict[str, str]]], str] = {}
    scores: list[StudentScore] = []

    def hand_out() -> None:
        while len(running) < IN_FLIGHT_PER_JOB * options.jobs:
            task = next(tasks, None)
            if task is None:
                return
            running[pool.submit(grade_task, task)] = task.student

    try:
        hand_out()
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                student = running.pop(future)
                score, rendered = _result(future, student)
                write(score.student, rendered)
                scores.append(score)
                advance(score.student)
            hand_out()
    except BaseException:
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        pool.shutdown(wait=True, cancel_futures=True)
        advance(None)
        raise
    pool.shutdown(wait=True)
    return scores


def _result(future: Future[tuple[StudentScore, dict[str, str]]],
            student: str) -> tuple[StudentScore, dict[str, str]]:
    """A finished task's score and files; a failure in the pool stops the run, saying why."""
    try:
        return future.result()
    except GraderError:
        raise
    except Exception as error:  # noqa: BLE001 - a pool process's failure stops the run
        raise GraderError(f"grading {student} failed in a grading process: "
                          f"{type(error).__name__}: {error}") from error
