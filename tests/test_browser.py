"""The course where learners use it: JupyterLab in a real browser (headless Chromium).

Every solution notebook runs all its cells without an error, and every interactive figure
renders and redraws when its slider moves under the keyboard; every untouched student
notebook runs all its cells too, each check cell saying "not implemented yet"; and every
solution notebook presents as RISE slides (tests/slideshow.py). Screenshots go to
test-artifacts/browser/: ``<name>.png`` (the solution after Run All), ``<name>.widget-<k>.png``
(figure k after its sliders moved), ``<name>.slides.png`` and ``<name>.student.png``.

One server and one browser serve the session; notebooks run two at a time, ahead of the
tests that inspect them (see tests/browser.py). ``COURSE_CHROMIUM`` names another browser.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import (ARTIFACTS, OVERRIDES, SLIDERS, WIDGET_ERROR,
                           WIDGET_LOADING, WIDGET_SECONDS, LabServer, Notebook, NotebookRun,
                           NotebookRuns, course_server, figure_state, press_slider, wait_for)
from tests.slideshow import present

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted(path.stem for path in (ROOT / "solutions").glob("*.ipynb"))
STUDENT_NOTEBOOKS = sorted(path.stem for path in (ROOT / "notebooks").glob("*.ipynb"))
CHECK_CELL = re.compile(r"check\(\s*[\"'](\w+)[\"']\s*,\s*\1\s*\)")

pytestmark = pytest.mark.browser


# --- Fixtures: one server, one browser, one queue of notebook runs per session ------------

@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """JupyterLab serving a temporary copy of the course, for the whole session."""
    with course_server(tmp_path_factory.mktemp("lab"), ARTIFACTS / "jupyterlab.log") as server:
        yield server


@pytest.fixture(scope="session")
def runs(request: pytest.FixtureRequest, browser: object, lab: LabServer) -> Iterator[NotebookRuns]:
    """Every notebook the selected tests will ask for, in test order, run ahead of them.

    Writes test-artifacts/browser/timings.txt: seconds from Run All to idle per notebook.
    """
    plan = [Notebook(item.cls.folder, item.callspec.params["name"])
            for item in request.session.items
            if getattr(item, "cls", None) is not None and hasattr(item.cls, "folder")
            and "name" in getattr(getattr(item, "callspec", None), "params", {})]
    notebook_runs = NotebookRuns(lab, browser, plan)
    yield notebook_runs
    notebook_runs.close()
    (ARTIFACTS / "timings.txt").write_text(notebook_runs.timing_report())


@pytest.fixture(scope="class")
def run(request: pytest.FixtureRequest, runs: NotebookRuns, name: str) -> Iterator[NotebookRun]:
    """The class's notebook after Run All; its kernel is shut down after the class."""
    notebook = Notebook(request.cls.folder, name)
    yield runs.get(notebook)
    runs.release(notebook)


# --- Helpers ------------------------------------------------------------------------------

def problems(run: NotebookRun, allowed: str | None = None) -> list[str]:
    """Cells with an error or stderr output (other than one mentioning ``allowed``)."""
    found = []
    for cell in run.cells():
        for output in cell.outputs:
            if output.is_stderr and not (allowed and allowed in output.text):
                found.append(f"{cell.label}:\n{output.text.strip()[-800:]}")
    return found


def unfinished(run: NotebookRun) -> list[str]:
    return [cell.label for cell in run.code_cells() if not cell.ran]


def check_cells(run: NotebookRun) -> list:
    return [cell for cell in run.code_cells() if CHECK_CELL.fullmatch(cell.source.strip())]


