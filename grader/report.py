"""Write grades: Gradescope's ``results.json`` and a readable ``feedback.md`` per student,
and ``gradebook.csv`` for the class — every file written atomically, so an interrupted
run never leaves half a file behind.

The gradebook is rebuilt from the students' ``results.json`` files, so a resumed or
partial run still produces a complete, consistent table.

Student-controlled text (ids, file names, error messages, type names) is escaped for each
file's medium by :mod:`grader._text`: feedback messages sit in code blocks nothing can
close, other Markdown is escaped, text in JSON is valid Unicode, and no gradebook cell can
start a spreadsheet formula.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import tempfile
from collections.abc import Sequence
from itertools import groupby
from pathlib import Path
from typing import Any

from grader._text import clean, csv_cell, markdown_code_block, markdown_code_span, markdown_text
from grader.errors import OutputError
from grader.results import ExerciseResult, StudentResult
from stridelab.judging import TestVerdict

__all__ = ["feedback_markdown", "read_results", "render_student", "results_json",
           "write_gradebook", "write_rendered", "write_student", "write_text_atomically"]

RESULTS = "results.json"
FEEDBACK = "feedback.md"
GRADEBOOK = "gradebook.csv"
GRADER_ERROR = "grader-error.txt"


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and a rename: all or nothing.

    Characters UTF-8 cannot encode (lone surrogates) are written as ``\\udXXX`` escapes
    rather than failing the write; callers escape text for its medium before this.
    """
    temporary = ""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o666 & ~_umask())  # as any new file: readable by the group
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace", newline="") as file:
            file.write(text)
        os.replace(temporary, path)
    except OSError as error:
        if temporary:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from error


