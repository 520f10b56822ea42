"""Grading past one machine: on a real Dask cluster (a scheduler and workers as separate
processes on 127.0.0.1), and in shards merged afterwards — the same files as one local run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_grader
from tests.submissions import write_submission
from tests.test_grade import FLIPPED, OFF_BY_ONE, SWAPPED, comparable

pytestmark = pytest.mark.slow

NB01, NB02 = "01_convolution_dot_product", "02_stride"
DASK = str(Path(sys.executable).parent / "dask")
SEED = "11"


def make_class(folder: Path, size: int = 21) -> set[str]:
    """Correct, buggy and broken submissions, the kinds a class hands in."""
    kinds = [{}, {"conv2d": FLIPPED}, {"conv2d": SWAPPED}, {"conv2d": OFF_BY_ONE},
             {"conv1d": "def conv1d(x, w):\n    while True:\n        pass\n"},
             {"window_dot": "def window_dot(x, w, i, j):\n    return 1 / 0\n"}]
    names = set()
    for index in range(size):
        name = f"student{index:02d}"
        (folder / name).mkdir(parents=True)
        if index % 7 == 6:
            (folder / name / f"{NB01}.ipynb").write_text('{"cells": [ broken')
        else:
            write_submission(folder / name, NB01, kinds[index % len(kinds)])
        if index % 5 == 0:
            write_submission(folder / name, NB02, {})
        names.add(name)
    return names


def grade(classroom: Path, out: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    result = run_grader("grade", classroom, "--out", out, "--seed", SEED, "--quiet",
                        "--step-timeout", "2", *flags)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


class Cluster:
    """A ``dask scheduler`` and ``dask worker`` processes, stopped when the test ends."""

    def __init__(self, folder: Path, workers: int) -> None:
        self.folder = folder
        self.file = folder / "scheduler.json"
        self.processes = [self._start("scheduler", "--host", "127.0.0.1", "--port", "0",
                                      "--no-dashboard", "--scheduler-file", str(self.file))]
        deadline = time.monotonic() + 60
        while not self.file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.address = json.loads(self.file.read_text())["address"]
        self.workers = [self._start("worker", "--scheduler-file", str(self.file), "--nthreads",
                                    "1", "--no-nanny", "--no-dashboard", "--name", f"w{i}")
                        for i in range(workers)]
        self.processes += self.workers
        self._wait_for_workers(workers)

    def _start(self, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"{args[0]}-{len(getattr(self, 'processes', []))}.log", "wb")
        return subprocess.Popen([DASK, *args], stdout=log, stderr=subprocess.STDOUT,
                                cwd=ROOT, start_new_session=True)

    def _wait_for_workers(self, count: int) -> None:
        from distributed import Client

        with Client(self.address, timeout="30s") as client:
            client.wait_for_workers(count, timeout=60)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def cluster(tmp_path, bubblewrap):
    running = Cluster(tmp_path, workers=2)
    yield running
    running.stop()


def test_a_dask_cluster_writes_exactly_the_files_of_a_local_run(tmp_path, cluster):
    students = make_class(tmp_path / "class")
    grade(tmp_path / "class", tmp_path / "local")
    grade(tmp_path / "class", tmp_path / "dask", "--scheduler", cluster.address)
    assert (tmp_path / "dask" / "gradebook.csv").read_text() == \
        (tmp_path / "local" / "gradebook.csv").read_text()
    for student in students:
        assert comparable(tmp_path / "dask", student) == comparable(tmp_path / "local", student)
        assert (tmp_path / "dask" / student / "feedback.md").read_text() == \
            (tmp_path / "local" / student / "feedback.md").read_text()
    again = grade(tmp_path / "class", tmp_path / "dask", "--scheduler", cluster.address)
    assert "Graded 0 submission(s), 21 already up to date" in again.stdout  # resume works there too


def test_a_lost_worker_loses_no_student(tmp_path, cluster):
    """One worker is killed mid-run: its tasks run again on the other, each row once."""
    students = make_class(tmp_path / "class", size=20)
    process = subprocess.Popen(
        [sys.executable, "-m", "grader", "grade", str(tmp_path / "class"), "--out",
         str(tmp_path / "out"), "--seed", SEED, "--quiet", "--step-timeout", "2",
         "--scheduler", cluster.address], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not any((tmp_path / "out").glob("*/results.json")) and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(cluster.workers[0].pid, signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stdout + stderr
    rows = (tmp_path / "out" / "gradebook.csv").read_text().splitlines()[1:]
    assert sorted(row.split(",")[0] for row in rows) == sorted(students)


def test_two_runs_on_one_scheduler_never_share_a_students_task(tmp_path, cluster):
    """Same student id, same seed, different notebooks, at the same time: each run gets its
    own student's grade (a task key from id and seed alone once handed run B run A's)."""
    slow_wrong = "import time\n\ndef window_dot(x, w, i, j):\n    time.sleep(1)\n    return 0.0\n"
    for run in ("a", "b"):
        (tmp_path / run / "eve").mkdir(parents=True)
    write_submission(tmp_path / "a" / "eve", NB01, {"window_dot": slow_wrong})
    write_submission(tmp_path / "b" / "eve", NB01, {})
    first = subprocess.Popen(
        [sys.executable, "-m", "grader", "grade", str(tmp_path / "a"), "--out",
         str(tmp_path / "out-a"), "--seed", SEED, "--quiet", "--scheduler", cluster.address],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)  # run A's task is on the scheduler (its worker sleeps in window_dot)
    grade(tmp_path / "b", tmp_path / "out-b", "--scheduler", cluster.address)
    stdout, stderr = first.communicate(timeout=600)
    assert first.returncode == 0, stdout + stderr
    wrong, right = comparable(tmp_path / "out-a", "eve"), comparable(tmp_path / "out-b", "eve")
    assert right["score"] == right["max_score"] > wrong["score"]


def test_shards_merge_into_the_unsharded_gradebook(tmp_path):
    make_class(tmp_path / "class", size=12)
    grade(tmp_path / "class", tmp_path / "whole")
    for index in (1, 2, 3):
        grade(tmp_path / "class", tmp_path / f"part{index}", "--shard", f"{index}/3")
    parts = [tmp_path / f"part{i}" for i in (1, 2, 3)]
    assert sum(len(p.read_text().splitlines()) - 1
               for p in (part / "gradebook.csv" for part in parts)) == 12
    merged = run_grader("merge", *parts, "--out", tmp_path / "merged")
    assert merged.returncode == 0, merged.stderr
    assert (tmp_path / "merged" / "gradebook.csv").read_text() == \
        (tmp_path / "whole" / "gradebook.csv").read_text()
    grade(tmp_path / "class", tmp_path / "other-seed", "--shard", "1/3", "--seed", "12")
    refused = run_grader("merge", tmp_path / "other-seed", parts[1], "--out", tmp_path / "bad")
    assert refused.returncode == 2 and "different seed" in refused.stderr
    unseeded = run_grader("grade", tmp_path / "class", "--out", tmp_path / "x", "--shard", "1/3")
    assert unseeded.returncode == 2 and "--shard needs --seed" in unseeded.stderr


def test_a_merge_takes_each_shards_last_class_and_one_sandbox(tmp_path):
    """A student removed from the class and re-graded out of a shard keeps no merged row, as
    in an unsharded run; shards graded in different sandboxes are refused."""
    make_class(tmp_path / "class", size=6)
    parts = [tmp_path / f"part{i}" for i in (1, 2)]
    for index, part in enumerate(parts, start=1):
        grade(tmp_path / "class", part, "--shard", f"{index}/2")
    gone = next(p.name for p in parts[1].iterdir() if (p / "results.json").is_file())
    shutil.rmtree(tmp_path / "class" / gone)
    grade(tmp_path / "class", parts[1], "--shard", "2/2")
    assert (parts[1] / gone / "results.json").is_file()  # its old files stay in the shard
    merged = run_grader("merge", *parts, "--out", tmp_path / "merged")
    assert merged.returncode == 0, merged.stderr
    rows = (tmp_path / "merged" / "gradebook.csv").read_text().splitlines()[1:]
    assert sorted(row.split(",")[0] for row in rows) == sorted(
        p.name for p in (tmp_path / "class").iterdir())
    record = json.loads((parts[1] / "grading-run.json").read_text())
    record["sandbox"] = "unsandboxed"
    (parts[1] / "grading-run.json").write_text(json.dumps(record))
    refused = run_grader("merge", *parts, "--out", tmp_path / "mixed")
    assert refused.returncode == 2 and "different sandbox" in refused.stderr
