"""The progress cell at the end of every notebook: where you stand in the whole course.

``progress()`` runs ``python -m grader progress`` on the folder this notebook is in — the
public tests of every saved notebook, in the grader's sandbox — and shows the table. Save
your notebooks first: it reads them from disk. Without bubblewrap it explains why it ran
nothing, and how to run your own notebooks anyway.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ProgressTable", "progress"]


@dataclass(frozen=True)
class ProgressTable:
    """The progress table as text; shows itself as such in a notebook."""

    text: str

    def __repr__(self) -> str:
        return self.text

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text)


def progress(folder: str | Path = ".", run_unsandboxed: bool = False) -> ProgressTable:
    """Every exercise of the course — passed, failing (and why) or not started.

    This runs the code of every notebook in ``folder``, in the grader's bubblewrap sandbox.
    Where bubblewrap cannot run, it says so and runs nothing unless ``run_unsandboxed=True``
    (then the code runs with your permissions: only for notebooks you wrote yourself).
    """
    command = [sys.executable, "-m", "grader", "progress", str(folder)]
    if run_unsandboxed:
        command.append("--run-unsandboxed")
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as error:
        return ProgressTable(f"Could not run the progress check ({error}).")
    if result.returncode != 0:
        problem = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        problem = problem.split(": error: ", 1)[-1]
        if "No module named grader" in problem:
            problem = ("the course's grader package is not installed here; install the course "
                       "with `python3 course.py lab` (or `pip install -r requirements.txt`)")
        return ProgressTable(f"Could not check your progress: {problem}")
    return ProgressTable(result.stdout.rstrip() + "\n\n(Save your notebooks first: this reads "
                         "them from disk.)")
