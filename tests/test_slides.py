"""The notebooks as live slides (RISE): a coherent talk per notebook, presentable offline.

These tests read the committed slide metadata (see tools/slides.py). The browser test that
presents every solution notebook the way docs/teaching.md tells an instructor to — Run All,
then RISE's slideshow beside the live notebook, every slide and fragment stepped through
with the keyboard, a widget's slider moved on its slide — is
``TestSolutionNotebook.test_presents_as_slides_and_its_widget_moves`` in test_browser.py, on
the same Run All as the notebook's other browser tests (see tests/slideshow.py).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tools import slides as talk

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NAMES = [path.stem for path in SOLUTIONS]
SLIDES_MIN, SLIDES_MAX = 15, 30


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


# --- The committed metadata ---------------------------------------------------------------

@pytest.mark.parametrize("path", SOLUTIONS + NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_cell_has_a_reviewed_slide_type(path: Path) -> None:
    """No cell is left to RISE's default: ``python -m tools.slides`` proposes, a person commits."""
    missing = [index for index, cell in enumerate(read(path).cells)
               if talk.slide_type(cell) not in talk.SLIDE_TYPES]
    assert not missing, f"{path.name}: cells without a slide type: {missing} " \
                        "(run .venv/bin/python -m tools.slides, review, then course.py build)"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_each_notebook_is_a_talk_of_15_to_30_slides(path: Path) -> None:
    notebook = read(path)
    found = talk.slides(notebook)
    assert SLIDES_MIN <= len(found) <= SLIDES_MAX, talk.report(path, notebook)
    titles = [slide.title for slide in found]
    assert titles[0].startswith("# ") and titles[1] == "## Learning objectives"
    assert titles[-1] == "## Summary", "the talk ends on the summary"
    shown = {index for slide in found for index in slide.cells}
    progress = [i for i, cell in enumerate(notebook.cells) if "progress()" in cell.source]
    assert not shown & set(progress), "the progress table is for learners, not the room"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_every_exercise_has_a_your_turn_slide_without_its_answer(path: Path) -> None:
    notebook = read(path)
    for exercise in talk.exercises(notebook):
        slide = talk.your_turn_slide(notebook, exercise)
        assert slide is not None and slide.kind == "slide", \
            f"{path.name}: no slide starts at the statement of {exercise}"
        cells = {talk.grade_id(notebook.cells[i]) for i in slide.cells}
        assert f"check_{exercise}" in cells, f"{path.name}: {exercise}'s check cell is not on it"
        assert exercise not in cells, f"{path.name}: {exercise}'s solution is shown on its slide"
        solution = next(c for c in notebook.cells if talk.grade_id(c) == exercise)
        assert talk.slide_type(solution) == "notes", "the model answer is for the speaker notes"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_predict_questions_are_slides_with_the_answer_on_the_next_fragment(path: Path) -> None:
    cells = read(path).cells
    questions = [i for i, cell in enumerate(cells) if cell.cell_type == "markdown"
                 and talk.PREDICT.match(cell.source.strip())]
    assert questions, f"{path.name}: no *Predict* question"
    for index in questions:
        assert talk.slide_type(cells[index]) == "slide", f"{path.name}: cell {index}"
        following = cells[index + 1] if index + 1 < len(cells) else None
        if following is not None and not talk.EXERCISE.match(following.source):
            assert talk.slide_type(following) == "fragment", \
                f"{path.name}: the answer to cell {index} is not the next fragment"


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_student_notebooks_carry_the_same_slides_and_nbgrader_metadata(solution: Path) -> None:
    ours, theirs = read(solution), read(ROOT / "notebooks" / solution.name)
    assert len(ours.cells) == len(theirs.cells)
    for mine, student in zip(ours.cells, theirs.cells):
        assert mine.metadata.get("slideshow") == student.metadata.get("slideshow")
        assert (mine.metadata.get("nbgrader", {}).get("grade_id")
                == student.metadata.get("nbgrader", {}).get("grade_id"))
    assert ours.metadata["rise"] == theirs.metadata["rise"] == talk.RISE_SETTINGS


def test_the_rise_theme_needs_no_web_fonts() -> None:
    """reveal.js's "simple" (RISE's default) and most themes fetch Google Fonts; "white" does not."""
    assert talk.RISE_SETTINGS["theme"] in ("white", "black")
