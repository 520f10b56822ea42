"""nbgrader configuration for this course.

Used by the course folder that ``python -m grader nbgrader-course DIR`` lays out (its own
``nbgrader_config.py`` loads this file). Every assignment is one notebook, named after it.
Autograding keeps nbgrader's pipeline but swaps its ``Execute`` step — student code run in
nbgrader's kernel, next to the tests — for the course grader's sandbox
(:class:`grader.nbgrader_plugin.GradeInSandbox`), so nbgrader's points are the grader's.
"""

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern,
                                    LimitOutput, SaveAutoGrades)

from grader.nbgrader_plugin import GradeInSandbox

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "strided-convolutions"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# nbgrader's autograde pipeline, in its order, with GradeInSandbox where Execute was.
c.Autograde.autograde_preprocessors = [
    GradeInSandbox,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
c.GradeInSandbox.step_timeout = 10.0
c.GradeInSandbox.time_per_notebook = 300.0
# c.GradeInSandbox.seed = 1234            # fix the hidden tests' seed (default: one per run)
# c.GradeInSandbox.require_isolation = True  # refuse to grade without bubblewrap
