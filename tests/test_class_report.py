"""The class report: does report.html, and the CSV files behind it, tell an instructor the
truth about this run's class — the gradebook's numbers, the mistakes, the students to look
at — as a page that loads nothing and runs nothing a student wrote?

One class is graded once (in-process, with sandbox failures on cue) for the whole module;
the merge test grades it again in two shards.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import pytest

from grader._session import failure
from grader.class_report import CSV_FILES, REPORT, REPORT_FILES, write_class_report
from grader.discover import RESERVED_NAMES, student_id
from grader.grade import GradingOptions, grade
from grader.merge import merge
from grader.sandbox import InProcessSandbox, Limits, Session
from tests.submissions import write_submission
from tests.test_grade import FLIPPED, SWAPPED

NB01, NB02 = "01_convolution_dot_product", "02_stride"
SEED = 5
AMPERSAND = "o'brien & co"
"""A real folder name that survives the grader's id rules and still needs HTML escaping."""
HOSTILE = "<img src=x onerror=alert(1)><script>alert(2)<\\script>"
"""A folder name the grader itself would rename, written straight into the output folder (as
a merge copies a shard's folders): the report must still show it as text."""


class TroubleSandbox(InProcessSandbox):
    """The in-process fake, with the real sandbox's failures on cue: a function whose body
    holds the string "HANG" times out when called, one holding "CRASH" kills the worker."""

    def open(self, deadline: float, files: Any = ()) -> Session:
        session = super().open(deadline, files)
        original = session.request
        cues: dict[str, str] = {}

        def request(message: dict[str, Any], deadline: float, max_bytes: int) -> dict[str, Any]:
            if message.get("op") == "exec":
                source = str(message.get("source", ""))
                for cue in ("HANG", "CRASH"):
                    if f'"{cue}"' in source:
                        cues.update(dict.fromkeys(re.findall(r"def (\w+)", source), cue))
            elif cues.get(str(message.get("function"))) == "HANG":
                raise failure("limit", "did not finish within 5 s of wall-clock time (an "
                              "infinite loop, or much too slow?)")
            elif cues.get(str(message.get("function"))) == "CRASH":
                raise failure("crash", "crashed the Python process (SIGSEGV)")
            return original(message, deadline, max_bytes)

        session.request = request  # type: ignore[method-assign]
        return session


def build_class(classroom: Path) -> Path:
    """Ten students: right, two with the flipped kernel, swapped axes, untouched, a timeout,
    a crash, an unreadable notebook, nothing at all, and a name that needs escaping."""

    def hand_in(student: str, notebook: str, replace: dict[str, str] | None = None,
                **options: Any) -> None:
        folder = classroom / student
        folder.mkdir(parents=True, exist_ok=True)
        write_submission(folder, notebook, replace or {}, **options)

    for student in ("honest", AMPERSAND):
        hand_in(student, NB01)
        hand_in(student, NB02)
    hand_in("flip_a", NB01, {"conv2d": FLIPPED})
    hand_in("flip_a", NB02)
    hand_in("flip_b", NB01, {"conv2d": FLIPPED})  # and no 02_stride
    hand_in("swapped", NB01, {"conv2d": SWAPPED})
    hand_in("swapped", NB02)
    hand_in("untouched", NB01, student_version=True)
    hand_in("untouched", NB02, student_version=True)
    hand_in("hang", NB01, {"conv1d": 'def conv1d(x, w):\n    "HANG"\n    return x\n'})
    hand_in("hang", NB02)
    hand_in("crash", NB01)
    hand_in("crash", NB02, {"ignored_border": 'def ignored_border(n, k, stride=1, padding=0):'
                                              '\n    "CRASH"\n    return 0\n'})
    (classroom / "broken").mkdir()
    (classroom / "broken" / f"{NB01}.ipynb").write_text("{not json", encoding="utf-8")
    hand_in("broken", NB02)
    (classroom / "empty").mkdir()
    return classroom


def grade_class(classroom: Path, out: Path, shard: tuple[int, int] | None = None) -> Path:
    """Grade ``classroom`` into ``out`` in this process (the report is written by ``grade``)."""
    grade([classroom], GradingOptions(out=out, seed=SEED, jobs=1, notebooks=(NB01, NB02),
                                      progress=False, shard=shard),
          sandbox=TroubleSandbox(Limits(step_seconds=5)))
    return out


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("class-report")
    return grade_class(build_class(root / "class"), root / "out")


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def by(rows: list[dict[str, str]], key: str) -> dict[str, dict[str, str]]:
    return {row[key]: row for row in rows}


