"""End to end: `python -m grader grade` on a class of submissions, honest and mistaken.

One grading run serves all the tests in this module (it is the slow part)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from tests.conftest import run_grader
from tests.submissions import write_submission

NB01 = "01_convolution_dot_product"

FLIPPED = '''
def conv2d(x, w):
    kh, kw = w.shape
    flipped = w[::-1, ::-1]
    out = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(x[i:i + kh, j:j + kw] * flipped)
    return out
'''
OFF_BY_ONE = '''
def conv2d(x, w):
    kh, kw = w.shape
    out = np.zeros((x.shape[0] - kh, x.shape[1] - kw))
    for i in range(x.shape[0] - kh):
        for j in range(x.shape[1] - kw):
            out[i, j] = np.sum(x[i:i + kh, j:j + kw] * w)
    return out
'''
SWAPPED = '''
def conv2d(x, w):
    kh, kw = w.shape
    height, width = x.shape
    out = np.zeros((width - kw + 1, height - kh + 1))
    for i in range(width - kw + 1):
        for j in range(height - kh + 1):
            out[i, j] = np.sum(x[j:j + kh, i:i + kw] * w)
    return out
'''
CONV1D_FLIPPED = '''
def conv1d(x, w):
    return np.convolve(x, w, mode="valid")
'''


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    """Grade a class of six and return the output folder."""
    root = tmp_path_factory.mktemp("grading")
    classroom = root / "class"
    students = {
        "honest": ({}, False),
        "untouched": ({}, True),
        "flipped": ({"conv2d": FLIPPED, "conv1d": CONV1D_FLIPPED}, False),
        "off_by_one": ({"conv2d": OFF_BY_ONE}, False),
        "swapped": ({"conv2d": SWAPPED}, False),
    }
    for name, (replace, student_version) in students.items():
        folder = classroom / name
        folder.mkdir(parents=True)
        write_submission(folder, NB01, replace, student_version=student_version)
    (classroom / "empty").mkdir()
    result = run_grader("grade", classroom, "--out", root / "out", "--seed", "123", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "Graded 6 submission(s); seed 123" in result.stdout
    return root / "out"


def results(out: Path, student: str) -> dict:
    return json.loads((out / student / "results.json").read_text())


def comparable(out: Path, student: str) -> dict:
    """A student's results.json without what differs between two runs (the time taken)."""
    data = results(out, student)
    data.pop("execution_time")
    return data


def untimed_rows(path: Path) -> list[dict[str, str]]:
    """A CSV file's rows without their ``execution_time`` column."""
    with open(path, newline="") as file:
        return [{k: v for k, v in row.items() if k != "execution_time"}
                for row in csv.DictReader(file)]


def exercise_scores(out: Path, student: str) -> dict[str, float]:
    return {k: v["score"] for k, v in results(out, student)["extra_data"]["exercises"].items()}


def failures(out: Path, student: str, exercise: str) -> str:
    return "\n".join(t["output"] for t in results(out, student)["tests"]
                     if t["name"].startswith(exercise + ":") and t["status"] == "failed")


def test_the_solution_scores_full_marks(graded):
    data = results(graded, "honest")
    assert data["score"] == data["max_score"] == 15
    assert all(t["status"] == "passed" for t in data["tests"])


def test_results_follow_gradescopes_schema(graded):
    data = results(graded, "flipped")
    assert {"score", "max_score", "execution_time", "tests"} <= set(data)
    for test in data["tests"]:
        assert {"name", "score", "max_score", "status", "output", "visibility"} <= set(test)
        assert test["name"].split(":")[0] in {"window_dot", "conv1d", "conv2d"}
        assert test["visibility"] in {"visible", "after_published"}
    assert data["extra_data"]["seed"] == 123


def test_the_untouched_notebook_scores_zero_with_a_reason_per_exercise(graded):
    data = results(graded, "untouched")
    assert data["score"] == 0 and data["max_score"] == 15
    for exercise in ("window_dot", "conv1d", "conv2d"):
        assert f"{exercise} is not implemented yet" in failures(graded, "untouched", exercise)


