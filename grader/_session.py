"""One running worker process, spoken to in JSON lines over two pipes the grader made.

The worker's answers are untrusted bytes: each is read against a deadline and a size cap
chosen by the grader for that request (a student can replace the worker's ``json`` and
write anything), buffered without quadratic copying, and refused whole when it is not
one JSON object answering the request just sent. The worker's stdout and stderr go to
``/dev/null``: nothing the student prints is stored anywhere, and no file the worker could
have touched is ever opened by the grader.
"""

from __future__ import annotations

import json
import os
import secrets
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import Any

from grader._forkserver import kill_group, read_child_pid
from stridelab.judging import ErrorInfo

__all__ = ["ProcessSession", "WorkerFailure", "failure"]

HELLO_BYTES = 4096


class WorkerFailure(Exception):
    """The worker stopped answering; ``info`` says why in words a student understands."""

    def __init__(self, info: ErrorInfo) -> None:
        super().__init__(info.message)
        self.info = info


def failure(kind: str, message: str) -> WorkerFailure:
    """A :class:`WorkerFailure` of ``kind`` ``"limit"`` (time, memory) or ``"crash"``."""
    return WorkerFailure(ErrorInfo("TimeLimit" if kind == "limit" else "Crash", message, kind=kind))


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class ProcessSession:
    """A worker subprocess; ``request`` sends one request and returns its answer.

    ``command`` holds ``{requests}`` and ``{responses}`` where the worker's pipe descriptors
    go; ``files`` are further descriptors the worker inherits (notebooks to read); ``user`` is
    the ``(uid, gid)`` it runs as, if not this process's.
    """

    def __init__(self, command: Sequence[str], env: dict[str, str], cwd: str,
                 step_seconds: float, cpu_seconds: int, exit_code_is_signal: bool,
                 files: Sequence[int] = (), user: tuple[int, int] | None = None,
                 spawn: Callable[[int, int], Any] | None = None) -> None:
        self.step_seconds = step_seconds
        self.cpu_limit = cpu_seconds
        self.exit_code_is_signal = exit_code_is_signal
        self.timed_out = False
        self.hung_up = False
        self.closed = False
        self.seccomp = "off: not reported"
        """The worker's own report, sent before any student code ran: is its filter on?"""
        worker_reads, self.to_worker = os.pipe()
        self.from_worker, worker_writes = os.pipe()
        spawning = spawn is None and "{info}" in command
        self.info, info_writes = os.pipe() if spawning else (-1, -1)
        fds = {"{requests}": str(worker_reads), "{responses}": str(worker_writes),
               "{info}": str(info_writes)}
        ours = [worker_reads, worker_writes] + ([info_writes] if info_writes >= 0 else [])
        try:
            if spawn is not None:  # a worker forked by a zygote: Popen's interface, no group
                self.process = spawn(worker_reads, worker_writes)
            else:
                self.process = subprocess.Popen(
                    [fds.get(part, part) for part in command], cwd=cwd, env=env,
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL, pass_fds=(*ours, *files), start_new_session=True,
                    **({"user": user[0], "group": user[1], "extra_groups": []} if user else {}),
                )
        except BaseException:
            for fd in (self.to_worker, self.from_worker, self.info):
                if fd >= 0:
                    os.close(fd)
            raise
        finally:
            for fd in ours:
                os.close(fd)
        self.worker_pid: int | None = None if self.info >= 0 else self.process.pid
        """The worker's process id here (bubblewrap reports its child's on ``{info}``)."""
        os.set_blocking(self.to_worker, False)
        self.buffer = bytearray()
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.from_worker, selectors.EVENT_READ)

    def greet(self, deadline: float) -> None:
        """Wait for the worker's greeting, which says whether its filter is on."""
        deadline = min(deadline, time.monotonic() + max(30.0, self.step_seconds))
        if self.info >= 0:
            self.worker_pid = read_child_pid(self.info, deadline, HELLO_BYTES)
            self.info = -1
        hello = self._read_answer(deadline, HELLO_BYTES)
        seccomp = hello.get("seccomp")
        self.seccomp = seccomp[:200] if isinstance(seccomp, str) else "off: not reported"

    def cpu_seconds(self) -> float | None:
        """CPU time the worker has used so far, as the kernel counts it (students cannot
        forge it); ``None`` where it cannot be read."""
        if self.worker_pid is None:
            return None
        try:
            with open(f"/proc/{self.worker_pid}/schedstat", "rb") as stats:
                return int(stats.read().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            return None

    def _ended(self) -> None:
        """The worker closed its end of a pipe: give it a moment to exit, then kill it — a
        worker that closes its pipes and sleeps must not hold up the run."""
        try:
            self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            self.kill()
            self.process.wait()
            self.hung_up = True

    def _reason(self) -> WorkerFailure:
        """Why the worker is gone, from how it ended."""
        self.close()
        if self.hung_up:
            return failure("crash", "closed the grader's connection to the worker and did not "
                           "end: does the code close file descriptors?")
        if self.timed_out:
            return failure("limit", f"did not finish within {self.step_seconds:g} s of "
                           "wall-clock time (an infinite loop, or much too slow?)")
        code = self.process.returncode
        if self.exit_code_is_signal and code is not None and code > 128:
            code = -(code - 128)  # bubblewrap reports a killed child as 128 + signal
        if code is not None and code < 0:
            sig = -code
            if sig == getattr(signal, "SIGXCPU", None):
                return failure("limit", f"used up its {self.cpu_limit} s of CPU time")
            if sig == signal.SIGKILL:
                return failure("limit", "was killed: it used up its "
                               f"{self.cpu_limit} s of CPU time or ran out of memory")
            return failure("crash", f"crashed the Python process ({_signal_name(sig)})")
        return failure("crash", f"ended the grading process (exit code {code}): does the code "
                       "call os._exit(), or close the grader's pipes?")

    def _read_answer(self, deadline: float, max_bytes: int) -> dict[str, Any]:
        """The next line from the worker as a JSON object: at most ``max_bytes``, by ``deadline``."""
        newline = self.buffer.find(b"\n")
        while newline < 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self.selector.select(remaining):
                self.timed_out = True
                raise self._reason()
            chunk = os.read(self.from_worker, 1 << 20)
            if not chunk:
                self._ended()
                raise self._reason()
            start = len(self.buffer)
            self.buffer += chunk
            newline = self.buffer.find(b"\n", start)
            if (newline if newline >= 0 else len(self.buffer)) > max_bytes:
                self.close()
                raise failure("limit", "returned more data than the grader accepts for this "
                              f"case ({max_bytes:,} bytes)")
        line = bytes(self.buffer[:newline])
        del self.buffer[:newline + 1]
        try:
            answer = json.loads(line)
        except (ValueError, RecursionError, MemoryError):
            answer = None
        if not isinstance(answer, dict):
            self.close()
            raise failure("crash", "interfered with the grader's connection to the worker "
                          "(it wrote something that is not the worker's answer)")
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
                    self._ended()
                    raise self._reason() from None

    def request(self, message: dict[str, Any], deadline: float, max_bytes: int) -> dict[str, Any]:
        """Send ``message``; its answer within ``deadline`` (monotonic) and ``max_bytes``."""
        if self.closed or self.process.poll() is not None:
            raise self._reason()
        nonce = secrets.token_hex(8)
        self._write(json.dumps({**message, "id": nonce}).encode() + b"\n", deadline)
        answer = self._read_answer(deadline, max_bytes)
        if answer.pop("id", None) != nonce or self.buffer:
            self.close()
            raise failure("crash", "interfered with the grader's connection to the worker "
                          "(an answer arrived that the grader did not ask for)")
        return answer

    def kill(self) -> None:
        """Kill the worker now; safe from another thread (the reader sees the pipe close)."""
        if isinstance(self.process, subprocess.Popen):
            kill_group(self.process)
        else:
            self.process.kill()  # a forked worker: it leads no process group

    def close(self) -> None:
        """Kill the worker (and, through bubblewrap's --die-with-parent, its sandbox)."""
        self.kill()
        self.process.wait()
        if not self.closed:
            self.closed = True
            for fd in (self.to_worker, self.from_worker):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self.selector.close()

    def __enter__(self) -> ProcessSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
