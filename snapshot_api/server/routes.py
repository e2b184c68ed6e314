"""Handlers: parse the identifier, ask the library for JSON text, answer it unchanged.

Where the database work runs was decided by measurement (docs/server.md has
the figures):
- Single lookups run on the event loop. Each is a fraction of a millisecond;
  handing it to a thread and back cost about 60% more CPU per request.
- Batches of more than `LOOP_BATCH_ITEMS` items run on a small thread pool.
  A 100-item batch is over 10 ms of SQLite work; on the loop it stalled every
  other request of its worker (single lookups fell from about 2,000 to about
  100 per second while batches ran). SQLite releases the GIL while it works,
  so in a thread the loop keeps answering, at about 10% more CPU per batch.
- Except in `pread` mode (`Snapshot.overlaps_reads`: the data is presumed larger
  than memory, so lookups wait on the disk): there every lookup runs on the
  snapshot's reader threads, so concurrent requests keep the disk's queue full
  instead of waiting one at a time on the loop (BENCHMARKS.md, "Cold cache").
A client never holds a database connection while it is slow: bodies are read
to the end before any query runs, and answers are complete bytes before the
first byte is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from typing import ParamSpec, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from snapshot_api import __version__
from snapshot_api.errors import InvalidIdentifier, SnapshotError
from snapshot_api.identifiers import Kind, parse
from snapshot_api.server import batch, metrics
from snapshot_api.server.body import read_body, require_json
from snapshot_api.server.errors import ApiError, ErrorCode, api_error_of
from snapshot_api.server.ratelimit import charge_batch_items
from snapshot_api.server.responses import NO_STORE, JSONBytes, json_response
from snapshot_api.snapshot import Snapshot

P = ParamSpec("P")
T = TypeVar("T")


async def _read(snapshot: Snapshot, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`call` on the loop, or on the snapshot's reader threads in `pread` mode."""
    if not snapshot.overlaps_reads:
        return call(*args, **kwargs)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(snapshot.run_in_pool(), lambda: call(*args, **kwargs))


LOOP_BATCH_ITEMS = 10
"""Batches up to this many distinct items run on the loop (cheaper than a thread hop)."""

ALBUM_TRACKS = "album_tracks"
"""The `kind` label of album track listings in the lookup metrics."""


def _key(kind: Kind, value: str, metric_kind: str | None = None) -> str:
    """The canonical key of a path value; 400 naming the value when malformed."""
    try:
        return parse(kind, value, allow_url=False)
    except InvalidIdentifier as exc:
        metrics.count_lookups(metric_kind or kind.value, "invalid")
        raise api_error_of(exc) from None


def _not_found(kind: str, value: str) -> ApiError:
    return ApiError(ErrorCode.NOT_FOUND, f"no {kind} {value!r} in this snapshot")


async def send_json(send: Send, body: bytes, status: int = 200) -> None:
    """Answer `body` (JSON text) with two ASGI messages and nothing else.

    The lookup routes answer through this rather than Starlette's Request and
    Response objects: at thousands of requests per second per worker, the
    objects' construction was a measurable share of a request's cost.
    """
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
        text = (await _read(self.snapshot, self.snapshot.lookup_json, kind, (key,)))[key]
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
        text = (await _read(self.snapshot, self.snapshot.lookup_json, kind, (key,))).get(key)
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
        text = await _read(self.snapshot, self.snapshot.album_tracks_json, key)
        if text is None:
            metrics.count_lookups(ALBUM_TRACKS, "miss")
            raise _not_found("album", value)
        metrics.count_lookups(ALBUM_TRACKS, "hit")
        await send_json(send, text)


def lookup_routes(snapshot: Snapshot) -> list[Route]:
    """The `/lookup/...` routes, each bound to `snapshot`; the busiest first (routes are
    tried in order)."""
    return [
        Route("/lookup/isrc/{isrc}", LookupMany(snapshot, Kind.ISRC), methods=["GET"]),
        Route("/lookup/track/{id}", LookupOne(snapshot, Kind.TRACK), methods=["GET"]),
        Route("/lookup/upc/{upc}", LookupMany(snapshot, Kind.UPC), methods=["GET"]),
        Route("/lookup/album/{id}", LookupOne(snapshot, Kind.ALBUM), methods=["GET"]),
        Route("/lookup/artist/{id}", LookupOne(snapshot, Kind.ARTIST), methods=["GET"]),
        Route("/lookup/album/{id}/tracks", AlbumTracks(snapshot), methods=["GET"]),
    ]


def batch_route(
    snapshot: Snapshot, *, max_items: int, max_body_bytes: int, executor: Executor
) -> Route:
    """`POST /batch/lookup`; batches of more than `LOOP_BATCH_ITEMS` items run on `executor`."""

    async def batch_lookup(request: Request) -> Response:
        require_json(request)
        body = await read_body(request, max_body_bytes)
        wanted = batch.parse_request(body, max_items)
        items = sum(len(values) for values in wanted.values())
        # 1 token per started 50 distinct items; refused (429) before any query runs
        charge_batch_items(request.scope, items)
        if items <= LOOP_BATCH_ITEMS and not snapshot.overlaps_reads:
            result = batch.answer(snapshot, wanted)
        else:
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(executor, batch.answer, snapshot, wanted)
        metrics.observe_batch(result.items)
        for kind, tally in result.tallies.items():
            metrics.count_lookups(kind.value, "hit", tally.hit)
            metrics.count_lookups(kind.value, "miss", tally.miss)
            metrics.count_lookups(kind.value, "invalid", tally.invalid)
        return JSONBytes(result.body)

    return Route("/batch/lookup", batch_lookup, methods=["POST"])


def status_routes(snapshot: Snapshot) -> list[Route]:
    """`/health` (the process serves), `/ready` (the snapshot answers), `/metrics`."""
    manifest = snapshot.manifest
    health_body = {
        "status": "ok",
        "snapshot_id": manifest.snapshot_id,
        "version": __version__,
        "counts": manifest.counts,
    }

    async def health(request: Request) -> Response:
        return json_response(health_body, headers=NO_STORE)

    async def ready(request: Request) -> Response:
        try:
            snapshot.probe()
        except SnapshotError as exc:
            error = ApiError(ErrorCode.NOT_READY, f"the snapshot is not answering: {exc}")
            return json_response(
                {"status": "not_ready", "snapshot_id": manifest.snapshot_id, **error.to_json()},
                status_code=503,
                headers=NO_STORE,
            )
        return json_response(
            {"status": "ready", "snapshot_id": manifest.snapshot_id}, headers=NO_STORE
        )

    async def prometheus(request: Request) -> Response:
        return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE, headers=NO_STORE)

    return [
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
    ]
