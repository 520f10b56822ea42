"""Finding who submitted what: notebooks, student folders, class folders, nbgrader, zips."""

from __future__ import annotations

import os
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


def students(paths, tmp_path, **options):
    found = find_submissions(paths, tmp_path / "ws", **options).submissions
    return {s.student: [p.name for p in s.notebooks] for s in found}


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
    assert found == {"evil": [f"{NB01}.ipynb"]}


def test_duplicate_names_get_distinct_tagged_ids(tmp_path):
    touch(tmp_path / "a" / "alice" / f"{NB01}.ipynb")
    touch(tmp_path / "b" / "alice" / f"{NB01}.ipynb")
    found = find_submissions([tmp_path / "a", tmp_path / "b"], tmp_path / "ws")
    ids = [s.student for s in found.submissions]
    assert len(set(ids)) == 2 and all(i.startswith("alice~") for i in ids)
    assert sum("could be confused" in note for note in found.notes) == 2


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
    assert [(s.student, sorted(p.name for p in s.notebooks)) for s in found.submissions] == [
        ("submission", [f"{NB01}.ipynb", "scratch.ipynb"])]


def test_a_loose_notebook_beside_student_folders_is_its_own_student(tmp_path):
    """Every row used to be lost: the whole class became one student."""
    touch(tmp_path / "class" / "alice" / f"{NB01}.ipynb")
    touch(tmp_path / "class" / "bob" / f"{NB01}.ipynb")
    touch(tmp_path / "class" / "carol.ipynb")
    assert students([tmp_path / "class"], tmp_path) == {
        "alice": [f"{NB01}.ipynb"], "bob": [f"{NB01}.ipynb"], "carol": ["carol.ipynb"]}


def test_identity_never_comes_from_inside_a_students_zip(tmp_path):
    """mallory.zip holding zoe/ is mallory's: the real zoe keeps her name."""
    touch(tmp_path / "class" / "zoe" / f"{NB01}.ipynb")
    with zipfile.ZipFile(tmp_path / "class" / "mallory.zip", "w") as bundle:
        bundle.writestr(f"zoe/{NB01}.ipynb", "{}")
    assert students([tmp_path / "class"], tmp_path) == {
        "mallory": [f"{NB01}.ipynb"], "zoe": [f"{NB01}.ipynb"]}


def test_links_in_submissions_are_not_followed(tmp_path, root):
    (tmp_path / "class" / "mallory").mkdir(parents=True)
    (tmp_path / "class" / "mallory" / f"{NB01}.ipynb").symlink_to(
        root / "solutions" / f"{NB01}.ipynb")
    (tmp_path / "class" / "mallory" / "exercises").symlink_to(root / "grader" / "exercises")
    (tmp_path / "class" / "eve").symlink_to(root / "solutions")
    touch(tmp_path / "class" / "alice" / f"{NB01}.ipynb")
    found = find_submissions([tmp_path / "class"], tmp_path / "ws")
    by_name = {s.student: s for s in found.submissions}
    assert set(by_name) == {"alice", "mallory"}
    assert by_name["mallory"].notebooks == ()
    assert any("symbolic link" in why for why in by_name["mallory"].skipped)
    assert any("eve is a symbolic link" in note for note in found.notes)


def test_student_ids_are_safe_and_never_the_graders_files(tmp_path):
    for name in ("gradebook.csv", "grading-run.json", "\x1b[31mred", ".hidden-not", "Alice", "alice",
                 "bob", "-bob", " carol", "Jose\u0301", "Jos\u00e9", "\u0958" * 85):
        touch(tmp_path / "class" / name / f"{NB01}.ipynb")
    found = find_submissions([tmp_path / "class"], tmp_path / "ws")
    ids = {s.student for s in found.submissions}
    assert len(ids) == 11 and not ids & {"gradebook.csv", "grading-run.json"}  # .hidden-not: hidden
    assert not any("\x1b" in i or i.startswith((".", " ")) or len(i.encode()) > 200 for i in ids)
    # Names that had to change, or that a file system could confuse, all carry a tag: no one
    # takes another's plain id, whatever order they come in.
    plain = {i for i in ids if "~" not in i}
    assert plain == {"bob", "-bob"}
    assert len(found.notes) == 9
    # the same class, graded again, gives the same ids
    again = {s.student for s in find_submissions([tmp_path / "class"], tmp_path / "ws2").submissions}
    assert again == ids


def test_a_loose_notebook_class_without_folders_is_a_class(tmp_path):
    """Zips beside one loose notebook, or loose notebooks named after students: a class."""
    with zipfile.ZipFile(tmp_path / "zips" / "alice.zip" if (tmp_path / "zips").mkdir() is None
                         else None, "w") as bundle:
        bundle.writestr(f"{NB01}.ipynb", "{}")
    touch(tmp_path / "zips" / "mallory.ipynb")
    assert set(students([tmp_path / "zips"], tmp_path)) == {"alice", "mallory"}
    touch(tmp_path / "loose" / "alice.ipynb")
    touch(tmp_path / "loose" / "bob.ipynb")
    assert set(students([tmp_path / "loose"], tmp_path)) == {"alice", "bob"}


