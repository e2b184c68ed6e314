"""Build `snapshot-search.sqlite3`: the name index, in ranking order, streaming.

How, and why:
- FTS5 keeps the terms of newly inserted rows in memory and appends them to its
  doclists only while rowids grow; a smaller rowid forces a flush. So rows are
  inserted in ranking-key order (`snapshot_api.search.index`).
- Every table is read in rowid order, the order its pages lie in, chunk by
  chunk, and fed to FTS5 a run of `RUN_ROWS` rows at a time, each run sorted
  by ranking key (its rows grouped by rank bucket as they are folded). Each
  run becomes a segment, which `optimize` merges at the end, as it merges the
  segments FTS5 writes whenever its buffer of pending terms is full. Read in
  ranking order instead (as before), every row is on another page: a dump
  larger than memory would cost a disk read per row (256M tracks at a few
  thousand reads a second: days), and even warm a row cost 8.4 µs to read and
  20.4 to fold (fewer names repeat from one row to the next) against 3.6 and
  10.5 in rowid order (10M tracks, one core). The dump's ranking indexes are
  not needed.
- Terms are made in Python (`snapshot_api.search.text`), the same code that
  parses queries; names repeat across tracks, so their terms are cached
  (bounded). A few forked folders read the rows and fold them chunk by chunk
  (`snapshot_api.search.folding`; the index is the same bytes whatever their
  number), running ahead by a run while this process feeds FTS5 (about 5 µs
  per row, FTS5's own cost). The dump is memory-mapped when it fits in memory
  (the rule of `serve --mmap auto`), else read with `pread`.
- Everything is written to `snapshot-search.sqlite3.tmp` (journal off: a crash
  means a rebuild) and renamed into place when complete, after `optimize`
  (segments merged into one b-tree per table: smaller, and every query reads
  one segment) and fsync. A re-run with the same snapshot id, tool version and
  format finds the index current and does nothing.
- The dump is opened `mode=ro&immutable=1`: never written, locked or given
  statistics.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import apsw

from snapshot_api import __version__, pause
from snapshot_api.documents.indexes import index_on, quote
from snapshot_api.errors import BuildError
from snapshot_api.files.sqlite import read_key_values, remove_temporary_files
from snapshot_api.layout import SEARCH_NAME, SEARCH_SCHEMA_FILE, schema_sql
from snapshot_api.progress import Progress, Reporter, format_count
from snapshot_api.search.folding import (
    CACHE_KIB,
    Chunk,
    Folded,
    Folders,
    Group,
    Task,
    fold,
    in_key_order,
    open_dump,
)
from snapshot_api.search.index import RANKINGS, SEARCH_FORMAT, Ranking, SearchKind

CHUNK_ROWS = 20_000
"""Rowids a folder reads and folds at a time."""
RUN_ROWS = 1_000_000
"""Rows fed to FTS5 in key order at a time (a segment each); the folders read the next run
meanwhile, so about two runs' terms are in memory whatever the dump's size: the build's process
held 281-288 MB of its own memory from the second run to the last of 30M tracks, each folder
about 150 MB. Artists' phase, at 30M tracks (1.8M artists), peaked at 291 MB, since their
chunks come back as one group each (`folding.MAX_GROUPS`); 397 MB when each artist was a
group of its own."""
HASH_BYTES = 16 << 20
"""FTS5's in-memory buffer of pending terms before it writes a segment (default 1 MiB):
fewer, larger segments make the final merge cheaper."""
LEAF_BYTES = 321
"""FTS5's leaf size (default 4,050): twelve leaves fill a 4 KiB page (at sixteen, a leaf a few
bytes over its size leaves a page's last sixteenth empty). An AND of a rare word with a common
one seeks the common word's list once per row of the rare one, and within a leaf FTS5 steps
entry by entry to the row sought, so a smaller leaf means fewer entries stepped per seek.
`love AND <a word of 500-1,000 tracks>` at 10M tracks, same host and data: 4,050-byte leaves
about 3.2 ms, 1,000 0.81-0.87, 389 0.53-0.56, 321 0.44-0.51, 236 0.43-0.45 (below 300 bytes
little is left to gain: the rest is loading each leaf). The index at 10M: 39.16 bytes per
track with 1,000-byte leaves (format 3), 39.04 at 321 (with `ALBUM_MARK`'s single prefix and
32 rowid bits), 41.0 at 236 (over the 40 allowed): each leaf costs a full rowid, a
doclist-index entry and a cell."""
TEMPORARY_SUFFIXES = (".tmp", ".tmp-journal")
FOLD_PROCESSES = min(4, os.cpu_count() or 1)
"""Processes reading rows and folding their names into terms beside the one feeding FTS5:
that is most of the build's CPU time (folding is pure Python), so it scales with cores."""


@dataclass(slots=True)
class SearchStats:
    """What the build did; `rows` per kind goes into the manifest and `search_meta`."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    optimize_seconds: float = 0.0
    bytes: int = 0
    up_to_date: bool = False

    def record(self) -> dict[str, object]:
        """The manifest's `search` entry: the file, its format and rows per kind."""
        return {"file": SEARCH_NAME, "format": SEARCH_FORMAT, "rows": dict(self.rows)}


