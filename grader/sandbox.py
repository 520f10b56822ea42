"""The trust boundary: student code runs in a worker process that the grader talks to.

One interface, :class:`Sandbox`, opens a :class:`Session`: ``session.request(message,
deadline, max_bytes)`` sends one JSON request to the worker (:mod:`grader._worker`) and
returns its JSON answer, or raises :class:`WorkerFailure` when the worker hit a limit,
crashed, or was ended by student code. Three implementations:

- :class:`BubblewrapSandbox` (Linux with ``bwrap``): the worker sees a read-only system with
  only Python, numpy and a few ``stridelab`` modules (no repository, home directories,
  grader or other students), a small private ``/tmp`` and no network. Each worker is a fresh
  process forked by a zygote (:mod:`grader._zygote`, one per grading thread) that has
  imported numpy and never runs student code; it shares its PID namespace with that zygote
  alone, and only after the previous worker there is dead and reaped;
- :class:`ProcessSandbox`: the same worker and filter in a plain subprocess, for machines
  without bubblewrap — it can read what the grader can read, so it is used only when the
  instructor asks for it (``--allow-unsandboxed``), and says so in every result;
- :class:`InProcessSandbox`: no isolation at all; a fake for fast unit tests.

In the first two the worker lowers its own resource limits (CPU time, address space, open
files, no core dumps) and installs an allow-list seccomp filter (:mod:`grader._seccomp`:
read-only files, no processes, threads, sockets, tracing or signals to others) before any
student code runs, and reports that it did; the grader refuses a worker whose filter is
off. No host path the worker can write exists: output goes to ``/dev/null``, answers
through pipes, notebooks arrive as read-only descriptors opened by the grader.
"""

from __future__ import annotations

import abc
import itertools
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any

import stridelab
from grader._forkserver import Zygote, ZygoteFailure
from grader._forkserver import supported as forking_supported
from grader._session import ProcessSession, WorkerFailure, failure
from grader._worker import Worker
from grader.errors import GraderError, SandboxUnavailable

__all__ = [
    "BubblewrapSandbox",
    "InProcessSandbox",
    "IsolationFailure",
    "Limits",
    "ProcessSandbox",
    "Sandbox",
    "Session",
    "WorkerFailure",
    "choose_sandbox",
]

WORKER_FILES = ("_worker.py", "_seccomp.py", "_reader.py", "_zygote.py")
HELPERS_IN_SANDBOX = frozenset({"stridelab", "stridelab.check", "stridelab.encoding",
                                "stridelab.graded_code", "stridelab.judging", "stridelab.layers",
                                "stridelab.progress", "stridelab.public"})
"""The helper-package modules graded code can import: data types and checks. The figure and
widget modules hold working convolutions for their demos, so they stay outside the sandbox."""
SANDBOX_TMP_BYTES = 2**20
"""Size of the sandbox's private ``/tmp`` (nothing can be created in it; a bound anyway)."""
FILE_BYTES = 2**20
"""RLIMIT_FSIZE: the worker can open no file for writing; a bound anyway."""
SECCOMP_ON = "on"


@dataclass(frozen=True)
class Limits:
    """Resource limits for one worker process."""

    cpu_seconds: int = 60
    """CPU time for one worker; SIGKILL when it is used up."""
    memory_bytes: int = 3 * 2**30
    """Address space; allocations beyond it fail with MemoryError."""
    step_seconds: float = 10.0
    """Wall-clock time for one cell or one call before the worker is killed."""
    open_files: int = 64
    """Descriptors the worker may hold at once (pipes, notebooks, module files)."""

    def as_worker_argument(self) -> str:
        return json.dumps({"cpu": self.cpu_seconds, "memory": self.memory_bytes,
                           "file": FILE_BYTES, "files": self.open_files})


class IsolationFailure(GraderError):
    """A worker started without its seccomp filter: nothing of the student's was run."""


