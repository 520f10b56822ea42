"""Which of a notebook's code grading runs — one set of rules for the grader and the check cells.

Grading runs each exercise's cell whole and, from every other code cell, only its imports,
function and class definitions and literal constants: plots, widgets and experiments are
skipped. A function that leans on something else from another cell (``pair = lambda v: …``,
``K = np.ones(3) / 3``) works in the notebook but not when graded; the check cell uses
:func:`missing_when_graded` to say so before the learner submits, and the grader's reader
(``grader/_reader.py``) keeps code by :func:`is_kept`. Standard library only: the reader
runs inside the sandbox.

>>> import ast
>>> [is_kept(node) for node in ast.parse("import numpy\\nK = 3\\nJ = K + 1").body]
[True, True, False]
"""

from __future__ import annotations

import ast
import builtins
import dis
from collections.abc import Callable, Iterable
from types import CodeType
from typing import Any

__all__ = ["WHAT_GRADING_RUNS", "imports_any", "is_kept", "kept_names", "missing_when_graded"]

WHAT_GRADING_RUNS = ("grading runs this exercise's cell and, from your other cells, only "
                     "imports, functions, classes and constants written as literals")


def _imported_modules(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        modules = [node.module]
        if node.module == "stridelab":
            modules += [f"stridelab.{alias.name}" for alias in node.names]
        return modules
    return []


def imports_any(node: ast.stmt, modules: frozenset[str]) -> bool:
    """An import of one of ``modules`` (``stridelab.widgets`` …), which grading drops."""
    return any(".".join(m.split(".")[:2]) in modules for m in _imported_modules(node))


def is_kept(node: ast.stmt, dropped_modules: frozenset[str] = frozenset()) -> bool:
    """Whether grading runs this top-level statement of a cell that is not an exercise's."""
    if imports_any(node, dropped_modules):
        return False
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        if node.value is None:
            return False
        try:
            ast.literal_eval(node.value)
        except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
            return False
        return True
    return isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef,
                             ast.AsyncFunctionDef, ast.ClassDef))


def _bound(node: ast.stmt) -> Iterable[str]:
    """Names a top-level statement binds."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        yield node.name
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        for alias in node.names:
            yield alias.asname or alias.name.split(".")[0]
    else:
        for child in ast.walk(node):
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                yield child.id


def kept_names(source: str, whole: bool = False) -> set[str]:
    """Names a cell defines when graded: every top-level name of an exercise's cell
    (``whole``), else only those bound by the statements :func:`is_kept` keeps."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    keep: Callable[[ast.stmt], bool] = (lambda node: True) if whole else is_kept
    return {name for node in tree.body if keep(node) for name in _bound(node)}


def _globals_loaded(code: CodeType) -> set[str]:
    names = {i.argval for i in dis.get_instructions(code)
             if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            names |= _globals_loaded(constant)
    return names


def missing_when_graded(function: Any, exercise_cell: str, other_cells: Iterable[str]) -> list[str]:
    """Names ``function`` uses that exist in the learner's session but that grading, which
    runs ``exercise_cell`` and the kept part of ``other_cells``, would not define."""
    code = getattr(function, "__code__", None)
    namespace = getattr(function, "__globals__", None)
    if code is None or not isinstance(namespace, dict):
        return []
    defined = kept_names(exercise_cell, whole=True)
    for source in other_cells:
        defined |= kept_names(source)
    return sorted(name for name in _globals_loaded(code)
                  if name in namespace and name not in defined and not hasattr(builtins, name))
