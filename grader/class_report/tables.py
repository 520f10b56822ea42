"""The CSV files behind the class report."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from grader._text import csv_cell
from grader.class_report.summary import CSV_FILES, PROBLEMS, ClassReport, ScoreStats, _fmt, _points

__all__ = ["csv_tables"]

# --- The CSV files ---------------------------------------------------------------------------

def _csv(rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow([cell if isinstance(cell, (int, float)) else csv_cell(cell)
                         for cell in row])
    return buffer.getvalue()


def _score_rows(stats: Sequence[ScoreStats], first: str, notebook_column: bool
                ) -> list[list[object]]:
    header = [first, *(["notebook"] if notebook_column else []), "max_score", "students",
              "mean", "median", "min", "max", "mean_percent", "full_marks", "partial",
              "no_points", "not_graded"]
    return [header] + [[s.name, *([s.notebook] if notebook_column else []), _fmt(s.max_score),
                        s.students, _fmt(s.mean), _fmt(s.median),
                        _fmt(min(s.scores, default=0.0)), _fmt(max(s.scores, default=0.0)),
                        _fmt(s.percent), s.full_marks, s.partial, s.no_points, s.not_graded]
                       for s in stats]


def csv_tables(report: ClassReport) -> dict[str, str]:
    """Every CSV file of the report, name → text."""
    names = dict(zip(("notebooks", "exercises", "tests", "mistakes", "problems", "students"),
                     CSV_FILES))
    tests = [["exercise", "test", "visibility", "passed", "students", "pass_rate_percent"]]
    tests += [[t.exercise, t.name, "hidden" if t.hidden else "public", t.passed, t.students,
               _fmt(t.rate)] for t in report.tests]
    mistakes = [["rank", "mistake", "students", "exercises", "hint"]]
    mistakes += [[rank, m.name, m.students, "; ".join(f"{e} ({n})" for e, n in m.exercises),
                  m.hint] for rank, m in enumerate(report.mistakes, start=1)]
    problems = [["student", "problem", "where", "detail"]]
    problems += [[r.student, p.kind, p.where, p.detail] for r in report.records
                 for p in r.problems]
    students = [["student", "score", "max_score", "execution_time", *(
        kind.replace(" ", "_") for kind in PROBLEMS), "mistakes"]]
    students += [[r.student, _points(r.score), _points(r.max_score),
                  "" if r.seconds is None else f"{r.seconds:.3f}",
                  *(r.count(kind) for kind in PROBLEMS), "; ".join(sorted(r.mistakes))]
                 for r in report.records]
    return {names["notebooks"]: _csv(_score_rows(report.notebooks, "notebook", False)),
            names["exercises"]: _csv(_score_rows(report.exercises, "exercise", True)),
            names["tests"]: _csv(tests), names["mistakes"]: _csv(mistakes),
            names["problems"]: _csv(problems), names["students"]: _csv(students)}