class Session(abc.ABC):
    """A running worker for one submission."""

    seccomp: str = "off"
    """The worker's report on its system-call filter, made before any student code ran."""

    @abc.abstractmethod
    def request(self, message: dict[str, Any], deadline: float, max_bytes: int) -> dict[str, Any]:
        """Send one request; its answer by ``deadline`` (``time.monotonic``) and within
        ``max_bytes``, or :class:`WorkerFailure`."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop the worker and everything it started."""

    def cpu_seconds(self) -> float | None:
        """CPU time the worker has used so far, measured outside it; ``None`` if unknown."""
        return None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Sandbox(abc.ABC):
    """Starts workers; says plainly how well they are isolated."""

    name: str = ""
    isolated: bool = False
    """True when student code can neither read the grader's secrets nor touch the machine."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()

    @property
    @abc.abstractmethod
    def description(self) -> str:
        """One sentence on what the worker can and cannot do, for results files."""

    @abc.abstractmethod
    def open(self, deadline: float, files: Sequence[int] = ()) -> Session:
        """Start a worker that inherits the descriptors ``files``, ready by ``deadline``."""

    def cancel(self) -> None:
        """Kill every running worker now, from any thread; no worker starts afterwards."""

    def release(self) -> None:
        """Stop what the sandbox keeps ready between workers; it starts again when needed.
        Called at the end of a run, so no process of the grader's outlives it."""

    def verify(self) -> None:
        """Raise :class:`SandboxUnavailable` now if no worker can start here."""


class InProcessSandbox(Sandbox):
    """Runs the worker's code in the grader's own process: no isolation, for unit tests."""

    name = "in-process"

    @property
    def description(self) -> str:
        return "in-process (no isolation: for the grader's own tests only)"

    def open(self, deadline: float, files: Sequence[int] = ()) -> Session:
        return _InProcessSession(files)


class _InProcessSession(Session):
    seccomp = "off: in-process fake"

    def __init__(self, files: Sequence[int]) -> None:
        self.worker = Worker()
        self.files = {fd: os.dup(fd) for fd in files}
        """The caller closes its descriptors once the worker "inherited" them: keep copies."""

    def request(self, message: dict[str, Any], deadline: float, max_bytes: int) -> dict[str, Any]:
        if message.get("op") == "load":
            message = {**message, "fd": self.files.pop(message["fd"], -1)}
        # Round-trip through JSON as the real boundary does, so encoding bugs show here too.
        data = json.dumps(self.worker.handle(json.loads(json.dumps(message))))
        if len(data) > max_bytes:
            raise failure("limit", f"returned more data than the grader accepts for this case "
                          f"({max_bytes:,} bytes)")
        answer = json.loads(data)
        answer.pop("id", None)
        return answer

    def close(self) -> None:
        for fd in self.files.values():
            os.close(fd)
        self.files = {}

    def cpu_seconds(self) -> float | None:
        return time.thread_time()  # the worker runs in the calling thread


class _WorkerSession(Session):
    """A :class:`ProcessSession` behind the :class:`Session` interface."""

    def __init__(self, process: ProcessSession, forget: Callable[[ProcessSession], None]) -> None:
        self.process = process
        self.seccomp = process.seccomp
        self._forget = forget

    def request(self, message: dict[str, Any], deadline: float, max_bytes: int) -> dict[str, Any]:
        return self.process.request(message, deadline, max_bytes)

    def close(self) -> None:
        self.process.close()
        self._forget(self.process)

    def cpu_seconds(self) -> float | None:
        return self.process.cpu_seconds()


WORKER_IDS = range(2_000_000_000, 2_100_000_000)
"""User and group ids no account uses: each unsandboxed worker started by root gets one of its
own, so no worker can read another's memory through /proc (same uid needed) or the grader's."""
_next_id = itertools.count(secrets.randbelow(len(WORKER_IDS)))


