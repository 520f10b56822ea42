"""JupyterLab in a real browser, for the browser tests: a server, Chromium, notebooks run in it.

    copy_course(tmp)                  solutions/, notebooks/, assets/ copied; never the repo
    LabServer.start(copy, home, log)  jupyter lab on 127.0.0.1, token-less, offline settings
    course_server(home, log)          both of the above, stopped on leaving the ``with``
    open_chromium(playwright, dir)    Debian's Chromium (``COURSE_CHROMIUM``) via Playwright
    NotebookRuns(server, browser, plan)
        opens each planned notebook in its own workspace and presses Run All, two at a
        time, so that one notebook runs while the tests inspect the one before it
      └─ NotebookRun                  one notebook's page: its cells, figures, screenshots

JupyterLab autosaves outputs into the files it runs, which is why the server only ever
sees a temporary copy. Every wait polls a condition against a deadline, and a timeout
says which notebook, and which cells, it was waiting for.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import nbformat
from playwright.sync_api import Error as PlaywrightError

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "browser"
SERVER_CONFIG = ROOT / "jupyter" / "jupyter_server_config.py"
OVERRIDES = ROOT / "jupyter" / "overrides.json"
COURSE_FOLDERS = ("solutions", "notebooks", "assets")

CHROMIUM = Path(os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium"))
"""The browser to drive: Debian's Chromium unless ``COURSE_CHROMIUM`` names another."""
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 900}

SERVER_START_SECONDS = 120.0
OPEN_SECONDS = 120.0
"""From opening a notebook's page to its kernel reporting ``| Idle``."""
RUN_SECONDS = 480.0
"""From Run All to the last cell finishing (notebook 07 trains a model for up to a minute)."""
WIDGET_SECONDS = 60.0
"""For a widget to render, or to redraw after a key press."""
POLL_SECONDS = 0.2

TEST_SETTINGS = {"@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"}}
"""Settings for the tests only: every cell in the page at once (JupyterLab's default
attaches cells lazily, slowest in the pages running in the background), so that the tests
can read every cell and a screenshot shows the whole notebook."""

T = TypeVar("T")


class BrowserTestError(AssertionError):
    """Something the browser tests waited for did not happen; the message says what."""


def wait_for(condition: Callable[[], T], seconds: float, message: Callable[[], str],
             between: Callable[[], None] = lambda: None) -> T:
    """Poll ``condition`` until it returns something truthy; fail with ``message()``.

    ``between`` runs after each unsuccessful poll (the runs' pump, so that other notebooks
    keep moving while one test waits).
    """
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise BrowserTestError(f"{message()} (waited {seconds:.0f} s)")
        between()
        time.sleep(POLL_SECONDS)


# --- The course copy and the server ---------------------------------------------------------

