"""Grade submissions: discover → inspect → run and judge in the sandbox → report.

A run draws one seed for the hidden tests (recorded in the output folder and in every
result), then grades the submissions in parallel, one sandboxed worker each, writing each
student's files as soon as they are done. Everything one student's grading does — reading
their notebooks, running them, judging, writing their files — happens under one guard and
one wall-clock deadline, so one submission costs only its own row. A student whose files
already match the submission, seed and grader is not graded again, so an interrupted run
resumes where it stopped and a repeated run changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

from grader.class_report import write_class_report
from grader.discover import Submission, find_submissions
from grader.errors import GraderError, OutputError, SandboxUnavailable, UsageError
from grader.exercises import Exercise, notebooks
from grader.load import NotebookFile, NotebookProgram, inspect_notebook
from grader.pool import grade_in_processes, worth_processes
from grader.report import (RESULTS, write_gradebook, write_rendered, write_student,
                           write_text_atomically)
from grader.results import ExerciseResult, StudentResult, StudentScore
from grader.run import run_submission
from grader.sandbox import Limits, Sandbox, choose_sandbox
from stridelab.encoding import Raises
from stridelab.judging import (ErrorInfo, GradedTest, Outcome, TestVerdict, Verdict, judge_test,
                               name_mistakes)

__all__ = ["GradingOptions", "GradingPlan", "RunSummary", "grade", "grade_submission"]

RUN_FILE = "grading-run.json"


@dataclass(frozen=True)
class GradingOptions:
    """Everything a grading run can be told; the command-line flags map onto these."""

    out: Path
    """Folder for ``<student>/results.json``, ``<student>/feedback.md`` and ``gradebook.csv``."""
    seed: int | None = None
    """Seed for the hidden tests; by default the one recorded in ``out``, or a fresh one."""
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    """Submissions graded at the same time; a class larger than this is graded in as many
    processes (on Linux), so the grader's own work runs on every core."""
    notebooks: tuple[str, ...] = ()
    """Course notebooks to grade; by default every one found among the submissions."""
    time_per_submission: float = 300.0
    """Wall-clock seconds for everything one submission's grading runs (reading, cells,
    calls, restarts); when they are up its remaining tests fail."""
    limits: Limits = field(default_factory=Limits)
    allow_unsandboxed: bool = False
    """Where bubblewrap cannot run, grade anyway with resource limits only: student code can
    then read every file you can. Said in the output and in every result."""
    fresh: bool = False
    """Grade every submission again, even those whose results are up to date."""
    progress: bool = True
    """Show a progress bar on stderr."""
    student: str | None = None
    """Grade every notebook found in the paths as this one student's (as on Gradescope)."""
    scheduler: str | None = None
    """Address of a ``dask.distributed`` scheduler: grade there instead of here."""
    class_report: bool = True
    """Write ``report.html`` and its CSV files (a one-upload Gradescope run does not)."""
    shard: tuple[int, int] | None = None
    """``(i, n)``: grade only the i-th of n parts of the class (a fixed split by student id);
    ``python -m grader merge`` combines the parts. Needs ``seed``."""


@dataclass(frozen=True)
class GradingPlan:
    """What every submission of a run is graded against.

    Hidden cases are drawn per submission, from the run's seed and the submission's bytes
    (:meth:`case_seed`): the same submission always meets the same cases for a seed, and a
    changed one meets new ones, so answers read off earlier feedback cannot be hard-coded.
    """

    seed: int
    exercises: tuple[Exercise, ...]
    sandbox: Sandbox
    hidden: bool = True
    """False: public tests only (the learner's progress table)."""

    @classmethod
    def create(cls, seed: int, notebook_names: Sequence[str], sandbox: Sandbox,
               hidden: bool = True) -> GradingPlan:
        exercises = tuple(e for name in notebook_names for e in notebooks()[name])
        return cls(seed, exercises, sandbox, hidden)

    @property
    def notebook_names(self) -> list[str]:
        return list(dict.fromkeys(e.notebook for e in self.exercises))

    def case_seed(self, files: Sequence[NotebookFile]) -> int:
        """The seed of one submission's hidden cases: the run's seed and its notebooks' bytes."""
        digests = sorted(f"{f.notebook}:{f.digest}" for f in files if f.notebook)
        material = f"{self.seed}|{'|'.join(digests)}".encode()
        return int.from_bytes(hashlib.sha256(material).digest()[:16], "big")  # 128 bits

    def tests(self, case_seed: int, names: Sequence[str] | None = None
              ) -> dict[str, list[GradedTest]]:
        """The tests of the exercises ``names`` (default: all), hidden ones from ``case_seed``."""
        wanted = [e.name for e in self.exercises] if names is None else list(names)
        return {name: list(_expand_one(case_seed, name, self.hidden)) for name in wanted}

    @property
    def fingerprint(self) -> str:
        """Hash of the seed, the graded notebooks and the grader's own code."""
        return _fingerprint(self.seed, self.hidden, tuple(self.notebook_names))


