"""Find the submissions in the paths an instructor gives: who submitted which notebooks.

Identity comes from how the instructor laid out the class — the names of the files and
folders handed to the grader, and of the entries of a class folder — never from inside a
student's submission. Accepted, and told apart by what they contain:

- a notebook file — graded as the submission of the folder it is in;
- one student's folder — notebooks anywhere inside it (nbgrader's ``<assignment>/``
  folders included);
- a folder of students — each entry is one student: a folder, a ``.zip`` (named after the
  file, whatever folders it holds) or a loose notebook (named after the file, or after the
  student part of a Canvas or Blackboard download name);
- a ``.zip`` of any of these, extracted safely into a private workspace first.

Symbolic links are never followed below the paths given: a link in a submission is
reported and skipped, so a submission cannot point the grader at solutions or at another
student's work. Student ids are made safe to use as folder names and never collide with
the grader's own files.

>>> [s.student for s in find_submissions([Path("solutions")], Path("/tmp")).submissions]  # doctest: +SKIP
['solutions']
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grader._text import clean
from grader.errors import UsageError
from grader.exercises import notebooks
from grader.load import MAX_NOTEBOOK_BYTES

__all__ = ["Discovery", "RESERVED_NAMES", "Submission", "find_submissions", "student_id"]

MAX_ZIP_BYTES = 128 * 2**20
"""Notebooks extracted from one zip, in all."""
MAX_ZIP_MEMBERS = 100_000
MAX_NOTEBOOKS = 50
"""Notebooks taken from one student; the course has eight."""
MAX_ENTRIES = 20_000
"""Files and folders looked at inside one student's folder."""
MAX_DEPTH = 8
RESERVED_NAMES = frozenset({"gradebook.csv", "grading-run.json", "report.html",
                            "class-report.csv", "summary.csv",
                            # the class report's data (grader/class_report.py)
                            "report-notebooks.csv", "report-exercises.csv", "report-tests.csv",
                            "report-mistakes.csv", "report-problems.csv",
                            "report-students.csv"})
"""Names of the grader's own files in an output folder: no student id is ever one of them."""

# Learning-management-system download names: the student, then the file as submitted.
LMS_NAMES = (
    # Canvas: lastfirst[_LATE]_<user id>_<submission id>_<file>
    re.compile(r"^(?P<student>[^_]+?)(?:_LATE)?_(?P<user>\d+)_\d+_(?P<file>.+)$", re.IGNORECASE),
    # Blackboard: <assignment>_<user>_attempt_<yyyy-mm-dd-hh-mm-ss>[_<file>]
    re.compile(r"^.+?_(?P<student>[^_]+)_attempt_\d{4}(?:-\d\d){5}(?:_(?P<file>.+))?$"),
)


@dataclass(frozen=True)
class Submission:
    """One student's notebooks."""

    student: str
    notebooks: tuple[Path, ...]
    source: Path
    """The folder or file it was found in, for messages."""
    skipped: tuple[str, ...] = ()
    """Files inside the submission that were not taken, each with why."""
    root: Path | None = None
    """The folder every notebook of the submission must really be in, links resolved: checked
    when the notebook is opened, so a folder swapped for a link after discovery is refused."""


@dataclass(frozen=True)
class Discovery:
    """Every submission found, and every input passed over at the class level, with why."""

    submissions: list[Submission]
    notes: list[str] = field(default_factory=list)


_UNSAFE_IN_ID = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff"
    "\ud800-\udfff\U000e0000-\U000e007f/\\\\:*?\"<>|]")
MAX_ID_BYTES = 150
"""Longest student id, in UTF-8 bytes: a folder name must stay under 255 with any suffix."""


def _safe_name(name: str) -> tuple[str, bool]:
    """``name`` with every character that could hide, move the cursor or make a path replaced
    by ``_``, no leading dot or space, at most :data:`MAX_ID_BYTES`; and whether it changed."""
    text = _UNSAFE_IN_ID.sub("_", name)
    text = re.sub(r"^[\s.]+|\s+$", lambda m: "_" * len(m.group()), text)
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) > MAX_ID_BYTES:
        text = encoded[:MAX_ID_BYTES].decode("utf-8", "ignore")
    text = text or "student"
    return text, text != name or text.casefold() in RESERVED_NAMES


