"""Write grades: Gradescope's ``results.json`` and a readable ``feedback.md`` per student,
and ``gradebook.csv`` for the class — every file written atomically, so an interrupted
run never leaves half a file behind.

The gradebook is rebuilt from the students' ``results.json`` files, so a resumed or
partial run still produces a complete, consistent table.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Sequence
from itertools import groupby
from pathlib import Path
from typing import Any

from grader.errors import OutputError
from grader.results import ExerciseResult, StudentResult

__all__ = ["read_results", "results_json", "feedback_markdown", "write_gradebook",
           "write_student", "write_text_atomically"]

RESULTS = "results.json"
FEEDBACK = "feedback.md"
GRADEBOOK = "gradebook.csv"


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and a rename: all or nothing."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        os.replace(temporary, path)
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from error


def _fmt(points: float) -> str:
    return f"{points:g}"


def results_json(result: StudentResult) -> dict[str, Any]:
    """Gradescope's results schema, with the seed and sandbox kept in ``extra_data``."""
    tests = []
    for exercise in result.exercises:
        for verdict in exercise.verdicts:
            tests.append({
                "name": verdict.test.name,
                "score": verdict.score,
                "max_score": float(verdict.test.points),
                "status": "passed" if verdict.passed else "failed",
                "output": verdict.feedback(),
                "visibility": "after_published" if verdict.test.hidden else "visible",
            })
    summary = [f"Hidden tests were drawn with seed {result.seed}.", f"Sandbox: {result.sandbox}"]
    summary += list(result.notes)
    if result.failure:
        summary.append("The grader failed on part of this submission; your instructor has "
                       "the details.")
    return {
        "score": result.score,
        "max_score": result.max_score,
        "execution_time": round(result.execution_time, 3),
        "output": "\n".join(summary),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {
            "student": result.student,
            "seed": result.seed,
            "sandbox": result.sandbox,
            "fingerprint": result.fingerprint,
            "notes": list(result.notes),
            "grader_failure": result.failure,
            "exercises": {
                e.name: {"notebook": e.notebook, "score": e.score, "max_score": e.max_score}
                for e in result.exercises
            },
        },
    }


def feedback_markdown(result: StudentResult) -> str:
    """The feedback a student reads: score, then every exercise's tests, failures explained."""
    lines = [f"# Feedback for {result.student}", "",
             f"**Score: {_fmt(result.score)} / {_fmt(result.max_score)}**", ""]
    lines += [f"> {note}" for note in result.notes]
    for notebook, group in groupby(result.exercises, key=lambda e: e.notebook):
        exercises = list(group)
        lines += ["", f"## {notebook}"]
        reasons = {e.not_graded for e in exercises}
        if len(reasons) == 1 and "" not in reasons:
            total = sum(e.max_score for e in exercises)
            lines += ["", f"0 / {_fmt(total)} — {reasons.pop().removeprefix('was ')}."]
            continue
        for exercise in exercises:
            lines += _exercise_lines(exercise)
    lines += ["", "---", f"Hidden tests were drawn with seed {result.seed}. "
              f"Sandbox: {result.sandbox}", ""]
    return "\n".join(lines)


def _exercise_lines(exercise: ExerciseResult) -> list[str]:
    """One exercise's tests, failures explained; a hint already shown reads "as above"."""
    lines = ["", f"### `{exercise.name}` — {_fmt(exercise.score)} / {_fmt(exercise.max_score)}", ""]
    seen: set[str] = set()
    for verdict in exercise.verdicts:
        mark = "✓" if verdict.passed else "✗"
        lines.append(f"- {mark} {verdict.test.title} ({_fmt(verdict.score)}/"
                     f"{_fmt(verdict.test.points)})")
        if not verdict.passed:
            lines += ["", "  ```text"]
            feedback = verdict.feedback(show_hint=verdict.hint not in seen)
            lines += [f"  {line}" for line in feedback.splitlines()]
            lines += ["  ```", ""]
            seen.add(verdict.hint)
    return lines


def write_student(out: Path, result: StudentResult) -> None:
    """Write one student's ``results.json`` and ``feedback.md`` (and the grader's traceback)."""
    folder = out / result.student
    write_text_atomically(folder / FEEDBACK, feedback_markdown(result))
    if result.failure:
        write_text_atomically(folder / "grader-error.txt", result.failure)
    # results.json last: its presence marks the student as done when a run resumes.
    write_text_atomically(folder / RESULTS, json.dumps(results_json(result), indent=1) + "\n")


def read_results(out: Path) -> dict[str, dict[str, Any]]:
    """Every student's ``results.json`` under ``out``; unreadable ones are skipped."""
    found = {}
    for path in sorted(out.glob(f"*/{RESULTS}")):
        try:
            found[path.parent.name] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
    return found


def write_gradebook(out: Path, exercises: Sequence[str], students: Sequence[str]) -> Path:
    """``gradebook.csv``: a row per student, a column per exercise, then total and maximum."""
    results = read_results(out)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", *exercises, "score", "max_score"])
    for student in sorted(set(students) | set(results)):
        data = results.get(student)
        if data is None:
            continue
        per_exercise = data.get("extra_data", {}).get("exercises", {})
        writer.writerow([student, *(_fmt(per_exercise.get(e, {}).get("score", 0.0)) for e in exercises),
                         _fmt(data.get("score", 0.0)), _fmt(data.get("max_score", 0.0))])
    path = out / GRADEBOOK
    write_text_atomically(path, buffer.getvalue())
    return path