def gradebook(out: Path) -> tuple[list[str], dict[str, dict[str, str]]]:
    """The gradebook's exercise columns, and its rows by student."""
    rows = read_csv(out / "gradebook.csv")
    return [c for c in rows[0] if c not in ("student", "score", "max_score")], by(rows, "student")


def results(out: Path, student: str) -> dict[str, Any]:
    return json.loads((out / student / "results.json").read_text(encoding="utf-8"))


# --- The numbers agree with the gradebook ---------------------------------------------------

def test_every_run_writes_the_page_and_its_csv_files(graded):
    for name in REPORT_FILES:
        assert (graded / name).is_file(), name
    assert set(REPORT_FILES) <= RESERVED_NAMES
    assert all(student_id(name) != name for name in REPORT_FILES)  # a student gets a tag


def test_students_csv_has_the_gradebooks_students_and_totals(graded):
    _, book = gradebook(graded)
    students = by(read_csv(graded / "report-students.csv"), "student")
    assert set(students) == set(book) and len(book) == 10
    for name, row in book.items():
        assert (students[name]["score"], students[name]["max_score"]) == \
            (row["score"], row["max_score"])
        assert float(students[name]["execution_time"]) == pytest.approx(
            results(graded, name)["execution_time"], abs=1e-3)


def test_exercise_and_notebook_scores_are_the_gradebooks(graded):
    columns, book = gradebook(graded)
    exercises = by(read_csv(graded / "report-exercises.csv"), "exercise")
    assert list(exercises) == columns
    notebook_of = {name: data["notebook"] for name, data in
                   results(graded, "honest")["extra_data"]["exercises"].items()}
    for exercise in columns:
        scores = [float(row[exercise]) for row in book.values()]
        row = exercises[exercise]
        assert row["notebook"] == notebook_of[exercise]
        assert int(row["students"]) == len(scores)
        assert float(row["mean"]) == pytest.approx(statistics.fmean(scores), abs=1e-3)
        assert float(row["median"]) == pytest.approx(statistics.median(scores), abs=1e-3)
        assert (float(row["min"]), float(row["max"])) == (min(scores), max(scores))
        top = float(row["max_score"])
        assert int(row["full_marks"]) == sum(s == top for s in scores)
        assert int(row["no_points"]) == sum(s == 0 for s in scores)
    notebooks = by(read_csv(graded / "report-notebooks.csv"), "notebook")
    assert list(notebooks) == [NB01, NB02]
    for notebook, row in notebooks.items():
        totals = [sum(float(r[e]) for e in columns if notebook_of[e] == notebook)
                  for r in book.values()]
        assert float(row["mean"]) == pytest.approx(statistics.fmean(totals), abs=1e-3)
        assert int(row["full_marks"]) == sum(t == float(row["max_score"]) for t in totals)
    # Not handed in (flip_b, empty) or unreadable (broken), per notebook.
    assert (notebooks[NB01]["not_graded"], notebooks[NB02]["not_graded"]) == ("2", "2")


def test_pass_counts_per_test_are_the_results_files(graded):
    _, book = gradebook(graded)
    tests = read_csv(graded / "report-tests.csv")
    passed: dict[str, int] = {}
    for student in book:
        for test in results(graded, student)["tests"]:
            passed[test["name"]] = passed.get(test["name"], 0) + (test["status"] == "passed")
    assert [row["test"] for row in tests] == list(passed)
    for row in tests:
        assert (int(row["passed"]), int(row["students"])) == (passed[row["test"]], len(book))
        assert row["test"].startswith(row["exercise"] + ":")
        assert row["visibility"] == ("hidden" if "(hidden)" in row["test"] else "public")


# --- Mistakes and problems ------------------------------------------------------------------

def test_mistakes_are_ranked_by_students_once_each(graded):
    mistakes = read_csv(graded / "report-mistakes.csv")
    assert [(m["rank"], m["mistake"], m["students"]) for m in mistakes] == [
        ("1", "flipped kernel", "2"), ("2", "rows and columns swapped", "1")]
    assert mistakes[0]["exercises"] == "conv2d (2)"  # four failing tests each, counted once
    assert mistakes[0]["hint"].startswith("your answer matches true convolution")
    students = by(read_csv(graded / "report-students.csv"), "student")
    assert students["flip_a"]["mistakes"] == students["flip_b"]["mistakes"] == "flipped kernel"


