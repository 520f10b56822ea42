"""Combine the folders of a class graded in shards into one output folder.

    python -m grader grade class/ --out part1 --seed 7 --shard 1/3     # … 2/3, 3/3, anywhere
    python -m grader merge part1 part2 part3 --out grades

Each shard records its seed, notebooks, grader version, sandbox, place and students
(``grading-run.json``); shards that differ in any of the first four are refused, since their
grades would not be comparable, and only the students a shard graded in its last run are
merged (a student since removed from the class keeps no row, as in an unsharded run).
Students' files are copied (only the grader's own file names, never through a link), and the
gradebook is written for the whole class, as one unsharded run writes it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.class_report import write_class_report
from grader.errors import UsageError
from grader.exercises import notebooks
from grader.report import FEEDBACK, GRADER_ERROR, RESULTS, write_gradebook, write_text_atomically

__all__ = ["MergeSummary", "merge"]

RUN_FILE = "grading-run.json"


@dataclass(frozen=True)
class MergeSummary:
    """What a merge did, for the command line to report."""

    out: Path
    students: int
    shards: int
    missing: tuple[int, ...]
    """Shards of the class not among those merged (their students have no row)."""
    gradebook: Path


def _record(folder: Path) -> dict[str, Any]:
    try:
        record = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UsageError(f"{folder}: not a graded shard (no readable {RUN_FILE})") from error
    if not isinstance(record, dict) or not isinstance(record.get("shard"), list):
        raise UsageError(f"{folder}: not graded with --shard i/n")
    if not (isinstance(record.get("students"), list)
            and all(isinstance(name, str) and name and "/" not in name and name not in (".", "..")
                    for name in record["students"])):
        raise UsageError(f"{folder}: its {RUN_FILE} does not list the shard's students; grade "
                         "the shard again with this grader")
    return record


def merge(shards: Sequence[Path], out: Path) -> MergeSummary:
    """Merge the shard folders ``shards`` into ``out``."""
    if not shards:
        raise UsageError("give the shard folders to merge")
    records = [_record(folder) for folder in shards]
    first = records[0]
    for folder, record in zip(shards, records):
        for key in ("seed", "notebooks", "grader", "sandbox"):
            if record.get(key) != first.get(key):
                raise UsageError(f"{folder} was graded with a different {key} than {shards[0]}: "
                                 "grade every shard with the same --seed, grader version and "
                                 "sandbox")
        if record["shard"][1] != first["shard"][1]:
            raise UsageError(f"{folder} is a shard of {record['shard'][1]}, {shards[0]} of "
                             f"{first['shard'][1]}")
    places = [record["shard"][0] for record in records]
    if len(set(places)) != len(places):
        raise UsageError("the same shard is given twice: " + ", ".join(map(str, shards)))
    if out.resolve() in {folder.resolve() for folder in shards}:
        raise UsageError(f"--out {out} is one of the shards: merge into a new folder")
    students: dict[str, Path] = {}
    for folder, record in zip(shards, records):
        for name in record["students"]:  # the shard's class, not every folder left in it
            entry = folder / name
            if entry.is_symlink() or not entry.is_dir() or not (entry / RESULTS).is_file():
                continue
            if name in students:
                raise UsageError(f"{name} is in two shards ({students[name]} and "
                                 f"{folder}): they were not split by the same grader")
            students[name] = folder
    for student, folder in students.items():
        for name in (FEEDBACK, GRADER_ERROR, RESULTS):  # results.json last, as when grading
            source = folder / student / name
            if source.is_file() and not source.is_symlink():
                write_text_atomically(out / student / name, source.read_text(encoding="utf-8"))
    record = {key: first[key] for key in ("seed", "notebooks", "sandbox", "grader") if key in first}
    write_text_atomically(out / RUN_FILE, json.dumps(record, indent=1) + "\n")
    exercises = [e.name for name in first["notebooks"] for e in notebooks().get(name, ())]
    gradebook = write_gradebook(out, exercises, list(students))
    write_class_report(out, exercises, list(students))
    count = first["shard"][1]
    missing = tuple(i for i in range(1, count + 1) if i not in places)
    return MergeSummary(out, len(students), len(shards), missing, gradebook)
