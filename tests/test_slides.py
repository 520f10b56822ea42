"""The notebooks as live slides (RISE): a coherent talk per notebook, presentable offline.

The first tests read the committed slide metadata (see tools/slides.py); the browser test
presents every solution notebook the way docs/teaching.md tells an instructor to: Run All in
JupyterLab, then RISE's "Render as Reveal Slideshow" (Alt-R), which opens the slides beside
the live notebook and keeps the two in step. It steps through every slide and fragment with
the keyboard, then, on a widget's slide, moves the widget's slider with the keyboard in the
live notebook and sees the figure change. Screenshots: test-artifacts/browser/<name>.slides.png.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import nbformat
import pytest

from tests.browser import (ARTIFACTS, FIGURES, SLIDERS, WIDGET_LOADING, WIDGET_SECONDS,
                           LabServer, Notebook, NotebookRun, NotebookRuns, course_server,
                           figure_state, press_slider, wait_for)
from tools import slides as talk

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NAMES = [path.stem for path in SOLUTIONS]
SLIDES_MIN, SLIDES_MAX = 15, 30
RISE_SECONDS = 90.0
"""From pressing the slideshow button to reveal.js showing the first slide."""


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


# --- Presenting in the browser ------------------------------------------------------------

REVEAL_STATE_JS = """() => {
  const leaves = [...document.querySelectorAll('.reveal .slides section')]
    .filter(s => !s.querySelector('section'));
  const present = leaves.findIndex(s => s.classList.contains('present'));
  const fragments = present < 0 ? [] : [...leaves[present].querySelectorAll('.fragment')];
  return {count: leaves.length, present,
          shown: fragments.filter(f => f.classList.contains('visible')).length,
          fragments: fragments.length, hash: location.hash};
}"""


@pytest.fixture(scope="module")
def slides_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """JupyterLab (with RISE) serving a temporary copy of the course, for this module only."""
    with course_server(tmp_path_factory.mktemp("slides-lab"),
                       ARTIFACTS / "jupyterlab-slides.log") as server:
        yield server


@pytest.fixture(scope="module")
def presenting(browser: object, slides_lab: LabServer) -> Iterator[NotebookRuns]:
    """Every solution notebook run with Run All, two at a time, ahead of the test."""
    runs = NotebookRuns(slides_lab, browser, [Notebook("solutions", name) for name in NAMES])
    yield runs
    runs.close()


def open_slideshow(run: NotebookRun) -> object:
    """Select the first cell, press RISE's toolbar button; the reveal.js frame beside it."""
    page = run.page
    run.panel.locator(".jp-Cell").first.click()
    page.keyboard.press("Escape")
    run.panel.locator('[data-command="RISE:preview"]').first.click()
    iframe = page.locator('iframe[src*="/rise/"]')
    wait_for(lambda: iframe.count() > 0, RISE_SECONDS,
             lambda: f"{run.notebook.path}: no RISE slideshow frame opened")
    frame = iframe.first.element_handle().content_frame()
    wait_for(lambda: frame.evaluate(REVEAL_STATE_JS)["present"] >= 0, RISE_SECONDS,
             lambda: f"{run.notebook.path}: reveal.js never showed a slide")
    return frame


