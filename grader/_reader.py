"""Read a submitted notebook into the code the worker will run — inside the sandbox.

A notebook is untrusted bytes: parsing it (JSON, IPython's syntax, Python's ``ast``) can
cost unbounded time and memory, or raise ``RecursionError`` / ``MemoryError`` on deeply
nested input. So the grader never parses one itself: the sandboxed worker runs this
module, under the worker's limits and the student's deadline, before any student code has
run in it, and sends back plain data.

The grader runs each exercise's cell whole (found by its nbgrader ``grade_id``, or by the
``def`` of its function when the metadata was lost) and, from every other code cell, what
:func:`stridelab.graded_code.is_kept` keeps — imports, function and class definitions and
literal constants — the rules the check cells warn by. IPython magics become no-op calls.
Standard library and that module only (IPython is imported only for cells that are not
plain Python).

>>> read_program(open("01.ipynb", "rb").read(), ["window_dot"], ["widgets"])  # doctest: +SKIP
{'cells': [...], 'problems': {}, 'error': ''}
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Sequence
from typing import Any

from stridelab.graded_code import imports_any, is_kept

__all__ = ["MAX_CELL_CHARS", "MAX_CODE_CELLS", "MAX_PROGRAM_CHARS", "read_program"]

MAX_CODE_CELLS = 1000
"""Code cells read from one notebook; the course's longest has under 100."""
MAX_CELL_CHARS = 100_000
"""Characters in one code cell; the course's longest exercise is about 3,000."""
MAX_PROGRAM_CHARS = 2_000_000
"""Characters of code kept from one notebook, all cells together."""
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug"}
"""Cell magics whose body is still Python, run as plain code when grading."""


def _nbgrader(cell: dict[str, Any]) -> dict[str, Any]:
    metadata = cell.get("metadata")
    meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return meta if isinstance(meta, dict) else {}


def _is_check_cell(cell: dict[str, Any]) -> bool:
    meta = _nbgrader(cell)
    return bool(meta.get("grade")) and not meta.get("solution")


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(part for part in source if isinstance(part, str))
    return source if isinstance(source, str) else ""


def _as_python(source: str) -> tuple[str, ast.Module] | None:
    """Plain Python for a cell, and its syntax tree: magics become no-op calls; ``None`` for
    non-Python cells. Raises ``SyntaxError`` when the cell is not valid Python."""
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].lstrip()[2:].split()[0] if lines[0].strip() != "%%" else ""
        if magic not in PYTHON_CELL_MAGICS:
            return None
        source = "\n".join(["# " + lines[0], *lines[1:]])  # a comment keeps line numbers
    try:
        return source, ast.parse(source)  # plain Python: no need for IPython's transformer
    except (SyntaxError, ValueError):
        pass
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        source = TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - IPython gave up: let Python report the syntax error
        pass
    return source, ast.parse(source)


def _keep_lines(source: str, tree: ast.Module, wanted: Callable[[ast.stmt], bool]) -> str:
    """The source with only the top-level statements ``wanted`` keeps; the rest blanked.

    Blanked lines keep their place, so line numbers in error messages stay right.
    """
    lines = source.splitlines()
    keep = [False] * len(lines)
    for node in tree.body:
        if wanted(node):
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            for index in range(first - 1, node.end_lineno or node.lineno):
                keep[index] = True
    return "\n".join(line if kept else "" for line, kept in zip(lines, keep))


def _defines(source: str, name: str) -> bool:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return f"def {name}(" in source
    return any(isinstance(n, ast.FunctionDef) and n.name == name for n in tree.body)


def _exercise_cells(cells: list[dict[str, Any]], exercises: Sequence[str]
                    ) -> tuple[dict[int, str], dict[str, str]]:
    """Index of each exercise's cell, and why any exercise has none."""
    found: dict[int, str] = {}
    problems: dict[str, str] = {}
    for name in exercises:
        by_id = (i for i, c in enumerate(cells) if _nbgrader(c).get("grade_id") == name)
        by_def = (i for i, c in enumerate(cells) if c.get("cell_type") == "code"
                  and not _is_check_cell(c) and f"def {name}" in _source(c)
                  and len(_source(c)) <= MAX_CELL_CHARS and _defines(_source(c), name))
        index = next(by_id, None)
        if index is None:  # the metadata was lost: the first cell that defines it
            index = next(by_def, None)
        if index is None or cells[index].get("cell_type") != "code":
            problems[name] = (f"no cell defines {name}: the exercise cell may have been deleted, "
                              "or the function renamed. Copy the cell from a fresh copy of the "
                              "notebook.")
            continue
        found[index] = name
    return found, problems


