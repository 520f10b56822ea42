"""JupyterLab server settings for this course: open locally, ask nothing of the internet.

Used by ``python3 course.py lab`` and by the browser tests. No news feed, no update
check, and a read-only extension manager, so the course works offline and never
phones home on a learner's machine.
"""

c = get_config()  # noqa: F821 (provided by Jupyter when it loads this file)

c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
c.LabApp.extension_manager = "readonly"
