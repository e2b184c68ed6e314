"""Errors are values with codes.

Every failure a user or client can cause has one `ErrorCode`; the code decides
the HTTP status and the machine-readable `error.code` in JSON bodies, and the
CLI prints the message on one line. Handlers raise `ApiError(code, message)` and
never build error bodies themselves, so the mapping lives in exactly one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Machine-readable error codes; the value is what clients see."""

    INVALID_REQUEST = "invalid_request"
    INVALID_IDENTIFIER = "invalid_identifier"
    INVALID_JSON = "invalid_json"
    INVALID_BODY = "invalid_body"
    EMPTY_BATCH = "empty_batch"
    BATCH_TOO_LARGE = "batch_too_large"
    NOT_FOUND = "not_found"
    ROUTE_NOT_FOUND = "route_not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    BODY_TOO_LARGE = "body_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    RATE_LIMITED = "rate_limited"
    NOT_READY = "not_ready"
    INTERNAL = "internal_error"

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS[self]


_HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.INVALID_REQUEST: 400,
    ErrorCode.INVALID_IDENTIFIER: 400,
    ErrorCode.INVALID_JSON: 400,
    ErrorCode.INVALID_BODY: 400,
    ErrorCode.EMPTY_BATCH: 400,
    ErrorCode.BATCH_TOO_LARGE: 400,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.ROUTE_NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.BODY_TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.NOT_READY: 503,
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


class SnapshotError(Exception):
    """A snapshot directory cannot be used (missing files, not built, unreadable)."""


class SnapshotNotPrepared(SnapshotError):
    """The directory holds a dump that `snapshot-api build` has not prepared yet."""


class NotFound(LookupError):
    """An id that names nothing in the snapshot (e.g. `album_tracks` of an unknown album)."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """One malformed value: what kind it was meant to be, the value as given, and why."""

    kind: str
    value: object
    reason: str

    def describe(self) -> str:
        return f"{self.kind} {clip(self.value)!r}: {self.reason}"


SHOWN_CHARACTERS = 80
"""How much of a rejected value messages repeat: enough to recognise it, never a whole body."""


def clip(value: object) -> object:
    """`value`, or its first characters with the length said, when it is a long string."""
    if isinstance(value, str) and len(value) > SHOWN_CHARACTERS:
        return f"{value[:SHOWN_CHARACTERS]}… ({len(value)} characters)"
    return value


class InvalidIdentifier(ValueError):
    """One or more values are not well-formed identifiers of their kind.

    Raised before any query runs, naming every malformed value, so a caller can
    fix all of them at once.
    """

    def __init__(self, rejections: Sequence[Rejection]) -> None:
        self.rejections = tuple(rejections)
        super().__init__("; ".join(r.describe() for r in self.rejections))

    def to_api_error(self) -> ApiError:
        return ApiError(
            ErrorCode.INVALID_IDENTIFIER,
            str(self),
            values=[clip(r.value) for r in self.rejections],
        )
