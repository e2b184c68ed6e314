"""`/health` (the process serves), `/ready` (the snapshot answers), `/metrics`.

Live answers for operators and load balancers: never cached, never rate
limited (the `LIVE` policy), so a health check cannot be refused or stale.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from snapshot_api import __version__
from snapshot_api.config import ServeSettings
from snapshot_api.errors import SnapshotError
from snapshot_api.manifest import Manifest
from snapshot_api.server import metrics
from snapshot_api.server.errors import ApiError, ErrorCode
from snapshot_api.server.openapi.parts import (
    EXAMPLE_COUNTS,
    EXAMPLE_METRICS,
    EXAMPLE_SNAPSHOT_ID,
    Schema,
    error_example,
    json_answer,
    ref,
)
from snapshot_api.server.responses import NO_STORE, json_response
from snapshot_api.server.routing import LIVE, AppContext, Endpoint

RequestHandler = Callable[[Request], Awaitable[Response]]


def health_body(manifest: Manifest) -> dict[str, Any]:
    """What `/health` says about the snapshot `serve` opened (also in a worker that could not)."""
    return {
        "status": "ok",
        "snapshot_id": manifest.snapshot_id,
        "version": __version__,
        "counts": manifest.counts,
    }


def not_ready_response(snapshot_id: str, reason: str) -> Response:
    """`/ready`'s 503: the snapshot's id and an error saying why it does not answer."""
    error = ApiError(ErrorCode.NOT_READY, f"the snapshot is not answering: {reason}")
    return json_response(
        {"status": "not_ready", "snapshot_id": snapshot_id, **error.to_json()},
        status_code=503,
        headers=NO_STORE,
    )


def _health(context: AppContext) -> RequestHandler:
    body = health_body(context.snapshot.manifest)
    rate_limit = context.rate_limit_status

    async def health(request: Request) -> Response:
        if rate_limit is None:
            return json_response(body, headers=NO_STORE)
        return json_response({**body, "rate_limit": rate_limit()}, headers=NO_STORE)

    return health


def _ready(context: AppContext) -> RequestHandler:
    snapshot = context.snapshot
    snapshot_id = snapshot.manifest.snapshot_id

    async def ready(request: Request) -> Response:
        try:
            snapshot.probe()
        except SnapshotError as exc:
            return not_ready_response(snapshot_id, str(exc))
        return json_response({"status": "ready", "snapshot_id": snapshot_id}, headers=NO_STORE)

    return ready


def _metrics(context: AppContext) -> RequestHandler:
    async def prometheus(request: Request) -> Response:
        return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE, headers=NO_STORE)

    return prometheus


def _health_operation(settings: ServeSettings) -> Schema:
    return {
        "operationId": "health",
        "tags": ["operations"],
        "summary": "The process serves",
        "description": "Not rate limited, never cached.",
        "responses": {
            "200": json_answer(
                ref("Health"),
                {
                    "status": "ok",
                    "snapshot_id": EXAMPLE_SNAPSHOT_ID,
                    "version": __version__,
                    "counts": EXAMPLE_COUNTS,
                },
                "Serving.",
            )
        },
    }


def _ready_operation(settings: ServeSettings) -> Schema:
    return {
        "operationId": "ready",
        "tags": ["operations"],
        "summary": "The snapshot answers (new)",
        "description": "200 when a probe query succeeds and the files are those opened "
        "at start; 503 when a file was removed, replaced or stops answering. Not rate "
        "limited, never cached.",
        "responses": {
            "200": json_answer(
                ref("Ready"),
                {"status": "ready", "snapshot_id": EXAMPLE_SNAPSHOT_ID},
                "Ready.",
            ),
            "503": json_answer(
                ref("NotReady"),
                {
                    "status": "not_ready",
                    "snapshot_id": EXAMPLE_SNAPSHOT_ID,
                    **error_example(
                        ErrorCode.NOT_READY,
                        "the snapshot is not answering: spotify_clean.sqlite3: "
                        "No such file or directory",
                    ),
                },
                "Not ready.",
            ),
        },
    }


def _metrics_operation(settings: ServeSettings) -> Schema:
    return {
        "operationId": "metrics",
        "tags": ["operations"],
        "summary": "Prometheus metrics (new)",
        "description": "Text exposition format, summed over all worker processes: "
        "`http_requests_total`, `http_request_duration_seconds`, "
        "`snapshot_lookups_total{kind,result}`, `batch_lookup_items`, "
        "`snapshot_info`, `snapshot_rows`, `rate_limit_unlimited_requests_total{reason}`. "
        "Not rate limited, never cached; the shipped Caddyfile does not pass it.",
        "responses": {
            "200": {
                "description": "The metrics.",
                "content": {
                    "text/plain": {
                        "schema": {"type": "string"},
                        "example": EXAMPLE_METRICS,
                    }
                },
            }
        },
    }


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("/health", "GET", LIVE, _health, _health_operation),
    Endpoint("/ready", "GET", LIVE, _ready, _ready_operation),
    Endpoint("/metrics", "GET", LIVE, _metrics, _metrics_operation),
)
