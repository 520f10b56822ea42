"""nbgrader configuration for this course.

Used by the course folder that ``python -m grader nbgrader-course DIR`` lays out (its own
``nbgrader_config.py`` loads this file). Every assignment is one notebook, named after it.
Autograding keeps nbgrader's pipeline but swaps its ``Execute`` step — student code run in
nbgrader's kernel, next to the tests — for the course grader's sandbox
(:class:`grader.nbgrader_plugin.GradeInSandbox`), so nbgrader's points are the grader's, and
adds :class:`grader.nbgrader_sanitize.SanitizeSubmission`, which makes the student's HTML,
links, attachments and widget state inert before formgrader or feedback pages show them.
Of a submission, only its notebooks are kept, and no link in it is followed
(:func:`grader.nbgrader_files.keep_only_notebooks`).
"""

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearOutput,
                                    DeduplicateIds, IgnorePattern, LimitOutput, OverwriteCells,
                                    OverwriteKernelspec, SaveAutoGrades)

from grader.nbgrader_files import keep_only_notebooks
from grader.nbgrader_plugin import GradeInSandbox
from grader.nbgrader_sanitize import SanitizeSubmission

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

# autograde and generate_feedback copy a submission's other files (an HTML page formgrader
# would serve you, a link to your own files) into autograded/ and feedback/, following links;
# no setting of nbgrader's stops that without dropping assets/ from the release. This keeps
# a submission's notebooks (and nbgrader's timestamp.txt, submission_secret.txt) only, and
# skips a submission or notebook that is a link.
keep_only_notebooks()

c.CourseDirectory.course_id = "strided-convolutions"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# Autograde writes the notebook twice into autograded/: after its first stage
# (sanitize_preprocessors), where it waits while the sandbox grades it, and after the second.
# SanitizeSubmission runs before both writes, so formgrader never finds a notebook with the
# student's HTML in it, not even one left behind by an interrupted run.
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    OverwriteCells,
    SanitizeSubmission,
    CheckCellMetadata,
]
# nbgrader's autograde pipeline, in its order, with GradeInSandbox where Execute was, and
# SanitizeSubmission after the grades are saved, over everything the notebook now holds.
c.Autograde.autograde_preprocessors = [
    GradeInSandbox,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    SanitizeSubmission,
    CheckCellMetadata,
]
c.GradeInSandbox.step_timeout = 10.0
c.GradeInSandbox.time_per_notebook = 300.0
# c.GradeInSandbox.seed = 1234            # fix the hidden tests' seed (default: one per run)
# c.GradeInSandbox.allow_unsandboxed = True  # grade without bubblewrap (limits only)
