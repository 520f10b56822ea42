"""Check cells: public tests in the notebook, with feedback and never an exception."""

from __future__ import annotations

import re

import numpy as np
import pytest

from grader.exercises import exercise
from stridelab import check
from stridelab.public import public_case, public_tests


def test_a_correct_function_passes_every_public_test():
    report = check("conv2d", exercise("conv2d").reference)
    assert report.passed
    assert str(report).startswith("conv2d: all 3 public tests pass. Well done!")


def test_not_implemented_gets_the_friendly_message():
    def conv2d(x, w):
        raise NotImplementedError()

    report = check("conv2d", conv2d)
    assert not report.passed and report.not_implemented
    assert "not implemented yet" in str(report) and "Traceback" not in str(report)


def test_a_mistake_is_explained_with_inputs_and_a_hint():
    def conv2d(x, w):
        return exercise("conv2d").reference(x, w[::-1, ::-1])

    text = str(check("conv2d", conv2d))
    assert "0 of 3 public tests pass" in text or "of 3 public tests pass" in text
    assert "Hint: flipped kernel" in text
    assert "x = [[3., 3., 2., 1., 0.]," in text  # the public input, to reproduce the case


def test_a_case_too_big_to_print_says_how_to_rebuild_its_inputs():
    seen = []

    def conv2d_layer(x, w, b=None, stride=1, padding=0):
        seen.append(x)
        reference = exercise("conv2d_layer").reference(x, w, b, stride, padding)
        return reference + 1.0  # wrong everywhere

    text = str(check("conv2d_layer", conv2d_layer))
    snippets = re.findall(r"args, kwargs = (public_case\(.*\))", text)
    assert snippets, text  # the batch cases are too big to print
    for snippet in snippets:
        args, kwargs = eval(snippet, {"public_case": public_case})  # noqa: S307 - our own text
        assert any(np.array_equal(args[0], x) for x in seen)
        assert np.array_equal(conv2d_layer(*args, **kwargs),
                              exercise("conv2d_layer").reference(*args, **kwargs) + 1.0)
    small = str(check("conv2d", lambda x, w: exercise("conv2d").reference(x, w) + 1.0))
    assert "public_case" not in small  # small inputs are printed in full instead


def test_public_case_names_what_exists_when_asked_for_what_does_not():
    with pytest.raises(KeyError, match="no public test 'nope'; its tests: 'worked example"):
        public_case("conv2d", "nope", 0)
    with pytest.raises(IndexError, match="has cases 0 to 0, not 5"):
        public_case("conv2d", public_tests("conv2d")[0].title, 5)


def test_exceptions_in_learner_code_become_feedback():
    def conv1d(x, w):
        return x[len(x) + 1]

    text = str(check("conv1d", conv1d))
    assert "raised IndexError" in text and "line" in text


def test_inputs_are_copies_so_mutation_cannot_spoil_later_cases():
    def window_dot(x, w, i, j):
        result = float(np.sum(x[i:i + w.shape[0], j:j + w.shape[1]] * w))
        x[:] = 0
        return result

    assert check("window_dot", window_dot).passed
    assert public_tests("window_dot")[0].cases[0].args[0].sum() > 0


def test_unknown_names_and_non_functions_are_explained():
    assert "no public tests for 'conv9d'" in str(check("conv9d", print))
    assert "run the cell that defines conv2d first" in str(check("conv2d", None))


def test_public_tests_are_exactly_the_graders_public_tests():
    """One definition, used both ways: the frozen file equals the grader's public tests."""
    for test in exercise("conv1d").tests(seed=None, hidden=False):
        frozen = next(t for t in public_tests("conv1d") if t.title == test.title)
        assert [c.call for c in frozen.cases] == [c.call for c in test.cases]
        for a, b in zip(frozen.cases, test.cases):
            np.testing.assert_array_equal(a.expected, b.expected)


def test_names_grading_will_not_define_are_found():
    from stridelab.graded_code import missing_when_graded

    cells = ["import numpy as np\nK = 3\npair = lambda v: (v, v)\nSCALE = np.ones(3) / 3\n"
             "def helper(v):\n    return v\n"]
    exercise_cell = "LOCAL = np.zeros(2)\ndef f(x):\n    return pair(x), K, helper(x), LOCAL, SCALE, np, len(x)\n"
    namespace = {"np": np, "K": 3, "pair": lambda v: (v, v), "SCALE": 1, "helper": len, "LOCAL": 0}
    exec(compile(exercise_cell, "<cell>", "exec"), namespace)
    assert missing_when_graded(namespace["f"], exercise_cell, cells) == ["SCALE", "pair"]


def test_the_check_cell_warns_before_grading_would_fail():
    """In a real IPython session: the learner's check cell names what grading will not see."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        shell.run_cell("import numpy as np\nflip = lambda w: w  # a helper in a scratch cell",
                       store_history=True)
        shell.run_cell(
            "def conv2d(x, w):\n    kh, kw = flip(w).shape\n"
            "    out = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1))\n"
            "    for i in range(out.shape[0]):\n        for j in range(out.shape[1]):\n"
            "            out[i, j] = np.sum(x[i:i + kh, j:j + kw] * w)\n    return out\n",
            store_history=True)
        shell.run_cell("from stridelab import check\nreport = check('conv2d', conv2d)",
                       store_history=True)
        text = str(shell.user_ns["report"])
    finally:
        InteractiveShell.clear_instance()
    assert "all 3 public tests pass" in text
    assert "Grading will not see `flip`" in text and "Define it inside this cell" in text
