"""Reading a chunk of dump rows and folding their names into index terms, in parallel.

Reading the rows and folding their names (pure Python) are most of the search
build's CPU time, so a few forked processes (folders) do both, chunk by chunk,
while the build's own process feeds FTS5. A chunk is a range of rowids, read in
table order; its rows come back grouped by rank bucket, each group's keys in an
array and its terms joined by newlines and encoded (two objects per group to
pickle, not a tuple per row), so a run of chunks is put in key order by sorting
its groups (`in_key_order`). Artists' follower counts rarely repeat, so nearly
every artist would be a group of its own, and a group object costs more memory
than the row's terms: a chunk with more than `MAX_GROUPS` buckets is one group
spanning them all (its rows already in key order), which a run merges with the
others it overlaps. The index is the same bytes whatever the number of folders.
"""

from __future__ import annotations

import array
import collections
import heapq
import multiprocessing
import signal
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import Any, TypeAlias

import apsw

from snapshot_api import sigbus
from snapshot_api.errors import BuildError
from snapshot_api.files.sqlite import open_read_only
from snapshot_api.readmode import ReadMode, mem_available, use_mmap
from snapshot_api.search.index import RANKINGS, SearchKind
from snapshot_api.search.text import ALBUM_MARK, ARTIST_MARK, name_terms_text

Chunk: TypeAlias = tuple[int, int]
"""A range of rowids: first, last."""
CACHE_KIB = 32_768
"""SQLite's page cache per connection reading the dump or writing the index."""
Group: TypeAlias = tuple[int, int, bytes, bytes]
"""(first and last rank bucket, ranking keys in order as int64 bytes, their terms joined by
newlines, UTF-8)."""
MAX_GROUPS = 256
"""Buckets a chunk keeps as groups of their own (popularity has 102): above, one group."""


@dataclass(frozen=True, slots=True)
class Task:
    """What a folder needs besides a chunk: the kind, and the statement reading its rows
    (made by the build's own process, which checked the dump's indexes). The statement
    yields ranking value, rowid, name, album name, artist names joined by newlines."""

    kind: SearchKind
    select: str


@dataclass(frozen=True, slots=True)
class Folded:
    """A chunk's documents: groups by rank bucket, in bucket order (or one spanning group)."""

    groups: tuple[Group, ...]
    rows: int
    """Rows read, with or without terms (for progress)."""
    last_rowid: int
    """The chunk's last rowid (for progress)."""


def in_key_order(run: list[Group]) -> Iterator[tuple[int, bytes]]:
    """(ranking key, terms) of a run's rows in key order: its groups by first bucket, those
    of one bucket in the order they were read (a stable sort: rowid order), and groups whose
    buckets overlap (spanning groups) merged by key."""
    run.sort(key=_first_bucket)
    overlapping: list[Group] = []
    end = -1
    for group in run:
        if overlapping and group[0] > end:
            yield from _merged(overlapping)
            overlapping = []
        overlapping.append(group)
        end = max(end, group[1])
    yield from _merged(overlapping)


def _merged(groups: list[Group]) -> Iterator[tuple[int, bytes]]:
    if all(first == last == groups[0][0] for first, last, _, _ in groups):
        for _, _, keys, texts in groups:  # one bucket: read order is key order
            yield from zip(_keys(keys), texts.split(b"\n"), strict=True)
        return
    # Keys are unique, so terms are never compared. Each group's terms are split as the
    # merge reaches them: split at once, a run's million rows would be a million objects.
    yield from heapq.merge(
        *(zip(_keys(keys), _lines(texts), strict=True) for _, _, keys, texts in groups)
    )


def _lines(text: bytes) -> Iterator[bytes]:
    start = 0
    while (end := text.find(b"\n", start)) >= 0:
        yield text[start:end]
        start = end + 1
    yield text[start:]


def _first_bucket(group: Group) -> int:
    return group[0]


def _keys(packed: bytes) -> array.array[int]:
    keys = array.array("q")
    keys.frombytes(packed)
    return keys


def open_dump(main_database: Path) -> apsw.Connection:
    """The dump, memory-mapped when it fits in memory (the rule `serve --mmap auto`
    follows): a map serves the pages read without a system call and a copy each."""
    dump = open_read_only(main_database)
    dump.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    size = main_database.stat().st_size
    if use_mmap(ReadMode.AUTO, size, mem_available()):
        sigbus.guard([main_database])  # a dump truncated meanwhile: an error, not a crash
        dump.execute(f"PRAGMA mmap_size = {size}").fetchall()
    return dump