def _collision_key(name: str) -> str:
    """Names one file system may treat as the same folder (case, Unicode forms)."""
    return unicodedata.normalize("NFC", name).casefold()


def _tag(submission: Submission, length: int, copy: int = 0) -> str:
    """A short hash of where a submission came from (its ``copy``-th repeat, if repeated)."""
    raw = f"{submission.student}\0{submission.source}\0{copy}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(raw).hexdigest()[:length]


def student_id(name: str) -> str:
    """``name`` as a student id, if it is safe as it is: a name that had to change (unsafe
    characters, a leading dot, a grader's file name, too long) gets a tag, so it can never
    take another student's id.

    >>> student_id("alice"), student_id("gradebook.csv").startswith("gradebook.csv~")
    ('alice', True)
    """
    safe, changed = _safe_name(name)
    return f"{safe}~{_tag(Submission(name, (), Path()), 6)}" if changed else safe


def _identity(path: Path) -> tuple[int, int] | None:
    """The device and inode of ``path`` itself (not following a link), or ``None``."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _visible(name: str) -> bool:
    return not name.startswith((".", "__MACOSX"))


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as listing:
            return sorted((e for e in listing if _visible(e.name)), key=lambda e: e.name)
    except OSError:
        return []


def _is_notebook(entry: os.DirEntry[str]) -> bool:
    return entry.name.endswith(".ipynb") and entry.is_file(follow_symlinks=False)


def _walk_notebooks(folder: Path) -> tuple[tuple[Path, ...], tuple[str, ...]]:
    """Notebooks below ``folder`` without following links; and what was passed over."""
    found: list[Path] = []
    skipped: list[str] = []
    pending: list[tuple[Path, int]] = [(folder, 0)]
    seen = 0
    while pending:
        directory, depth = pending.pop()
        for entry in _entries(directory):
            seen += 1
            if seen > MAX_ENTRIES:
                skipped.append(f"the folder holds more than {MAX_ENTRIES:,} files; the rest "
                               "were not looked at")
                return tuple(sorted(found)[:MAX_NOTEBOOKS]), _summary(skipped)
            relative = Path(entry.path).relative_to(folder)
            if entry.is_symlink():
                if entry.name.endswith(".ipynb") or entry.is_dir():
                    skipped.append(f"{clean(relative, 200)} is a symbolic link; links are not "
                                   "followed — submit the file itself")
            elif entry.is_dir(follow_symlinks=False):
                if depth < MAX_DEPTH:
                    pending.append((Path(entry.path), depth + 1))
            elif _is_notebook(entry):
                found.append(Path(entry.path))
    found.sort()
    if len(found) > MAX_NOTEBOOKS:
        skipped.append(f"{len(found)} notebooks were found; only the first {MAX_NOTEBOOKS} "
                       "were taken")
        found = found[:MAX_NOTEBOOKS]
    return tuple(found), _summary(skipped)


def _student(name: str, folder: Path) -> Submission:
    found, skipped = _walk_notebooks(folder)
    return Submission(name, found, folder, skipped, folder)


def _looks_like_one_student(folder: Path) -> bool:
    """Notebooks (or nbgrader assignment folders) of one student, not a folder of students.

    A folder holding any ``.zip``, any folder not named after a course notebook, notebooks
    with download names (Canvas, Blackboard), none named after a course notebook, or two
    named after the same one, is a folder of students: each entry is one.
    """
    entries = _entries(folder)
    if any(e.name.endswith(".zip") for e in entries):
        return False
    folders = [e for e in entries if e.is_dir(follow_symlinks=False)]
    loose = [e for e in entries if _is_notebook(e)]
    if folders and not all(e.name in notebooks() for e in folders):
        return False
    if any(_lms_student(e.name) for e in loose):
        return False
    if loose and all(_course_notebook(e.name) is None for e in loose):
        return bool(folders)  # alice.ipynb, bob.ipynb: a student each
    return bool(folders or loose) and not _has_repeats(loose)


def _looks_like_a_class(folder: Path) -> bool:
    """For a zip the instructor named: student folders or zips, download names, or the same
    course notebook twice. Anything else is one student's, named after the zip."""
    entries = _entries(folder)
    loose = [e for e in entries if _is_notebook(e)]
    return (any(e.name.endswith(".zip") for e in entries)
            or any(e.is_dir(follow_symlinks=False) and e.name not in notebooks() for e in entries)
            or any(_lms_student(e.name) for e in loose) or _has_repeats(loose))