def _expand_one(seed: int, name: str, hidden: bool) -> tuple[GradedTest, ...]:
    """One exercise's tests for one seed, in the order of its case sets: the public ones
    expanded once per process, the hidden ones for each seed (recent seeds kept)."""
    from grader.exercises import exercise

    public = {t.title: t for t in _public_tests(name)}
    drawn = {t.title: t for t in _hidden_tests(seed, name)} if hidden else {}
    sets = exercise(name).case_sets
    return tuple(drawn[s.title] if s.hidden else public[s.title] for s in sets
                 if not s.hidden or hidden)


@cache
def _public_tests(name: str) -> tuple[GradedTest, ...]:
    from grader.exercises import exercise

    return tuple(exercise(name).tests(None, hidden=False))


@lru_cache(maxsize=64)
def _hidden_tests(seed: int, name: str) -> tuple[GradedTest, ...]:
    from grader.exercises import exercise

    return tuple(exercise(name).tests(seed, public=False))


@cache
def _fingerprint(seed: int, hidden: bool, names: tuple[str, ...]) -> str:
    digest = hashlib.sha256(f"{seed}:{hidden}:{','.join(names)}".encode())
    import stridelab

    for package in (Path(__file__).resolve().parent, Path(stridelab.__file__).resolve().parent):
        for path in sorted(package.rglob("*.py")):  # the grader and the judge it uses
            digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class RunSummary:
    """What a run did, for the command line to report."""

    out: Path
    seed: int
    graded: int
    reused: int
    sandbox: str
    gradebook: Path
    results: tuple[StudentScore, ...]
    notes: tuple[str, ...] = ()
    """Inputs passed over or merged at the class level, and students no longer in the class."""


def _submission_fingerprint(files: Sequence[NotebookFile], plan: GradingPlan) -> str:
    digest = hashlib.sha256(plan.fingerprint.encode())
    for file in files:
        digest.update(f"{file.path.name}\0{file.digest or file.problem}\0".encode(
            "utf-8", "backslashreplace"))
    return digest.hexdigest()


def _problem(message: str) -> ErrorInfo:
    return ErrorInfo("NotGraded", message, kind="not_run")


def _select(files: Sequence[NotebookFile], plan: GradingPlan
            ) -> tuple[dict[str, NotebookFile], list[str]]:
    """The file graded for each course notebook, and a note for every other file."""
    chosen: dict[str, NotebookFile] = {}
    notes: list[str] = []
    graded = set(plan.notebook_names)
    # The file named exactly as the course names the notebook comes first, then by name.
    for file in sorted(files, key=lambda f: (f.path.stem != f.notebook, f.path.name)):
        name = file.path.name
        if file.notebook is None:
            notes.append(f"{name} " + (file.problem or "is not one of the course's notebooks")
                         + "; it was not graded.")
        elif file.notebook not in graded:
            notes.append(f"{name} is {file.notebook}, which is not part of this assignment "
                         f"({', '.join(plan.notebook_names)}); it was not graded.")
        elif file.notebook in chosen:
            notes.append(f"{name} is a second copy of {file.notebook}; only "
                         f"{chosen[file.notebook].path.name} was graded.")
        else:
            chosen[file.notebook] = file
    return chosen, notes


