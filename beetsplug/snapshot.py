"""A beets metadata source backed by a local Spotify snapshot: offline, at local speed.

Enable it with ``plugins: snapshot`` and either of::

    snapshot:
      path: /data/spotify          # a prepared snapshot, read in this process (the default)
      url: http://mirror:8080      # or a snapshot-api server, over HTTP

It answers what beets asks of a metadata source (``beets.metadata_plugins``):
albums and tracks by Spotify id, URI or URL; album candidates found by the
files' barcode and ISRC tags (the strongest evidence a file carries) and by a
name search on album and artist (and on the files' titles); singleton
candidates by ISRC, else by matching title, artist and the file's length.

Why it is built this way:
- ``data_source`` is ``Spotify``: the records, ids and ``data_url`` are
  Spotify's, so files tagged earlier by beets' own spotify plugin carry no
  source-mismatch penalty, and anything that routes a stored id by its source
  (``mbsync``, re-imports) finds a plugin that understands it. Like the
  spotify plugin, the ids land in ``mb_albumid`` / ``mb_trackid`` (beets'
  generic id fields, written to the files) and in the ``spotify_album_id``,
  ``spotify_track_id`` and ``spotify_artist_id`` flexible attributes; a later
  ``beet import`` of the same files finds the album by that id first.
- beets calls every source from a fresh thread per lookup, and a ``Snapshot``
  keeps one SQLite connection per thread it is used from, so in-process
  lookups run on the plugin's own ``LOCAL_THREADS`` threads: the connections
  stay bounded for the whole session instead of one more per album.
- Every lookup is one of the library's indexed reads (batch lookups by key, a
  name search that stops after ``search_limit`` hits, one album's tracklist),
  so its cost does not grow with the number of tracks (1M and 10M measured
  alike: 1-2 ms of candidates per album, of beets' 6-10 ms per album).
- Over HTTP, a 429 answer is waited out for its ``Retry-After`` seconds and
  retried, so a shared mirror's rate limit slows an import down, never fails it.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import orjson
from beets.autotag.hooks import AlbumInfo, TrackInfo
from beets.exceptions import UserError
from beets.metadata_plugins import MetadataSourcePlugin

from snapshot_api.errors import (
    InvalidIdentifier,
    InvalidParameter,
    NotFound,
    RemoteError,
    SearchUnavailable,
    SnapshotApiError,
)
from snapshot_api.identifiers import Kind, parse

if TYPE_CHECKING:
    import httpx
    from beets.library import Item

    from snapshot_api.snapshot import Snapshot

Document = dict[str, Any]
T = TypeVar("T")

DATA_SOURCE = "Spotify"
OPEN_URL = "https://open.spotify.com"
VARIOUS_ARTISTS = "various artists"
LOCAL_THREADS = 2
"""Threads (so SQLite connections) in-process lookups run on; beets asks one source at a time."""
BATCH_ITEMS = 50
"""Keys per `POST /batch/lookup`: a server charges one token per started 50 items."""
RATE_LIMIT_RETRIES = 5
"""429 answers waited out per request before the lookup is reported as failed."""
MAX_RETRY_AFTER = 60
"""Longest wait honoured from one `Retry-After` header, in seconds."""
HTTP_TIMEOUT = 30.0
TITLE_SEARCH_ITEMS = 12
"""Files of an album without a usable album tag whose titles are searched (spread over
the album): each is one indexed search, and a dozen agree on the album when it is there."""


# --- where the documents come from: the library in-process, or a server ----------------


class Source(Protocol):
    """The lookups the plugin needs, keyed by canonical ids; both sources answer the same
    documents (the library's and the HTTP API's are one format)."""

    def albums(self, ids: Sequence[str]) -> dict[str, Document]: ...
    def tracks(self, ids: Sequence[str]) -> dict[str, Document]: ...
    def album_tracks(self, album_id: str) -> list[Document] | None: ...
    def lookup_isrcs(self, isrcs: Sequence[str]) -> dict[str, list[Document]]: ...
    def lookup_upcs(self, upcs: Sequence[str]) -> dict[str, list[Document]]: ...
    def search_albums(self, q: str, artist: str | None, limit: int) -> list[Document]: ...
    def search_tracks(self, q: str, artist: str | None, limit: int) -> list[Document]: ...
    def match_track(
        self, title: str, artist: str, album: str | None, duration_ms: int | None, limit: int
    ) -> list[Document]: ...
    def close(self) -> None: ...


class LocalSource:
    """A snapshot directory opened in this process (`snapshot_api.Snapshot`)."""

    def __init__(self, path: str) -> None:
        from snapshot_api.snapshot import Snapshot

        self._snapshot: Snapshot = Snapshot.open(path)
        self._threads = ThreadPoolExecutor(LOCAL_THREADS, thread_name_prefix="beets-snapshot")

    def _run(self, call: Callable[[], T]) -> T:
        return self._threads.submit(call).result()

    def albums(self, ids: Sequence[str]) -> dict[str, Document]:
        return self._run(lambda: self._snapshot.albums(ids))

    def tracks(self, ids: Sequence[str]) -> dict[str, Document]:
        return self._run(lambda: self._snapshot.tracks(ids))

    def album_tracks(self, album_id: str) -> list[Document] | None:
        def call() -> list[Document] | None:
            try:
                return self._snapshot.album_tracks(album_id)
            except NotFound:
                return None

        return self._run(call)

    def lookup_isrcs(self, isrcs: Sequence[str]) -> dict[str, list[Document]]:
        return self._run(lambda: self._snapshot.lookup_isrcs(isrcs))

    def lookup_upcs(self, upcs: Sequence[str]) -> dict[str, list[Document]]:
        return self._run(lambda: self._snapshot.lookup_upcs(upcs))

    def search_albums(self, q: str, artist: str | None, limit: int) -> list[Document]:
        return self._run(lambda: self._snapshot.search_albums(q, artist=artist, limit=limit))

    def search_tracks(self, q: str, artist: str | None, limit: int) -> list[Document]:
        return self._run(lambda: self._snapshot.search_tracks(q, artist=artist, limit=limit))

    def match_track(
        self, title: str, artist: str, album: str | None, duration_ms: int | None, limit: int
    ) -> list[Document]:
        return self._run(
            lambda: self._snapshot.match_track(
                title=title, artist=artist, album=album, duration_ms=duration_ms, limit=limit
            )
        )

    def close(self) -> None:
        self._threads.shutdown(wait=True)
        self._snapshot.close()


class HttpSource:
    """A snapshot-api server: the same documents from its lookup, batch and search routes."""

    def __init__(self, url: str, *, sleep: Callable[[float], None] = time.sleep) -> None:
        import httpx

        self._http = httpx.Client(base_url=url.rstrip("/"), timeout=HTTP_TIMEOUT)
        self._sleep = sleep
        self.waited_seconds = 0.0
        """Total time spent waiting out 429 answers (for logs and tests)."""

    def _request(self, method: str, path: str, **options: Any) -> httpx.Response:
        import httpx

        for _ in range(RATE_LIMIT_RETRIES + 1):
            try:
                answer = self._http.request(method, path, **options)
            except httpx.HTTPError as exc:
                raise RemoteError(f"{self._http.base_url}{path}: {exc}") from None
            if answer.status_code != 429:
                return answer
            wait = _retry_after(answer.headers.get("Retry-After"))
            self.waited_seconds += wait
            self._sleep(wait)
        raise RemoteError(
            f"{self._http.base_url}{path}: still rate limited after {RATE_LIMIT_RETRIES} waits"
        )

    def _json(self, method: str, path: str, *, missing_ok: bool = False, **options: Any) -> Any:
        answer = self._request(method, path, **options)
        if answer.status_code == 404 and missing_ok:
            return None
        if answer.status_code != 200:
            raise _server_error(path, answer)
        return orjson.loads(answer.content)

    def _batch(self, section: str, keys: Sequence[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), BATCH_ITEMS):
            body = orjson.dumps({section: unique[start : start + BATCH_ITEMS]})
            answer = self._json(
                "POST",
                "/batch/lookup",
                content=body,
                headers={"Content-Type": "application/json"},
            )
            found.update(answer.get(section, {}))
        return found

    def albums(self, ids: Sequence[str]) -> dict[str, Document]:
        return self._batch(Kind.ALBUM.batch_key, ids)

    def tracks(self, ids: Sequence[str]) -> dict[str, Document]:
        return self._batch(Kind.TRACK.batch_key, ids)

    def album_tracks(self, album_id: str) -> list[Document] | None:
        result: list[Document] | None = self._json(
            "GET", f"/lookup/album/{album_id}/tracks", missing_ok=True
        )
        return result

    def lookup_isrcs(self, isrcs: Sequence[str]) -> dict[str, list[Document]]:
        return self._batch(Kind.ISRC.batch_key, isrcs)

    def lookup_upcs(self, upcs: Sequence[str]) -> dict[str, list[Document]]:
        return self._batch(Kind.UPC.batch_key, upcs)

    def search_albums(self, q: str, artist: str | None, limit: int) -> list[Document]:
        params = {"q": q, "limit": str(limit), **({"artist": artist} if artist else {})}
        result: list[Document] = self._json("GET", "/search/album", params=params)
        return result

    def search_tracks(self, q: str, artist: str | None, limit: int) -> list[Document]:
        params = {"q": q, "limit": str(limit), **({"artist": artist} if artist else {})}
        result: list[Document] = self._json("GET", "/search/track", params=params)
        return result

    def match_track(
        self, title: str, artist: str, album: str | None, duration_ms: int | None, limit: int
    ) -> list[Document]:
        params = {"title": title, "artist": artist, "limit": str(limit)}
        if album:
            params["album"] = album
        if duration_ms is not None:
            params["duration_ms"] = str(duration_ms)
        result: list[Document] = self._json("GET", "/match/track", params=params)
        return result

    def close(self) -> None:
        self._http.close()


def _retry_after(header: str | None) -> float:
    """Seconds to wait for a 429: the server's `Retry-After` (whole seconds), at least 1."""
    try:
        seconds = float(header) if header is not None else 1.0
    except ValueError:
        seconds = 1.0
    return min(max(seconds, 1.0), MAX_RETRY_AFTER)