def test_broken_zips_and_link_loops_cost_only_their_student(tmp_path):
    touch(tmp_path / "class" / "alice" / f"{NB01}.ipynb")
    broken = tmp_path / "class" / "bob.zip"
    with zipfile.ZipFile(broken, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(f"{NB01}.ipynb", "x" * 10_000)
    data = bytearray(broken.read_bytes())
    data[60:80] = b"\xff" * 20  # corrupt the deflate stream
    broken.write_bytes(bytes(data))
    (tmp_path / "class" / "loop").symlink_to(tmp_path / "class" / "loop")
    found = find_submissions([tmp_path / "class"], tmp_path / "ws")
    assert {s.student for s in found.submissions} == {"alice", "bob"}
    assert any("bob.zip was not graded" in note for note in found.notes)


def test_a_zip_gives_a_bounded_number_of_shallow_notebooks(tmp_path):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for index in range(200):
            bundle.writestr(f"{index}/{NB01}.ipynb", "{}")
        bundle.writestr("/".join(["d"] * 30) + "/deep.ipynb", "{}")
    found = find_submissions([archive], tmp_path / "ws")
    assert sum(len(s.notebooks) for s in found.submissions) == 50
    folders = sum(len(dirs) for _, dirs, _ in os.walk(tmp_path / "ws"))
    assert folders <= 60


def test_canvas_downloads_are_grouped_by_student(tmp_path):
    folder = tmp_path / "canvas"
    touch(folder / f"lovelaceada_12345_67890_{NB01}.ipynb")
    touch(folder / "lovelaceada_12345_67891_02_stride.ipynb")
    touch(folder / f"hopper_LATE_23456_78901_{NB01}-1.ipynb")
    touch(folder / f"lovelaceada_0_0_{NB01}.ipynb")  # a name made to join her files: it cannot
    found = students([folder], tmp_path)
    assert found["hopper"] == [f"hopper_LATE_23456_78901_{NB01}-1.ipynb"]
    lovelace = sorted(v for k, v in found.items() if k.startswith("lovelaceada~"))
    assert lovelace == [[f"lovelaceada_0_0_{NB01}.ipynb"],
                        [f"lovelaceada_12345_67890_{NB01}.ipynb",
                         "lovelaceada_12345_67891_02_stride.ipynb"]]


def test_a_students_zip_in_the_class_folder_is_graded(tmp_path):
    touch(tmp_path / "class" / "alice" / f"{NB01}.ipynb")
    with zipfile.ZipFile(tmp_path / "class" / "bob.zip", "w") as bundle:
        bundle.writestr(f"work/{NB01}.ipynb", "{}")
        bundle.writestr("work/huge.bin", "x")
    assert students([tmp_path / "class"], tmp_path) == {
        "alice": [f"{NB01}.ipynb"], "bob": [f"{NB01}.ipynb"]}


def test_the_output_folder_inside_the_class_is_not_a_student(tmp_path):
    touch(tmp_path / "class" / "alice" / f"{NB01}.ipynb")
    touch(tmp_path / "class" / "grades" / "bob" / "feedback.ipynb")
    found = students([tmp_path / "class"], tmp_path, exclude=[tmp_path / "class" / "grades"])
    assert found == {"alice": [f"{NB01}.ipynb"]}


def test_other_files_at_the_class_level_are_reported(tmp_path):
    touch(tmp_path / "class" / "alice" / f"{NB01}.ipynb")
    (tmp_path / "class" / "notes.txt").write_text("hi")
    notes = find_submissions([tmp_path / "class"], tmp_path / "ws").notes
    assert notes == ["notes.txt is not a folder, a .zip or a notebook; it was not graded"]


def test_a_canvas_bulk_download_zip_is_a_class(tmp_path):
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for name in ("doejohn_111_222_02_stride.ipynb", "roeann_333_444_02_stride.ipynb",
                     "leebo_late_555_666_02_stride-1.ipynb"):
            bundle.writestr(name, "{}")
    assert set(students([archive], tmp_path)) == {"doejohn", "roeann", "leebo"}


def test_zips_inside_a_class_zip_are_students_and_other_files_are_reported(tmp_path):
    inner = tmp_path / "dave.zip"
    with zipfile.ZipFile(inner, "w") as bundle:
        bundle.writestr(f"{NB01}.ipynb", "{}")
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr(f"alice/{NB01}.ipynb", "{}")
        bundle.write(inner, "dave.zip")
        bundle.writestr("notes.txt", "hello")
    found = find_submissions([archive], tmp_path / "ws")
    assert {s.student for s in found.submissions} == {"alice", "dave"}
    assert any("1 other file(s) were not graded" in note and "notes.txt" in note
               for note in found.notes)


def test_a_students_own_zip_given_alone_is_that_student(tmp_path):
    archive = tmp_path / "mallory.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("homework.ipynb", "{}")
        bundle.writestr("scratch.ipynb", "{}")
    assert set(students([archive], tmp_path)) == {"mallory"}