def copy_course(destination: Path) -> Path:
    """Copy the folders a learner opens, with their relative layout (``../assets/`` works)."""
    for folder in COURSE_FOLDERS:
        shutil.copytree(ROOT / folder, destination / folder,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return destination


def write_user_settings(overrides: Path, settings_dir: Path,
                        extra: dict[str, dict[str, Any]] | None = None) -> list[Path]:
    """Write the course's ``overrides.json`` (and ``extra``) as user settings; list the files.

    ``course.py`` installs ``overrides.json`` into the venv's ``share/jupyter/lab/settings``,
    which a venv made another way lacks. User settings (``JUPYTERLAB_SETTINGS_DIR``) carry
    the same values whatever the venv, and take precedence over defaults and overrides.
    Plugin ``@scope/package:plugin`` lives in ``@scope/package/plugin.jupyterlab-settings``.
    """
    settings: dict[str, dict[str, Any]] = json.loads(overrides.read_text())
    for plugin, values in (extra or {}).items():
        settings[plugin] = {**settings.get(plugin, {}), **values}
    written = []
    for plugin, values in settings.items():
        package, _, name = plugin.partition(":")
        path = settings_dir / package / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=2))
        written.append(path)
    return written


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LabServer:
    """A JupyterLab server on localhost serving one folder, with nothing of the user's."""

    url: str
    root_dir: Path
    log: Path
    process: subprocess.Popen[bytes]

    @classmethod
    def start(cls, root_dir: Path, home: Path, log: Path) -> LabServer:
        """Start ``jupyter lab`` on ``root_dir``; ``home`` holds its settings and state.

        The repo's server config switches off news, update checks and extension
        installs; the overrides arrive as user settings; the config, data, runtime and
        IPython folders are fresh, so no personal setting or kernel spec interferes.
        """
        folders = {name: home / name for name in ("settings", "workspaces", "config", "data",
                                                  "runtime", "ipython")}
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        write_user_settings(OVERRIDES, folders["settings"], TEST_SETTINGS)
        env = dict(os.environ, PYTHONNOUSERSITE="1",
                   JUPYTERLAB_SETTINGS_DIR=str(folders["settings"]),
                   JUPYTERLAB_WORKSPACES_DIR=str(folders["workspaces"]),
                   JUPYTER_CONFIG_DIR=str(folders["config"]),
                   JUPYTER_DATA_DIR=str(folders["data"]),
                   JUPYTER_RUNTIME_DIR=str(folders["runtime"]),
                   IPYTHONDIR=str(folders["ipython"]))
        port = free_port()
        command = [sys.executable, "-m", "jupyterlab", f"--config={SERVER_CONFIG}",
                   "--no-browser", "--ip=127.0.0.1", f"--port={port}",
                   "--ServerApp.port_retries=0", "--IdentityProvider.token=",
                   "--ServerApp.password=", f"--ServerApp.root_dir={root_dir}"]
        if os.name == "posix" and os.geteuid() == 0:
            command.append("--allow-root")
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as sink:
            process = subprocess.Popen(command, cwd=root_dir, env=env, stdout=sink,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True)
        server = cls(f"http://127.0.0.1:{port}/", root_dir, log, process)
        try:
            wait_for(server.ready, SERVER_START_SECONDS,
                     lambda: f"JupyterLab did not answer on {server.url}")
        except BrowserTestError as error:
            server.stop()
            raise BrowserTestError(f"{error}\n--- end of {log} ---\n{server.log_tail()}") from None
        return server

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise BrowserTestError(f"JupyterLab exited with code {self.process.returncode}:\n"
                                   f"{self.log_tail()}")
        try:
            with urllib.request.urlopen(self.url + "api/status", timeout=5) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            return json.load(response)

    def settings(self, plugin: str) -> dict[str, Any]:
        """The user settings the server hands the front end for ``plugin``."""
        return self.get_json(f"lab/api/settings/{plugin}")["settings"]

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server (it shuts its kernels down); kill its process group if it hangs."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(timeout=10)


def open_chromium(playwright: Any, profile: Path) -> Any:
    """Debian's Chromium, headless, with a fresh profile: a Playwright browser context."""
    return playwright.chromium.launch_persistent_context(
        str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True,
        viewport=VIEWPORT, timeout=60_000)


@contextmanager
def course_server(home: Path, log: Path) -> Iterator[LabServer]:
    """JupyterLab serving a fresh copy of the course under ``home`` (it autosaves into what
    it runs), stopped on exit."""
    server = LabServer.start(copy_course(home / "course"), home / "jupyter", log)
    try:
        yield server
    finally:
        server.stop()


# --- One notebook in one page ---------------------------------------------------------------

@dataclass(frozen=True)
class Notebook:
    """A notebook of the course, by folder (``solutions``/``notebooks``) and name."""

    folder: str
    name: str

    @property
    def path(self) -> str:
        return f"{self.folder}/{self.name}.ipynb"

    @property
    def workspace(self) -> str:
        return f"{self.folder}-{self.name}"

    def sources(self, root: Path) -> list[tuple[str, str]]:
        """``(cell_type, source)`` of every cell of the copy under ``root``."""
        notebook = nbformat.read(root / self.path, as_version=4)
        return [(cell.cell_type, cell.source) for cell in notebook.cells]


@dataclass(frozen=True)
class Output:
    mime: str
    text: str

    @property
    def is_stderr(self) -> bool:
        """An error or a stderr stream: JupyterLab renders both with this MIME type."""
        return self.mime == "application/vnd.jupyter.stderr"


@dataclass(frozen=True)
class Cell:
    """A cell as the page shows it, with its source from the file."""

    index: int
    kind: str
    source: str
    prompt: str
    outputs: tuple[Output, ...]

    @property
    def label(self) -> str:
        first = self.source.strip().splitlines()[0] if self.source.strip() else ""
        return f"cell {self.index} ({first[:60]!r})"

    @property
    def ran(self) -> bool:
        return re.fullmatch(r"\[\d+\]:?", self.prompt.strip()) is not None

    @property
    def output_text(self) -> str:
        return "\n".join(output.text for output in self.outputs)


