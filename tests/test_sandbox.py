"""The worker sandbox: student code runs elsewhere, within limits, and cannot see, reach,
change or trace what it should not. Most tests run against bubblewrap and against the
unsandboxed worker (the same worker and filter in a plain process)."""

from __future__ import annotations

import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from grader.sandbox import (BubblewrapSandbox, InProcessSandbox, IsolationFailure, Limits,
                            ProcessSandbox, WorkerFailure)
from stridelab.encoding import decode, encode

ROOT = Path(__file__).resolve().parent.parent
LIMITS = Limits(step_seconds=4, cpu_seconds=10, memory_bytes=1536 * 2**20)
LINUX_X86 = sys.platform.startswith("linux") and platform.machine() == "x86_64"


@pytest.fixture(params=["bubblewrap", "unsandboxed"])
def sandbox(request):
    if request.param == "bubblewrap":
        box = request.getfixturevalue("bubblewrap")
        return type(box)(LIMITS, box.bwrap)
    return ProcessSandbox(LIMITS, reason="testing the fallback")


@pytest.fixture
def session(sandbox):
    with sandbox.open(time.monotonic() + 30) as running:
        yield running


def run(session, source: str, namespace: str = "nb", max_bytes: int = 2**16):
    return session.request({"op": "exec", "namespace": namespace, "label": "cell 1",
                            "source": source}, time.monotonic() + LIMITS.step_seconds, max_bytes)


def call(session, function: str, *args, namespace: str = "nb", max_bytes: int = 2**20):
    return session.request({"op": "call", "namespace": namespace, "function": function,
                            "args": [encode(a) for a in args], "kwargs": {}},
                           time.monotonic() + LIMITS.step_seconds, max_bytes)


def refused(session, source: str) -> str:
    """Run ``source`` (which must raise); the exception's type and message."""
    answer = run(session, source)
    assert answer["ok"] is False, f"{source!r} was allowed"
    return f"{answer['error']['type']}: {answer['error']['message']}"


def test_functions_defined_by_cells_can_be_called(session):
    assert run(session, "import numpy as np\ndef double(x):\n    return 2 * x\n") == {"ok": True}
    answer = call(session, "double", np.arange(3))
    np.testing.assert_array_equal(decode(answer["value"]), [0, 2, 4])


def test_the_worker_reports_its_filter_on_before_any_student_code(session):
    assert session.seccomp.startswith("on: allow-list")


def test_a_worker_without_its_filter_is_refused(tmp_path):
    """The grader checks the worker's own report: no filter, no student code."""

    class Unfiltered(ProcessSandbox):
        def _worker_command(self, worker_dir):
            return super()._worker_command(worker_dir)[:-1]  # drop --seccomp

    with pytest.raises(IsolationFailure, match="filter is not on"):
        Unfiltered(LIMITS).open(time.monotonic() + 30)


def test_notebooks_get_separate_namespaces(session):
    run(session, "value = 1", namespace="a")
    answer = run(session, "value", namespace="b")
    assert answer["error"]["type"] == "NameError"


def test_exceptions_come_back_as_data_with_the_line(session):
    run(session, "def f(x):\n    return x[5]\n")
    error = call(session, "f", np.zeros(2))["error"]
    assert error["type"] == "IndexError" and error["where"] == "line 2: return x[5]"


def test_sys_exit_is_an_error_not_an_exit(session):
    run(session, "import sys\ndef f():\n    sys.exit(0)\n")
    assert call(session, "f")["error"]["type"] == "SystemExit"
    assert run(session, "1 + 1") == {"ok": True}  # the worker is still alive


def test_os_exit_ends_the_worker_with_a_clear_reason(session):
    with pytest.raises(WorkerFailure, match="os._exit"):
        run(session, "import os\nos._exit(0)")


def test_an_infinite_loop_hits_the_wall_clock_limit(session):
    with pytest.raises(WorkerFailure, match="did not finish within 4 s") as caught:
        run(session, "while True:\n    pass")
    assert caught.value.info.kind == "limit"


def test_a_memory_bomb_gets_memory_error(session):
    answer = run(session, "blocks = [bytearray(2**33) for _ in range(8)]")  # far past the limit
    assert answer["error"]["type"] == "MemoryError"


