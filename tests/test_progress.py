"""`python -m grader progress`: the learner's table of passed, failing and unstarted exercises."""

from __future__ import annotations

from grader.progress import course_progress, format_progress
from tests.conftest import run_grader
from tests.test_grade import FLIPPED

NB01 = "01_convolution_dot_product"


def statuses(progress):
    return {p.exercise: p.status for p in progress if p.notebook == NB01}


def test_solutions_pass_and_untouched_notebooks_are_not_started(root, fast_sandbox):
    assert set(statuses(course_progress(root / "solutions", fast_sandbox)).values()) == {"passed"}
    assert set(statuses(course_progress(root / "notebooks", fast_sandbox)).values()) == {"not started"}


def test_a_failing_exercise_says_why_in_one_line(submission, fast_sandbox):
    folder = submission("me", NB01, {"conv2d": FLIPPED}).parent
    progress = course_progress(folder, fast_sandbox)
    conv2d = next(p for p in progress if p.exercise == "conv2d")
    assert conv2d.status == "failing" and conv2d.reason.startswith("conv2d(x: 5×5, w: 3×3) →")
    assert statuses(progress)["conv1d"] == "passed"
    others = [p for p in progress if p.notebook != NB01]
    assert all(p.status == "not started" for p in others)  # notebooks not in the folder


def test_table_lists_every_exercise_with_a_total(submission, fast_sandbox):
    folder = submission("me", NB01, {"conv2d": FLIPPED}).parent
    text = format_progress(course_progress(folder, fast_sandbox))
    assert "✓ passed" in text and "✗ failing — conv2d(" in text
    assert "2 of" in text.splitlines()[-1]


def test_command_line(root):
    result = run_grader("progress", root / "notebooks")
    assert result.returncode == 0 and "window_dot" in result.stdout and "not started" in result.stdout
    missing = run_grader("progress", root / "no-such-folder")
    assert missing.returncode == 2 and "not a folder of notebooks" in missing.stderr
