"""`/lookup/...`: parse the identifier, ask the library for JSON text, answer it unchanged.

Single lookups run on the event loop, measured: each is a fraction of a millisecond, and
handing it to a thread and back cost about 60% more CPU per request. Except in `pread`
mode (`Snapshot.overlaps_reads`: the snapshot is presumed larger than memory, so a
lookup mostly waits on the disk): there each runs on the snapshot's reader threads, so
concurrent requests keep the disk's queue full instead of waiting one at a time on the
loop (measured cold on 10M tracks with 16 clients: see "Cold cache" in BENCHMARKS.md).
They answer through `send_json` rather than Starlette's Request and Response objects: at
thousands of requests per second per worker, the objects' construction was a measurable
share of a request's cost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

from starlette.datastructures import QueryParams
from starlette.types import Receive, Scope, Send

from snapshot_api.config import ServeSettings
from snapshot_api.documents.paging import Page
from snapshot_api.errors import InvalidIdentifier, InvalidParameter
from snapshot_api.identifiers import Kind, parse
from snapshot_api.server import metrics
from snapshot_api.server.errors import ApiError, ErrorCode, api_error_of
from snapshot_api.server.openapi.parts import (
    BASE62_REASON,
    EXAMPLE_ALBUM,
    EXAMPLE_ALBUM_ID,
    EXAMPLE_ALBUM_TRACK,
    EXAMPLE_ARTIST,
    EXAMPLE_ARTIST_ALBUMS,
    EXAMPLE_ARTIST_ID,
    EXAMPLE_AUDIO_FEATURES,
    EXAMPLE_TRACK,
    EXAMPLE_TRACK_ID,
    ISRC_PARAMETER,
    NO_ROUTE,
    PAGE_PARAMETERS,
    UNAVAILABLE,
    UPC_PARAMETER,
    Schema,
    array,
    bad_identifier,
    error_answer,
    error_example,
    id_parameter,
    json_answer,
    ref,
)
from snapshot_api.server.routing import DATA, Endpoint
from snapshot_api.snapshot import Snapshot

P = ParamSpec("P")
T = TypeVar("T")

ALBUM_TRACKS = "album_tracks"
"""The `kind` label of album track listings in the lookup metrics."""


def _key(kind: Kind, value: str, metric_kind: str | None = None) -> str:
    """The canonical key of a path value; 400 naming the value when malformed."""
    try:
        return parse(kind, value, allow_url=False)
    except InvalidIdentifier as exc:
        metrics.count_lookups(metric_kind or kind.value, "invalid")
        raise api_error_of(exc) from None


async def run_read(
    snapshot: Snapshot, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """`call` on the loop, or on the snapshot's reader threads in `pread` mode."""
    if not snapshot.overlaps_reads:
        return call(*args, **kwargs)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(snapshot.run_in_pool(), lambda: call(*args, **kwargs))


def _not_found(kind: str, value: str) -> ApiError:
    return ApiError(ErrorCode.NOT_FOUND, f"no {kind} {value!r} in this snapshot")


async def send_json(send: Send, body: bytes, status: int = 200) -> None:
    """Answer `body` (JSON text) with two ASGI messages and nothing else."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class LookupMany:
    """`/lookup/isrc/{isrc}` and `/lookup/upc/{upc}`: always 200, an array, `[]` when none."""

    def __init__(self, snapshot: Snapshot, kind: Kind) -> None:
        self.snapshot = snapshot
        self.kind = kind
        self.parameter = kind.value
        self.__name__ = f"lookup_{kind.value}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = self.kind
        key = _key(kind, scope["path_params"][self.parameter])
        text = (await run_read(self.snapshot, self.snapshot.lookup_json, kind, (key,)))[key]
        metrics.count_lookups(kind.value, "miss" if text == b"[]" else "hit")
        await send_json(send, text)


class LookupOne:
    """`/lookup/{track,album,artist}/{id}`: the document, or 404."""

    def __init__(self, snapshot: Snapshot, kind: Kind) -> None:
        self.snapshot = snapshot
        self.kind = kind
        self.__name__ = f"lookup_{kind.value}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = self.kind
        value = scope["path_params"]["id"]
        key = _key(kind, value)
        text = (await run_read(self.snapshot, self.snapshot.lookup_json, kind, (key,))).get(key)
        if text is None:
            metrics.count_lookups(kind.value, "miss")
            raise _not_found(kind.value, value)
        metrics.count_lookups(kind.value, "hit")
        await send_json(send, text)


class AlbumTracks:
    """`/lookup/album/{id}/tracks`: the album's tracks, or 404."""

    __name__ = "lookup_album_tracks"

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        value = scope["path_params"]["id"]
        key = _key(Kind.ALBUM, value, ALBUM_TRACKS)
        text = await run_read(self.snapshot, self.snapshot.album_tracks_json, key)
        if text is None:
            metrics.count_lookups(ALBUM_TRACKS, "miss")
            raise _not_found("album", value)
        metrics.count_lookups(ALBUM_TRACKS, "hit")
        await send_json(send, text)


