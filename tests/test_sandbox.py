"""The worker sandbox: student code runs elsewhere, within limits, and cannot see or reach
what it should not. Each test runs against bubblewrap and the plain-process fallback."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from grader.sandbox import InProcessSandbox, Limits, ProcessSandbox, WorkerFailure
from stridelab.encoding import decode, encode

ROOT = Path(__file__).resolve().parent.parent
LIMITS = Limits(step_seconds=4, cpu_seconds=10, memory_bytes=1536 * 2**20)


@pytest.fixture(params=["bubblewrap", "process"])
def sandbox(request):
    if request.param == "bubblewrap":
        box = request.getfixturevalue("bubblewrap")
        return type(box)(LIMITS, box.bwrap)
    return ProcessSandbox(LIMITS, reason="testing the fallback")


@pytest.fixture
def session(sandbox, tmp_path):
    with sandbox.open(tmp_path) as running:
        yield running


def run(session, source: str, namespace: str = "nb"):
    return session.request({"op": "exec", "namespace": namespace, "label": "cell 1",
                            "source": source}, timeout=LIMITS.step_seconds)


def call(session, function: str, *args, namespace: str = "nb"):
    return session.request({"op": "call", "namespace": namespace, "function": function,
                            "args": [encode(a) for a in args], "kwargs": {}},
                           timeout=LIMITS.step_seconds)


def test_functions_defined_by_cells_can_be_called(session):
    assert run(session, "import numpy as np\ndef double(x):\n    return 2 * x\n") == {"ok": True}
    answer = call(session, "double", np.arange(3))
    np.testing.assert_array_equal(decode(answer["value"]), [0, 2, 4])


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
    answer = run(session, "blocks = [bytearray(2**28) for _ in range(64)]")
    assert answer["error"]["type"] == "MemoryError"


def test_new_processes_are_refused(session):
    if not sys.platform.startswith("linux"):
        pytest.skip("seccomp is Linux-only")
    answer = run(session, "import os\nfor _ in range(10_000):\n    os.fork()")
    assert answer["error"]["type"] == "PermissionError"
    answer = run(session, "import subprocess\nsubprocess.run(['true'])")
    assert answer["error"]["type"] == "PermissionError"


def test_sockets_are_refused(session):
    answer = run(session, "import socket\nsocket.create_connection(('127.0.0.1', 22), timeout=1)")
    assert answer["error"]["type"] == "PermissionError"


def test_printing_100_megabytes_is_cut_off(session, tmp_path):
    answer = run(session, "print('x' * 100_000_000)")
    assert answer["error"]["type"] == "OSError" and "too large" in answer["error"]["message"]
    assert (tmp_path / ".output.txt").stat().st_size <= LIMITS.output_bytes


def test_unpicklable_return_values_are_refused(session):
    run(session, "class Evil:\n    def __reduce__(self):\n        return (print, ('pwned',))\n"
                 "def f():\n    return Evil()\n")
    assert decode(call(session, "f")["value"]).type_name == "Evil"


def test_bubblewrap_hides_the_repository_and_other_students(bubblewrap, tmp_path):
    other = tmp_path / "bob" / "results.json"
    other.parent.mkdir()
    other.write_text("bob's grade")
    workdir = tmp_path / "alice"
    workdir.mkdir()
    secrets = [other, ROOT / "README.md", ROOT / "solutions" / "01_convolution_dot_product.ipynb",
               ROOT / "grader" / "__init__.py", ROOT / "grader" / "exercises" / "_spec.py"]
    with type(bubblewrap)(LIMITS, bubblewrap.bwrap).open(workdir) as session:
        for path in secrets:
            answer = run(session, f"open({str(path)!r}).read()")
            assert answer["error"]["type"] == "FileNotFoundError", path
        assert run(session, "import grader.exercises")["error"]["type"] == "ModuleNotFoundError"
        assert run(session, "open('/etc/passwd').read()") == {"ok": True}  # system files are readable
        assert run(session, "open('/usr/x', 'w')")["error"]["type"] in ("OSError", "PermissionError")
        assert run(session, "open('mine.txt', 'w').write('ok')") == {"ok": True}
    assert (workdir / "mine.txt").read_text() == "ok"


def test_fallback_says_what_it_does_not_isolate():
    description = ProcessSandbox(reason="bubblewrap (bwrap) is not installed").description
    assert "could read any file the grader can read" in description
    assert "bubblewrap (bwrap) is not installed" in description
    assert "no isolation" in InProcessSandbox().description


def test_bubblewrap_offers_only_the_helpers_graded_code_may_use(bubblewrap, tmp_path):
    """The figure modules hold working convolutions for their demos: not importable here."""
    with type(bubblewrap)(LIMITS, bubblewrap.bwrap).open(tmp_path) as session:
        assert run(session, "from stridelab import Conv, check\nfrom stridelab.judging import judge") \
            == {"ok": True}
        for module in ("stridelab.dotproduct", "stridelab.plotting", "stridelab.widgets"):
            answer = run(session, f"import {module}")
            assert answer["error"]["type"] == "ModuleNotFoundError", module