# --- Solutions ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", SOLUTIONS, scope="class")
class TestSolutionNotebook:
    folder = "solutions"

    def test_runs_all_cells_without_errors(self, run: NotebookRun, name: str) -> None:
        run.screenshot(ARTIFACTS / f"{name}.png")
        found = problems(run)
        assert not found, f"{run.notebook.path}: error or stderr output in\n" + "\n\n".join(found)
        assert not unfinished(run), f"{run.notebook.path}: cells that never ran: {unfinished(run)}"
        broken = run.broken_images()
        assert not broken, f"{run.notebook.path}: images that did not load: {broken}"
        outside = run.outside_requests
        assert not outside, f"{run.notebook.path}: requests beyond the server: {outside}"

    def test_every_figure_renders_and_follows_its_slider(self, run: NotebookRun, name: str,
                                                         runs: NotebookRuns) -> None:
        for old in ARTIFACTS.glob(f"{name}.widget-*.png"):
            old.unlink()
        wait_for(lambda: not run.widget_texts(WIDGET_LOADING), WIDGET_SECONDS,
                 lambda: f"{run.notebook.path}: widgets still loading in "
                         f"{run.widget_texts(WIDGET_LOADING)}", between=runs.pump)
        failed = run.widget_texts(WIDGET_ERROR)
        assert not failed, f"{run.notebook.path}: widgets that did not display in {failed}"
        for number, figure in enumerate(run.figures(), start=1):
            where = f"{run.notebook.path}, figure {number} in {run.cell_of(figure).label}"
            image = figure.locator(":scope > .widget-image")
            image.scroll_into_view_if_needed()
            wait_for(lambda: image.is_visible()
                     and image.evaluate("img => img.complete && img.naturalWidth > 0"),
                     WIDGET_SECONDS, lambda: f"{where}: the figure's image never showed",
                     between=runs.pump)
            sliders = figure.locator(SLIDERS).all()
            assert sliders, f"{where}: no slider to move"
            for slider in sliders:
                label = slider.locator(".widget-label").first.text_content() or "(no label)"
                for handle in slider.locator(".noUi-handle").all():
                    before = figure_state(figure)
                    key = press_slider(handle)
                    wait_for(lambda: figure_state(figure) != before, WIDGET_SECONDS,
                             lambda: f"{where}: neither the figure nor its caption changed "
                                     f"after {key} on slider {label!r} (caption: "
                                     f"{before[-1][:200]!r})",
                             between=runs.pump)
            figure.screenshot(path=str(ARTIFACTS / f"{name}.widget-{number}.png"))


    def test_presents_as_slides_and_its_widget_moves(self, run: NotebookRun,
                                                     runs: NotebookRuns, lab: LabServer) -> None:
        """Last of the class: RISE's slideshow beside the notebook, every slide and fragment
        stepped through, a widget moved on its slide (tests/slideshow.py)."""
        present(run, runs, lab.root_dir)

# --- Untouched student notebooks ----------------------------------------------------------

@pytest.mark.parametrize("name", STUDENT_NOTEBOOKS, scope="class")
class TestStudentNotebook:
    folder = "notebooks"

    def test_runs_all_cells_with_no_error_but_not_implemented(self, run: NotebookRun,
                                                              name: str) -> None:
        run.screenshot(ARTIFACTS / f"{name}.student.png")
        found = problems(run, allowed="NotImplementedError")
        assert not found, f"{run.notebook.path}: error or stderr output in\n" + "\n\n".join(found)
        assert not unfinished(run), f"{run.notebook.path}: cells that never ran: {unfinished(run)}"

    def test_every_check_cell_says_not_implemented_yet(self, run: NotebookRun) -> None:
        cells = check_cells(run)
        assert cells, f"{run.notebook.path}: no check cells (check(\"name\", name)) found"
        for cell in cells:
            assert "is not implemented yet" in cell.output_text, \
                f"{run.notebook.path}, {cell.label} shows: {cell.output_text[:500]!r}"


# --- The server itself --------------------------------------------------------------------

def test_lab_settings_switch_off_news_and_update_checks(lab: LabServer) -> None:
    """overrides.json applies in the test server whatever made the venv."""
    for plugin, values in json.loads(OVERRIDES.read_text()).items():
        assert lab.settings(plugin) == {**lab.settings(plugin), **values}, plugin
    assert "Extension Manager is 'readonly'" in lab.log.read_text()
