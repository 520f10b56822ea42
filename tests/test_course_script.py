"""course.py, the two-command entry point: validates its task before installing anything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "course.py"), *args],
                          capture_output=True, text=True, timeout=60)


def test_help_lists_the_tasks():
    result = run("--help")
    assert result.returncode == 0
    for task in ("lab", "test", "build", "slides"):
        assert f"course.py {task}" in result.stdout


def test_unknown_task_is_one_clear_line():
    result = run("deploy")
    assert result.returncode == 2
    assert result.stderr.strip() == "course.py: unknown task 'deploy'; choose one of: lab, test, build, slides"


def test_ci_script_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 course.py test" in readme and "python3 course.py test" in ci
    assert "python3 course.py lab" in readme


def test_lab_serves_the_repository_so_asset_links_resolve():
    sys.path.insert(0, str(ROOT))
    import course

    command = course.task_command("lab", Path(sys.executable), [])
    assert f"--ServerApp.root_dir={ROOT}" in command
    notebook = ROOT / command[-1]
    assert notebook.is_file() and (notebook.parent / "../assets/sliding_window.gif").resolve().is_file()


def test_an_older_python_is_told_what_to_do(monkeypatch):
    """The pins need 3.11: on 3.10, say so, instead of pip's "check your network"."""
    sys.path.insert(0, str(ROOT))
    import course

    monkeypatch.setattr(course.sys, "version_info", (3, 10, 12))
    monkeypatch.setattr(course.sys, "version", "3.10.12 (main)")
    try:
        course.ensure_environment()
    except course.SetupError as error:
        message = str(error)
    else:
        raise AssertionError("an old Python was accepted")
    assert "needs Python 3.11 or newer" in message and "this is 3.10.12" in message
    assert "python3.11 course.py" in message
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.11"' in pyproject and "Python 3.11 or newer" in (ROOT / "README.md").read_text()


def _installed_nbgrader_extensions() -> tuple[str, dict[str, bool]]:
    """The nbgrader JupyterLab extension's package name and server extensions, as installed."""
    prefix = Path(sys.prefix)
    package = json.loads((prefix / "share/jupyter/labextensions/@jupyter/nbgrader/package.json")
                         .read_text())["name"]
    server = json.loads((prefix / "etc/jupyter/jupyter_server_config.d/nbgrader.json")
                        .read_text())["ServerApp"]["jpserver_extensions"]
    return package, server


def test_the_learners_lab_config_disables_every_nbgrader_extension():
    """The learner's lab hides nbgrader's Create Assignment panel, Validate button and menu."""
    from traitlets.config import Config

    package, server = _installed_nbgrader_extensions()
    page_config = json.loads((ROOT / "jupyter" / "labconfig" / "page_config.json").read_text())
    assert page_config["disabledExtensions"] == {
        package: True, "jupyterlab-rise": True, "@jupyterlab/mathjax3-extension": True}
    config = Config()
    exec((ROOT / "jupyter" / "jupyter_server_config.py").read_text(),  # noqa: S102 - our file
         {"get_config": lambda: config})
    switched = config.ServerApp.jpserver_extensions
    assert set(server) and set(server) <= set(switched)
    assert not any(switched[name] for name in server)


def test_course_lab_puts_the_config_folder_first_on_the_jupyter_config_path(monkeypatch):
    sys.path.insert(0, str(ROOT))
    import course

    seen = {}
    monkeypatch.setattr(course, "ensure_environment", lambda: Path(sys.executable))
    monkeypatch.setattr(course.subprocess, "call",
                        lambda command, cwd, env: seen.update(env=env) or 0)
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", "/somewhere/else")
    assert course.main(["lab"]) == 0
    assert seen["env"]["JUPYTER_CONFIG_PATH"].split(os.pathsep) == [
        str(ROOT / "jupyter"), "/somewhere/else"]


def test_jupyterlab_itself_reports_nbgrader_disabled_with_the_course_config():
    """JupyterLab's own listing, with and without the learner's config folder."""
    jupyter = Path(sys.executable).parent / "jupyter"
    env = dict(os.environ, JUPYTER_CONFIG_PATH=str(ROOT / "jupyter"))
    learner = subprocess.run([str(jupyter), "labextension", "list"], capture_output=True,
                             text=True, env=env, timeout=120)
    listing = learner.stdout + learner.stderr
    line = next(l for l in listing.splitlines() if "@jupyter/nbgrader" in l and "v0" in l)
    assert "disabled" in line
    env.pop("JUPYTER_CONFIG_PATH")
    instructor = subprocess.run([str(jupyter), "labextension", "list"], capture_output=True,
                                text=True, env=env, timeout=120)
    line = next(l for l in (instructor.stdout + instructor.stderr).splitlines()
                if "@jupyter/nbgrader" in l and "v0" in l)
    assert "enabled" in line   # the instructor's JupyterLab keeps nbgrader's tools


def test_the_readme_tells_instructors_how_to_get_nbgrader_back():
    readme = (ROOT / "README.md").read_text()
    assert "hides nbgrader's instructor tools" in readme and ".venv/bin/jupyter lab" in readme


def test_slides_opens_the_chosen_solution_notebook_with_the_learners_settings(monkeypatch):
    """``course.py slides 03`` serves the repository like ``lab``, opening solutions/03_…."""
    sys.path.insert(0, str(ROOT))
    import course

    command = course.task_command("slides", Path(sys.executable), ["03", "--port", "8890"])
    assert command[-1] == "solutions/03_downsampling.ipynb" and "--port" in command
    assert f"--ServerApp.root_dir={ROOT}" in command
    assert course.task_command("slides", Path(sys.executable), [])[-1] == \
        "solutions/01_convolution_dot_product.ipynb"
    seen = {}
    monkeypatch.setattr(course, "ensure_environment", lambda: Path(sys.executable))
    monkeypatch.setattr(course.subprocess, "call",
                        lambda command, cwd, env: seen.update(env=env) or 0)
    assert course.main(["slides", "08"]) == 0
    assert seen["env"]["JUPYTER_CONFIG_PATH"].split(os.pathsep)[:2] == [
        str(ROOT / "jupyter" / "presenting"), str(ROOT / "jupyter")]
    result = run("slides", "99")
    assert result.returncode == 2 and "no single notebook starts with '99'" in result.stderr


def test_rise_is_hidden_from_learners_and_on_for_presenting():
    """``course.py lab`` shows no slideshow button; ``course.py slides`` has RISE."""
    jupyter = Path(sys.executable).parent / "jupyter"

    def rise_line(*folders: str) -> str:
        env = dict(os.environ, JUPYTER_CONFIG_PATH=os.pathsep.join(str(ROOT / f) for f in folders))
        listing = subprocess.run([str(jupyter), "labextension", "list"], capture_output=True,
                                 text=True, env=env, timeout=120)
        return next(line for line in (listing.stdout + listing.stderr).splitlines()
                    if "jupyterlab-rise" in line and " v0" in line)

    assert "disabled" in rise_line("jupyter")
    assert "enabled" in rise_line("jupyter/presenting", "jupyter")
