"""Shared fixtures: paths, sandboxes, and a factory for submissions built from the solutions."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tools/ is not an installed package

from grader.sandbox import BubblewrapSandbox, InProcessSandbox, Limits, Sandbox  # noqa: E402
from tests.submissions import write_submission  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, reason: str) -> None:
    """Skip locally when a system tool is missing; fail in CI, where it must be installed."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: .ci/run must install it)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def fast_sandbox() -> Sandbox:
    """Runs worker code in-process: no isolation, for tests of grading logic."""
    return InProcessSandbox(Limits(step_seconds=5))


@pytest.fixture(scope="session")
def bubblewrap() -> BubblewrapSandbox:
    """The real bubblewrap sandbox; skips locally (fails in CI) where it cannot run."""
    bwrap = shutil.which("bwrap")
    require(bwrap is not None, "bubblewrap is not installed (apt install bubblewrap)")
    sandbox = BubblewrapSandbox(Limits(step_seconds=5, cpu_seconds=20), bwrap)
    problem = sandbox.works()
    require(not problem, f"bubblewrap cannot start a sandbox here: {problem}")
    return sandbox


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Debian's Chromium with a fresh profile, one for the whole session; skipped locally
    (failed in CI) without it. One only: Playwright's sync API cannot run two at once."""
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM, open_chromium

    require(CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK),
            f"Chromium is not installed at {CHROMIUM} (apt install chromium, or set "
            "COURSE_CHROMIUM to a Chromium executable)")
    with sync_playwright() as playwright:
        context = open_chromium(playwright, tmp_path_factory.mktemp("chromium-profile"))
        yield context
        context.close()


@pytest.fixture
def submission(tmp_path: Path) -> Callable[..., Path]:
    """``submission("alice", "01_…", {"conv2d": source})`` → a notebook in tmp_path/class/alice."""

    def make(student: str, notebook: str, replace: dict[str, str] | None = None,
             **options: object) -> Path:
        folder = tmp_path / "class" / student
        folder.mkdir(parents=True, exist_ok=True)
        return write_submission(folder, notebook, replace or {}, **options)

    return make


def workers_alive() -> list[str]:
    """Process ids of every grading worker, zygote (and their bubblewrap) on this machine."""
    alive = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"_worker.py" in command or b"_zygote.py" in command:  # forked workers too
            alive.append(pid)
    return alive


def run_grader(*args: str | Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``python -m grader`` as a user would, capturing its output."""
    return subprocess.run([sys.executable, "-m", "grader", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
