"""The errors that stop a grading run, each with an exit code and a message saying what to do.

    GraderError            exit 2   base class
    ├── UsageError         exit 2   bad arguments, or a path that cannot be graded
    ├── SandboxUnavailable exit 3   bubblewrap cannot run here and unsandboxed was not allowed
    └── OutputError        exit 4   the output folder cannot be written

A problem with one submission is never one of these: it becomes a result row with a
reason, and the run goes on.
"""

from __future__ import annotations

__all__ = ["GraderError", "OutputError", "SandboxUnavailable", "UsageError"]


class GraderError(Exception):
    """A problem that stops the run; ``str(error)`` is the one-line reason."""

    exit_code = 2


class UsageError(GraderError):
    """Bad command-line arguments or an input path that cannot be graded."""

    exit_code = 2


class SandboxUnavailable(GraderError):
    """Bubblewrap cannot start a sandbox here, and running unsandboxed was not allowed."""

    exit_code = 3

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        """Why bubblewrap cannot run, e.g. "bubblewrap (bwrap) is not installed"."""


class OutputError(GraderError):
    """The output folder or one of its files cannot be written."""

    exit_code = 4