def _fresh_account() -> tuple[int, int]:
    """A ``(uid, gid)`` for one worker, used by no other worker of this process."""
    number = WORKER_IDS[next(_next_id) % len(WORKER_IDS)]
    return number, number


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _protect_this_process() -> None:
    """Make the grading process non-dumpable: a worker of the same user, capabilities
    dropped, cannot then read its memory (hidden cases, the seed) through ``/proc``."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0


def _matplotlib_cache() -> Path | None:
    """A folder holding matplotlib's font list, built once per matplotlib version.

    Workers cannot write (their filter forbids it), so they get this list read-only instead
    of rebuilding it, which would cost every worker a second. ``None`` if it cannot be built.
    """
    try:
        version = metadata.version("matplotlib")
    except metadata.PackageNotFoundError:
        return None
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = base / "strided-convolutions-grader" / f"matplotlib-{version}"
    if any(folder.glob("fontlist-*.json")):
        return folder
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=".building-", dir=folder.parent))
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"],
                       env={**os.environ, "MPLCONFIGDIR": str(building), "MPLBACKEND": "Agg"},
                       capture_output=True, timeout=300, check=False)
        for stray in building.iterdir():
            if not stray.name.startswith("fontlist-"):
                shutil.rmtree(stray, ignore_errors=True) if stray.is_dir() else stray.unlink()
        try:
            building.rename(folder)
        except OSError:  # another run built it first
            shutil.rmtree(building, ignore_errors=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return folder if any(folder.glob("fontlist-*.json")) else None


class ProcessSandbox(Sandbox):
    """The worker in a plain subprocess with its limits and filter; it can read your files."""

    name = "unsandboxed"

    def __init__(self, limits: Limits | None = None, reason: str = "") -> None:
        super().__init__(limits)
        self.reason = reason
        _protect_this_process()
        self._empty = tempfile.TemporaryDirectory(prefix="grader-worker-")
        """An empty folder the worker starts in; removed when the sandbox is."""
        os.chmod(self._empty.name, 0o711)
        self._running: set[ProcessSession] = set()
        self._lock = threading.Lock()
        self._cancelled = False
        self.unprivileged = _is_root() and type(self) is ProcessSandbox
        """Each worker runs as a user of its own when the grader is root: it then cannot read
        the grader's files (made root-only, as the Gradescope bundle does), its memory, or
        another worker's. Settled here, before any student code runs, never changed after."""
        self._user_problem = ""
        if self.unprivileged:
            self._check_unprivileged()

    @property
    def description(self) -> str:
        why = f" ({self.reason})" if self.reason else ""
        if self.unprivileged:
            return (
                f"NOT SANDBOXED{why}: student code ran as an unprivileged user of its own, "
                "with CPU, memory and time limits and a filter forbidding writes, processes and "
                "sockets; it could read files every user of the machine can read, but not the "
                "grader's memory or files readable by root alone. Install bubblewrap (apt "
                "install bubblewrap) to isolate submissions."
            )
        also = f" It could not run as an unprivileged user: {self._user_problem}." \
            if self._user_problem else ""
        return (
            f"NOT SANDBOXED{why}: student code ran as a plain process with CPU, memory and "
            "time limits and (on Linux) a filter forbidding writes, processes and sockets, but "
            "it could read any file the grader can read — solutions, hidden tests and other "
            f"students' work included.{also} Install bubblewrap (apt install bubblewrap) to "
            "isolate submissions."
        )

    def _check_unprivileged(self) -> None:
        """Start one worker as an unprivileged user, before any student's: if Python is not
        readable by other users here (it lives in root's home, say), workers run as this user,
        and every result says so."""
        try:
            with self.open(time.monotonic() + 60):
                pass
        except (WorkerFailure, IsolationFailure, OSError) as error:
            self.unprivileged = False
            self._user_problem = f"{error} (is Python readable by every user?)"

    def _mpl_folder(self, account: tuple[int, int]) -> Path:
        """matplotlib's folder for one worker: its font list, and a folder matplotlib deems
        its own (the filter forbids writing to it anyway)."""
        folder = Path(tempfile.mkdtemp(prefix="mpl-", dir=self._worker_files))
        for font_list in sorted(self._mpl_cache.glob("fontlist-*.json")) if self._mpl_cache else ():
            shutil.copyfile(font_list, folder / font_list.name)
            os.chmod(folder / font_list.name, 0o644)
        os.chown(folder, *account)
        os.chmod(folder, 0o755)
        return folder

    @cached_property
    def _worker_files(self) -> Path:
        """The worker's code and the helper modules graded code may use, readable by every
        user: copied here, so the grader's own folder can stay root-only."""
        holder = tempfile.TemporaryDirectory(prefix="grader-worker-files-")
        self._holder = holder  # removed with the sandbox
        base = Path(holder.name)
        os.chmod(base, 0o711)
        worker = base / "worker"
        (worker / "stridelab").mkdir(parents=True)
        grader_dir = Path(__file__).resolve().parent
        package = Path(stridelab.__file__).resolve().parent
        for name in WORKER_FILES:
            shutil.copyfile(grader_dir / name, worker / name)
        for module in HELPERS_IN_SANDBOX:
            name = "__init__" if module == "stridelab" else module.split(".", 1)[1]
            shutil.copyfile(package / f"{name}.py", worker / "stridelab" / f"{name}.py")
        for path in (worker, worker / "stridelab", *worker.rglob("*")):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        return base

    @cached_property
    def _mpl_cache(self) -> Path | None:
        return _matplotlib_cache()

    def _environment(self, home: str, mpl_config: str) -> dict[str, str]:
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": home,
            "LANG": "C.UTF-8",
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": mpl_config,
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONNOUSERSITE": "1",
            "PYTHONIOENCODING": "utf-8",
            "PYTHONUNBUFFERED": "1",
        }

    def _worker_command(self, worker_dir: str) -> list[str]:
        return [sys.executable, "-I", "-B", f"{worker_dir}/_worker.py", "{requests}", "{responses}",
                self.limits.as_worker_argument(), "--seccomp"]

    def _start(self, command: list[str], env: dict[str, str], deadline: float,
               files: Sequence[int], exit_code_is_signal: bool,
               user: tuple[int, int] | None = None,
               spawn: Callable[[int, int], Any] | None = None) -> Session:
        with self._lock:
            if self._cancelled:
                raise failure("crash", "was not run: grading was interrupted")
        process = ProcessSession(command, env, self._empty.name, self.limits.step_seconds,
                                 self.limits.cpu_seconds, exit_code_is_signal, files, user, spawn)
        with self._lock:
            self._running.add(process)
            if self._cancelled:
                process.kill()
        try:
            process.greet(deadline)
            if not process.seccomp.startswith(SECCOMP_ON) and sys.platform.startswith("linux"):
                raise IsolationFailure(f"the worker's system-call filter is not on "
                                       f"({process.seccomp}); nothing was run")
        except BaseException:
            process.close()
            self._forget(process)
            raise
        return _WorkerSession(process, self._forget)

    def _forget(self, process: ProcessSession) -> None:
        with self._lock:
            self._running.discard(process)

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            running = list(self._running)
        for process in running:
            process.kill()

    def open(self, deadline: float, files: Sequence[int] = ()) -> Session:
        home = self._empty.name
        if self.unprivileged:
            account = _fresh_account()
            command = self._worker_command(str(self._worker_files / "worker"))
            env = self._environment(home, str(self._mpl_folder(account)))
            return self._start(command, env, deadline, files, False, account)
        mpl = str(self._mpl_cache or home)
        worker_dir = str(Path(__file__).resolve().parent)
        return self._start(self._worker_command(worker_dir), self._environment(home, mpl),
                           deadline, files, exit_code_is_signal=False)