@pytest.mark.parametrize("student, exercise, hint", [
    ("flipped", "conv2d", "Hint: flipped kernel"),
    ("flipped", "conv1d", "Hint: flipped kernel"),
    ("off_by_one", "conv2d", "Hint: one window short"),
    ("swapped", "conv2d", "Hint: rows and columns swapped"),
])
def test_mistakes_lose_that_exercises_points_and_are_named(graded, student, exercise, hint):
    scores = exercise_scores(graded, student)
    assert scores[exercise] < {"conv1d": 5, "conv2d": 6}[exercise]
    assert scores["window_dot"] == 4  # the other exercises are untouched
    assert hint in failures(graded, student, exercise)


def test_feedback_shows_the_input_and_expected_against_got(graded):
    text = failures(graded, "swapped", "conv2d")
    assert "conv2d(x: 4×6, w: 2×3) → expected shape (3, 4), got (4, 3)" in text
    feedback = (graded / "swapped" / "feedback.md").read_text()
    assert "Score: 9 / 15" in feedback and "rows and columns swapped" in feedback


def test_feedback_never_prints_solution_code(graded):
    text = (graded / "untouched" / "feedback.md").read_text()
    assert "np.sum(" not in text and "### BEGIN SOLUTION" not in text


def test_an_empty_folder_still_gets_a_row(graded):
    data = results(graded, "empty")
    assert data["score"] == 0
    assert "No notebooks" in data["output"]


def test_gradebook_has_a_row_per_student_and_a_column_per_exercise(graded):
    with open(graded / "gradebook.csv", newline="") as file:
        rows = {row["student"]: row for row in csv.DictReader(file)}
    assert set(rows) == {"honest", "untouched", "flipped", "off_by_one", "swapped", "empty"}
    assert list(next(iter(rows.values()))) == ["student", "window_dot", "conv1d", "conv2d",
                                               "score", "max_score"]
    assert rows["honest"]["score"] == "15" and rows["untouched"]["score"] == "0"


def test_regrading_reuses_up_to_date_results(graded):
    before = (graded / "honest" / "results.json").read_text()
    result = run_grader("grade", graded.parent / "class", "--out", graded, "--quiet")
    assert result.returncode == 0, result.stderr
    assert "6 already up to date; seed 123" in result.stdout  # the recorded seed is reused
    assert (graded / "honest" / "results.json").read_text() == before


@pytest.mark.parametrize("args, message", [
    (["grade", "no/such/folder", "--out", "x"], "no/such/folder: no such file or folder"),
    (["grade", "README.md", "--out", "x"], "not a notebook, a folder or a .zip"),
    (["grade", "solutions"], "the following arguments are required: --out"),
    (["grade", "solutions", "--out", "x", "--notebook", "99_nope"], "unknown notebook '99_nope'"),
    (["grade", "solutions", "--out", "x", "--notebook", "0"], "ambiguous notebook '0'"),
])
def test_bad_arguments_exit_nonzero_with_one_line(args, message, tmp_path):
    result = run_grader(*[a.replace("x", str(tmp_path / "x")) if a == "x" else a for a in args])
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


@pytest.fixture(scope="module")
def course_graded(tmp_path_factory) -> Path:
    """The whole course graded twice: the solutions, and the untouched student notebooks."""
    root = Path(__file__).resolve().parent.parent
    out = tmp_path_factory.mktemp("course") / "out"
    result = run_grader("grade", root / "solutions", root / "notebooks", "--out", out, "--quiet")
    assert result.returncode == 0, result.stderr
    return out


def test_every_solution_notebook_grades_full_marks(course_graded):
    from grader.exercises import notebooks

    data = results(course_graded, "solutions")
    graded = {e["notebook"] for e in data["extra_data"]["exercises"].values()}
    assert graded == set(notebooks())
    failing = [t["name"] + "\n" + t["output"] for t in data["tests"] if t["status"] != "passed"]
    assert not failing and data["score"] == data["max_score"] > 0


