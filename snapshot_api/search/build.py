"""Build `snapshot-search.sqlite3`: the name index, in ranking order, streaming.

How, and why:
- FTS5 keeps the terms of newly inserted rows in memory and appends them to its
  doclists only while rowids grow; a smaller rowid forces a flush. So rows are
  inserted in ranking-key order (`snapshot_api.search.index`): for each
  distinct popularity (follower count), most popular first, found one at a time
  with `max(column) WHERE column < previous` on the dump's own index, then that
  value's rows by rowid, again straight from that index (an equality on an
  index yields rowids in order). No sort, nothing held in memory but one chunk.
- Terms are made in Python (`snapshot_api.search.text`), the same code that
  parses queries. Artist and album names repeat across tracks, so their terms
  are cached (bounded). Folding is most of the CPU time, so chunks of rows are
  folded by a few forked processes while this one reads the dump and feeds
  FTS5, in order (the index is the same bytes whatever their number): 1.2–1.5×
  faster on 2 busy cores (14.7 → 10.1 µs per track at 200k tracks).
- Everything is written to `snapshot-search.sqlite3.tmp` (journal off: a crash
  means a rebuild) and renamed into place when complete, after `optimize`
  (segments merged into one b-tree per table: smaller, and every query reads
  one segment) and fsync. A re-run with the same snapshot id, tool version and
  format finds the index current and does nothing.
- The dump is opened `mode=ro&immutable=1`: never written, locked or given
  statistics.
"""

from __future__ import annotations

import collections
import itertools
import multiprocessing
import multiprocessing.pool
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.pool import AsyncResult
from pathlib import Path

import apsw

from snapshot_api import __version__, pause
from snapshot_api.build.sidecar import _temporary_files_in
from snapshot_api.documents.indexes import index_on, quote
from snapshot_api.errors import BuildError
from snapshot_api.files.sqlite import open_read_only, read_key_values, remove_temporary_files
from snapshot_api.layout import SEARCH_NAME, SEARCH_SCHEMA_FILE, schema_sql
from snapshot_api.progress import Progress, Reporter, format_count
from snapshot_api.search.index import RANKINGS, SEARCH_FORMAT, Ranking, SearchKind
from snapshot_api.search.text import ALBUM_MARK, ARTIST_MARK, index_text, terms_text

CHUNK_ROWS = 20_000
CACHE_KIB = 32_768
HASH_BYTES = 16 << 20
"""FTS5's in-memory buffer of pending terms before it writes a segment (default 1 MiB):
fewer, larger segments make the final merge cheaper."""
TEMPORARY_SUFFIXES = (".tmp", ".tmp-journal")
FOLD_PROCESSES = min(4, os.cpu_count() or 1)
"""Processes folding names into terms beside the one reading the dump and writing FTS5:
folding is most of the build's CPU time (pure Python), so it scales with cores."""
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
    folders = _start_folders(processes) if processes > 1 else None
    dump = open_read_only(main_database)
    out = apsw.Connection(str(temporary))
    try:
        dump.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
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


def _start_folders(processes: int) -> multiprocessing.pool.Pool:
    return multiprocessing.get_context("fork").Pool(processes, initializer=_folder_started)


def _folder_started() -> None:
    """A folder ignores Ctrl-C: the build's own process stops it. (A build killed outright
    needs nothing more: each folder closes its copy of the task pipe's writing end, so it
    reads end-of-file and exits.)"""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


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


def _select(dump: apsw.Connection, ranking: Ranking) -> tuple[str, str]:
    """(SELECT ranking value, rowid, name, album name, artist names joined by newlines;
    the table's alias). `@ORDER@` stands where an INDEXED BY may go."""
    if ranking.kind is SearchKind.TRACK:
        track_artists = _needed_index(dump, "track_artists", "track_rowid")
        return (
            f"""SELECT t.popularity, t.rowid, CAST(t.name AS BLOB), CAST(al.name AS BLOB),
          (SELECT CAST(group_concat(ar.name, char(10)) AS BLOB) FROM track_artists AS ta
             INDEXED BY {track_artists}
           CROSS JOIN artists AS ar ON ar.rowid = ta.artist_rowid
           WHERE ta.track_rowid = t.rowid)
        FROM tracks AS t @ORDER@
        LEFT JOIN albums AS al ON al.rowid = t.album_rowid""",
            "t",
        )
    if ranking.kind is SearchKind.ALBUM:
        album_artists = _needed_index(dump, "artist_albums", "album_rowid")
        return (
            f"""SELECT al.popularity, al.rowid, CAST(al.name AS BLOB), NULL,
          (SELECT CAST(group_concat(ar.name, char(10)) AS BLOB) FROM artist_albums AS aa
             INDEXED BY {album_artists}
           CROSS JOIN artists AS ar ON ar.rowid = aa.artist_rowid
           WHERE aa.album_rowid = al.rowid AND aa.is_appears_on = 0
             AND aa.is_implicit_appears_on = 0)
        FROM albums AS al @ORDER@""",
            "al",
        )
    return (
        "SELECT ar.followers_total, ar.rowid, CAST(ar.name AS BLOB), NULL, NULL "
        "FROM artists AS ar @ORDER@",
        "ar",
    )


