"""`POST /batch/lookup`: many identifiers of every kind in one request.

Batches of more than `LOOP_BATCH_ITEMS` distinct items run on a small thread pool,
measured: a 100-item batch is over 10 ms of SQLite work; on the loop it stalled every
other request of its worker (single lookups fell from about 2,000 to about 100 per
second while batches ran). SQLite releases the GIL while it works, so in a thread the
loop keeps answering, at about 10% more CPU per batch. In `pread` mode (cold data
presumed) every batch runs there, and the library splits a large one across the
snapshot's reader threads. A client never holds a database connection while it is slow:
the body is read to its end before any query runs, and the answer is complete bytes
before the first byte is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from snapshot_api.config import ServeSettings
from snapshot_api.server import batch, metrics
from snapshot_api.server.body import read_body, require_json
from snapshot_api.server.errors import ErrorCode
from snapshot_api.server.openapi.parts import (
    EXAMPLE_BATCH_REQUEST,
    EXAMPLE_BATCH_RESPONSE,
    UNAVAILABLE,
    Schema,
    error_answer,
    error_example,
    json_answer,
    ref,
)
from snapshot_api.server.ratelimit import charge_batch_items
from snapshot_api.server.responses import JSONBytes
from snapshot_api.server.routing import UNCACHED, AppContext, Endpoint

LOOP_BATCH_ITEMS = 10
"""Batches up to this many distinct items run on the loop (cheaper than a thread hop)."""


def _handler(context: AppContext) -> Callable[[Request], Awaitable[Response]]:
    snapshot, settings, executor = context.snapshot, context.settings, context.executor

    async def batch_lookup(request: Request) -> Response:
        require_json(request)
        body = await read_body(request, settings.max_body_bytes)
        wanted = batch.parse_request(body, settings.max_batch_items)
        items = sum(len(values) for values in wanted.values())
        # 1 token per started 50 distinct items; refused (429) before any query runs
        await charge_batch_items(request.scope, items)
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

    return batch_lookup


def _operation(settings: ServeSettings) -> Schema:
    limits = (
        f"At most {settings.max_batch_items} distinct items in total and "
        f"{settings.max_body_bytes} bytes of body."
    )
    return {
        "operationId": "batchLookup",
        "tags": ["lookup"],
        "summary": "Many identifiers of every kind at once",
        "description": "Keys are the strings exactly as sent. Duplicates are answered "
        "once and counted once. Tracks, albums and artists may also be given as "
        "`https://open.spotify.com/KIND/ID` URLs. " + limits + " The number of "
        "database queries does not grow with the number of items. Browsers may send "
        "a CORS preflight (`OPTIONS`), which is answered for this route.",
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": ref("BatchRequest"),
                    "example": EXAMPLE_BATCH_REQUEST,
                }
            },
        },
        "responses": {
            "200": json_answer(
                ref("BatchResponse"),
                EXAMPLE_BATCH_RESPONSE,
                "Found, not found and invalid items.",
            ),
            "400": error_answer(
                "Not JSON, not an object of lists of strings, an unknown key, no items, "
                "or more items than allowed.",
                error_example(
                    ErrorCode.INVALID_BODY,
                    "unknown keys 'isrc'; the keys are isrcs, upcs, tracks, albums, artists",
                    unknown_keys=["isrc"],
                ),
            ),
            "413": error_answer(
                "The body is larger than the limit (the rest is not read).",
                error_example(
                    ErrorCode.BODY_TOO_LARGE,
                    f"the request body is larger than the limit of {settings.max_body_bytes} bytes",
                    limit=settings.max_body_bytes,
                ),
            ),
            "415": error_answer(
                "The body is not sent as `application/json`.",
                error_example(
                    ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                    "the body must be JSON sent with Content-Type: application/json "
                    "(got 'text/plain')",
                ),
            ),
            "503": UNAVAILABLE,
        },
    }


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("/batch/lookup", "POST", UNCACHED, _handler, _operation),
)