def search_path(directory: Path) -> Path:
    return directory / SEARCH_NAME


def remove_leftovers(directory: Path) -> list[Path]:
    return remove_temporary_files(directory, SEARCH_NAME, TEMPORARY_SUFFIXES)


def read_meta(path: Path) -> dict[str, str] | None:
    """`search_meta` of an existing index, or None when missing or unreadable."""
    return read_key_values(path, "search_meta")


def current_stats(directory: Path, snapshot_id: str) -> SearchStats | None:
    """The stats of the index on disk when it was built for `snapshot_id` by this version."""
    meta = read_meta(search_path(directory))
    if (
        meta is None
        or meta.get("snapshot_id") != snapshot_id
        or meta.get("tool_version") != __version__
        or meta.get("format") != SEARCH_FORMAT
    ):
        return None
    rows = {kind.value: int(meta.get(f"rows.{kind.value}", "0")) for kind in SearchKind}
    return SearchStats(rows=rows, bytes=search_path(directory).stat().st_size, up_to_date=True)


def configure_words_table(
    connection: apsw.Connection, table: str, leaf_bytes: int = LEAF_BYTES
) -> None:
    """FTS5's options for a words table before any row goes in: the buffer and leaf sizes
    above, and no merging while rows arrive (one merge at the end, see `_optimize`)."""
    for option, value in (("hashsize", HASH_BYTES), ("automerge", 0), ("pgsz", leaf_bytes)):
        connection.execute(f"INSERT INTO {table}({table}, rank) VALUES (?, ?)", (option, value))


def build_search(
    main_database: Path,
    directory: Path,
    snapshot_id: str,
    reporter: Reporter,
    *,
    totals: dict[str, int] | None = None,
    force: bool = False,
    processes: int = FOLD_PROCESSES,
) -> SearchStats:
    """Build the index for `main_database` into `directory` unless it is current.

    `totals` (rows per dump table, when known) only sizes the progress bars;
    `processes` fold names in parallel (1: in this process; the index is the
    same bytes either way). Raises `BuildError` when the dump lacks an index
    the build needs.
    """
    if not force:
        existing = current_stats(directory, snapshot_id)
        if existing is not None:
            reporter.say(f"search index: {SEARCH_NAME} is up to date")
            return existing
    remove_leftovers(directory)
    temporary = directory / (SEARCH_NAME + ".tmp")
    stats = SearchStats()
    folders = Folders(processes, main_database) if processes > 1 else None
    dump = open_dump(main_database)
    out = apsw.Connection(str(temporary))
    try:
        for pragma in (
            "auto_vacuum = INCREMENTAL",  # before any table: see _optimize
            "journal_mode = OFF",
            "synchronous = OFF",
            f"cache_size = -{CACHE_KIB}",
        ):
            out.execute(f"PRAGMA {pragma}").fetchall()
        out.execute(schema_sql(SEARCH_SCHEMA_FILE))
        for ranking in RANKINGS.values():
            configure_words_table(out, ranking.words_table)
        job = _Job(dump, out, reporter, folders)
        for kind, ranking in RANKINGS.items():
            total = (totals or {}).get(ranking.table)
            started = time.monotonic()
            stats.rows[kind.value] = _index_kind(job, ranking, total)
            stats.seconds[kind.value] = time.monotonic() - started
        stats.optimize_seconds = _optimize(out, reporter)
        entries = {
            "snapshot_id": snapshot_id,
            "tool_version": __version__,
            "format": SEARCH_FORMAT,
            **{f"rows.{kind}": str(rows) for kind, rows in stats.rows.items()},
        }
        with out:
            out.executemany("INSERT INTO search_meta VALUES (?, ?)", sorted(entries.items()))
        out.close()
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, search_path(directory))
        _fsync_directory(directory)
    except BaseException:
        out.close()
        remove_leftovers(directory)
        raise
    finally:
        dump.close()
        if folders is not None:
            folders.close()
    stats.bytes = search_path(directory).stat().st_size
    return stats


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _needed_index(dump: apsw.Connection, table: str, column: str) -> str:
    name = index_on(dump, "main", table, column)
    if name is None:
        raise BuildError(f"the dump has no index on {table}({column}); run `snapshot-api verify`")
    return quote(name)


