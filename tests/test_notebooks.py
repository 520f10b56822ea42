"""Every notebook runs top to bottom in a real kernel: solutions pass all their checks,
untouched student versions run cleanly and say "not implemented yet". (How long they take
is benchmarks/notebooks.py's business, not a test's.)"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NAMES = sorted(p.stem for p in (ROOT / "solutions").glob("*.ipynb"))

pytestmark = pytest.mark.slow


@cache
def execute(path: Path) -> nbformat.NotebookNode:
    """Run ``path`` in a fresh kernel (once per test session) and return it with outputs."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return notebook


def outputs(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            parts.append(output.data.get("text/plain", ""))
        elif output.output_type == "error":
            parts.append(f"{output.ename}: {output.evalue}")
    return "\n".join(parts)


def problems(notebook) -> list[str]:
    """Errors and stderr output: nbgrader scores a cell with either as zero."""
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "error" or (output.output_type == "stream"
                                                 and output.name == "stderr"):
                found.append(f"{cell.source[:50]!r}: {outputs(cell)[:300]}")
    return found


def check_cells(notebook):
    return [c for c in notebook.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")]


@pytest.mark.parametrize("name", NAMES)
def test_solution_notebook_runs_and_passes_its_checks(name):
    notebook = execute(ROOT / "solutions" / f"{name}.ipynb")
    assert not problems(notebook)
    for cell in check_cells(notebook):
        assert "public tests pass. Well done!" in outputs(cell), outputs(cell)


@pytest.mark.parametrize("name", NAMES)
def test_untouched_student_notebook_runs_and_says_not_implemented(name):
    notebook = execute(ROOT / "notebooks" / f"{name}.ipynb")
    assert not problems(notebook)
    cells = check_cells(notebook)
    assert cells
    for cell in cells:
        assert "is not implemented yet" in outputs(cell), outputs(cell)


@pytest.mark.parametrize("name", NAMES)
def test_widgets_fall_back_to_a_figure_with_alt_text(name):
    """Without a widget front end, every widget output also carries an image with alt text."""
    notebook = execute(ROOT / "solutions" / f"{name}.ipynb")
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "application/vnd.jupyter.widget-view+json" in data:
                assert "image/png" in data and 'alt="' in data.get("text/html", "")
