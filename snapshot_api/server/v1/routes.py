"""The `/v1` routes: Spotify's paths and parameters, answered from the library's documents.

Each answer is a fixed number of statements whatever the number of ids: the
documents (`Snapshot.lookup_json`, one statement for every id of a `?ids=`
list), the markets of the same ids (one more), and for albums their track
listings (one more). Reshaping is in `objects`. Like the lookups, answers run
on the event loop, or on the snapshot's reader threads in `pread` mode.

Spotify's rules kept here: `?ids=` lists answer in the order asked, `null` in
the place of an unknown id, duplicates answered at each place; at most 50 ids
(20 for albums, 100 for audio features); `limit`/`offset` as Spotify bounds
them. A `?ids=` list costs like a batch of that many distinct items (the rate
limiter's batch rule). `market`, `include_groups`, `country` and `locale` are
accepted and not applied (the dump has one catalogue, and an artist's albums
are its own albums).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.datastructures import QueryParams
from starlette.types import Receive, Scope, Send

from snapshot_api.documents.paging import Page
from snapshot_api.errors import InvalidIdentifier, InvalidParameter
from snapshot_api.identifiers import ASCII_WHITESPACE, Kind, parse_many
from snapshot_api.search import params as search_params
from snapshot_api.server import metrics
from snapshot_api.server.errors import ApiError, ErrorCode, api_error_of
from snapshot_api.server.ratelimit import charge_batch_items
from snapshot_api.server.routes.lookup import run_read, send_json
from snapshot_api.server.routing import DATA_PER_HOST, UNCACHED, AppContext, Endpoint
from snapshot_api.server.v1 import objects
from snapshot_api.server.v1 import schemas as described
from snapshot_api.server.v1.links import Links
from snapshot_api.server.v1.search import Query, Searcher, types_of
from snapshot_api.snapshot import Snapshot

MAX_IDS = {Kind.TRACK: 50, Kind.ALBUM: 20, Kind.ARTIST: 50, Kind.AUDIO_FEATURES: 100}
"""How many ids one `?ids=` list may hold, per kind (Spotify's limits)."""
TOKEN_SECONDS = 3600

Document = dict[str, Any]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


class _App:
    """A handler as an ASGI app: Starlette calls a plain function with a Request instead."""

    def __init__(self, handler: Asgi) -> None:
        self.handler = handler
        self.__name__ = handler.__name__

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.handler(scope, receive, send)


def _query(scope: Scope) -> QueryParams:
    return QueryParams(scope.get("query_string", b""))


def _invalid(parameter: str, message: str) -> ApiError:
    return ApiError(ErrorCode.INVALID_PARAMETER, message, parameter=parameter)


def _one_id(kind: Kind, value: str, label: str) -> str:
    """The canonical id of a path value (an id or a `spotify:KIND:ID` URI); 400 otherwise."""
    accepted, rejected = parse_many(kind, [value], allow_url=False)
    if rejected:
        metrics.count_lookups(label, "invalid")
        raise api_error_of(InvalidIdentifier(rejected))
    return accepted[value]


def _ids(scope: Scope, kind: Kind) -> list[str]:
    """The canonical ids of `?ids=` in the order given (duplicates kept); 400 when the list
    is missing, empty, too long or holds a malformed id (named)."""
    raw = _query(scope).get("ids")
    values = (raw or "").split(",")  # each value's own whitespace is for `parse` to judge
    if not raw or not any(value.strip() for value in values):
        raise _invalid("ids", "ids is required: a comma-separated list of Spotify ids")
    limit = MAX_IDS[kind]
    if len(values) > limit:
        raise _invalid("ids", f"too many ids requested: at most {limit}, not {len(values)}")
    accepted, rejected = parse_many(kind, values, allow_url=False)
    if rejected:
        raise api_error_of(InvalidIdentifier(rejected))
    return [accepted[value] for value in values]


def _page(scope: Scope, *, maximum: int = 50) -> Page:
    query = _query(scope)
    try:
        return Page.of(query.get("limit"), query.get("offset"), maximum=maximum)
    except InvalidParameter as exc:
        raise api_error_of(exc) from None


def _json(value: Any) -> bytes:
    return orjson.dumps(value)


# --- answers (run on the loop or the reader threads) ------------------------------------


def _tracks(snapshot: Snapshot, keys: list[str], base: str) -> dict[str, Document]:
    texts = snapshot.lookup_json(Kind.TRACK, keys)
    markets = snapshot.track_markets(list(texts))
    return {
        key: objects.track(orjson.loads(text), markets.get(key, ()), base)
        for key, text in texts.items()
    }


def _albums(snapshot: Snapshot, keys: list[str], base: str) -> dict[str, Document]:
    texts = snapshot.lookup_json(Kind.ALBUM, keys)
    markets = snapshot.album_markets(list(texts))
    listings = {
        key: orjson.loads(text)
        for key, text in snapshot.album_tracks_json_many(list(texts)).items()
    }
    embedded = [
        t["id"] for tracks in listings.values() for t in tracks[: objects.ALBUM_TRACKS_PAGE]
    ]
    track_markets = snapshot.track_markets(embedded)
    return {
        key: objects.album(
            orjson.loads(text),
            markets.get(key, (None,))[0],
            listings.get(key, []),
            track_markets,
            base,
        )
        for key, text in texts.items()
    }


def _artists(snapshot: Snapshot, keys: list[str], base: str) -> dict[str, Document]:
    texts = snapshot.lookup_json(Kind.ARTIST, keys)
    return {key: objects.artist(orjson.loads(text), base) for key, text in texts.items()}


def _audio_features(snapshot: Snapshot, keys: list[str], base: str) -> dict[str, Document]:
    texts = snapshot.lookup_json(Kind.AUDIO_FEATURES, keys)
    return {key: objects.audio_features(orjson.loads(text), base) for key, text in texts.items()}


Answer = Callable[[Snapshot, list[str], str], dict[str, Document]]

KINDS: dict[Kind, tuple[str, str, Answer]] = {
    Kind.TRACK: ("tracks", "track", _tracks),
    Kind.ALBUM: ("albums", "album", _albums),
    Kind.ARTIST: ("artists", "artist", _artists),
    Kind.AUDIO_FEATURES: ("audio_features", "audio features", _audio_features),
}
"""Per kind: the key of its `?ids=` answer, the word for messages, the answer function."""


def _metric(kind: Kind) -> str:
    return f"v1_{kind.value}"


def one(kind: Kind) -> Callable[[AppContext], Asgi]:
    """`/v1/{tracks,albums,artists,audio-features}/{id}`: the object, or 404."""
    _key, word, answer = KINDS[kind]

    def make(context: AppContext) -> Asgi:
        snapshot, links = context.snapshot, Links(context.settings.trusted_proxy)

        async def handler(scope: Scope, receive: Receive, send: Send) -> None:
            value = scope["path_params"]["id"]
            key = _one_id(kind, value, _metric(kind))
            found = await run_read(snapshot, answer, snapshot, [key], links.base(scope))
            if key not in found:
                metrics.count_lookups(_metric(kind), "miss")
                raise ApiError(ErrorCode.NOT_FOUND, f"no {word} {value!r} in this snapshot")
            metrics.count_lookups(_metric(kind), "hit")
            await send_json(send, _json(found[key]))

        handler.__name__ = f"v1_{kind.value}"
        return _App(handler)

    return make


def many(kind: Kind) -> Callable[[AppContext], Asgi]:
    """`/v1/{tracks,albums,artists,audio-features}?ids=`: objects in order, null if unknown."""
    section, _word, answer = KINDS[kind]

    def make(context: AppContext) -> Asgi:
        snapshot, links = context.snapshot, Links(context.settings.trusted_proxy)

        async def handler(scope: Scope, receive: Receive, send: Send) -> None:
            keys = _ids(scope, kind)
            distinct = list(dict.fromkeys(keys))
            await charge_batch_items(scope, len(distinct))
            found = await run_read(snapshot, answer, snapshot, distinct, links.base(scope))
            metrics.count_lookups(_metric(kind), "hit", len(found))
            metrics.count_lookups(_metric(kind), "miss", len(distinct) - len(found))
            await send_json(send, _json({section: [found.get(key) for key in keys]}))

        handler.__name__ = f"v1_{kind.value}_many"
        return _App(handler)

    return make


def _album_tracks_page(snapshot: Snapshot, key: str, page: Page, base: str) -> Document | None:
    listed = snapshot.album_tracks_json(key)
    if listed is None:
        return None
    tracks = orjson.loads(listed)
    items = tracks[page.offset : page.offset + page.limit]
    markets = snapshot.track_markets([t["id"] for t in items])
    return objects.paging(
        f"{base}/albums/{key}/tracks",
        [objects.simplified_track(t, markets.get(t["id"], (None,))[0], base) for t in items],
        offset=page.offset,
        limit=page.limit,
        total=len(tracks),
    )


def _artist_albums_page(snapshot: Snapshot, key: str, page: Page, base: str) -> Document | None:
    found = snapshot.artist_albums_json(key, page)
    if found is None:
        return None
    total, texts = found
    albums = [orjson.loads(text) for text in texts]
    markets = snapshot.album_markets([a["id"] for a in albums])
    return objects.paging(
        f"{base}/artists/{key}/albums",
        [objects.discography_album(a, markets.get(a["id"], (None,))[0], base) for a in albums],
        offset=page.offset,
        limit=page.limit,
        total=total,
    )


def _listing(
    kind: Kind, pager: Callable[[Snapshot, str, Page, str], Document | None], name: str
) -> Callable[[AppContext], Asgi]:
    """A paged listing of one object's children (`pager` makes the paging object), or 404."""

    def make(context: AppContext) -> Asgi:
        snapshot, links = context.snapshot, Links(context.settings.trusted_proxy)

        async def handler(scope: Scope, receive: Receive, send: Send) -> None:
            value = scope["path_params"]["id"]
            key = _one_id(kind, value, name)
            found = await run_read(snapshot, pager, snapshot, key, _page(scope), links.base(scope))
            if found is None:
                raise ApiError(ErrorCode.NOT_FOUND, f"no {kind.value} {value!r} in this snapshot")
            await send_json(send, _json(found))

        handler.__name__ = name
        return _App(handler)

    return make


album_tracks = _listing(Kind.ALBUM, _album_tracks_page, "v1_album_tracks")
"""`/v1/albums/{id}/tracks`: a paging object of simplified tracks."""
artist_albums = _listing(Kind.ARTIST, _artist_albums_page, "v1_artist_albums")
"""`/v1/artists/{id}/albums`: a paging object of the artist's own albums, newest first."""


def _search(snapshot: Snapshot, query: QueryParams, base: str) -> Document:
    text = query.get("q") or query.get("query")
    if not text or not text.strip(ASCII_WHITESPACE):
        raise InvalidParameter("q", "q is required: words and field filters such as artist:")
    kinds = types_of(query.get("type"))
    limit = search_params.limit_of(query.get("limit"))
    offset = search_params.offset_of(query.get("offset"))
    parsed = Query.parse(text)
    searcher = Searcher(snapshot)
    answer: Document = {}
    for kind in kinds:
        found = searcher.run(kind, parsed, limit, offset)
        if kind == "track":
            markets = snapshot.track_markets([t["id"] for t in found.items])
            items = [objects.track(t, markets.get(t["id"], ()), base) for t in found.items]
        elif kind == "album":
            album_markets = snapshot.album_markets([a["id"] for a in found.items])
            items = [
                objects.simplified_album(a, album_markets.get(a["id"], (None,))[0], base)
                for a in found.items
            ]
        else:
            items = [objects.artist(a, base) for a in found.items]
        answer[kind + "s"] = objects.paging(
            f"{base}/search",
            items,
            offset=offset,
            limit=limit,
            total=found.total,
            query={"q": text, "type": kind},
            last_offset=search_params.MAX_OFFSET,
        )
    return answer


def search(context: AppContext) -> Asgi:
    """`/v1/search?q=&type=`: paging objects per type (see `v1.search`)."""
    snapshot, links = context.snapshot, Links(context.settings.trusted_proxy)

    async def v1_search(scope: Scope, receive: Receive, send: Send) -> None:
        found = await run_read(snapshot, _search, snapshot, _query(scope), links.base(scope))
        await send_json(send, _json(found))

    return _App(v1_search)


def token(context: AppContext) -> Asgi:
    """`POST /api/token`: a token for any client credentials (the data is public)."""

    async def api_token(scope: Scope, receive: Receive, send: Send) -> None:
        body = {
            "access_token": secrets.token_urlsafe(24),
            "token_type": "Bearer",
            "expires_in": TOKEN_SECONDS,
        }
        await send_json(send, _json(body))

    return _App(api_token)


def _endpoints() -> tuple[Endpoint, ...]:
    paths = {
        Kind.TRACK: "tracks",
        Kind.ALBUM: "albums",
        Kind.ARTIST: "artists",
        Kind.AUDIO_FEATURES: "audio-features",
    }
    endpoints: list[Endpoint] = []
    for kind, path in paths.items():
        endpoints.append(
            Endpoint(
                f"/v1/{path}/{{id}}", "GET", DATA_PER_HOST, one(kind), described.one_operation(kind)
            )
        )
        endpoints.append(
            Endpoint(
                f"/v1/{path}", "GET", DATA_PER_HOST, many(kind), described.many_operation(kind)
            )
        )
    endpoints += [
        Endpoint(
            "/v1/albums/{id}/tracks",
            "GET",
            DATA_PER_HOST,
            album_tracks,
            described.album_tracks_operation,
        ),
        Endpoint(
            "/v1/artists/{id}/albums",
            "GET",
            DATA_PER_HOST,
            artist_albums,
            described.artist_albums_operation,
        ),
        Endpoint("/v1/search", "GET", DATA_PER_HOST, search, described.search_operation),
        Endpoint("/api/token", "POST", UNCACHED, token, described.token_operation),
    ]
    return tuple(endpoints)


ENDPOINTS: tuple[Endpoint, ...] = _endpoints()
