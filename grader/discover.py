"""Find the submissions in the paths an instructor gives: who submitted which notebooks.

Accepted, and told apart by what they contain:

- a notebook file — graded as the submission of the folder it is in;
- one student's folder — notebooks directly inside it, or nbgrader's
  ``<student>/<assignment>/`` folders named after course notebooks;
- a folder of student folders — nbgrader's ``submitted/`` included; loose notebooks in it
  are students named after the file;
- a ``.zip`` of any of these, extracted safely into a private workspace first.

>>> [s.student for s in find_submissions([Path("solutions")], Path("/tmp"))]  # doctest: +SKIP
['solutions']
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.errors import UsageError
from grader.exercises import notebooks

__all__ = ["Submission", "find_submissions"]

MAX_ZIP_BYTES = 2 * 2**30
MAX_ZIP_FILES = 100_000


@dataclass(frozen=True)
class Submission:
    """One student's notebooks."""

    student: str
    notebooks: tuple[Path, ...]
    source: Path
    """The folder or file it was found in, for messages."""


def _visible(path: Path) -> bool:
    return not any(part.startswith((".", "__MACOSX")) for part in path.parts)


def _notebooks_below(folder: Path) -> tuple[Path, ...]:
    found = (p for p in folder.rglob("*.ipynb") if p.is_file() and _visible(p.relative_to(folder)))
    return tuple(sorted(found))


def _children(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if _visible(Path(p.name)))


def _is_student_folder(folder: Path) -> bool:
    """Notebooks directly inside, or only nbgrader assignment folders named after notebooks."""
    children = _children(folder)
    if any(p.suffix == ".ipynb" and p.is_file() for p in children):
        return True
    folders = [p for p in children if p.is_dir()]
    return bool(folders) and all(p.name in notebooks() for p in folders)


def _extract_zip(archive: Path, workspace: Path) -> tuple[Path, str]:
    """Extract ``archive`` under ``workspace``, refusing paths that escape and zip bombs.

    Returns the folder to grade and the name of its student, should it be one student's.
    """
    target = workspace / f"zip-{len(list(workspace.glob('zip-*')))}" / archive.stem
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = bundle.infolist()
            if len(members) > MAX_ZIP_FILES or sum(m.file_size for m in members) > MAX_ZIP_BYTES:
                raise UsageError(f"{archive}: the zip is too large to grade safely")
            for member in members:
                name = PurePosixPath(member.filename)
                is_link = (member.external_attr >> 16) & 0o170000 == 0o120000
                if member.is_dir() or is_link or name.is_absolute() or ".." in name.parts:
                    continue
                destination = target.joinpath(*name.parts)
                destination.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(member) as source, open(destination, "wb") as sink:
                    sink.write(source.read(MAX_ZIP_BYTES))
    except (zipfile.BadZipFile, OSError) as error:
        raise UsageError(f"{archive}: cannot read the zip file ({error})") from error
    target.mkdir(parents=True, exist_ok=True)
    children = _children(target)
    if len(children) == 1 and children[0].is_dir() and not _is_student_folder(target):
        return children[0], children[0].name  # unwrap a single top-level folder
    return target, archive.stem


def _from_folder(folder: Path, name: str) -> Iterable[Submission]:
    if _is_student_folder(folder):
        yield Submission(name, _notebooks_below(folder), folder)
        return
    for child in _children(folder):
        if child.is_dir():
            yield Submission(child.name, _notebooks_below(child), child)
        elif child.suffix == ".ipynb":
            yield Submission(child.stem, (child,), child)


def find_submissions(paths: Sequence[Path], workspace: Path,
                     student: str | None = None) -> list[Submission]:
    """Every submission in ``paths``; :class:`UsageError` for a path that cannot be graded.

    With ``student``, every notebook found anywhere in ``paths`` is that one student's.
    """
    if student is not None:
        submissions = find_submissions(paths, workspace)
        notebooks_found = tuple(sorted({p for s in submissions for p in s.notebooks}))
        return [Submission(student, notebooks_found, paths[0] if paths else Path("."))]
    found: list[Submission] = []
    loose: dict[Path, list[Path]] = {}
    for path in paths:
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
        if path.is_file() and path.suffix == ".ipynb":
            loose.setdefault(path.resolve().parent, []).append(path)
        elif path.is_file() and path.suffix == ".zip":
            found += _from_folder(*_extract_zip(path, workspace))
        elif path.is_dir():
            found += _from_folder(path, path.resolve().name)
        else:
            raise UsageError(f"{path}: not a notebook, a folder or a .zip of submissions")
    for folder, files in loose.items():
        found.append(Submission(folder.name, tuple(sorted(set(files))), folder))
    return _unique(found)


def _unique(submissions: list[Submission]) -> list[Submission]:
    """Give students who share a name distinct ids (``alice``, ``alice-2``)."""
    seen: dict[str, int] = {}
    unique = []
    for submission in submissions:
        count = seen.get(submission.student, 0) + 1
        seen[submission.student] = count
        if count > 1:
            submission = Submission(f"{submission.student}-{count}", submission.notebooks,
                                    submission.source)
        unique.append(submission)
    return unique
