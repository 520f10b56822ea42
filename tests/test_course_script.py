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
