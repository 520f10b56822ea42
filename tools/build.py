"""Regenerate everything generated from ``solutions/``: student notebooks, public tests, assets.

    python3 course.py build            # rewrite what is out of date
    python3 course.py build --check    # change nothing; exit 1 listing what is out of date

- ``notebooks/*.ipynb`` — the student versions, made with nbgrader's own preprocessors (the
  ones ``nbgrader generate_assignment`` runs, minus its database step): solutions replaced by
  ``raise NotImplementedError()``, outputs cleared, graded cells locked and checksummed.
- ``stridelab/public_tests/*.json`` — each notebook's public tests with expected results and
  the outputs of known mistakes, for the check cells (see :mod:`stridelab.public`).
- ``assets/`` — figures and animations drawn by :mod:`tools.make_assets` (not in ``--check``:
  image bytes depend on the platform's fonts).

Solution notebooks are normalised too (outputs and execution counts removed), so a notebook
saved after running it in JupyterLab is committed clean.
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
from nbgrader.preprocessors import (CheckCellMetadata, ClearHiddenTests, ClearMarkScheme,
                                    ClearOutput, ClearSolutions, ComputeChecksums, LockCells)

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
NOTEBOOKS = ROOT / "notebooks"

STUDENT_PIPELINE = (LockCells, ClearSolutions, ClearOutput, CheckCellMetadata, ComputeChecksums,
                    ClearHiddenTests, ClearMarkScheme, ComputeChecksums, CheckCellMetadata)
"""``nbgrader generate_assignment``'s preprocessors, in its order, without ``SaveCells``."""


def _clean(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy without outputs, execution counts or editor state."""
    notebook = copy.deepcopy(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for transient in ("execution", "collapsed", "scrolled", "jupyter"):
            cell.metadata.pop(transient, None)
    notebook.metadata.pop("widgets", None)
    return notebook


def _text(notebook: nbformat.NotebookNode) -> str:
    return nbformat.writes(notebook) + "\n"


def student_version(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student notebook of ``solution``, made by nbgrader's preprocessors."""
    notebook, resources = _clean(solution), {}
    for preprocessor in STUDENT_PIPELINE:
        notebook, resources = preprocessor().preprocess(notebook, resources)
    return notebook


def public_tests_text(notebook: str) -> str:
    """The frozen public tests of one notebook, from the grader's exercise definitions."""
    from grader.exercises import notebooks
    from stridelab.public import dumps

    tests = [t for e in notebooks()[notebook] for t in e.tests(seed=None, hidden=False)]
    return dumps(notebook, tests)


def generated_files() -> Iterator[tuple[Path, str]]:
    """Every generated text file and the content it should have."""
    from grader.exercises import notebooks
    from stridelab.public import PUBLIC_TESTS_DIR

    for path in sorted(SOLUTIONS.glob("*.ipynb")):
        solution = nbformat.read(path, as_version=4)
        yield path, _text(_clean(solution))
        yield NOTEBOOKS / path.name, _text(student_version(solution))
    for name in notebooks():
        yield PUBLIC_TESTS_DIR / f"{name}.json", public_tests_text(name)


def _has_outputs(path: Path) -> bool:
    """True when a notebook was run and saved: it holds someone's work, not the build's."""
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 - an unreadable file is rebuilt like any stale one
        return False
    return any(cell.get("outputs") or cell.get("execution_count") for cell in notebook.cells
               if cell.cell_type == "code")


def stale_files() -> list[Path]:
    """Generated files whose content differs from what the build would write."""
    stale = []
    for path, text in generated_files():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(path)
    orphans = {p.name for p in NOTEBOOKS.glob("*.ipynb")} - {p.name for p in SOLUTIONS.glob("*.ipynb")}
    return stale + [NOTEBOOKS / name for name in sorted(orphans)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course.py build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a generated file is out of date")
    parser.add_argument("--force", action="store_true",
                        help="rebuild even student notebooks that hold someone's work")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for path in stale:
            print(f"out of date: {path.relative_to(ROOT)}")
        if stale:
            print("Run `python3 course.py build` and commit the result.")
        return 1 if stale else 0
    worked_on = [p for p in sorted(NOTEBOOKS.glob("*.ipynb")) if _has_outputs(p)]
    if worked_on and not args.force:
        names = ", ".join(f"notebooks/{p.name}" for p in worked_on)
        print(f"Not rebuilding: {names} hold outputs, so someone has worked in them and "
              "rebuilding would overwrite their work. Copy them elsewhere first, or run "
              "`python3 course.py build --force` to overwrite.")
        return 1
    changed = 0
    for path, text in generated_files():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
            changed += 1
    for path in stale_files():
        if path.parent == NOTEBOOKS and not (SOLUTIONS / path.name).exists():
            path.unlink()
            print(f"removed {path.relative_to(ROOT)} (its solution notebook is gone)")
    from tools import make_assets

    make_assets.main([])
    print(f"{changed} file(s) updated." if changed else "Notebooks and public tests are up to date.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
