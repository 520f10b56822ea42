"""What grading one student produces, as typed data shared by the grading and report stages."""

from __future__ import annotations

from dataclasses import dataclass

from stridelab.judging import TestVerdict

__all__ = ["ExerciseResult", "StudentResult", "StudentScore"]


@dataclass(frozen=True)
class ExerciseResult:
    """One exercise of one student: every test judged."""

    name: str
    notebook: str
    verdicts: tuple[TestVerdict, ...]
    not_graded: str = ""
    """Why the exercise could not be run at all (notebook missing, cell deleted …), or ``""``."""

    @property
    def score(self) -> float:
        return sum(v.score for v in self.verdicts)

    @property
    def max_score(self) -> float:
        return float(sum(v.test.points for v in self.verdicts))


@dataclass(frozen=True)
class StudentResult:
    """One student's grade, with everything needed to explain and reproduce it."""

    student: str
    exercises: tuple[ExerciseResult, ...]
    seed: int
    """The run's seed: rerun with ``--seed`` to reproduce."""
    sandbox: str
    """How student code was isolated, in a sentence."""
    execution_time: float
    fingerprint: str
    """Hash of the submission, seed and grader: an unchanged one is not graded again."""
    notes: tuple[str, ...] = ()
    """Problems with the submission as a whole (unreadable or unrecognised files)."""
    failure: str = ""
    """The traceback when the grader itself failed on this submission; empty otherwise."""
    case_seed: int | None = None
    """The seed this submission's hidden cases were drawn from (the run's seed and the
    submission's bytes): a resubmission meets new cases."""

    @property
    def score(self) -> float:
        return sum(e.score for e in self.exercises)

    @property
    def max_score(self) -> float:
        return sum(e.max_score for e in self.exercises)


@dataclass(frozen=True)
class StudentScore:
    """A student's total, all a run's summary keeps (results may come from a cluster)."""

    student: str
    score: float
    max_score: float
