"""Read a submitted notebook into the code the sandbox will run — without running any of it.

The grader runs each exercise's cell whole (found by its nbgrader ``grade_id``, or by the
``def`` of its function when the metadata was lost) and, from every other code cell, only
its imports, function and class definitions and literal constants: plots, widgets and
experiments are skipped, which keeps grading fast and the learner's own code intact.
IPython magics become no-op calls. A notebook that cannot be read, or an exercise cell
that is missing or has a syntax error, is recorded with a reason instead of failing.

>>> program = load_notebook(Path("solutions/01_convolution_dot_product.ipynb"))  # doctest: +SKIP
>>> program.notebook, [cell.exercise for cell in program.cells if cell.exercise]  # doctest: +SKIP
('01_convolution_dot_product', ['window_dot', 'conv1d', 'conv2d'])
"""

from __future__ import annotations

import ast
import pkgutil
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import nbformat

from grader.exercises import Exercise, notebooks
from grader.sandbox import HELPERS_IN_SANDBOX

__all__ = ["CodeCell", "NotebookProgram", "identify_notebook", "load_notebook"]

MAX_NOTEBOOK_BYTES = 64 * 2**20
"""Larger files are refused unread: a notebook's code is kilobytes, only outputs get big."""
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug"}
"""Cell magics whose body is still Python, run as plain code when grading."""


@dataclass(frozen=True)
class CodeCell:
    """Code from one notebook cell, ready to execute in the worker."""

    label: str
    """How feedback names the cell: ``"cell 7 (conv2d)"``."""
    source: str
    exercise: str | None = None
    """The exercise this cell defines, or ``None`` for supporting code."""


@dataclass(frozen=True)
class NotebookProgram:
    """What the worker runs for one submitted notebook, and what could not be found."""

    path: Path
    notebook: str | None
    """The course notebook it is (``"02_stride"``), or ``None`` when unrecognised."""
    cells: tuple[CodeCell, ...] = ()
    problems: Mapping[str, str] = field(default_factory=dict)
    """Exercise name → why it cannot be graded (cell missing, syntax error …)."""
    error: str = ""
    """Why the whole file could not be read, if it could not."""


def _grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _is_check_cell(cell: nbformat.NotebookNode) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def identify_notebook(path: Path, grade_ids: set[str]) -> str | None:
    """Which course notebook this is: by its exercises' grade ids, else by its file name."""
    scores = {
        name: len(grade_ids & {e.name for e in exercises})
        for name, exercises in notebooks().items()
    }
    best = max(scores, key=scores.get, default=None)
    if best is not None and scores[best] > 0:
        return best
    stem = path.stem.lower()
    for name in notebooks():
        if name in stem:
            return name
    number = re.match(r"(\d\d)[_\- ]", stem)
    for name in notebooks():
        if number and name.startswith(number.group(1) + "_"):
            return name
    return None


def _strip_magics(source: str) -> str | None:
    """Plain Python for a cell: magics become no-op calls; ``None`` for non-Python cells."""
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].lstrip()[2:].split()[0] if lines[0].strip() != "%%" else ""
        if magic not in PYTHON_CELL_MAGICS:
            return None
        source = "\n".join(["# " + lines[0], *lines[1:]])  # a comment keeps line numbers
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


@cache
def _helper_submodules() -> frozenset[str]:
    import stridelab

    return frozenset(m.name for m in pkgutil.iter_modules(stridelab.__path__))


def _imports_demo_helpers(node: ast.stmt) -> bool:
    """An import of helper modules that graded code cannot use (widgets, figures, demos)."""
    if isinstance(node, ast.Import):
        modules = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        modules = [node.module]
        if node.module == "stridelab":
            modules += [f"stridelab.{alias.name}" for alias in node.names
                        if alias.name in _helper_submodules()]
    else:
        return False
    return any(m.startswith("stridelab.") and m not in HELPERS_IN_SANDBOX for m in modules)


