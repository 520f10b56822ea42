"""course.py, the two-command entry point: validates its task before installing anything."""

from __future__ import annotations

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
    for task in ("lab", "test", "build"):
        assert f"course.py {task}" in result.stdout


def test_unknown_task_is_one_clear_line():
    result = run("deploy")
    assert result.returncode == 2
    assert result.stderr.strip() == "course.py: unknown task 'deploy'; choose one of: lab, test, build"


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
