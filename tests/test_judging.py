"""The judge: right answers pass, wrong ones fail with the input, expected vs got, and a hint."""

from __future__ import annotations

import numpy as np
import pytest

from stridelab.encoding import Raises, ShapeOnly, Unsupported
from stridelab.judging import (ErrorInfo, Expectation, GradedTest, KnownMistake, Outcome,
                               compare, judge, judge_test)


def expect(expected, mistakes=(), **kwargs):
    return Expectation(call="f(x: 3×4)", args=(), kwargs={}, expected=expected,
                       mistakes=tuple(mistakes), **kwargs)


def test_arrays_pass_within_tolerance_in_any_float_dtype():
    expected = np.linspace(-3, 3, 12).reshape(3, 4)
    assert judge(expect(expected), Outcome(value=expected.astype(np.float32))).passed
    assert judge(expect(expected), Outcome(value=expected.tolist())).passed


def test_shape_mismatch_names_both_shapes():
    verdict = judge(expect(np.zeros((3, 4))), Outcome(value=np.zeros((3, 5))))
    assert not verdict.passed
    assert verdict.message == "f(x: 3×4) → expected shape (3, 4), got (3, 5)"


def test_value_mismatch_points_at_the_first_wrong_element():
    expected = np.arange(12.0).reshape(3, 4)
    got = expected.copy()
    got[1, 2] = 99
    verdict = judge(expect(expected), Outcome(value=got))
    assert "1 of 12 values are wrong" in verdict.message
    assert "index [1, 2]: expected 6, got 99" in verdict.message


def test_swapped_axes_get_a_named_hint():
    verdict = judge(expect(np.zeros((3, 4))), Outcome(value=np.zeros((4, 3))))
    assert verdict.hint.startswith("rows and columns swapped")


def test_a_matching_known_mistake_names_itself():
    mistake = KnownMistake("flipped kernel", "do not flip", np.ones((3, 4)))
    verdict = judge(expect(np.zeros((3, 4)), [mistake]), Outcome(value=np.ones((3, 4))))
    assert verdict.hint == "flipped kernel — do not flip"


def test_a_shape_only_mistake_matches_by_shape():
    mistake = KnownMistake("one short", "range(n - k + 1)", ShapeOnly((2, 4)))
    verdict = judge(expect(np.zeros((3, 4)), [mistake]), Outcome(value=np.full((2, 4), 7.0)))
    assert verdict.hint.startswith("one short")


def test_none_suggests_a_missing_return():
    verdict = judge(expect(np.zeros(2)), Outcome(value=None))
    assert "return" in verdict.hint


@pytest.mark.parametrize("got, message", [
    (3.0, "expected an int, got 3.0"),
    (True, "expected an int, got True"),
    (4, "expected 3, got 4"),
])
def test_ints_must_be_ints(got, message):
    verdict = judge(expect(3), Outcome(value=got))
    assert not verdict.passed and message in verdict.message


def test_float_for_int_hints_floor_division():
    assert "//" in judge(expect(3), Outcome(value=3.0)).hint


def test_numpy_ints_count_as_ints():
    assert judge(expect(3), Outcome(value=np.int64(3))).passed


def test_expected_exceptions():
    raises = expect(Raises("ValueError"))
    ok = Outcome(error=ErrorInfo("ValueError", "k > n", ("Exception",)))
    subclass = Outcome(error=ErrorInfo("MyError", "bad", ("ValueError", "Exception")))
    wrong = Outcome(error=ErrorInfo("TypeError", "bad", ("Exception",)))
    assert judge(raises, ok).passed and judge(raises, subclass).passed
    assert "should raise ValueError, but raised TypeError" in judge(raises, wrong).message
    assert "but it returned 4" in judge(raises, Outcome(value=4)).message


def test_not_implemented_is_reported_as_such():
    verdict = judge(expect(1), Outcome(error=ErrorInfo("NotImplementedError", "")))
    assert verdict.not_implemented and "not implemented yet" in verdict.message


def test_errors_show_type_message_and_line():
    error = ErrorInfo("IndexError", "index 5 is out of bounds", ("Exception",), "line 7: out[i] = s")
    verdict = judge(expect(1), Outcome(error=error))
    assert verdict.message == ("f(x: 3×4) raised IndexError: index 5 is out of bounds "
                               "(line 7: out[i] = s)")