def _umask() -> int:
    """The process's umask (reading it means setting it; restored at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fmt(points: float) -> str:
    return f"{points:g}"


def results_json(result: StudentResult) -> dict[str, Any]:
    """Gradescope's results schema, with the seed and sandbox kept in ``extra_data``.

    Every text is :func:`~grader._text.clean`: valid Unicode without control characters.
    """
    tests = []
    for exercise in result.exercises:
        for verdict in exercise.verdicts:
            tests.append({
                "name": clean(verdict.test.name),
                "score": verdict.score,
                "max_score": float(verdict.test.points),
                "status": "passed" if verdict.passed else "failed",
                "output": clean(verdict.feedback()),
                "visibility": "after_published" if verdict.test.hidden else "visible",
            })
    notes = [clean(note) for note in result.notes]
    summary = [*notes, _seed_sentence(result), f"Sandbox: {clean(result.sandbox)}"]
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
            "student": clean(result.student),
            "seed": result.seed,
            "case_seed": result.case_seed,
            "sandbox": clean(result.sandbox),
            "fingerprint": clean(result.fingerprint),
            "notes": notes,
            "grader_failure": clean(result.failure),
            "exercises": {
                clean(e.name): {"notebook": clean(e.notebook), "score": e.score,
                                "max_score": e.max_score}
                for e in result.exercises
            },
        },
    }


def feedback_markdown(result: StudentResult) -> str:
    """The feedback a student reads: score, then every exercise's tests, failures explained.

    What the student's code or files said (messages, type names, file names) is shown in
    code blocks or escaped, so it reads as text and never as Markdown or HTML.
    """
    lines = [f"# Feedback for {markdown_text(result.student)}", "",
             f"**Score: {_fmt(result.score)} / {_fmt(result.max_score)}**", ""]
    lines += [f"> {markdown_text(note)}" for note in result.notes]
    for notebook, group in groupby(result.exercises, key=lambda e: e.notebook):
        exercises = list(group)
        lines += ["", f"## {markdown_text(notebook)}"]
        reasons = {e.not_graded for e in exercises}
        if len(reasons) == 1 and "" not in reasons:
            total = sum(e.max_score for e in exercises)
            reason = markdown_text(reasons.pop().removeprefix('was '))
            lines += ["", f"0 / {_fmt(total)} — {reason}."]
            continue
        for exercise in exercises:
            lines += _exercise_lines(exercise)
    lines += ["", "---", f"{_seed_sentence(result)} Sandbox: {markdown_text(result.sandbox)}", ""]
    return "\n".join(lines)


def _seed_sentence(result: StudentResult) -> str:
    """Where the hidden cases came from, for the student: not the seed itself, which would
    let a resubmission predict its own hidden cases (it stays in ``extra_data`` and in the
    run record, for the instructor)."""
    return ("Hidden tests were drawn afresh for this submission (a changed submission meets new "
            "hidden cases); your instructor can reproduce them.")


def _exercise_lines(exercise: ExerciseResult) -> list[str]:
    """One exercise's tests, failures explained once: a test failing the same way as the one
    before says so in a line, and a hint already shown reads "as above"."""
    lines = ["", f"### {markdown_code_span(exercise.name)} — {_fmt(exercise.score)} / "
             f"{_fmt(exercise.max_score)}", ""]
    if exercise.not_graded:
        return lines + [f"Not graded: {markdown_text(exercise.not_graded.removeprefix('was not graded: '))}", ""]
    seen: set[str] = set()
    previous = ""
    for verdict in exercise.verdicts:
        mark = "✓" if verdict.passed else "✗"
        line = (f"- {mark} {markdown_text(verdict.test.title)} ({_fmt(verdict.score)}/"
                f"{_fmt(verdict.test.points)})")
        if verdict.passed:
            lines.append(line)
            continue
        failure = _failure_key(verdict)
        if failure and failure == previous:
            lines.append(f"{line} — the same failure as above")
            continue
        previous = failure
        feedback = verdict.feedback(show_hint=verdict.hint not in seen)
        lines += [line, "", *markdown_code_block(feedback, indent="  "), ""]
        seen.add(verdict.hint)
    return lines


def _failure_key(verdict: TestVerdict) -> str:
    """What went wrong in a test, without the call it went wrong on."""
    message = verdict.failures[0][1].message if verdict.failures else ""
    for separator in (" → ", " raised "):
        if separator in message:
            what = message.split(separator, 1)[1].removeprefix("was skipped: an earlier case ")
            return re.sub(r"\d+", "#", what)  # sizes and indices differ from case to case
    return ""


def render_student(result: StudentResult) -> dict[str, str]:
    """One student's files, name → text, in the order they are written: ``results.json``
    last, as its presence marks the student as done when a run resumes."""
    files = {FEEDBACK: feedback_markdown(result)}
    if result.failure:
        files[GRADER_ERROR] = clean(result.failure)
    files[RESULTS] = json.dumps(results_json(result), indent=1) + "\n"
    return files


def write_rendered(out: Path, student: str, files: dict[str, str]) -> None:
    """Write files from :func:`render_student` (made here or on a cluster's worker)."""
    for name, text in files.items():
        if name not in (FEEDBACK, GRADER_ERROR, RESULTS):
            raise OutputError(f"refusing to write an unknown file {name!r} for {student}")
        write_text_atomically(out / student / name, text)


def write_student(out: Path, result: StudentResult) -> None:
    """Write one student's ``results.json`` and ``feedback.md`` (and the grader's traceback)."""
    write_rendered(out, result.student, render_student(result))


def read_results(out: Path) -> dict[str, dict[str, Any]]:
    """Every student's ``results.json`` under ``out``; unreadable ones are skipped."""
    found = {}
    for path in sorted(out.glob(f"*/{RESULTS}")):
        try:
            found[path.parent.name] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
    return found


def _points(data: Any, key: str = "score") -> str:
    """A score read back from a results file, or 0 if the file does not hold a number."""
    value = data.get(key, 0.0) if isinstance(data, dict) else 0.0
    return _fmt(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else "0"


def write_gradebook(out: Path, exercises: Sequence[str], students: Sequence[str]) -> Path:
    """``gradebook.csv``: a row per student of ``students`` (this run's class) that has
    results, a column per exercise, then total and maximum."""
    results = read_results(out)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", *map(csv_cell, exercises), "score", "max_score"])
    for student in sorted(set(students)):
        data = results.get(student)
        if not isinstance(data, dict):
            continue
        extra = data.get("extra_data") if isinstance(data.get("extra_data"), dict) else {}
        per_exercise = extra.get("exercises") if isinstance(extra.get("exercises"), dict) else {}
        scores = (_points(per_exercise.get(e, {})) for e in exercises)
        writer.writerow([csv_cell(student), *scores, _points(data),
                         _points(data, "max_score")])
    path = out / GRADEBOOK
    write_text_atomically(path, buffer.getvalue())
    return path
