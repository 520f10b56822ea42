"""Hostile and broken submissions, graded in one class alongside honest ones.

Each ends with an honest result row, gains no point it did not earn, and leaves the honest
students' results untouched. Runs in the real sandbox (bubblewrap; required in CI)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_grader
from tests.submissions import write_submission

NB01 = "01_convolution_dot_product"
SOLUTION = (ROOT / "solutions" / f"{NB01}.ipynb").read_text()
CONV2D_OK = '''
def conv2d(x, w):
    kh, kw = w.shape
    out = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(x[i:i + kh, j:j + kw] * w)
    return out
'''
CONV1D_OK = '''
def conv1d(x, w):
    return np.correlate(x, w, "valid")
'''

pytestmark = pytest.mark.slow


def hostile_students(out: Path, marker: Path) -> dict[str, dict[str, str]]:
    """Student name → exercise cells to replace (each is a realistic attack or accident)."""
    honest_results = out / "honest_a" / "results.json"
    return {
        "infinite_loop": {"conv2d": "def conv2d(x, w):\n    while True:\n        pass\n"},
        "memory_bomb": {"conv1d": "def conv1d(x, w):\n    hog = [bytearray(2**28) for _ in range(64)]\n"
                                  "    return np.zeros(len(x) - len(w) + 1)\n"},
        "fork_bomb": {"window_dot": "import os\ndef window_dot(x, w, i, j):\n    while True:\n"
                                    "        os.fork()\n"},
        "os_exit": {"conv1d": "import os\nos._exit(0)\n" + CONV1D_OK},
        "sys_exit": {"conv2d": "import sys\nsys.exit()\n" + CONV2D_OK},
        "prints_100mb": {"window_dot": "print('x' * 100_000_000)\n"
                                       "def window_dot(x, w, i, j):\n    return 0.0\n"},
        "patches_numpy": {"conv2d": "import builtins\nimport numpy as np\n"
                                    "np.allclose = lambda *a, **k: True\n"
                                    "np.isclose = lambda a, b, **k: np.ones(np.shape(a), bool)\n"
                                    "np.testing.assert_allclose = lambda *a, **k: None\n"
                                    "builtins.AssertionError = type('Never', (Exception,), {})\n"
                                    "def conv2d(x, w):\n    return np.zeros((1, 1))\n"},
        "evil_pickle": {"conv2d": "class Evil:\n    def __reduce__(self):\n        import os\n"
                                  f"        return (os.system, ('touch {marker}',))\n"
                                  "def conv2d(x, w):\n    return Evil()\n"},
        "snoops": {"conv2d": "def conv2d(x, w):\n"
                             f"    notebook = open({str(ROOT / 'solutions' / (NB01 + '.ipynb'))!r}).read()\n"
                             "    return notebook\n",
                   "conv1d": "def conv1d(x, w):\n"
                             f"    open({str(honest_results)!r}, 'w').write('hacked')\n"
                             f"    open({str(out / 'gradebook.csv')!r}, 'w').write('hacked')\n"
                             f"    open({str(marker)!r}, 'w').write('escaped')\n"
                             "    return np.correlate(x, w, 'valid')\n"},
        "forges_answers": {"conv1d": "import os\nfor fd in range(3, 64):\n    try:\n"
                                     "        os.write(fd, b'{\"ok\": true}\\n')\n"
                                     "    except OSError:\n        pass\n" + CONV1D_OK},
        "renamed_function": {"conv2d": CONV2D_OK.replace("def conv2d", "def my_conv2d")},
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory, bubblewrap) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("adversarial")
    classroom, out, marker = root / "class", root / "out", root / "MARKER"
    for name, replace in {"honest_a": {}, "honest_b": {}, **hostile_students(out, marker)}.items():
        (classroom / name).mkdir(parents=True)
        write_submission(classroom / name, NB01, replace)
    (classroom / "deleted_cell").mkdir()
    write_submission(classroom / "deleted_cell", NB01, {}, delete=("conv2d",))
    (classroom / "invalid_json").mkdir()
    (classroom / "invalid_json" / f"{NB01}.ipynb").write_text('{"cells": [ oops')
    (classroom / "not_a_notebook").mkdir()
    (classroom / "not_a_notebook" / "homework.pdf").write_bytes(b"%PDF-1.4\n")
    result = run_grader("grade", classroom, "--out", out, "--seed", "5", "--quiet",
                        "--step-timeout", "3", "--memory-limit", "1024", "--require-isolation")
    assert result.returncode == 0, result.stderr
    return out, marker


def scores(out: Path, student: str) -> dict[str, float]:
    data = json.loads((out / student / "results.json").read_text())
    return {k: v["score"] for k, v in data["extra_data"]["exercises"].items()}


def output(out: Path, student: str, exercise: str) -> str:
    data = json.loads((out / student / "results.json").read_text())
    return "\n".join(t["output"] for t in data["tests"] if t["name"].startswith(exercise + ":"))


FULL = {"window_dot": 4, "conv1d": 5, "conv2d": 6}


@pytest.mark.parametrize("student, exercise, reason", [
    ("infinite_loop", "conv2d", "did not finish within 3 s"),
    ("memory_bomb", "conv1d", "raised MemoryError"),
    ("fork_bomb", "window_dot", "raised PermissionError"),
    ("os_exit", "conv1d", "ended the grading process"),
    ("sys_exit", "conv2d", "raised SystemExit"),
    ("prints_100mb", "window_dot", "File too large"),
    ("patches_numpy", "conv2d", "expected shape (3, 3), got (1, 1)"),
    ("evil_pickle", "conv2d", "got a Evil"),
    ("snoops", "conv2d", "raised FileNotFoundError"),
    ("snoops", "conv1d", "raised FileNotFoundError"),
    ("forges_answers", "conv1d", "interfered with the grader's connection"),
    ("renamed_function", "conv2d", "conv2d is not defined"),
    ("deleted_cell", "conv2d", "no cell defines conv2d"),
])
def test_attack_fails_only_its_own_exercise_with_a_reason(graded, student, exercise, reason):
    out, _ = graded
    got = scores(out, student)
    assert got[exercise] == 0
    assert reason in output(out, student, exercise)
    for other, points in FULL.items():
        if other != exercise and not (student == "snoops" and other in ("conv1d", "conv2d")):
            assert got[other] == points, f"{student} lost {other} too"


def test_honest_students_are_unaffected(graded):
    out, _ = graded
    for student in ("honest_a", "honest_b"):
        assert scores(out, student) == FULL
    with open(out / "gradebook.csv", newline="") as file:
        rows = {row["student"]: row for row in csv.DictReader(file)}
    assert rows["honest_a"]["score"] == "15" and len(rows) == 16


def test_nothing_escaped_the_sandbox(graded):
    out, marker = graded
    assert not marker.exists(), "student code wrote outside its sandbox or got unpickled"
    assert "hacked" not in (out / "honest_a" / "results.json").read_text()


def test_broken_submissions_get_a_row_with_a_reason(graded):
    out, _ = graded
    invalid = json.loads((out / "invalid_json" / "results.json").read_text())
    assert invalid["score"] == 0 and "could not be read as a notebook" in invalid["output"]
    pdf = json.loads((out / "not_a_notebook" / "results.json").read_text())
    assert pdf["score"] == 0 and "No notebooks" in pdf["output"]


def test_no_hostile_submission_scores_more_than_it_earned(graded):
    out, _ = graded
    for student in hostile_students(out, Path("/nonexistent")):
        assert sum(scores(out, student).values()) < 15, student