def _has_repeats(loose: list[os.DirEntry[str]]) -> bool:
    """Several loose notebooks that are the same course notebook: one per student."""
    names = [_course_notebook(e.name) for e in loose]
    known = [n for n in names if n is not None]
    return len(known) != len(set(known))


def _course_notebook(file_name: str) -> str | None:
    stem = file_name.removesuffix(".ipynb").lower()
    return next((n for n in notebooks() if n in stem or stem.startswith(n[:3])), None)


def _lms_student(file_name: str) -> tuple[str, str] | None:
    """The student part of a download name, and the key its files are grouped by: the name
    with Canvas's user id, so two students' files never merge, even when one names a file
    after the other (they then share a name, and both get a tag)."""
    stem = file_name.removesuffix(".ipynb")
    for pattern in LMS_NAMES:
        match = pattern.match(stem)
        if match:
            user = match.groupdict().get("user") or ""
            return match.group("student"), f"{match.group('student')}\0{user}"
    return None


def _safe_extract(archive: Path, target: Path, zips_too: bool = False) -> list[str]:
    """Extract the notebooks (and, with ``zips_too``, the students' zips) of ``archive`` into
    ``target``; what was passed over, and why.

    Links, absolute paths and ``..`` are refused; only ``.ipynb`` files are written, each at
    most :data:`MAX_NOTEBOOK_BYTES` and :data:`MAX_ZIP_BYTES` in all, whatever the zip's
    headers claim. :class:`UsageError` for a file that is not a readable zip.
    """
    skipped: list[str] = []
    others: list[str] = []
    written = extracted = 0
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = bundle.infolist()
            if len(members) > MAX_ZIP_MEMBERS:
                raise UsageError(f"{archive}: the zip holds too many files to grade safely")
            for member in members:
                name = PurePosixPath(member.filename)
                is_link = (member.external_attr >> 16) & 0o170000 == 0o120000
                wanted = name.name.endswith(".ipynb") or (zips_too and name.name.endswith(".zip"))
                if member.is_dir() or not _visible_path(name):
                    continue
                if not wanted:
                    others.append(name.name)
                    continue
                if is_link or name.is_absolute() or ".." in name.parts:
                    skipped.append(f"{clean(member.filename, 200)} is a link or points "
                                   "outside the zip")
                    continue
                if len(name.parts) > MAX_DEPTH or extracted >= MAX_NOTEBOOKS:
                    skipped.append(f"{clean(member.filename, 200)} was not taken: a zip gives "
                                   f"at most {MAX_NOTEBOOKS} notebooks, at most {MAX_DEPTH} "
                                   "folders deep")
                    continue
                extracted += 1
                budget = min(MAX_NOTEBOOK_BYTES, MAX_ZIP_BYTES - written)
                destination = target.joinpath(*name.parts)
                try:
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    with bundle.open(member) as source, open(destination, "xb") as sink:
                        copied = _copy_at_most(source, sink, budget)
                except OSError as error:  # a name too long, a duplicate: this member only
                    skipped.append(f"{clean(member.filename, 200)} could not be extracted "
                                   f"({error.strerror or error})")
                    continue
                written += copied
                if copied > budget:
                    destination.unlink()
                    skipped.append(f"{clean(member.filename, 200)} is larger than the grader "
                                   "accepts")
    except UsageError:
        raise
    except Exception as error:  # noqa: BLE001 - a broken zip (zlib.error, LZMAError …) is the
        # student's problem, never the run's
        why = f"{type(error).__name__}: {error}"
        raise UsageError(f"{archive}: cannot read the zip file ({clean(why, 200)})") from error
    target.mkdir(parents=True, exist_ok=True)
    if others and zips_too:
        shown = ", ".join(clean(n, 60) for n in others[:3]) + (" …" if len(others) > 3 else "")
        skipped.append(f"{len(others)} other file(s) were not graded: not a notebook or a "
                       f"zip ({shown})")
    return skipped


