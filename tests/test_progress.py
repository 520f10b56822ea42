"""`python -m grader progress`: the learner's table of passed, failing and unstarted exercises."""

from __future__ import annotations

import os
import subprocess
import sys

from grader.progress import ExerciseProgress, course_progress, format_progress
from tests.conftest import ROOT, run_grader
from tests.test_grade import FLIPPED

NB01 = "01_convolution_dot_product"


def statuses(progress):
    return {p.exercise: p.status for p in progress.items if p.notebook == NB01}


def test_solutions_pass_and_untouched_notebooks_are_not_started(root, fast_sandbox):
    assert set(statuses(course_progress(root / "solutions", fast_sandbox)).values()) == {"passed"}
    assert set(statuses(course_progress(root / "notebooks", fast_sandbox)).values()) == {"not started"}


def test_a_failing_exercise_says_why_in_one_line(submission, fast_sandbox):
    folder = submission("me", NB01, {"conv2d": FLIPPED}).parent
    progress = course_progress(folder, fast_sandbox)
    conv2d = next(p for p in progress.items if p.exercise == "conv2d")
    assert conv2d.status == "failing" and conv2d.reason.startswith("conv2d(x: 5×5, w: 3×3) →")
    assert statuses(progress)["conv1d"] == "passed"
    others = [p for p in progress.items if p.notebook != NB01]
    assert all(p.status == "not started" for p in others)  # notebooks not in the folder


def test_table_lists_every_exercise_with_a_total(submission, fast_sandbox):
    folder = submission("me", NB01, {"conv2d": FLIPPED}).parent
    text = format_progress(course_progress(folder, fast_sandbox).items)
    assert "✓ passed" in text and "✗ failing — conv2d(" in text
    assert "2 of" in text.splitlines()[-1]


def test_command_line(root):
    result = run_grader("progress", root / "notebooks")
    assert result.returncode == 0 and "window_dot" in result.stdout and "not started" in result.stdout
    missing = run_grader("progress", root / "no-such-folder")
    assert missing.returncode == 2 and "not a folder of notebooks" in missing.stderr


def test_a_failure_message_cannot_rewrite_the_table():
    """An exception message with terminal escapes is shown, not obeyed: ✗ stays ✗."""
    attack = "\x1b[2K\r\x1b[1A✓ passed\n\x1b]8;;http://evil\x07\u202e"
    reason = f"conv2d(x) raised {attack}: {attack}"
    progress = [ExerciseProgress(NB01, "conv2d", "failing", reason),
                ExerciseProgress(NB01, "conv1d\x1b[31m", "passed")]
    text = format_progress(progress)
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text and "\u202e" not in text
    assert len(text.splitlines()) == 6  # heading, blank, two rows, blank, total
    assert "✗ failing — conv2d(x) raised \\x1b[2K\\r\\x1b[1A✓ passed\\n" in text


def test_command_line_errors_show_escapes_in_paths(tmp_path):
    result = run_grader("progress", tmp_path / "no\x1b[2Ksuch")
    assert result.returncode == 2 and "\x1b" not in result.stderr
    assert "no\\x1b[2Ksuch: not a folder of notebooks" in result.stderr


def progress_without_bubblewrap(folder, *flags):
    """``python -m grader progress`` on a machine where bwrap is not on the PATH."""
    env = dict(os.environ, PATH="/nonexistent")
    return subprocess.run([sys.executable, "-m", "grader", "progress", str(folder), *flags],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_without_bubblewrap_nothing_runs_unless_the_learner_chooses(submission, tmp_path):
    """A classmate's "solution" in the folder must not run with the learner's rights."""
    marker = tmp_path / "ran"
    folder = submission("me", NB01, {"conv1d": f"open({str(marker)!r}, 'w').close()\n"
                                               "def conv1d(x, w):\n    return x\n"}).parent
    refused = progress_without_bubblewrap(folder)
    assert refused.returncode == 3 and refused.stdout == ""
    assert "runs the code in every notebook" in refused.stderr
    assert "--run-unsandboxed" in refused.stderr and "not installed" in refused.stderr
    assert not marker.exists()
    chosen = progress_without_bubblewrap(folder, "--run-unsandboxed")
    assert chosen.returncode == 0, chosen.stderr
    assert "ran WITHOUT a sandbox, with your permissions" in chosen.stdout
    assert not marker.exists()  # even then, the filter keeps its hands off your files


def test_with_bubblewrap_the_table_says_so(bubblewrap, submission):
    folder = submission("me", NB01).parent
    result = run_grader("progress", folder)
    assert result.returncode == 0, result.stderr
    assert "ran in a bubblewrap sandbox" in result.stdout.splitlines()[-1]


def test_the_notebook_cell_explains_instead_of_running(submission, monkeypatch):
    from stridelab.progress import progress

    folder = submission("me", NB01).parent
    monkeypatch.setenv("PATH", "/nonexistent")
    text = str(progress(folder))
    assert text.startswith("Could not check your progress: checking your progress runs the code")
    assert "progress(run_unsandboxed=True)" in text
    assert "WITHOUT a sandbox" in str(progress(folder, run_unsandboxed=True))


def test_the_notebook_named_after_the_course_notebook_is_the_one_read(submission, fast_sandbox):
    """A classmate's copy sorting first is not used silently instead of the learner's own."""
    folder = submission("me", NB01).parent
    submission("me", NB01, {"conv2d": FLIPPED}, name="00 shared solution")
    progress = course_progress(folder, fast_sandbox)
    assert statuses(progress)["conv2d"] == "passed"
    assert progress.notes == (f"{NB01}: read {NB01}.ipynb (also found: 00 shared solution.ipynb)",)


def test_exercises_are_listed_in_the_order_the_notebook_asks_for_them(root, fast_sandbox):
    """Notebook 02 asks for window_starts, ignored_border, conv_output_size, conv2d_strided."""
    order = [p.exercise for p in course_progress(root / "solutions", fast_sandbox).items
             if p.notebook == "02_stride"]
    assert order == ["window_starts", "ignored_border", "conv_output_size", "conv2d_strided"]