SNAPSHOT_JS = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const status = document.querySelector('#jp-main-statusbar')?.textContent ?? '';
  const dialog = document.querySelector('.jp-Dialog')?.textContent ?? '';
  const cells = panel === null ? null : [...panel.querySelectorAll('.jp-Cell')].map(cell => ({
    code: cell.classList.contains('jp-CodeCell'),
    prompt: cell.querySelector('.jp-InputArea-prompt')?.textContent ?? '',
    outputs: [...cell.querySelectorAll('.jp-OutputArea-output')].map(
      output => [output.dataset.mimeType ?? '', output.textContent ?? '']),
  }));
  return {status, dialog, cells};
}"""

SHUTDOWN_KERNEL_JS = """async path => {
  const xsrf = (document.cookie.match(/(?:^|; )_xsrf=([^;]*)/) ?? [])[1] ?? '';
  const sessions = await (await fetch('/api/sessions')).json();
  for (const session of sessions.filter(s => s.path === path)) {
    await fetch(`/api/sessions/${session.id}`,
                {method: 'DELETE', headers: {'X-XSRFToken': decodeURIComponent(xsrf)}});
  }
}"""

WIDGET_LOADING = "Loading widget..."
WIDGET_ERROR = "Error displaying widget"
"""What ipywidgets' JupyterLab manager shows in place of a widget: still, or never, rendered."""
FIGURES = ".widget-vbox:has(> .widget-image)"
"""Every InteractiveFigure: a VBox of controls, message, image and caption."""
SLIDERS = ".widget-slider"
"""ipywidgets' sliders (Int, Float, Selection, range): noUiSlider handles inside."""


