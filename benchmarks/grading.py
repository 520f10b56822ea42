"""Grading speed: this grader against stock ``nbgrader autograde``, side by side in one run.

    .venv/bin/python benchmarks/grading.py                # 4 full submissions each, then a class of 300
    .venv/bin/python benchmarks/grading.py --students 8 --class-size 0
    .venv/bin/python benchmarks/grading.py --students 2 --class-size 0 --dask 20

A full submission is every notebook of the course (the solutions, so every test runs).
Both graders grade the same submissions on this machine in the same run; the ratio is what
to read, the absolute times depend on the machine. nbgrader is run with its stock pipeline
(the whole notebook executed in a kernel, one notebook at a time), which is what this
grader replaces. Then this grader alone grades a class of ``--class-size`` submissions, the
issue's "300 full submissions in under 90 s on 2 cores".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader import GradingOptions, grade  # noqa: E402

STOCK_CONFIG = """c = get_config()
c.CourseDirectory.course_id = "benchmark"
c.CourseDirectory.root = {root!r}
c.Execute.timeout = 600
"""


def make_class(folder: Path, students: int) -> list[str]:
    """``students`` copies of the solutions, as student folders; returns the notebook names.

    Each copy differs in its metadata, as real submissions differ, so each meets hidden cases
    of its own (drawn from the notebooks' bytes) and the grader works them out afresh.
    """
    names = sorted(p.stem for p in (ROOT / "solutions").glob("*.ipynb"))
    texts = {name: json.loads((ROOT / "solutions" / f"{name}.ipynb").read_text()) for name in names}
    for index in range(students):
        target = folder / f"student{index:03d}"
        target.mkdir(parents=True)
        for name, notebook in texts.items():
            notebook["metadata"]["benchmark_student"] = index
            (target / f"{name}.ipynb").write_text(json.dumps(notebook, indent=1))
    return names


def time_ours(classroom: Path, out: Path, jobs: int) -> float:
    """Seconds to grade the class; every submission must get full marks, or it says so."""
    started = time.perf_counter()
    summary = grade([classroom], GradingOptions(out=out, jobs=jobs, progress=False, fresh=True,
                                                seed=1))
    seconds = time.perf_counter() - started
    wrong = [r.student for r in summary.results if r.score != r.max_score or r.max_score == 0]
    if wrong:
        raise SystemExit(f"grading went wrong: {wrong[:5]} did not get full marks")
    return seconds


def time_nbgrader(classroom: Path, course: Path, names: list[str]) -> float:
    """Stock nbgrader: generate each assignment, then autograde every student's copy."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    course.mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(STOCK_CONFIG.format(root=str(course)))
    for name in names:
        (course / "source" / name).mkdir(parents=True)
        shutil.copy2(ROOT / "solutions" / f"{name}.ipynb", course / "source" / name)
        subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", name],
                       cwd=course, env=env, check=True, capture_output=True)
    for student in sorted(p.name for p in classroom.iterdir()):
        for name in names:
            target = course / "submitted" / student / name
            target.mkdir(parents=True)
            shutil.copy2(classroom / student / f"{name}.ipynb", target)
    started = time.perf_counter()
    for name in names:
        result = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", name],
                                cwd=course, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            print(result.stderr[-2000:], file=sys.stderr)
            raise SystemExit(f"nbgrader autograde {name} failed")
    return time.perf_counter() - started


class DaskCluster:
    """A real ``dask scheduler`` and ``workers`` worker processes on 127.0.0.1."""

    def __init__(self, folder: Path, workers: int) -> None:
        dask = str(Path(sys.executable).parent / "dask")
        self.file = folder / f"scheduler-{workers}.json"
        self.processes = [subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(self.file)], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)]
        while not self.file.exists():
            time.sleep(0.2)
        self.address = json.loads(self.file.read_text())["address"]
        self.processes += [subprocess.Popen(
            [dask, "worker", "--scheduler-file", str(self.file), "--nthreads", "1",
             "--no-nanny", "--no-dashboard"], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True) for _ in range(workers)]
        from distributed import Client

        with Client(self.address) as client:
            client.wait_for_workers(workers, timeout=120)

    def stop(self) -> None:
        for process in self.processes:
            process.kill()
            process.wait()


def time_dask(classroom: Path, out: Path, workers: int, scratch: Path) -> float:
    """Seconds to grade the class on a fresh cluster of ``workers`` one-thread workers."""
    cluster = DaskCluster(scratch, workers)
    try:
        started = time.perf_counter()
        grade([classroom], GradingOptions(out=out, progress=False, fresh=True, seed=1,
                                          scheduler=cluster.address))
        return time.perf_counter() - started
    finally:
        cluster.stop()


