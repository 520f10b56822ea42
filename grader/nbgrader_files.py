"""nbgrader integration: of a student's submission, keep only the notebooks; follow no link.

What nbgrader 0.9 does with the rest of ``submitted/<student>/<assignment>/``: ``nbgrader
autograde`` copies every file that is not a notebook into ``autograded/``, and ``nbgrader
generate_feedback`` copies ``autograded/`` on into ``feedback/``, which goes back to the
student. The copy (``shutil.copy``) follows symbolic links, and notebooks are read by path.
So a student who controls their submission's files (an LMS export unzipped into
``submitted/`` keeps its links) can have:

- an HTML page or SVG image with a script served by formgrader, which serves a submission's
  files (``/formgrader/submissions/<id>/<path>``) from the instructor's own Jupyter server,
  where the script runs as the instructor and can start kernels;
- a link (``secret -> ~/.ssh/id_rsa``, ``-> ../../../source/…`` with the solutions, ``->
  ../../other-student/…``) read as the instructor, its target copied into ``feedback/``; a
  link to ``/dev/zero`` fills the disk;
- a linked notebook, or a linked assignment folder, graded as theirs: another student's work
  or the instructor's source notebook, earning its points and shown in their feedback.

nbgrader's settings cannot prevent it: ``CourseDirectory.include`` only applies to the
exchange; ``CourseDirectory.ignore`` also filters ``generate_assignment``'s release (which
must keep ``assets/``) and autograde's copy of the instructor's files; ``pre_convert_hook``
runs before the copy without access to it, ``post_convert_hook`` after it (and both swallow
their errors). So :func:`keep_only_notebooks`, called by ``nbgrader_config.py``, wraps two
steps of nbgrader's converters — finding the notebooks and preparing the destination folder —
for the converters that read a student's folder (``submitted/`` for autograde,
``autograded/`` for generate_feedback); ``generate_assignment`` and the others are untouched:

- a submission folder is skipped, with a warning, as if nothing had been handed in, when the
  folder is a symbolic link, or when nbgrader's ``timestamp.txt`` or ``submission_secret.txt``
  in it (nbgrader reads them by path) is a link or not a small regular file;
- a notebook is skipped, with a warning, when it is a link, sits below a linked folder within
  the submission, or is not a regular file (a FIFO would hang the run);
- of the other files only those two bookkeeping files are copied — formgrader and
  ``nbgrader release_feedback`` need them in ``autograded/`` and ``feedback/`` — read without
  following links and only when they are short printable text with no ``<`` or ``&``;
- the instructor's files of ``source/<assignment>/`` (``assets/``) still reach ``autograded/``
  (autograde copies them itself) and ``feedback/`` (copied here, as autograde does).

Points do not change: notebooks are read, sanitised and graded exactly as before.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from typing import Any, Callable

from nbgrader.converters import Autograde, BaseConverter, NbGraderException
from nbgrader.utils import find_all_files

from grader._text import clean

__all__ = ["BOOKKEEPING", "keep_only_notebooks"]

BOOKKEEPING = ("timestamp.txt", "submission_secret.txt")
"""The files nbgrader's exchange (``submit``, ``collect``) writes beside a submission."""
MAX_BOOKKEEPING_BYTES = 4096
_PLAIN_TEXT = re.compile(rb"[\x20-\x25\x27-\x3b\x3d-\x7e\t\r\n]*")  # printable ASCII but < &
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_MARK = "_keeps_only_notebooks"


def _reads_student_folder(converter: BaseConverter) -> bool:
    try:
        step = converter._input_directory  # nbgrader's name for the folder a converter reads
    except NotImplementedError:
        return False
    return step in (converter.coursedir.submitted_directory,
                    converter.coursedir.autograded_directory)


def _regular(path: str, max_bytes: int | None = None) -> str:
    """Why ``path`` is not a regular file of at most ``max_bytes`` (itself, not a link's
    target); ``""`` when it is."""
    try:
        info = os.lstat(path)
    except OSError as error:
        return f"cannot be read ({error.strerror})"
    if stat.S_ISLNK(info.st_mode):
        return "is a symbolic link"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file"
    if max_bytes is not None and info.st_size > max_bytes:
        return f"is larger than {max_bytes} bytes"
    return ""