def _server_error(path: str, answer: httpx.Response) -> SnapshotApiError:
    """The library error a server's JSON error stands for (one meaning, either side)."""
    try:
        error = orjson.loads(answer.content)["error"]
        code, message = str(error["code"]), str(error["message"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        code, message = "", answer.text[:200]
    if code == "search_unavailable":
        return SearchUnavailable(message)
    if code == "invalid_parameter":
        return InvalidParameter("", message)
    return RemoteError(f"{path}: HTTP {answer.status_code}: {message}")


# --- documents → beets' AlbumInfo / TrackInfo -------------------------------------------


def _artists(artists: Sequence[Document]) -> tuple[str, list[str], list[str]]:
    """(joined credit, names, ids): joined with ", " as beets' spotify plugin does."""
    names = [str(a.get("name", "")) for a in artists]
    ids = [str(a["id"]) for a in artists if a.get("id")]
    return ", ".join(names), names, ids


_PRECISION_PARTS = {"year": 1, "month": 2, "day": 3}


def release_date(album: Document) -> tuple[int | None, int | None, int | None]:
    """(year, month, day) as far as `release_date_precision` says they are known."""
    text = album.get("release_date")
    if not isinstance(text, str) or not text:
        return None, None, None
    try:
        numbers = [int(part) for part in text.split("-")]
    except ValueError:
        return None, None, None
    known = _PRECISION_PARTS.get(str(album.get("release_date_precision")), len(numbers))
    parts: list[int | None] = [n or None for n in numbers[:known]]
    parts += [None] * (3 - len(parts))
    return parts[0], parts[1], parts[2]


def track_info(
    track: Document, *, index: int | None = None, medium_total: int | None = None
) -> TrackInfo:
    """A track document as beets' TrackInfo; `index` is its position on the whole release."""
    artist, names, ids = _artists(track.get("artists", []))
    album = track.get("album")
    disc = track.get("disc_number")
    number = track.get("track_number")
    duration = track.get("duration_ms")
    info = TrackInfo(
        title=track.get("name"),
        track_id=track["id"],
        spotify_track_id=track["id"],
        artist=artist,
        artists=names,
        artist_id=ids[0] if ids else None,
        artists_ids=ids,
        spotify_artist_id=ids[0] if ids else None,
        length=duration / 1000 if isinstance(duration, int) else None,
        index=index if index is not None else number,
        medium=disc,
        medium_index=number,
        medium_total=medium_total,
        isrc=track.get("isrc"),
        data_source=DATA_SOURCE,
        data_url=f"{OPEN_URL}/track/{track['id']}",
    )
    if isinstance(album, dict):
        info.album = album.get("name")
        info.spotify_album_id = album.get("id")
    return info


def album_info(album: Document, tracks: Sequence[Document]) -> AlbumInfo:
    """An album document and its tracklist (by disc, then track number) as AlbumInfo."""
    per_disc: dict[int | None, int] = {}
    for track in tracks:
        disc = track.get("disc_number")
        per_disc[disc] = per_disc.get(disc, 0) + 1
    infos = [
        track_info(track, index=position, medium_total=per_disc[track.get("disc_number")])
        for position, track in enumerate(tracks, start=1)
    ]
    artist, names, ids = _artists(album.get("artists", []))
    year, month, day = release_date(album)
    discs = [disc for disc in per_disc if isinstance(disc, int)]
    album_type = album.get("type")
    return AlbumInfo(
        tracks=infos,
        album=album.get("name"),
        album_id=album["id"],
        spotify_album_id=album["id"],
        artist=artist,
        artists=names,
        artist_id=ids[0] if ids else None,
        artists_ids=ids,
        spotify_artist_id=ids[0] if ids else None,
        albumtype=album_type,
        albumtypes=[album_type] if album_type else None,
        va=len(names) == 1 and artist.lower() == VARIOUS_ARTISTS,
        year=year,
        month=month,
        day=day,
        label=album.get("label"),
        barcode=album.get("upc"),
        mediums=max(discs) if discs else None,
        data_source=DATA_SOURCE,
        data_url=f"{OPEN_URL}/album/{album['id']}",
    )


# --- search words ---------------------------------------------------------------------

_BRACKETED = re.compile(r"\s*[\(\[][^\)\]]*[\)\]]")
_FEATURING = re.compile(r"\s+(?:feat\.?|ft\.|featuring)\s.*$", re.IGNORECASE)
_QUERY_SYNTAX = re.compile(r"\*")


def search_text(text: str | None) -> str:
    """Tag text as search words: no prefix marks, no `(Deluxe)`-style or `feat.` tails
    (which the snapshot's names lack, and every search word must match)."""
    if not text:
        return ""
    plain = _QUERY_SYNTAX.sub(" ", text)
    trimmed = _FEATURING.sub("", _BRACKETED.sub("", plain)).strip()
    return trimmed or plain.strip()


def _canonical(kind: Kind, value: object) -> str | None:
    """The canonical key for a tag value or a pasted id, None when it is not one."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return parse(kind, value)
    except InvalidIdentifier:
        return None


# --- the plugin -------------------------------------------------------------------------


class SnapshotPlugin(MetadataSourcePlugin):
    """beets metadata source: Spotify albums and tracks from a local snapshot."""

    data_source = DATA_SOURCE

    def __init__(self) -> None:
        super().__init__()
        self.config.add({"path": None, "url": None})
        self._source: Source | None = None
        self._lock = threading.Lock()
        self._search_unavailable_said = False
        self.register_listener("pluginload", self._check_config)
        self.register_listener("import_begin", self._open_on_import)

    # --- configuration and lifetime ---

    def _where(self) -> tuple[str | None, str | None]:
        path, url = self.config["path"].get(), self.config["url"].get()
        return (str(path) if path else None, str(url) if url else None)

    def _check_config(self) -> None:
        path, url = self._where()
        if path and url:
            raise UserError("snapshot: set either `path` or `url`, not both")
        if not path and not url:
            raise UserError(
                "snapshot: set `path` (a prepared snapshot directory) "
                "or `url` (a snapshot-api server) in the snapshot: section"
            )

    def _open_on_import(self, session: object = None) -> None:
        """Open the snapshot when an import starts, so a bad path fails it at once."""
        self.source()

    def source(self) -> Source:
        """The configured source, opened on first use (beets loads plugins for every command)."""
        with self._lock:
            if self._source is None:
                self._check_config()
                path, url = self._where()
                try:
                    self._source = HttpSource(url) if url else LocalSource(str(path))
                except SnapshotApiError as exc:
                    raise UserError(f"snapshot: {exc}") from None
            return self._source

    def close(self) -> None:
        with self._lock:
            source, self._source = self._source, None
        if source is not None:
            source.close()

    @property
    def search_limit(self) -> int:
        return int(self.config["search_limit"].get(int))

    # --- by id ---

    def album_for_id(self, album_id: str) -> AlbumInfo | None:
        """The album for a Spotify id, URI or URL; None for anything else or unknown ids."""
        return next(iter(self.albums_for_ids([album_id])), None)

    def track_for_id(self, track_id: str) -> TrackInfo | None:
        """The track for a Spotify id, URI or URL, numbered by its place on its album."""
        return next(iter(self.tracks_for_ids([track_id])), None)

    def albums_for_ids(self, ids: Iterable[str]) -> Iterator[AlbumInfo | None]:
        """One AlbumInfo or None per id, in order: one batch lookup, then each tracklist.

        beets asks every source with every id (MusicBrainz ids included), so a
        value that is not a Spotify album id is simply not ours: None.
        """
        wanted = list(ids)
        keys = [_canonical(Kind.ALBUM, value) for value in wanted]
        found = self._albums([key for key in keys if key])
        for key in keys:
            yield found.get(key) if key else None

    def tracks_for_ids(self, ids: Iterable[str]) -> Iterator[TrackInfo | None]:
        """One TrackInfo or None per id, in order."""
        wanted = list(ids)
        keys = [_canonical(Kind.TRACK, value) for value in wanted]
        known = [key for key in keys if key]
        documents = self.source().tracks(known) if known else {}
        infos = self._numbered_tracks(list(documents.values()))
        for key in keys:
            yield infos.get(key) if key else None

    # --- search ---

    def candidates(
        self, items: Sequence[Item], artist: str, album: str, va_likely: bool
    ) -> Iterable[AlbumInfo]:
        """Albums the items may be: found by their barcodes and ISRCs first (a file's
        strongest evidence), then by album name and artist (no artist for VA), and when
        the album tag is missing, finds nothing or finds a full page of albums, by the
        files' titles and artists."""
        ordered = dict.fromkeys(self._albums_by_evidence(items))
        named = self._albums_by_name(album, None if va_likely else artist)
        ordered.update(dict.fromkeys(named))
        if len(named) >= self.search_limit or not named:
            # no album found by name, or a full page of them (a common name: the right
            # one may be past the page): the titles say which album holds these files
            ordered.update(dict.fromkeys(self._albums_by_titles(items)))
        return list(self._albums(list(ordered)).values())

    def item_candidates(self, item: Item, artist: str, title: str) -> Iterable[TrackInfo]:
        """Tracks one file may be: by its ISRC when the snapshot knows it, else by title and
        artist matched with the file's own length (the snapshot's `match_track`)."""
        isrc = _canonical(Kind.ISRC, item.get("isrc"))
        if isrc:
            tracks = self.source().lookup_isrcs([isrc]).get(isrc, [])
            if tracks:
                return list(self._numbered_tracks(tracks[: self.search_limit]).values())
        if not (title and artist):
            return []
        length = item.get("length")
        duration_ms = round(length * 1000) if isinstance(length, float) and length > 0 else None
        try:
            matches = self.source().match_track(
                title, artist, item.get("album") or None, duration_ms, self.search_limit
            )
        except SearchUnavailable as exc:
            self._no_search(exc)
            return []
        except InvalidParameter as exc:  # e.g. tags with no searchable word
            self._log.debug("no match for {!r} by {!r}: {}", title, artist, exc)
            return []
        return list(self._numbered_tracks([m["track"] for m in matches]).values())

    def _albums_by_evidence(self, items: Sequence[Item]) -> list[str]:
        """Album ids the items' barcodes name, then those their ISRCs' tracks are on,
        the albums holding most of the items first (at most `search_limit` of them)."""
        source = self.source()
        votes: dict[str, int] = {}
        barcodes = {_canonical(Kind.UPC, item.get("barcode")) for item in items} - {None}
        if barcodes:
            for albums in source.lookup_upcs(sorted(k for k in barcodes if k)).values():
                for album in albums:
                    votes[album["id"]] = votes.get(album["id"], 0) + len(items)
        isrcs = [key for key in (_canonical(Kind.ISRC, item.get("isrc")) for item in items) if key]
        if isrcs:
            for tracks in source.lookup_isrcs(isrcs).values():
                for album_id in {t["album"]["id"] for t in tracks if t.get("album")}:
                    votes[album_id] = votes.get(album_id, 0) + 1
        ranked = sorted(votes, key=lambda album_id: -votes[album_id])
        return ranked[: self.search_limit]

    def _albums_by_name(self, album: str, artist: str | None) -> list[str]:
        q = search_text(album)
        if not q:
            return []
        return [found["id"] for found in self._search("album", q, search_text(artist) or None)]

    def _albums_by_titles(self, items: Sequence[Item]) -> list[str]:
        """Albums holding tracks named like the files (title and the file's own artist),
        those holding most of the searched files first."""
        step = max(1, -(-len(items) // TITLE_SEARCH_ITEMS))
        votes: dict[str, int] = {}
        for item in list(items)[::step]:
            title = search_text(item.get("title"))
            if not title:
                continue
            who = search_text(item.get("artist") or item.get("albumartist")) or None
            albums = {t["album"]["id"] for t in self._search("track", title, who) if t.get("album")}
            for album_id in albums:
                votes[album_id] = votes.get(album_id, 0) + 1
        ranked = sorted(votes, key=lambda album_id: -votes[album_id])
        return ranked[: self.search_limit]

    def _search(self, kind: str, q: str, artist: str | None) -> list[Document]:
        """A name search; [] when the words cannot be searched or the snapshot has no
        search index (said once: barcodes and ISRCs still work)."""
        source = self.source()
        search = source.search_albums if kind == "album" else source.search_tracks
        try:
            return search(q, artist, self.search_limit)
        except SearchUnavailable as exc:
            self._no_search(exc)
            return []
        except InvalidParameter as exc:  # e.g. tags with no searchable word
            self._log.debug("{} search for {!r} skipped: {}", kind, q, exc)
            return []

    def _no_search(self, exc: SearchUnavailable) -> None:
        if not self._search_unavailable_said:
            self._search_unavailable_said = True
            self._log.warning("no name search, only ids, barcodes and ISRCs: {}", exc)

    # --- assembling infos ---

    def _albums(self, keys: Sequence[str]) -> dict[str, AlbumInfo]:
        """{canonical id: AlbumInfo} for the known ones, with their tracklists."""
        if not keys:
            return {}
        source = self.source()
        infos: dict[str, AlbumInfo] = {}
        for key, album in source.albums(keys).items():
            tracks = source.album_tracks(album["id"])
            if tracks is not None:
                infos[key] = album_info(album, tracks)
        return infos

    def _numbered_tracks(self, tracks: Sequence[Document]) -> dict[str, TrackInfo]:
        """{track id: TrackInfo}, each numbered by its place on its album's tracklist
        (what beets writes as the track number) with its disc's track count."""
        source = self.source()
        infos: dict[str, TrackInfo] = {}
        tracklists: dict[str, list[Document] | None] = {}
        for track in tracks:
            album_id = (track.get("album") or {}).get("id")
            index = medium_total = None
            if album_id:
                if album_id not in tracklists:
                    tracklists[album_id] = source.album_tracks(album_id)
                tracklist = tracklists[album_id] or []
                disc = track.get("disc_number")
                positions = [t["id"] for t in tracklist]
                if track["id"] in positions:
                    index = positions.index(track["id"]) + 1
                medium_total = sum(1 for t in tracklist if t.get("disc_number") == disc) or None
            infos[track["id"]] = track_info(track, index=index, medium_total=medium_total)
        return infos
