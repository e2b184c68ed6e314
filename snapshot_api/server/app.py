"""`create_app(settings, snapshot)`: the route table and the middleware stack, in one place.

Middleware, outermost first, and why in this order:
0. `SpotifyCompatMiddleware` (`/v1` and `/api/token` only): drops a trailing slash
   before any route is resolved, and gives every error there Spotify's shape.
1. `RequestContextMiddleware`: request id, access log, request metrics, JSON 500,
   and the CORS headers. Outermost so it times, records and marks every
   answer, whoever gives it (429s and 500s included).
2. `PreflightMiddleware`: `OPTIONS` answered before anything else runs.
3. `RateLimitMiddleware` (when `--rate` is not 0): before the cache, so a 304
   is counted like any other request and carries the `RateLimit` fields.
4. `ConditionalGetMiddleware`: ETag, Cache-Control, and 304 without a query.
Inside them, Starlette's exception middleware turns `ApiError`, library
errors and routing errors into JSON errors (`errors.py`). The routes and their
policies come from `routes.ENDPOINTS`; nothing here names a path.

Worker processes (`--workers N`) build their app with `worker_app()`, which
reads the settings `serve` left in the environment.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import apsw
import structlog
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from snapshot_api import __version__
from snapshot_api.config import (
    WORKER_MANIFEST_ENV,
    WORKER_SETTINGS_ENV,
    ServeSettings,
    decode_settings,
)
from snapshot_api.errors import SnapshotApiError
from snapshot_api.manifest import Manifest
from snapshot_api.server import metrics
from snapshot_api.server.caching import CORS_HEADERS, ConditionalGetMiddleware, PreflightMiddleware
from snapshot_api.server.errors import (
    NOT_ANSWERING,
    ApiError,
    ErrorCode,
    api_error_handler,
    error_response,
    http_exception_handler,
    library_error_handler,
    unavailable_handler,
)
from snapshot_api.server.logs import configure_logging
from snapshot_api.server.observability import RequestContextMiddleware
from snapshot_api.server.openapi import OpenApi
from snapshot_api.server.ratelimit import RateLimitMiddleware, Store, open_store, store_status
from snapshot_api.server.ratelimit.client_ip import ClientAddressResolver
from snapshot_api.server.ratelimit.redis_store import RedisBuckets
from snapshot_api.server.responses import NO_STORE, json_response
from snapshot_api.server.routes import ENDPOINTS, status
from snapshot_api.server.routing import ApiRoute, AppContext, RouteTable
from snapshot_api.server.v1.compat import SpotifyCompatMiddleware
from snapshot_api.snapshot import Snapshot

BATCH_THREADS = 2
"""Threads per worker for large batches: SQLite releases the GIL while it works, so two
batches in flight can use both cores of a small machine; more would only queue."""

_log = structlog.get_logger("snapshot_api.server")


def create_app(
    settings: ServeSettings, snapshot: Snapshot, *, owns_snapshot: bool = False
) -> Starlette:
    """The ASGI app serving `snapshot`; with `owns_snapshot`, it is closed at shutdown."""
    metrics.install()
    batch_threads = ThreadPoolExecutor(BATCH_THREADS, thread_name_prefix="snapshot-batch")
    limiter_store = open_store(settings) if settings.rate_limited else None
    context = AppContext(
        snapshot,
        settings,
        batch_threads,
        OpenApi(settings, ENDPOINTS),
        rate_limit_status=lambda: store_status(limiter_store),
    )
    routes = [endpoint.bind(context) for endpoint in ENDPOINTS]

    def close() -> None:
        batch_threads.shutdown(wait=True)
        if owns_snapshot:
            snapshot.close()

    return _assemble(settings, snapshot.manifest, routes, limiter_store, close)


def _assemble(
    settings: ServeSettings,
    manifest: Manifest,
    routes: list[ApiRoute],
    limiter_store: Store | None,
    close: Callable[[], None],
) -> Starlette:
    """The middleware stack around `routes`; `close` runs at shutdown."""
    table = RouteTable(routes)
    metrics.describe_snapshot(
        manifest.snapshot_id, manifest.tool_version, __version__, manifest.counts
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if isinstance(limiter_store, RedisBuckets):
            await limiter_store.check()  # so /health is right before the first request
        yield
        if isinstance(limiter_store, RedisBuckets):
            await limiter_store.aclose()
        close()

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SpotifyCompatMiddleware),
            Middleware(
                RequestContextMiddleware,
                routes=table,
                headers=CORS_HEADERS,
                client_of=ClientAddressResolver(settings.trusted_proxy),
            ),
            Middleware(PreflightMiddleware, routes=table),
            *(
                [Middleware(RateLimitMiddleware, settings=settings, store=limiter_store)]
                if settings.rate_limited
                else []
            ),
            Middleware(
                ConditionalGetMiddleware,
                identity=f"{manifest.snapshot_id}\0{__version__}",
                max_age=settings.cache_max_age,
            ),
        ],
        exception_handlers={
            ApiError: api_error_handler,
            SnapshotApiError: library_error_handler,
            HTTPException: http_exception_handler,
            apsw.Error: unavailable_handler,
        },
        lifespan=lifespan,
    )
    app.router.redirect_slashes = False
    return app


# --- worker processes ----------------------------------------------------------------


def worker_app() -> Starlette:
    """uvicorn's app factory in each worker process (`serve --workers N`).

    Every worker must serve the snapshot `serve` opened and described in
    `WORKER_MANIFEST_ENV`. A worker starts late or replaces one that died, so
    the files may have changed since (truncated, removed, rebuilt); it then
    starts anyway with `unavailable_app`, answering like its siblings do when
    their files break under them (503 `not_ready`, `/ready` 503, `/health` 200).
    Exiting instead would be uvicorn's start-up failure, which stops the whole
    server: one damaged file would take every worker down with it.
    """
    settings = decode_settings(os.environ[WORKER_SETTINGS_ENV])
    configure_logging(settings.log_level)
    assert settings.snapshot_dir is not None, "serve resolves the directory before workers start"
    expected = Manifest.from_json(os.environ[WORKER_MANIFEST_ENV].encode())
    try:
        snapshot = Snapshot.open(settings.snapshot_dir, mmap=settings.mmap)
    except SnapshotApiError as exc:
        reason = str(exc)
    else:
        if snapshot.snapshot_id == expected.snapshot_id:
            _log.info("worker started", pid=os.getpid(), snapshot_id=snapshot.snapshot_id)
            return create_app(settings, snapshot, owns_snapshot=True)
        snapshot.close()
        reason = (
            f"{settings.snapshot_dir} was rebuilt since serve started (snapshot "
            f"{snapshot.snapshot_id}, serving {expected.snapshot_id}); restart serve"
        )
    _log.error("worker cannot open the snapshot", error=reason, pid=os.getpid())
    return unavailable_app(settings, expected, reason)


def unavailable_app(settings: ServeSettings, manifest: Manifest, reason: str) -> Starlette:
    """The app of a worker that could not open the snapshot described by `manifest`.

    Every route answers 503 `not_ready` but `/health` (the process serves, and
    says which snapshot `serve` opened) and `/metrics`; `/ready` says `reason`.
    The same middleware as `create_app` (logs, CORS, rate limit), so neither a
    client nor a load balancer can tell which worker answered.
    """
    metrics.install()
    limiter_store = open_store(settings) if settings.rate_limited else None
    health_body = status.health_body(manifest)

    async def health(request: Request) -> Response:
        body = {**health_body, "rate_limit": store_status(limiter_store)}
        return json_response(body, headers=NO_STORE)

    async def prometheus(request: Request) -> Response:
        return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE, headers=NO_STORE)

    async def ready(request: Request) -> Response:
        return status.not_ready_response(manifest.snapshot_id, reason)

    async def not_ready(request: Request) -> Response:
        return error_response(ApiError(ErrorCode.NOT_READY, NOT_ANSWERING))

    answers = {"/health": health, "/metrics": prometheus, "/ready": ready}
    routes = [ApiRoute(e, answers.get(e.path, not_ready)) for e in ENDPOINTS]
    return _assemble(settings, manifest, routes, limiter_store, close=lambda: None)
