"""The class report: ``report.html``, one self-contained page an instructor reads at a glance,
and the CSV files behind it — written after every grading run and every merge.

    write_class_report(out, exercises, students)
      read    the students' results.json files (the class of gradebook.csv)  → StudentRecord
      sum up  scores per notebook and exercise, pass rates per test, the named mistakes,
              timeouts, crashes and missing or unreadable notebooks, grading times → ClassReport
      write   report-notebooks.csv, report-exercises.csv, report-tests.csv,
              report-mistakes.csv, report-problems.csv, report-students.csv, then report.html

Everything comes from the results files alone, as the gradebook does, so a resumed, merged
or partial run reports exactly the students of its gradebook. A named mistake is read from a
test's ``Hint: NAME — TEXT`` line (a student counts once per mistake, however many tests show
it); timeouts and crashes from the sandbox's messages after a call's ``→``; missing and
unreadable notebooks from ``Not graded:`` lines. A student's own error messages are part of
those outputs, so a student could make their own row claim a mistake or a crash: the
counts are what the outputs say.

The page loads nothing: figures are PNG images in ``data:`` addresses (matplotlib, Agg, the
Okabe–Ito colours), tables are real tables with captions and header scopes, and a Content
Security Policy forbids scripts and every other source. Every text from a results file is
escaped for HTML (:func:`html.escape` after :func:`~grader._text.clean`) and every CSV text
cell with :func:`~grader._text.csv_cell`.
"""


from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from grader.class_report.charts import Chart, charts
from grader.class_report.page import render_html
from grader.class_report.summary import (CSV_FILES, REPORT, REPORT_FILES, ClassReport,
                                          summarize)
from grader.class_report.tables import csv_tables
from grader.report import write_text_atomically

__all__ = ["CSV_FILES", "REPORT", "REPORT_FILES", "Chart", "ClassReport", "charts", "csv_tables",
           "render_html", "summarize", "write_class_report"]


def write_class_report(out: Path, exercises: Sequence[str], students: Sequence[str]) -> Path:
    """Write ``report.html`` and its CSV files into ``out`` for ``students`` (this run's
    class) and ``exercises`` (the gradebook's columns); return the page's path."""
    report = summarize(out, exercises, students)
    for name, text in csv_tables(report).items():
        write_text_atomically(out / name, text)
    path = out / REPORT
    write_text_atomically(path, render_html(report, charts(report)))
    return path
