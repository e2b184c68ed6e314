"""Run one long SQLite statement (count, integrity check) with progress and Ctrl-C.

A single statement over a 125 GB file can run for an hour inside SQLite, where
Python's signal handling cannot reach it and nothing reports how far it got.
A progress handler runs a little Python every few thousand VM steps: that lets
Ctrl-C abort the statement, and redraws the progress line. How far it got is
measured as bytes this process has read (`rchar` in /proc/self/io on Linux:
SQLite reads pages with pread when mmap is off, as it is on these connections)
against the file size; elsewhere only the elapsed time is shown. That measure
holds for single passes (quick_check, counts); statements that revisit pages
(index cross-checks) report in their own units through `on_tick`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import apsw

from snapshot_api.progress import Progress

_PROC_IO = Path("/proc/self/io")
VM_STEPS = 20_000
REFRESH_SECONDS = 0.2


def bytes_read() -> int | None:
    """Bytes read by this process so far (Linux), or None when the kernel does not say."""
    try:
        for line in _PROC_IO.read_text().splitlines():
            if line.startswith("rchar:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def run(
    connection: apsw.Connection,
    sql: str,
    progress: Progress,
    bindings: tuple[Any, ...] = (),
    *,
    on_tick: Callable[[int], None] | None = None,
) -> list[tuple[Any, ...]]:
    """All rows of `sql`, redrawing `progress` while SQLite works.

    By default the progress shows the bytes read since the statement started;
    `on_tick(bytes_read)` replaces that when the caller measures progress in
    other units (tables done, say).
    """
    start = bytes_read()
    last = 0.0

    def tick(done: int) -> None:
        progress.update(done)

    update = on_tick or tick

    def handler() -> bool:
        nonlocal last
        now = time.monotonic()
        if now - last >= REFRESH_SECONDS:
            last = now
            current = bytes_read() if start is not None else None
            update(current - start if current is not None and start is not None else 0)
        return False

    connection.set_progress_handler(handler, VM_STEPS)
    try:
        return connection.execute(sql, bindings).fetchall()
    finally:
        connection.set_progress_handler(None)