@dataclass
class NotebookRun:
    """One notebook opened in its own workspace and run with Run All.

    ``advance()`` moves it along: opening → (kernel idle, Run All pressed) running →
    finished, or failed with a message. It never blocks.
    """

    notebook: Notebook
    page: Any
    origin: str
    sources: list[tuple[str, str]]
    state: str = "opening"
    failure: str = ""
    deadline: float = 0.0
    started: float = field(default_factory=time.monotonic)
    run_seconds: float = 0.0
    outside_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    _started_running: bool = False
    _prompts_before: list[str] = field(default_factory=list)
    _last: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, context: Any, server: LabServer, notebook: Notebook) -> NotebookRun:
        page = context.new_page()
        try:
            sources, problem = notebook.sources(server.root_dir), ""
        except Exception as error:  # noqa: BLE001 - e.g. a notebook saved half-written
            sources, problem = [], f"cannot read the notebook: {error}"
        run = cls(notebook, page, server.url.rstrip("/"), sources,
                  deadline=time.monotonic() + OPEN_SECONDS)
        if problem:
            run._fail(problem)
            return run
        page.on("request", lambda request: run._note_request(request.url))
        page.on("websocket", lambda socket: run._note_request(socket.url))
        page.on("console", lambda message: run.console_errors.append(message.text)
                if message.type == "error" else None)
        page.goto(f"{server.url}lab/workspaces/{notebook.workspace}/tree/{notebook.path}?reset",
                  wait_until="commit")
        return run

    def _note_request(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme in ("blob", "data"):
            return
        if f"{parts.hostname}:{parts.port}" != urlsplit(self.origin).netloc:
            self.outside_requests.append(url)

    @property
    def done(self) -> bool:
        return self.state in ("finished", "failed")

    @property
    def panel(self) -> Any:
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")

    def snapshot(self) -> dict[str, Any]:
        self._last = self.page.evaluate(SNAPSHOT_JS)
        return self._last

    def kernel_idle(self, snap: dict[str, Any]) -> bool:
        return "| Idle" in snap["status"]

    def all_cells_shown(self, snap: dict[str, Any]) -> bool:
        return len(snap["cells"] or []) == len(self.sources)

    def advance(self) -> None:
        if self.done:
            return
        try:
            snap = self.snapshot()
        except PlaywrightError as error:
            if self.state == "opening" and time.monotonic() < self.deadline:
                return  # the page is still loading
            self._fail(f"the page stopped answering: {error}")
            return
        if snap["dialog"]:
            self._fail(f"a dialog appeared: {snap['dialog'].strip()[:300]!r}")
        elif self.state == "opening":
            if self.all_cells_shown(snap) and self.kernel_idle(snap):
                self._run_all(snap)
            elif time.monotonic() > self.deadline:
                self._fail(f"the kernel was not idle, or the cells not all shown, "
                           f"{OPEN_SECONDS:.0f} s after opening (status bar: "
                           f"{snap['status'][:120]!r}; {len(snap['cells'] or [])} of "
                           f"{len(self.sources)} cells shown)")
        elif self.state == "running":
            prompts = [cell["prompt"] for cell in snap["cells"] or []]
            # Run All queues every cell ([*]) at once; a run that finished between two
            # looks still shows: its prompts changed.
            self._started_running |= any("*" in prompt for prompt in prompts) \
                or prompts != self._prompts_before or not self.code_cells()
            if self._started_running and self.kernel_idle(snap) \
                    and self.all_cells_shown(snap) and not any("*" in p for p in prompts):
                self.state = "finished"
                self.run_seconds = time.monotonic() - self.started
            elif time.monotonic() > self.deadline:
                waiting = [cell.label for cell in self.cells() if cell.kind == "code"
                           and not cell.ran]
                self._fail(f"still running {RUN_SECONDS:.0f} s after Run All; cells not "
                           f"finished: {', '.join(waiting) or 'none'}; status bar: "
                           f"{snap['status'][:120]!r}")

    def _run_all(self, snap: dict[str, Any]) -> None:
        """Run → Run All Cells, from the menu bar, as a learner would."""
        self._prompts_before = [cell["prompt"] for cell in snap["cells"]]
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        self.page.locator(".lm-Menu-itemLabel",
                          has_text=re.compile(r"^Run All Cells$")).click()
        self.state = "running"
        self.started = time.monotonic()
        self.deadline = self.started + RUN_SECONDS

    def _fail(self, reason: str) -> None:
        self.state = "failed"
        self.failure = f"{self.notebook.path}: {reason}"
        if self.console_errors:
            self.failure += "\nbrowser console errors:\n  " + "\n  ".join(
                error[:300] for error in self.console_errors[-5:])

    def code_cells(self) -> list[Cell]:
        return [cell for cell in self.cells() if cell.kind == "code" and cell.source.strip()]

    def cells(self) -> list[Cell]:
        """The cells as the page last showed them, with sources from the file."""
        shown = (self._last or self.snapshot())["cells"] or []
        sources = self.sources
        if len(shown) != len(sources):
            raise BrowserTestError(f"{self.notebook.path}: the page shows {len(shown)} cells, "
                                   f"the file has {len(sources)}")
        return [Cell(index, kind, source, item["prompt"],
                     tuple(Output(mime, text) for mime, text in item["outputs"]))
                for index, ((kind, source), item) in enumerate(zip(sources, shown))]

    # --- Looking at the result ---

    def screenshot(self, path: Path) -> Path:
        """The whole notebook in one picture: the viewport grows to the notebook's height."""
        sidebar = self.page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
        if sidebar.count():
            sidebar.first.click()  # fold the file browser away: the notebook gets the width
        heights = self.panel.locator(".jp-WindowedPanel-outer").first.evaluate(
            "outer => { outer.scrollTop = 0;"
            " return [outer.scrollHeight, outer.clientHeight, window.innerHeight]; }")
        scroll, client, window = heights
        height = min(window - client + scroll + 20, 32_000)
        self.page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
        try:
            self.wait_for_images()
            path.parent.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(path), full_page=True)
        finally:
            self.page.set_viewport_size(VIEWPORT)
        return path

    def wait_for_images(self) -> None:
        self.page.wait_for_function(
            "() => [...document.querySelectorAll('.jp-NotebookPanel img')]"
            ".every(img => img.complete)", timeout=WIDGET_SECONDS * 1000)

    def broken_images(self) -> list[str]:
        """Images in the notebook that did not load (after scrolling them into view)."""
        return self.panel.evaluate(
            "panel => [...panel.querySelectorAll('img')]"
            ".filter(img => img.complete && img.naturalWidth === 0)"
            ".map(img => (img.getAttribute('src') ?? '').slice(0, 120))")

    def figures(self) -> list[Any]:
        return self.panel.locator(FIGURES).all()

    def widget_texts(self, text: str) -> list[str]:
        """Labels of the cells with an output showing ``text`` (a fresh look at the page)."""
        self.snapshot()
        return [cell.label for cell in self.cells()
                if any(text in output.text for output in cell.outputs)]

    def cell_of(self, element: Any) -> Cell:
        index = element.evaluate(
            "e => [...e.closest('.jp-Notebook, .jp-WindowedPanel-viewport')"
            ".querySelectorAll('.jp-Cell')].indexOf(e.closest('.jp-Cell'))")
        return self.cells()[index]

    def shutdown(self) -> None:
        """Shut the notebook's kernel down and close its page."""
        try:
            if not self.page.is_closed():
                self.page.evaluate(SHUTDOWN_KERNEL_JS, self.notebook.path)
        except PlaywrightError:
            pass  # a page that never loaded: the server stops its kernel at the end
        finally:
            self.page.close()


