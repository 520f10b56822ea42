"""JupyterLab server settings for this course: open locally, ask nothing of the internet.

``python3 course.py lab`` puts this folder on ``JUPYTER_CONFIG_PATH``; the browser tests
load this file directly. No news feed, no update check, and a read-only extension
manager, so the course works offline and never phones home on a learner's machine. The
nbgrader extensions, which the grader needs installed, are switched off here (and in
``labconfig/page_config.json``): a learner has no use for their menus. That file also
hides the RISE slideshow (and the JupyterLab-3-only MathJax extension RISE pulls in);
``course.py slides`` puts ``presenting/`` first on the path, which switches RISE back on.
"""

c = get_config()  # noqa: F821 (provided by Jupyter when it loads this file)

c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
c.LabApp.extension_manager = "readonly"

c.ServerApp.jpserver_extensions = {
    "nbgrader.server_extensions.formgrader": False,
    "nbgrader.server_extensions.validate_assignment": False,
    "nbgrader.server_extensions.assignment_list": False,
    "nbgrader.server_extensions.course_list": False,
}