def test_every_untouched_student_notebook_grades_zero_with_reasons(course_graded):
    data = results(course_graded, "notebooks")
    assert data["score"] == 0
    for test in data["tests"]:
        assert "is not implemented yet" in test["output"], test


def test_a_notebook_can_be_named_by_its_number(tmp_path):
    root = Path(__file__).resolve().parent.parent
    result = run_grader("grade", root / "solutions", "--out", tmp_path / "out", "--notebook", "01",
                        "--quiet")
    assert result.returncode == 0, result.stderr
    assert results(tmp_path / "out", "solutions")["max_score"] == 15


@pytest.mark.parametrize("stop, code", [("SIGINT", 130), ("SIGTERM", 143), ("SIGKILL", -9)])
def test_ctrl_c_stops_within_seconds_and_keeps_finished_students(tmp_path, bubblewrap, stop,
                                                                 code):
    """Workers (and the grading processes of a class) are killed at once; finished students
    keep their files and a gradebook row; no temporary file and no worker is left. SIGTERM
    (a service stop, ``timeout``) does what Ctrl-C does; after ``kill -9`` nothing can clean
    up files, but no process of the grader's lives on."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import workers_alive

    classroom = tmp_path / "class"
    for index in range(4):
        (classroom / f"s{index}").mkdir(parents=True)
        slow = {"conv2d": "import time\ndef conv2d(x, w):\n    time.sleep(60)\n"}
        write_submission(classroom / f"s{index}", NB01, slow if index else {})
    scratch, out = tmp_path / "tmp", tmp_path / "out"
    scratch.mkdir()
    before = set(workers_alive())
    process = subprocess.Popen(
        [sys.executable, "-m", "grader", "grade", str(classroom), "--out", str(out), "--jobs", "2",
         "--quiet", "--step-timeout", "60"], env=dict(os.environ, TMPDIR=str(scratch)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (out / "s0" / "results.json").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)  # the slow students are now inside their 60-second calls
    process.send_signal(getattr(signal, stop))
    interrupted = time.monotonic()
    _, stderr = process.communicate(timeout=60)
    assert time.monotonic() - interrupted < 5
    assert process.returncode == code
    assert not (out / "s1" / "results.json").exists()  # half-graded students are not saved
    time.sleep(0.5)
    assert set(workers_alive()) <= before
    assert not [pid for pid in os.listdir("/proc") if pid.isdigit()
                and str(classroom).encode() in _command_line(pid)]  # no grading process
    if stop == "SIGKILL":
        return
    assert "interrupted" in stderr
    with open(out / "gradebook.csv", newline="") as file:
        assert [row["student"] for row in csv.DictReader(file)] == ["s0"]
    assert os.listdir(scratch) == []


def _command_line(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_grades_do_not_depend_on_load_or_jobs(tmp_path, bubblewrap):
    """The same class graded three times with one seed, with more jobs than cores and every
    core kept busy: identical scores; every loop-free conv2d_fast passes its speed test, every
    loop over output positions fails it (and passes everything else)."""
    import subprocess
    import sys

    from tests.conv_variants import LOOP_FREE, POSITION_LOOPS

    nb05 = "05_efficiency"
    classroom = tmp_path / "class"
    variants = {**LOOP_FREE, **POSITION_LOOPS}
    for index, source in enumerate(variants.values()):
        (classroom / f"v{index}").mkdir(parents=True)
        write_submission(classroom / f"v{index}", nb05, {"conv2d_fast": source})
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(3)]
    try:
        tables = []
        for run in range(3):
            out = tmp_path / f"out{run}"
            result = run_grader("grade", classroom, "--out", out, "--seed", "7", "--jobs", "4",
                                "--quiet")
            assert result.returncode == 0, result.stderr
            tables.append({f"v{i}": exercise_scores(out, f"v{i}") for i in range(len(variants))})
    finally:
        for burner in burners:
            burner.kill()
    assert tables[0] == tables[1] == tables[2]
    for index, name in enumerate(variants):
        expected = 8 if name in LOOP_FREE else 6  # the speed test is worth 2 of 8 points
        assert tables[0][f"v{index}"]["conv2d_fast"] == expected, (name, tables[0])


def test_a_helper_grading_skips_is_named_in_the_feedback(submission, fast_sandbox):
    """Grading runs only definitions from other cells; its NameError says so, and where."""
    from grader.discover import Submission
    from grader.grade import GradingPlan, grade_submission
    from tests.submissions import add_cells

    path = submission("alice", NB01, {"conv1d": "def conv1d(x, w):\n    return flip(np.correlate(x, w, 'valid'))\n"})
    add_cells(path, ["flip = lambda v: v  # a helper defined by an assignment"])
    result = grade_submission(Submission("alice", (path,), path.parent),
                              GradingPlan.create(3, [NB01], fast_sandbox), 60)
    conv1d = next(e for e in result.exercises if e.name == "conv1d")
    feedback = conv1d.verdicts[0].feedback()
    assert conv1d.score == 0 and "NameError: name 'flip' is not defined" in feedback
    assert "from your other cells, only imports, functions, classes and constants" in feedback


def test_public_points_need_a_hidden_pass(submission, fast_sandbox):
    """Answers written for the public cases alone earn nothing: the public cases ship with
    the course. A function that does the work keeps its public points."""
    from grader.discover import Submission
    from grader.grade import GradingPlan, grade_submission

    public_only = "\n".join([
        "def conv2d(x, w):",
        "    if x.shape == (5, 5) and w.shape == (3, 3):",  # the worked example, by heart
        "        return np.array([[12., 12., 17.], [10., 17., 19.], [9., 6., 14.]])",
        "    if w.shape == (1, 1):",
        "        return x * w[0, 0]",
        "    return np.zeros((x.shape[0] - w.shape[0] + 1, x.shape[1] - w.shape[1] + 1))", ""])
    plan = GradingPlan.create(3, [NB01], fast_sandbox)
    path = submission("mallory", NB01, {"conv2d": public_only})
    result = grade_submission(Submission("mallory", (path,), path.parent), plan, 60)
    conv2d = next(e for e in result.exercises if e.name == "conv2d")
    assert conv2d.score == 0
    assert "count only once a hidden test of conv2d passes" in conv2d.verdicts[0].feedback()
    honest = submission("alice", NB01)
    result = grade_submission(Submission("alice", (honest,), honest.parent), plan, 60)
    assert sum(e.score for e in result.exercises) == 15


def test_one_student_cannot_add_notebooks_to_the_assignment(tmp_path):
    """Empty files named after other notebooks change no one's maximum, and say so."""
    classroom = tmp_path / "class"
    students = ("alice", "bob", "carol", "dave", "mallory")
    for name in students:
        (classroom / name).mkdir(parents=True)
        write_submission(classroom / name, NB01, {})
    for other in ("02_stride", "03_downsampling"):
        (classroom / "mallory" / f"{other}.ipynb").write_text("{}")
    result = run_grader("grade", classroom, "--out", tmp_path / "out", "--quiet", "--seed", "1")
    assert result.returncode == 0, result.stderr
    assert all(results(tmp_path / "out", s)["max_score"] == 15 for s in students)
    assert "02_stride was handed in by too few students" in result.stdout


