"""Attacks on the grader, graded in one class beside honest students (../shared/THREATS.md).

Each attacker has read the grader's source. After one real run (bubblewrap, the command
line, two jobs) the tests check what THREATS.md asks: no file appeared or changed outside
the sandbox, no point was unearned, the honest students' results are byte-identical to a
run without the attackers, there is one row per student, no process outlived the run, and
each student's time stayed within its budget. Most attacks try their trick and then define
an honest function: the trick must fail *and* grading must go on as if it never happened.
"""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT, workers_alive
from tests.submissions import add_cells, write_submission

pytestmark = pytest.mark.slow

NB01 = "01_convolution_dot_product"
FULL = {"window_dot": 4, "conv1d": 5, "conv2d": 6}
SEED = "5"
BUDGET = 12  # --time-per-submission
STEP = 3  # --step-timeout

WINDOW_DOT_OK = "def window_dot(x, w, i, j):\n    kh, kw = w.shape\n    return float(np.sum(x[i:i + kh, j:j + kw] * w))\n"
CONV1D_OK = "def conv1d(x, w):\n    return np.correlate(x, w, 'valid')\n"
CONV2D_OK = '''
def conv2d(x, w):
    kh, kw = w.shape
    out = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(x[i:i + kh, j:j + kw] * w)
    return out
'''


def attempt(*statements: str) -> str:
    """Code that tries each statement and carries on, whatever happens."""
    return "".join(f"try:\n    {s}\nexcept BaseException:\n    pass\n" for s in statements)