def _summary(reasons: Sequence[str], shown: int = 5) -> tuple[str, ...]:
    """At most ``shown`` reasons, then how many more: a bomb of a zip is not a wall of text."""
    more = len(reasons) - shown
    return tuple(reasons[:shown]) + ((f"… and {more} more like these",) if more > 0 else ())


def _visible_path(name: PurePosixPath) -> bool:
    return all(_visible(part) for part in name.parts)


def _copy_at_most(source: object, sink: object, budget: int) -> int:
    """Copy until ``budget`` bytes are exceeded; the count copied (``budget + 1`` if over)."""
    copied = 0
    while chunk := source.read(min(1 << 20, budget + 1 - copied)):  # type: ignore[attr-defined]
        sink.write(chunk)  # type: ignore[attr-defined]
        copied += len(chunk)
        if copied > budget:
            break
    return copied


class _Finder:
    """Walks the instructor's paths, collecting submissions and notes."""

    def __init__(self, workspace: Path, exclude: Sequence[Path]) -> None:
        self.workspace = workspace
        self.exclude = {_identity(p) for p in exclude}
        self.found: list[Submission] = []
        self.notes: list[str] = []
        self.zips = 0

    def _extract(self, archive: Path, zips_too: bool = False) -> tuple[Path, list[str]]:
        self.zips += 1
        target = self.workspace / f"zip-{self.zips}"
        return target, _safe_extract(archive, target, zips_too)

    def student_zip(self, archive: Path, name: str) -> None:
        """A zip at the class level: one student, named after the file, whatever it holds."""
        try:
            target, skipped = self._extract(archive)
        except UsageError as error:
            self.notes.append(f"{clean(archive.name)} was not graded: {error}")
            self.found.append(Submission(name, (), archive, (str(error),)))
            return
        found, more = _walk_notebooks(target)
        self.found.append(Submission(name, found, archive, _summary((*skipped, *more)), target))

    def given_zip(self, archive: Path) -> None:
        """A zip the instructor named: a class if it holds students (folders, zips, download
        names), else one student named after the zip."""
        target, skipped = self._extract(archive, zips_too=True)
        self.notes += [f"{clean(archive.name)}: {why}" for why in _summary(skipped)]
        entries = _entries(target)
        if len(entries) == 1 and entries[0].is_dir(follow_symlinks=False):
            target = Path(entries[0].path)  # a single top folder wraps the content
        if _looks_like_a_class(target):
            self.class_folder(target)
        else:
            found, more = _walk_notebooks(target)
            self.found.append(Submission(archive.stem, found, archive, _summary(more), target))

    def class_folder(self, folder: Path) -> None:
        """Each entry of ``folder`` is one student; links and other files are reported."""
        lms: dict[str, tuple[str, list[Path]]] = {}
        for entry in _entries(folder):
            path = Path(entry.path)
            if entry.is_symlink():
                self.notes.append(f"{clean(entry.name)} is a symbolic link; links are not "
                                  "followed, so it was not graded")
            elif entry.is_dir(follow_symlinks=False):
                if _identity(path) not in self.exclude:
                    self.found.append(_student(entry.name, path))
            elif entry.name.endswith(".zip") and entry.is_file(follow_symlinks=False):
                self.student_zip(path, entry.name.removesuffix(".zip"))
            elif _is_notebook(entry):
                download = _lms_student(entry.name)
                if download is not None:
                    lms.setdefault(download[1], (download[0], []))[1].append(path)
                else:
                    self.found.append(Submission(entry.name.removesuffix(".ipynb"), (path,), path,
                                                 root=folder))
            else:
                self.notes.append(f"{clean(entry.name)} is not a folder, a .zip or a notebook; "
                                  "it was not graded")
        for student, paths in lms.values():
            self.found.append(Submission(student, tuple(paths), folder, root=folder))
            if len(paths) > 1:
                self.notes.append(f"{len(paths)} downloaded notebooks were graded as one "
                                  f"student, {clean(student)}, from their file names")

    def folder(self, folder: Path) -> None:
        if _looks_like_one_student(folder):
            self.found.append(_student(folder.resolve().name, folder))
        else:
            self.class_folder(folder)