STARTUP = """
import json, sys, time
started = time.perf_counter()
from pathlib import Path
from grader.discover import Submission
from grader.grade import GradingPlan, grade_submission
from grader.sandbox import choose_sandbox
imported = time.perf_counter()
sandbox = choose_sandbox()
plan = GradingPlan.create(1, ["02_stride"], sandbox)
plan.tests(plan.case_seed([]))
planned = time.perf_counter()
with sandbox.open(time.monotonic() + 60):
    pass
worker = time.perf_counter()
with sandbox.open(time.monotonic() + 60):
    pass
forked = time.perf_counter()
path = Path(sys.argv[1])
grade_submission(Submission("one", (path,), path.parent), plan, 60)
graded = time.perf_counter()
sandbox.release()
print(json.dumps({"imports": imported - started, "plan": planned - imported,
                  "first worker (sandbox start)": worker - planned,
                  "each later worker (forked)": forked - worker,
                  "one grading": graded - forked}))
"""


def _median_wall(command: list[str], repeats: int = 3) -> float:
    """The median wall-clock seconds of ``command`` (a fresh process each time)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]


def time_start_up(scratch: Path) -> None:
    """One submission and the progress table, as people wait for them, and where it goes."""
    one = scratch / "one" / "student"
    one.mkdir(parents=True)
    shutil.copy2(ROOT / "solutions" / "02_stride.ipynb", one)
    grade_cmd = [sys.executable, "-m", "grader", "grade", str(one), "--out",
                 str(scratch / "one-out"), "--quiet", "--fresh", "--seed", "1"]
    ours = _median_wall(grade_cmd)
    progress = _median_wall([sys.executable, "-m", "grader", "progress", str(ROOT / "solutions")])
    parts = json.loads(subprocess.run([sys.executable, "-c", STARTUP, str(one / "02_stride.ipynb")],
                                      cwd=ROOT, check=True, capture_output=True,
                                      text=True).stdout.strip().splitlines()[-1])
    stock = time_nbgrader(one.parent, scratch / "one-nbgrader", ["02_stride"])
    print(f"{'one submission (notebook 02)':<34}{'seconds':>16}")
    print(f"{'  this grader, whole command':<34}{ours:>16.2f}")
    print(f"{'  nbgrader autograde (stock)':<34}{stock:>16.2f}   ({stock / ours:.1f}× longer)")
    for part, seconds in parts.items():
        print(f"{'    ' + part:<34}{seconds:>16.2f}")
    print(f"{'progress table, whole course':<34}{progress:>16.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=4, help="submissions for the comparison")
    parser.add_argument("--class-size", type=int, default=300,
                        help="class graded by this grader alone afterwards (0 to skip)")
    parser.add_argument("--dask", type=int, default=0, metavar="N",
                        help="also grade a class of N on 1 and 2 Dask workers, beside a local run")
    parser.add_argument("--no-start-up", action="store_true",
                        help="skip the one-submission and progress-table timings")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
        root = Path(scratch)
        if not args.no_start_up:
            time_start_up(root)
        names = make_class(root / "class", args.students)
        print(f"{args.students} full submissions of {len(names)} notebooks each; {cores} cores")
        ours_parallel = time_ours(root / "class", root / "ours", jobs=cores)
        ours_serial = time_ours(root / "class", root / "ours1", jobs=1)
        theirs = time_nbgrader(root / "class", root / "nbgrader", names)
        n = args.students
        print(f"{'grader':<34}{'s / submission':>16}")
        print(f"{'this grader, --jobs ' + str(cores):<34}{ours_parallel / n:>16.2f}")
        print(f"{'this grader, --jobs 1':<34}{ours_serial / n:>16.2f}")
        print(f"{'nbgrader autograde (stock)':<34}{theirs / n:>16.2f}")
        print(f"speed-up over nbgrader: {theirs / ours_parallel:.1f}× with {cores} jobs, "
              f"{theirs / ours_serial:.1f}× on one core")
        if args.dask:
            shutil.rmtree(root / "class")
            make_class(root / "class", args.dask)
            local = time_ours(root / "class", root / "dask-local", jobs=cores)
            print(f"{'a class of ' + str(args.dask):<34}{'s / submission':>16}")
            print(f"{'  here, --jobs ' + str(cores):<34}{local / args.dask:>16.2f}")
            for workers in (1, 2):
                seconds = time_dask(root / "class", root / f"dask-{workers}", workers, root)
                print(f"{'  Dask, ' + str(workers) + ' worker(s)':<34}{seconds / args.dask:>16.2f}"
                      f"   ({local / seconds:.2f}× the local run)")
        if args.class_size:
            shutil.rmtree(root / "class")
            make_class(root / "class", args.class_size)
            seconds = time_ours(root / "class", root / "big", jobs=cores)
            print(f"a class of {args.class_size}: {seconds / 60:.1f} min with {cores} jobs "
                  f"({seconds / args.class_size:.2f} s / submission)")


if __name__ == "__main__":
    main()