def test_tuples_compare_part_by_part_with_names():
    case = expect((np.zeros(2), np.ones(3)), returns=("dx", "dw"))
    verdict = judge(case, Outcome(value=(np.zeros(2), np.ones(4))))
    assert "dw: expected shape (3,), got (4,)" in verdict.message


def test_lists_of_tuples():
    assert compare([(3, 4, 5)], [(3, 4, 5)]) is None
    assert "item 0: item 2: expected 5, got 6" in compare([(3, 4, 5)], [(3, 4, 6)])


def test_unsupported_values_are_named():
    verdict = judge(expect(np.zeros(2)), Outcome(value=Unsupported("generator")))
    assert "got a generator" in verdict.message


def test_nan_is_located():
    verdict = judge(expect(np.zeros(3)), Outcome(value=np.array([0, np.nan, 0])))
    assert "nan at index [1]" in verdict.message


def test_a_test_scores_only_when_every_case_passes():
    test = GradedTest("f", "two cases", 2, False, (expect(1), expect(2)))
    assert judge_test(test, [Outcome(value=1), Outcome(value=2)]).score == 2
    failed = judge_test(test, [Outcome(value=1), Outcome(value=5)])
    assert failed.score == 0 and "expected 2, got 5" in failed.feedback()


def test_error_info_points_at_the_learners_line():
    source = "def f(x):\n    y = 1\n    return x[10]\n"
    namespace: dict = {}
    exec(compile(source, "<cell 3 (f)>", "exec"), namespace)
    import linecache
    linecache.cache["<cell 3 (f)>"] = (len(source), None, source.splitlines(True), "<cell 3 (f)>")
    with pytest.raises(IndexError) as caught:
        namespace["f"](np.zeros(3))
    info = ErrorInfo.from_exception(caught.value)
    assert info.type == "IndexError" and info.where == "line 3: return x[10]"
    assert "LookupError" in info.bases


def test_speed_tests_compare_the_learners_time_with_the_baseline():
    from stridelab.judging import SpeedRequirement

    speed = SpeedRequirement("the naive loop", baseline_seconds=1.0, min_speedup=10, hint="vectorize")
    test = GradedTest("f", "speed", 2, True, (expect(1), expect(2)), speed)
    fast = judge_test(test, [Outcome(value=1, seconds=0.02), Outcome(value=2, seconds=0.03)])
    slow = judge_test(test, [Outcome(value=1, seconds=0.2), Outcome(value=2, seconds=0.3)])
    wrong = judge_test(test, [Outcome(value=1, seconds=0.01), Outcome(value=5, seconds=0.01)])
    assert fast.score == 2
    assert slow.score == 0 and "2.0× less; this test needs 10×" in slow.feedback()
    assert "Hint: vectorize" in slow.feedback()
    assert wrong.score == 0 and "expected 2, got 5" in wrong.feedback()


def test_a_mistake_that_raises_is_recognised_by_the_exception_type():
    mistake = KnownMistake("x[p:-p] at p = 0", "that slice is empty when p is 0", Raises("ValueError"))
    case = expect(np.zeros(2), [mistake])
    error = ErrorInfo("ValueError", "could not broadcast", ("Exception",))
    assert judge(case, Outcome(error=error)).hint.startswith("x[p:-p] at p = 0")
    other = ErrorInfo("IndexError", "out of range", ("LookupError", "Exception"))
    assert judge(case, Outcome(error=other)).hint == ""
    assert judge(case, Outcome(value=np.ones(2))).hint == ""


def test_returning_a_value_instead_of_raising_can_match_a_known_mistake():
    mistake = KnownMistake("no validation", "check k <= n + 2p first", 0)
    verdict = judge(expect(Raises("ValueError"), [mistake]), Outcome(value=0))
    assert "should raise ValueError, but it returned 0" in verdict.message
    assert verdict.hint.startswith("no validation")


def test_limits_read_plainly_even_where_an_exception_was_expected():
    limit = ErrorInfo("NotGraded", "was not graded: the notebook was not submitted", kind="crash")
    verdict = judge(expect(Raises("ValueError")), Outcome(error=limit))
    assert verdict.message == "Not graded: the notebook was not submitted"  # no made-up call
    timeout = ErrorInfo("TimeLimit", "did not finish within 3 s", kind="limit")
    assert judge(expect(Raises("ValueError")), Outcome(error=timeout)).message == \
        "f(x: 3×4) → did not finish within 3 s"
