"""The grader's side of the zygote (:mod:`grader._zygote`): start it, have it fork workers.

A :class:`Zygote` is one bubblewrap sandbox whose process has imported what a worker needs
and forks a worker per request, so a worker starts in milliseconds. The grader keeps at most
one worker per zygote alive: :meth:`Zygote.fork` kills and reaps the previous one first, so
one sandbox never holds two students' code at once. A :class:`ForkedProcess` stands for a
forked worker with the part of :class:`subprocess.Popen`'s interface the grader's sessions
use (``pid``, ``poll``, ``wait``, ``kill``, ``returncode``); it is watched through a pidfd
and reaped by the zygote, its parent, on request.
"""

from __future__ import annotations

import json
import os
import select
import selectors
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from typing import Any

__all__ = ["ForkedProcess", "Zygote", "ZygoteFailure", "kill_group", "read_child_pid", "supported"]

MAX_MESSAGE = 4096
MAX_AGE_SECONDS = 6 * 3600.0
"""A zygote forks no worker after this long: its sandbox's ``/tmp`` keeps access times
settled for a day (see :mod:`grader._zygote`), and a long-lived process (a Dask worker, an
nbgrader run) starts a fresh one instead."""
REAP_SECONDS = 10.0
"""How long the zygote may take to reap a killed worker before it is deemed broken."""


class ZygoteFailure(Exception):
    """The zygote did not start, or stopped answering: a fault of this machine, never of
    the student whose worker was being started."""


def supported() -> bool:
    """Whether this system can watch a process it did not start (``pidfd_open``, Linux ≥ 5.3)
    and list a process's children: both are needed to keep workers forked by a zygote."""
    if not hasattr(os, "pidfd_open") or not hasattr(socket, "recv_fds"):
        return False
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:
        return False
    return os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")


def read_child_pid(fd: int, deadline: float, limit: int = 4096) -> int | None:
    """bubblewrap's report of its child (``{"child-pid": N, …}``) on ``fd``, which is then
    closed; ``None`` if it does not come by ``deadline``."""
    data = b""
    with selectors.DefaultSelector() as readable:
        readable.register(fd, selectors.EVENT_READ)
        while len(data) < limit:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not readable.select(remaining):
                break
            chunk = os.read(fd, limit)
            if not chunk:
                break
            data += chunk
            if data.rstrip().endswith(b"}"):
                break
    os.close(fd)
    try:
        pid = json.loads(data).get("child-pid")
    except (ValueError, AttributeError):
        return None
    return pid if isinstance(pid, int) else None


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL ``process`` and its process group (bubblewrap and its sandbox), if it runs."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            process.kill()


