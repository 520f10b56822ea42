"""nbgrader's own commands on the course: generate_assignment, autograde, export — with the
course grader's sandbox as the autograde step, so nbgrader's points equal the grader's."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.conftest import run_grader
from tests.submissions import write_submission
from tests.test_grade import FLIPPED, SWAPPED

ROOT = Path(__file__).resolve().parent.parent
NB01 = "01_convolution_dot_product"
SEED = "20261125"

pytestmark = pytest.mark.slow


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # nbgrader runs `alembic` from PATH, as it does in an activated environment.
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("nbgrader") / "course"
    result = run_grader("nbgrader-course", directory)
    assert result.returncode == 0, result.stderr
    nbgrader(directory, "generate_assignment", NB01)
    students = {"honest": {}, "flipped": {"conv2d": FLIPPED}, "swapped": {"conv2d": SWAPPED}}
    for name, replace in students.items():
        folder = directory / "submitted" / name / NB01
        folder.mkdir(parents=True)
        write_submission(folder, NB01, replace)
    untouched = directory / "submitted" / "untouched" / NB01
    untouched.mkdir(parents=True)
    write_submission(untouched, NB01, {}, student_version=True)
    nbgrader(directory, "autograde", NB01, f"--GradeInSandbox.seed={SEED}")
    nbgrader(directory, "export", "--to", "grades.csv")
    return directory


def test_generate_assignment_releases_the_committed_student_notebook(course):
    released = nbformat.read(course / "release" / NB01 / f"{NB01}.ipynb", as_version=4)
    committed = nbformat.read(ROOT / "notebooks" / f"{NB01}.ipynb", as_version=4)
    assert len(released.cells) == len(committed.cells)
    for ours, theirs in zip(committed.cells, released.cells):
        assert ours.source.replace("../assets/", "assets/") == theirs.source
        assert ours.metadata.get("nbgrader") == theirs.metadata.get("nbgrader")
    assert (course / "release" / NB01 / "assets" / "sliding_window.gif").is_file()


def test_autograde_points_equal_the_graders_points(course, tmp_path):
    with open(course / "grades.csv", newline="") as file:
        nbgrader_scores = {row["student_id"]: float(row["score"]) for row in csv.DictReader(file)}
    result = run_grader("grade", course / "submitted", "--out", tmp_path / "out",
                        "--seed", SEED, "--quiet")
    assert result.returncode == 0, result.stderr
    ours = {s: json.loads((tmp_path / "out" / s / "results.json").read_text())["score"]
            for s in nbgrader_scores}
    assert nbgrader_scores == ours
    assert nbgrader_scores["honest"] == 15 and nbgrader_scores["untouched"] == 0
    assert 0 < nbgrader_scores["flipped"] < 15


def test_autograded_notebook_carries_the_feedback(course):
    notebook = nbformat.read(course / "autograded" / "swapped" / NB01 / f"{NB01}.ipynb", as_version=4)
    check = next(c for c in notebook.cells
                 if c.metadata.get("nbgrader", {}).get("grade_id") == "check_conv2d")
    text = "".join(o.get("text", "") for o in check.outputs)
    assert "rows and columns swapped" in text and "hidden tests drawn afresh" in text
    assert SEED not in text  # the seed keys the hidden cases: never shown to students
