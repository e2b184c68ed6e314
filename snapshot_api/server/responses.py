"""JSON answers and the one place where errors become HTTP responses.

Handlers raise `ApiError` (or `InvalidIdentifier`, which knows its `ApiError`);
Starlette's own 404/405 arrive as `HTTPException`. All of them are turned into
`{"error": {"code", "message", ...}}` here, with the status their code implies,
so no handler ever builds an error body and no client ever sees HTML, plain
text or a stack trace.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from snapshot_api.errors import ApiError, ErrorCode, InvalidIdentifier

JSON_MEDIA_TYPE = "application/json"
NO_STORE = {"cache-control": "no-store"}
"""Errors and live status answers must not be kept by caches (a 429 or 503 passes)."""


class JSONBytes(Response):
    """A response whose body is JSON text already (spliced by the library, not re-encoded)."""

    media_type = JSON_MEDIA_TYPE


def json_response(
    content: object, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> JSONBytes:
    return JSONBytes(orjson.dumps(content), status_code=status_code, headers=headers)


def error_response(error: ApiError, headers: Mapping[str, str] | None = None) -> JSONBytes:
    return json_response(
        error.to_json(), status_code=error.code.http_status, headers={**NO_STORE, **(headers or {})}
    )


def error_body(code: ErrorCode, message: str) -> bytes:
    """The body of an error answered outside Starlette's handlers (pure ASGI middleware)."""
    return orjson.dumps(ApiError(code, message).to_json())


class UnreadBodyError(ApiError):
    """An error found before the request body was read to its end (too large, not JSON).

    The answer says `Connection: close`, so the server closes the connection after
    it instead of reading (and discarding) the rest of a body of any size.
    """


async def api_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    if isinstance(exc, UnreadBodyError):
        return error_response(exc, {"connection": "close"})
    return error_response(exc)


async def invalid_identifier_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InvalidIdentifier)
    return error_response(exc.to_api_error())


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    """Starlette's routing errors (unknown route, wrong method) as JSON errors."""
    assert isinstance(exc, HTTPException)
    method, path = request.method, request.url.path
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        error = ApiError(ErrorCode.ROUTE_NOT_FOUND, f"no route {path} (see /docs)")
    elif exc.status_code == 405:
        allowed = headers.get("Allow") or headers.get("allow") or ""
        error = ApiError(
            ErrorCode.METHOD_NOT_ALLOWED,
            f"{method} is not allowed on {path}; allowed: {allowed}",
            allowed=[m.strip() for m in allowed.split(",") if m.strip()],
        )
    else:
        # Not raised by our routes; kept generic so no status ever turns into a 500.
        code = ErrorCode.INVALID_BODY if exc.status_code < 500 else ErrorCode.INTERNAL
        error = ApiError(code, exc.detail)
        return json_response(
            error.to_json(), status_code=exc.status_code, headers={**NO_STORE, **headers}
        )
    return error_response(error, headers)
