"""Finding who submitted what: notebooks, student folders, class folders, nbgrader, zips."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from grader.discover import find_submissions
from grader.errors import UsageError

NB01 = "01_convolution_dot_product"


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")
    return path


def students(paths, tmp_path):
    return {s.student: [p.name for p in s.notebooks] for s in find_submissions(paths, tmp_path / "ws")}


def test_single_notebook_is_its_folders_submission(tmp_path):
    notebook = touch(tmp_path / "alice" / f"{NB01}.ipynb")
    assert students([notebook], tmp_path) == {"alice": [f"{NB01}.ipynb"]}


def test_student_folder(tmp_path):
    touch(tmp_path / "bob" / f"{NB01}.ipynb")
    touch(tmp_path / "bob" / ".ipynb_checkpoints" / f"{NB01}-checkpoint.ipynb")
    assert students([tmp_path / "bob"], tmp_path) == {"bob": [f"{NB01}.ipynb"]}


def test_class_folder(tmp_path):
    for name in ("alice", "bob"):
        touch(tmp_path / "class" / name / f"{NB01}.ipynb")
    (tmp_path / "class" / "carol").mkdir()
    assert students([tmp_path / "class"], tmp_path) == {
        "alice": [f"{NB01}.ipynb"], "bob": [f"{NB01}.ipynb"], "carol": []}


def test_nbgrader_submitted_tree(tmp_path):
    for name in ("alice", "bob"):
        touch(tmp_path / "submitted" / name / NB01 / f"{NB01}.ipynb")
    assert students([tmp_path / "submitted"], tmp_path) == {
        "alice": [f"{NB01}.ipynb"], "bob": [f"{NB01}.ipynb"]}
    # One student's nbgrader folder is one student, not a class of assignments.
    assert students([tmp_path / "submitted" / "alice"], tmp_path) == {"alice": [f"{NB01}.ipynb"]}


def test_zip_of_a_class_unwraps_its_top_folder(tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr(f"export/alice/{NB01}.ipynb", "{}")
        bundle.writestr(f"export/bob/{NB01}.ipynb", "{}")
        bundle.writestr("__MACOSX/export/._alice", "junk")
    assert set(students([archive], tmp_path)) == {"alice", "bob"}


def test_zip_cannot_escape_its_folder(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("../../escaped.ipynb", "{}")
        bundle.writestr(f"mallory/{NB01}.ipynb", "{}")
    found = students([archive], tmp_path)
    assert not (tmp_path / "escaped.ipynb").exists() and not (tmp_path.parent / "escaped.ipynb").exists()
    assert "mallory" in found


def test_duplicate_names_get_distinct_ids(tmp_path):
    touch(tmp_path / "a" / "alice" / f"{NB01}.ipynb")
    touch(tmp_path / "b" / "alice" / f"{NB01}.ipynb")
    assert set(students([tmp_path / "a", tmp_path / "b"], tmp_path)) == {"alice", "alice-2"}


@pytest.mark.parametrize("name", ["missing", "notes.txt"])
def test_bad_paths_are_usage_errors(tmp_path, name):
    path = tmp_path / name
    if name.endswith(".txt"):
        path.write_text("hi")
    with pytest.raises(UsageError, match=name):
        find_submissions([path], tmp_path / "ws")


def test_one_named_student_collects_every_notebook(tmp_path):
    touch(tmp_path / "upload" / "week1" / f"{NB01}.ipynb")
    touch(tmp_path / "upload" / "extra" / "scratch.ipynb")
    found = find_submissions([tmp_path / "upload"], tmp_path / "ws", student="submission")
    assert [(s.student, sorted(p.name for p in s.notebooks)) for s in found] == [
        ("submission", [f"{NB01}.ipynb", "scratch.ipynb"])]
