"""Build solution-notebook cells with the right nbgrader metadata, for authors and tests.

An exercise is a solution cell whose ``grade_id`` is the function's name, followed by a
locked check cell ``check_<name>`` worth the exercise's points. Everything else is an
ordinary cell. Used when writing a notebook from a script, and by the tests to build
submissions.

>>> cell = exercise_cell("conv1d", "def conv1d(x, w):\\n    ### BEGIN SOLUTION\\n    ...")
>>> cell.metadata.nbgrader["grade_id"], cell.metadata.nbgrader["solution"]
('conv1d', True)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import nbformat
from nbformat import NotebookNode

__all__ = ["check_cell", "code", "exercise_cell", "markdown", "new_notebook", "write_notebook"]

SCHEMA = 3


def markdown(text: str) -> NotebookNode:
    return nbformat.v4.new_markdown_cell(text.strip("\n"))


def code(source: str) -> NotebookNode:
    return nbformat.v4.new_code_cell(source.strip("\n"))


def exercise_cell(name: str, source: str) -> NotebookNode:
    """The solution cell of exercise ``name`` (``### BEGIN/END SOLUTION`` inside ``source``)."""
    cell = code(source)
    cell.metadata["nbgrader"] = {"grade": False, "grade_id": name, "locked": False,
                                 "schema_version": SCHEMA, "solution": True, "task": False}
    return cell


def check_cell(name: str, points: float) -> NotebookNode:
    """The locked check cell under exercise ``name``: public tests in the notebook."""
    cell = code(f'check("{name}", {name})')
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": f"check_{name}", "locked": True,
                                 "points": points, "schema_version": SCHEMA, "solution": False,
                                 "task": False}
    return cell


def new_notebook(cells: Sequence[NotebookNode]) -> NotebookNode:
    notebook = nbformat.v4.new_notebook(cells=list(cells))
    notebook.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)",
                                       "language": "python", "name": "python3"}
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


def write_notebook(notebook: NotebookNode, path: Path) -> None:
    """Write with stable cell ids, no outputs and no execution counts."""
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"{path.stem[:2]}-{index:03d}"
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.validate(notebook)
    path.write_text(nbformat.writes(notebook) + "\n", encoding="utf-8")