class Folders:
    """Forked folders; made before any connection is opened, so they hold none."""

    def __init__(self, processes: int, main_database: Path) -> None:
        self.processes = processes
        self.pool = multiprocessing.get_context("fork").Pool(
            processes, initializer=_folder_started, initargs=(main_database,)
        )

    def folded(self, task: Task, chunks: Iterable[Chunk], ahead: int) -> Iterator[Folded]:
        """The chunks' documents in order. Up to `ahead` chunks (and two per folder) are
        given out before their turn, so the folders keep working while the caller feeds
        FTS5, and memory stays bounded whatever the dump's size (`Pool.imap` would read
        the whole input ahead)."""
        pending: collections.deque[AsyncResult[Folded]] = collections.deque()
        for chunk in chunks:
            pending.append(self.pool.apply_async(_fold_in_folder, (task, chunk)))
            if len(pending) >= ahead + 2 * self.processes:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()

    def close(self) -> None:
        self.pool.terminate()
        self.pool.join()


def fold(dump: apsw.Connection, task: Task, chunk: Chunk) -> Folded:
    """Raises `BuildError` when a rowid of the chunk does not fit the key's low bits
    (checked on the chunk's bounds, not row by row: rowids are integers)."""
    ranking = RANKINGS[task.kind]
    for rowid in chunk:
        if not ranking.fits(rowid):
            raise BuildError(f"{ranking.table} rowid {rowid} does not fit the search index")
    return _documents(task.kind, dump.execute(task.select, chunk), chunk[1])


_folder_database: Path | None = None
"""In a folder: the dump it opens (once, at its first chunk) to read rows."""
_folder_dump: apsw.Connection | None = None


def _folder_started(main_database: Path) -> None:
    """A folder ignores Ctrl-C: the build's own process stops it. (A build killed outright
    needs nothing more: each folder closes its copy of the task pipe's writing end, so it
    reads end-of-file and exits.)"""
    global _folder_database
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _folder_database = main_database


def _fold_in_folder(task: Task, chunk: Chunk) -> Folded:
    global _folder_dump
    if _folder_dump is None:
        if _folder_database is None:
            raise BuildError("a folding process was started without the dump's path")
        _folder_dump = open_dump(_folder_database)
    return fold(_folder_dump, task, chunk)


def _documents(kind: SearchKind, rows: Iterable[tuple[Any, ...]], last_rowid: int) -> Folded:
    """The ranking key and terms of each row with at least one term, grouped by bucket;
    names that are not valid UTF-8 (scraped text) are indexed with U+FFFD, as documents
    show them.

    This loop and reading the rows are most of the build's CPU time, so a row
    costs four dict probes when its names and its ranking value were seen
    before (names are cached as the raw values the dump gave), and its terms
    are the three names' terms joined by spaces even when some are empty (the
    tokenizer splits on spaces only, so the index is the same).
    """
    ranking = RANKINGS[kind]
    titles, albums, artists = _TITLES, _ALBUMS, _ARTISTS
    groups: dict[int, tuple[array.array[int], list[str]]] = {}
    by_value: dict[int, tuple[int, array.array[int], list[str]]] = {}
    count = 0
    for value, rowid, name, album, artist_names in rows:
        count += 1
        title = titles.get(name)
        if title is None:
            title = titles.fold(name)
        album_terms = albums.get(album)
        if album_terms is None:
            album_terms = albums.fold(album)
        artist_terms = artists.get(artist_names)
        if artist_terms is None:
            artist_terms = artists.fold(artist_names)
        if not (title or album_terms or artist_terms):
            continue
        # Only integers are remembered by value: 1.0 == 1 as a dict key, but a REAL
        # ranks after every integer.
        entry = by_value.get(value) if type(value) is int else None
        if entry is None:
            high = ranking.key(value, 0)
            group = groups.get(high)
            if group is None:
                group = groups[high] = (array.array("q"), [])
            entry = (high, *group)
            if type(value) is int:
                by_value[value] = entry
        high, keys, texts = entry
        keys.append(high | rowid)
        texts.append(f"{title} {album_terms} {artist_terms}")
    shift = ranking.shift
    ordered = [
        (high >> shift, high >> shift, keys, texts)
        for high, (keys, texts) in sorted(groups.items())
    ]
    if len(ordered) > MAX_GROUPS:  # buckets in order, each in rowid order: key order
        every_key: array.array[int] = array.array("q")
        every_text: list[str] = []
        for _, _, keys, texts in ordered:
            every_key.extend(keys)
            every_text.extend(texts)
        ordered = [(ordered[0][0], ordered[-1][1], every_key, every_text)]
    return Folded(
        tuple(
            (first, last, keys.tobytes(), "\n".join(texts).encode())
            for first, last, keys, texts in ordered
        ),
        count,
        last_rowid,
    )


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
        found = self[raw] = name_terms_text(raw, self.mark) if isinstance(raw, bytes) else ""
        return found


_TITLES, _ALBUMS, _ARTISTS = _NameCache(""), _NameCache(ALBUM_MARK), _NameCache(ARTIST_MARK)
