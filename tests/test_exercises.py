"""Every exercise definition, checked generically: deterministic public cases, fresh hidden
ones, a reference that passes its own tests, and known mistakes that lose points with their
hint. Plus independent checks of notebook 01's references (Dumoulin & Visin, plain loops)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from grader.exercises import Case, all_exercises, exercise
from stridelab.judging import ErrorInfo, Outcome, judge_test, name_mistakes

EXERCISES = all_exercises()
MISTAKES = [(e, m) for e in EXERCISES for m in e.mistakes]


def outcomes_of(function, test):
    results = []
    for case in test.cases:
        try:
            value = function(*copy.deepcopy(case.args), **copy.deepcopy(dict(case.kwargs)))
            results.append(Outcome(value=value))
        except Exception as error:  # noqa: BLE001
            results.append(Outcome(error=ErrorInfo.from_exception(error)))
    return results


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.name)
def test_exercise_has_public_and_hidden_tests(ex):
    public = ex.tests(seed=None, hidden=False)
    every = ex.tests(seed=1)
    assert public and len(every) > len(public), "needs public and hidden tests"
    assert all(t.cases for t in every)
    assert all(t.name.startswith(ex.name + ": ") for t in every)


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.name)
def test_public_cases_are_deterministic_and_hidden_ones_follow_the_seed(ex):
    first, second = ex.tests(seed=1), ex.tests(seed=1)
    other = ex.tests(seed=2)
    for a, b in zip(first, second):
        assert [c.call for c in a.cases] == [c.call for c in b.cases]
    hidden_calls = lambda tests: [(c.call, repr(c.args)) for t in tests if t.hidden for c in t.cases]  # noqa: E731
    assert hidden_calls(first) != hidden_calls(other), "hidden cases must be drawn from the seed"


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.name)
def test_the_reference_passes_every_test(ex):
    for test in ex.tests(seed=3):
        verdict = judge_test(test, outcomes_of(ex.reference, test))
        assert verdict.passed, verdict.feedback()


@pytest.mark.parametrize("ex, mistake", MISTAKES, ids=lambda x: getattr(x, "name", ""))
def test_every_known_mistake_loses_points_and_is_named(ex, mistake):
    """Each known mistake, made alone, is named — and nothing else is."""
    verdicts = name_mistakes([judge_test(t, outcomes_of(mistake.implementation, t))
                              for t in ex.tests(seed=4)])
    assert sum(v.score for v in verdicts) < ex.points, f"{mistake.name} scores full marks"
    hints = {verdict.hint for v in verdicts for _, verdict in v.failures if verdict.comparable}
    others = {m.name for m in ex.mistakes} - {mistake.name}
    assert any(h.startswith(mistake.name) for h in hints), \
        f"{mistake.name} is never recognised; hints were {hints}"
    assert not any(h.startswith(name) for h in hints for name in others), hints


# --- notebook 01, against independent implementations ---------------------------------

DUMOULIN_X = np.array([[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3],
                       [2, 0, 0, 2, 2], [2, 0, 0, 0, 1]], dtype=float)
DUMOULIN_W = np.array([[0, 1, 2], [2, 2, 0], [0, 1, 2]], dtype=float)


def loop_conv2d(x, w):
    """The definition, written out: no numpy tricks to share a bug with the reference."""
    rows, cols = x.shape[0] - w.shape[0] + 1, x.shape[1] - w.shape[1] + 1
    return np.array([[sum(x[i + a, j + b] * w[a, b] for a in range(w.shape[0])
                          for b in range(w.shape[1])) for j in range(cols)] for i in range(rows)])


def test_conv2d_reproduces_dumoulin_and_visin_figure_2_1():
    expected = [[12, 12, 17], [10, 17, 19], [9, 6, 14]]  # printed in the paper
    np.testing.assert_array_equal(exercise("conv2d").reference(DUMOULIN_X, DUMOULIN_W), expected)


def test_window_dot_matches_the_paper_at_each_window():
    ref = exercise("window_dot").reference
    assert ref(DUMOULIN_X, DUMOULIN_W, 0, 0) == 12 and ref(DUMOULIN_X, DUMOULIN_W, 1, 2) == 19


@pytest.mark.parametrize("shape, kernel", [((4, 6), (2, 3)), ((7, 5), (3, 1)), ((3, 3), (3, 3))])
def test_conv2d_reference_matches_the_definition(shape, kernel):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(shape), rng.standard_normal(kernel)
    np.testing.assert_allclose(exercise("conv2d").reference(x, w), loop_conv2d(x, w))


def test_conv1d_reference_is_unflipped_and_valid():
    x, w = np.array([0.0, 0, 1, 0, 0, 0]), np.array([1.0, 2, 3])
    np.testing.assert_array_equal(exercise("conv1d").reference(x, w), [3, 2, 1, 0])


def test_notebook_01_uses_the_worked_example_as_a_test_case():
    calls = {c.call for t in exercise("conv2d").tests(seed=None, hidden=False) for c in t.cases}
    assert "conv2d(x: 5×5, w: 3×3)" in calls


def test_speed_sets_time_their_baseline_when_expanded():
    """The baseline's CPU time, measured once for cases of the same shapes."""
    from grader.exercises import Case, CaseSet, Exercise, Speed

    def busy(x):
        return sum(range(300_000)) * 0 + x

    speed = Speed(busy, "a busy baseline", min_speedup=5)
    ex = Exercise("ident", "00_demo", lambda x: x, (
        CaseSet("fast enough", 1, [Case((1,)), Case((2,))], hidden=True, speed=speed),))
    test = ex.tests(seed=0)[0]
    assert test.speed.min_speedup == 5 and test.speed.baseline_seconds >= 0.002
    assert ex.tests(seed=1)[0].speed.baseline_seconds == test.speed.baseline_seconds


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.name)
def test_case_set_titles_are_unique_and_lazy_mistakes_equal_eager_ones(ex):
    """Grading expands public tests once and hidden ones per submission, joined by title;
    the mistakes of hidden cases are worked out only when a judge asks for them."""
    titles = [s.title for s in ex.case_sets]
    assert len(titles) == len(set(titles))
    for test in ex.tests(seed=8, public=False):
        for case in test.cases[:3]:
            eager = ex.expect(Case(case.args, case.kwargs)).known_mistakes
            assert [m.name for m in case.known_mistakes] == [m.name for m in eager]


def test_exercises_are_defined_in_the_order_their_notebook_asks_for_them(root):
    """The progress table and the gradebook list a notebook's exercises in this order."""
    import json

    from grader.exercises import notebooks

    for name, exercises in notebooks().items():
        cells = json.loads((root / "solutions" / f"{name}.ipynb").read_text())["cells"]
        ids = [c["metadata"].get("nbgrader", {}).get("grade_id") for c in cells]
        defined = [e.name for e in exercises]
        assert [i for i in ids if i in defined] == defined, name
