"""What students read: feedback.md stays short where nothing could be run, and what a
student wrote (ids, file names, messages) lands in every file as text, never as markup."""

from __future__ import annotations

import csv
import json

import numpy as np

from grader.discover import Submission
from grader.grade import GradingPlan, grade_submission
from grader.report import (feedback_markdown, results_json, write_gradebook, write_student,
                           write_text_atomically)
from grader.results import ExerciseResult, StudentResult
from stridelab.encoding import Unsupported
from stridelab.judging import ErrorInfo, Expectation, GradedTest, Outcome, judge_test
from tests.test_grade import FLIPPED
from tests.test_text import render

NB01, NB02 = "01_convolution_dot_product", "02_stride"


def graded(submission, fast_sandbox, tmp_path, replace=None):
    path = submission("alice", NB01, replace or {})
    plan = GradingPlan.create(9, [NB01, NB02], fast_sandbox)
    return grade_submission(Submission("alice", (path,), path.parent), plan, 120)


def test_a_notebook_not_submitted_is_one_line(submission, fast_sandbox, tmp_path):
    text = feedback_markdown(graded(submission, fast_sandbox, tmp_path))
    section = text.split(f"## {NB02}")[1].split("---")[0]
    assert section.strip() == "0 / 17 — not graded: 02_stride.ipynb was not submitted."
    assert "Score: 15 / 32" in text


def test_a_hint_is_written_once_per_exercise(submission, fast_sandbox, tmp_path):
    result = graded(submission, fast_sandbox, tmp_path, {"conv2d": FLIPPED})
    conv2d = feedback_markdown(result).split("### `conv2d`")[1].split("###")[0]
    assert conv2d.count("Hint: flipped kernel") == 1 and "Hint: as above." in conv2d
    # results.json keeps each test self-contained: Gradescope shows tests one by one.
    outputs = [t["output"] for t in results_json(result)["tests"] if t["name"].startswith("conv2d")
               and t["status"] == "failed"]
    assert all("Hint: flipped kernel" in o for o in outputs if "Hint" in o)


# Student-controlled text in every field a student can reach: the id comes from a folder name,
# notes from file names, types and messages from the worker, type names from returned values.
ESCAPE = "\x1b[2K\r✓ passed"
BREAKOUT = "X\n```\n# heading\n<img src=x onerror=alert(1)>\n````"
FORMULAS = ['=HYPERLINK("https:evil","x")', "+1+cmd|' \\C calc'!A0", "-2+3", "@SUM(1)",
            "\t=1", "＝1+1"]


def hostile_result(student: str, surrogate: str = "\ud800") -> StudentResult:
    """A result whose every student-controlled text carries a payload."""
    test = GradedTest("conv2d", "small inputs", 2.0, False, (
        Expectation("conv2d(x: 2×2)", (), {}, np.zeros((2, 2))),
        Expectation("conv2d(x: 3×3)", (), {}, np.zeros((1, 1)))))
    errors = [Outcome(error=ErrorInfo(BREAKOUT + surrogate, ESCAPE + BREAKOUT + "\u202e")),
              Outcome(value=Unsupported(BREAKOUT + ESCAPE))]
    values = GradedTest("conv1d", "values", 1.0, True,
                        (Expectation("conv1d(x: 3)", (), {}, np.zeros(3)),))
    return StudentResult(
        student=student,
        exercises=(
            ExerciseResult("conv2d", NB01, (judge_test(test, errors),)),
            ExerciseResult("conv1d", NB01, (judge_test(values, [Outcome(value=Unsupported(
                "<script>alert(1)</script>" + surrogate))]),)),
            ExerciseResult("stride_output_size", NB02, (judge_test(values, [Outcome()]),),
                           not_graded=f"was not graded: {BREAKOUT}{ESCAPE}.ipynb is empty"),
        ),
        seed=1, sandbox="in-process", execution_time=0.5, fingerprint="f",
        notes=(f"# {BREAKOUT} {ESCAPE}.ipynb is not a notebook; it was not graded.",
               "===", "- [x](javascript:alert(1))"),
        failure=f"Traceback: {ESCAPE} {surrogate}",
    )


