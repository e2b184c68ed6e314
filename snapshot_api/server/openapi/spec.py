"""The OpenAPI 3.1 description, assembled from the route declarations.

Each route carries its own operation (see `snapshot_api.server.routing`); this
module adds what the route's policy implies, so it is written once for all
routes: cacheable routes get the ETag and Cache-Control headers and a 304,
rate-limited ones the RateLimit headers and a 429. The tests check the
description against the app in both directions and validate its examples
against its own schemas, so it cannot drift from what the server does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import orjson
import yaml

from snapshot_api import __version__
from snapshot_api.config import ServeSettings
from snapshot_api.server.openapi.docs_page import render_docs
from snapshot_api.server.openapi.parts import (
    CACHED_HEADERS,
    LIMIT_HEADERS,
    NOT_MODIFIED,
    PLAIN_HEADERS,
    RATE_LIMITED,
    Schema,
)
from snapshot_api.server.openapi.schemas import SCHEMAS
from snapshot_api.server.routing import Endpoint


def _operation(endpoint: Endpoint, settings: ServeSettings) -> Schema:
    """The route's own operation, completed with the answers and headers of its policy."""
    operation = endpoint.operation(settings)
    policy = endpoint.policy
    headers = {
        **PLAIN_HEADERS,
        **(CACHED_HEADERS if policy.cacheable else {}),
        **(LIMIT_HEADERS if policy.rate_limited else {}),
    }
    responses: dict[str, Schema] = {}
    for status, answer in operation["responses"].items():
        if status.startswith("2"):
            answer = {**answer, "headers": {**headers, **answer.get("headers", {})}}
        elif "headers" not in answer and "$ref" not in answer:
            answer = {**answer, "headers": PLAIN_HEADERS}
        responses[status] = answer
    if policy.cacheable:
        responses["304"] = NOT_MODIFIED
    if policy.rate_limited:
        responses["429"] = RATE_LIMITED
    return {**operation, "responses": dict(sorted(responses.items()))}


def _paths(settings: ServeSettings, endpoints: Sequence[Endpoint]) -> dict[str, Schema]:
    paths: dict[str, Schema] = {}
    for endpoint in endpoints:
        item = paths.setdefault(endpoint.path, {})
        item[endpoint.method.lower()] = _operation(endpoint, settings)
    return paths


def build_spec(
    settings: ServeSettings, endpoints: Sequence[Endpoint] | None = None
) -> dict[str, Any]:
    """The OpenAPI 3.1 document for a server running with `settings`.

    `paths` is derived from the route declarations (every route of the app,
    by default), each operation completed from its route's policy.
    """
    if endpoints is None:
        from snapshot_api.server.routes import ENDPOINTS

        endpoints = ENDPOINTS
    exempt = ", ".join(e.path for e in endpoints if not e.policy.rate_limited)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "snapshot-api",
            "version": __version__,
            "summary": "Read-only lookups in the Anna's Archive Spotify metadata dump.",
            "description": (
                "Look tracks, albums and artists up by ISRC, barcode or Spotify id. The data "
                "never changes while a snapshot is served: GET answers carry a strong `ETag` "
                f"and `Cache-Control: public, max-age={settings.cache_max_age}`, and "
                "`If-None-Match` gets a 304. Every answer allows any origin (CORS). Every "
                'error is `{"error": {"code", "message"}}`. Requests are rate limited per '
                f"client IP (except {exempt}); a batch costs one token per "
                "started 50 items."
            ),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "tags": [
            {"name": "lookup", "description": "Documents from the snapshot."},
            {"name": "search", "description": "Names, most popular first."},
            {"name": "match", "description": "Recordings as a tagger holds them, scored."},
            {
                "name": "spotify",
                "description": "Spotify's Web API shapes (`/v1`), for existing Spotify "
                'clients; errors there are `{"error": {"status", "message"}}`.',
            },
            {"name": "operations", "description": "Health, readiness and metrics."},
            {"name": "documentation", "description": "This description, three ways."},
        ],
        "paths": _paths(settings, endpoints),
        "components": {
            "schemas": SCHEMAS,
            "headers": {
                "ETag": {
                    "description": "Strong tag of (snapshot, server version, path).",
                    "schema": {"type": "string"},
                },
                "CacheControl": {
                    "description": f"public, max-age={settings.cache_max_age}",
                    "schema": {"type": "string"},
                },
                "RequestId": {
                    "description": "The request's X-Request-ID, as sent or generated.",
                    "schema": {"type": "string"},
                },
                "RateLimit": {
                    "description": "IETF draft: whole tokens left and seconds until the "
                    'bucket is full, e.g. `"ip";r=137;t=1`. On rate-limited routes.',
                    "schema": {"type": "string"},
                },
                "RateLimitPolicy": {
                    "description": "IETF draft: bucket size and seconds to fill it, e.g. "
                    '`"ip";q=200;w=2`. On rate-limited routes.',
                    "schema": {"type": "string"},
                },
                "RetryAfter": {
                    "description": "Whole seconds (at least 1) until the refused request fits.",
                    "schema": {"type": "integer", "minimum": 1},
                },
            },
        },
    }


# --- serving it -------------------------------------------------------------------------


@dataclass
class OpenApi:
    """The description for one app, rendered once into its three forms."""

    settings: ServeSettings
    endpoints: Sequence[Endpoint]

    @cached_property
    def spec(self) -> dict[str, Any]:
        return build_spec(self.settings, self.endpoints)

    @cached_property
    def json(self) -> bytes:
        return orjson.dumps(self.spec)

    @cached_property
    def yaml(self) -> bytes:
        text: str = yaml.safe_dump(self.spec, sort_keys=False, allow_unicode=True, width=100)
        return text.encode()

    @cached_property
    def html(self) -> str:
        return render_docs(self.spec)
