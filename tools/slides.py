"""Slide metadata for presenting the notebooks live with RISE (reveal.js in JupyterLab).

    .venv/bin/python -m tools.slides            # fill in cells that have no slide type; report
    .venv/bin/python -m tools.slides --report   # change nothing; list every notebook's slides
    .venv/bin/python -m tools.slides --redo     # recompute every cell's slide type by the rules

The metadata lives in ``solutions/`` (``cell.metadata.slideshow.slide_type``), is reviewed and
committed like any other text, and reaches ``notebooks/`` through ``course.py build``. This
script only *proposes* it: it fills in the cells that have none, by the rules below, and
never changes a cell someone has already given a slide type (unless ``--redo``). Edit a cell's
type by hand in JupyterLab (the property inspector, or RISE's Shift-I / Shift-B / Shift-G
shortcuts) or in the file; ``tests/test_slides.py`` keeps the result a coherent talk.

It first splits markdown cells where a talk needs a boundary — before a ``##``/``###``
heading, a *Predict* question and its answer — so that a question can be its own slide with
the answer on the next fragment. Splitting only ever cuts between paragraphs, so the
notebook reads exactly as before.

The rules, in order (first match wins):

- the title cell, "Learning objectives", every numbered ``## N.`` section, "Summary":
  ``slide``;
- a ``### Exercise`` statement: ``slide`` — the "your turn" slide; the exercise's solution
  cell goes to the speaker notes (the instructor sees the model answer, the room does not),
  its check cell follows as a ``fragment``;
- a *Predict* question: ``slide``; its answer (a ``<details>`` block or an ``(Answer…``
  paragraph): ``fragment``;
- other ``###`` headings: ``subslide``;
- reading matter — "How the exercises work", "Names used here", conventions, further reading,
  and markdown without a heading longer than ``NOTES_CHARS`` — ``notes``;
- the import cell and "Your progress" with its cell: ``skip``;
- the cell right after a *Predict* question (the one that shows the answer): ``fragment``;
- a code cell drawing a figure or a widget: ``subslide``, unless it follows its heading;
- everything else: ``-`` (stays on the slide above it).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"

SLIDE_TYPES = ("slide", "subslide", "fragment", "skip", "notes", "-")
NOTES_CHARS = 600
"""Markdown without a heading longer than this is for reading: it goes to the speaker notes."""

RISE_SETTINGS = {"theme": "white", "scroll": True, "transition": "none",
                 "slideNumber": "c/t", "start_slideshow_at": "selected"}
"""Notebook-level RISE settings. "white" is the reveal.js theme whose fonts ship with RISE
(the "simple" default asks Google Fonts for its typefaces); ``scroll`` lets a tall figure's
slide scroll instead of being cut off."""

READING_HEADINGS = ("## How the exercises work", "## Names used here",
                    "## Conventions used in every notebook", "## Further reading",
                    "## Recall:")
SKIP_HEADINGS = ("## Your progress",)
SLIDE_HEADINGS = ("# ", "## Learning objectives", "## Summary")
PREDICT = re.compile(r"^(\*Predict\b|Before you move anything, \*predict\*|\*Predict first)",
                     re.IGNORECASE)
ANSWER = re.compile(r"^(<details>\s*<summary>\s*Answer|\(Answers?\b)")
EXERCISE = re.compile(r"^### Exercise \d+ — `(\w+)`")
SECTION = re.compile(r"^## \d+\. ")


# --- Splitting ------------------------------------------------------------------------------

def _blocks(text: str) -> list[str]:
    """Paragraphs (blank-line separated), keeping fenced code and ``<details>`` in one piece."""
    blocks, current, fenced = [], [], False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            fenced = not fenced
        if line.startswith("<details>") and current and not fenced:
            blocks.append("\n".join(current))  # an answer under its question: its own block
            current = []
        if not line.strip() and not fenced:
            if current:
                blocks.append("\n".join(current))
                current = []
            continue
        current.append(line)
    if current:
        blocks.append("\n".join(current))
    return blocks


INLINE_ANSWER = re.compile(r"^(\*Predict.*?\?)\s+(\(.+\)\.?)\s*$", re.DOTALL | re.IGNORECASE)
"""A *Predict* paragraph whose answer follows in brackets: ``*Predict:* …? (Answer.)``."""


def _split_inline_answer(block: str) -> list[str]:
    match = INLINE_ANSWER.match(block)
    return [match.group(1), match.group(2)] if match else [block]


def _starts_a_piece(block: str) -> bool:
    return (block.startswith("## ") or block.startswith("### ")
            or PREDICT.match(block) is not None or ANSWER.match(block) is not None
            or block.startswith("("))


def split_markdown(cell: NotebookNode) -> list[NotebookNode]:
    """``cell`` cut before each heading, *Predict* question and answer (one piece if none)."""
    blocks = [part for block in _blocks(cell.source) for part in _split_inline_answer(block)]
    pieces: list[list[str]] = []
    for block in blocks:
        if not pieces or _starts_a_piece(block):
            pieces.append([block])
        else:
            pieces[-1].append(block)
    if len(pieces) <= 1:
        return [cell]
    cells = []
    for number, piece in enumerate(pieces):
        new = nbformat.v4.new_markdown_cell("\n\n".join(piece))
        new.metadata = nbformat.from_dict({k: v for k, v in cell.metadata.items()
                                           if k != "slideshow" and (number == 0 or k != "nbgrader")})
        if number == 0 and "id" in cell:
            new["id"] = cell["id"]
        cells.append(new)
    return cells


# --- Rules ----------------------------------------------------------------------------------

def _first_line(cell: NotebookNode) -> str:
    lines = cell.source.strip().splitlines()
    return lines[0] if lines else ""


def grade_id(cell: NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def rule(cells: list[NotebookNode], index: int) -> str:
    """The slide type the rules give ``cells[index]``."""
    cell, first = cells[index], _first_line(cells[index])
    previous = cells[index - 1] if index else None
    after_predict = previous is not None and previous.cell_type == "markdown" \
        and PREDICT.match(_first_line(previous)) is not None
    if cell.cell_type == "markdown":
        if index == 0 or first.startswith(SLIDE_HEADINGS) or SECTION.match(first):
            return "slide"
        if EXERCISE.match(first):
            return "slide"
        if first.startswith(SKIP_HEADINGS):
            return "skip"
        if first.startswith(READING_HEADINGS):
            return "notes"
        if PREDICT.match(first):
            return "slide"
        if ANSWER.match(first) or (after_predict and first.startswith("(")):
            return "fragment"
        if first.startswith("### "):
            return "subslide"
        if len(cell.source) > NOTES_CHARS:
            return "notes"
        return "-"
    source = cell.source.strip()
    nbgrader = cell.metadata.get("nbgrader", {})
    if nbgrader.get("solution"):
        return "notes"  # the model answer: in the speaker notes, never on the "your turn" slide
    if nbgrader.get("grade"):
        return "fragment"  # the check cell: what passing looks like, after the statement
    if previous is not None and _first_line(previous).startswith(SKIP_HEADINGS):
        return "skip"
    if _is_import_cell(source):
        return "skip"
    if after_predict:
        return "fragment"  # the cell that answers the question
    if FIGURE.search(source.splitlines()[-1] if source else "") and not _follows_slide_start(
            cells, index):
        return "subslide"  # a key figure or widget gets the screen to itself
    return "-"


FIGURE = re.compile(r"(figure|Explorer|Lab|Slider|_demo|gallery|show_window)\w*\(")
"""The last line of a code cell that draws a figure or a widget."""


def _is_import_cell(source: str) -> bool:
    lines = [line for line in source.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    return bool(lines) and any(line.startswith(("import ", "from ")) for line in lines) \
        and all(line.startswith(("import ", "from ", " ", ")", "os.environ")) for line in lines)


def _follows_slide_start(cells: list[NotebookNode], index: int) -> bool:
    """True when the cell right above begins a slide: the figure belongs on that slide."""
    previous = cells[index - 1] if index else None
    return previous is not None and rule(cells, index - 1) in ("slide", "subslide")


def slide_type(cell: NotebookNode) -> str | None:
    return cell.metadata.get("slideshow", {}).get("slide_type")


# --- What a notebook presents as ------------------------------------------------------------

@dataclass(frozen=True)
class Slide:
    """One slide (or subslide) of a notebook's talk: where it starts and what it holds."""

    start: int
    """Index of the cell that begins it."""
    kind: str
    """``slide`` or ``subslide``."""
    title: str
    """The first line of its first cell."""
    cells: tuple[int, ...]
    """Indices of every cell shown on it (notes and skipped cells excluded)."""
    fragments: int
    """How many fragments appear one after another on it."""