def outside_code_blocks(markdown: str) -> str:
    """The lines of ``markdown`` that are not inside a fenced code block."""
    kept, fence = [], ""
    for line in markdown.splitlines():
        stripped = line.strip()
        if fence and stripped == fence:
            fence = ""
        elif not fence and stripped.startswith("```"):
            fence = stripped[:len(stripped) - len(stripped.lstrip("`"))]
        elif not fence:
            kept.append(line)
    return "\n".join(kept)


def test_student_text_cannot_add_headings_html_or_escapes_to_feedback():
    text = feedback_markdown(hostile_result(f"{BREAKOUT} {ESCAPE}"))
    assert [line for line in text.splitlines() if line.startswith("# ")] == \
        [line for line in text.splitlines() if line.startswith("# Feedback for ")]
    assert len([line for line in text.splitlines() if line.startswith("# ")]) == 1
    prose = outside_code_blocks(text)
    assert "<img" not in prose and "<script" not in prose and "# heading" not in prose
    assert "\x1b" not in text and "\r" not in text and "\u202e" not in text
    html = render(text)
    assert html.count("<h1") == 1 and "<img" not in html and "<script" not in html
    assert "<a " not in html and html.count("<h2") == 2 and html.count("<h3") == 2
    assert "\\x1b[2K\\r✓ passed" in text  # what the student sent is still shown, as text


def test_results_json_is_strict_utf8_json_without_controls():
    raw = (json.dumps(results_json(hostile_result("alice")), indent=1) + "\n").encode("utf-8")
    data = json.loads(raw.decode("utf-8", "strict"))
    json.dumps(data, ensure_ascii=False).encode("utf-8")  # no lone surrogate after parsing
    assert not any(c in json.dumps(data, ensure_ascii=False) for c in "\x1b\u202e\r")
    assert "\\x1b[2K" in data["tests"][0]["output"]


def test_write_student_survives_lone_surrogates(tmp_path):
    student = "alice\udcff"  # a folder name that is not valid UTF-8
    write_student(tmp_path, hostile_result(student))
    feedback = (tmp_path / student / "feedback.md").read_bytes().decode("utf-8", "strict")
    assert "alice&#92;udcff" in feedback and "\\ud800" in feedback
    (tmp_path / student / "grader-error.txt").read_bytes().decode("utf-8", "strict")
    write_text_atomically(tmp_path / "raw.txt", "\ud800")  # the last line of defence
    assert (tmp_path / "raw.txt").read_text(encoding="utf-8") == "\\ud800"


def test_gradebook_cells_never_start_a_formula(tmp_path):
    students = [*FORMULAS, "honest"]
    for student in students:
        write_student(tmp_path, hostile_result(student, surrogate=""))
    path = write_gradebook(tmp_path, ["conv2d", "conv1d"], students)
    with open(path, newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert len(rows) == len(students) + 1
    cells = [cell for row in rows for cell in row]
    formula = ("=", "+", "-", "@", "＝", "＋", "－", "＠")
    assert not [cell for cell in cells if cell.lstrip().startswith(formula)]
    assert "\t" not in "".join(cells) and ["honest", "0", "0", "0", "4"] in rows


def test_one_reason_per_exercise_not_one_per_test(submission, fast_sandbox, tmp_path):
    """An exercise not graded says why once; tests failing the same way say "as above"."""
    text = feedback_markdown(graded(submission, fast_sandbox, tmp_path, {
        "conv1d": "def conv1d(x, w):\n    return x[100]\n"}))
    conv1d = text.split("### `conv1d`")[1].split("###")[0]
    assert conv1d.count("raised IndexError") == 1
    assert conv1d.count("the same failure as above") == 3
    path = submission("bob", NB01, delete=("window_dot",))
    plan = GradingPlan.create(9, [NB01], fast_sandbox)
    bob = feedback_markdown(grade_submission(Submission("bob", (path,), path.parent), plan, 120))
    window_dot = bob.split("### `window_dot`")[1].split("###")[0]
    assert window_dot.count("no cell defines window_dot") == 1 and "✗" not in window_dot
