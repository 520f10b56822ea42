"""Of a student's submission, nbgrader keeps only the notebooks, and follows no link.

nbgrader's ``autograde`` copies a submission's other files into ``autograded/`` (which
formgrader serves from the instructor's own Jupyter server) and ``generate_feedback`` copies
them on into ``feedback/`` (which goes back to the student); its copy follows symbolic links,
and it reads notebooks by path. Beside an honest student (who hands in nbgrader's own
``timestamp.txt`` and ``submission_secret.txt``, as ``nbgrader collect`` leaves them):

- ``attacker`` hands in their own notebook, plus an HTML page and an SVG image with scripts
  (one in a subfolder), a link to a secret file outside the course, a link to the
  instructor's source notebook and a link to the honest student's notebook;
- ``linker``'s notebook is a link to the honest student's notebook;
- ``folderlinker``'s assignment folder is a link to the honest student's folder;
- ``stamplinker`` hands in a notebook and a ``timestamp.txt`` that links to the secret file.

After nbgrader's own ``autograde`` and ``generate_feedback`` through the repository's config:
``autograded/`` and ``feedback/`` hold, per student, the notebook (or its page), the
instructor's files and nbgrader's bookkeeping — no link, nothing else, no marker of the
attacker's files, the secret or the honest student's notebook outside the honest student's
folders; linked submissions are not graded; the honest student scores 15.
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_grader
from tests.submissions import write_submission
from tests.test_grade import FLIPPED
from tests.test_nbgrader import NB01, SEED

pytestmark = pytest.mark.slow

TOKEN = secrets.token_hex(8)
SECRET = f"FILESSECRET{TOKEN}"
HONEST = f"FILESHONEST{TOKEN}"
HTML_MARK, SVG_MARK = f"FILESXSSHTML{TOKEN}", f"FILESXSSSVG{TOKEN}"
ATTACKER_FILES = {
    "notes.html": f"<script>window.{HTML_MARK} = 1</script><img src=x onerror={HTML_MARK}>",
    "pic.svg": f'<svg xmlns="http://www.w3.org/2000/svg" onload="{SVG_MARK}">'
               f"<script>window.{SVG_MARK} = 1</script></svg>",
    "docs/more.html": f"<script>window.{HTML_MARK} = 2</script>",
}
LINKED = ("linker", "folderlinker", "stamplinker")
BOOKKEEPING = {"timestamp.txt": "2026-01-15 10:00:00.000000 UTC",
               "submission_secret.txt": secrets.token_hex(64)}


def run_nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> tuple[Path, dict[str, subprocess.CompletedProcess[str]]]:
    outside = tmp_path_factory.mktemp("outside") / "secret.txt"
    outside.write_text(SECRET + "\n", encoding="utf-8")
    directory = tmp_path_factory.mktemp("nbgrader-files") / "course"
    result = run_grader("nbgrader-course", directory)
    assert result.returncode == 0, result.stderr
    result = run_nbgrader(directory, "generate_assignment", NB01)
    assert result.returncode == 0, result.stdout + result.stderr
    submitted = directory / "submitted"

    honest = submitted / "honest" / NB01
    honest.mkdir(parents=True)
    notebook = write_submission(honest, NB01, {})
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": HONEST})
    notebook.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    for name, text in BOOKKEEPING.items():
        (honest / name).write_text(text, encoding="utf-8")

    attacker = submitted / "attacker" / NB01
    attacker.mkdir(parents=True)
    write_submission(attacker, NB01, {"conv2d": FLIPPED})
    for name, text in ATTACKER_FILES.items():
        (attacker / name).parent.mkdir(exist_ok=True)
        (attacker / name).write_text(text, encoding="utf-8")
    (attacker / "secret").symlink_to(outside)
    (attacker / "solution.txt").symlink_to(Path("../../../source") / NB01 / f"{NB01}.ipynb")
    (attacker / "peer.txt").symlink_to(Path("../../honest") / NB01 / f"{NB01}.ipynb")
    (attacker / "stolen.ipynb").symlink_to(Path("../../honest") / NB01 / f"{NB01}.ipynb")

    (submitted / "linker" / NB01).mkdir(parents=True)
    (submitted / "linker" / NB01 / f"{NB01}.ipynb").symlink_to(
        Path("../../honest") / NB01 / f"{NB01}.ipynb")
    (submitted / "folderlinker").mkdir()
    (submitted / "folderlinker" / NB01).symlink_to(Path("../honest") / NB01)
    stamplinker = submitted / "stamplinker" / NB01
    stamplinker.mkdir(parents=True)
    write_submission(stamplinker, NB01, {})
    (stamplinker / "timestamp.txt").symlink_to(outside)

    runs = {"autograde": run_nbgrader(directory, "autograde", NB01,
                                      f"--GradeInSandbox.seed={SEED}"),
            "generate_feedback": run_nbgrader(directory, "generate_feedback", NB01),
            "export": run_nbgrader(directory, "export", "--to", "grades.csv")}
    return directory, runs


def files(folder: Path) -> set[str]:
    """Every entry below ``folder`` that is not a folder, as relative paths; links too."""
    found = set()
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            found.add(os.path.relpath(os.path.join(dirpath, name), folder))
    return found


def instructor_files(course: Path) -> set[str]:
    return {f for f in files(course / "source" / NB01) if not f.endswith(".ipynb")}


def test_nbgrader_runs_without_errors(course):
    _, runs = course
    for name, result in runs.items():
        assert result.returncode == 0, (name, result.stdout + result.stderr)
    log = runs["autograde"].stdout + runs["autograde"].stderr
    for student in LINKED:  # each refusal is said, with the submission's path
        assert f"submitted/{student}/{NB01}" in log, log


def test_only_the_notebook_the_instructors_files_and_bookkeeping_are_kept(course):
    directory, _ = course
    assets = instructor_files(directory)
    assert assets, "the course's notebook 01 shows images from assets/"
    for student, extra in (("honest", set(BOOKKEEPING)), ("attacker", set())):
        assert files(directory / "autograded" / student / NB01) == {f"{NB01}.ipynb",
                                                                    *assets, *extra}
        assert files(directory / "feedback" / student / NB01) == {f"{NB01}.html",
                                                                  *assets, *extra}
    for name, text in BOOKKEEPING.items():  # nbgrader's release_feedback reads them here
        for step in ("autograded", "feedback"):
            assert (directory / step / "honest" / NB01 / name).read_text() == text


def test_no_link_and_no_byte_of_the_attackers_files_reaches_autograded_or_feedback(course):
    directory, _ = course
    for step in ("autograded", "feedback"):
        for dirpath, dirnames, filenames in os.walk(directory / step):
            for name in dirnames + filenames:
                path = Path(dirpath) / name
                assert not path.is_symlink(), path
                if path.is_file():
                    data = path.read_bytes()
                    for marker in (SECRET, HTML_MARK, SVG_MARK):
                        assert marker.encode() not in data, (marker, path)
                    if HONEST.encode() in data:  # the honest notebook stays the honest one's
                        assert path.relative_to(directory / step).parts[0] == "honest", path


def test_linked_submissions_are_not_graded(course):
    directory, _ = course
    for student in LINKED:
        for step in ("autograded", "feedback"):
            assert not os.path.lexists(directory / step / student), (step, student)
    with open(directory / "grades.csv", newline="") as file:
        scores = {row["student_id"]: float(row["score"]) for row in csv.DictReader(file)}
    assert all(scores.get(student, 0) == 0 for student in LINKED), scores


def test_points_are_each_students_own(course):
    directory, _ = course
    with open(directory / "grades.csv", newline="") as file:
        scores = {row["student_id"]: float(row["score"]) for row in csv.DictReader(file)}
    assert scores["honest"] == 15
    assert 0 < scores["attacker"] < 15  # their own notebook, not the honest one it links to
