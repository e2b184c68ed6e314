"""Request bodies: JSON only, and never more than the limit is read.

The limit is enforced twice: a declared `Content-Length` above it is refused
before a byte of the body is read, and a body without one (chunked) is counted
while it arrives and refused as soon as it passes the limit. Either way the
error answer closes the connection (`UnreadBodyError`), so a client sending a
gigabyte costs the server at most the limit plus one chunk.
"""

from __future__ import annotations

from starlette.requests import Request

from snapshot_api.server.errors import ErrorCode, UnreadBodyError


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def require_json(request: Request) -> None:
    """415 unless the request says its body is JSON (`application/json` or `+json`)."""
    content_type = request.headers.get("content-type")
    if content_type is None or not _is_json(content_type):
        shown = "none" if content_type is None else repr(content_type[:100])
        raise UnreadBodyError(
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            f"the body must be JSON sent with Content-Type: application/json (got {shown})",
        )


def _too_large(limit: int) -> UnreadBodyError:
    return UnreadBodyError(
        ErrorCode.BODY_TOO_LARGE,
        f"the request body is larger than the limit of {limit} bytes",
        limit=limit,
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or `UnreadBodyError` (413) as soon as it is known to exceed `limit`."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)