class BubblewrapSandbox(ProcessSandbox):
    """The worker inside bubblewrap: it sees Python, its packages and a few ``stridelab`` modules."""

    name = "bubblewrap"
    isolated = True
    WORKER_DIR = "/opt/grader-worker"
    HOME = "/tmp"
    MPL_DIR = "/tmp/matplotlib"

    def __init__(self, limits: Limits | None = None, bwrap: str = "bwrap",
                 verified: bool = True) -> None:
        super().__init__(limits)
        self.bwrap = bwrap
        self._verified = verified
        """False until a worker has started here: the first start is then the test that
        bubblewrap works (saving a probe's worker), and its failure stops the run."""
        self.forking = forking_supported()
        """Workers are forked by zygotes (:mod:`grader._zygote`) where the system allows it;
        otherwise each starts its own Python in its own sandbox."""
        self._zygotes: list[tuple[int, Zygote]] = []
        """(thread, zygote): each zygote serves the thread that started it — bubblewrap's
        ``--die-with-parent`` ends it with that thread — one worker at a time."""

    @property
    def description(self) -> str:
        how = ("in a fresh process forked for this student, alone in its namespace but for "
               "the zygote it came from (which runs no student code)" if self.forking else
               "as the only process of its own namespace")
        return (
            f"bubblewrap: student code ran {how}, with a "
            "read-only view of Python and the course's helper package, no network, a filter "
            "forbidding writes, processes, threads and sockets, and CPU, memory and time "
            "limits; it could not see solutions, hidden tests or other students' files."
        )

    def _python_paths(self) -> list[str]:
        """Directories the worker's Python needs: its installation, virtualenv, packages."""
        needed = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                  str(Path(sys.executable).resolve().parent.parent)}
        return sorted(p for p in needed if Path(p).is_dir())

    @staticmethod
    def _helper_mounts() -> list[str]:
        """Only :data:`HELPERS_IN_SANDBOX` of the helper package, wherever it is installed."""
        package = Path(stridelab.__file__).resolve().parent
        args = ["--tmpfs", str(package)]
        for module in sorted(HELPERS_IN_SANDBOX):
            name = "__init__" if module == "stridelab" else module.split(".", 1)[1]
            path = package / f"{name}.py"
            args += ["--ro-bind", str(path), str(path)]
        return args

    def _mounts(self) -> list[str]:
        args: list[str] = []
        for top in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
            path = Path(top)
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), top]
            elif path.is_dir():
                args += ["--ro-bind", top, top]
        for item in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd",
                     "group", "nsswitch.conf", "alternatives", "fonts", "mime.types"):
            if os.path.lexists(f"/etc/{item}"):
                args += ["--ro-bind-try", f"/etc/{item}", f"/etc/{item}"]
        # /proc/1 is the zygote: its counters (page faults and CPU time of the workers it
        # reaped, context switches) would tell a worker what earlier students' code did.
        args += ["--proc", "/proc", "--tmpfs", "/proc/1", "--dev", "/dev",
                 "--size", str(SANDBOX_TMP_BYTES), "--tmpfs", "/tmp"]
        python_paths = self._python_paths()
        for path in python_paths:
            args += ["--ro-bind", path, path]
        # Hide the grader's own package (references, hidden tests) if a bound path holds it,
        # as when it is installed into site-packages rather than used from the repository.
        grader_dir = str(Path(__file__).resolve().parent)
        made = ["/", "/dev", "/dev/pts", "/proc", "/proc/1",
                str(Path(stridelab.__file__).resolve().parent)]
        if any(grader_dir.startswith(path + os.sep) for path in python_paths):
            args += ["--tmpfs", grader_dir]
            made.append(grader_dir)
        for name in WORKER_FILES:
            args += ["--ro-bind", f"{grader_dir}/{name}", f"{self.WORKER_DIR}/{name}"]
        args += ["--dir", self.MPL_DIR]
        for font_list in sorted(self._mpl_cache.glob("fontlist-*.json")) if self._mpl_cache else ():
            args += ["--ro-bind", str(font_list), f"{self.MPL_DIR}/{font_list.name}"]
        args += self._helper_mounts()
        # Every mount the sandbox made, read-only once set up: nothing, not even a directory's
        # access time, changes there for the next worker of the same zygote to read. /tmp
        # stays a writable mount, because matplotlib insists on a writable-looking cache
        # folder (the filter forbids writing to it); the zygote settles its access times.
        for mount in made:
            args += ["--remount-ro", mount]
        return args

    def _command(self, program: list[str]) -> list[str]:
        # --as-pid-1: the worker (or the zygote forking it) is the namespace's first process;
        # no unfiltered bubblewrap init to trace.
        args = [self.bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--as-pid-1",
                "--cap-drop", "ALL", "--clearenv", "--info-fd", "{info}"]
        for key, value in self._environment(self.HOME, self.MPL_DIR).items():
            args += ["--setenv", key, value]
        args += self._mounts()
        args += ["--chdir", self.HOME]
        return args + ["--", *program]

    def _zygote_program(self) -> list[str]:
        return [sys.executable, "-I", "-B", f"{self.WORKER_DIR}/_zygote.py", "{control}",
                self.limits.as_worker_argument(), self.HOME, self.MPL_DIR]

    def open(self, deadline: float, files: Sequence[int] = ()) -> Session:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        if self._verified:
            return self._open(env, deadline, files)
        try:  # no student code has run yet: a failure here is this machine's, not a student's
            session = self._open(env, max(deadline, time.monotonic() + 30), files)
        except (WorkerFailure, IsolationFailure, OSError) as error:
            if self._verified or self._cancelled:
                raise
            reason = f"bubblewrap is installed but could not start a sandbox: {error}"
            raise SandboxUnavailable(_unavailable(reason), reason) from None
        self._verified = True
        return session

    def _open(self, env: dict[str, str], deadline: float, files: Sequence[int]) -> Session:
        if not self.forking:
            return self._start(self._command(self._worker_command(self.WORKER_DIR)), env,
                               deadline, files, exit_code_is_signal=True)

        def spawn(requests: int, responses: int) -> Any:
            for attempt in (1, 2):  # a zygote that died (its thread ended) is replaced once
                zygote = self._idle_zygote(env, deadline)
                try:
                    return zygote.fork(requests, responses, files, deadline)
                except ZygoteFailure as error:
                    self._discard(zygote)
                    if attempt == 2:
                        raise failure("crash", f"could not be started: {error}") from None
            raise AssertionError("unreachable")

        return self._start([], env, deadline, files, exit_code_is_signal=False, spawn=spawn)

    def _idle_zygote(self, env: dict[str, str], deadline: float) -> Zygote:
        """This thread's zygote with no worker alive, or a new one."""
        me = threading.get_ident()
        with self._lock:
            if self._cancelled:
                raise failure("crash", "was not run: grading was interrupted")
            for owner, zygote in list(self._zygotes):
                if zygote.retired and (owner == me or zygote.process.poll() is not None):
                    self._zygotes.remove((owner, zygote))
                    zygote.close()
                elif owner == me and zygote.idle:
                    return zygote
        try:
            zygote = Zygote(self._command(self._zygote_program()), env, self._empty.name,
                            deadline)
        except ZygoteFailure as error:
            raise failure("crash", f"could not be started: {error}") from None
        with self._lock:
            self._zygotes.append((me, zygote))
            if self._cancelled:
                zygote.kill()
        return zygote

    def _discard(self, zygote: Zygote) -> None:
        with self._lock:
            self._zygotes = [(o, z) for o, z in self._zygotes if z is not zygote]
        zygote.close()

    def cancel(self) -> None:
        super().cancel()
        with self._lock:
            zygotes = [z for _, z in self._zygotes]
        for zygote in zygotes:
            zygote.kill()

    def release(self) -> None:
        with self._lock:
            zygotes, self._zygotes = self._zygotes, []
        for _, zygote in zygotes:
            zygote.close()

    def verify(self) -> None:
        if not self._verified:
            problem = self.works()  # SandboxUnavailable itself on a first failure
            if problem:
                reason = f"bubblewrap is installed but could not start a sandbox: {problem}"
                raise SandboxUnavailable(_unavailable(reason), reason)

    def works(self) -> str:
        """An empty string when a filtered worker starts here; otherwise what went wrong."""
        deadline = time.monotonic() + 60
        try:
            with self.open(deadline) as session:
                session.request({"op": "hello"}, deadline, 4096)
        except (WorkerFailure, IsolationFailure, OSError) as error:
            return str(error)
        finally:
            self.release()  # grading threads start their own zygotes
        return ""


