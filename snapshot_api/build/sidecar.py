"""Build `snapshot-index.sqlite3`: the barcode index the dump does not ship.

The published `albums` table has no index on `external_id_upc`, so a barcode
lookup would scan 58.6M rows. We cannot add one to the dump (it stays
byte-identical to the torrent), so this builds a separate file beside it:
`barcode_albums(barcode, album_rowid)`, WITHOUT ROWID and keyed on both, so a
lookup is one b-tree descent that covers the query.

How, and why:
- One sequential pass over `albums` (rowid order, the table's own order: no
  random reads of the 125 GB file), normalising each stored barcode with
  `identifiers.stored_barcode_key`, the same rule user input goes through.
  Pairs are appended to a plain scratch table, in chunks, so memory stays
  bounded whatever the number of albums.
- Then one `INSERT ... SELECT ... ORDER BY barcode, album_rowid` fills the
  WITHOUT ROWID table in key order, so every insert appends to the right-most
  leaf. Inserting in album order instead would land each key at a random place
  in a b-tree larger than the cache. SQLite's external merge sorter does the
  sorting with bounded memory (`cache_size`, one helper thread), spilling to temporary files in
  the snapshot directory (where the space is), not in /tmp.
- Everything is written to `snapshot-index.sqlite3.tmp` (journal off: a crash
  just means the file is rebuilt) and renamed over the old sidecar only when
  complete, after fsync. Leftovers of a killed run are deleted on the next run.
- The dump is opened `mode=ro&immutable=1`: never written, locked or given
  statistics.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apsw

from snapshot_api import pause
from snapshot_api.files.sqlite import (
    open_read_only,
    read_key_values,
    read_only_uri,
    remove_temporary_files,
)
from snapshot_api.identifiers import stored_barcode_key
from snapshot_api.layout import SIDECAR_NAME, SIDECAR_SCHEMA_FILE, schema_sql
from snapshot_api.progress import Reporter, format_count

CHUNK_ROWS = 50_000
SORT_CACHE_KIB = 65_536
"""Page cache, and the sorter's in-memory run size before it spills to temporary files
(64 MiB). With one helper thread the sorter holds two runs, so the whole pass peaks
at about 240 MB of RSS; 256 MiB with two helpers peaked at 1.1 GB on 58.6M albums."""
MALFORMED_EXAMPLES = 5
TEMPORARY_SUFFIXES = (".tmp", ".tmp-journal", ".scratch", ".scratch-journal")
"""Files a killed build can leave beside the sidecar; deleted on the next run."""


@dataclass(slots=True)
class SidecarStats:
    """What the albums pass saw; recorded in `sidecar_meta` and the manifest."""

    albums: int = 0
    barcodes_indexed: int = 0
    albums_without_barcode: int = 0
    malformed_barcodes: int = 0
    malformed_examples: list[str] = field(default_factory=list)
    scan_seconds: float = 0.0
    sort_seconds: float = 0.0
    artist_albums: int = 0
    """Rows of `artist_album_order` (own albums of every artist)."""
    artist_albums_seconds: float = 0.0

    @property
    def seconds(self) -> float:
        return self.scan_seconds + self.sort_seconds + self.artist_albums_seconds

    @property
    def rows_per_second(self) -> float:
        """Albums processed per second over the whole pass (scan and sorted insert)."""
        return self.albums / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "albums": self.albums,
            "barcodes_indexed": self.barcodes_indexed,
            "albums_without_barcode": self.albums_without_barcode,
            "malformed_barcodes": self.malformed_barcodes,
            "malformed_examples": list(self.malformed_examples),
            "artist_albums": self.artist_albums,
        }


SIDECAR_LAYOUT_KEY = "sidecar_layout"
"""The `sidecar_meta` key holding `sidecar_layout()` of the build that wrote the file."""


def sidecar_layout() -> str:
    """A digest of `schema/sidecar.sql`: a sidecar written for another layout (an older
    version without a table this one reads) is rebuilt, even by the same tool version."""
    return hashlib.sha256(schema_sql(SIDECAR_SCHEMA_FILE).encode()).hexdigest()[:16]


def sidecar_path(directory: Path) -> Path:
    return directory / SIDECAR_NAME


def remove_leftovers(directory: Path) -> list[Path]:
    """Delete temporary files of an interrupted build; returns those removed."""
    return remove_temporary_files(directory, SIDECAR_NAME, TEMPORARY_SUFFIXES)


def read_meta(path: Path) -> dict[str, str] | None:
    """`sidecar_meta` of an existing sidecar, or None when it is missing or unreadable."""
    return read_key_values(path, "sidecar_meta")


def _chunks(rows: Iterator[tuple[int, Any, int]]) -> Iterator[list[tuple[int, Any, int]]]:
    while chunk := list(itertools.islice(rows, CHUNK_ROWS)):
        yield chunk


def _interruptible(connection: apsw.Connection, tick: Callable[[], None]) -> None:
    """Run Python every few thousand VM steps: Ctrl-C stops a long statement, progress redraws."""

    def handler() -> bool:
        tick()
        return False

    connection.set_progress_handler(handler, 100_000)


def build_sidecar(
    main_database: Path,
    directory: Path,
    meta: dict[str, str],
    reporter: Reporter,
    *,
    before_rename: Callable[[apsw.Connection, SidecarStats], dict[str, str]] | None = None,
) -> SidecarStats:
    """Build the sidecar from `main_database` into `directory`; returns what the pass saw.

    `meta` goes into `sidecar_meta` (snapshot_id, tool_version, ...);
    `before_rename` may add more entries computed from the stats (the manifest
    digest) just before the file is closed and renamed into place.
    """
    target = sidecar_path(directory)
    temporary = directory / (SIDECAR_NAME + ".tmp")
    scratch = directory / (SIDECAR_NAME + ".scratch")
    remove_leftovers(directory)
    stats = SidecarStats()
    dump = open_read_only(main_database)
    out = apsw.Connection(
        str(temporary),
        flags=apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE | apsw.SQLITE_OPEN_URI,
    )
    try:
        for pragma in (
            "journal_mode = OFF",
            "synchronous = OFF",
            f"cache_size = -{SORT_CACHE_KIB}",
            "temp_store = FILE",
            "threads = 1",
        ):
            out.execute(f"PRAGMA {pragma}").fetchall()
        out.execute(schema_sql(SIDECAR_SCHEMA_FILE))
        out.execute("ATTACH DATABASE ? AS scratch", (str(scratch),))
        out.execute("PRAGMA scratch.journal_mode = OFF").fetchall()
        out.execute("PRAGMA scratch.synchronous = OFF").fetchall()
        out.execute(
            "CREATE TABLE scratch.pairs (barcode integer NOT NULL, album_rowid integer NOT NULL)"
        )
        _scan_albums(dump, out, stats, reporter)
        with _temporary_files_in(directory):
            _sorted_insert(out, stats, reporter)
            _artist_album_order(out, main_database, stats, reporter)
        out.execute("DETACH DATABASE scratch")
        scratch.unlink(missing_ok=True)
        entries = dict(meta)
        entries.update(
            albums_scanned=str(stats.albums),
            barcodes_indexed=str(stats.barcodes_indexed),
            malformed_barcodes=str(stats.malformed_barcodes),
        )
        if before_rename is not None:
            entries.update(before_rename(out, stats))
        with out:
            out.executemany("INSERT INTO sidecar_meta VALUES (?, ?)", sorted(entries.items()))
        out.close()
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, target)
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    except BaseException:
        out.close()
        remove_leftovers(directory)
        raise
    finally:
        dump.close()
    return stats


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@contextlib.contextmanager
def _temporary_files_in(directory: Path) -> Iterator[None]:
    """Point SQLite's temporary files (the sorter's spill) at `directory` for a while.

    The setting is process-wide in SQLite, so it is restored afterwards, even on
    error: other connections of the process (tests, the sample in `serve`) must
    not keep spilling into a snapshot directory.
    """
    control = apsw.Connection(":memory:")
    try:
        previous = control.execute("PRAGMA temp_store_directory").get or ""
        control.execute(
            f"PRAGMA temp_store_directory = {_sql_text(str(directory.resolve()))}"
        ).fetchall()
        try:
            yield
        finally:
            control.execute(f"PRAGMA temp_store_directory = {_sql_text(str(previous))}").fetchall()
    finally:
        control.close()


def _scan_albums(
    dump: apsw.Connection, out: apsw.Connection, stats: SidecarStats, reporter: Reporter
) -> None:
    """Pass 1: albums in rowid order → (barcode key, rowid) pairs in the scratch table."""
    last_rowid = dump.execute("SELECT max(rowid) FROM albums").get or 0
    progress = reporter.progress("barcode index: scanning albums", last_rowid, unit="rows")
    started = time.monotonic()
    # text as its bytes: Python's conversion of a TEXT value that is not UTF-8
    # raises; decoded here with U+FFFD, such a barcode is counted as malformed
    rows: Iterator[tuple[int, Any, int]] = dump.execute(
        "SELECT rowid, iif(typeof(external_id_upc) = 'text', CAST(external_id_upc AS BLOB),"
        " external_id_upc), typeof(external_id_upc) = 'text' FROM albums"
    )
    insert = "INSERT INTO scratch.pairs VALUES (?, ?)"
    try:
        for chunk in _chunks(rows):
            pairs = []
            for rowid, value, is_text in chunk:
                stored = value.decode(errors="replace") if is_text else value
                key = stored_barcode_key(stored)
                if key is not None:
                    pairs.append((key, rowid))
                elif stored is None or not str(stored).strip():
                    stats.albums_without_barcode += 1
                else:
                    stats.malformed_barcodes += 1
                    if len(stats.malformed_examples) < MALFORMED_EXAMPLES:
                        stats.malformed_examples.append(str(stored))
            with out:
                out.executemany(insert, pairs)
            stats.albums += len(chunk)
            stats.barcodes_indexed += len(pairs)
            # rowids are close to dense, so the last rowid seen measures the share done
            progress.update(chunk[-1][0], note=f"{format_count(stats.albums)} albums")
            pause.point("sidecar")
    except BaseException:
        progress.clear()
        raise
    stats.scan_seconds = time.monotonic() - started
    progress.finish(
        f"barcode index: scanned {format_count(stats.albums)} albums in "
        f"{stats.scan_seconds:.1f}s; {format_count(stats.barcodes_indexed)} barcodes, "
        f"{format_count(stats.malformed_barcodes)} malformed, "
        f"{format_count(stats.albums_without_barcode)} without a barcode"
    )


def _sorted_insert(out: apsw.Connection, stats: SidecarStats, reporter: Reporter) -> None:
    """Pass 2: the pairs sorted by key into the WITHOUT ROWID table (appends only)."""
    progress = reporter.progress("barcode index: sorting and writing", None)
    started = time.monotonic()
    _interruptible(out, lambda: progress.update(0, note="sorting"))
    try:
        with out:
            out.execute(
                "INSERT INTO barcode_albums (barcode, album_rowid) "
                "SELECT barcode, album_rowid FROM scratch.pairs ORDER BY barcode, album_rowid"
            )
    except BaseException:
        progress.clear()
        raise
    finally:
        out.set_progress_handler(None)
    stats.sort_seconds = time.monotonic() - started
    progress.finish(
        f"barcode index: wrote {format_count(stats.barcodes_indexed)} entries in "
        f"{stats.sort_seconds:.1f}s"
    )


ARTIST_ALBUM_ORDER = """INSERT INTO artist_album_order (artist_rowid, position, album_rowid)
SELECT artist_rowid,
  row_number() OVER (PARTITION BY artist_rowid ORDER BY release_date DESC, album_rowid) - 1,
  album_rowid
