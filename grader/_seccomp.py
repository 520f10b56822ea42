"""A seccomp filter for the grading worker: no new processes, no sockets.

Installed by the worker itself just before it runs student code (Linux, x86-64 and
ARM64). Threads stay allowed — numpy needs them — but ``fork``, ``vfork``, process-style
``clone``, ``clone3`` and ``socket`` fail with an error, so a fork bomb starts nothing
and code cannot reach the network, whatever user the grader runs as (``RLIMIT_NPROC``
does not bind root). A filter cannot be removed once installed. Standard library only:
this file runs inside the sandbox, where the grader package is hidden.
"""

from __future__ import annotations

import ctypes
import errno
import platform
import struct
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
CLONE_THREAD = 0x00010000

# BPF opcodes: load word at absolute offset, jump if equal, jump if bits set, return.
LD_ABS, JEQ, JSET, RET = 0x20, 0x15, 0x45, 0x06
# Offsets in struct seccomp_data: nr, arch, args[0] (low word, little endian).
OFFSET_NR, OFFSET_ARCH, OFFSET_ARG0 = 0, 4, 16

ARCHITECTURES = {
    # machine: (AUDIT_ARCH value, syscall numbers)
    "x86_64": (0xC000003E, {"clone": 56, "fork": 57, "vfork": 58, "clone3": 435, "socket": 41}),
    "aarch64": (0xC00000B7, {"clone": 220, "clone3": 435, "socket": 198}),
}


def _instruction(code: int, jump_true: int, jump_false: int, k: int) -> bytes:
    return struct.pack("HBBI", code, jump_true, jump_false, k)


def _program(arch: int, numbers: dict[str, int]) -> list[bytes]:
    deny = SECCOMP_RET_ERRNO | errno.EPERM
    program = [
        _instruction(LD_ABS, 0, 0, OFFSET_ARCH),
        _instruction(JEQ, 1, 0, arch),
        _instruction(RET, 0, 0, deny),  # a foreign syscall ABI: refuse everything
        _instruction(LD_ABS, 0, 0, OFFSET_NR),
        # clone3 passes its flags in memory, which BPF cannot read: ENOSYS makes the C
        # library fall back to clone, whose flags we can check.
        _instruction(JEQ, 0, 1, numbers["clone3"]),
        _instruction(RET, 0, 0, SECCOMP_RET_ERRNO | errno.ENOSYS),
    ]
    for name in ("fork", "vfork", "socket"):
        if name in numbers:
            program += [_instruction(JEQ, 0, 1, numbers[name]), _instruction(RET, 0, 0, deny)]
    program += [
        _instruction(JEQ, 0, 3, numbers["clone"]),
        _instruction(LD_ABS, 0, 0, OFFSET_ARG0),
        _instruction(JSET, 1, 0, CLONE_THREAD),  # a thread: allowed
        _instruction(RET, 0, 0, deny),
        _instruction(RET, 0, 0, SECCOMP_RET_ALLOW),
    ]
    return program


def install() -> str:
    """Install the filter; return a description of what is now denied, or why nothing is."""
    if not sys.platform.startswith("linux"):
        return "no seccomp filter (not Linux)"
    machine = platform.machine()
    if machine not in ARCHITECTURES:
        return f"no seccomp filter (unsupported architecture {machine})"
    arch, numbers = ARCHITECTURES[machine]
    instructions = _program(arch, numbers)

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]

    program = SockFprog(len(instructions), b"".join(instructions))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return f"no seccomp filter (prctl failed: errno {ctypes.get_errno()})"
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(program), 0, 0) != 0:
        return f"no seccomp filter (seccomp failed: errno {ctypes.get_errno()})"
    return "seccomp: no new processes, no sockets"
