"""The grading worker's seccomp filter: an allow-list of what graded numpy code needs.

Installed by the worker itself after its imports and just before any student code runs
(Linux on x86-64 and ARM64). Everything not listed is refused — processes, threads,
``exec``, sockets, ``ptrace``, ``process_vm_*``, ``io_uring``, ``bpf``, mounts, keyrings,
``memfd``, signals to other processes, the x32 and i386 ABIs — and so is any change to
the file system: files open read-only only, nothing can be created, renamed, truncated or
removed. So a submission can compute, read the Python installation and answer on the
pipes it was given, nothing more, whatever user the grader runs as (``RLIMIT_NPROC`` does
not bind root; this does). A filter cannot be removed once installed. Standard library
only: this file runs inside the sandbox, where the grader package is hidden.

>>> install()  # doctest: +SKIP
'on: allow-list of 92 system calls; files read-only; no processes, threads or sockets'
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct
import sys

__all__ = ["ACTIVE", "install"]

ACTIVE = "on"
"""How :func:`install`'s description begins when the filter is in force."""

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
PR_SET_NAME, PR_GET_NAME = 15, 16
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
X32_SYSCALL_BIT = 0x40000000

# open(2) flags that write or create: access mode bits, O_CREAT, O_TRUNC, O_APPEND and
# __O_TMPFILE (an unnamed file in a writable directory). Same values on x86-64 and ARM64.
WRITE_FLAGS = 0o3 | 0o100 | 0o1000 | 0o2000 | 0o20000000
# ioctl requests Python makes on its own descriptors: isatty(), terminal size, FIONREAD,
# close-on-exec. Nothing that writes to a terminal (TIOCSTI) or configures a device.
IOCTLS = (0x5401, 0x5413, 0x541B, 0x5450, 0x5451)
# futex operations private to this process only: a shared futex in a file every sandbox maps
# would let two workers running at once signal each other.
FUTEX_PRIVATE_FLAG = 128
# fcntl commands Python uses: F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC.
# Not F_SETOWN / F_SETSIG, which make the kernel signal another process.
FCNTLS = (0, 1, 2, 3, 4, 1030)

# BPF: load a word, jump if equal / greater-or-equal / any bit set, return.
LD_ABS, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
HAS_BIT = "has-bit"
"""Not a BPF code: :func:`_allow_if`'s test that the argument has the bit ``values``."""
# Offsets in struct seccomp_data: nr, arch, then the low words of args[0], args[1] …
OFFSET_NR, OFFSET_ARCH = 0, 4


def _arg(index: int) -> int:
    return 16 + 8 * index  # little-endian: the low 32 bits of argument ``index``


ALLOWED = (
    # reading files and the Python installation
    "read", "readv", "pread64", "preadv", "preadv2", "close", "lseek", "fstat", "stat",
    "lstat", "newfstatat", "statx", "fstatfs", "statfs", "readlink", "readlinkat",
    "getdents64", "getcwd", "access", "faccessat", "faccessat2", "dup", "dup2",
    "dup3", "chdir", "fchdir", "umask",
    # writing to the descriptors the worker already holds (its pipes, /dev/null)
    "write", "writev", "pwrite64", "pwritev",
    # memory
    "mmap", "mprotect", "munmap", "mremap", "madvise", "brk", "mbind", "get_mempolicy",
    "set_mempolicy",
    # time, identity, limits and scheduling, of this process only
    "set_robust_list", "get_robust_list", "rseq", "set_tid_address", "sched_yield",
    "sched_getaffinity", "sched_getparam", "sched_getscheduler", "sched_get_priority_max",
    "sched_get_priority_min", "getrandom", "clock_gettime", "clock_getres",
    "clock_nanosleep", "nanosleep", "gettimeofday", "time", "getpid", "gettid", "getppid",
    "getpgid", "getpgrp", "getsid", "getuid", "geteuid", "getgid", "getegid", "getgroups",
    "getresuid", "getresgid", "uname", "sysinfo", "getrlimit", "getrusage", "times",
    "getcpu", "getitimer", "setitimer", "alarm", "poll", "ppoll", "select", "pselect6",
    "restart_syscall", "arch_prctl",
    # signals handled inside this process, and leaving
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "rt_sigpending",
    "exit", "exit_group",
)
"""Allowed whatever their arguments. ``open``, ``openat``, ``ioctl``, ``fcntl``, ``kill``,
``tgkill``, ``prlimit64``, ``prctl`` and ``futex`` are allowed with checked arguments;
everything else is refused."""

NOT_IMPLEMENTED = ("clone3", "openat2")
"""Refused with ENOSYS rather than EPERM, so the C library falls back to the checked call."""