FROM (SELECT aa.artist_rowid, aa.album_rowid, al.release_date
      FROM dump.artist_albums AS aa CROSS JOIN dump.albums AS al ON al.rowid = aa.album_rowid
      WHERE aa.is_appears_on = 0 AND aa.is_implicit_appears_on = 0
      GROUP BY aa.artist_rowid, aa.album_rowid)
ORDER BY artist_rowid, release_date DESC, album_rowid"""
"""Own albums (duplicate rows once, dangling album rowids left out), numbered per artist
newest release first. `release_date` is ISO text of year, month or day precision, so
text order is date order (a year alone sorts after the dated releases of that year);
NULL dates come last. The rows arrive sorted by the key, so every insert appends."""


def _artist_album_order(
    out: apsw.Connection, main_database: Path, stats: SidecarStats, reporter: Reporter
) -> None:
    """Pass 3: number every artist's own albums, newest release first (see sidecar.sql)."""
    progress = reporter.progress("artist albums: sorting and writing", None)
    started = time.monotonic()
    out.execute("ATTACH DATABASE ? AS dump", (read_only_uri(main_database),))
    _interruptible(out, lambda: progress.update(0, note="sorting"))
    try:
        with out:
            out.execute(ARTIST_ALBUM_ORDER)
        stats.artist_albums = int(out.execute("SELECT count(*) FROM artist_album_order").get or 0)
    except BaseException:
        progress.clear()
        raise
    finally:
        out.set_progress_handler(None)
        out.execute("DETACH DATABASE dump")
    stats.artist_albums_seconds = time.monotonic() - started
    progress.finish(
        f"artist albums: numbered {format_count(stats.artist_albums)} own albums in "
        f"{stats.artist_albums_seconds:.1f}s"
    )