def attackers(root: Path, listener_port: int) -> dict[str, dict[str, str]]:
    """Student name → exercise cells to replace; every attack is one a student could write."""
    out, site = root / "out", Path(np.__file__).parents[1]
    targets = [root / "escaped", out / "honest_a" / "results.json", out / "gradebook.csv",
               site / "evil.pth", ROOT / "grader" / "__init__.py", Path.home() / ".bashrc"]
    writes = [f"open({str(t)!r}, 'a').write('import os  # pwned\\n')" for t in targets]
    links = [f"os.symlink({str(t)!r}, {name!r})" for t in targets[:2]
             for name in (".output.txt", ".matplotlib", "/tmp/.output.txt", "results.json")]
    syscalls = (
        "import ctypes, os, socket, threading\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "tries = [(101, (16, 1, 0, 0)), (425, (8, 0)), (0x40000000 | 39, ()),\n"
        "         (310, (1, 0, 0, 0, 0, 0)), (57, ())]  # ptrace, io_uring, x32, vm_readv, fork\n"
        "escaped = [n for n, args in tries if libc.syscall(n, *args) != -1]\n"
        + attempt(f"escaped.append(socket.create_connection(('127.0.0.1', {listener_port})))",
                  "escaped.append(os.fork())",
                  "threading.Thread(target=print).start(); escaped.append('thread')")
        + "if escaped:\n    raise SystemExit(f'escaped {escaped}')\n" + WINDOW_DOT_OK)
    return {
        # 1. host writes through paths the student controls
        "plants_links": {"conv1d": "import os\n" + attempt(*links) + CONV1D_OK},
        "writes_everywhere": {"conv1d": "import os\n" + attempt(*writes) + CONV1D_OK},
        # 2. one submission stops the run
        "lone_surrogate": {"conv2d": "def conv2d(x, w):\n    raise ValueError('bad \\ud800 \\udcff')\n"},
        "huge_int": {"window_dot": "def window_dot(x, w, i, j):\n    return 10 ** 400\n"},
        "odd_type_name": {"conv1d": (
            "Evil = type('Boom\\n```\\n# Owned\\n<img src=x onerror=alert(1)>', (Exception,), {})\n"
            "def conv1d(x, w):\n    raise Evil('\\x1b[2K\\r✓ passed\\n=HYPERLINK(\"http://evil\")')\n")},
        # 3. the system-call filter
        "syscalls": {"window_dot": syscalls},
        "signals": {"conv2d": "import os, signal\n" + attempt(
            "os.kill(-1, signal.SIGKILL)", "os.kill(0, signal.SIGKILL)", "os.kill(1, signal.SIGSTOP)",
            "os.kill(os.getppid(), signal.SIGKILL)", "os.killpg(0, signal.SIGKILL)") + CONV2D_OK},
        # 4. the time budget: every replay sleeps, every exercise restarts the worker
        "slow_replays": {name: "import time, os\ntime.sleep(2)\n"
                         f"def {name}(*args):\n    os._exit(0)\n" for name in FULL},
        "hangs_up": {"conv1d": "import os, time\nos.closerange(3, 1024)  # its pipes too\n"
                               "time.sleep(10_000)\n" + CONV1D_OK},
        # 5. the grader's memory
        "huge_answers": {"conv2d": "def conv2d(x, w):\n    return np.zeros((4000, 4000))\n"},
        "forges_json": {"conv2d": "import json\njson.dumps = lambda *a, **k: 'x' * 5_000_000\n"
                                  + CONV2D_OK},
        # 8. the sandbox's RAM-backed /tmp and home folder
        "fills_tmp": {"conv1d": attempt(
            "open('/tmp/fill', 'wb').write(bytes(3 * 2**30))",
            "[open(f'/tmp/f{i}', 'w') for i in range(100_000)]",
            "[open(f'f{i}', 'w') for i in range(100_000)]") + CONV1D_OK},
        # 9. what the sandbox shows of the host
        "reads_proc": {"conv2d": "def conv2d(x, w):\n"
                                 "    try:  # pid 1 is the zygote, hidden\n"
                                 "        first = open('/proc/1/cmdline').read()\n"
                                 "    except OSError as error:\n"
                                 "        first = repr(error)\n"
                                 "    return first + open('/proc/self/mountinfo').read()\n"},
    }


def write_class(classroom: Path, root: Path, port: int, with_attackers: bool) -> set[str]:
    """Write the class; return the student ids the grader should report."""
    for name in ("honest_a", "honest_b"):
        (classroom / name).mkdir(parents=True)
        write_submission(classroom / name, NB01, {})
    if not with_attackers:
        return {"honest_a", "honest_b"}
    for name, replace in attackers(root, port).items():
        (classroom / name).mkdir()
        write_submission(classroom / name, NB01, replace)
    # 2. parsing bombs in scratch cells cost only their cell; 4. too many cells
    (classroom / "deep_scratch").mkdir()
    add_cells(write_submission(classroom / "deep_scratch", NB01, {}),
              ["x = " + "1 + " * 100_000 + "1", "y = " + "(" * 50_000 + ")" * 50_000])
    (classroom / "many_cells").mkdir()
    add_cells(write_submission(classroom / "many_cells", NB01, {}), ["pass"] * 20_000)
    # 6. links to solutions, to the grader's exercises, a linked student folder
    (classroom / "linked_solution").mkdir()
    (classroom / "linked_solution" / f"{NB01}.ipynb").symlink_to(ROOT / "solutions" / f"{NB01}.ipynb")
    (classroom / "linked_exercises").mkdir()
    write_submission(classroom / "linked_exercises", NB01, {"conv2d": "def conv2d(x, w):\n    return x\n"})
    (classroom / "linked_exercises" / "exercises").symlink_to(ROOT / "grader" / "exercises")
    (classroom / "linked_folder").symlink_to(ROOT / "solutions")
    # 7. a loose notebook beside the student folders is its own student
    write_submission(classroom, NB01, {}, name="loose")
    # identity: a zip named mallory holding zoe/, names that collide or inject
    (classroom / "zoe").mkdir()
    write_submission(classroom / "zoe", NB01, {})
    forged = write_submission(root, NB01, {"conv2d": "def conv2d(x, w):\n    return x\n"},
                              name="forged")
    with zipfile.ZipFile(classroom / "mallory.zip", "w") as bundle:
        bundle.write(forged, f"zoe/{NB01}.ipynb")
    for name in ("gradebook.csv", '=HYPERLINK("evil.example","x")', "\x1b[32mfine"):
        (classroom / name).mkdir()
        write_submission(classroom / name, NB01, {"window_dot": "def window_dot(*a):\n    return 0\n"})
    return {"honest_a", "honest_b", *attackers(root, port), "deep_scratch", "many_cells",
            "linked_solution", "linked_exercises", "loose", "zoe", "mallory"}


TAGGED = ("gradebook.csv~", '=HYPERLINK(_evil.example_,_x_)~', "_[32mfine~")
"""Names that had to change: each is graded under a tagged id beginning so."""


def snapshot(*folders: Path) -> dict[str, float]:
    """Every file below ``folders`` (not following links) with its modification time."""
    found = {}
    for folder in folders:
        for base, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs if d not in ("__pycache__", ".git", ".pytest_cache")]
            for name in files:
                path = os.path.join(base, name)
                found[path] = os.lstat(path).st_mtime
    return found