def grade_submission(submission: Submission, plan: GradingPlan, time_budget: float,
                     files: Mapping[Path, NotebookFile] | None = None) -> StudentResult:
    """Grade one student's notebooks in one sandbox session, by one deadline; never raises.

    ``files`` may hold the notebooks already inspected; the others are inspected here.
    """
    started = time.monotonic()
    deadline = started + time_budget
    notes: list[str] = list(submission.skipped)
    failure = ""
    fingerprint = ""
    case_seed = plan.case_seed([])
    chosen: dict[str, NotebookFile] = {}
    programs: Mapping[str, NotebookProgram] = {}
    verdicts: Mapping[str, TestVerdict] = {}
    try:
        inspected = [(files or {}).get(p) or inspect_notebook(p, submission.root)
                     for p in submission.notebooks]
        fingerprint = _submission_fingerprint(inspected, plan)
        chosen, more = _select(inspected, plan)
        notes += more
        case_seed = plan.case_seed(list(chosen.values()))
        exercise_names = {name: [e.name for e in plan.exercises if e.notebook == name]
                          for name in chosen}
        tests = plan.tests(case_seed, [n for names in exercise_names.values() for n in names])
        run = run_submission(chosen, tests, exercise_names, plan.sandbox, deadline)
        programs, verdicts = run.programs, run.verdicts
        notes += [f"{p.path.name} {p.error}." for p in programs.values() if p.error]
    except SandboxUnavailable:
        raise  # this machine cannot sandbox anyone: stop the run, say why
    except Exception:  # noqa: BLE001 - a grader bug must not lose the student's row
        failure = traceback.format_exc()
    if not submission.notebooks:
        notes.append("No notebooks (.ipynb files) were found in this submission.")
    return StudentResult(
        student=submission.student,
        exercises=_exercise_results(plan, case_seed, chosen, programs, verdicts, failure),
        seed=plan.seed,
        case_seed=case_seed,
        sandbox=plan.sandbox.description,
        execution_time=time.monotonic() - started,
        fingerprint=fingerprint,
        notes=tuple(notes),
        failure=failure,
    )


def _exercise_results(plan: GradingPlan, case_seed: int, chosen: Mapping[str, NotebookFile],
                      programs: Mapping[str, NotebookProgram],
                      verdicts: Mapping[str, TestVerdict],
                      failure: str) -> tuple[ExerciseResult, ...]:
    results = []
    for exercise in plan.exercises:
        program = programs.get(exercise.notebook)
        reason: ErrorInfo | None = None
        if failure:
            reason = _problem("could not be graded: the grader itself failed (your instructor "
                              "has the details)")
        elif exercise.notebook not in chosen:
            reason = _problem(f"was not graded: {exercise.notebook}.ipynb was not submitted")
        elif program is None:
            reason = _problem("was not run")
        elif program.error:
            reason = _problem(f"was not graded: {program.path.name} {program.error}")
        elif exercise.name in program.problems:
            reason = _problem(f"was not graded: {program.problems[exercise.name]}")
        judged = []
        for test in plan.tests(case_seed, [exercise.name])[exercise.name]:
            verdict = verdicts.get(test.name) if reason is None else None
            if verdict is None:
                why = reason or _problem("was not run")
                verdict = judge_test(test, [Outcome(error=why)] * len(test.cases))
            judged.append(verdict)
        judged = name_mistakes(judged)
        if plan.hidden:
            judged = _public_points_need_a_hidden_pass(exercise.name, judged)
        results.append(ExerciseResult(exercise.name, exercise.notebook, tuple(judged),
                                      reason.message if reason is not None else ""))
    return tuple(results)


def _public_points_need_a_hidden_pass(exercise: str, judged: list[TestVerdict]) -> list[TestVerdict]:
    """Public tests earn their points only when a hidden test of the exercise passes too.

    Their cases ship with the course, so a function could return answers written for them
    alone; a function that does the work passes at least one test on fresh inputs.
    """
    # A hidden test counts only if it expects a value somewhere: one whose every case expects
    # an exception is passed by a function that raises for anything not in its table.
    hidden = [v for v in judged if v.test.hidden
              and any(not isinstance(c.expected, Raises) for c in v.test.cases)]
    if not hidden or any(v.passed for v in hidden):
        return judged
    message = (f"passes, but its points count only once a hidden test of {exercise} passes "
               "too: the public cases are known in advance, so an answer must also work on "
               "fresh inputs")
    return [TestVerdict(v.test, 0.0, ((v.test.cases[0], Verdict(False, message, show_inputs=False)),))
            if v.passed and not v.test.hidden and v.test.cases else v for v in judged]


