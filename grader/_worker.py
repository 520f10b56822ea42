"""The grading worker: reads a student's notebooks, runs their code and calls their functions.

It runs inside the sandbox, forked by the zygote (:mod:`_zygote`) or started on its own by
:mod:`grader.sandbox`, lowers its own resource limits, imports numpy, installs its seccomp
filter (:mod:`_seccomp`) and greets the grader with the filter's state — all before any
student code runs. Then it answers one JSON
request per line on a private pipe (never stdout, which goes to ``/dev/null``):

- ``{"op": "load", "fd": …, "exercises": […], "demo_modules": […]}`` reads a notebook from
  a descriptor the grader opened, into the cells to run (:mod:`_reader`);
- ``{"op": "exec", "namespace": …, "label": …, "source": …}`` runs one cell's code;
- ``{"op": "call", "namespace": …, "function": …, "args": …, "kwargs": …, "max_bytes": …}``
  calls a function the cells defined and returns its result, encoded as plain data.

Results are never judged here — the grader compares them in its own process — so a
student who tampers with numpy or this worker can only change what their own functions
appear to return. Imports only the standard library, numpy and ``stridelab`` (the
grader package is hidden from the sandbox). :class:`Worker` is also used in-process by
the fake sandbox of the unit tests.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import linecache
import os
import sys
from typing import Any

if __name__ == "__main__":  # in the sandbox the grader package is hidden: this file runs as
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # a script, beside _reader.py

from stridelab.encoding import EncodingError, Unsupported, decode, encode, encode_or_unsupported  # noqa: E402
from stridelab.judging import ErrorInfo  # noqa: E402

MAX_REQUEST_BYTES = 512 * 2**20
MAX_NOTEBOOK_BYTES = 64 * 2**20
REFUSED = ("graded code runs in a sandbox: it cannot write or create files, start processes "
           "or threads, open sockets or signal other processes")


class _Shell:
    """Enough of IPython's ``get_ipython()`` for magics the grader turned into calls."""

    def run_line_magic(self, *args: Any, **kwargs: Any) -> None:
        return None

    run_cell_magic = system = getoutput = run_line_magic


def _display(*objects: Any, **kwargs: Any) -> None:
    """``display`` does nothing while grading: there is no notebook to show things in."""


def _error(error: BaseException) -> dict[str, Any]:
    info = ErrorInfo.from_exception(error)
    if isinstance(error, SystemExit):
        info = ErrorInfo("SystemExit", "called exit() or sys.exit(), which stops the program",
                         info.bases, info.where)
    elif (isinstance(error, OSError) and error.errno == errno.EPERM) or (
            isinstance(error, RuntimeError) and "new thread" in str(error)):
        info = ErrorInfo(info.type, f"{info.message} ({REFUSED})", info.bases, info.where)
    return {"ok": False, "error": dataclasses.asdict(info)}


def _too_large(value: Any, limit: int) -> Any:
    """A stand-in for a value whose encoding exceeds ``limit`` bytes, so the answer stays small."""
    shape = getattr(value, "shape", None)
    what = f"array of shape {tuple(shape)}" if shape is not None else type(value).__name__
    return encode(Unsupported(f"{what}, more data than this case can need ({limit:,} bytes)"))


