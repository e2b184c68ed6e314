"""Survive a memory-mapped snapshot file being truncated under the process.

When a mapped file shrinks, touching a page past its new end raises SIGBUS,
whose default action kills the process (a `cp` over a served file, a full disk).
Python cannot catch it: its own handler only sets a flag and returns, so the
faulting instruction faults again forever. This module installs a C-level
handler (through ctypes) that, for a fault inside a mapping of a guarded file,
maps anonymous zero pages over the rest of that mapping and returns: the read
is retried and sees zeros, which SQLite reports as a corrupt database, an
ordinary error (the server answers 503 and /ready turns 503 on the changed size).
A fault anywhere else restores the previous handler and returns, so it is
delivered as before (a crash, or faulthandler's report).

Linux only (the layout of `struct sigaction` and `siginfo_t` below is glibc's
on 64-bit Linux); elsewhere `guard` does nothing and a truncation stays fatal.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import signal
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

_SA_SIGINFO = 4
_MAP_FIXED = 0x10
_PAGE = mmap.PAGESIZE
_MAP_FAILED = ctypes.c_void_p(-1).value


class _SigInfo(ctypes.Structure):
    _fields_ = [
        ("si_signo", ctypes.c_int),
        ("si_errno", ctypes.c_int),
        ("si_code", ctypes.c_int),
        ("_pad", ctypes.c_int),
        ("si_addr", ctypes.c_void_p),
        ("_rest", ctypes.c_byte * 104),
    ]


_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.POINTER(_SigInfo), ctypes.c_void_p)


class _SigAction(ctypes.Structure):
    _fields_ = [
        ("sa_sigaction", ctypes.c_void_p),
        ("sa_mask", ctypes.c_ulong * 16),
        ("sa_flags", ctypes.c_int),
        ("sa_restorer", ctypes.c_void_p),
    ]


_lock = threading.Lock()
_guarded: set[str] = set()
_previous = _SigAction()
_installed = False
faults = 0
"""Faults turned into zero pages since start (for tests and logs)."""


def _mapping_of(address: int) -> tuple[int, int] | None:
    """The [start, end) of the mapping holding `address` when it maps a guarded file."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                parts = line.split(maxsplit=5)
                if len(parts) < 6:
                    continue
                start_text, _, end_text = parts[0].partition("-")
                start, end = int(start_text, 16), int(end_text, 16)
                if start <= address < end and parts[5].rstrip("\n") in _guarded:
                    return start, end
    except OSError:
        return None
    return None


def _on_sigbus(signo: int, info: ctypes._Pointer[_SigInfo], context: int) -> None:
    global faults
    address = info.contents.si_addr or 0
    mapping = _mapping_of(address)
    if mapping is not None:
        page = address & ~(_PAGE - 1)
        result = _libc.mmap(
            page,
            mapping[1] - page,
            mmap.PROT_READ,
            mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _MAP_FIXED,
            -1,
            0,
        )
        if result != _MAP_FAILED:
            faults += 1
            return
    # Not ours: give the fault back to whoever handled it before; it recurs on return.
    _libc.sigaction(signal.SIGBUS, ctypes.byref(_previous), None)


_callback = _HANDLER(_on_sigbus)
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_long,
]
_libc.sigaction.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]


def supported() -> bool:
    return sys.platform == "linux" and ctypes.sizeof(ctypes.c_void_p) == 8


def guard(paths: Iterable[Path]) -> bool:
    """Turn SIGBUS on mappings of `paths` into zero pages; False where not supported."""
    global _installed
    if not supported():
        return False
    with _lock:
        _guarded.update(os.path.realpath(path) for path in paths)
        if not _installed:
            action = _SigAction()
            action.sa_sigaction = ctypes.cast(_callback, ctypes.c_void_p).value
            action.sa_flags = _SA_SIGINFO
            if _libc.sigaction(signal.SIGBUS, ctypes.byref(action), ctypes.byref(_previous)):
                return False
            _installed = True
    return True
