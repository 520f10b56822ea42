"""Grade submissions: discover → load → run in the sandbox → judge → report.

A run draws one seed for the hidden tests (recorded in the output folder and in every
result), expands every exercise's tests once, then grades the submissions in parallel,
one sandboxed worker each, writing each student's files as soon as they are done. A
student whose files already match the submission, seed and grader is not graded again,
so an interrupted run resumes where it stopped and a repeated run changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from grader.discover import Submission, find_submissions
from grader.errors import UsageError
from grader.exercises import Exercise, notebooks
from grader.load import NotebookProgram, load_notebook
from grader.report import RESULTS, write_gradebook, write_student, write_text_atomically
from grader.results import ExerciseResult, StudentResult
from grader.run import run_programs
from grader.sandbox import Limits, Sandbox, choose_sandbox
from stridelab.judging import ErrorInfo, GradedTest, Outcome, judge_test

__all__ = ["GradingOptions", "RunSummary", "grade", "grade_submission", "GradingPlan"]

RUN_FILE = "grading-run.json"


@dataclass(frozen=True)
class GradingOptions:
    """Everything a grading run can be told; the command-line flags map onto these."""

    out: Path
    """Folder for ``<student>/results.json``, ``<student>/feedback.md`` and ``gradebook.csv``."""
    seed: int | None = None
    """Seed for the hidden tests; by default the one recorded in ``out``, or a fresh one."""
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    """Submissions graded at the same time."""
    notebooks: tuple[str, ...] = ()
    """Course notebooks to grade; by default every one found among the submissions."""
    time_per_submission: float = 600.0
    """Wall-clock seconds one submission may take in all before its remaining tests fail."""
    limits: Limits = field(default_factory=Limits)
    require_isolation: bool = False
    """Stop instead of falling back to rlimits-only when bubblewrap cannot run."""
    fresh: bool = False
    """Grade every submission again, even those whose results are up to date."""
    progress: bool = True
    """Show a progress bar on stderr."""
    student: str | None = None
    """Grade every notebook found in the paths as this one student's (as on Gradescope)."""


@dataclass(frozen=True)
class GradingPlan:
    """What every submission of a run is graded against."""

    seed: int
    exercises: tuple[Exercise, ...]
    tests: dict[str, list[GradedTest]]
    sandbox: Sandbox
    fingerprint: str
    """Hash of the seed, the graded notebooks and the grader's own code."""

    @classmethod
    def create(cls, seed: int, notebook_names: Sequence[str], sandbox: Sandbox,
               hidden: bool = True) -> GradingPlan:
        """Expand the tests of ``notebook_names``; ``hidden=False`` keeps the public ones only."""
        exercises = tuple(e for name in notebook_names for e in notebooks()[name])
        tests = {e.name: e.tests(seed, hidden=hidden) for e in exercises}
        digest = hashlib.sha256(f"{seed}:{hidden}:{','.join(notebook_names)}".encode())
        for path in sorted(Path(__file__).resolve().parent.rglob("*.py")):
            digest.update(path.read_bytes())
        return cls(seed, exercises, tests, sandbox, digest.hexdigest())


@dataclass(frozen=True)
class RunSummary:
    """What a run did, for the command line to report."""

    out: Path
    seed: int
    graded: int
    reused: int
    sandbox: str
    gradebook: Path
    results: tuple[StudentResult, ...]


def _submission_fingerprint(submission: Submission, plan: GradingPlan) -> str:
    digest = hashlib.sha256(plan.fingerprint.encode())
    for path in submission.notebooks:
        digest.update(path.name.encode())
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"<unreadable>")
    return digest.hexdigest()


def _failed(test: GradedTest, info: ErrorInfo) -> list[Outcome]:
    return [Outcome(error=info)] * len(test.cases)


def _problem(message: str) -> ErrorInfo:
    return ErrorInfo("NotGraded", message, kind="not_run")