@pytest.mark.parametrize("source", [
    "import os\nfor _ in range(10_000):\n    os.fork()",
    "import subprocess\nsubprocess.run(['true'])",
    "import os\nos.execv('/bin/true', ['true'])",
    "import threading\nthreading.Thread(target=print).start()",
    "import os\nos.posix_spawn('/bin/true', ['true'], {})",
])
def test_no_new_processes_or_threads(session, source):
    assert refused(session, source).split(":")[0] in ("PermissionError", "RuntimeError")


@pytest.mark.parametrize("source", [
    "import socket\nsocket.create_connection(('127.0.0.1', 22), timeout=1)",
    "import socket\nsocket.socketpair()",
    "import os\nos.pipe()",
    "import os\nos.memfd_create('ram')",
])
def test_no_sockets_pipes_or_memory_files(session, source):
    assert refused(session, source).startswith("PermissionError")


@pytest.mark.parametrize("source", [
    "open('/tmp/new-file', 'w')",
    "open('mine.txt', 'w')",
    "import os\nos.open('/tmp', os.O_TMPFILE | os.O_WRONLY)",
    "import os\nos.mkdir('/tmp/folder')",
    "import os, site\nopen(os.path.join(site.getsitepackages()[0], 'evil.pth'), 'w')",
    "import numpy\nopen(numpy.__file__, 'a')",
    "import os\nos.symlink('/etc/passwd', '/tmp/link')",
    "import os\nos.truncate('/etc/passwd', 0)",
])
def test_nothing_can_be_written_created_or_changed(session, source):
    """Files open read-only, so the sandbox's RAM-backed /tmp cannot fill, nothing can be
    planted for a later run (a .pth file in site-packages), and no path the grader uses
    can be replaced by a link."""
    assert refused(session, source).startswith(("PermissionError", "OSError"))


def test_the_refusal_explains_itself(session):
    assert "graded code runs in a sandbox" in refused(session, "open('/tmp/x', 'w')")


@pytest.mark.skipif(not LINUX_X86, reason="raw x86-64 system call numbers")
@pytest.mark.parametrize("name, number, args", [
    ("ptrace attach", 101, (16, 1, 0, 0)),
    ("process_vm_readv", 310, (1, 0, 0, 0, 0, 0)),
    ("io_uring_setup", 425, (8, 0)),
    ("bpf", 321, (0, 0, 0)),
    ("x32 getpid", 0x40000000 | 39, ()),
    ("unshare", 272, (0x10000000,)),
    ("mount", 165, (0, 0, 0, 0, 0)),
    ("keyctl", 250, (0, 0, 0, 0, 0)),
    ("perf_event_open", 298, (0, 0, -1, -1, 0)),
    ("signal another process", 62, (1, 0)),  # pid 1: the zygote, or the host's init
    ("kill the process group", 62, (0, 0)),
    ("fcntl F_SETOWN", 72, (1, 8, 1)),
    ("shared futex wake", 202, (0, 1, 1)),  # signals any worker mapping the same file
    ("ioctl TIOCSTI", 16, (0, 0x5412, 0)),
])
def test_dangerous_system_calls_are_refused(session, name, number, args):
    source = ("import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
              f"result = libc.syscall({number}, *{args!r})\n"
              "errno = ctypes.get_errno()\n"
              "assert result == -1 and errno == 1, (result, errno)\n")
    assert run(session, source) == {"ok": True}, name


def test_the_graders_memory_is_out_of_reach(session):
    """Hidden cases and the seed live in the grader's memory: no /proc path reaches it,
    even for a worker started by root without bubblewrap (capabilities dropped)."""
    import os

    for what in ("mem", "environ", "maps"):
        source = f"open('/proc/{os.getpid()}/{what}', 'rb').read(1)"
        answer = run(session, source)
        assert answer["ok"] is False, what
        assert answer["error"]["type"] in ("PermissionError", "FileNotFoundError"), answer


def test_a_worker_cannot_read_another_workers_memory(sandbox):
    """Unsandboxed workers started by root run as users of their own: a worker cannot open
    another's /proc files, even early, while it is still dumpable."""
    with sandbox.open(time.monotonic() + 30) as first, sandbox.open(time.monotonic() + 30) as second:
        pid = second.process.worker_pid if hasattr(second, "process") else None
        assert pid is not None
        visible = run(first, f"import os\nos.path.exists('/proc/{pid}')")
        answer = run(first, f"open('/proc/{pid}/mem', 'rb')")
        assert answer["ok"] is False and answer["error"]["type"] in (
            "PermissionError", "FileNotFoundError"), (visible, answer)


