"""Open a snapshot directory read-only and answer lookups, from any number of threads.

Why it is built this way:
- Dump files are opened as `file:...?mode=ro&immutable=1` URIs. `mode=ro` keeps
  every byte of the published files untouched; `immutable=1` tells SQLite the
  file cannot change, so it takes no locks at all (measured: 2x faster lookups)
  and never creates journal or WAL files beside them.
- One connection per thread (apsw releases the GIL while SQLite works, so reads
  on different threads overlap; a connection is only used by its own thread).
- How pages are read is chosen per snapshot (`readmode.py` has the figures):
  a memory map when the files fit comfortably in available memory (warm, 1.3-1.5x
  faster than copying pages: no copy, no system call), else `pread` with the
  kernel's readahead turned off on every descriptor SQLite opens for them
  (`POSIX_FADV_RANDOM`). Cold on a 10M-track snapshot, mmap read 10 MB from
  disk per ISRC lookup (87-94 lookups/s) where `pread` with the advice read
  98 KiB (440/s).
- Page cache per connection: with mmap SQLite keeps only page headers for mapped
  pages, so the cache holds temporary b-trees; with `pread` it holds copies of
  the pages read, and the upper levels of the b-trees every lookup descends stay
  there instead of costing a system call each.
- Cold data is read at the disk's queue depth, not at one: a lookup of many keys
  in `pread` mode is split across `READ_THREADS` threads, each with its own
  connection, so that many independent b-tree descents wait on the disk at once
  (a random 4 KiB read is ~80 us at queue depth 1, ~20 us per read at 32).
- Opening does no work that grows with the data: it reads the manifest written
  by `build` and checks file sizes and times, nothing more.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import apsw
import orjson

from snapshot_api import documents, readmode, sigbus
from snapshot_api.documents.paging import DEFAULT_LIMIT, Page
from snapshot_api.errors import (
    MissingIndex,
    NotFound,
    SearchUnavailable,
    SnapshotError,
    SnapshotNotPrepared,
)
from snapshot_api.identifiers import Kind, parse, parse_all
from snapshot_api.layout import MANIFEST_NAME, SIDECAR_NAME, DumpFile, Role, find_dump_files
from snapshot_api.manifest import Manifest
from snapshot_api.match import params as match_params
from snapshot_api.match.matcher import Matcher, Scored
from snapshot_api.readmode import ReadMode
from snapshot_api.search import query as search_query
from snapshot_api.search.candidates import CandidateReader
from snapshot_api.search.index import SCHEMA_ALIAS as SEARCH_SCHEMA
from snapshot_api.search.index import SEARCH_FORMAT, SearchKind

MMAP_BYTES = 1 << 40
"""Ask for a large map; SQLite caps it at its compile-time maximum."""

CACHE_KIB = 16_384
"""Per-connection page cache with mmap: temporary b-trees and page headers only."""

PREAD_CACHE_KIB = 8_192
"""Per-connection page cache with `pread`: 2,000 pages of 4 KiB, more than the root and
second-level pages of every b-tree a lookup descends (about 10 b-trees), which every
lookup reads; deeper pages are mostly different per key and come from the OS cache
or the disk. Times `READ_THREADS` + 2 connections per process, it bounds the copies
at about 150 MB."""


READ_THREADS = 16
"""Threads a many-key lookup is split across in `pread` mode, and that serve single
lookups and matches there over HTTP. Each thread waits on one read at a time (a b-tree
descent is a chain of dependent reads), so this is the disk queue depth one lookup, or
one worker's requests, can reach: the disk measured 5-14k random reads/s at depth 1 and
17-73k at 32. Cold at 10M tracks, four runs interleaved with 8 threads: batches of 400
in-process 595-904 items/s with 8, 929-1,658 with 16 (medians 1.7x); 16 HTTP clients
298-573 against 431-1,028/s; 32 threads cut warm `pread` batches by half (parts of 12
keys) for no clear cold gain."""

KEYS_PER_PART = 8
"""Fewest keys a many-key lookup hands to one reader thread (fewer than twice this are
looked up on the calling thread): the hand-off to the pool (~50 us) would cost more
than the reads it overlaps."""

DOCUMENTS_PER_PART = 2
"""Fewest documents of a search or match page read by one reader thread: a cold
document is ~20 dependent page reads (~1.6 ms at queue depth 1), so even two are
worth a hand-off; a page of 20 is read by 8 threads at once."""

Document = dict[str, Any]
T = TypeVar("T")
R = TypeVar("R")


_sqlite_configured = False
_sqlite_lock = threading.Lock()


def read_sizes(*, mmap: bool) -> tuple[int, int]:
    """`mmap_size` bytes and `cache_size` KiB for reading mapped or with `pread`: one choice,
    so a benchmark that reads a file the way a snapshot does cannot drift from it."""
    return (MMAP_BYTES, CACHE_KIB) if mmap else (0, PREAD_CACHE_KIB)


def _disable_memory_statistics() -> None:
    """Turn off SQLite's allocation statistics before the first connection.

    With them on (SQLite's default), every allocation takes one process-wide
    mutex, and threads doing lookups contend on it: measured at 1M tracks,
    batches of 400 ISRCs on two threads went from 18k to 26-28k items/s with
    them off (one thread: 16k to 18k). It needs SQLite re-initialised, so it
    is skipped when the process already has apsw connections of its own.

    Called by the first `Snapshot.open` of the process (once; the lock makes
    concurrent first opens wait for it), never at import: importing the
    package must not re-initialise SQLite under an application that uses it.
    """
    global _sqlite_configured
    with _sqlite_lock:
        if _sqlite_configured:
            return
        _sqlite_configured = True
        if apsw.connections():
            return
        try:
            apsw.shutdown()
            apsw.config(apsw.SQLITE_CONFIG_MEMSTATUS, 0)
            apsw.initialize()
        except apsw.Error:
            apsw.initialize()


_pool_thread = threading.local()
"""`active` on reader-pool threads: a lookup already there is not split again (no thread
waits on the pool it runs in)."""


def _mark_pool_thread() -> None:
    _pool_thread.active = True


def _read_only_uri(path: Path) -> str:
    return "file:" + quote(str(path.resolve())) + "?mode=ro&immutable=1"


def _search_file(directory: Path, manifest: Manifest | None) -> Path | None:
    """The search index the manifest records, or None (built with --no-search, not built,
    or the file was deleted: lookups still work, search answers `SearchUnavailable`)."""
    if manifest is None or not manifest.search:
        return None
    path = directory / str(manifest.search.get("file", ""))
    return path if path.is_file() else None


def _usable_audio_features(path: Path) -> bool:
    """Whether the audio features file opens as SQLite with its table's track_id index.

    Reads the schema only. Anything less (truncated, not SQLite, no index) is served as
    a snapshot without audio features: `build` and `verify` report it as a warning.
    """
    try:
        connection = apsw.Connection(
            _read_only_uri(path), flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI
        )
    except apsw.Error:
        return False
    try:
        documents.find_indexes(connection, ["af"], schema_names={"af": "main"})
        connection.execute("SELECT null_response FROM track_audio_features LIMIT 0").fetchall()
    except (apsw.Error, MissingIndex):
        return False
    finally:
        connection.close()
    return True


def _identity(path: Path) -> tuple[int, int, int, int]:
    stat = path.stat()
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


class Snapshot:
    """A prepared snapshot directory, open for lookups. Thread-safe; use `Snapshot.open`."""

    def __init__(
        self,
        directory: Path,
        files: dict[Role, DumpFile],
        manifest: Manifest | None,
        sidecar: Path | None,
        mmap: ReadMode = ReadMode.AUTO,
    ) -> None:
        self.directory = directory
        self._files = files
        self._manifest = manifest
        self._sidecar = sidecar
        self._search_file = _search_file(directory, manifest)
        self.has_track_files = Role.TRACK_FILES in files
        self.has_audio_features = Role.AUDIO_FEATURES in files and _usable_audio_features(
            files[Role.AUDIO_FEATURES].path
        )
        """Whether audio features are served: the file is there and has its table and index
        (it is optional, and a damaged one only costs the audio features)."""
        watched = [f.path for f in files.values() if f.role is not Role.AUDIO_FEATURES]
        if sidecar is not None:
            watched.append(sidecar)
        if self._search_file is not None:
            watched.append(self._search_file)
        self._opened_as = {path: _identity(path) for path in watched}
        self._read_paths = [
            *(f.path for f in files.values()),
            *([sidecar] if sidecar else []),
            *([self._search_file] if self._search_file else []),
        ]
        self.read_mode = mmap
        self.uses_mmap = readmode.use_mmap(
            mmap, readmode.total_bytes(self._read_paths), readmode.mem_available()
        )
        """Whether SQLite maps the files (else it reads pages with `pread`)."""
        self.guarded = sigbus.guard(self._read_paths) if self.uses_mmap else False
        """With mmap: whether a truncated file becomes an SQLite error rather than SIGBUS."""
        self.advised_descriptors: set[int] = set()
        """Descriptors given `POSIX_FADV_RANDOM` (every one SQLite opened, in `pread` mode)."""
        self._pool: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._connections: list[apsw.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        schemas = ["main", "tf"] if self.has_track_files else ["main"]
        # Reads only the schema: opening costs the same whatever the snapshot size.
        try:
            indexes = documents.find_indexes(self._connection(), schemas)
            if self.has_audio_features:
                indexes |= documents.find_indexes(self._connection(), ["af"])
        except MissingIndex:
            self.close()
            raise
        self._queries = documents.Queries.for_layout(
            indexes, track_files=self.has_track_files, audio_features=self.has_audio_features
        )
        self._searcher = search_query.Searcher(indexes, track_files=self.has_track_files)
        self._matcher = Matcher(CandidateReader(indexes))

    # --- opening -------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        directory: str | os.PathLike[str],
        *,
        require_built: bool = True,
        mmap: ReadMode | str = ReadMode.AUTO,
    ) -> Snapshot:
        """Open `directory`; with `require_built`, it must have been prepared by `build`.

        `mmap`: `on` maps the files, `off` reads them with `pread`, `auto` maps
        them when they fit comfortably in available memory (see `readmode.py`).

        Raises `SnapshotNotPrepared` (saying to run `snapshot-api build DIR`) or
        `SnapshotError` with a one-line reason.
        """
        _disable_memory_statistics()
        path = Path(directory)
        if not path.is_dir():
            raise SnapshotError(f"{path}: not a directory")
        files = find_dump_files(path)
        main = files.get(Role.MAIN)
        build_hint = f"run `snapshot-api build {path}` first"
        if main is None:
            raise SnapshotError(
                f"{path}: no spotify_clean.sqlite3 (or main_database.sqlite3) in this directory"
            )
        compressed = [f.path.name for f in files.values() if f.compressed]
        if compressed:
            raise SnapshotNotPrepared(
                f"{path}: {', '.join(compressed)} not decompressed; {build_hint}"
            )
        manifest: Manifest | None = None
        sidecar: Path | None = None
        if require_built:
            manifest = cls._read_manifest(path, build_hint)
            cls._check_files_unchanged(path, files, manifest)
            sidecar = path / SIDECAR_NAME
            if not sidecar.is_file():
                raise SnapshotNotPrepared(f"{path}: {SIDECAR_NAME} is missing; {build_hint}")
        elif (path / SIDECAR_NAME).is_file():
            sidecar = path / SIDECAR_NAME
        try:
            snapshot = cls(path, files, manifest, sidecar, ReadMode(mmap))
        except apsw.Error as exc:
            raise SnapshotError(f"{path}: cannot open the snapshot: {exc}") from None
        except MissingIndex as exc:
            raise SnapshotError(f"{path}: {exc}; run `snapshot-api verify {path}`") from None
        if manifest is not None:
            snapshot._check_sidecar_matches(manifest)
            snapshot._check_search_matches(manifest)
        return snapshot

    @staticmethod
    def _read_manifest(path: Path, build_hint: str) -> Manifest:
        if not (path / MANIFEST_NAME).is_file():
            raise SnapshotNotPrepared(f"{path}: {MANIFEST_NAME} is missing; {build_hint}")
        try:
            return Manifest.read(path)
        except (OSError, ValueError) as exc:
            raise SnapshotError(f"{path}: {exc}; {build_hint}") from None

    @staticmethod
    def _check_files_unchanged(path: Path, files: dict[Role, DumpFile], manifest: Manifest) -> None:
        """Refuse files that changed since `build`: the sidecar would no longer describe them."""
        for role, dump_file in files.items():
            record = manifest.file(role.value)
            if record is None or not record.matches(dump_file.path):
                raise SnapshotNotPrepared(
                    f"{path}: {dump_file.path.name} changed since the last build; "
                    f"run `snapshot-api build {path}` again"
                )

    def _check_sidecar_matches(self, manifest: Manifest) -> None:
        try:
            rows = self._connection().execute(
                "SELECT value FROM idx.sidecar_meta WHERE key = 'snapshot_id'"
            )
            built_for = next(iter(rows), (None,))[0]
        except apsw.Error as exc:
            self.close()
            raise SnapshotError(f"{self.directory}: {SIDECAR_NAME} is unreadable: {exc}") from None
        if built_for != manifest.snapshot_id:
            self.close()
            raise SnapshotNotPrepared(
                f"{self.directory}: {SIDECAR_NAME} was built for another snapshot; "
                f"run `snapshot-api build {self.directory}` again"
            )

    def _check_search_matches(self, manifest: Manifest) -> None:
        """An index of another snapshot, or of another format (its terms or keys laid out
        otherwise: it would answer wrongly), is refused like a stale barcode index."""
        if self._search_file is None:
            return
        try:
            meta: dict[str, object] = dict(
                self._connection().execute(
                    f"SELECT key, value FROM {SEARCH_SCHEMA}.search_meta "
                    "WHERE key IN ('snapshot_id', 'format')"
                )
            )
        except apsw.Error as exc:
            self.close()
            raise SnapshotError(f"{self._search_file}: unreadable search index: {exc}") from None
        if meta.get("snapshot_id") != manifest.snapshot_id:
            stale = "was built for another snapshot"
        elif meta.get("format") != SEARCH_FORMAT:
            stale = f"is in format {meta.get('format')}, this version reads {SEARCH_FORMAT}"
        else:
            return
        self.close()
        raise SnapshotNotPrepared(
            f"{self.directory}: {self._search_file.name} {stale}; "
            f"run `snapshot-api build {self.directory}` again"
        )

    def _connection(self) -> apsw.Connection:
        connection: apsw.Connection | None = getattr(self._local, "connection", None)
        if connection is not None:
            return connection
        if self._closed:
            raise SnapshotError("the snapshot is closed")
        connection = apsw.Connection(
            _read_only_uri(self._files[Role.MAIN].path),
            flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI,
            statementcachesize=64,
        )
        try:
            schemas = ["main"]
            if self.has_track_files:
                connection.execute(
                    "ATTACH DATABASE ? AS tf", (_read_only_uri(self._files[Role.TRACK_FILES].path),)
                )
                schemas.append("tf")
            if self.has_audio_features:
                connection.execute(
                    "ATTACH DATABASE ? AS af",
                    (_read_only_uri(self._files[Role.AUDIO_FEATURES].path),),
                )
                schemas.append("af")
            if self._sidecar is not None:
                connection.execute("ATTACH DATABASE ? AS idx", (_read_only_uri(self._sidecar),))
                schemas.append("idx")
            if self._search_file is not None:
                search_query.prepare_connection(connection, self._search_file)
                schemas.append(SEARCH_SCHEMA)
            connection.execute("PRAGMA query_only = 1")
            mmap_bytes, cache_kib = read_sizes(mmap=self.uses_mmap)
            for schema in schemas:
                connection.execute(f"PRAGMA {schema}.mmap_size = {mmap_bytes}")
                connection.execute(f"PRAGMA {schema}.cache_size = -{cache_kib}")
        except apsw.Error:
            connection.close()
            raise
        self._local.connection = connection
        with self._lock:
            self._connections.append(connection)
            if not self.uses_mmap:
                # The files are open now (ATTACH opens them); later reads reuse these descriptors.
                self.advised_descriptors |= readmode.advise_random(self._read_paths)
        return connection

    def _reader_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._closed:
                raise SnapshotError("the snapshot is closed")
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    READ_THREADS, thread_name_prefix="snapshot-read", initializer=_mark_pool_thread
                )
            return self._pool

    @property
    def overlaps_reads(self) -> bool:
        """Whether lookups should be run off the caller's thread to overlap disk reads:
        true in `pread` mode, where the data is presumed larger than memory and cold."""
        return not self.uses_mmap

    def run_in_pool(self) -> ThreadPoolExecutor:
        """The snapshot's reader threads, for callers (the server) that overlap single
        lookups in `pread` mode; a lookup run there is never split again."""
        return self._reader_pool()

    # --- identity ------------------------------------------------------------------

    @property
    def manifest(self) -> Manifest:
        if self._manifest is None:
            raise SnapshotError(f"{self.directory}: opened without a manifest (not built)")
        return self._manifest

    @property
    def snapshot_id(self) -> str:
        return self.manifest.snapshot_id

    # --- lookups: JSON text for the server -----------------------------------------

    def lookup_json(self, kind: Kind, canonical_keys: Sequence[str]) -> dict[str, bytes]:
        """JSON per canonical key (from `identifiers.parse`): ISRC/UPC arrays for every
        key (b"[]" when none), track/album/artist objects for found keys only. Text
        that is not valid UTF-8 in the dump holds U+FFFD in its place.

        A fixed number of statements whatever the number of keys.
        """
        if kind is Kind.UPC and self._sidecar is None:
            raise SnapshotError(
                f"{self.directory}: barcode lookups need {SIDECAR_NAME} (run build)"
            )
        keys = list(canonical_keys)
        merged: dict[str, bytes] = {}
        for part in self._in_parts(keys, partial(self._lookup_here, kind), KEYS_PER_PART):
            merged.update(part)
        return merged

    def _lookup_here(self, kind: Kind, keys: Sequence[str]) -> dict[str, bytes]:
        return documents.lookup(self._connection(), self._queries, kind, keys)

    def _in_parts(
        self, items: Sequence[T], work: Callable[[Sequence[T]], R], smallest: int
    ) -> list[R]:
        """`work(items)` on this thread, or in `pread` mode (the data presumed cold) over
        contiguous parts of at least `smallest` items on the reader threads, so that their
        disk reads wait at once; the results in the parts' order.

        Contiguous parts keep each thread's statements as large as possible (a fixed
        number of statements per part). Work already on a reader thread is not split
        again: no thread waits on the pool it runs in.
        """
        if self.uses_mmap or len(items) < 2 * smallest or getattr(_pool_thread, "active", False):
            return [work(items)]
        size = -(-len(items) // min(READ_THREADS, len(items) // smallest))
        pool = self._reader_pool()
        futures = [
            pool.submit(work, items[start : start + size]) for start in range(0, len(items), size)
        ]
        return [future.result() for future in futures]

    def _page_documents(self, kind: SearchKind, rowids: Sequence[int]) -> dict[int, bytes]:
        """The documents of a search or match page by dump rowid, read in parts."""

        def read(part: Sequence[int]) -> dict[int, bytes]:
            return self._searcher.documents(self._connection(), kind, part)

        merged: dict[int, bytes] = {}
        for part in self._in_parts(rowids, read, DOCUMENTS_PER_PART):
            merged.update(part)
        return merged

    def album_tracks_json(self, canonical_album_id: str) -> bytes | None:
        """The album's track documents as a JSON array; None when no such album."""
        return documents.album_tracks(self._connection(), self._queries, canonical_album_id)

    def album_tracks_json_many(self, canonical_album_ids: Sequence[str]) -> dict[str, bytes]:
        """{album id: its tracks as a JSON array} for the albums found, in one statement."""
        return documents.album_tracks_many(self._connection(), self._queries, canonical_album_ids)

    # --- lookups: documents for the library (CONTRACT §4) ------------------------------

    def _documents(self, kind: Kind, values: Iterable[str]) -> dict[str, Any]:
        canonical = parse_all(kind, list(values))
        texts = self.lookup_json(kind, list(canonical.values()))
        parsed = {key: orjson.loads(text) for key, text in texts.items()}
        return {value: parsed[key] for value, key in canonical.items() if key in parsed}

    def lookup_isrcs(self, values: Iterable[str]) -> dict[str, list[Document]]:
        """{isrc as given: [track, ...] most popular first}; [] for unknown ISRCs."""
        return self._documents(Kind.ISRC, values)

    def lookup_upcs(self, values: Iterable[str]) -> dict[str, list[Document]]:
        """{barcode as given: [album, ...] most popular first}; [] for unknown barcodes."""
        return self._documents(Kind.UPC, values)

    def tracks(self, values: Iterable[str]) -> dict[str, Document]:
        """{id, URI or URL as given: track}; unknown ids are absent."""
        return self._documents(Kind.TRACK, values)

    def albums(self, values: Iterable[str]) -> dict[str, Document]:
        return self._documents(Kind.ALBUM, values)

    def artists(self, values: Iterable[str]) -> dict[str, Document]:
        return self._documents(Kind.ARTIST, values)

    def album_tracks(self, album_id: str) -> list[Document]:
        """The album's tracks by disc and track number; `NotFound` for an unknown album."""
        text = self.album_tracks_json(parse(Kind.ALBUM, album_id))
        if text is None:
            raise NotFound(f"no album {album_id!r} in this snapshot")
        result: list[Document] = orjson.loads(text)
        return result

    # --- audio features, artist albums, markets ------------------------------------------

    def audio_features(self, values: Iterable[str]) -> dict[str, Document]:
        """{track id, URI or URL as given: audio features}; tracks without any are absent
        (no row, a null-response row, or no audio features database at all)."""
        return self._documents(Kind.AUDIO_FEATURES, values)

    def artist_albums_json(
        self, canonical_artist_id: str, page: Page
    ) -> tuple[int, list[bytes]] | None:
        """(total, the page's album documents), newest release first; None: no such artist."""
        if not self._has_artist_albums():
            raise SnapshotNotPrepared(
                f"{self.directory}: artist albums need a {SIDECAR_NAME} built by this version; "
                f"run `snapshot-api build {self.directory}` again"
            )
        return documents.artist_albums(
            self._connection(), self._queries, canonical_artist_id, page.limit, page.offset
        )

    def _has_artist_albums(self) -> bool:
        """Whether the sidecar has `artist_album_order` (older builds lack it); schema only."""
        known: bool | None = getattr(self, "_artist_albums_known", None)
        if known is None:
            known = self._sidecar is not None and bool(
                self._connection()
                .execute("SELECT count(*) FROM idx.sqlite_master WHERE name = 'artist_album_order'")
                .get
            )
            self._artist_albums_known = known
        return known

    def artist_albums(
        self, artist_id: str, *, limit: object = DEFAULT_LIMIT, offset: object = 0
    ) -> Document:
        """A page of the artist's own albums (not appears-on), newest release first:
        {"items": [album, ...], "total": N, "limit": L, "offset": O}. `limit` 1 to 50
        (`InvalidParameter` otherwise); `NotFound` for an unknown artist."""
        page = Page.of(limit, offset)
        found = self.artist_albums_json(parse(Kind.ARTIST, artist_id), page)
        if found is None:
            raise NotFound(f"no artist {artist_id!r} in this snapshot")
        total, items = found
        return {
            "items": [orjson.loads(item) for item in items],
            "total": total,
            "limit": page.limit,
            "offset": page.offset,
        }

    def track_markets(self, canonical_ids: Sequence[str]) -> dict[str, tuple[str | None, ...]]:
        """{track id: (its markets, its album's markets)} as comma-separated codes (or None)."""
        return documents.markets(self._connection(), self._queries.track_markets, canonical_ids)

    def album_markets(self, canonical_ids: Sequence[str]) -> dict[str, tuple[str | None, ...]]:
        """{album id: (its markets,)} as comma-separated codes (or None)."""
        return documents.markets(self._connection(), self._queries.album_markets, canonical_ids)

    # --- search (snapshot_api.search) --------------------------------------------------

    @property
    def has_search(self) -> bool:
        return self._search_file is not None

    def search_json(
        self,
        kind: SearchKind | str,
        q: object,
        *,
        artist: object = None,
        album: object = None,
        limit: object = None,
        offset: object = None,
    ) -> bytes:
        """The JSON array the search routes answer; raises InvalidParameter, SearchUnavailable."""
        wanted = search_query.request(
            SearchKind(kind), q, artist=artist, album=album, limit=limit, offset=offset
        )
        self._require_search()
        rowids = self._searcher.rowids(self._connection(), wanted)
        texts = self._page_documents(wanted.kind, rowids)
        return b"[" + b",".join(texts[r] for r in rowids if r in texts) + b"]"

    def _require_search(self) -> None:
        if self._search_file is None:
            raise SearchUnavailable(
                f"{self.directory} has no search index (built with --no-search, or the file "
                f"was removed); run `snapshot-api build {self.directory}` without --no-search"
            )

    def search_probe(self, kind: SearchKind) -> tuple[str, str] | None:
        """(word, id) that a search must answer first, for verify; None without an index."""
        if self._search_file is None:
            return None
        return search_query.probe(self._connection(), kind)

    def search_tracks_json(self, q: object, **options: Any) -> bytes:
        return self.search_json(SearchKind.TRACK, q, **options)

    def search_albums_json(self, q: object, **options: Any) -> bytes:
        return self.search_json(SearchKind.ALBUM, q, **options)

    def search_artists_json(self, q: object, **options: Any) -> bytes:
        return self.search_json(SearchKind.ARTIST, q, **options)

    def search_tracks(
        self,
        q: str | None = None,
        *,
        artist: str | None = None,
        album: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> list[Document]:
        """Tracks whose title holds every word of `q` (and of artist/album), most popular first."""
        return orjson.loads(  # type: ignore[no-any-return]
            self.search_json(
                SearchKind.TRACK, q, artist=artist, album=album, limit=limit, offset=offset
            )
        )

    def search_albums(
        self,
        q: str | None = None,
        *,
        artist: str | None = None,
        album: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> list[Document]:
        """Albums whose name holds every word of `q` (and artist words), most popular first."""
        return orjson.loads(  # type: ignore[no-any-return]
            self.search_json(
                SearchKind.ALBUM, q, artist=artist, album=album, limit=limit, offset=offset
            )
        )

    def search_artists(
        self,
        q: str | None = None,
        *,
        artist: str | None = None,
        album: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> list[Document]:
        """Artists whose name holds every word of `q`, most followers first."""
        return orjson.loads(  # type: ignore[no-any-return]
            self.search_json(
                SearchKind.ARTIST, q, artist=artist, album=album, limit=limit, offset=offset
            )
        )

    # --- match (snapshot_api.match) ------------------------------------------------------

    def _matched_json(self, requests: Sequence[match_params.MatchRequest]) -> list[bytes]:
        """One JSON array of scored candidates per request, in order; many requests are
        run in parts on the reader threads in `pread` mode."""
        self._require_search()
        return [
            answer for part in self._in_parts(requests, self._matched_here, 1) for answer in part
        ]

    def _matched_here(self, requests: Sequence[match_params.MatchRequest]) -> list[bytes]:
        """The requests' answers; the documents of all their candidates are read at once."""
        connection = self._connection()
        results: list[list[Scored]] = [self._matcher.run(connection, r) for r in requests]
        rowids = list(dict.fromkeys(s.row.rowid for found in results for s in found))
        texts = self._page_documents(SearchKind.TRACK, rowids)
        answers = []
        for found in results:
            items = [
                orjson.dumps({"score": s.score, "components": s.components})[:-1]
                + b',"track":'
                + texts[s.row.rowid]
                + b"}"
                for s in found
                if s.row.rowid in texts
            ]
            answers.append(b"[" + b",".join(items) + b"]")
        return answers

    def match_track_json(
        self,
        title: object,
        artist: object,
        album: object = None,
        duration_ms: object = None,
        limit: object = None,
    ) -> bytes:
        """The JSON array `GET /match/track` answers; raises InvalidParameter, SearchUnavailable."""
        wanted = match_params.request(title, artist, album, duration_ms, limit)
        return self._matched_json([wanted])[0]

    def match_track(
        self,
        title: str,
        artist: str,
        album: str | None = None,
        duration_ms: int | None = None,
        limit: int = match_params.DEFAULT_LIMIT,
    ) -> list[Document]:
        """Candidates for one recording, best first: `[{"score", "components", "track"}]`.

        `score` is in [0, 1] (how it is computed: `snapshot_api.match.score`);
        `components` holds the similarity of each part compared (`title`,
        `artist`, and `duration`, `album` when given); `track` is the track
        document. `limit` 1-20 (larger is read as 20). Candidates below 0.3
        are left out, so nothing close gives `[]`.
        """
        return orjson.loads(  # type: ignore[no-any-return]
            self.match_track_json(title, artist, album, duration_ms, limit)
        )

    def match_tracks(
        self, items: Iterable[Any], limit: int = match_params.DEFAULT_LIMIT
    ) -> list[list[Document]]:
        """`match_track` for each `{"title", "artist", "album"?, "duration_ms"?}`, in order.

        Every item is checked before any query runs; a bad one raises
        `InvalidParameter` naming it (`items[3].duration_ms`).
        """
        wanted = [match_params.item(i, item, limit) for i, item in enumerate(items)]
        return [orjson.loads(text) for text in self._matched_json(wanted)]

    # --- health ----------------------------------------------------------------------

    def probe(self) -> None:
        """Raise `SnapshotError` unless the files are still those opened and answer a query.

        Cheap (a few stat calls and b-tree descents), so /ready can call it often.
        With `immutable=1` an unlinked file keeps answering from its open handle,
        hence the comparison of device, inode, size and mtime with those at open.
        """
        for path, opened_as in self._opened_as.items():
            try:
                now = _identity(path)
            except OSError as exc:
                raise SnapshotError(f"{path.name}: {exc.strerror or exc}") from None
            if now != opened_as:
                raise SnapshotError(f"{path.name} was replaced or modified since start-up")
        try:
            connection = self._connection()
            for table in ("tracks", "albums", "artists"):
                connection.execute(f"SELECT max(rowid) FROM {table}").fetchall()
        except apsw.Error as exc:
            raise SnapshotError(f"the snapshot stopped answering: {exc}") from None

    def query_plans(self) -> dict[str, list[str]]:
        """EXPLAIN QUERY PLAN detail lines of every statement the library runs."""
        connection = self._connection()
        plans: dict[str, list[str]] = {}
        statements: dict[str, tuple[str, tuple[Any, ...]]] = dict(
            self._queries.with_sample_parameters()
        )
        if self._search_file is not None:
            statements.update(self._searcher.sample_plans())
            statements.update(self._matcher.reader.sample_plans())
        for name, (sql, bindings) in statements.items():
            if "idx." in sql and self._sidecar is None:
                continue
            rows = connection.execute("EXPLAIN QUERY PLAN " + sql, bindings)
            plans[name] = [str(detail) for _id, _parent, _unused, detail in rows]
        return plans

    # --- lifetime --------------------------------------------------------------------

    def close(self) -> None:
        """Close every thread's connection; the snapshot cannot be used afterwards."""
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        for connection in connections:
            connection.close()
        self._local = threading.local()

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Snapshot({str(self.directory)!r})"