def grade_submission(submission: Submission, plan: GradingPlan, workdir: Path,
                     time_budget: float,
                     loaded: Mapping[Path, NotebookProgram] | None = None) -> StudentResult:
    """Grade one student's notebooks in one sandbox session; never raises.

    ``loaded`` may hold programs already read from the submission's notebooks.
    """
    started = time.monotonic()
    fingerprint = _submission_fingerprint(submission, plan)
    programs: dict[str, NotebookProgram] = {}
    notes: list[str] = []
    failure = ""
    outcomes: dict[str, list[Outcome]] = {}
    try:
        for path in submission.notebooks:
            program = (loaded or {}).get(path) or load_notebook(path)
            if program.notebook is None or program.notebook not in {e.notebook for e in plan.exercises}:
                if program.error:
                    notes.append(f"{path.name} {program.error}; it was not graded.")
                continue
            if program.notebook in programs:
                notes.append(f"{path.name} is a second copy of {program.notebook}; only "
                             f"{programs[program.notebook].path.name} was graded.")
                continue
            if program.error:
                notes.append(f"{path.name} {program.error}.")
            programs[program.notebook] = program
        for path in submission.notebooks:
            shutil.copy2(path, workdir / path.name)
        outcomes = run_programs(list(programs.values()), plan.tests, plan.sandbox, workdir,
                                time_budget)
    except Exception:  # noqa: BLE001 - a grader bug must not lose the student's row
        failure = traceback.format_exc()
    exercises = []
    for exercise in plan.exercises:
        program = programs.get(exercise.notebook)
        if failure:
            reason = _problem("could not be graded: the grader itself failed (your instructor "
                              "has the details)")
        elif program is None:
            reason = _problem(f"was not graded: {exercise.notebook}.ipynb was not submitted")
        elif program.error:
            reason = _problem(f"was not graded: {program.path.name} {program.error}")
        elif exercise.name in program.problems:
            reason = _problem(f"was not graded: {program.problems[exercise.name]}")
        else:
            reason = None
        verdicts = []
        for test in plan.tests[exercise.name]:
            results = outcomes.get(test.name)
            if reason is not None or results is None or len(results) != len(test.cases):
                results = _failed(test, reason or _problem("was not run"))
            verdicts.append(judge_test(test, results))
        exercises.append(ExerciseResult(exercise.name, exercise.notebook, tuple(verdicts),
                                        reason.message if reason is not None else ""))
    if not submission.notebooks:
        notes.append("No notebooks (.ipynb files) were found in this submission.")
    return StudentResult(
        student=submission.student,
        exercises=tuple(exercises),
        seed=plan.seed,
        sandbox=plan.sandbox.description,
        execution_time=time.monotonic() - started,
        fingerprint=fingerprint,
        notes=tuple(notes),
        failure=failure,
    )


def _is_up_to_date(out: Path, submission: Submission, plan: GradingPlan) -> bool:
    try:
        data = json.loads((out / submission.student / RESULTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return data.get("extra_data", {}).get("fingerprint") == _submission_fingerprint(submission, plan)


def _choose_seed(options: GradingOptions) -> int:
    if options.seed is not None:
        return options.seed
    try:
        return int(json.loads((options.out / RUN_FILE).read_text())["seed"])
    except (OSError, ValueError, KeyError, TypeError):
        return secrets.randbelow(2**31)


def _notebooks_to_grade(options: GradingOptions,
                        programs: Mapping[Path, NotebookProgram]) -> list[str]:
    known = list(notebooks())
    if options.notebooks:
        chosen = set()
        for asked in options.notebooks:
            matches = [n for n in known if n == asked.removesuffix(".ipynb") or n.startswith(asked)]
            if len(matches) != 1:
                problem = "unknown" if not matches else "ambiguous"
                raise UsageError(f"{problem} notebook {asked!r}; choose from: {', '.join(known)}")
            chosen.add(matches[0])
        return [n for n in known if n in chosen]
    found = {program.notebook for program in programs.values()}
    return [n for n in known if n in found]


def _progress(total: int, enabled: bool) -> Callable[[str], None]:
    if not enabled or total == 0:
        return lambda student: None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="submission", file=sys.stderr, dynamic_ncols=True)

    def advance(student: str) -> None:
        bar.set_postfix_str(student[:20])
        bar.update()
        if bar.n >= total:
            bar.close()

    return advance


def grade(paths: Sequence[Path], options: GradingOptions,
          sandbox: Sandbox | None = None) -> RunSummary:
    """Grade every submission in ``paths`` into ``options.out``."""
    if options.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    with tempfile.TemporaryDirectory(prefix="grader-") as scratch:
        workspace = Path(scratch)
        submissions = find_submissions(paths, workspace / "inputs", options.student)
        if not submissions:
            raise UsageError("no submissions found in " + ", ".join(map(str, paths)))
        programs = {p: load_notebook(p) for s in submissions for p in s.notebooks}
        names = _notebooks_to_grade(options, programs)
        if not names:
            raise UsageError("none of the submitted notebooks is a course notebook; "
                             f"expected names like {next(iter(notebooks()))}.ipynb")
        seed = _choose_seed(options)
        sandbox = sandbox or choose_sandbox(options.limits, options.require_isolation)
        plan = GradingPlan.create(seed, names, sandbox)
        write_text_atomically(options.out / RUN_FILE, json.dumps(
            {"seed": seed, "notebooks": names, "sandbox": sandbox.name}, indent=1) + "\n")
        todo = [s for s in submissions if options.fresh or not _is_up_to_date(options.out, s, plan)]
        advance = _progress(len(todo), options.progress)
        results = []

        def work(index: int, submission: Submission) -> StudentResult:
            workdir = workspace / "work" / str(index)
            workdir.mkdir(parents=True)
            try:
                result = grade_submission(submission, plan, workdir, options.time_per_submission,
                                          programs)
                write_student(options.out, result)
                return result
            finally:
                shutil.rmtree(workdir, ignore_errors=True)

        with ThreadPoolExecutor(max_workers=options.jobs) as pool:
            futures = {pool.submit(work, i, s): s for i, s in enumerate(todo)}
            for future in as_completed(futures):
                results.append(future.result())
                advance(futures[future].student)
        exercise_names = [e.name for e in plan.exercises]
        gradebook = write_gradebook(options.out, exercise_names, [s.student for s in submissions])
    return RunSummary(options.out, seed, len(todo), len(submissions) - len(todo),
                      sandbox.description, gradebook, tuple(results))