def _support_code(source: str, tree: ast.Module, demo_modules: frozenset[str]) -> str:
    return _keep_lines(source, tree, lambda node: is_kept(node, demo_modules))


def _exercise_code(source: str, tree: ast.Module, demo_modules: frozenset[str]) -> str:
    return _keep_lines(source, tree, lambda node: not imports_any(node, demo_modules))


def _code_cells(cells: list[dict[str, Any]], exercise_cells: dict[int, str],
                problems: dict[str, str], demo_modules: frozenset[str]) -> list[dict[str, Any]]:
    program: list[dict[str, Any]] = []
    total = 0
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code" or _is_check_cell(cell):
            continue
        exercise = exercise_cells.get(index)
        label = f"cell {index + 1}" + (f" ({exercise})" if exercise else "")
        raw = _source(cell)
        if len(raw) > MAX_CELL_CHARS:
            if exercise:
                problems[exercise] = (f"the {exercise} cell is longer than "
                                      f"{MAX_CELL_CHARS:,} characters")
            continue
        try:
            python = _as_python(raw)
            if python is None:
                if exercise:
                    problems[exercise] = (f"the {exercise} cell is not Python (it starts with "
                                          "a %% magic)")
                continue
            source, tree = python
            if exercise:  # errors the parser lets through (``return`` outside a function)
                compile(tree, f"<{label}>", "exec", dont_inherit=True)
                code = _exercise_code(source, tree, demo_modules)
            else:
                code = _support_code(source, tree, demo_modules)
        except SyntaxError as error:
            if exercise:
                problems[exercise] = (f"the {exercise} cell has a syntax error on line "
                                      f"{error.lineno}: {error.msg}")
            continue  # a broken scratch cell does not stop the exercises being graded
        except (ValueError, RecursionError, MemoryError, OverflowError) as error:
            if exercise:
                problems[exercise] = (f"the {exercise} cell cannot be read as Python "
                                      f"({type(error).__name__}: nested too deeply or too large)")
            continue
        if not code.strip():
            continue
        total += len(code)
        if total > MAX_PROGRAM_CHARS:
            raise _NotebookTooBig(f"holds more than {MAX_PROGRAM_CHARS:,} characters of code")
        program.append({"label": label, "source": code, "exercise": exercise})
    return program


class _NotebookTooBig(Exception):
    """The notebook holds more code than the grader reads."""


def read_program(data: bytes, exercises: Sequence[str], demo_modules: Sequence[str]) -> dict[str, Any]:
    """The cells to run for a notebook's ``data`` whose exercises are ``exercises``.

    ``demo_modules`` names the helper modules graded code cannot import (``stridelab.widgets``
    …): imports of them are dropped, so a notebook's plotting imports do not fail grading.

    Returns ``{"cells": [{"label", "source", "exercise"}], "problems": {exercise: why},
    "error": why the whole notebook cannot be graded, or ""}``. Never raises.
    """
    try:
        notebook = json.loads(data)
    except RecursionError:
        return _unreadable("it is nested too deeply")
    except (ValueError, MemoryError) as error:
        first = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        return _unreadable(first)
    raw_cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(raw_cells, list):
        return _unreadable("it has no list of cells")
    cells = [c for c in raw_cells if isinstance(c, dict)]
    code_cells = sum(c.get("cell_type") == "code" for c in cells)
    if code_cells > MAX_CODE_CELLS:
        return {"cells": [], "problems": {}, "error": (
            f"has {code_cells:,} code cells; the grader reads at most {MAX_CODE_CELLS:,}")}
    modules = frozenset(demo_modules)
    try:
        exercise_cells, problems = _exercise_cells(cells, exercises)
        program = _code_cells(cells, exercise_cells, problems, modules)
    except _NotebookTooBig as error:
        return {"cells": [], "problems": {}, "error": str(error)}
    return {"cells": program, "problems": problems, "error": ""}


def _unreadable(why: str) -> dict[str, Any]:
    return {"cells": [], "problems": {}, "error": f"could not be read as a notebook ({why})"}