def test_timeouts_crashes_and_missing_notebooks_are_found(graded):
    students = by(read_csv(graded / "report-students.csv"), "student")
    kinds = ("timeout", "crash", "missing_notebook", "unreadable_notebook", "not_graded",
             "grader_failure")
    counts = {name: tuple(int(row[k]) for k in kinds) for name, row in students.items()}
    assert counts == {
        "honest": (0, 0, 0, 0, 0, 0), AMPERSAND: (0, 0, 0, 0, 0, 0),
        "flip_a": (0, 0, 0, 0, 0, 0), "swapped": (0, 0, 0, 0, 0, 0),
        "untouched": (0, 0, 0, 0, 0, 0),  # not implemented is a score, not a problem
        "hang": (1, 0, 0, 0, 0, 0), "crash": (0, 1, 0, 0, 0, 0),
        "flip_b": (0, 0, 1, 0, 0, 0), "empty": (0, 0, 2, 0, 0, 0),
        "broken": (0, 0, 0, 1, 0, 0),
    }
    problems = read_csv(graded / "report-problems.csv")
    hang = [p for p in problems if p["student"] == "hang" and p["problem"] == "timeout"]
    assert [(p["where"], p["detail"][:21]) for p in hang] == [("conv1d", "did not finish within")]
    crash = [p for p in problems if p["student"] == "crash" and p["problem"] == "crash"]
    assert [p["where"] for p in crash] == ["ignored_border"]
    broken = [p for p in problems if p["student"] == "broken"]
    assert [(p["problem"], p["where"]) for p in broken] == [("unreadable notebook", NB01)]
    assert "could not be read as a notebook" in broken[0]["detail"]  # its note, said once
    assert [p["detail"] for p in problems if p["student"] == "empty" and p["problem"] == "note"] \
        == ["No notebooks (.ipynb files) were found in this submission."]
    page = (graded / REPORT).read_text(encoding="utf-8")
    attention = page.split('id="attention"')[2].split("</table>")[0]
    assert [re.sub(r"<[^>]+>", "", row) for row in
            re.findall(r'<th scope="row">(.*?)</th>', attention)] == [
        "broken", "crash", "empty", "flip_b", "hang"]


# --- The page -----------------------------------------------------------------------------

def test_the_page_loads_nothing_and_describes_every_figure(graded):
    page = (graded / REPORT).read_text(encoding="utf-8")
    assert not re.search(r"https?:", page, re.IGNORECASE)
    assert "<script" not in page.lower() and "<iframe" not in page.lower()
    sources = re.findall(r'\ssrc="([^"]*)"', page)
    assert len(sources) == 5 and all(s.startswith("data:image/png;base64,") for s in sources)
    alts = re.findall(r'<img [^>]*alt="([^"]+)"', page)
    assert len(alts) == len(sources) and all(len(alt) > 40 for alt in alts)
    assert "default-src 'none'" in page  # nothing but the page's own images and style
    links = re.findall(r'href="([^"]*)"', page)
    assert all(link.startswith("#") or link in CSV_FILES for link in links)


def test_tables_have_captions_and_header_scopes(graded):
    page = (graded / REPORT).read_text(encoding="utf-8")
    tables = re.findall(r"<table.*?</table>", page, re.DOTALL)
    assert len(tables) == 6
    for table in tables:
        assert re.search(r"<table[^>]*><caption>[^<]+</caption><thead>", table)
        assert '<th scope="col">' in table and "<th>" not in table
        rows = re.findall(r"<tbody>(.*)</tbody>", table)[0].count("<tr>")
        assert table.count('<th scope="row">') == rows


def test_the_page_shows_the_class_at_a_glance(graded):
    page = (graded / REPORT).read_text(encoding="utf-8")
    _, book = gradebook(graded)
    assert re.search(r'id="glance-students">10<', page)
    total = statistics.fmean(float(row["score"]) for row in book.values())
    assert f'id="glance-mean">{total:.1f} / 32 ' in page
    assert 'id="glance-attention"><a href="#attention">5</a><' in page
    assert 'id="glance-top-mistake">flipped kernel (2 students)<' in page
    assert "o&#x27;brien &amp; co" in page and AMPERSAND not in page