def select_rows(dump: apsw.Connection, ranking: Ranking) -> str:
    """SELECT ranking value, rowid, name, album name, artist names joined by newlines, of
    the rowids from ?1 to ?2, in rowid order."""
    if ranking.kind is SearchKind.TRACK:
        track_artists = _needed_index(dump, "track_artists", "track_rowid")
        return f"""SELECT t.popularity, t.rowid, CAST(t.name AS BLOB), CAST(al.name AS BLOB),
          (SELECT CAST(group_concat(ar.name, char(10)) AS BLOB) FROM track_artists AS ta
             INDEXED BY {track_artists}
           CROSS JOIN artists AS ar ON ar.rowid = ta.artist_rowid
           WHERE ta.track_rowid = t.rowid)
        FROM tracks AS t LEFT JOIN albums AS al ON al.rowid = t.album_rowid
        WHERE t.rowid BETWEEN ?1 AND ?2"""
    if ranking.kind is SearchKind.ALBUM:
        album_artists = _needed_index(dump, "artist_albums", "album_rowid")
        return f"""SELECT al.popularity, al.rowid, CAST(al.name AS BLOB), NULL,
          (SELECT CAST(group_concat(ar.name, char(10)) AS BLOB) FROM artist_albums AS aa
             INDEXED BY {album_artists}
           CROSS JOIN artists AS ar ON ar.rowid = aa.artist_rowid
           WHERE aa.album_rowid = al.rowid AND aa.is_appears_on = 0
             AND aa.is_implicit_appears_on = 0)
        FROM albums AS al WHERE al.rowid BETWEEN ?1 AND ?2"""
    return """SELECT ar.followers_total, ar.rowid, CAST(ar.name AS BLOB), NULL, NULL
        FROM artists AS ar WHERE ar.rowid BETWEEN ?1 AND ?2"""


def _index_kind(job: _Job, ranking: Ranking, total: int | None) -> int:
    """Every row of the kind's table, read in rowid order, fed to FTS5 a run at a time,
    each run in ranking-key order."""
    task = Task(ranking.kind, select_rows(job.dump, ranking))
    insert = f"INSERT INTO {ranking.words_table} (rowid, words) VALUES (?, ?)"
    progress = job.reporter.progress(f"search index: {ranking.table}", total, unit="rows")
    done = 0
    run: list[Group] = []
    in_run = 0
    try:
        # One transaction per kind: FTS5 writes a segment at every commit.
        with job.out:
            for chunk in job.folded(task, _rowid_ranges(job.dump, ranking.table), RUN_ROWS):
                run.extend(chunk.groups)
                in_run += chunk.rows
                done += chunk.rows
                if in_run >= RUN_ROWS:
                    job.out.executemany(insert, in_key_order(run))
                    run, in_run = [], 0
                progress.update(done, note=f"rowid {chunk.last_rowid}")
                pause.point("search")
            job.out.executemany(insert, in_key_order(run))
    except BaseException:
        progress.clear()
        raise
    progress.finish(
        f"search index: {format_count(done)} {ranking.table} in {progress.elapsed:.1f}s"
    )
    return done


@dataclass(frozen=True, slots=True)
class _Job:
    """What every kind's indexing shares: the dump, the index being written, the folders
    (None: fold in this process)."""

    dump: apsw.Connection
    out: apsw.Connection
    reporter: Reporter
    folders: Folders | None

    def folded(self, task: Task, chunks: Iterable[Chunk], ahead_rows: int) -> Iterator[Folded]:
        if self.folders is None:
            return (fold(self.dump, task, chunk) for chunk in chunks)
        return self.folders.folded(task, chunks, ahead_rows // CHUNK_ROWS)


def _rowid_ranges(dump: apsw.Connection, table: str) -> Iterator[Chunk]:
    """(first, last) rowids of consecutive chunks covering the table (one index descent
    each end; rowid gaps only make some chunks shorter)."""
    first, last = dump.execute(f"SELECT min(rowid), max(rowid) FROM {table}").get
    if first is None:  # an empty table (an aggregate always yields one row)
        return
    for start in range(first, last + 1, CHUNK_ROWS):
        yield start, min(start + CHUNK_ROWS - 1, last)


def _optimize(out: apsw.Connection, reporter: Reporter) -> float:
    """Merge each table's segments into one, list its terms, then give back the pages
    the merges freed (interruptible)."""
    started = time.monotonic()
    progress: Progress = reporter.progress("search index: merging segments", None)
    out.set_progress_handler(_ticker(lambda: progress.update(0, note="optimize")), 100_000)
    try:
        for ranking in RANKINGS.values():
            table = ranking.words_table
            with out:
                out.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")
                out.execute(
                    f"CREATE VIRTUAL TABLE temp.vocabulary USING fts5vocab(main, {table}, row)"
                )
                out.execute(
                    f"INSERT INTO {ranking.terms_table} "
                    "SELECT term, doc FROM temp.vocabulary ORDER BY term"
                )
                out.execute("DROP TABLE temp.vocabulary")
        # The segments merged away leave free pages (6% of the file at 10M tracks):
        # moving the last pages into them and truncating costs a second where VACUUM
        # would rewrite the whole file.
        out.execute("PRAGMA incremental_vacuum").fetchall()
    except BaseException:
        progress.clear()
        raise
    finally:
        out.set_progress_handler(None)
    seconds = time.monotonic() - started
    progress.finish(f"search index: merged in {seconds:.1f}s")
    return seconds


def _ticker(tick: Callable[[], None]) -> Callable[[], bool]:
    def handler() -> bool:
        tick()
        return False

    return handler