SYSCALLS = {
    # machine: (AUDIT_ARCH value, {name: number}) from <asm/unistd_64.h> and
    # <asm-generic/unistd.h>; names missing on an architecture are simply not there.
    "x86_64": (0xC000003E, {
        "read": 0, "write": 1, "open": 2, "close": 3, "stat": 4, "fstat": 5, "lstat": 6,
        "poll": 7, "lseek": 8, "mmap": 9, "mprotect": 10, "munmap": 11, "brk": 12,
        "rt_sigaction": 13, "rt_sigprocmask": 14, "rt_sigreturn": 15, "ioctl": 16,
        "pread64": 17, "pwrite64": 18, "readv": 19, "writev": 20, "access": 21, "select": 23,
        "sched_yield": 24, "mremap": 25, "madvise": 28, "dup": 32, "dup2": 33, "nanosleep": 35,
        "getitimer": 36, "alarm": 37, "setitimer": 38, "getpid": 39, "exit": 60, "kill": 62,
        "uname": 63, "fcntl": 72, "getcwd": 79, "chdir": 80, "fchdir": 81, "readlink": 89,
        "umask": 95, "gettimeofday": 96, "getrlimit": 97, "getrusage": 98, "sysinfo": 99,
        "times": 100, "getuid": 102, "getgid": 104, "geteuid": 107, "getegid": 108,
        "getppid": 110, "getpgrp": 111, "getgroups": 115, "getresuid": 118, "getresgid": 120,
        "getpgid": 121, "getsid": 124, "rt_sigpending": 127, "sigaltstack": 131,
        "statfs": 137, "fstatfs": 138, "sched_getparam": 143, "sched_getscheduler": 145,
        "sched_get_priority_max": 146, "sched_get_priority_min": 147, "prctl": 157,
        "arch_prctl": 158, "gettid": 186, "time": 201, "futex": 202, "sched_getaffinity": 204,
        "getdents64": 217, "set_tid_address": 218, "restart_syscall": 219,
        "clock_gettime": 228, "clock_getres": 229, "clock_nanosleep": 230, "exit_group": 231,
        "tgkill": 234, "mbind": 237, "set_mempolicy": 238, "get_mempolicy": 239,
        "openat": 257, "newfstatat": 262, "readlinkat": 267, "faccessat": 269,
        "pselect6": 270, "ppoll": 271, "set_robust_list": 273, "get_robust_list": 274,
        "dup3": 292, "preadv": 295, "pwritev": 296, "prlimit64": 302, "getcpu": 309,
        "getrandom": 318, "preadv2": 327, "statx": 332, "rseq": 334, "clone3": 435,
        "openat2": 437, "faccessat2": 439,
    }),
    "aarch64": (0xC00000B7, {
        "getcwd": 17, "dup": 23, "dup3": 24, "fcntl": 25, "ioctl": 29, "faccessat": 48,
        "chdir": 49, "fchdir": 50, "openat": 56, "close": 57, "getdents64": 61, "lseek": 62,
        "read": 63, "write": 64, "readv": 65, "writev": 66, "pread64": 67, "pwrite64": 68,
        "preadv": 69, "pwritev": 70, "pselect6": 72, "ppoll": 73, "readlinkat": 78,
        "newfstatat": 79, "fstat": 80, "exit": 93, "exit_group": 94, "set_tid_address": 96,
        "futex": 98, "set_robust_list": 99, "get_robust_list": 100, "nanosleep": 101,
        "getitimer": 102, "setitimer": 103, "clock_gettime": 113, "clock_getres": 114,
        "clock_nanosleep": 115, "sched_getscheduler": 120, "sched_getparam": 121,
        "sched_getaffinity": 123, "sched_yield": 124, "sched_get_priority_max": 125,
        "sched_get_priority_min": 126, "restart_syscall": 128, "kill": 129, "tgkill": 131,
        "sigaltstack": 132, "rt_sigaction": 134, "rt_sigprocmask": 135, "rt_sigpending": 136,
        "rt_sigreturn": 139, "getresuid": 148, "getresgid": 150, "times": 153, "getpgid": 155,
        "getsid": 156, "getgroups": 158, "uname": 160, "getrlimit": 163, "getrusage": 165,
        "umask": 166, "prctl": 167, "getcpu": 168, "gettimeofday": 169, "getpid": 172,
        "getppid": 173, "getuid": 174, "geteuid": 175, "getgid": 176, "getegid": 177,
        "gettid": 178, "sysinfo": 179, "brk": 214, "munmap": 215, "mremap": 216, "mmap": 222,
        "mprotect": 226, "madvise": 233, "mbind": 235, "get_mempolicy": 236,
        "set_mempolicy": 237, "prlimit64": 261, "getrandom": 278, "preadv2": 286,
        "statx": 291, "rseq": 293, "clone3": 435, "openat2": 437, "faccessat2": 439,
        "statfs": 43, "fstatfs": 44,
    }),
}