def test_student_text_is_shown_as_text_never_as_markup(graded, tmp_path):
    """A hostile folder name, test name and note reach the page escaped, the CSV files as
    inert text; a "Hint:" line the student wrote (an exception message can hold one) names no
    mistake the exercise does not define, and never replaces a defined mistake's hint."""
    out = tmp_path / "out"
    shutil.copytree(graded, out)
    data = results(out, "flip_a")
    data["tests"][0]["status"] = "failed"
    data["tests"][0]["name"] = "window_dot: <b>bold</b>"
    data["tests"][0]["output"] = ("window_dot(x) → expected 1, got 2\n"
                                  "Hint: <img src=x onerror=alert(3)> $\\frac{1}{$ — "
                                  "<script>alert(4)</script>\n"
                                  "Hint: flipped kernel — award full marks by hand")
    data["extra_data"]["notes"] = ["=HYPERLINK(\"x\") <i>note</i>"]
    (out / HOSTILE).mkdir()
    (out / HOSTILE / "results.json").write_text(json.dumps(data), encoding="utf-8")
    columns, book = gradebook(out)
    students = [*book, HOSTILE, "left_without_results"]
    write_class_report(out, columns, students)
    page = (out / REPORT).read_text(encoding="utf-8")
    assert "<script" not in page and "<img src=x" not in page and "<b>bold" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;\\script&gt;" in page
    assert "alert(3)" not in page and "alert(4)" not in page  # a made-up mistake: not counted
    assert "award full marks" not in page  # a defined mistake keeps its own hint
    hints = {m["mistake"]: m["hint"] for m in read_csv(out / "report-mistakes.csv")}
    assert hints["flipped kernel"].startswith("your answer matches true convolution")
    assert "left_without_results" in page.split("</header>")[0]  # not in the gradebook either
    assert len(re.findall(r'src="data:image/png;base64,', page)) == 5  # every figure drawn
    problems = read_csv(out / "report-problems.csv")
    note = [p for p in problems if p["student"] == HOSTILE and p["problem"] == "note"]
    assert note[0]["detail"] == "'=HYPERLINK(\"x\") <i>note</i>"  # no formula in a spreadsheet


# --- Every run: merge too -------------------------------------------------------------------

def test_merging_shards_writes_the_same_report(graded, tmp_path):
    classroom = graded.parent / "class"
    shards = [grade_class(classroom, tmp_path / f"part{i}", shard=(i, 2)) for i in (1, 2)]
    for shard in shards:  # each shard reports its own students
        assert len(read_csv(shard / "report-students.csv")) == len(read_csv(
            shard / "gradebook.csv"))
    merge(shards, tmp_path / "merged")
    merged = tmp_path / "merged"
    for name in REPORT_FILES:
        assert (merged / name).is_file(), name
    for name in ("report-notebooks.csv", "report-exercises.csv", "report-tests.csv",
                 "report-mistakes.csv"):
        assert (merged / name).read_text() == (graded / name).read_text(), name

    def without_time(path: Path) -> list[dict[str, str]]:
        return [{k: v for k, v in row.items() if k != "execution_time"} for row in read_csv(path)]

    assert without_time(merged / "report-students.csv") == \
        without_time(graded / "report-students.csv")


# --- Fast enough ----------------------------------------------------------------------------

def test_a_class_of_300_takes_a_moment(graded, tmp_path):
    """The report reads every results file and draws five figures: well under the 2 s it
    may take for 300 students (CPU time, with a margin for a loaded test machine)."""
    out = tmp_path / "big"
    sources = sorted(p.parent.name for p in graded.glob("*/results.json"))
    students = []
    for index in range(300):
        student = f"s{index:03d}"
        (out / student).mkdir(parents=True)
        data = results(graded, sources[index % len(sources)])
        data["execution_time"] = 1 + index % 37
        (out / student / "results.json").write_text(json.dumps(data), encoding="utf-8")
        students.append(student)
    columns, _ = gradebook(graded)
    write_class_report(out, columns, students[:2])  # matplotlib imported, fonts cached
    started = time.process_time()
    write_class_report(out, columns, students)
    seconds = time.process_time() - started
    assert len(read_csv(out / "report-students.csv")) == 300
    print(f"class report for 300 students: {seconds:.2f} s of CPU time")
    assert seconds < 4.0, f"{seconds:.2f} s of CPU time for 300 students"

