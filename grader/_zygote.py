"""The zygote: a sandboxed process, ready to grade, that forks one fresh worker per request.

Starting Python and importing numpy costs a new worker about a quarter of a second of CPU
time; a fork of a process that has already done it costs a few milliseconds. So each
bubblewrap sandbox runs this module once (:mod:`grader._forkserver` starts it): it imports
what a worker needs and then only forks. It never runs student code, holds nothing of any
student's and is not dumpable, so a worker cannot read its memory or descriptors; its
``/proc/1`` is hidden from workers too (a tmpfs over it), since its counters add up the page
faults and CPU time of every worker it reaped.

Each forked child is a single-use worker: it closes every descriptor but its own, lowers its
limits, drops its capabilities, installs its own seccomp filter (:mod:`_seccomp`) and
greets the grader before it reads any request (:func:`_worker.serve`), exactly as a worker
started on its own does. The grader forks a new worker only after the previous one of this
zygote is dead and reaped, so two students' code never share a namespace at once, and the
filter forbids everything that could outlive a worker there (files, IPC, processes).

Requests on the control socket, one JSON object per datagram, descriptors passed with them:

- ``{"op": "fork", "files": [n, …]}`` with descriptors ``[requests, responses, *files]`` →
  ``{"pid": pid}`` (in this namespace); ``n`` are the numbers the grader will use in its
  ``load`` requests for those files;
- ``{"op": "reap", "pid": pid}`` → ``{"status": waitpid status}``.

It exits when the grader closes the socket. Standard library and the worker's modules only.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time

if __name__ == "__main__":  # in the sandbox the grader package is hidden: this file runs as
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # a script, beside _worker.py

import _reader  # noqa: E402, F401 - loaded once here, used by every worker
import _seccomp  # noqa: E402, F401
import _worker  # noqa: E402 - imports numpy and the helper modules graded code uses

MAX_MESSAGE = 4096
MAX_FILES = 64
PR_SET_PDEATHSIG = 1


def _keep_only(keep: set[int]) -> None:
    """Close every descriptor of this process but ``keep`` (and standard input and output)."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass  # the directory's own descriptor, already closed by listdir


def _become_worker(fds: list[int], numbers: list[int], limits: dict[str, int]) -> None:
    """In the forked child: a fresh worker for one student, serving until the grader hangs up."""
    import ctypes
    import signal

    import numpy

    requests, responses, *files = fds
    null = os.open("/dev/null", os.O_RDWR)  # its own: flags set on a shared one would carry
    for fd in (0, 1, 2):                    # over to the next worker
        os.dup2(null, fd)
    os.close(null)
    _keep_only(set(fds))
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # dies with the zygote
    _worker.set_limits(limits)
    numpy.random.seed()  # fresh random state, as a new process would have
    _worker.serve(requests, responses, secure=True, files=dict(zip(numbers, files)))


def _fork(control: socket.socket, fds: list[int], numbers: list[int],
          limits: dict[str, int]) -> dict[str, int]:
    pid = os.fork()
    if pid == 0:
        try:
            control.close()
            _become_worker(fds, numbers, limits)
        finally:
            os._exit(0)
    for fd in fds:
        os.close(fd)  # the worker has them; the grader must see its pipes close when it ends
    return {"pid": pid}


def _settle_access_times(folders: list[str]) -> None:
    """Read ``folders`` until each one's access time is past its change times: under
    ``relatime`` a worker's reading then changes nothing for a day, so no worker can leave a
    mark there for the next. (Every other mount of the sandbox is read-only.)"""
    for folder in folders:
        for _ in range(100):
            os.listdir(folder)
            info = os.stat(folder)
            if info.st_atime_ns > max(info.st_mtime_ns, info.st_ctime_ns):
                break
            time.sleep(0.005)  # the clock's tick: the next reading gets a later time


def main(control_fd: int, limits: dict[str, int], writable: list[str]) -> None:
    _settle_access_times(writable)
    _worker.no_dumps()
    _worker.drop_capabilities()
    control = socket.socket(fileno=control_fd)
    threads = threading.active_count()  # (its /proc entry is hidden; numpy's pools are
    if threads != 1:                     # one thread by the environment) a fork would copy
                                         # a thread's locks mid-use
        control.send(json.dumps({"ok": False, "error": f"{threads} threads"}).encode())
        return
    control.send(json.dumps({"ok": True}).encode())
    while True:
        message, fds, _flags, _address = socket.recv_fds(control, MAX_MESSAGE, MAX_FILES)
        if not message:
            return  # the grader is done with this sandbox
        request = json.loads(message)
        if request.get("op") == "fork" and len(fds) >= 2:
            answer = _fork(control, fds, list(request.get("files", [])), limits)
        else:
            for fd in fds:
                os.close(fd)
            if request.get("op") == "reap":
                answer = {"status": os.waitpid(int(request["pid"]), 0)[1]}
            else:
                answer = {"error": f"unknown request {request.get('op')!r}"}
        control.send(json.dumps(answer).encode())


if __name__ == "__main__":
    # usage: _zygote.py CONTROL_FD LIMITS_JSON WRITABLE_FOLDER…
    _worker.set_limits({})  # no core dumps
    main(int(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3:])