def _folder_problem(folder: str) -> str:
    if os.path.islink(folder):
        return "is a symbolic link"
    for name in BOOKKEEPING:
        path = os.path.join(folder, name)
        if os.path.lexists(path):
            problem = _regular(path, MAX_BOOKKEEPING_BYTES)
            if problem:
                return f"holds a {name} that {problem}"
    return ""


def _notebook_problem(folder: str, notebook: str) -> str:
    parts = os.path.relpath(notebook, folder).split(os.sep)
    if parts[0] == os.pardir:
        return "is outside its submission folder"
    for depth in range(1, len(parts)):  # folders between the submission and the notebook
        if os.path.islink(os.path.join(folder, *parts[:depth])):
            return "is in a folder that is a symbolic link"
    return _regular(notebook)


def _read_bookkeeping(folder: str, name: str) -> bytes | None:
    """The bytes of ``folder/name`` if it is a short, plain-text regular file, read through
    no link (the folder was checked by :func:`_folder_problem`)."""
    try:
        fd = os.open(os.path.join(folder, name),
                     os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = file.read(MAX_BOOKKEEPING_BYTES + 1)
    if len(data) > MAX_BOOKKEEPING_BYTES or not _PLAIN_TEXT.fullmatch(data):
        return None
    return data


def _write(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.lexists(path):
        os.remove(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as file:
        file.write(data)


def _init_notebooks(original: Callable[[BaseConverter], None]) -> Callable[[BaseConverter], None]:
    def init_notebooks(self: BaseConverter) -> None:
        original(self)
        if not _reads_student_folder(self):
            return
        kept = {}
        for folder, notebooks in self.assignments.items():
            problem = _folder_problem(folder)
            if problem:
                self.log.warning("Skipping %s: it %s; links are not followed", clean(folder),
                                 problem)
                continue
            graded = []
            for notebook in notebooks:
                problem = _notebook_problem(folder, notebook)
                if problem:
                    self.log.warning("Skipping the notebook %s: it %s; links are not followed",
                                     clean(notebook), problem)
                else:
                    graded.append(notebook)
            if graded:
                kept[folder] = graded
            else:
                self.log.warning("Skipping %s: none of its notebooks can be graded", clean(folder))
        self.assignments = kept
        if not kept:
            msg = "No notebooks were found that are files of their own, not links"
            self.log.error(msg)
            raise NbGraderException(msg)

    setattr(init_notebooks, _MARK, True)
    return init_notebooks


def _init_assignment(original: Callable[..., None]) -> Callable[..., None]:
    def init_assignment(self: BaseConverter, assignment_id: str, student_id: str) -> None:
        if not _reads_student_folder(self):
            original(self, assignment_id, student_id)
            return
        source = self._format_source(assignment_id, student_id)
        dest = self._format_dest(assignment_id, student_id)
        for name in BOOKKEEPING:
            if not os.path.lexists(os.path.join(source, name)):
                continue
            data = _read_bookkeeping(source, name)
            if data is None:
                self.log.warning("Not copying %s: it is not a short plain-text file",
                                 clean(os.path.join(source, name)))
            else:
                _write(os.path.join(dest, name), data)
        if isinstance(self, Autograde):
            return  # Autograde.init_assignment copies the instructor's files next
        instructor = self.coursedir.format_path(self.coursedir.source_directory, ".",
                                                assignment_id)
        for filename in find_all_files(instructor, self.coursedir.ignore + ["*.ipynb"]):
            path = os.path.join(dest, os.path.relpath(filename, instructor))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if os.path.lexists(path):
                os.remove(path)
            self.log.info("Copying %s -> %s", filename, path)
            shutil.copy(filename, path)

    setattr(init_assignment, _MARK, True)
    return init_assignment


def keep_only_notebooks() -> None:
    """Make nbgrader's converters keep only a submission's notebooks and follow no link in
    it (see the module's docstring). Idempotent; affects this process only."""
    steps: dict[str, Callable[[Any], Callable[..., Any]]] = {
        "init_notebooks": _init_notebooks, "init_assignment": _init_assignment}
    for name, wrap in steps.items():
        current = getattr(BaseConverter, name)
        if not getattr(current, _MARK, False):
            setattr(BaseConverter, name, wrap(current))
