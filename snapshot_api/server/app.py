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
import sys
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import apsw
import structlog
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from uvicorn.config import STARTUP_FAILURE

from snapshot_api import __version__
from snapshot_api.config import WORKER_SETTINGS_ENV, ServeSettings, decode_settings
from snapshot_api.errors import SnapshotApiError
from snapshot_api.server import metrics
from snapshot_api.server.caching import CORS_HEADERS, ConditionalGetMiddleware, PreflightMiddleware
from snapshot_api.server.errors import (
    ApiError,
    api_error_handler,
    http_exception_handler,
    library_error_handler,
    unavailable_handler,
)
from snapshot_api.server.logs import configure_logging
from snapshot_api.server.observability import RequestContextMiddleware
from snapshot_api.server.openapi import OpenApi
from snapshot_api.server.ratelimit import RateLimitMiddleware, open_store, store_status
from snapshot_api.server.ratelimit.client_ip import ClientAddressResolver
from snapshot_api.server.ratelimit.redis_store import RedisBuckets
from snapshot_api.server.routes import ENDPOINTS
from snapshot_api.server.routing import AppContext, RouteTable
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
    table = RouteTable(routes)
    manifest = snapshot.manifest
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
        batch_threads.shutdown(wait=True)
        if owns_snapshot:
            snapshot.close()

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

    A worker that cannot open the snapshot (removed since `serve` checked it)
    exits with uvicorn's start-up failure status, which makes the supervisor
    stop instead of restarting it forever.
    """
    settings = decode_settings(os.environ[WORKER_SETTINGS_ENV])
    configure_logging(settings.log_level)
    assert settings.snapshot_dir is not None, "serve resolves the directory before workers start"
    try:
        snapshot = Snapshot.open(settings.snapshot_dir, mmap=settings.mmap)
    except SnapshotApiError as exc:
        _log.error("worker cannot open the snapshot", error=str(exc), pid=os.getpid())
        sys.exit(STARTUP_FAILURE)
    _log.info("worker started", pid=os.getpid(), snapshot_id=snapshot.snapshot_id)
    return create_app(settings, snapshot, owns_snapshot=True)