ARTIST_ALBUMS = "artist_albums"
"""The `kind` label of artist album pages in the lookup metrics."""


class AudioFeaturesOne:
    """`/lookup/track/{id}/audio-features`: the track's audio features, or 404 when the
    snapshot has none for it (no row, a null response, or no audio features file)."""

    __name__ = "lookup_audio_features"

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = Kind.AUDIO_FEATURES
        value = scope["path_params"]["id"]
        key = _key(kind, value)
        text = (await run_read(self.snapshot, self.snapshot.lookup_json, kind, (key,))).get(key)
        if text is None:
            metrics.count_lookups(kind.value, "miss")
            raise ApiError(
                ErrorCode.NOT_FOUND, f"no audio features for track {value!r} in this snapshot"
            )
        metrics.count_lookups(kind.value, "hit")
        await send_json(send, text)


def single_values(query: QueryParams, names: Sequence[str]) -> dict[str, str | None]:
    """Each named parameter's one value (None when absent); `ApiError` (400) naming one
    given more than once: which of its values was meant cannot be known, and taking the
    last would let `duration_ms=bad&duration_ms=` pass as if none had been given."""
    for name in names:
        if len(query.getlist(name)) > 1:
            raise ApiError(
                ErrorCode.INVALID_PARAMETER, f"{name} is given more than once", parameter=name
            )
    return {name: query.get(name) for name in names}


def page_of(scope: Scope) -> Page:
    """`limit` and `offset` of the query string; `ApiError` (400) naming a bad one."""
    given = single_values(QueryParams(scope.get("query_string", b"")), ("limit", "offset"))
    try:
        return Page.of(given["limit"], given["offset"])
    except InvalidParameter as exc:
        raise api_error_of(exc) from None


class ArtistAlbums:
    """`/lookup/artist/{id}/albums`: a page of the artist's own albums, or 404."""

    __name__ = "lookup_artist_albums"

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        value = scope["path_params"]["id"]
        key = _key(Kind.ARTIST, value, ARTIST_ALBUMS)
        page = page_of(scope)
        found = await run_read(self.snapshot, self.snapshot.artist_albums_json, key, page)
        if found is None:
            metrics.count_lookups(ARTIST_ALBUMS, "miss")
            raise _not_found("artist", value)
        metrics.count_lookups(ARTIST_ALBUMS, "hit")
        total, items = found
        await send_json(
            send,
            b'{"items":[%s],"total":%d,"limit":%d,"offset":%d}'
            % (b",".join(items), total, page.limit, page.offset),
        )


# --- OpenAPI operations ------------------------------------------------------------------


def _by_id(kind: str, schema: str, example: Any, example_id: str) -> Schema:
    return {
        "operationId": f"lookup{kind.title()}",
        "tags": ["lookup"],
        "summary": f"One {kind} by Spotify id",
        "parameters": [id_parameter(kind, example_id)],
        "responses": {
            "200": json_answer(ref(schema), example, f"The {kind} document."),
            "400": bad_identifier(kind, "abc", BASE62_REASON),
            "404": error_answer(
                f"No {kind} with this id in the snapshot (or no such route).",
                error_example(ErrorCode.NOT_FOUND, f"no {kind} {example_id!r} in this snapshot"),
            ),
            "503": UNAVAILABLE,
        },
    }


def _isrc_operation(settings: ServeSettings) -> Schema:
    return {
        "operationId": "lookupIsrc",
        "tags": ["lookup"],
        "summary": "Tracks with an ISRC",
        "description": "Every track with this ISRC, most popular first; `[]` when none.",
        "parameters": [ISRC_PARAMETER],
        "responses": {
            "200": json_answer(array(ref("Track")), [EXAMPLE_TRACK], "The tracks."),
            "400": bad_identifier(
                "isrc",
                "US-SUB-06",
                "an ISRC has 12 characters without hyphens and spaces, this has 7",
            ),
            "404": NO_ROUTE,
            "503": UNAVAILABLE,
        },
    }


def _upc_operation(settings: ServeSettings) -> Schema:
    return {
        "operationId": "lookupUpc",
        "tags": ["lookup"],
        "summary": "Albums with a barcode (new)",
        "description": "Every album with this UPC/EAN barcode, most popular first; `[]` when none.",
        "parameters": [UPC_PARAMETER],
        "responses": {
            "200": json_answer(array(ref("Album")), [EXAMPLE_ALBUM], "The albums."),
            "400": bad_identifier(
                "upc", "12AB5", "a barcode has only digits (spaces and hyphens are ignored)"
            ),
            "404": NO_ROUTE,
            "503": UNAVAILABLE,
        },
    }


