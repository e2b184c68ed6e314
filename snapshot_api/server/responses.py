"""JSON answers: bodies that are JSON text already, and the no-store header of live answers.

Error answers are built in `snapshot_api.server.errors`, nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from starlette.responses import Response

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
