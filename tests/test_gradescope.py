"""The Gradescope autograder bundle, run the way Gradescope runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import run_grader
from tests.submissions import write_submission

NB01 = "01_convolution_dot_product"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("gradescope") / "autograder.zip"
    result = run_grader("gradescope-bundle", "--out", path)
    assert result.returncode == 0, result.stderr
    return path


def autograder(bundle: Path, root: Path) -> Path:
    """Lay out ``root`` like Gradescope's /autograder: the bundle unpacked into source/."""
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root / "source")
    (root / "submission").mkdir()
    run = root / "source" / "run_autograder"
    run.chmod(0o755)
    return run


def test_bundle_has_gradescopes_entry_points_and_no_solutions(bundle):
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
        setup = archive.read("setup.sh").decode()
    assert {"setup.sh", "run_autograder", "source/grader/grade.py",
            "source/stridelab/judging.py", "source/requirements.txt"} <= names
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
    assert not any("solutions/" in n or "__pycache__" in n for n in names)
    assert "bubblewrap" in setup and "pip install -r requirements.txt" in setup


def test_run_autograder_writes_results_json(bundle, tmp_path):
    run = autograder(bundle, tmp_path)
    write_submission(tmp_path / "submission", NB01, {})
    env = dict(os.environ, AUTOGRADER_ROOT=str(tmp_path), AUTOGRADER_PYTHON=sys.executable)
    completed = subprocess.run([str(run)], env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    assert results["score"] == results["max_score"] == 15
    assert all(t["name"].split(":")[0] in {"window_dot", "conv1d", "conv2d"} for t in results["tests"])


def test_an_ungradable_upload_still_gets_results_json(bundle, tmp_path):
    run = autograder(bundle, tmp_path)
    (tmp_path / "submission" / "essay.pdf").write_bytes(b"%PDF-1.4")
    env = dict(os.environ, AUTOGRADER_ROOT=str(tmp_path), AUTOGRADER_PYTHON=sys.executable)
    completed = subprocess.run([str(run)], env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    assert results["score"] == 0 and "could not be graded" in results["output"]


def test_run_autograder_writes_honest_results_when_the_grader_dies(bundle, tmp_path):
    """A grader killed mid-run (or one that cannot start) still leaves a results.json, and a
    results.json planted before the run never survives."""
    run = autograder(bundle, tmp_path)
    write_submission(tmp_path / "submission", NB01, {})
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "results.json").write_text('{"score": 100, "output": "forged"}')
    dying = tmp_path / "dying-python"
    dying.write_text("#!/bin/sh\nkill -9 $$\n")
    dying.chmod(0o755)
    env = dict(os.environ, AUTOGRADER_ROOT=str(tmp_path), AUTOGRADER_PYTHON=str(dying))
    completed = subprocess.run([str(run)], env=env, capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    assert results["score"] == 0 and "autograder itself failed" in results["output"]
