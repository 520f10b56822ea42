"""The trust boundary: student code runs in a worker process that the grader talks to.

One interface, :class:`Sandbox`, opens a :class:`Session` on a private working directory;
``session.request(message)`` sends one JSON request to the worker (:mod:`grader._worker`)
and returns its JSON answer, or raises :class:`WorkerFailure` when the worker hit a limit,
crashed, or was ended by student code. Three implementations:

- :class:`BubblewrapSandbox` (Linux with ``bwrap``): a read-only view of the system with
  only what Python needs, the repository, home directories and every other student's files
  absent, a private ``/tmp``, no network, its own PID namespace, no capabilities;
- :class:`ProcessSandbox`: the same worker with the same limits in a plain subprocess, for
  machines without bubblewrap — it can read what the grader can read, and says so;
- :class:`InProcessSandbox`: no isolation at all; a fake for fast unit tests.

In the first two the worker lowers its own resource limits (CPU time, address space,
file size, processes) and installs a seccomp filter (no new processes, no sockets)
before any student code runs. Only JSON crosses the boundary; arrays inside it are
``.npy`` bytes read with ``allow_pickle=False``.
"""

from __future__ import annotations

import abc
import json
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import stridelab
from grader._worker import Worker
from stridelab.judging import ErrorInfo

__all__ = [
    "BubblewrapSandbox",
    "InProcessSandbox",
    "Limits",
    "ProcessSandbox",
    "Sandbox",
    "Session",
    "WorkerFailure",
    "choose_sandbox",
]

WORKER_FILES = ("_worker.py", "_seccomp.py")
HELPERS_IN_SANDBOX = frozenset({"stridelab", "stridelab.check", "stridelab.encoding",
                                "stridelab.judging", "stridelab.layers", "stridelab.progress",
                                "stridelab.public"})
"""The helper-package modules graded code can import: data types and checks. The figure and
widget modules hold working convolutions for their demos, so they stay outside the sandbox."""
MAX_RESPONSE_BYTES = 256 * 2**20
SANDBOX_HOME = "/submission"


@dataclass(frozen=True)
class Limits:
    """Resource limits for one worker process."""

    cpu_seconds: int = 120
    """CPU time for the whole worker (all its notebooks); SIGXCPU, then SIGKILL."""
    memory_bytes: int = 3 * 2**30
    """Address space; allocations beyond it fail with MemoryError."""
    output_bytes: int = 2**20
    """Largest file the worker may write, its captured prints included."""
    processes: int = 64
    """RLIMIT_NPROC when the grader is not root (seccomp already forbids new processes)."""
    step_seconds: float = 10.0
    """Wall-clock time for one cell or one call before the worker is killed."""

    def as_worker_argument(self) -> str:
        limits = {"cpu": self.cpu_seconds, "memory": self.memory_bytes, "file": self.output_bytes}
        if hasattr(os, "geteuid") and os.geteuid() != 0:
            limits["processes"] = self.processes
        return json.dumps(limits)


class WorkerFailure(Exception):
    """The worker stopped answering; ``info`` says why in words a student understands."""

    def __init__(self, info: ErrorInfo) -> None:
        super().__init__(info.message)
        self.info = info


def _failure(kind: str, message: str) -> WorkerFailure:
    return WorkerFailure(ErrorInfo("TimeLimit" if kind == "limit" else "Crash", message, kind=kind))


