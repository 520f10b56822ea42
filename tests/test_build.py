"""Generated files are current and clean: student notebooks, public tests, assets."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader.exercises import notebooks as course_notebooks
from tools.build import stale_files

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
STUDENT = sorted((ROOT / "notebooks").glob("*.ipynb"))
COMMITTED = SOLUTIONS + STUDENT


def test_generated_files_are_up_to_date():
    stale = [str(p.relative_to(ROOT)) for p in stale_files()]
    assert not stale, f"run `python3 course.py build`: out of date: {stale}"


def test_build_check_command_agrees():
    result = subprocess.run([sys.executable, "-m", "tools.build", "--check"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_every_exercise_notebook_has_a_solution_and_student_version():
    names = {p.stem for p in SOLUTIONS}
    assert set(course_notebooks()) <= names
    assert names == {p.stem for p in STUDENT}


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_committed_notebooks_have_no_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.parametrize("path", STUDENT, ids=lambda p: p.name)
def test_student_notebooks_contain_no_solution_code(path):
    solution = nbformat.read(ROOT / "solutions" / path.name, as_version=4)
    student = nbformat.read(path, as_version=4)
    text = nbformat.writes(student)
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    for cell in solution.cells:
        match = re.search(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell.source, re.S)
        if match:
            for line in match.group(1).strip().splitlines():
                if len(line.strip()) > 12:
                    assert line.strip() not in text, f"solution line leaked: {line.strip()}"


@pytest.mark.parametrize("name", list(course_notebooks()))
def test_each_exercise_has_its_cell_and_a_check_cell_worth_its_points(name):
    notebook = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
    meta = {c.metadata["nbgrader"]["grade_id"]: (c, c.metadata["nbgrader"])
            for c in notebook.cells if "nbgrader" in c.metadata}
    for exercise in course_notebooks()[name]:
        cell, solution = meta[exercise.name]
        assert solution["solution"] and not solution["grade"]
        assert f"def {exercise.name}(" in cell.source
        check_source, check = meta[f"check_{exercise.name}"]
        assert check["grade"] and check["locked"] and check["points"] == exercise.points
        assert check_source.source == f'check("{exercise.name}", {exercise.name})'


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_images_have_alt_text_and_exist(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        for alt, target in re.findall(r"!\[([^\]]*)\]\(([^)]+)\)", cell.source):
            assert len(alt) > 20, f"{target}: alt text should describe the image"
            assert (path.parent / target).resolve().is_file(), f"missing image {target}"


def test_every_asset_is_used_by_a_notebook():
    text = "".join(p.read_text() for p in SOLUTIONS)
    for asset in (ROOT / "assets").iterdir():
        assert f"../assets/{asset.name}" in text, f"{asset.name} is not used"


def test_assets_script_draws_every_asset(tmp_path, monkeypatch):
    from tools import make_assets

    monkeypatch.setattr(make_assets, "ASSETS_DIR", tmp_path)
    make_assets.main([])
    assert {p.name for p in tmp_path.iterdir()} == {p.name for p in (ROOT / "assets").iterdir()}


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_notebooks_read_like_a_chapter(path):
    """Objectives first; summary and further reading at the end; then the progress cell."""
    cells = nbformat.read(path, as_version=4).cells
    headings = [line for c in cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("#")]
    assert headings[0].startswith("# ") and "## Learning objectives" in headings[:4]
    tail = [h for h in headings if h in ("## Summary", "## Further reading", "## Your progress")]
    assert tail == ["## Summary", "## Further reading", "## Your progress"]
    assert headings.index("## Summary") > len(headings) // 2
    assert cells[-1].source.strip().endswith("progress()")


def test_further_reading_cites_the_key_sources():
    text = "".join(p.read_text() for p in SOLUTIONS)
    for source in ("1603.07285", "1904.11486", "1512.03385", "1412.6806", "padding-and-strides"):
        assert source in text, source


def test_build_refuses_to_overwrite_a_learners_saved_work(tmp_path, monkeypatch):
    from tools import build

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    worked = nbformat.read(ROOT / "notebooks" / "01_convolution_dot_product.ipynb", as_version=4)
    code = next(c for c in worked.cells if c.cell_type == "code")
    code.execution_count = 1
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="my work")]
    nbformat.write(worked, notebooks / "01_convolution_dot_product.ipynb")
    monkeypatch.setattr(build, "NOTEBOOKS", notebooks)
    assert build.main([]) == 1
    assert "my work" in (notebooks / "01_convolution_dot_product.ipynb").read_text()