def _keep_lines(source: str, wanted: Callable[[ast.stmt], bool]) -> str:
    """The source with only the top-level statements ``wanted`` keeps; the rest blanked.

    Blanked lines keep their place, so line numbers in error messages stay right.
    """
    tree = ast.parse(source)
    lines = source.splitlines()
    keep = [False] * len(lines)
    for node in tree.body:
        if wanted(node):
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            for index in range(first - 1, node.end_lineno or node.lineno):
                keep[index] = True
    return "\n".join(line if kept else "" for line, kept in zip(lines, keep))


def _without_demo_imports(source: str) -> str:
    """An exercise cell minus its imports of widget and figure modules (not graded code)."""
    return _keep_lines(source, lambda node: not _imports_demo_helpers(node))


def _is_definition(node: ast.stmt) -> bool:
    """Imports (of what graded code may use), defs, classes and literal constants."""
    if _imports_demo_helpers(node):
        return False
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        try:
            ast.literal_eval(node.value)
            return node.value is not None
        except (ValueError, TypeError, SyntaxError, RecursionError):
            return False
    return isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef,
                             ast.AsyncFunctionDef, ast.ClassDef))


def _definitions_only(source: str) -> str:
    """Keep a cell's imports, defs, classes and literal constants; blank the rest."""
    return _keep_lines(source, _is_definition)


def _defines(source: str, name: str) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return f"def {name}(" in source
    return any(isinstance(n, ast.FunctionDef) and n.name == name for n in tree.body)


def _find_exercise_cells(
    cells: list[nbformat.NotebookNode], exercises: tuple[Exercise, ...]
) -> tuple[dict[int, str], dict[str, str]]:
    """Index of each exercise's cell, and why any exercise has none."""
    found: dict[int, str] = {}
    problems: dict[str, str] = {}
    for exercise in exercises:
        by_id = [i for i, c in enumerate(cells) if _grade_id(c) == exercise.name]
        by_def = [i for i, c in enumerate(cells)
                  if c.cell_type == "code" and not _is_check_cell(c) and _defines(c.source, exercise.name)]
        index = (by_id or by_def or [None])[0]
        if index is None or cells[index].cell_type != "code":
            problems[exercise.name] = (
                f"no cell defines {exercise.name}: the exercise cell may have been deleted, "
                f"or the function renamed. Copy the cell from a fresh copy of the notebook."
            )
            continue
        found[index] = exercise.name
    return found, problems


def load_notebook(path: Path) -> NotebookProgram:
    """Read ``path`` into a :class:`NotebookProgram`; never raises for a bad submission."""
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            return NotebookProgram(path, identify_notebook(path, set()), error=(
                f"is larger than {MAX_NOTEBOOK_BYTES // 2**20} MB; clear its outputs "
                "(Edit → Clear Outputs of All Cells), save and submit again"))
        notebook = nbformat.read(path, as_version=4)
    except Exception as error:  # noqa: BLE001 - any unreadable file is a per-file problem
        reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        return NotebookProgram(path, identify_notebook(path, set()),
                               error=f"could not be read as a notebook ({reason})")
    cells = [c for c in notebook.get("cells", []) if isinstance(c, dict)]
    grade_ids = {gid for c in cells if (gid := _grade_id(c))}
    name = identify_notebook(path, grade_ids)
    if name is None:
        return NotebookProgram(path, None, error="is not one of the course's notebooks")
    exercise_cells, problems = _find_exercise_cells(cells, notebooks()[name])
    program: list[CodeCell] = []
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code" or _is_check_cell(cell):
            continue
        exercise = exercise_cells.get(index)
        source = _strip_magics(str(cell.get("source", "")))
        label = f"cell {index + 1}" + (f" ({exercise})" if exercise else "")
        if source is None:
            if exercise:
                problems[exercise] = f"the {exercise} cell is not Python (it starts with a %% magic)"
            continue
        if exercise:
            try:
                compile(source, f"<{label}>", "exec")
            except SyntaxError as error:
                problems[exercise] = (f"the {exercise} cell has a syntax error on line "
                                      f"{error.lineno}: {error.msg}")
                continue
            program.append(CodeCell(label, _without_demo_imports(source), exercise))
            continue
        try:
            support = _definitions_only(source)
        except SyntaxError:
            continue  # a broken scratch cell does not stop the exercises being graded
        if support.strip():
            program.append(CodeCell(label, support))
    return NotebookProgram(path, name, tuple(program), problems)