def slides(notebook: NotebookNode) -> list[Slide]:
    """The talk a notebook presents as, from its cells' slide types (RISE's reading)."""
    found: list[dict] = []
    for index, cell in enumerate(notebook.cells):
        kind = slide_type(cell) or "-"
        if kind in ("skip", "notes"):
            continue
        if kind in ("slide", "subslide") or not found:
            found.append({"start": index, "kind": "slide" if not found else kind,
                          "title": _first_line(cell), "cells": [], "fragments": 0})
        found[-1]["cells"].append(index)
        found[-1]["fragments"] += kind == "fragment"
    return [Slide(s["start"], s["kind"], s["title"], tuple(s["cells"]), s["fragments"])
            for s in found]


def exercises(notebook: NotebookNode) -> list[str]:
    """The graded functions of a notebook, in order."""
    return [gid for cell in notebook.cells if (gid := grade_id(cell))
            and cell.metadata["nbgrader"].get("solution")]


def your_turn_slide(notebook: NotebookNode, exercise: str) -> Slide | None:
    """The slide that starts at the exercise's ``### Exercise`` statement, with its cells."""
    for slide in slides(notebook):
        match = EXERCISE.match(slide.title)
        if match and match.group(1) == exercise:
            return slide
    return None


# --- Applying -------------------------------------------------------------------------------