def test_a_cache_of_earlier_answers_does_not_pass_the_speed_test(submission, fast_sandbox):
    """Each shape is timed on several draws of fresh values, so a slow function that repeats
    its last answer for the same shape gains nothing."""
    from grader.discover import Submission
    from grader.grade import GradingPlan, grade_submission
    from tests.conv_variants import POSITION_LOOPS

    loop = POSITION_LOOPS["a loop over output positions, vectorised over batch and filters"]
    memo = loop.replace("def conv2d_fast(", "def _slow(") + (
        "\n_seen = {}\n"
        "def conv2d_fast(x, w, b=None, stride=1, padding=0):\n"
        "    key = (x.shape, w.shape, str(stride), str(padding))\n"
        "    if key not in _seen:\n"
        "        _seen[key] = _slow(x, w, b, stride, padding)\n"
        "    return _seen[key]\n")
    plan = GradingPlan.create(11, ["05_efficiency"], fast_sandbox)
    path = submission("mallory", "05_efficiency", {"conv2d_fast": memo})
    result = grade_submission(Submission("mallory", (path,), path.parent), plan, 120)
    speed = next(v for e in result.exercises for v in e.verdicts
                 if e.name == "conv2d_fast" and v.test.speed is not None)
    assert speed.score == 0


def test_the_worker_is_not_told_the_size_of_the_expected_answer(submission):
    """Every call carries the same answer cap, whatever the case expects (a value, or an
    exception): a function reading its caller's frame learns nothing from it."""
    from grader.discover import Submission
    from grader.grade import GradingPlan, grade_submission
    from grader.sandbox import InProcessSandbox, Limits

    caps = set()

    class Recording(InProcessSandbox):
        def open(self, deadline, files=()):
            session = super().open(deadline, files)
            original = session.request

            def request(message, deadline, max_bytes):
                if message.get("op") == "call":
                    caps.add(message.get("max_bytes"))
                return original(message, deadline, max_bytes)

            session.request = request
            return session

    path = submission("alice", "02_stride")
    grade_submission(Submission("alice", (path,), path.parent),
                     GradingPlan.create(3, ["02_stride"], Recording(Limits())), 120)
    assert len(caps) == 1


