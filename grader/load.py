"""Submitted notebooks as the grader sees them: opened safely, identified, never parsed here.

The grader process treats a notebook as untrusted bytes. It opens it without following
links (:func:`open_notebook`), reads at most :data:`MAX_NOTEBOOK_BYTES`, and finds out which
course notebook it is from its nbgrader ``grade_id`` strings or its file name
(:func:`inspect_notebook`) — a linear scan, no JSON or Python parsing. Parsing happens in
the sandboxed worker (:mod:`grader._reader`), whose answer becomes a
:class:`NotebookProgram` here after its types and sizes are checked.

>>> inspect_notebook(Path("solutions/02_stride.ipynb")).notebook  # doctest: +SKIP
'02_stride'
"""

from __future__ import annotations

import hashlib
import os
import pkgutil
import re
import stat
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from grader._reader import MAX_CELL_CHARS, MAX_CODE_CELLS, MAX_PROGRAM_CHARS, read_program
from grader.exercises import notebooks
from grader.sandbox import HELPERS_IN_SANDBOX

__all__ = ["CodeCell", "NotebookFile", "NotebookProgram", "demo_modules", "identify_notebook",
           "inspect_notebook", "open_notebook", "program_from_answer", "read_trusted_notebook"]

MAX_NOTEBOOK_BYTES = 64 * 2**20
"""Larger files are refused unread: a notebook's code is kilobytes, only outputs get big."""
GRADE_ID = re.compile(rb'"grade_id"\s*:\s*"([A-Za-z0-9_]{1,64})"')


class NotebookError(Exception):
    """A submitted file that cannot be graded; the message completes "<file> …"."""


@dataclass(frozen=True)
class NotebookFile:
    """One submitted ``.ipynb`` file: which course notebook it is, and its fingerprint."""

    path: Path
    notebook: str | None
    """The course notebook it is (``"02_stride"``), or ``None`` when unrecognised."""
    digest: str = ""
    """SHA-256 of its bytes, or ``""`` when it could not be read."""
    problem: str = ""
    """Why it cannot be graded (a link, too large, unreadable), completing "<file> …"."""
    copy: Path | None = None
    """A private copy of the bytes inspected, which grading reads instead of ``path``: what
    is graded is what was identified, even if the submission changes meanwhile."""

    @property
    def readable(self) -> Path:
        return self.copy or self.path


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


