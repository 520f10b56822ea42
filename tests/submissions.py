"""Build submissions for tests: a solution notebook with some exercise cells rewritten."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def write_submission(folder: Path, notebook: str, replace: dict[str, str],
                     student_version: bool = False, delete: tuple[str, ...] = (),
                     strip_metadata: bool = False, name: str | None = None) -> Path:
    """Copy ``notebook`` into ``folder``, replacing exercise cells' sources by ``replace``.

    ``student_version`` starts from ``notebooks/`` instead of ``solutions/``; ``delete``
    removes exercise cells; ``strip_metadata`` drops nbgrader metadata, as some editors do.
    """
    source = ROOT / ("notebooks" if student_version else "solutions") / f"{notebook}.ipynb"
    nb = nbformat.read(source, as_version=4)
    kept = []
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in delete:
            continue
        if grade_id in replace:
            cell.source = replace[grade_id]
        if strip_metadata:
            cell.metadata.pop("nbgrader", None)
        kept.append(cell)
    nb.cells = kept
    path = folder / f"{name or notebook}.ipynb"
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return path


def add_cells(path: Path, sources: list[str]) -> None:
    """Append code cells with ``sources`` to the notebook at ``path``."""
    notebook = nbformat.read(path, as_version=4)
    notebook.cells += [nbformat.v4.new_code_cell(s) for s in sources]
    path.write_text(json.dumps(notebook), encoding="utf-8")


def solution_functions(notebook: str) -> dict:
    """The namespace the grader builds from ``solutions/<notebook>.ipynb``, run in this process.

    Exactly the code grading runs (exercise cells, plus other cells' imports and defs), so
    tests of the solutions exercise what students are compared against.
    """
    from grader._worker import Worker
    from grader.load import read_trusted_notebook

    program = read_trusted_notebook(ROOT / "solutions" / f"{notebook}.ipynb")
    assert not program.error and not program.problems, (program.error, program.problems)
    worker = Worker()
    for cell in program.cells:
        answer = worker.exec_cell(notebook, cell.label, cell.source)
        assert answer["ok"], (cell.label, answer)
    return worker.namespaces[notebook]