def choose_sandbox(limits: Limits | None = None, allow_unsandboxed: bool = False) -> Sandbox:
    """Bubblewrap when it works here; otherwise :class:`SandboxUnavailable`, unless the
    caller explicitly allows the unsandboxed worker.

    Without that permission there is nothing to fall back to, so bubblewrap is not probed:
    its first worker is the test (and a failure then raises :class:`SandboxUnavailable`).
    """
    bwrap = shutil.which("bwrap")
    if bwrap and not allow_unsandboxed:
        return BubblewrapSandbox(limits, bwrap, verified=False)  # its first worker tells
    if bwrap:
        sandbox = BubblewrapSandbox(limits, bwrap)
        problem = sandbox.works()
        if not problem:
            return sandbox
        reason = f"bubblewrap is installed but could not start a sandbox: {problem}"
    elif sys.platform.startswith("linux"):
        reason = "bubblewrap (bwrap) is not installed"
    else:
        reason = f"bubblewrap is Linux-only and this is {sys.platform}"
    if not allow_unsandboxed:
        raise SandboxUnavailable(_unavailable(reason), reason)
    return ProcessSandbox(limits, reason)


def _unavailable(reason: str) -> str:
    return (f"student code cannot be sandboxed here: {reason}. Install bubblewrap (apt install "
            "bubblewrap), or pass --allow-unsandboxed to run it with resource limits only, "
            "able to read every file you can")