class Zygote:
    """A zygote in its own bubblewrap sandbox; ``command`` holds ``{control}`` and ``{info}``
    where the descriptors of its control socket and of bubblewrap's report go."""

    def __init__(self, command: Sequence[str], env: dict[str, str], cwd: str,
                 deadline: float) -> None:
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        info, info_writes = os.pipe()
        fds = {"{control}": str(theirs.fileno()), "{info}": str(info_writes)}
        self.child: ForkedProcess | None = None
        self.started = time.monotonic()
        try:
            self.process = subprocess.Popen(
                [fds.get(part, part) for part in command], cwd=cwd, env=env,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(), info_writes), start_new_session=True)
        except BaseException:
            self.control.close()
            os.close(info)
            raise
        finally:
            theirs.close()
            os.close(info_writes)
        try:
            self.host_pid = read_child_pid(info, deadline)
            hello = self._receive(deadline)
            if self.host_pid is None or hello.get("ok") is not True:
                raise ZygoteFailure(f"the sandbox did not start ({hello.get('error', 'no report')})")
        except BaseException:
            self.close()
            raise

    def _receive(self, deadline: float) -> dict[str, Any]:
        self.control.settimeout(max(0.0, deadline - time.monotonic()))
        try:
            data = self.control.recv(MAX_MESSAGE)
        except (OSError, TimeoutError) as error:
            raise ZygoteFailure(f"the sandbox stopped answering ({error})") from None
        if not data:
            raise ZygoteFailure(self._ended())
        try:
            answer = json.loads(data)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise ZygoteFailure("the sandbox answered something unreadable")
        return answer

    def _ended(self) -> str:
        code = self.process.poll()
        return f"the sandbox ended (exit code {code})" if code is not None \
            else "the sandbox closed its connection"

    def _send(self, message: dict[str, Any], fds: Sequence[int], deadline: float) -> None:
        self.control.settimeout(max(0.0, deadline - time.monotonic()))
        try:
            socket.send_fds(self.control, [json.dumps(message).encode()], list(fds))
        except (OSError, TimeoutError) as error:
            raise ZygoteFailure(f"the sandbox stopped listening ({error})") from None

    @property
    def idle(self) -> bool:
        """Alive, and no worker of its own alive or unreaped."""
        return self.child is None and self.process.poll() is None

    @property
    def retired(self) -> bool:
        """Ended (with the thread that started it), or idle and too old to fork again."""
        return self.process.poll() is not None or (
            self.child is None and time.monotonic() - self.started > MAX_AGE_SECONDS)

    def fork(self, requests: int, responses: int, files: Sequence[int],
             deadline: float) -> ForkedProcess:
        """A new worker reading ``requests`` and answering on ``responses``, holding
        ``files`` under the same numbers as the grader (for its ``load`` requests)."""
        if self.child is not None:  # never two workers in one sandbox
            self.child.kill()
            self.child.wait()
        self._send({"op": "fork", "files": list(files)}, [requests, responses, *files], deadline)
        pid = self._receive(deadline).get("pid")
        if not isinstance(pid, int) or pid <= 1:
            raise ZygoteFailure(f"the sandbox did not fork a worker ({pid!r})")
        host_pid = self._host_pid(pid)
        if host_pid is None:
            self.close()
            raise ZygoteFailure("the new worker could not be found among the sandbox's processes")
        self.child = ForkedProcess(self, pid, host_pid)
        return self.child

    def _host_pid(self, pid: int) -> int | None:
        """The process id, here, of the zygote's child whose id in its namespace is ``pid``."""
        try:
            with open(f"/proc/{self.host_pid}/task/{self.host_pid}/children") as listing:
                children = [int(n) for n in listing.read().split()]
        except (OSError, ValueError):
            return None
        for child in children:
            try:
                with open(f"/proc/{child}/status") as status:
                    line = next(l for l in status if l.startswith("NSpid:"))
            except (OSError, StopIteration):
                continue
            if int(line.split()[-1]) == pid:
                return child
        return None

    def reap(self, pid: int) -> int:
        """The exit status of the dead worker ``pid``, as ``Popen.returncode`` gives it."""
        try:
            self._send({"op": "reap", "pid": pid}, [], time.monotonic() + REAP_SECONDS)
            status = self._receive(time.monotonic() + REAP_SECONDS).get("status")
        except ZygoteFailure:
            self.close()  # its workers died with it
            return -signal.SIGKILL
        return os.waitstatus_to_exitcode(status) if isinstance(status, int) else -signal.SIGKILL

    def kill(self) -> None:
        """Kill the zygote and its sandbox now (its workers die with it); from any thread."""
        kill_group(self.process)

    def close(self) -> None:
        """Kill the zygote, wait for its sandbox to end and let go of its socket."""
        self.kill()
        self.process.wait()
        self.control.close()


class ForkedProcess:
    """A worker forked by a :class:`Zygote`, seen as much like a ``Popen`` as the grader needs."""

    def __init__(self, zygote: Zygote, namespace_pid: int, host_pid: int) -> None:
        self.zygote = zygote
        self.namespace_pid = namespace_pid
        self.pid = host_pid
        self.returncode: int | None = None
        self._lock = threading.Lock()
        """Guards the pidfd: :meth:`kill` may come from another thread (Ctrl-C)."""
        try:
            self.pidfd = os.pidfd_open(host_pid)
        except OSError:
            self.pidfd = -1  # already gone

    def _exited(self, timeout: float) -> bool:
        """Whether the worker has ended, waiting up to ``timeout`` seconds for it."""
        if self.pidfd < 0:
            return True
        watch = select.poll()
        watch.register(self.pidfd, select.POLLIN)
        return bool(watch.poll(max(0, int(timeout * 1000))))

    def _reap(self) -> int:
        self.returncode = self.zygote.reap(self.namespace_pid)
        with self._lock:
            if self.pidfd >= 0:
                os.close(self.pidfd)
                self.pidfd = -1
        if self.zygote.child is self:
            self.zygote.child = None
        return self.returncode

    def poll(self) -> int | None:
        if self.returncode is None and self._exited(0):
            return self._reap()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is not None:
            return self.returncode
        if not self._exited(REAP_SECONDS if timeout is None else timeout):
            if timeout is not None:
                raise subprocess.TimeoutExpired("worker", timeout)
        return self._reap()

    def kill(self) -> None:
        """SIGKILL the worker; safe from any thread, and never hits a reused process id."""
        with self._lock:
            if self.pidfd >= 0:
                try:
                    signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
                except OSError:
                    pass  # already ended