def test_printing_100_megabytes_goes_nowhere(session):
    assert run(session, "print('x' * 100_000_000)") == {"ok": True}


def test_a_worker_that_closes_its_pipe_and_sleeps_costs_a_second(session):
    """It neither answers nor exits: the grader must not wait for it."""
    started = time.monotonic()
    with pytest.raises(WorkerFailure, match="closed the grader's connection"):
        run(session, "import os, time\nos.closerange(3, 1024)  # its pipes among them\n"
                     "time.sleep(1000)")
    assert time.monotonic() - started < 5


def test_an_answer_larger_than_its_case_allows_kills_the_worker(session):
    run(session, "import numpy as np\ndef big():\n    return np.zeros(10**6)\n")
    with pytest.raises(WorkerFailure, match="more data than the grader accepts"):
        call(session, "big", max_bytes=10_000)


def test_unpicklable_return_values_are_refused(session):
    run(session, "class Evil:\n    def __reduce__(self):\n        return (print, ('pwned',))\n"
                 "def f():\n    return Evil()\n")
    assert decode(call(session, "f")["value"]).type_name == "Evil"


def test_bubblewrap_hides_the_repository_and_other_students(bubblewrap, tmp_path):
    other = tmp_path / "bob" / "results.json"
    other.parent.mkdir()
    other.write_text("bob's grade")
    secrets = [other, ROOT / "README.md", ROOT / "solutions" / "01_convolution_dot_product.ipynb",
               ROOT / "grader" / "__init__.py", ROOT / "grader" / "exercises" / "_spec.py"]
    with type(bubblewrap)(LIMITS, bubblewrap.bwrap).open(time.monotonic() + 30) as session:
        for path in secrets:
            answer = run(session, f"open({str(path)!r}).read()")
            assert answer["error"]["type"] == "FileNotFoundError", path
        assert run(session, "import grader.exercises")["error"]["type"] == "ModuleNotFoundError"
        assert run(session, "open('/etc/passwd').read()") == {"ok": True}  # system files are readable


def test_bubblewrap_shows_only_the_worker_and_its_zygote_in_proc(bubblewrap):
    """The worker shares its namespace only with the zygote it was forked from (pid 1),
    which never runs student code and whose /proc entry is empty: not its memory or
    descriptors, nor its counters, which add up what every worker it reaped did (page faults,
    CPU time). No bubblewrap command line or grader work folder to read either."""
    box = type(bubblewrap)(LIMITS, bubblewrap.bwrap)
    try:
        with box.open(time.monotonic() + 30) as session:
            source = ("import os\n"
                      "pids = sorted(p for p in os.listdir('/proc') if p.isdigit())\n"
                      "assert pids == sorted({'1', str(os.getpid())}), pids\n"
                      "assert os.listdir('/proc/1') == []\n"
                      "text = open('/proc/self/mountinfo', 'rb').read()\n"
                      f"work = {(tempfile.gettempdir() + '/grader').encode()!r}\n"
                      "assert b'bwrap' not in text and work not in text, text\n")
            assert run(session, source) == {"ok": True}
            for what in ("stat", "status", "sched", "cmdline", "mem", "environ", "fd/0",
                         "task/1/stat"):
                answer = run(session, f"open('/proc/1/{what}', 'rb').read(1)")
                assert answer["ok"] is False, what
                assert answer["error"]["type"] == "FileNotFoundError", answer
    finally:
        box.release()


def test_the_next_student_starts_from_a_clean_worker(bubblewrap):
    """Workers forked one after another by one zygote: the next never meets the previous
    one, or anything it changed (modules patched, memory, its process)."""
    box = type(bubblewrap)(LIMITS, bubblewrap.bwrap)
    try:
        with box.open(time.monotonic() + 30) as first:
            assert run(first, "import numpy, stridelab.judging, os\nnumpy.pi = 3\n"
                              "stridelab.judging.compare = None\nSECRET = 'alice'\n"
                              "mine = os.getpid()") == {"ok": True}
            first_pid = first.process.worker_pid
            first_in_namespace = call_source(first, "os.getpid()")
        with box.open(time.monotonic() + 30) as second:
            assert second.process.worker_pid != first_pid
            source = ("import numpy, stridelab.judging, os\n"
                      "assert numpy.pi > 3.14 and stridelab.judging.compare is not None\n"
                      "assert 'SECRET' not in globals()\n"
                      f"assert not os.path.exists('/proc/{first_in_namespace}')\n")
            assert run(second, source) == {"ok": True}
        assert len(box._zygotes) == 1  # the same zygote forked both
    finally:
        box.release()
    assert not box._zygotes