def _album_tracks_operation(settings: ServeSettings) -> Schema:
    return {
        "operationId": "lookupAlbumTracks",
        "tags": ["lookup"],
        "summary": "An album's tracks",
        "description": "The album's tracks by disc, then track number, without `album`.",
        "parameters": [id_parameter("album", EXAMPLE_ALBUM_ID)],
        "responses": {
            "200": json_answer(
                array(ref("AlbumTrack")), [EXAMPLE_ALBUM_TRACK], "The album's tracks."
            ),
            "400": bad_identifier("album", "abc", BASE62_REASON),
            "404": error_answer(
                "No album with this id in the snapshot.",
                error_example(
                    ErrorCode.NOT_FOUND, f"no album {EXAMPLE_ALBUM['id']!r} in this snapshot"
                ),
            ),
            "503": UNAVAILABLE,
        },
    }


def _audio_features_operation(settings: ServeSettings) -> Schema:
    return {
        "operationId": "lookupAudioFeatures",
        "tags": ["lookup"],
        "summary": "A track's audio features (new)",
        "description": "Tempo, key, mode, loudness and the other analysis values of the "
        "track; NULL values are omitted. 404 when the snapshot has none for the track (no "
        "row, a null response, or a snapshot without the audio features file).",
        "parameters": [id_parameter("track", EXAMPLE_TRACK_ID)],
        "responses": {
            "200": json_answer(ref("AudioFeatures"), EXAMPLE_AUDIO_FEATURES, "The features."),
            "400": bad_identifier("track", "abc", BASE62_REASON),
            "404": error_answer(
                "No audio features for this track in the snapshot.",
                error_example(
                    ErrorCode.NOT_FOUND,
                    f"no audio features for track {EXAMPLE_TRACK_ID!r} in this snapshot",
                ),
            ),
            "503": UNAVAILABLE,
        },
    }


def _artist_albums_operation(settings: ServeSettings) -> Schema:
    return {
        "operationId": "lookupArtistAlbums",
        "tags": ["lookup"],
        "summary": "An artist's own albums, newest first (new)",
        "description": "A page of the albums the artist is an album artist of (not those it "
        "appears on), newest release first, with the total.",
        "parameters": [id_parameter("artist", EXAMPLE_ARTIST_ID), *PAGE_PARAMETERS],
        "responses": {
            "200": json_answer(ref("ArtistAlbums"), EXAMPLE_ARTIST_ALBUMS, "One page."),
            "400": error_answer(
                "A malformed artist id, or a bad `limit` or `offset`.",
                error_example(
                    ErrorCode.INVALID_PARAMETER,
                    "limit must be between 1 and 50, not 51",
                    parameter="limit",
                ),
            ),
            "404": error_answer(
                "No artist with this id in the snapshot.",
                error_example(
                    ErrorCode.NOT_FOUND, f"no artist {EXAMPLE_ARTIST_ID!r} in this snapshot"
                ),
            ),
            "503": UNAVAILABLE,
        },
    }


def _one(kind: Kind, schema: str, example: Any, example_id: str) -> Endpoint:
    return Endpoint(
        f"/lookup/{kind.value}/{{id}}",
        "GET",
        DATA,
        lambda context: LookupOne(context.snapshot, kind),
        lambda settings: _by_id(kind.value, schema, example, example_id),
    )


ENDPOINTS: tuple[Endpoint, ...] = (
    # the busiest first: routes are tried in order
    Endpoint(
        "/lookup/isrc/{isrc}",
        "GET",
        DATA,
        lambda context: LookupMany(context.snapshot, Kind.ISRC),
        _isrc_operation,
    ),
    _one(Kind.TRACK, "Track", EXAMPLE_TRACK, EXAMPLE_TRACK_ID),
    Endpoint(
        "/lookup/upc/{upc}",
        "GET",
        DATA,
        lambda context: LookupMany(context.snapshot, Kind.UPC),
        _upc_operation,
    ),
    _one(Kind.ALBUM, "Album", EXAMPLE_ALBUM, EXAMPLE_ALBUM_ID),
    _one(Kind.ARTIST, "Artist", EXAMPLE_ARTIST, EXAMPLE_ARTIST_ID),
    Endpoint(
        "/lookup/album/{id}/tracks",
        "GET",
        DATA,
        lambda context: AlbumTracks(context.snapshot),
        _album_tracks_operation,
    ),
    Endpoint(
        "/lookup/track/{id}/audio-features",
        "GET",
        DATA,
        lambda context: AudioFeaturesOne(context.snapshot),
        _audio_features_operation,
    ),
    Endpoint(
        "/lookup/artist/{id}/albums",
        "GET",
        DATA,
        lambda context: ArtistAlbums(context.snapshot),
        _artist_albums_operation,
    ),
)
