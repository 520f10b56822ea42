"""The course's autograder: load a submission, run it in a sandbox, judge it, report.

Stages, one module each: :mod:`~grader.discover` (who submitted what),
:mod:`~grader.load` (notebook → code to run), :mod:`~grader.run` with
:mod:`~grader.sandbox` (run it in an isolated worker), :mod:`stridelab.judging` (compare in
this process) and :mod:`~grader.report` (``results.json``, ``feedback.md``,
``gradebook.csv``); :mod:`~grader.grade` strings them together.

>>> from grader import GradingOptions, grade
>>> summary = grade([Path("submissions")], GradingOptions(out=Path("grades")))  # doctest: +SKIP
"""

from grader.errors import GraderError, OutputError, SandboxUnavailable, UsageError
from grader.grade import GradingOptions, RunSummary, grade
from grader.sandbox import Limits

__all__ = [
    "GraderError",
    "GradingOptions",
    "Limits",
    "OutputError",
    "RunSummary",
    "SandboxUnavailable",
    "UsageError",
    "grade",
]
