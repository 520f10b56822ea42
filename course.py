#!/usr/bin/env python3
"""Set up the course's environment and run its everyday tasks.

    python3 course.py lab      install what is missing, then open the course in JupyterLab
    python3 course.py test     install what is missing, then run the whole test suite
    python3 course.py build    regenerate notebooks/, public tests and assets/ from solutions/
    python3 course.py slides [NN]   open solution notebook NN (default 01) for presenting live

Everything is installed into ``.venv`` next to this file, from ``requirements.txt``;
nothing touches the Python you run this with. Arguments after the task go to the tool
underneath (``course.py test -k stride`` → ``pytest -k stride``). Standard library only,
so it runs on a fresh machine; the course itself needs Python 3.11 or newer.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("COURSE_VENV", ROOT / ".venv"))
STAMP = VENV / ".course-installed"
FIRST_NOTEBOOK = "notebooks/01_convolution_dot_product.ipynb"
TASKS = ("lab", "test", "build", "slides")
PRESENTING = """
Presenting {notebook}:
  1. Run -> Run All Cells, and wait until the status bar reads Idle.
  2. Click the first cell, then press Alt-R (or the slideshow button in the notebook's toolbar):
     the slides open beside the live notebook and follow the cell you select.
  3. In the slides: Space / Shift-Space step through slides and fragments, T opens the speaker
     notes, the full-screen button (top left of the slides) fills the screen, Esc leaves it.
  4. On a widget's slide, drive the widget in the live notebook on the left.
The teaching guide, docs/teaching.md, has timings and questions for every notebook.
"""
LAB_CONFIG_DIR = ROOT / "jupyter"
PRESENTING_CONFIG_DIR = ROOT / "jupyter" / "presenting"
"""Put before ``LAB_CONFIG_DIR`` by ``slides``: switches RISE, hidden from learners, back on."""
LAB_OVERRIDES = ROOT / "jupyter" / "overrides.json"
MIN_PYTHON = (3, 11)
"""numpy 2.4, IPython 9, matplotlib 3.11, ipykernel 7.4 and nbgrader 0.9.6 require it."""


class SetupError(Exception):
    """A problem the user can fix; its message says how."""


def venv_python() -> Path:
    """The interpreter inside the course's virtual environment."""
    if os.name == "nt":
        return VENV / "Scripts" / "python.exe"
    return VENV / "bin" / "python"


def requirements_fingerprint() -> str:
    """What the installed environment must match: requirements, package metadata, Python."""
    digest = hashlib.sha256(sys.version.encode())
    for name in ("requirements.txt", "pyproject.toml", "jupyter/overrides.json"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def create_venv() -> None:
    """Create ``.venv`` with pip, explaining the usual reason when that is impossible."""
    print(f"Creating the course environment in {VENV} …", flush=True)
    try:
        venv.EnvBuilder(with_pip=True, clear=VENV.exists()).create(VENV)
    except (subprocess.CalledProcessError, OSError) as error:
        raise SetupError(
            f"could not create a virtual environment ({error}). On Debian or Ubuntu install "
            "Python's venv module first: sudo apt install python3-venv"
        ) from error


def install_overrides() -> None:
    """Install JupyterLab settings that stop it from fetching news or update checks."""
    settings = VENV / "share" / "jupyter" / "lab" / "settings"
    settings.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(LAB_OVERRIDES, settings / "overrides.json")


def ensure_environment() -> Path:
    """Make ``.venv`` match ``requirements.txt``; a no-op when it already does."""
    if sys.version_info < MIN_PYTHON:
        raise SetupError(
            f"this course needs Python {'.'.join(map(str, MIN_PYTHON))} or newer (its pinned "
            f"numpy, IPython and nbgrader do); this is {sys.version.split()[0]}. Install a newer "
            "Python (python.org, or e.g. `sudo apt install python3.11 python3.11-venv` on "
            "Ubuntu), then run: python3.11 course.py ..."
        )
    fingerprint = requirements_fingerprint()
    if venv_python().exists() and STAMP.exists() and STAMP.read_text() == fingerprint:
        return venv_python()
    if not venv_python().exists():
        create_venv()
    print("Installing the course's packages (about a minute the first time) …", flush=True)
    pip = [str(venv_python()), "-m", "pip", "install", "--disable-pip-version-check"]
    steps = [pip + ["--upgrade", "pip"], pip + ["-r", "requirements.txt"]]
    for step in steps:
        if subprocess.call(step, cwd=ROOT) != 0:
            raise SetupError(
                "installing packages failed (see pip's message above). Check your network "
                "connection, then run the same command again; finished steps are not repeated."
            )
    install_overrides()
    STAMP.write_text(fingerprint)
    return venv_python()


def presented_notebook(extra: list[str]) -> tuple[str, list[str]]:
    """``slides``' notebook (``03``, ``03_downsampling`` …; default 01) and the other arguments."""
    if extra and not extra[0].startswith("-"):
        choice, extra = extra[0], extra[1:]
        choice = choice[:-len(".ipynb")] if choice.endswith(".ipynb") else choice
        found = sorted(p for p in (ROOT / "solutions").glob("*.ipynb") if p.stem.startswith(choice))
        if len(found) != 1:
            names = ", ".join(p.stem for p in sorted((ROOT / "solutions").glob("*.ipynb")))
            raise SetupError(f"no single notebook starts with {choice!r}; choose one of: {names}")
        return f"solutions/{found[0].name}", extra
    return "solutions/" + FIRST_NOTEBOOK.split("/", 1)[1], extra


def task_command(task: str, python: Path, extra: list[str]) -> list[str]:
    """The command line a task runs inside the environment."""
    if task in ("lab", "slides"):
        # Serve the repository, not notebooks/, so ../assets/ images resolve.
        as_root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        notebook = FIRST_NOTEBOOK
        if task == "slides":  # the instructor's copy: the same slides, with the answers
            notebook, extra = presented_notebook(extra)
        return [str(python), "-m", "jupyterlab", f"--ServerApp.root_dir={ROOT}", *as_root,
                *extra, notebook]
    if task == "test":
        return [str(python), "-m", "pytest", *extra]
    if task == "build":
        return [str(python), "-m", "tools.build", *extra]
    raise SetupError(f"unknown task {task!r}; choose one of: {', '.join(TASKS)}")


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0 if argv else 2
    task, extra = argv[0], argv[1:]
    try:
        task_command(task, Path(sys.executable), extra)  # validate the task before installing
        command = task_command(task, ensure_environment(), extra)
    except SetupError as error:
        print(f"course.py: {error}", file=sys.stderr)
        return 2
    print("$ " + " ".join(command), flush=True)
    if task == "slides":
        print(PRESENTING.format(notebook=command[-1]), flush=True)
    env = dict(os.environ, PYTHONNOUSERSITE="1")
    if task in ("lab", "slides"):
        extra_paths = [str(LAB_CONFIG_DIR), os.environ.get("JUPYTER_CONFIG_PATH", "")]
        if task == "slides":
            extra_paths.insert(0, str(PRESENTING_CONFIG_DIR))
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(p for p in extra_paths if p)
    try:
        return subprocess.call(command, cwd=ROOT, env=env)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