def figure_state(figure: Any) -> list[str]:
    """What a figure shows: its image's address, then the text of its message and caption."""
    return figure.evaluate(
        "f => [f.querySelector(':scope > .widget-image')?.src ?? '',"
        " ...[...f.querySelectorAll(':scope > .widget-html')].map(h => h.textContent)]")


def press_slider(handle: Any) -> str:
    """Focus a slider handle and press the arrow key that moves it; return the key."""
    value, top = (float(handle.get_attribute(name) or 0)
                  for name in ("aria-valuenow", "aria-valuemax"))
    key = "ArrowRight" if value < top else "ArrowLeft"
    handle.focus()
    handle.page.keyboard.press(key)
    return key


# --- Many notebooks, two running at a time --------------------------------------------------

class NotebookRuns:
    """Runs the planned notebooks in plan order, ``parallel`` at a time.

    ``get()`` returns a finished run, starting it (and the next ones) if needed;
    ``release()`` shuts it down. At most ``parallel + 1`` pages are open: the one under
    test and the ones running ahead of it.
    """

    def __init__(self, server: LabServer, context: Any, plan: Iterable[Notebook],
                 parallel: int = 2) -> None:
        self.server = server
        self.context = context
        self.queue = list(dict.fromkeys(plan))
        self.parallel = parallel
        self.open: dict[Notebook, NotebookRun] = {}
        self.timings: dict[Notebook, float] = {}
        """Seconds from Run All to the last cell finishing, per finished notebook."""

    def _start(self, notebook: Notebook) -> NotebookRun:
        if notebook in self.queue:
            self.queue.remove(notebook)
        run = self.open[notebook] = NotebookRun.open(self.context, self.server, notebook)
        return run

    def pump(self) -> None:
        """Advance every open run; start queued notebooks while there is room."""
        for run in list(self.open.values()):
            try:
                run.advance()
            except (PlaywrightError, BrowserTestError) as error:
                run._fail(f"{type(error).__name__}: {error}")
        while self.queue and len(self.open) <= self.parallel and \
                sum(not run.done for run in self.open.values()) < self.parallel:
            self._start(self.queue[0])

    def get(self, notebook: Notebook) -> NotebookRun:
        run = self.open.get(notebook) or self._start(notebook)
        wait_for(lambda: run.done, OPEN_SECONDS + RUN_SECONDS + 30,
                 lambda: f"{notebook.path} did not finish", between=self.pump)
        self.pump()
        if run.state == "failed":
            try:  # what the page showed, for whoever reads the failure
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                run.page.screenshot(path=str(ARTIFACTS / f"{notebook.workspace}.failed.png"))
            except PlaywrightError:
                pass
            self.release(notebook)
            raise BrowserTestError(run.failure)
        return run

    def release(self, notebook: Notebook) -> None:
        run = self.open.pop(notebook, None)
        if run is not None:
            if run.state == "finished":
                self.timings[notebook] = run.run_seconds
            run.shutdown()
        self.pump()

    def close(self) -> None:
        """Shut every notebook still open down (a session cut short leaves some)."""
        self.queue.clear()
        for notebook in list(self.open):
            self.release(notebook)

    def timing_report(self) -> str:
        return "".join(f"{seconds:6.1f} s  {notebook.path}\n"
                       for notebook, seconds in self.timings.items())