def _insn(code: int, jump_true: int, jump_false: int, k: int) -> bytes:
    return struct.pack("HBBI", code, jump_true, jump_false, k)


def _ret(action: int) -> bytes:
    return _insn(RET, 0, 0, action)


def _allow_if(number: int, offset: int, test: int | str, values: tuple[int, ...] | int,
              deny: int) -> list[bytes]:
    """Allow syscall ``number`` when its argument at ``offset`` passes ``test``, else deny.

    ``test`` is ``JEQ`` (the argument equals one of ``values``), ``JSET`` (the argument
    has none of the bits of ``values``) or :data:`HAS_BIT` (it has the single bit ``values``).
    """
    if test == HAS_BIT:
        body = [_insn(LD_ABS, 0, 0, offset), _insn(JSET, 0, 1, int(values)),
                _ret(SECCOMP_RET_ALLOW), _ret(deny)]
    elif test == JSET:
        body = [_insn(LD_ABS, 0, 0, offset), _insn(JSET, 1, 0, int(values)),
                _ret(SECCOMP_RET_ALLOW), _ret(deny)]
    else:
        choices = values if isinstance(values, tuple) else (values,)
        body = [_insn(LD_ABS, 0, 0, offset)]
        for index, value in enumerate(choices):
            body.append(_insn(JEQ, len(choices) - index, 0, value))  # → the ALLOW below
        body += [_ret(deny), _ret(SECCOMP_RET_ALLOW)]
    return [_insn(JEQ, 0, len(body), number), *body]


def program(machine: str, pid: int) -> list[bytes]:
    """The filter for ``machine`` (``"x86_64"``, ``"aarch64"``) in a process with ``pid``."""
    arch, numbers = SYSCALLS[machine]
    deny = SECCOMP_RET_ERRNO | errno.EPERM
    code = [
        _insn(LD_ABS, 0, 0, OFFSET_ARCH),
        _insn(JEQ, 1, 0, arch),
        _ret(deny),  # another ABI (i386 on x86-64, arm32 on ARM64): refuse everything
        _insn(LD_ABS, 0, 0, OFFSET_NR),
        _insn(JGE, 0, 1, X32_SYSCALL_BIT),
        _ret(deny),  # the x32 ABI shares x86-64's arch value: refuse it by number
    ]
    for name in ALLOWED:
        if name in numbers:
            code += [_insn(JEQ, 0, 1, numbers[name]), _ret(SECCOMP_RET_ALLOW)]
    for name in NOT_IMPLEMENTED:
        code += [_insn(JEQ, 0, 1, numbers[name]), _ret(SECCOMP_RET_ERRNO | errno.ENOSYS)]
    checked = [
        ("open", _arg(1), JSET, WRITE_FLAGS),
        ("openat", _arg(2), JSET, WRITE_FLAGS),
        ("ioctl", _arg(1), JEQ, IOCTLS),
        ("fcntl", _arg(1), JEQ, FCNTLS),
        ("kill", _arg(0), JEQ, pid),
        ("tgkill", _arg(0), JEQ, pid),
        ("prlimit64", _arg(0), JEQ, (0, pid)),
        ("prctl", _arg(0), JEQ, (PR_SET_NAME, PR_GET_NAME)),
        ("futex", _arg(1), HAS_BIT, FUTEX_PRIVATE_FLAG),
    ]
    for name, offset, test, values in checked:
        if name in numbers:
            code += _allow_if(numbers[name], offset, test, values, deny)
    code.append(_ret(deny))
    return code


def install() -> str:
    """Install the filter; describe what it allows (beginning with :data:`ACTIVE`), or why
    nothing was installed."""
    if not sys.platform.startswith("linux"):
        return "off: seccomp is Linux-only"
    machine = platform.machine()
    if machine not in SYSCALLS:
        return f"off: no filter for the {machine} architecture"
    instructions = program(machine, os.getpid())

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]

    fprog = SockFprog(len(instructions), b"".join(instructions))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return f"off: prctl(NO_NEW_PRIVS) failed with errno {ctypes.get_errno()}"
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        return f"off: seccomp failed with errno {ctypes.get_errno()}"
    allowed = sum(name in SYSCALLS[machine][1] for name in ALLOWED)
    return (f"{ACTIVE}: allow-list of {allowed} system calls; files read-only; "
            "no processes, threads or sockets")