def step_through(run: NotebookRun, frame: object, expected: list[talk.Slide],
                 on_slide: dict[int, Callable[[], object]]) -> dict[int, int]:
    """Press Space (reveal.js's "next") until the last fragment of the last slide shows;
    once slide ``k`` of ``on_slide`` (counted from 0) shows all its fragments, call its function.
    Returns, for every slide shown, how many of its fragments were shown."""
    state = frame.evaluate(REVEAL_STATE_JS)
    assert state["count"] == len(expected), \
        f"{run.notebook.path}: reveal.js shows {state['count']} slides, the metadata gives " \
        f"{len(expected)}"
    assert state["present"] == 0, f"{run.notebook.path}: the talk starts at {state}"
    frame.locator(".reveal").first.focus()
    shown = {0: 0}
    for _ in range(len(expected) + sum(slide.fragments for slide in expected)):
        if state["present"] == len(expected) - 1 and state["shown"] == state["fragments"]:
            break
        before = state
        frame.page.keyboard.press("Space")
        state = wait_for(lambda: (now := frame.evaluate(REVEAL_STATE_JS)) != before and now,
                         10, lambda: f"{run.notebook.path}: Space did not move on from slide "
                                     f"{before['present'] + 1} ({before})")
        shown[state["present"]] = max(shown.get(state["present"], 0), state["shown"])
        if state["present"] in on_slide and state["shown"] == state["fragments"]:
            on_slide.pop(state["present"])()  # once the whole slide shows (its widget may be a fragment)
            frame.locator(".reveal").first.focus()  # back to the slides, as a presenter would
    return shown


def widget_slide(run: NotebookRun, expected: list[talk.Slide]) -> tuple[int, object] | None:
    """The first interactive figure of the notebook, and the slide (from 0) that shows it."""
    if not run.panel.locator(FIGURES).count():
        return None
    figure = run.panel.locator(FIGURES).first
    index = run.cell_of(figure).index
    return next(number for number, s in enumerate(expected) if index in s.cells), figure


def drive_widget(run: NotebookRun, figure: object, runs: NotebookRuns, moved: list[str]) -> None:
    """In the live notebook beside the slides: move the figure's slider with the keyboard."""
    figure.scroll_into_view_if_needed()
    handle = figure.locator(SLIDERS).first.locator(".noUi-handle").first
    before = figure_state(figure)
    key = press_slider(handle)
    wait_for(lambda: figure_state(figure) != before, WIDGET_SECONDS,
             lambda: f"{run.notebook.path}: the figure did not change after {key}",
             between=runs.pump)
    moved.append(f"{run.cell_of(figure).label}: {key}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    run.page.screenshot(path=str(ARTIFACTS / f"{run.notebook.name}.slides.png"))


@pytest.mark.browser
@pytest.mark.parametrize("name", NAMES)
def test_presents_as_slides_and_its_widget_moves(name: str, presenting: NotebookRuns,
                                                 slides_lab: LabServer) -> None:
    notebook = Notebook("solutions", name)
    run = presenting.get(notebook)
    started = time.monotonic()
    try:
        expected = talk.slides(read(slides_lab.root_dir / notebook.path))
        wait_for(lambda: not run.widget_texts(WIDGET_LOADING), WIDGET_SECONDS,
                 lambda: f"{notebook.path}: widgets still loading", between=presenting.pump)
        sidebar = run.page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
        if sidebar.count():
            sidebar.first.click()  # fold the file browser away: notebook and slides get the width
        frame = open_slideshow(run)
        widget, moved = widget_slide(run, expected), []
        on_slide = {} if widget is None else \
            {widget[0]: lambda: drive_widget(run, widget[1], presenting, moved)}
        shown = step_through(run, frame, expected, on_slide)
        missed = [n + 1 for n, slide in enumerate(expected)
                  if shown.get(n, -1) != slide.fragments]
        assert not missed, f"{notebook.path}: slides not shown, or not all their fragments: " \
                           f"{missed} (fragments shown per slide: {shown})"
        assert widget is None or moved, f"{notebook.path}: the widget's slide was never reached"
        if widget is None:  # the screenshot shows the widget's slide, or else the summary
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            run.page.screenshot(path=str(ARTIFACTS / f"{name}.slides.png"))
        outside = run.outside_requests
        assert not outside, f"{notebook.path}: requests beyond the server: {outside}"
    except Exception:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        run.page.screenshot(path=str(ARTIFACTS / f"{name}.slides.failed.png"))
        raise
    finally:
        presenting.release(notebook)
    print(f"{name}: {len(expected)} slides presented in {time.monotonic() - started:.1f} s")
