"""HTTP caching (ETag, 304, Cache-Control) and CORS, as pure ASGI middleware.

The data never changes while a snapshot is served, so a GET answer is a pure
function of (snapshot identity, server version, path, query string). The ETag
is a hash of exactly that, which makes it strong and computable *before* the
handler runs: a matching `If-None-Match` is answered 304 here without touching
the database. The query string is part of it because search and paging
answers depend on it; for routes whose answers hold absolute links to this
server (policy `per_host`), so are the headers that name the server.

Only successful (200) GET/HEAD answers of cacheable routes (their policy says
so) get `ETag` and
`Cache-Control: public, max-age=N`; errors and live status answers carry
`no-store` (set where they are made).

CORS: every answer allows any origin (`CORS_HEADERS`, added by the outermost
middleware); preflight `OPTIONS` requests are answered here for every route,
with the methods that route accepts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from snapshot_api.server.ratelimit import RESPONSE_HEADERS as RATE_LIMIT_HEADERS
from snapshot_api.server.routing import RouteTable, policy_of

EXPOSED_HEADERS = ("ETag", "X-Request-ID", *RATE_LIMIT_HEADERS)
"""Response headers browser scripts may read (the rate-limit fields included)."""

PREFLIGHT_MAX_AGE = 86_400
"""How long a browser may reuse a preflight answer; the answer never changes."""

DEFAULT_ALLOWED_HEADERS = b"Content-Type, If-None-Match, X-Request-ID"

CORS_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"access-control-allow-origin", b"*"),
    (b"access-control-expose-headers", ", ".join(EXPOSED_HEADERS).encode()),
)


HOST_HEADERS = (b"host", b"x-forwarded-host", b"x-forwarded-proto")
"""What answers with absolute links to this server depend on, besides the URL."""
VARY_HOST = (b"vary", b"Host, X-Forwarded-Host, X-Forwarded-Proto")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


class PreflightMiddleware:
    """Answers `OPTIONS` (CORS preflights included) for every route, without the app.

    The `Access-Control-Allow-Origin` of every other answer is added by the
    outermost middleware (`CORS_HEADERS`), so that errors and 429s made
    anywhere in the stack carry it too.
    """

    def __init__(self, app: ASGIApp, *, routes: RouteTable) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            methods = self.routes.methods(scope)
            if methods is not None:
                await self._options(scope, send, methods)
                return
        await self.app(scope, receive, send)

    async def _options(self, scope: Scope, send: Send, methods: Iterable[str]) -> None:
        """204 for a preflight (or a plain OPTIONS): which methods and headers are allowed."""
        allow = ", ".join([*sorted(methods), "OPTIONS"]).encode()
        headers = [(b"allow", allow), (b"cache-control", b"no-store")]
        if _header(scope, b"access-control-request-method") is not None:
            requested = _header(scope, b"access-control-request-headers")
            headers += [
                (b"access-control-allow-methods", allow),
                (b"access-control-allow-headers", requested or DEFAULT_ALLOWED_HEADERS),
                (b"access-control-max-age", str(PREFLIGHT_MAX_AGE).encode()),
                (b"vary", b"Access-Control-Request-Headers"),
            ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def _tags(header: bytes) -> list[bytes]:
    """The entity tags of an If-None-Match value, weak prefixes dropped (weak comparison)."""
    tags = []
    for part in header.split(b","):
        tag = part.strip()
        if tag.startswith(b"W/"):
            tag = tag[2:]
        if tag:
            tags.append(tag)
    return tags


class ConditionalGetMiddleware:
    """Strong ETags from (snapshot, version, path); 304 for a match before the handler runs."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        identity: str,
        max_age: int,
    ) -> None:
        self.app = app
        self.identity = identity.encode()
        self.cache_control = f"public, max-age={max_age}".encode()

    def etag(self, path: str, query: bytes = b"") -> bytes:
        digest = hashlib.blake2b(
            self.identity + b"\0" + path.encode() + b"\0" + query, digest_size=12
        )
        return b'"' + digest.hexdigest().encode() + b'"'

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or not policy_of(scope).cacheable
        ):
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        per_host = policy_of(scope).per_host
        if per_host:
            query = b"\0".join([query, *(_header(scope, name) or b"" for name in HOST_HEADERS)])
        etag = self.etag(scope["path"], query)
        cached: tuple[tuple[bytes, bytes], ...] = (
            (b"etag", etag),
            (b"cache-control", self.cache_control),
        )
        if per_host:
            cached += (VARY_HOST,)
        if_none_match = _header(scope, b"if-none-match")
        tags = _tags(if_none_match) if if_none_match else []
        if etag in tags:
            await _not_modified(send, cached)
            return
        any_tag = b"*" in tags
        suppressed = False

        async def send_with_etag(message: Message) -> None:
            nonlocal suppressed
            if message["type"] == "http.response.start" and message["status"] == 200:
                if any_tag:
                    # "If-None-Match: *" matches any existing representation (RFC 9110 13.1.2).
                    suppressed = True
                    await _not_modified(send, cached)
                    return
                message["headers"] = [*message.get("headers", ()), *cached]
            elif suppressed:
                return
            await send(message)

        await self.app(scope, receive, send_with_etag)


async def _not_modified(send: Send, headers: Iterable[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": 304, "headers": list(headers)})
    await send({"type": "http.response.body", "body": b""})