def _text(name: object) -> object:
    return name.decode(errors="replace") if isinstance(name, bytes) else name


def _raw_rows(dump: apsw.Connection, ranking: Ranking) -> Iterator[tuple[object, ...]]:
    """Every row with its names as BLOBs, in ranking-key order.

    With the dump's index on the ranking column: value by value, each value's
    rows by rowid, straight from the index. Without it (a damaged or trimmed
    dump), one statement sorted by SQLite's external sorter: slower, same order.
    """
    select, alias = _select(dump, ranking)
    column = f"{alias}.{ranking.column}"
    index = index_on(dump, "main", ranking.table, ranking.column)
    if index is None:
        yield from dump.execute(
            select.replace("@ORDER@", "")
            + f" ORDER BY {column} IS NULL, {column} DESC, {alias}.rowid"
        )
        return
    by_value = select.replace("@ORDER@", f"INDEXED BY {quote(index)}")
    for value in _values_descending(dump, ranking):
        yield from dump.execute(f"{by_value} WHERE {column} = ?1 ORDER BY {alias}.rowid", (value,))
    yield from dump.execute(f"{by_value} WHERE {column} IS NULL ORDER BY {alias}.rowid")


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
    rows = _raw_rows(dump, ranking)
    done = 0
    try:
        # One transaction per kind: FTS5 writes a segment at every commit.
        with out:
            for documents, count, last_value in _folded(ranking.kind, rows, folders):
                out.executemany(insert, documents)
                done += count
                progress.update(done, note=f"{ranking.column} {last_value}")
                pause.point("search")
    except BaseException:
        progress.clear()
        raise
    progress.finish(
        f"search index: {format_count(done)} {ranking.table} in {progress.elapsed:.1f}s"
    )
    return done


Folded = tuple[list[tuple[int, str]], int, object]
"""(documents of a chunk, rows in the chunk, the chunk's last ranking value)."""


def _folded(
    kind: SearchKind, rows: Iterator[tuple[object, ...]], folders: multiprocessing.pool.Pool | None
) -> Iterator[Folded]:
    """The chunks' documents in order, folded by `folders` when given.

    At most `2 × processes` chunks are in flight, so memory stays bounded
    whatever the dump's size (`Pool.imap` would read the whole input ahead).
    """
    chunks = iter(lambda: list(itertools.islice(rows, CHUNK_ROWS)), [])
    if folders is None:
        for chunk in chunks:
            yield _documents(kind, chunk), len(chunk), chunk[-1][0]
        return
    window = 2 * FOLD_PROCESSES
    pending: collections.deque[tuple[AsyncResult[list[tuple[int, str]]], int, object]] = (
        collections.deque()
    )
    for chunk in chunks:
        pending.append((folders.apply_async(_documents, (kind, chunk)), len(chunk), chunk[-1][0]))
        if len(pending) >= window:
            result, count, last = pending.popleft()
            yield result.get(), count, last
    while pending:
        result, count, last = pending.popleft()
        yield result.get(), count, last


def _documents(kind: SearchKind, chunk: list[tuple[object, ...]]) -> list[tuple[int, str]]:
    """(ranking key, terms) of each raw row of the chunk with at least one term; names
    that are not valid UTF-8 (scraped text) are indexed with U+FFFD, as documents show
    them. Runs in a folding process (or inline), so it takes only picklable values."""
    ranking = RANKINGS[kind]
    documents = []
    names = _NAMES
    for value, rowid, name, album, artists in chunk:
        if not isinstance(rowid, int) or not ranking.fits(rowid):
            raise BuildError(f"{ranking.table} rowid {rowid!r} does not fit the search index")
        text = index_text(
            names.text(_text(name), ""),
            names.text(_text(album), ALBUM_MARK),
            names.text(_text(artists), ARTIST_MARK),
        )
        if text:
            documents.append((ranking.key(value, rowid), text))
    return documents


class _NameCache:
    """Terms of whole names seen recently, per mark: albums repeat over their tracks,
    artists over their works, titles over re-releases. Bounded: cleared when full."""

    LIMIT = 100_000

    def __init__(self) -> None:
        self.caches: dict[str, dict[object, str]] = {}

    def text(self, name: object, mark: str) -> str:
        cache = self.caches.setdefault(mark, {})
        found = cache.get(name)
        if found is None:
            if len(cache) >= self.LIMIT:
                cache.clear()
            found = cache[name] = terms_text(name, mark) if isinstance(name, str) else ""
        return found


_NAMES = _NameCache()


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
                    "SELECT term FROM temp.vocabulary ORDER BY term"
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