def open_notebook(path: Path, within: Path | None = None) -> int:
    """A read-only descriptor of the regular file ``path``, never through a symbolic link.

    Raises :class:`NotebookError` for a link, a folder, a FIFO or device, a file over
    :data:`MAX_NOTEBOOK_BYTES`, or — with ``within`` — a file that is not really inside that
    folder (a folder on the way swapped for a link).
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) \
        | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as error:
        if path.is_symlink():
            raise NotebookError("is a symbolic link; links are not followed — submit the "
                                "file itself") from None
        raise NotebookError(f"cannot be opened ({error.strerror or error})") from None
    info = os.fstat(fd)
    problem = ""
    if within is not None and not _really_inside(fd, path, within):
        problem = "is not inside its submission folder (a folder on the way is a link)"
    elif not stat.S_ISREG(info.st_mode):
        problem = "is not a regular file"
    elif info.st_size > MAX_NOTEBOOK_BYTES:
        problem = (f"is larger than {MAX_NOTEBOOK_BYTES // 2**20} MB; clear its outputs "
                   "(Edit → Clear Outputs of All Cells), save and submit again")
    if problem:
        os.close(fd)
        raise NotebookError(problem)
    return fd


def _really_inside(fd: int, path: Path, folder: Path) -> bool:
    """Whether the file open on ``fd`` lies inside ``folder``, every link resolved."""
    try:
        actual = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        actual = os.path.realpath(path)  # not Linux: check the path as it is now
    base = os.path.realpath(folder)
    return actual == base or actual.startswith(base.rstrip(os.sep) + os.sep)


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


def inspect_notebook(path: Path, within: Path | None = None,
                     keep_in: Path | None = None) -> NotebookFile:
    """Read ``path`` once, safely: which course notebook it is and its digest. Never raises.

    ``within``: the folder it must really be in. ``keep_in``: a private folder of the
    grader's to keep a copy of the bytes read in, which grading then reads. Read in chunks:
    the grader's memory does not grow with the notebook.
    """
    copy: Path | None = None
    try:
        fd = open_notebook(path, within)
        try:
            digest, grade_ids, copy = _scan(fd, keep_in)
        finally:
            os.close(fd)
    except NotebookError as error:
        _discard(copy)
        return NotebookFile(path, identify_notebook(path, set()), problem=str(error))
    except OSError as error:
        _discard(copy)
        return NotebookFile(path, identify_notebook(path, set()),
                            problem=f"cannot be read ({error.strerror or error})")
    return NotebookFile(path, identify_notebook(path, grade_ids), digest, copy=copy)


def _scan(fd: int, keep_in: Path | None) -> tuple[str, set[str], Path | None]:
    """Digest, grade ids and (with ``keep_in``) a private copy of the file open on ``fd``."""
    digest = hashlib.sha256()
    grade_ids: set[str] = set()
    size, tail = 0, b""
    sink, copy = _new_copy(keep_in) if keep_in is not None else (None, None)
    try:
        while chunk := os.read(fd, 1 << 20):
            size += len(chunk)
            if size > MAX_NOTEBOOK_BYTES:
                raise NotebookError(f"is larger than {MAX_NOTEBOOK_BYTES // 2**20} MB")
            digest.update(chunk)
            window = tail + chunk  # a grade id may straddle two chunks
            grade_ids.update(m.decode() for m in GRADE_ID.findall(window))
            tail = window[-200:]
            if sink is not None:
                sink.write(chunk)
    except BaseException:
        if sink is not None:
            sink.close()
        _discard(copy)
        raise
    if sink is not None:
        sink.close()
    return digest.hexdigest(), grade_ids, copy


def _new_copy(folder: Path) -> tuple[Any, Path]:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(suffix=".ipynb", dir=folder)
    return os.fdopen(fd, "wb"), Path(name)


def _discard(copy: Path | None) -> None:
    if copy is not None:
        try:
            copy.unlink()
        except OSError:
            pass


@cache
def demo_modules() -> tuple[str, ...]:
    """Helper modules graded code cannot import: imports of them are dropped when grading."""
    import stridelab

    every = {f"stridelab.{m.name}" for m in pkgutil.iter_modules(stridelab.__path__)}
    return tuple(sorted(every - HELPERS_IN_SANDBOX))


def _text(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def program_from_answer(path: Path, notebook: str, answer: Mapping[str, Any],
                        exercises: Sequence[str]) -> NotebookProgram:
    """The worker's reading of a notebook, keeping only well-formed cells within the caps."""
    error = _text(answer.get("error"), 300)
    if error:
        return NotebookProgram(path, notebook, error=error)
    raw_problems = answer.get("problems")
    problems = {name: _text(raw_problems.get(name), 500) or "could not be read"
                for name in exercises
                if isinstance(raw_problems, dict) and name in raw_problems}
    cells, total = [], 0
    raw_cells = answer.get("cells")
    for raw in raw_cells[:MAX_CODE_CELLS] if isinstance(raw_cells, list) else []:
        if not isinstance(raw, dict) or not isinstance(raw.get("source"), str):
            continue
        exercise = raw.get("exercise")
        source = raw["source"][:MAX_CELL_CHARS]
        total += len(source)
        if total > MAX_PROGRAM_CHARS:
            break
        cells.append(CodeCell(_text(raw.get("label"), 100) or "a cell", source,
                              exercise if exercise in exercises else None))
    return NotebookProgram(path, notebook, tuple(cells), problems)


def read_trusted_notebook(path: Path) -> NotebookProgram:
    """Read one of the course's own notebooks in this process (never a submission)."""
    data = path.read_bytes()
    grade_ids = {m.decode() for m in GRADE_ID.findall(data)}
    name = identify_notebook(path, grade_ids)
    if name is None:
        return NotebookProgram(path, None, error="is not one of the course's notebooks")
    exercises = [e.name for e in notebooks()[name]]
    return program_from_answer(path, name, read_program(data, exercises, demo_modules()),
                               exercises)