def grade(classroom: Path, out: Path, tmpdir: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TMPDIR=str(tmpdir))
    return subprocess.run(
        [sys.executable, "-m", "grader", "grade", str(classroom), "--out", str(out),
         "--seed", SEED, "--quiet", "--jobs", "2", "--step-timeout", str(STEP),
         "--time-per-submission", str(BUDGET), "--memory-limit", "1024"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def run(tmp_path_factory, bubblewrap):
    """Grade the honest students alone, then beside the attackers; keep everything."""
    root = tmp_path_factory.mktemp("adversarial")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    connections: list[object] = []

    def accept() -> None:
        while not getattr(listener, "_closed", False):
            try:
                connections.append(listener.accept())
            except (TimeoutError, OSError):
                if listener.fileno() == -1:
                    return

    threading.Thread(target=accept, daemon=True).start()
    port = listener.getsockname()[1]
    write_class(root / "honest-class", root, port, with_attackers=False)
    expected = write_class(root / "class", root, port, with_attackers=True)
    tmpdir = root / "tmpdir"
    tmpdir.mkdir()
    site = Path(np.__file__).parents[1]
    watched = [ROOT, site, Path.home(), root / "class"]
    before = snapshot(*watched)
    honest = grade(root / "honest-class", root / "honest-out", tmpdir)
    assert honest.returncode == 0, honest.stderr
    started = time.monotonic()
    result = grade(root / "class", root / "out", tmpdir)
    elapsed = time.monotonic() - started
    listener.close()
    return {"root": root, "out": root / "out", "result": result, "expected": expected,
            "before": before, "after": snapshot(*watched), "tmpdir": tmpdir,
            "elapsed": elapsed, "connections": connections, "workers": workers_alive()}


def results(out: Path, student: str) -> dict:
    return json.loads((out / student / "results.json").read_text(encoding="utf-8"))


def scores(out: Path, student: str) -> dict[str, float]:
    return {k: v["score"] for k, v in results(out, student)["extra_data"]["exercises"].items()}


def output(out: Path, student: str, exercise: str) -> str:
    return "\n".join(t["output"] for t in results(out, student)["tests"]
                     if t["name"].startswith(exercise + ":"))


def test_the_run_finishes_with_one_row_per_student(run):
    assert run["result"].returncode == 0, run["result"].stderr
    with open(run["out"] / "gradebook.csv", newline="", encoding="utf-8") as file:
        rows = [row["student"] for row in csv.DictReader(file)]
    shown = {row.lstrip("'") for row in rows}
    assert len(rows) == len(run["expected"]) + len(TAGGED) == len(shown)
    assert run["expected"] <= shown
    for prefix in TAGGED:
        assert sum(row.startswith(prefix) for row in shown) == 1, (prefix, shown)


def test_honest_students_are_byte_identical_to_a_run_without_attackers(run):
    for student in ("honest_a", "honest_b"):
        alone = (run["root"] / "honest-out" / student / "results.json").read_text()
        beside = (run["out"] / student / "results.json").read_text()
        strip = lambda text: {k: v for k, v in json.loads(text).items() if k != "execution_time"}  # noqa: E731
        assert strip(alone) == strip(beside)
        assert scores(run["out"], student) == FULL


def test_nothing_appeared_or_changed_outside_the_sandbox(run):
    """Writes, links, .pth files, the grader's own files: the filter refused them all."""
    assert run["before"] == run["after"]
    assert not (run["root"] / "escaped").exists()
    assert os.listdir(run["tmpdir"]) == []  # no work folders or caches left behind
    for student in ("plants_links", "writes_everywhere", "fills_tmp"):
        assert scores(run["out"], student) == FULL, student  # the attack changed nothing


def test_no_process_outlives_the_run(run):
    assert run["workers"] == []


def test_the_filter_held(run):
    """ptrace, io_uring, x32, process_vm_readv, fork, threads, sockets: all refused."""
    assert run["connections"] == []
    assert scores(run["out"], "syscalls") == FULL
    got = scores(run["out"], "signals")  # pid 1 and the parent are its zygote: refused
    assert got["window_dot"] == 4 and got["conv1d"] == 5


@pytest.mark.parametrize("student, exercise, reason", [
    ("lone_surrogate", "conv2d", "raised ValueError: bad \\ud800 \\udcff"),
    ("huge_int", "window_dot", "which cannot be compared with the expected result"),
    ("odd_type_name", "conv1d", "raised Boom\\n```\\n# Owned"),
    ("slow_replays", "conv2d", "time allowed for this submission ran out"),
    ("hangs_up", "conv1d", "closed the grader's connection"),
    ("huge_answers", "conv2d", "more data than this case can need"),
    ("forges_json", "conv2d", "more data than the grader accepts"),
    ("reads_proc", "conv2d", "expected an array of shape (3, 3), got a str"),
    ("many_cells", "conv2d", "20,0"),
    ("linked_solution", "conv2d", "was not submitted"),
    ("linked_exercises", "conv2d", "expected shape (3, 3)"),
    ("mallory", "conv2d", "expected shape (3, 3)"),
])
def test_each_attack_costs_only_its_author(run, student, exercise, reason):
    got = scores(run["out"], student)
    assert got[exercise] == 0
    assert reason in output(run["out"], student, exercise)


def test_no_attacker_scores_more_than_it_earned(run):
    out = run["out"]
    for student in run["expected"] - {"honest_a", "honest_b", "deep_scratch", "loose", "zoe",
                                      "plants_links", "writes_everywhere", "fills_tmp", "syscalls",
                                      "signals"}:
        assert sum(scores(out, student).values()) < 15, student


def test_parsing_bombs_cost_only_their_cell(run):
    assert scores(run["out"], "deep_scratch") == FULL
    assert "code cells; the grader reads at most 1,000" in results(run["out"], "many_cells")["output"]


def test_the_time_budget_is_absolute(run):
    data = results(run["out"], "slow_replays")
    assert data["execution_time"] <= BUDGET + 3
    assert sum(scores(run["out"], "slow_replays").values()) == 0


def test_the_sandbox_shows_no_host_work_paths(run):
    text = (run["out"] / "reads_proc" / "feedback.md").read_text(encoding="utf-8")
    assert "bwrap" not in text and str(run["root"]) not in text


def test_identity_comes_from_the_class_layout(run):
    """mallory.zip holding zoe/ is mallory's; zoe keeps her own name and grade."""
    assert scores(run["out"], "zoe") == FULL
    assert scores(run["out"], "mallory")["conv2d"] == 0
    assert scores(run["out"], "loose") == FULL
    stdout = run["result"].stdout + run["result"].stderr
    assert "\x1b" not in stdout


def test_links_in_the_class_are_reported_not_followed(run):
    assert "linked_folder" in run["result"].stdout
    linked = results(run["out"], "linked_exercises")["output"]
    assert "exercises is a symbolic link" in linked


def test_student_text_is_escaped_where_it_lands(run):
    out = run["out"]
    feedback = (out / "odd_type_name" / "feedback.md").read_text(encoding="utf-8")
    assert feedback.count("\n# ") == 0 and feedback.startswith("# Feedback for")
    assert "\n# Owned" not in feedback and "\x1b" not in feedback
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as file:
        cells = [cell for row in csv.reader(file) for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    raw = (out / "lone_surrogate" / "results.json").read_bytes()
    json.loads(raw.decode("utf-8", "strict"))
