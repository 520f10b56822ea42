"""The Gradescope autograder bundle, run the way Gradescope runs it.

Gradescope unzips the bundle into /autograder/source, runs setup.sh there as root, copies
run_autograder to /autograder/run_autograder and runs it with the upload in
/autograder/submission. The slow test rebuilds exactly that from the zip alone, with a clean
PATH and none of the repository's environment."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from tests.conftest import require, run_grader
from tests.submissions import write_submission

NB01, NB02 = "01_convolution_dot_product", "02_stride"
CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("gradescope") / "autograder.zip"
    result = run_grader("gradescope-bundle", "--out", path)
    assert result.returncode == 0, result.stderr
    return path


def autograder(bundle: Path, root: Path) -> Path:
    """Lay out ``root`` like Gradescope's /autograder; return /autograder/run_autograder."""
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root / "source")
    (root / "submission").mkdir()
    run = root / "run_autograder"
    shutil.copy(root / "source" / "run_autograder", run)
    run.chmod(0o755)
    return run


def run_autograder(run: Path, root: Path, python: str = sys.executable) -> dict:
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=python)
    completed = subprocess.run([str(run)], env=env, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr
    return json.loads((root / "results" / "results.json").read_text())


def test_the_bundle_has_gradescopes_layout_and_no_solutions(bundle):
    """setup.sh and run_autograder at the zip's root, the course beside them."""
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
        setup = archive.read("setup.sh").decode()
    assert {"setup.sh", "run_autograder", "gradescope.json", "grader/grade.py",
            "stridelab/judging.py", "requirements.txt", "pyproject.toml"} <= names
    assert not any(n.startswith("source/") for n in names)
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
    assert not any("solutions/" in n or "__pycache__" in n for n in names)
    assert "bubblewrap" in setup and "pip install --disable-pip-version-check -r requirements.txt" in setup


def test_run_autograder_writes_results_json(bundle, tmp_path):
    run = autograder(bundle, tmp_path)
    write_submission(tmp_path / "submission", NB01, {})
    results = run_autograder(run, tmp_path)
    assert results["score"] == results["max_score"] == 15
    assert all(t["name"].split(":")[0] in {"window_dot", "conv1d", "conv2d"} for t in results["tests"])


def test_an_ungradable_upload_still_gets_results_json(bundle, tmp_path):
    run = autograder(bundle, tmp_path)
    (tmp_path / "submission" / "essay.pdf").write_bytes(b"%PDF-1.4")
    results = run_autograder(run, tmp_path)
    assert results["score"] == 0 and "could not be graded" in results["output"]


def test_a_bundle_for_one_notebook_reports_an_upload_of_another(tmp_path):
    path = tmp_path / "nb02.zip"
    assert run_grader("gradescope-bundle", "--out", path, "--notebook", "02").returncode == 0
    run = autograder(path, tmp_path / "ag")
    write_submission(tmp_path / "ag" / "submission", NB01, {})
    results = run_autograder(run, tmp_path / "ag")
    assert results["score"] == 0 and results["max_score"] == 17
    assert f"{NB01}.ipynb is {NB01}, which is not part of this assignment ({NB02})" in results["output"]


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
    results = run_autograder(run, tmp_path, python=str(dying))
    assert results["score"] == 0 and "autograder itself failed" in results["output"]


@pytest.mark.slow
def test_the_bundle_works_as_gradescope_runs_it():
    """From the zip alone, with a clean PATH: setup.sh builds its own environment, and
    run_autograder grades an upload, reports the wrong notebook, and survives a bad upload.
    Student code runs as an unprivileged user where bubblewrap cannot, and cannot read the grader."""
    require(hasattr(os, "geteuid") and os.geteuid() == 0, "Gradescope runs setup.sh as root")
    root = Path(tempfile.mkdtemp(prefix="gradescope-layout-"))
    try:
        os.chmod(root, 0o755)  # as /autograder: every user may pass through it
        bundle = root / "autograder.zip"
        assert run_grader("gradescope-bundle", "--out", bundle, "--notebook", "02").returncode == 0
        run = autograder(bundle, root)
        env = {"PATH": CLEAN_PATH, "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8",
               "AUTOGRADER_ROOT": str(root)}
        setup = subprocess.run(["bash", "setup.sh"], cwd=root / "source", env=env,
                               capture_output=True, text=True, timeout=900)
        assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
        assert (root / "venv" / "bin" / "python").exists()
        assert "the grader is installed" in setup.stdout
        assert oct((root / "source" / "grader").stat().st_mode & 0o077) == "0o0"

        def grade_upload(*files: Path, path: str = CLEAN_PATH) -> dict:
            shutil.rmtree(root / "submission")
            (root / "submission").mkdir()
            for file in files:
                shutil.copy(file, root / "submission" / file.name)
            completed = subprocess.run([str(run)], env={**env, "PATH": path},
                                       capture_output=True, text=True, timeout=600)
            assert completed.returncode == 0, completed.stderr
            return json.loads((root / "results" / "results.json").read_text())

        scratch = root / "uploads"
        scratch.mkdir()
        right = grade_upload(write_submission(scratch, NB02, {}))
        assert right["score"] == right["max_score"] == 17, right["output"]
        reader = write_submission(scratch, NB02, {"conv_output_size": (
            "def conv_output_size(n, k, stride=1, padding=0):\n"
            "    import glob\n"
            "    raise ValueError(str(glob.glob('/autograder/source/grader/exercises/*')))\n")},
            name="reader")
        # A container where bubblewrap cannot run: the same PATH, without bwrap.
        no_bwrap = root / "bin"
        no_bwrap.mkdir()
        for tool in ("bash", "sh", "grep", "cat", "rm", "mkdir"):
            (no_bwrap / tool).symlink_to(shutil.which(tool, path=CLEAN_PATH))
        for upload_path in (CLEAN_PATH, str(no_bwrap)):
            snooped = grade_upload(reader, path=upload_path)
            text = json.dumps(snooped)
            assert "nb02_stride.py" not in text and snooped["score"] < 17
        assert "unprivileged user of its own" in snooped["output"]
        unsandboxed = grade_upload(write_submission(scratch, NB02, {}), path=str(no_bwrap))
        assert unsandboxed["score"] == 17
        wrong = grade_upload(write_submission(scratch, NB01, {}))
        assert wrong["score"] == 0 and "not part of this assignment" in wrong["output"]
        (scratch / "essay.pdf").write_bytes(b"%PDF-1.4")
        bad = grade_upload(scratch / "essay.pdf")
        assert bad["score"] == 0 and "No notebooks (.ipynb files)" in bad["output"]
    finally:
        shutil.rmtree(root, ignore_errors=True)
