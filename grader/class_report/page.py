"""The class report's page: one self-contained HTML file, tables with captions, no scripts."""

from __future__ import annotations

import base64
import html
import statistics
from collections.abc import Iterable, Mapping, Sequence

from grader._text import clean
from grader.class_report.charts import Chart
from grader.class_report.summary import (CSV_FILES, PROBLEMS, SLOWEST, ClassReport, ScoreStats,
                                          _fmt, _pct)

__all__ = ["render_html"]

# --- The page ------------------------------------------------------------------------------

def _h(text: object, limit: int | None = None) -> str:
    """Any text from a results file as HTML text: cleaned, then escaped (quotes too)."""
    return html.escape(clean(text, limit), quote=True)


def _figure_html(chart: Chart | None) -> str:
    if chart is None:
        return ""
    if not chart.png:
        return f'<p class="note">{_h(chart.alt)}</p>'
    data = base64.b64encode(chart.png).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{_h(chart.alt)}">'
            f"<figcaption>{_h(chart.caption)}</figcaption></figure>")


def _table(table_id: str, caption: str, header: Sequence[str],
           rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    """A table whose first column heads each row; cells are HTML already escaped."""
    head = "".join(f'<th scope="col">{_h(name)}</th>' for name in header)
    body = []
    for row in rows:
        cells = [f'<th scope="row">{row[0]}</th>'] + [
            f'<td class="num">{cell}</td>' if index in numeric else f"<td>{cell}</td>"
            for index, cell in enumerate(row[1:], start=1)]
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (f'<table id="{table_id}"><caption>{_h(caption)}</caption><thead><tr>{head}</tr>'
            f"</thead><tbody>{''.join(body)}</tbody></table>")


def _score_table(table_id: str, caption: str, stats: Sequence[ScoreStats], first: str,
                 not_graded: str) -> str:
    header = [first, "Points", "Students", "Mean", "Mean %", "Median", "Min", "Max",
              "Full marks", "Partial", "No points", not_graded]
    rows = [[_h(s.name), _fmt(s.max_score), str(s.students), _fmt(s.mean), _pct(s.percent),
             _fmt(s.median), _fmt(min(s.scores, default=0.0)), _fmt(max(s.scores, default=0.0)),
             str(s.full_marks), str(s.partial), str(s.no_points), str(s.not_graded)]
            for s in stats]
    return _table(table_id, caption, header, rows, numeric=range(1, len(header)))


def _glance(report: ClassReport) -> str:
    total = report.total
    top = report.mistakes[0] if report.mistakes else None
    items = [
        ("students", "Students", str(total.students)),
        ("mean", "Mean score", f"{total.mean:.1f} / {_fmt(total.max_score)} "
                               f"({_pct(total.percent)})"),
        ("median", "Median score", _fmt(total.median)),
        ("full-marks", "Full marks", str(total.full_marks)),
        ("attention", "Students to look at (timeouts, crashes, missing notebooks)",
         f'<a href="#attention">{len(report.attention)}</a>'),
        ("top-mistake", "Most common mistake",
         f"{_h(top.name)} ({top.students} students)" if top else "none named"),
    ]
    return '<dl class="glance">' + "".join(
        f'<div><dt>{_h(label)}</dt><dd id="glance-{key}">{value}</dd></div>'
        for key, label, value in items) + "</dl>"


def _attention_table(report: ClassReport) -> str:
    header = ["Student", *PROBLEMS.values(), "Details"]
    rows = []
    for record in report.attention:
        details = "".join(
            f"<li>{_h(p.kind)}{': ' + _h(p.where) if p.where else ''} — {_h(p.detail, 300)}</li>"
            for p in record.problems[:12])
        more = len(record.problems) - 12
        if more > 0:
            details += f"<li>… and {more} more (report-problems.csv)</li>"
        rows.append([_h(record.student), *(str(record.count(k)) for k in PROBLEMS),
                     f"<ul>{details}</ul>"])
    return _table("attention", "Students whose grading hit a timeout, a crash, a missing or "
                  "unreadable notebook, an exercise that could not be run, or a grader failure "
                  "(counts are exercises, or notebooks)", header, rows,
                  numeric=range(1, len(PROBLEMS) + 1))


def _time_section(report: ClassReport) -> str:
    seconds = sorted(report.seconds)
    if not seconds:
        return "<p>No grading times were recorded.</p>"
    p95 = seconds[min(len(seconds) - 1, round(0.95 * (len(seconds) - 1)))]
    facts = (f"<p>Total {sum(seconds):.1f} s of grading for {len(seconds)} submissions; "
             f"median {statistics.median(seconds):.2f} s, 95th percentile {p95:.2f} s, "
             f"longest {seconds[-1]:.2f} s.</p>")
    slowest = sorted((r for r in report.records if r.seconds is not None),
                     key=lambda r: (-(r.seconds or 0.0), r.student))[:SLOWEST]
    table = _table("slowest", f"The {len(slowest)} slowest submissions to grade",
                   ["Student", "Seconds", "Score"],
                   [[_h(r.student), f"{r.seconds:.2f}", f"{_fmt(r.score)} / {_fmt(r.max_score)}"]
                    for r in slowest], numeric=(1, 2))
    return facts + table


STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:72rem;padding:1rem 1.5rem 3rem;color:#1a1a1a;line-height:1.45}
h1{margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:2px solid #0072B2}
nav ul{display:flex;flex-wrap:wrap;gap:.3rem 1.2rem;list-style:none;padding:0}
.glance{display:grid;grid-template-columns:repeat(auto-fit,minmax(11rem,1fr));gap:.6rem;
margin:1rem 0}.glance div{border:1px solid #bbb;border-radius:.4rem;padding:.5rem .7rem}
.glance dt{font-size:.85rem;color:#444}.glance dd{margin:0;font-size:1.25rem;font-weight:600}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}
caption{text-align:left;font-weight:600;padding:.3rem 0}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
thead th{background:#eef3f8}tbody tr:nth-child(even){background:#f7f7f7}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td ul{margin:0;padding-left:1.1rem}figure{margin:1rem 0}
img{max-width:100%;height:auto}figcaption{font-size:.9rem;color:#333}
.scroll{max-height:36rem;overflow:auto}.note{color:#444;font-size:.9rem}
"""


def render_html(report: ClassReport, figures: Mapping[str, Chart]) -> str:
    """The page: sections in the order an instructor asks — how did they do, where did they
    go wrong, who needs a look, how long did it take."""
    total = report.total
    notebooks = ", ".join(_h(s.name) for s in report.notebooks) or "none"
    left_out = (f'<p class="note">{len(report.left_out)} student(s) of the class have no '
                "readable results.json and are left out, as in gradebook.csv: "
                f"{', '.join(_h(s) for s in report.left_out)}.</p>" if report.left_out else "")
    tests = _table("tests", "Every test: how many students passed it", [
        "Test", "Exercise", "Kind", "Passed", "Students", "Pass rate"],
        [[_h(t.name), _h(t.exercise), "hidden" if t.hidden else "public", str(t.passed),
          str(t.students), _pct(t.rate)] for t in report.tests], numeric=(3, 4, 5))
    mistakes = _table("mistakes", "Named mistakes, ranked by the students who made them "
                      "(each student once per mistake)", [
                          "Mistake", "Rank", "Students", "Exercises (students)", "Hint"],
                      [[_h(m.name), str(rank), str(m.students),
                        _h("; ".join(f"{e} ({n})" for e, n in m.exercises)), _h(m.hint, 600)]
                       for rank, m in enumerate(report.mistakes, start=1)], numeric=(1, 2))
    if not report.mistakes:
        mistakes = "<p>No test output named a known mistake.</p>"
    attention = (_attention_table(report) if report.attention else
                 "<p>No timeouts, crashes, missing or unreadable notebooks.</p>")
    sections = [
        ("notebooks", "Scores per notebook", _figure_html(figures.get("notebooks")) + _score_table(
            "notebook-scores", "Scores per notebook, in points", report.notebooks, "Notebook",
            "Not handed in or unreadable")),
        ("exercises", "Scores per exercise", _figure_html(figures.get("exercises")) + _score_table(
            "exercise-scores", "Scores per exercise, in points", report.exercises, "Exercise",
            "Not graded")),
        ("tests", "Pass rate per test", _figure_html(figures.get("tests"))
         + f'<div class="scroll">{tests}</div>'),
        ("mistakes", "Named mistakes", _figure_html(figures.get("mistakes")) + mistakes),
        ("attention", "Students to look at", attention),
        ("time", "Grading time", _figure_html(figures.get("time")) + _time_section(report)),
    ]
    nav = "".join(f'<li><a href="#{key}">{_h(title)}</a></li>' for key, title, _ in sections)
    body = "".join(f'<section id="{key}" aria-labelledby="{key}-title"><h2 id="{key}-title">'
                   f"{_h(title)}</h2>{content}</section>" for key, title, content in sections)
    files = "".join(f'<li><a href="{name}">{name}</a></li>' for name in CSV_FILES)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; \
style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">
<title>Class report</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1>Class report</h1>
<p>{total.students} students graded on {notebooks}. Every number comes from the students'
results.json files, the same students as gradebook.csv.</p>
{left_out}
{_glance(report)}
<nav aria-label="Sections"><ul>{nav}</ul></nav>
</header>
<main>{body}</main>
<footer><h2>Data</h2><p>The numbers behind this page, as CSV files beside it:</p>
<ul>{files}</ul></footer>
</body>
</html>
"""


