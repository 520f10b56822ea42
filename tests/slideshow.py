"""Presenting a notebook with RISE in the browser tests: the slideshow opened as an
instructor opens it (Alt-R's toolbar button, slides beside the live notebook), stepped
through with the keyboard, and a widget driven in the live notebook on its slide.

    present(run, runs, root)   the whole walk-through for one notebook after Run All;
                               returns the number of slides shown

Used by tests/test_browser.py, on the same run its other tests inspect (one Run All per
notebook). Screenshots: test-artifacts/browser/<name>.slides.png.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import nbformat

from tests.browser import (ARTIFACTS, FIGURES, SLIDERS, WIDGET_LOADING, WIDGET_SECONDS,
                           NotebookRun, NotebookRuns, figure_state, press_slider, wait_for)
from tools import slides as talk

RISE_SECONDS = 90.0
"""From pressing the slideshow button to reveal.js showing the first slide."""

REVEAL_STATE_JS = """() => {
  const leaves = [...document.querySelectorAll('.reveal .slides section')]
    .filter(s => !s.querySelector('section'));
  const present = leaves.findIndex(s => s.classList.contains('present'));
  const fragments = present < 0 ? [] : [...leaves[present].querySelectorAll('.fragment')];
  return {count: leaves.length, present,
          shown: fragments.filter(f => f.classList.contains('visible')).length,
          fragments: fragments.length, hash: location.hash};
}"""


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
    wait_for(lambda: _reveal_state(frame)["present"] >= 0, RISE_SECONDS,
             lambda: f"{run.notebook.path}: reveal.js never showed a slide")
    return frame


def _reveal_state(frame: object) -> dict:
    """reveal.js's state, or "no slide yet" while the frame is still navigating (loading the
    slideshow can replace the page the first evaluation started in)."""
    from playwright.sync_api import Error

    try:
        return frame.evaluate(REVEAL_STATE_JS)
    except Error as error:
        if "context was destroyed" not in str(error):
            raise
        return {"present": -1}


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


def present(run: NotebookRun, runs: NotebookRuns, root: Path) -> int:
    """Open the slideshow of ``run``'s notebook (a copy under ``root``), step through every
    slide and fragment, drive its first widget on that widget's slide; the slide count."""
    notebook = run.notebook
    started = time.monotonic()
    try:
        expected = talk.slides(nbformat.read(root / notebook.path, as_version=4))
        wait_for(lambda: not run.widget_texts(WIDGET_LOADING), WIDGET_SECONDS,
                 lambda: f"{notebook.path}: widgets still loading", between=runs.pump)
        sidebar = run.page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
        if sidebar.count():
            sidebar.first.click()  # fold the file browser away: notebook and slides get the width
        frame = open_slideshow(run)
        widget, moved = widget_slide(run, expected), []
        on_slide = {} if widget is None else \
            {widget[0]: lambda: drive_widget(run, widget[1], runs, moved)}
        shown = step_through(run, frame, expected, on_slide)
        missed = [n + 1 for n, slide in enumerate(expected)
                  if shown.get(n, -1) != slide.fragments]
        assert not missed, f"{notebook.path}: slides not shown, or not all their fragments: " \
                           f"{missed} (fragments shown per slide: {shown})"
        assert widget is None or moved, f"{notebook.path}: the widget's slide was never reached"
        if widget is None:  # the screenshot shows the widget's slide, or else the summary
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            run.page.screenshot(path=str(ARTIFACTS / f"{notebook.name}.slides.png"))
    except Exception:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        run.page.screenshot(path=str(ARTIFACTS / f"{notebook.name}.slides.failed.png"))
        raise
    print(f"{notebook.name}: {len(expected)} slides presented in "
          f"{time.monotonic() - started:.1f} s")
    return len(expected)
