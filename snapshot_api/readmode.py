"""How SQLite reads the snapshot's files: through a memory map, or with `pread` into its cache.

Measured on a 10M-track synthetic snapshot (8.2 GB) on a 2-core VM whose disk has
`read_ahead_kb` = 8192 (12.1k random 4 KiB reads/s at queue depth 1, 50.9k at 32):
- Cold (page cache evicted), mmap is a disaster: each page fault on the mapping
  pulls the device's readahead, 10 MB read from disk per ISRC lookup, 87-94
  lookups/s on one thread. With `pread` (`mmap_size = 0`) a lookup reads 129 KiB
  (303-397/s); with `POSIX_FADV_RANDOM` on the file descriptors, which turns the
  kernel's readahead off for them, 98 KiB (440/s on one thread, 1,405/s on eight).
- Warm (every page cached), mmap is 1.3-1.5x faster than `pread`: no copy into
  SQLite's cache, no system call per page.
Measured again through the server (one worker, cold, 2 cores busy with other jobs):
mmap 38 single lookups/s on one client and 71/s on 16, 9-15 MB read per lookup;
`pread` with the advice 142/s and 417/s, 70-103 KiB (18-26 pages); warm, batches
of 400 ran at 2,508 items/s mapped against 1,312 with `pread`.
So `auto` maps the files only when the snapshot fits comfortably in the memory
the kernel reports available (`MemAvailable`): then the pages stay cached once
read and mmap's warm speed is what lookups see. A snapshot larger than that
(the real dump is 225 GB) is mostly cold whatever we do, and is read with
`pread`, readahead off. `on` and `off` force the choice.

A file truncated while mapped makes the next access to a page past its new end
raise SIGBUS, which kills a process; `sigbus.py` turns such a fault into a read
of zeros (SQLite then reports corruption, the server answers 503). With `pread`
the same truncation is a short read, an ordinary SQLite error.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterable
from pathlib import Path


class ReadMode(enum.StrEnum):
    AUTO = "auto"
    ON = "on"
    OFF = "off"


MMAP_SHARE_OF_AVAILABLE = 0.5
"""`auto` maps the files when they total at most this share of `MemAvailable`: the rest is
left to the other processes' pages and to growth, so the snapshot's pages are not evicted
as soon as they are read."""

MEMINFO = Path("/proc/meminfo")


def parse_read_mode(text: str) -> ReadMode:
    try:
        return ReadMode(text.strip().lower())
    except ValueError:
        raise ValueError(f"one of {', '.join(mode.value for mode in ReadMode)}") from None


def use_mmap(mode: ReadMode, file_bytes: int, available_bytes: int | None) -> bool:
    """Whether to map the files: `auto` decides from their total size and available memory.

    Unknown available memory (no `/proc/meminfo`) counts as too little: `pread`
    is never slower than 1.5x warm, mmap can be 4x slower cold.
    """
    if mode is ReadMode.ON:
        return True
    if mode is ReadMode.OFF:
        return False
    if available_bytes is None:
        return False
    return file_bytes <= available_bytes * MMAP_SHARE_OF_AVAILABLE


def mem_available(meminfo: Path = MEMINFO) -> int | None:
    """`MemAvailable` in bytes, or None where the kernel does not report it."""
    try:
        text = meminfo.read_text(encoding="ascii")
    except OSError:
        return None
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name == "MemAvailable":
            parts = rest.split()
            if parts and parts[0].isdigit():
                return int(parts[0]) * 1024
    return None


def total_bytes(paths: Iterable[Path]) -> int:
    return sum(path.stat().st_size for path in paths)


def advise_random(paths: Iterable[Path]) -> set[int]:
    """`POSIX_FADV_RANDOM` on every descriptor of this process open on one of `paths`.

    SQLite opens the files itself, so its descriptors are found in /proc/self/fd
    (a few dozen entries: cheap once per new connection). Advising a descriptor
    twice is harmless, so none is skipped: a number reused after a close is
    advised again. Without the advice the kernel's readahead reads up to
    megabytes around each page SQLite asks for, which only a sequential reader uses.
    """
    wanted = {str(path.resolve()) for path in paths}
    advised: set[int] = set()
    try:
        entries = os.listdir("/proc/self/fd")
    except OSError:
        return advised
    for entry in entries:
        descriptor = int(entry)
        try:
            target = os.readlink(f"/proc/self/fd/{entry}")
        except OSError:
            continue
        if target in wanted:
            try:
                os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_RANDOM)
            except OSError:
                continue
            advised.add(descriptor)
    return advised