def test_output_files_follow_the_umask_and_a_file_is_not_an_output_folder(tmp_path):
    import os
    import stat

    classroom = tmp_path / "class" / "alice"
    classroom.mkdir(parents=True)
    write_submission(classroom, NB01, {})
    previous = os.umask(0o022)  # the grader runs with the instructor's umask
    try:
        result = run_grader("grade", classroom.parent, "--out", tmp_path / "out", "--quiet")
    finally:
        os.umask(previous)
    assert result.returncode == 0, result.stderr
    for path in (tmp_path / "out" / "gradebook.csv", tmp_path / "out" / "alice" / "results.json"):
        assert stat.S_IMODE(os.stat(path).st_mode) & 0o044 == 0o044  # umask 022: group, others read
    (tmp_path / "a-file").write_text("x")
    result = run_grader("grade", classroom.parent, "--out", tmp_path / "a-file", "--quiet")
    assert result.returncode == 2 and "is a file, not a folder" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_notebook_that_kills_its_reader_costs_only_itself(submission):
    """The worker dies reading one notebook: the student's other notebooks are read by a
    fresh worker, handed their descriptors anew, and graded."""
    from grader.discover import Submission
    from grader.grade import GradingPlan, grade_submission
    from grader.sandbox import InProcessSandbox, Limits, WorkerFailure
    from stridelab.judging import ErrorInfo

    class DiesOnFirstLoad(InProcessSandbox):
        opened = 0

        def open(self, deadline, files=()):
            session = super().open(deadline, files)
            self.opened += 1
            if self.opened == 1:
                def request(message, deadline, max_bytes):
                    raise WorkerFailure(ErrorInfo("TimeLimit", "did not finish", kind="limit"))
                session.request = request
            return session

    first, second = submission("alice", NB01), submission("alice", "02_stride")
    sandbox = DiesOnFirstLoad(Limits())
    result = grade_submission(Submission("alice", (first, second), first.parent),
                              GradingPlan.create(1, [NB01, "02_stride"], sandbox), 60)
    scores = {}
    for exercise in result.exercises:
        scores[exercise.notebook] = scores.get(exercise.notebook, 0) + exercise.score
    assert scores == {NB01: 0, "02_stride": 17}
    assert sandbox.opened >= 2
    assert any("could not be read: reading it did not finish" in note for note in result.notes)


