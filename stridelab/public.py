"""The public tests, frozen to JSON so check cells run them without the grader.

The grader's exercise definitions generate every test; the public ones are written here
by ``python3 course.py build`` (one file per notebook in ``public_tests/``) together with
their expected results and the outputs of known mistakes. Check cells read them back;
no reference implementation ships to students, and a test fails when a file is stale.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from stridelab.encoding import decode, encode
from stridelab.judging import Expectation, GradedTest, KnownMistake

__all__ = ["PUBLIC_TESTS_DIR", "dumps", "load_notebook_tests", "public_case", "public_tests"]

PUBLIC_TESTS_DIR = Path(__file__).resolve().parent / "public_tests"
FORMAT = 1


def _case_to_json(case: Expectation) -> dict[str, Any]:
    return {
        "call": case.call,
        "arg_names": list(case.arg_names),
        "args": [encode(a) for a in case.args],
        "kwargs": {k: encode(v) for k, v in case.kwargs.items()},
        "expected": encode(case.expected),
        "mistakes": [
            {"name": m.name, "hint": m.hint, "output": encode(m.output)} for m in case.known_mistakes
        ],
        "show_inputs": case.show_inputs,
        "returns": list(case.returns),
    }


def _case_from_json(data: dict[str, Any]) -> Expectation:
    return Expectation(
        call=data["call"],
        arg_names=tuple(data["arg_names"]),
        args=tuple(decode(a) for a in data["args"]),
        kwargs={k: decode(v) for k, v in data["kwargs"].items()},
        expected=decode(data["expected"]),
        mistakes=tuple(
            KnownMistake(m["name"], m["hint"], decode(m["output"])) for m in data["mistakes"]
        ),
        show_inputs=data["show_inputs"],
        returns=tuple(data["returns"]),
    )


def dumps(notebook: str, tests: list[GradedTest]) -> str:
    """The JSON text of one notebook's public tests (stable, so diffs stay readable)."""
    exercises: dict[str, list[dict[str, Any]]] = {}
    for test in tests:
        exercises.setdefault(test.exercise, []).append(
            {
                "title": test.title,
                "points": test.points,
                "cases": [_case_to_json(case) for case in test.cases],
            }
        )
    document = {"format": FORMAT, "notebook": notebook, "exercises": exercises}
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def load_notebook_tests(path: Path) -> dict[str, list[GradedTest]]:
    """Read one frozen file: exercise name → its public tests."""
    document = json.loads(path.read_text(encoding="utf-8"))
    if document.get("format") != FORMAT:
        raise ValueError(f"{path.name}: unknown public-test format; run `python3 course.py build`")
    return {
        exercise: [
            GradedTest(
                exercise=exercise,
                title=test["title"],
                points=test["points"],
                hidden=False,
                cases=tuple(_case_from_json(c) for c in test["cases"]),
            )
            for test in tests
        ]
        for exercise, tests in document["exercises"].items()
    }


@cache
def _all_public_tests() -> dict[str, list[GradedTest]]:
    merged: dict[str, list[GradedTest]] = {}
    for path in sorted(PUBLIC_TESTS_DIR.glob("*.json")):
        merged.update(load_notebook_tests(path))
    return merged


def public_tests(exercise: str) -> list[GradedTest]:
    """The public tests of ``exercise``; ``KeyError`` naming the known ones if there are none."""
    tests = _all_public_tests()
    if exercise not in tests:
        known = ", ".join(sorted(tests)) or "none — run `python3 course.py build`"
        raise KeyError(f"no public tests for {exercise!r}; exercises with tests: {known}")
    return tests[exercise]


def public_case(exercise: str, test: str, index: int) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The inputs of one public case, as a check cell's failure names it, to call by hand.

    >>> args, kwargs = public_case("conv_output_size", "the worked examples", 0)
    >>> conv_output_size(*args, **kwargs)  # doctest: +SKIP
    """
    tests = {t.title: t for t in public_tests(exercise)}
    if test not in tests:
        raise KeyError(f"{exercise} has no public test {test!r}; its tests: "
                       + ", ".join(repr(t) for t in tests))
    cases = tests[test].cases
    if not 0 <= index < len(cases):
        raise IndexError(f"{exercise}: {test!r} has cases 0 to {len(cases) - 1}, not {index}")
    return tuple(copy.deepcopy(cases[index].args)), copy.deepcopy(dict(cases[index].kwargs))
