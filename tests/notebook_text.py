"""Read a solution notebook's prose and code, for tests of what the chapters say."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


@cache
def cells(notebook: str) -> tuple[nbformat.NotebookNode, ...]:
    return tuple(nbformat.read(ROOT / "solutions" / f"{notebook}.ipynb", as_version=4).cells)


def prose(notebook: str) -> str:
    """Every Markdown cell, with line breaks turned into spaces (prose is wrapped anywhere)."""
    return " ".join(" ".join(c.source.split()) for c in cells(notebook) if c.cell_type == "markdown")


def code(notebook: str) -> str:
    return "\n".join(c.source for c in cells(notebook) if c.cell_type == "code")


def first_cell(notebook: str, text: str) -> int:
    """Index of the first cell containing ``text``."""
    return next(i for i, c in enumerate(cells(notebook)) if text in c.source)