def find_submissions(paths: Sequence[Path], workspace: Path, student: str | None = None,
                     exclude: Sequence[Path] = ()) -> Discovery:
    """Every submission in ``paths``; :class:`UsageError` for a path that cannot be graded.

    With ``student``, every notebook found anywhere in ``paths`` is that one student's.
    ``exclude`` lists folders to pass over (the output folder, when it is inside a class).
    """
    finder = _Finder(workspace, exclude)
    loose: dict[Path, list[Path]] = {}
    for path in paths:
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
        if path.is_file() and path.suffix == ".ipynb":
            loose.setdefault(path.resolve().parent, []).append(path)
        elif path.is_file() and path.suffix == ".zip":
            finder.given_zip(path)
        elif path.is_dir():
            finder.folder(path)
        else:
            raise UsageError(f"{path}: not a notebook, a folder or a .zip of submissions")
    for folder, files in loose.items():
        finder.found.append(Submission(folder.name, tuple(sorted(set(files))), folder,
                                       root=folder))
    found = finder.found
    if student is not None:
        every = tuple(sorted({p for s in found for p in s.notebooks}))[:MAX_NOTEBOOKS]
        skipped = tuple(why for s in found for why in s.skipped)
        found = [Submission(student, every, paths[0] if paths else Path("."), skipped)]
    unique, renamed = _unique(found)
    return Discovery(unique, finder.notes + renamed)


def _unique(submissions: list[Submission]) -> tuple[list[Submission], list[str]]:
    """Distinct, safe ids, and a note for every name that had to change.

    A name that is safe as it is stays as it is. One that had to change, and every name
    that one file system could confuse with another (``Alice`` and ``alice``, two ``bob``
    folders from two paths), gets a tag from its original name and place (``alice~3f2a1c``),
    so no submission can take another's plain id, whatever order they come in.
    """
    safe = [_safe_name(s.student) for s in submissions]
    groups: dict[str, list[int]] = {}
    repeats: dict[tuple[str, str], int] = {}
    copies = []
    for index, ((name, _), sub) in enumerate(zip(safe, submissions)):
        groups.setdefault(_collision_key(name), []).append(index)
        copies.append(repeats.setdefault((sub.student, str(sub.source)), 0))
        repeats[(sub.student, str(sub.source))] += 1

    def tagged(length: int) -> list[str]:
        return [f"{name}~{_tag(sub, length, copy)}"
                if changed or len(groups[_collision_key(name)]) > 1 else name
                for (name, changed), sub, copy in zip(safe, submissions, copies)]

    ids, length = tagged(6), 6
    while len({_collision_key(i) for i in ids}) < len(ids) and length < 64:
        length += 6  # a name crafted to look like a tagged one: lengthen the tags
        ids = tagged(length)
    notes = [f"{clean(sub.student, 80)!s} is graded as {clean(new_id)}: its name is not safe "
             "as a folder name or could be confused with another student's"
             for sub, new_id in zip(submissions, ids) if new_id != sub.student]
    unique = [Submission(i, s.notebooks, s.source, s.skipped, s.root)
              for i, s in zip(ids, submissions)]
    return unique, notes
