"""What students read: feedback.md stays short where nothing could be run."""

from __future__ import annotations

from grader.discover import Submission
from grader.grade import GradingPlan, grade_submission
from grader.report import feedback_markdown, results_json
from tests.test_grade import FLIPPED

NB01, NB02 = "01_convolution_dot_product", "02_stride"


def graded(submission, fast_sandbox, tmp_path, replace=None):
    path = submission("alice", NB01, replace or {})
    plan = GradingPlan.create(9, [NB01, NB02], fast_sandbox)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return grade_submission(Submission("alice", (path,), path.parent), plan, work, 120)


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
