"""Build `snapshot-search.sqlite3`: the name index, in ranking order, streaming.

How, and why:
- FTS5 keeps the terms of newly inserted rows in memory and appends them to its
  doclists only while rowids grow; a smaller rowid forces a flush. So rows are
  inserted in ranking-key order (`snapshot_api.search.index`): for each
  distinct popularity (follower count), most popular first, found one at a time
  with `max(column) WHERE column < previous` on the dump's own index, then that
  value's rowids in order, again straight from that index (an equality on an
  index yields rowids in order). No sort, nothing held in memory but a few
  chunks.
- Terms are made in Python (`snapshot_api.search.text`), the same code that
  parses queries; names repeat across tracks, so their terms are cached
  (bounded). This process only walks the ranking index and feeds FTS5 (about
  5 µs per track, FTS5's own cost); a few forked folders read each chunk's
  rows by rowid and fold them, in order (the index is the same bytes whatever
  their number). Reading the popular rows costs as much as folding them:
  they lie on random pages. The dump is memory-mapped when it fits in memory
  (the rule of `serve --mmap auto`): warm, that halves the cost of those reads
  (15.3 → 8.0 µs per row), and a dump larger than memory is read with `pread`.
  At 10M tracks, the same minutes, 2 cores: 17.7 µs per track with the folders
  reading and pread, 12.4 mapped; 15.8 mapped with the rows read by this
  process, as before.
- Everything is written to `snapshot-search.sqlite3.tmp` (journal off: a crash
  means a rebuild) and renamed into place when complete, after `optimize`
  (segments merged into one b-tree per table: smaller, and every query reads
  one segment) and fsync. A re-run with the same snapshot id, tool version and
  format finds the index current and does nothing.
- The dump is opened `mode=ro&immutable=1`: never written, locked or given
  statistics.
"""

from __future__ import annotations

import array
import collections
import itertools
import multiprocessing
import multiprocessing.pool
import os
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.pool import AsyncResult
from pathlib import Path

import apsw

from snapshot_api import __version__, pause, sigbus
from snapshot_api.build.sidecar import _temporary_files_in
from snapshot_api.documents.indexes import index_on, quote
from snapshot_api.errors import BuildError
from snapshot_api.files.sqlite import open_read_only, read_key_values, remove_temporary_files
from snapshot_api.layout import SEARCH_NAME, SEARCH_SCHEMA_FILE, schema_sql
from snapshot_api.progress import Progress, Reporter, format_count
from snapshot_api.readmode import ReadMode, mem_available, use_mmap
from snapshot_api.search.index import RANKINGS, SEARCH_FORMAT, Ranking, SearchKind
from snapshot_api.search.text import ALBUM_MARK, ARTIST_MARK, terms_text

CHUNK_ROWS = 20_000
CACHE_KIB = 32_768
HASH_BYTES = 16 << 20
"""FTS5's in-memory buffer of pending terms before it writes a segment (default 1 MiB):
fewer, larger segments make the final merge cheaper."""
TEMPORARY_SUFFIXES = (".tmp", ".tmp-journal")
FOLD_PROCESSES = min(4, os.cpu_count() or 1)
"""Processes reading rows and folding their names into terms beside the one feeding FTS5:
that is most of the build's CPU time (folding is pure Python), so it scales with cores."""
NAME_SEPARATOR = "\n"
"""Joins a track's artist names in one string: a separator for the term rules."""


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
    # Started before any connection is opened, so the forked folders hold none.
    folders = _start_folders(processes, main_database) if processes > 1 else None
    dump = _open_dump(main_database)
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
            table = ranking.words_table
            out.execute(f"INSERT INTO {table}({table}, rank) VALUES ('hashsize', {HASH_BYTES})")
            out.execute(f"INSERT INTO {table}({table}, rank) VALUES ('automerge', 0)")
        with _temporary_files_in(directory):  # a sort without an index spills there
            for kind, ranking in RANKINGS.items():
                total = (totals or {}).get(ranking.table)
                started = time.monotonic()
                stats.rows[kind.value] = _index_kind(dump, out, ranking, reporter, total, folders)
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
            folders.terminate()
            folders.join()
    stats.bytes = search_path(directory).stat().st_size
    return stats


def _start_folders(processes: int, main_database: Path) -> multiprocessing.pool.Pool:
    return multiprocessing.get_context("fork").Pool(
        processes, initializer=_folder_started, initargs=(main_database,)
    )


_folder_database: Path | None = None
"""In a folding process: the dump it opens (once, at its first chunk) to read rows."""
_folder_dump: apsw.Connection | None = None


def _folder_started(main_database: Path) -> None:
    """A folder ignores Ctrl-C: the build's own process stops it. (A build killed outright
    needs nothing more: each folder closes its copy of the task pipe's writing end, so it
    reads end-of-file and exits.)"""
    global _folder_database
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _folder_database = main_database