def _is_up_to_date(out: Path, submission: Submission, fingerprint: str) -> bool:
    try:
        data = json.loads((out / submission.student / RESULTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    extra = data.get("extra_data") if isinstance(data, dict) else None
    return isinstance(extra, dict) and extra.get("fingerprint") == fingerprint


def _choose_seed(options: GradingOptions) -> int:
    if options.seed is not None:
        return options.seed
    try:
        return int(json.loads((options.out / RUN_FILE).read_text())["seed"])
    except (OSError, ValueError, KeyError, TypeError):
        return secrets.randbits(128)  # never shown to students: it keys their hidden cases


def _notebooks_to_grade(options: GradingOptions, files: Mapping[Path, NotebookFile],
                        submissions: Sequence[Submission]) -> list[str]:
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
    return [n for n in known if n in _handed_in_by_enough(files, submissions)]


def _handed_in_by_enough(files: Mapping[Path, NotebookFile],
                         submissions: Sequence[Submission]) -> set[str]:
    """Course notebooks handed in by at least a quarter of the class (by one student in a
    class of up to four): one student adding notebooks does not change everyone's maximum."""
    counts: dict[str, int] = {}
    for submission in submissions:
        for name in {files[p].notebook for p in submission.notebooks if files[p].notebook}:
            counts[name] = counts.get(name, 0) + 1
    enough = max(1, -(-len(submissions) // 4))
    return {name for name, count in counts.items() if count >= enough}


def _progress(total: int, enabled: bool) -> Callable[[str | None], None]:
    """A progress bar: call it with a student's id when they are done, ``None`` to close it."""
    if not enabled or total == 0:
        return lambda student: None
    from tqdm import tqdm

    from grader._text import terminal

    tqdm.monitor_interval = 0  # no monitor thread: grading processes are forked from this one
    bar = tqdm(total=total, unit="submission", file=sys.stderr, dynamic_ncols=True)

    def advance(student: str | None) -> None:
        if student is None:
            bar.close()
            return
        bar.set_postfix_str(terminal(student, limit=20))  # a folder name is student text
        bar.update()
        if bar.n >= total:
            bar.close()

    return advance


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: is a file, not a folder; give a folder for the results")


def grade(paths: Sequence[Path], options: GradingOptions,
          sandbox: Sandbox | None = None) -> RunSummary:
    """Grade every submission in ``paths`` into ``options.out``.

    On Ctrl-C the workers are killed at once, finished students keep their files, the
    gradebook is rewritten for them, and :class:`KeyboardInterrupt` propagates.
    """
    if options.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if options.shard is not None:
        index, count = options.shard
        if not 1 <= index <= count:
            raise UsageError(f"--shard {index}/{count}: give i/n with 1 <= i <= n")
        if options.seed is None:
            raise UsageError("--shard needs --seed N, the same for every shard, so that the "
                             "shards can be merged")
    _check_out(options.out)
    with tempfile.TemporaryDirectory(prefix="grader-") as scratch:
        discovery = find_submissions(paths, Path(scratch) / "inputs", options.student,
                                     exclude=[options.out])
        submissions = discovery.submissions
        if not submissions:
            raise UsageError("no submissions found in " + ", ".join(map(str, paths)))
        files = {p: inspect_notebook(p, s.root, Path(scratch) / "notebooks")
                 for s in submissions for p in s.notebooks}
        names = _notebooks_to_grade(options, files, submissions)
        skipped_notebooks = [] if options.notebooks else _few_hands(files, names)
        if not names:
            raise UsageError("none of the submitted notebooks is a course notebook; "
                             f"expected names like {next(iter(notebooks()))}.ipynb")
        _refuse_to_mix(options, names)
        if options.shard is not None:
            submissions = [s for s in submissions if _in_shard(s.student, *options.shard)]
        seed = _choose_seed(options)
        chosen_here = sandbox is None  # so a pool process can choose the same one for itself
        if options.scheduler:
            from grader.cluster import ClusterSandbox

            sandbox = ClusterSandbox(options.scheduler, options.limits)
        sandbox = sandbox or choose_sandbox(options.limits, options.allow_unsandboxed)
        plan = GradingPlan.create(seed, names, sandbox)
        record = {"seed": seed, "notebooks": names, "sandbox": sandbox.name,
                  "grader": plan.fingerprint}
        if options.shard is not None:  # merge takes this shard's class from here
            record["shard"] = list(options.shard)
            record["students"] = [s.student for s in submissions]
        write_text_atomically(options.out / RUN_FILE, json.dumps(record, indent=1) + "\n")
        fingerprints = {s.student: _submission_fingerprint([files[p] for p in s.notebooks], plan)
                        for s in submissions}
        todo = [s for s in submissions if options.fresh
                or not _is_up_to_date(options.out, s, fingerprints[s.student])]
        columns, students = [e.name for e in plan.exercises], [s.student for s in submissions]
        try:
            results = _grade_all(todo, plan, options, files, in_processes=chosen_here)
        except KeyboardInterrupt:
            write_gradebook(options.out, columns, students)  # the students finished so far
            raise
        finally:
            sandbox.release()
        gradebook = write_gradebook(options.out, columns, students)
        if options.class_report:
            write_class_report(options.out, columns, students)
    notes = [*discovery.notes, *skipped_notebooks, *_former_students(options.out, students)]
    return RunSummary(options.out, seed, len(todo), len(submissions) - len(todo),
                      sandbox.description, gradebook, tuple(results), tuple(notes))


def _in_shard(student: str, index: int, count: int) -> bool:
    """Whether ``student`` is in part ``index`` of ``count``: fixed by the id alone."""
    digest = hashlib.sha256(student.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % count == index - 1


def _few_hands(files: Mapping[Path, NotebookFile], graded: Sequence[str]) -> list[str]:
    """A note for each course notebook found but graded for no one."""
    found = sorted({f.notebook for f in files.values() if f.notebook} - set(graded))
    return [f"{name} was handed in by too few students to be part of this assignment; grade it "
            f"with --notebook {name[:2]} (into its own --out folder)" for name in found]


def _refuse_to_mix(options: GradingOptions, names: Sequence[str]) -> None:
    """Stop before results for other notebooks in ``options.out`` are replaced."""
    try:
        earlier = json.loads((options.out / RUN_FILE).read_text(encoding="utf-8"))["notebooks"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    if isinstance(earlier, list) and earlier != list(names) and not options.fresh:
        raise UsageError(
            f"{options.out} holds grades for {', '.join(map(str, earlier))}; this run grades "
            f"{', '.join(names)}, and would replace them. Use one folder per assignment "
            f"(--out {_sibling(options.out, names[0][:2])}), or --fresh to replace them")


def _sibling(out: Path, number: str) -> Path:
    """Where this assignment's grades would go: ``grades/03`` beside ``grades/02``."""
    return out.parent / number if re.fullmatch(r"\d\d", out.name) else out / number


def _former_students(out: Path, students: Sequence[str]) -> list[str]:
    """Results in ``out`` of students who are not in this run's class."""
    current = set(students)
    return [f"{entry.name} has results in {out} from an earlier run but is not in this class; "
            "left out of gradebook.csv (delete the folder if the student left)"
            for entry in sorted(out.iterdir()) if entry.is_dir() and entry.name not in current
            and (entry / RESULTS).is_file()]


def _grade_all(todo: Sequence[Submission], plan: GradingPlan, options: GradingOptions,
               files: Mapping[Path, NotebookFile], in_processes: bool) -> list[StudentScore]:
    """Grade ``todo`` — here, in parallel (threads, or with ``in_processes`` a class in
    processes of its own), or on a Dask cluster — writing each student's files when they
    are done."""
    advance = _progress(len(todo), options.progress)
    if options.scheduler:
        from grader.cluster import grade_on_cluster

        return grade_on_cluster(options.scheduler, todo, files, plan.seed, plan.notebook_names,
                                options, plan.fingerprint,
                                lambda student, rendered: write_rendered(options.out, student,
                                                                         rendered), advance)
    if in_processes and worth_processes(options.jobs, len(todo)):
        plan.sandbox.verify()  # a machine that cannot sandbox says so before any process starts
        return grade_in_processes(todo, files, plan.seed, plan.notebook_names, options,
                                  plan.fingerprint,
                                  lambda student, rendered: write_rendered(options.out, student,
                                                                           rendered), advance)
    interrupted = threading.Event()
    results: list[StudentScore] = []

    def work(submission: Submission) -> StudentScore:
        result = grade_submission(submission, plan, options.time_per_submission, files)
        if not interrupted.is_set():
            write_student(options.out, result)
        return StudentScore(result.student, result.score, result.max_score)

    pool = ThreadPoolExecutor(max_workers=options.jobs)
    futures: dict[Future[StudentScore], Submission] = {pool.submit(work, s): s for s in todo}
    try:
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                results.append(_result_or_raise(future))
                advance(futures[future].student)
    except BaseException:
        interrupted.set()
        plan.sandbox.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
        advance(None)  # the bar ends before the message saying why
        raise
    pool.shutdown(wait=True)
    return results


def _result_or_raise(future: Future[StudentScore]) -> StudentScore:
    """A finished student's result; an error writing the files stops the run (disk full …)."""
    try:
        return future.result()
    except GraderError:
        raise
    except OSError as error:
        raise OutputError(f"cannot write results: {error}") from error