class Session(abc.ABC):
    """A running worker for one submission."""

    @abc.abstractmethod
    def request(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request and return the answer, or raise :class:`WorkerFailure`."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop the worker and everything it started."""

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Sandbox(abc.ABC):
    """Starts workers; says plainly how well they are isolated."""

    name: str = ""
    isolated: bool = False

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()

    @property
    @abc.abstractmethod
    def description(self) -> str:
        """One sentence on what the worker can and cannot do, for results files."""

    @abc.abstractmethod
    def open(self, workdir: Path) -> Session:
        """Start a worker whose private working directory is ``workdir``."""


class InProcessSandbox(Sandbox):
    """Runs the worker's code in the grader's own process: no isolation, for unit tests."""

    name = "in-process"

    @property
    def description(self) -> str:
        return "in-process (no isolation: for the grader's own tests only)"

    def open(self, workdir: Path) -> Session:
        return _InProcessSession()


class _InProcessSession(Session):
    def __init__(self) -> None:
        self.worker = Worker()

    def request(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        # Round-trip through JSON as the real boundary does, so encoding bugs show here too.
        answer = json.loads(json.dumps(self.worker.handle(json.loads(json.dumps(message)))))
        answer.pop("id", None)
        return answer

    def close(self) -> None:
        pass


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class _ProcessSession(Session):
    """A worker subprocess speaking JSON lines over two private pipes."""

    def __init__(self, command: list[str], workdir: Path, env: dict[str, str],
                 limits: Limits, exit_code_is_signal: bool) -> None:
        self.limits = limits
        self.exit_code_is_signal = exit_code_is_signal
        self.output_path = workdir / ".output.txt"
        worker_reads, self.to_worker = os.pipe()
        self.from_worker, worker_writes = os.pipe()
        fds = {"{requests}": str(worker_reads), "{responses}": str(worker_writes)}
        command = [fds.get(part, part) for part in command]
        with open(self.output_path, "wb") as output:
            self.process = subprocess.Popen(
                command, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=output,
                stderr=subprocess.STDOUT, pass_fds=(worker_reads, worker_writes),
                start_new_session=True,
            )
        os.close(worker_reads)
        os.close(worker_writes)
        os.set_blocking(self.to_worker, False)
        self.buffer = b""
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.from_worker, selectors.EVENT_READ)
        self.timed_out = False
        self.hello = self._read_line(time.monotonic() + max(30.0, limits.step_seconds))
        """The worker's greeting: says whether its seccomp filter is on."""

    def _reason(self) -> WorkerFailure:
        """Why the worker is gone, from how it ended."""
        self.close()
        if self.timed_out:
            return _failure("limit", f"did not finish within {self.limits.step_seconds:g} s "
                            "of wall-clock time (an infinite loop, or much too slow?)")
        code = self.process.returncode
        if self.exit_code_is_signal and code is not None and code > 128:
            code = -(code - 128)  # bubblewrap reports a killed child as 128 + signal
        if code is not None and code < 0:
            sig = -code
            if sig == getattr(signal, "SIGXCPU", None):
                return _failure("limit", f"used up its {self.limits.cpu_seconds} s of CPU time")
            if sig == getattr(signal, "SIGXFSZ", None):
                return _failure("limit", "printed or wrote more than "
                                f"{self.limits.output_bytes // 2**10} KB of output")
            if sig == signal.SIGKILL:
                return _failure("limit", "was killed: it used up its "
                                f"{self.limits.cpu_seconds} s of CPU time or ran out of memory")
            return _failure("crash", f"crashed the Python process ({_signal_name(sig)})")
        return _failure("crash", f"ended the grading process (exit code {code}): does the code "
                        "call os._exit(), or close the grader's pipes?")

    def _read_line(self, deadline: float) -> dict[str, Any]:
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self.selector.select(remaining):
                self.timed_out = True
                raise self._reason()
            chunk = os.read(self.from_worker, 1 << 20)
            if not chunk:
                self.process.wait()
                raise self._reason()
            self.buffer += chunk
            if len(self.buffer) > MAX_RESPONSE_BYTES:
                self.close()
                raise _failure("limit", "returned more data than the grader accepts "
                               f"({MAX_RESPONSE_BYTES // 2**20} MB)")
        line, _, self.buffer = self.buffer.partition(b"\n")
        try:
            answer = json.loads(line)
        except ValueError:
            self.close()
            raise _failure("crash", "interfered with the grader's connection to the worker "
                           "(it wrote something that is not the worker's answer)") from None
        if not isinstance(answer, dict):
            self.close()
            raise _failure("crash", "interfered with the grader's connection to the worker")
        return answer

    def _write(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        with selectors.DefaultSelector() as writable:
            writable.register(self.to_worker, selectors.EVENT_WRITE)
            while view:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not writable.select(remaining):
                    self.timed_out = True
                    raise self._reason()
                try:
                    view = view[os.write(self.to_worker, view):]
                except BrokenPipeError:
                    self.process.wait()
                    raise self._reason() from None

    def request(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        if self.process.poll() is not None:
            raise self._reason()
        deadline = time.monotonic() + timeout
        nonce = secrets.token_hex(8)
        self._write(json.dumps({**message, "id": nonce}).encode() + b"\n", deadline)
        answer = self._read_line(deadline)
        if answer.pop("id", None) != nonce:
            self.close()
            raise _failure("crash", "interfered with the grader's connection to the worker "
                           "(an answer arrived that the grader did not ask for)")
        return answer

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.process.kill()
            self.process.wait()
        for fd in (self.to_worker, self.from_worker):
            try:
                os.close(fd)
            except OSError:
                pass
        self.to_worker = self.from_worker = -1
        self.selector.close()


class ProcessSandbox(Sandbox):
    """The worker in a plain subprocess with resource limits and seccomp, no file isolation."""

    name = "rlimits"

    def __init__(self, limits: Limits | None = None, reason: str = "") -> None:
        super().__init__(limits)
        self.reason = reason

    @property
    def description(self) -> str:
        why = f" ({self.reason})" if self.reason else ""
        return (
            f"resource limits only{why}: student code ran with CPU, memory and output limits "
            "and without new processes or network (Linux), but it could read any file the "
            "grader can read, solutions included. Install bubblewrap (apt install "
            "bubblewrap) to isolate submissions."
        )

    @cached_property
    def _matplotlib_cache(self) -> Path:
        """A font cache built once, copied into each worker so matplotlib starts fast."""
        directory = Path(tempfile.mkdtemp(prefix="grader-mplcache-"))
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"],
                       env={**os.environ, "MPLCONFIGDIR": str(directory), "MPLBACKEND": "Agg"},
                       capture_output=True, timeout=120, check=False)
        return directory

    def _environment(self, home: str) -> dict[str, str]:
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": home,
            "LANG": "C.UTF-8",
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": f"{home}/.matplotlib",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONNOUSERSITE": "1",
            "PYTHONIOENCODING": "utf-8",
            "PYTHONUNBUFFERED": "1",
        }

    def _prepare(self, workdir: Path) -> None:
        shutil.copytree(self._matplotlib_cache, workdir / ".matplotlib", dirs_exist_ok=True)

    def _worker_command(self, worker_dir: str) -> list[str]:
        return [sys.executable, f"{worker_dir}/_worker.py", "{requests}", "{responses}",
                self.limits.as_worker_argument(), "--seccomp"]

    def open(self, workdir: Path) -> Session:
        self._prepare(workdir)
        worker_dir = str(Path(__file__).resolve().parent)
        return _ProcessSession(self._worker_command(worker_dir), workdir,
                               self._environment(str(workdir)), self.limits,
                               exit_code_is_signal=False)


class BubblewrapSandbox(ProcessSandbox):
    """The worker inside bubblewrap: it sees Python, its packages and a few ``stridelab`` modules."""

    name = "bubblewrap"
    isolated = True

    def __init__(self, limits: Limits | None = None, bwrap: str = "bwrap") -> None:
        super().__init__(limits)
        self.bwrap = bwrap

    @property
    def description(self) -> str:
        return (
            "bubblewrap: student code ran with a read-only view of the system holding only "
            "Python and the course's helper package, a private temporary directory, no "
            "network, no new processes, its own process namespace and CPU, memory and output "
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
        args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
        python_paths = self._python_paths()
        for path in python_paths:
            args += ["--ro-bind", path, path]
        # Hide the grader's own package (references, hidden tests) if a bound path holds it,
        # as when it is installed into site-packages rather than used from the repository.
        grader_dir = str(Path(__file__).resolve().parent)
        if any(grader_dir.startswith(path + os.sep) for path in python_paths):
            args += ["--tmpfs", grader_dir]
        for name in WORKER_FILES:
            args += ["--ro-bind", f"{grader_dir}/{name}", f"/opt/grader-worker/{name}"]
        return args + self._helper_mounts()

    def _command(self, workdir: Path) -> list[str]:
        env = self._environment(SANDBOX_HOME)
        args = [self.bwrap, "--unshare-all", "--die-with-parent", "--new-session",
                "--cap-drop", "ALL", "--clearenv"]
        for key, value in env.items():
            args += ["--setenv", key, value]
        args += self._mounts()
        args += ["--bind", str(workdir), SANDBOX_HOME, "--chdir", SANDBOX_HOME]
        return args + ["--", *self._worker_command("/opt/grader-worker")]

    def open(self, workdir: Path) -> Session:
        self._prepare(workdir)
        return _ProcessSession(self._command(workdir), workdir, {"PATH": os.environ.get(
            "PATH", "/usr/bin:/bin")}, self.limits, exit_code_is_signal=True)

    def works(self) -> str:
        """An empty string when a worker starts here; otherwise what went wrong."""
        with tempfile.TemporaryDirectory(prefix="grader-probe-") as probe:
            try:
                with self.open(Path(probe)) as session:
                    session.request({"op": "hello"}, timeout=30)
            except (WorkerFailure, OSError) as error:
                return str(error)
        return ""


def choose_sandbox(limits: Limits | None = None, require_isolation: bool = False) -> Sandbox:
    """Bubblewrap when it works here; otherwise the plain-process sandbox, saying why."""
    bwrap = shutil.which("bwrap")
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
    if require_isolation:
        from grader.errors import SandboxUnavailable

        raise SandboxUnavailable(reason)
    return ProcessSandbox(limits, reason)