def _open_dump(main_database: Path) -> apsw.Connection:
    """The dump, memory-mapped when it fits in memory (the rule `serve --mmap auto`
    follows): the popular rows are read in popularity order, so from random pages,
    which a map serves without a system call and a copy each."""
    dump = open_read_only(main_database)
    dump.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    size = main_database.stat().st_size
    if use_mmap(ReadMode.AUTO, size, mem_available()):
        sigbus.guard([main_database])  # a dump truncated meanwhile: an error, not a crash
        dump.execute(f"PRAGMA mmap_size = {size}").fetchall()
    return dump


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


def _select(dump: apsw.Connection, ranking: Ranking) -> str:
    """SELECT ranking value, rowid, name, album name, artist names joined by newlines,
    of the rowids bound as ?1 (a carray), in that order."""
    if ranking.kind is SearchKind.TRACK:
        track_artists = _needed_index(dump, "track_artists", "track_rowid")
        return f"""SELECT t.popularity, t.rowid, CAST(t.name AS BLOB), CAST(al.name AS BLOB),
          (SELECT CAST(group_concat(ar.name, char(10)) AS BLOB) FROM track_artists AS ta
             INDEXED BY {track_artists}
           CROSS JOIN artists AS ar ON ar.rowid = ta.artist_rowid
           WHERE ta.track_rowid = t.rowid)
        FROM carray(?1) AS k CROSS JOIN tracks AS t ON t.rowid = k.value
        LEFT JOIN albums AS al ON al.rowid = t.album_rowid"""
    if ranking.kind is SearchKind.ALBUM:
        album_artists = _needed_index(dump, "artist_albums", "album_rowid")
        return f"""SELECT al.popularity, al.rowid, CAST(al.name AS BLOB), NULL,
          (SELECT CAST(group_concat(ar.name, char(10)) AS BLOB) FROM artist_albums AS aa
             INDEXED BY {album_artists}
           CROSS JOIN artists AS ar ON ar.rowid = aa.artist_rowid
           WHERE aa.album_rowid = al.rowid AND aa.is_appears_on = 0
             AND aa.is_implicit_appears_on = 0)
        FROM carray(?1) AS k CROSS JOIN albums AS al ON al.rowid = k.value"""
    return """SELECT ar.followers_total, ar.rowid, CAST(ar.name AS BLOB), NULL, NULL
        FROM carray(?1) AS k CROSS JOIN artists AS ar ON ar.rowid = k.value"""


def _ranked_rowids(dump: apsw.Connection, ranking: Ranking) -> Iterator[tuple[int]]:
    """Every rowid of the kind's table in ranking-key order.

    With the dump's index on the ranking column: value by value, each value's
    rowids in order, straight from the index (an equality on an index yields
    rowids in order; the index holds them, so no table page is read). Without
    it (a damaged or trimmed dump), SQLite's external sorter: slower, same order.
    """
    table, column = ranking.table, ranking.column
    index = index_on(dump, "main", table, column)
    if index is None:
        yield from dump.execute(
            f"SELECT rowid FROM {table} ORDER BY {column} IS NULL, {column} DESC, rowid"
        )
        return
    by_value = f"SELECT rowid FROM {table} INDEXED BY {quote(index)} WHERE {column}"
    for value in _values_descending(dump, ranking):
        yield from dump.execute(f"{by_value} = ?1 ORDER BY rowid", (value,))
    yield from dump.execute(f"{by_value} IS NULL ORDER BY rowid")


def _values_descending(dump: apsw.Connection, ranking: Ranking) -> Iterator[object]:
    """Each distinct non-NULL ranking value, largest first: one index descent each."""
    table, column = ranking.table, ranking.column
    value = dump.execute(f"SELECT max({column}) FROM {table}").get
    while value is not None:
        yield value
        value = dump.execute(f"SELECT max({column}) FROM {table} WHERE {column} < ?", (value,)).get


def _index_kind(
    dump: apsw.Connection,
    out: apsw.Connection,
    ranking: Ranking,
    reporter: Reporter,
    total: int | None,
    folders: multiprocessing.pool.Pool | None,
) -> int:
    insert = f"INSERT INTO {ranking.words_table} (rowid, words) VALUES (?, ?)"
    progress = reporter.progress(f"search index: {ranking.table}", total, unit="rows")
    task = _Task(ranking.kind, _select(dump, ranking))
    rowids = _ranked_rowids(dump, ranking)
    done = 0
    try:
        # One transaction per kind: FTS5 writes a segment at every commit.
        with out:
            for chunk in _folded(dump, task, rowids, folders):
                out.executemany(insert, chunk.documents())
                done += chunk.rows
                progress.update(done, note=f"{ranking.column} {chunk.last_value}")
                pause.point("search")
    except BaseException:
        progress.clear()
        raise
    progress.finish(
        f"search index: {format_count(done)} {ranking.table} in {progress.elapsed:.1f}s"
    )
    return done