def apply(notebook: NotebookNode, redo: bool = False) -> int:
    """Split, then give every cell without a slide type (every cell with ``redo``) one."""
    cells: list[NotebookNode] = []
    for cell in notebook.cells:
        cells.extend(split_markdown(cell) if cell.cell_type == "markdown" else [cell])
    changed = len(cells) - len(notebook.cells)
    for index, cell in enumerate(cells):
        if redo or slide_type(cell) not in SLIDE_TYPES:
            kind = rule(cells, index)
            if slide_type(cell) != kind:
                cell.metadata["slideshow"] = {"slide_type": kind}
                changed += 1
    notebook.cells = cells
    if notebook.metadata.get("rise") != RISE_SETTINGS:
        notebook.metadata["rise"] = dict(RISE_SETTINGS)
        changed += 1
    return changed


def report(path: Path, notebook: NotebookNode) -> str:
    talk = slides(notebook)
    lines = [f"{path.name}: {len(talk)} slides"]
    for number, slide in enumerate(talk, start=1):
        extra = f" (+{slide.fragments} fragment)" if slide.fragments else ""
        lines.append(f"  {number:2d}. {slide.kind:8s} {slide.title[:70]}{extra}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.slides",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", action="store_true", help="change nothing; list the slides")
    parser.add_argument("--redo", action="store_true",
                        help="recompute every cell's slide type by the rules (loses hand edits)")
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="solution notebooks (default: all of solutions/)")
    args = parser.parse_args(argv)
    for path in args.notebooks or sorted(SOLUTIONS.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        if not args.report and apply(notebook, redo=args.redo):
            nbformat.write(notebook, path)
            print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        print(report(path, notebook))
    return 0


if __name__ == "__main__":
    sys.exit(main())