class Worker:
    """Executes cells into per-notebook namespaces and calls the functions they define."""

    def __init__(self, files: dict[int, int] | None = None) -> None:
        self.namespaces: dict[str, dict[str, Any]] = {}
        self.cells = 0
        self.files = files
        """The grader's number for each notebook descriptor → this process's, when they
        differ (a worker forked by the zygote received its descriptors over a socket)."""

    def _namespace(self, name: str) -> dict[str, Any]:
        if name not in self.namespaces:
            self.namespaces[name] = {
                "__name__": "__main__",
                "__builtins__": __builtins__,
                "display": _display,
                "get_ipython": _Shell,
            }
        return self.namespaces[name]

    def load(self, fd: int, exercises: list[str], demo_modules: list[str]) -> dict[str, Any]:
        """Read the notebook on descriptor ``fd`` (then close it) into cells to run."""
        if __package__:  # in the grader's own process: the fake sandbox of the unit tests
            from grader._reader import read_program
        else:
            from _reader import read_program

        if self.files is not None:
            fd = self.files.pop(fd, -1)
        chunks, size = [], 0
        try:
            while chunk := os.read(fd, 1 << 20):
                size += len(chunk)
                if size > MAX_NOTEBOOK_BYTES:
                    return {"ok": True, "cells": [], "problems": {}, "error":
                            f"is larger than {MAX_NOTEBOOK_BYTES // 2**20} MB"}
                chunks.append(chunk)
        except OSError as error:
            return {"ok": True, "cells": [], "problems": {},
                    "error": f"could not be read ({error.strerror})"}
        finally:
            try:
                os.close(fd)
            except OSError:
                pass
        return {"ok": True, **read_program(b"".join(chunks), exercises, demo_modules)}

    def exec_cell(self, namespace: str, label: str, source: str) -> dict[str, Any]:
        self.cells += 1
        filename = f"<{label}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        try:
            exec(compile(source, filename, "exec"), self._namespace(namespace))
        except BaseException as error:  # noqa: BLE001 - every failure becomes feedback
            return _error(error)
        return {"ok": True}

    def call(self, namespace: str, function: str, args: list[Any], kwargs: dict[str, Any],
             max_bytes: int | None = None) -> dict[str, Any]:
        target = self._namespace(namespace).get(function)
        if not callable(target):
            return {"ok": False, "error": {
                "type": "NameError", "bases": ["Exception"], "where": "", "kind": "exception",
                "message": f"{function} is not defined: its cell did not run, or the "
                           "function was renamed",
            }}
        try:
            value = target(*[decode(a) for a in args], **{k: decode(v) for k, v in kwargs.items()})
        except BaseException as error:  # noqa: BLE001 - every failure becomes feedback
            return _error(error)
        if max_bytes is not None and getattr(value, "nbytes", 0) > max_bytes:
            return {"ok": True, "value": _too_large(value, max_bytes)}
        return {"ok": True, "value": encode_or_unsupported(value)}

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer one request, echoing its ``id`` so the grader can match the answer to it."""
        return {**self._answer(request), "id": request.get("id")}

    def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "exec":
            return self.exec_cell(request["namespace"], request["label"], request["source"])
        if op == "call":
            return self.call(request["namespace"], request["function"],
                             request.get("args", []), request.get("kwargs", {}),
                             request.get("max_bytes"))
        if op == "load":
            return self.load(request["fd"], request["exercises"], request["demo_modules"])
        if op == "hello":
            return {"ok": True, "python": sys.version.split()[0]}
        return {"ok": False, "error": {"type": "ProtocolError", "message": f"unknown op {op!r}",
                                       "bases": [], "where": "", "kind": "crash"}}


def set_limits(limits: dict[str, int]) -> None:
    """Lower this process's soft and hard limits, which student code can never raise again.

    Keys: ``cpu`` seconds, ``memory`` and ``file`` bytes, ``files`` open at once. Core dumps
    are always off. Set here, in the worker's first lines, rather than by the grader between
    fork and exec, which is unsafe in the grader's multi-threaded process.
    """
    try:
        import resource
    except ImportError:  # Windows: only the grader's wall-clock timeouts apply
        return
    names = {"cpu": "RLIMIT_CPU", "memory": "RLIMIT_AS", "file": "RLIMIT_FSIZE",
             "files": "RLIMIT_NOFILE", "core": "RLIMIT_CORE"}
    for key, value in {**limits, "core": 0}.items():
        which = getattr(resource, names[key], None)
        if which is not None:
            # CPU: SIGXCPU at the soft limit, SIGKILL one second later if it is ignored.
            hard = value + 1 if key == "cpu" else value
            resource.setrlimit(which, (value, hard))


def no_dumps() -> None:
    """Not dumpable: no core file, and no process of the same user may trace this one."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0


def drop_capabilities() -> None:
    """Give up every capability, for good: a worker started by root without bubblewrap then
    cannot read the grader's memory (``/proc/<pid>/mem`` needs CAP_SYS_PTRACE) or override
    file permissions. Inside bubblewrap there are none to give up; failures are harmless."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in range(64):
        libc.prctl(24, capability, 0, 0, 0)  # PR_CAPBSET_DROP; EINVAL past the last one

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    header = Header(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    libc.capset(ctypes.byref(header), ctypes.byref((Data * 2)()))


def serve(requests_fd: int, responses_fd: int, secure: bool,
          files: dict[int, int] | None = None) -> None:
    """Answer requests from ``requests_fd`` on ``responses_fd`` until the grader hangs up;
    ``files`` maps the grader's numbers of notebook descriptors to this process's."""
    import numpy  # noqa: F401 - load numpy before the filter goes on

    seccomp = "off: not requested"
    if secure:
        import _reader  # noqa: F401 - read notebooks with code loaded before the filter
        import _seccomp

        no_dumps()
        drop_capabilities()
        seccomp = _seccomp.install()
    requests = os.fdopen(requests_fd, "rb", buffering=0)
    worker = Worker(files)
    _write_all(responses_fd, json.dumps({"ok": True, "seccomp": seccomp}).encode() + b"\n")
    buffer = bytearray()
    while True:
        newline = buffer.find(b"\n")
        while newline < 0:
            chunk = requests.read(1 << 20)
            if not chunk:
                return
            start = len(buffer)
            buffer += chunk
            if len(buffer) > MAX_REQUEST_BYTES:
                return
            newline = buffer.find(b"\n", start)
        line = bytes(buffer[:newline])
        del buffer[:newline + 1]
        try:
            request = json.loads(line)
            response = worker.handle(request)
        except (ValueError, KeyError, TypeError, EncodingError) as error:
            response = {"ok": False, "error": {"type": "ProtocolError", "message": str(error),
                                               "bases": [], "where": "", "kind": "crash"}}
        try:
            payload = json.dumps(response).encode() + b"\n"
        except (TypeError, ValueError, RecursionError) as error:
            payload = json.dumps(_error(error)).encode() + b"\n"
        _write_all(responses_fd, payload)


def _write_all(fd: int, data: bytes) -> None:
    """Write all of ``data``: a pipe may take a large write in several pieces."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


if __name__ == "__main__":
    # usage: _worker.py REQUESTS_FD RESPONSES_FD LIMITS_JSON [--seccomp]
    set_limits(json.loads(sys.argv[3]))
    serve(int(sys.argv[1]), int(sys.argv[2]), secure="--seccomp" in sys.argv[4:])
