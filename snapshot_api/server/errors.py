"""The one place where errors become HTTP answers: codes, statuses and the JSON body.

Every error answer is `{"error": {"code": "<machine code>", "message": "<for people>", ...}}`.
Handlers raise `ApiError(code, message)` or let a library error through
(`snapshot_api.errors`); Starlette's own 404/405 arrive as `HTTPException`.
`api_error_of` maps each of them to an `ApiError`, the status comes from the
code's row in `_HTTP_STATUS`, and `error_response` / `error_body` are the only
functions that build error bodies, so no client ever sees HTML, plain text or
a stack trace, and a status is declared once per code.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import orjson
import structlog
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from snapshot_api.errors import (
    InvalidIdentifier,
    InvalidParameter,
    NotFound,
    SearchUnavailable,
    SnapshotApiError,
    clip,
)
from snapshot_api.server.responses import NO_STORE, JSONBytes, json_response

_log = structlog.get_logger("snapshot_api.server")


class ErrorCode(StrEnum):
    """Machine-readable error codes; the value is what clients see."""

    INVALID_REQUEST = "invalid_request"
    INVALID_IDENTIFIER = "invalid_identifier"
    INVALID_PARAMETER = "invalid_parameter"
    INVALID_JSON = "invalid_json"
    INVALID_BODY = "invalid_body"
    EMPTY_BATCH = "empty_batch"
    BATCH_TOO_LARGE = "batch_too_large"
    NOT_FOUND = "not_found"
    ROUTE_NOT_FOUND = "route_not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    BODY_TOO_LARGE = "body_too_large"
    HEADERS_TOO_LARGE = "headers_too_large"
    REQUEST_TIMEOUT = "request_timeout"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    RATE_LIMITED = "rate_limited"
    NOT_READY = "not_ready"
    SEARCH_UNAVAILABLE = "search_unavailable"
    OVER_CAPACITY = "over_capacity"
    INTERNAL = "internal_error"

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS[self]


_HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.INVALID_REQUEST: 400,
    ErrorCode.INVALID_IDENTIFIER: 400,
    ErrorCode.INVALID_PARAMETER: 400,
    ErrorCode.INVALID_JSON: 400,
    ErrorCode.INVALID_BODY: 400,
    ErrorCode.EMPTY_BATCH: 400,
    ErrorCode.BATCH_TOO_LARGE: 400,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.ROUTE_NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.BODY_TOO_LARGE: 413,
    ErrorCode.HEADERS_TOO_LARGE: 431,
    ErrorCode.REQUEST_TIMEOUT: 408,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.NOT_READY: 503,
    ErrorCode.SEARCH_UNAVAILABLE: 503,
    ErrorCode.OVER_CAPACITY: 503,
    ErrorCode.INTERNAL: 500,
}


class ApiError(Exception):
    """An error with a code, a message for people, and optional extra fields."""

    def __init__(self, code: ErrorCode, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def to_json(self) -> dict[str, Any]:
        """The body every error response carries: {"error": {"code", "message", ...}}."""
        return {"error": {"code": self.code.value, "message": self.message, **self.details}}


class UnreadBodyError(ApiError):
    """An error found before the request body was read to its end (too large, not JSON).

    The answer says `Connection: close`, so the server closes the connection after
    it instead of reading (and discarding) the rest of a body of any size.
    """


NOT_ANSWERING = "the snapshot is not answering; see /ready"


def api_error_of(exc: SnapshotApiError) -> ApiError:
    """The HTTP error for a library error: the one mapping of library classes to codes."""
    if isinstance(exc, InvalidIdentifier):
        return ApiError(
            ErrorCode.INVALID_IDENTIFIER,
            str(exc),
            values=[clip(r.value) for r in exc.rejections],
        )
    if isinstance(exc, InvalidParameter):
        return ApiError(ErrorCode.INVALID_PARAMETER, str(exc), parameter=exc.parameter)
    if isinstance(exc, NotFound):
        return ApiError(ErrorCode.NOT_FOUND, str(exc))
    if isinstance(exc, SearchUnavailable):
        return ApiError(ErrorCode.SEARCH_UNAVAILABLE, str(exc))
    return ApiError(ErrorCode.NOT_READY, NOT_ANSWERING)


def error_response(error: ApiError, headers: Mapping[str, str] | None = None) -> JSONBytes:
    return json_response(
        error.to_json(), status_code=error.code.http_status, headers={**NO_STORE, **(headers or {})}
    )


def error_body(code: ErrorCode, message: str) -> bytes:
    """The body of an error answered outside Starlette's handlers (pure ASGI middleware)."""
    return orjson.dumps(ApiError(code, message).to_json())


async def api_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    if isinstance(exc, UnreadBodyError):
        return error_response(exc, {"connection": "close"})
    return error_response(exc)


async def library_error_handler(request: Request, exc: Exception) -> Response:
    """A library error under a request; a snapshot that fails (damaged, removed) is logged."""
    assert isinstance(exc, SnapshotApiError)
    error = api_error_of(exc)
    if error.code is ErrorCode.NOT_READY:
        _log_unavailable(request, exc)
    return error_response(error)


async def unavailable_handler(request: Request, exc: Exception) -> Response:
    """SQLite failed under a request (file damaged or removed): 503, never 500."""
    _log_unavailable(request, exc)
    return error_response(ApiError(ErrorCode.NOT_READY, NOT_ANSWERING))


def _log_unavailable(request: Request, exc: Exception) -> None:
    _log.error(
        "snapshot error",
        error=str(exc),
        path=request.url.path,
        request_id=request.scope.get("state", {}).get("request_id"),
        exc_info=exc,
    )


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