@dataclass(frozen=True, slots=True)
class _Task:
    """What a folder needs besides a chunk's rowids: the kind, and the statement reading
    their rows (made by the build's own process, which checked the dump's indexes)."""

    kind: SearchKind
    select: str


@dataclass(frozen=True, slots=True)
class _Folded:
    """A chunk's documents as they travel back from a folder: the ranking keys in an
    array and the texts joined by newlines (no term holds one), which pickle as two
    objects instead of a tuple per row."""

    keys: array.array[int]
    texts: str
    rows: int
    """Rows read, with or without terms (for progress)."""
    last_value: object
    """The last row's ranking value (for progress)."""

    def documents(self) -> Iterator[tuple[int, str]]:
        return zip(self.keys, self.texts.split("\n"), strict=False)


def _folded(
    dump: apsw.Connection,
    task: _Task,
    rowids: Iterator[tuple[int]],
    folders: multiprocessing.pool.Pool | None,
) -> Iterator[_Folded]:
    """The chunks' documents in order, read and folded by `folders` when given.

    This process only walks the ranking index for rowids (no table page) and
    feeds FTS5; the folders read the rows, which costs as much as folding
    them (random pages for the popular rows), so both scale with cores. At
    most `2 × processes` chunks are in flight, so memory stays bounded whatever
    the dump's size (`Pool.imap` would read the whole input ahead).
    """
    chunks = iter(
        lambda: array.array("q", (row[0] for row in itertools.islice(rowids, CHUNK_ROWS))), _EMPTY
    )
    if folders is None:
        for chunk in chunks:
            yield _fold(dump, task, chunk)
        return
    window = 2 * FOLD_PROCESSES
    pending: collections.deque[AsyncResult[_Folded]] = collections.deque()
    for chunk in chunks:
        pending.append(folders.apply_async(_fold_in_folder, (task, chunk)))
        if len(pending) >= window:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


_EMPTY = array.array("q")


def _fold(dump: apsw.Connection, task: _Task, rowids: array.array[int]) -> _Folded:
    rows = dump.execute(task.select, (apsw.carray(rowids),))
    keys, texts, last_value = _documents(task.kind, rows)
    return _Folded(keys, "\n".join(texts), len(rowids), last_value)


def _fold_in_folder(task: _Task, rowids: array.array[int]) -> _Folded:
    global _folder_dump
    if _folder_dump is None:
        if _folder_database is None:
            raise BuildError("a folding process was started without the dump's path")
        _folder_dump = _open_dump(_folder_database)
    return _fold(_folder_dump, task, rowids)


def _documents(
    kind: SearchKind, rows: Iterable[tuple[object, ...]]
) -> tuple[array.array[int], list[str], object]:
    """The ranking key and terms of each row with at least one term, and the last row's
    ranking value; names that are not valid UTF-8 (scraped text) are indexed with U+FFFD, as
    documents show them.

    This loop and reading the rows are most of the build's CPU time, so a row
    costs three dict probes when its names were seen before (names are cached
    as the raw values the dump gave) and the ranking key's high bits are
    computed once per ranking value.
    """
    ranking = RANKINGS[kind]
    titles, albums, artists = _TITLES, _ALBUMS, _ARTISTS
    keys = array.array("q")
    texts: list[str] = []
    add_key, add_text = keys.append, texts.append
    last_value: object = _NO_VALUE
    high = 0
    for value, rowid, name, album, artist_names in rows:
        if not isinstance(rowid, int) or not ranking.fits(rowid):
            raise BuildError(f"{ranking.table} rowid {rowid!r} does not fit the search index")
        if value is not last_value:
            high, last_value = ranking.key(value, 0), value
        title = titles.get(name)
        if title is None:
            title = titles.fold(name)
        album_terms = albums.get(album)
        if album_terms is None:
            album_terms = albums.fold(album)
        artist_terms = artists.get(artist_names)
        if artist_terms is None:
            artist_terms = artists.fold(artist_names)
        text = " ".join(filter(None, (title, album_terms, artist_terms)))
        if text:
            add_key(high | rowid)
            add_text(text)
    return keys, texts, None if last_value is _NO_VALUE else last_value


class _NameCache(dict[object, str]):
    """Terms of whole names seen recently, keyed by the dump's raw value, for one mark:
    albums repeat over their tracks, artists over their works, titles over
    re-releases. Bounded: cleared when full."""

    LIMIT = 100_000

    def __init__(self, mark: str) -> None:
        super().__init__()
        self.mark = mark

    def fold(self, raw: object) -> str:
        if len(self) >= self.LIMIT:
            self.clear()
        name = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
        found = self[raw] = terms_text(name, self.mark) if isinstance(name, str) else ""
        return found


_TITLES, _ALBUMS, _ARTISTS = _NameCache(""), _NameCache(ALBUM_MARK), _NameCache(ARTIST_MARK)
_NO_VALUE = object()


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
