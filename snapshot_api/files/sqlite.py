"""Look at an SQLite file from the outside, and open one strictly read-only.

The 100-byte header says how large the database should be, so a truncated,
empty or foreign file is named precisely in microseconds, before SQLite is asked
to make sense of it (SQLite itself only reports "file is not a database" or
fails later, on whichever page happens to be missing).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import apsw

MAGIC = b"SQLite format 3\x00"
HEADER_SIZE = 100


def read_only_uri(path: Path) -> str:
    """`mode=ro` never writes; `immutable=1` takes no locks and never creates journals."""
    return "file:" + quote(str(path.resolve())) + "?mode=ro&immutable=1"


def open_read_only(path: Path) -> apsw.Connection:
    """A connection that cannot modify, lock or add files beside `path`."""
    connection = apsw.Connection(
        read_only_uri(path), flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI
    )
    connection.execute("PRAGMA query_only = 1")
    return connection


@dataclass(frozen=True, slots=True)
class HeaderReport:
    """What the header says about a file; `problem` is None when it looks sound."""

    size: int
    page_size: int | None
    pages: int | None
    problem: str | None


def read_key_values(path: Path, table: str) -> dict[str, str] | None:
    """The `key, value` rows of `table` in one of our own files (the sidecar's and the
    search index's meta tables), or None when the file is missing or unreadable."""
    if not path.is_file():
        return None
    try:
        connection = open_read_only(path)
        try:
            return {
                str(k): str(v) for k, v in connection.execute(f"SELECT key, value FROM {table}")
            }
        finally:
            connection.close()
    except apsw.Error:
        return None


def remove_temporary_files(directory: Path, name: str, suffixes: tuple[str, ...]) -> list[Path]:
    """Delete `name + suffix` files an interrupted build left in `directory`; those removed."""
    removed = []
    for suffix in suffixes:
        leftover = directory / (name + suffix)
        if leftover.exists():
            leftover.unlink()
            removed.append(leftover)
    return removed


def inspect(path: Path) -> HeaderReport:
    """Check that `path` is a complete SQLite database as far as its header can tell."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            header = handle.read(HEADER_SIZE)
    except OSError as exc:
        return HeaderReport(0, None, None, f"cannot be read: {exc.strerror or exc}")
    if size == 0:
        return HeaderReport(0, None, None, "is empty (0 bytes)")
    if not header.startswith(MAGIC):
        return HeaderReport(size, None, None, "is not an SQLite database (no SQLite header)")
    if len(header) < HEADER_SIZE:
        return HeaderReport(size, None, None, f"is truncated ({size} bytes, shorter than a header)")
    (raw_page_size,) = struct.unpack(">H", header[16:18])
    page_size = 65536 if raw_page_size == 1 else raw_page_size
    if page_size < 512 or page_size & (page_size - 1):
        return HeaderReport(size, None, None, f"has a corrupt header (page size {raw_page_size})")
    change_counter, pages = struct.unpack(">II", header[24:32])
    (valid_for,) = struct.unpack(">I", header[92:96])
    if pages and change_counter == valid_for:
        expected = pages * page_size
        if size < expected:
            return HeaderReport(
                size,
                page_size,
                pages,
                f"is truncated: {size:,} bytes, its header says {expected:,} "
                f"({pages:,} pages of {page_size})",
            )
    elif size % page_size:
        return HeaderReport(
            size, page_size, None, f"is truncated: {size:,} bytes is not a whole number of pages"
        )
    return HeaderReport(size, page_size, pages or size // page_size, None)