def test_a_bubblewrap_that_cannot_start_stops_the_run_with_one_line(tmp_path):
    """bubblewrap is not probed before grading (its first worker is the test): when it cannot
    start, the run stops with the reason instead of grading everyone as crashed; with
    --allow-unsandboxed it falls back, and says so."""
    import os
    import subprocess
    import sys

    fake = tmp_path / "bin" / "bwrap"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    classroom = tmp_path / "class" / "alice"
    classroom.mkdir(parents=True)
    write_submission(classroom, NB01, {})
    env = dict(os.environ, PATH=f"{fake.parent}{os.pathsep}{os.environ['PATH']}")

    def run(*flags):
        return subprocess.run([sys.executable, "-m", "grader", "grade", str(classroom.parent),
                               "--out", str(tmp_path / "out"), "--quiet", *flags], env=env,
                              capture_output=True, text=True, timeout=300)

    stopped = run()
    assert stopped.returncode == 3, stopped.stderr
    assert "bubblewrap is installed but could not start a sandbox" in stopped.stderr
    assert len(stopped.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "alice" / "results.json").exists()
    fallback = run("--allow-unsandboxed", "--fresh")
    assert fallback.returncode == 0, fallback.stderr
    assert "NOT SANDBOXED" in fallback.stdout


def test_every_option_of_every_command_has_its_help_text():
    """Help comes from the docstrings under GradingOptions' and Limits' fields."""
    import argparse

    from grader.cli import _field_docs, _parser
    from grader.grade import GradingOptions
    from grader.sandbox import Limits

    assert _field_docs(GradingOptions)["seed"].startswith("Seed for the hidden tests")
    assert _field_docs(Limits)["cpu_seconds"]
    commands = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in commands.choices.items():
        for action in command._actions:
            if action.option_strings and action.dest != "help":
                assert action.help and action.help.strip(), f"{name} {action.option_strings}"


def test_a_class_graded_in_processes_gets_the_files_of_one_graded_in_threads(
        tmp_path, bubblewrap, monkeypatch):
    """With more students than jobs, a class is graded in one process per job (each with its
    own interpreter lock); with one job, in this process. Every file is the same, byte for
    byte, and the processes leave no worker or temporary file behind."""
    import importlib

    from grader import GradingOptions, grade

    grading = importlib.import_module("grader.grade")  # the module, not its grade function
    from tests.conftest import workers_alive

    classroom = tmp_path / "class"
    for name, replace, untouched in (("ada", {}, False), ("bo", {"conv2d": FLIPPED}, False),
                                     ("cy", {}, True), ("di", {"conv2d": SWAPPED}, False)):
        (classroom / name).mkdir(parents=True)
        write_submission(classroom / name, NB01, replace, student_version=untouched)
    pools = []
    real = grading.grade_in_processes
    monkeypatch.setattr(grading, "grade_in_processes",
                        lambda *args, **kwargs: pools.append(1) or real(*args, **kwargs))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr("tempfile.tempdir", None)
    before = set(workers_alive())
    outs = {}
    for jobs in (2, 1):
        outs[jobs] = tmp_path / f"jobs{jobs}"
        summary = grade([classroom], GradingOptions(out=outs[jobs], jobs=jobs, seed=7,
                                                     progress=False))
        assert summary.graded == 4
    assert pools == [1]  # the two-job run, and only it, used processes
    files = sorted(p.relative_to(outs[2]) for p in outs[2].rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(outs[1]) for p in outs[1].rglob("*") if p.is_file())
    assert {f.name for f in files} >= {"results.json", "feedback.md", "gradebook.csv"}
    for file in files:
        if file.name == "results.json":
            assert comparable(outs[2], file.parent.name) == comparable(outs[1], file.parent.name)
        elif file.suffix == ".csv":
            assert untimed_rows(outs[2] / file) == untimed_rows(outs[1] / file), file
        elif file.name == "report.html":  # its grading-time chart differs, of course
            untimed = [re.sub(r'<section id="time".*?</section>', "", (out / file).read_text())
                       for out in (outs[2], outs[1])]
            assert untimed[0] == untimed[1] and 'id="time"' not in untimed[0]
        else:
            assert (outs[2] / file).read_bytes() == (outs[1] / file).read_bytes(), file
    assert results(outs[2], "bo")["score"] < results(outs[2], "ada")["score"]
    assert set(workers_alive()) <= before
    assert list(scratch.iterdir()) == []