SHARED_STATE = """
import fcntl, os, stridelab
folders = ['/', '/tmp', '/tmp/matplotlib', '/dev', '/dev/pts', '/opt', '/opt/grader-worker',
           '/proc', os.path.dirname(stridelab.__file__)]
def _state():
    return ([fcntl.fcntl(fd, fcntl.F_GETFL) for fd in (0, 1, 2)],
            [os.stat(folder).st_atime_ns for folder in folders])
def _leave_marks():
    for fd in (0, 1, 2):
        fcntl.fcntl(fd, fcntl.F_SETFL, os.O_APPEND | os.O_NONBLOCK)
    for folder in folders:
        os.listdir(folder)
"""


def test_a_worker_leaves_no_mark_for_the_next(bubblewrap):
    """Flags on its standard descriptors and folders' access times were a channel from one
    student's worker to the next of the same zygote: each worker now has its own /dev/null,
    the sandbox's mounts are read-only, and /tmp's access times are settled."""
    box = type(bubblewrap)(LIMITS, bubblewrap.bwrap)
    try:
        with box.open(time.monotonic() + 30) as first:
            assert run(first, SHARED_STATE) == {"ok": True}
            before = call_source(first, "_state()")
            assert run(first, "_leave_marks()") == {"ok": True}
        with box.open(time.monotonic() + 30) as second:
            assert run(second, SHARED_STATE) == {"ok": True}
            assert call_source(second, "_state()") == before
        assert len(box._zygotes) == 1
    finally:
        box.release()


def test_the_sandboxs_own_mounts_are_read_only(bubblewrap):
    with type(bubblewrap)(LIMITS, bubblewrap.bwrap).open(time.monotonic() + 30) as session:
        mounts = call_source(session, "[(line.split()[4], line.split()[5]) "
                                      "for line in open('/proc/self/mountinfo')]")
    writable = {point for point, options in mounts if not options.startswith("ro")}
    assert writable <= {"/tmp", "/dev/null", "/dev/zero", "/dev/full", "/dev/random",
                        "/dev/urandom", "/dev/tty"}, writable


def call_source(session, expression: str):
    """The value of ``expression`` in the worker (evaluated in the cells' namespace)."""
    assert run(session, f"import os\ndef _value():\n    return {expression}\n") == {"ok": True}
    return decode(call(session, "_value")["value"])


def test_bubblewrap_offers_only_the_helpers_graded_code_may_use(bubblewrap):
    """The figure modules hold working convolutions for their demos: not importable here."""
    with type(bubblewrap)(LIMITS, bubblewrap.bwrap).open(time.monotonic() + 30) as session:
        assert run(session, "from stridelab import Conv, check\nfrom stridelab.judging import judge") \
            == {"ok": True}
        for module in ("stridelab.dotproduct", "stridelab.plotting", "stridelab.widgets"):
            answer = run(session, f"import {module}")
            assert answer["error"]["type"] == "ModuleNotFoundError", module


def test_matplotlib_imports_without_writing(session):
    assert run(session, "import matplotlib.pyplot as plt\nplt.figure()") == {"ok": True}


def test_cancel_kills_running_workers_at_once(bubblewrap):
    box = type(bubblewrap)(LIMITS, bubblewrap.bwrap)
    session = box.open(time.monotonic() + 30)
    import threading

    threading.Timer(0.5, box.cancel).start()
    started = time.monotonic()
    with pytest.raises(WorkerFailure):
        run(session, "while True:\n    pass")
    assert time.monotonic() - started < 2
    with pytest.raises(WorkerFailure, match="interrupted"):
        box.open(time.monotonic() + 30)


def test_fallback_says_what_it_does_not_isolate():
    sandbox = ProcessSandbox(reason="bubblewrap (bwrap) is not installed")
    sandbox.unprivileged = False
    description = sandbox.description
    assert "NOT SANDBOXED" in description and "could read any file the grader can read" in description
    assert "bubblewrap (bwrap) is not installed" in description
    sandbox.unprivileged = True
    assert "ran as an unprivileged user of its own" in sandbox.description
    assert "no isolation" in InProcessSandbox().description
    assert BubblewrapSandbox.isolated and not ProcessSandbox.isolated
