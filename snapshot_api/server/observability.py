"""The outermost middleware: request id, access log, request metrics, last-resort 500.

`RequestContextMiddleware` wraps everything else, so it sees every answer,
including 304s, preflights, 429s and errors, and times the whole request. It
also is the one place that catches an unexpected exception: the traceback goes
to the log with the request id, the client gets a JSON 500 naming that id and
nothing else.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable, Sequence

import structlog
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from snapshot_api.server import metrics
from snapshot_api.server.errors import ErrorCode, error_body
from snapshot_api.server.routing import RouteTable

REQUEST_ID_HEADER = b"x-request-id"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE",
                           "CONNECT"})  # fmt: skip
"""Methods kept as metric labels; anything else a client invents is counted as "other"."""
_ACCEPTED_REQUEST_ID = re.compile(rb"[\x21-\x7e]{1,128}")
"""An incoming X-Request-ID is kept when it is 1-128 visible ASCII characters."""


def _request_id(scope: Scope) -> bytes:
    for key, value in scope["headers"]:
        if key == REQUEST_ID_HEADER:
            if _ACCEPTED_REQUEST_ID.fullmatch(value):
                return bytes(value)
            break
    return b"%032x" % random.getrandbits(128)


def peer_address(scope: Scope) -> str:
    """The TCP peer's address (used until the rate limiter's client resolution is wired)."""
    client = scope.get("client")
    return str(client[0]) if client else "-"


class RequestContextMiddleware:
    """Request id in and out, one access line and the request metrics per request.

    `headers` are added to every answer (the CORS headers): here, because this
    is the one place every answer passes through, whoever made it.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: RouteTable,
        client_of: Callable[[Scope], str] = peer_address,
        headers: Sequence[tuple[bytes, bytes]] = (),
    ) -> None:
        self.app = app
        self.headers = tuple(headers)
        self.routes = routes
        self.client_of = client_of
        self.access = structlog.get_logger("snapshot_api.access")
        self.log = structlog.get_logger("snapshot_api.server")
        self.pid = os.getpid()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        self.routes.resolve(scope)
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id.decode()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", ()),
                    (REQUEST_ID_HEADER, request_id),
                    *self.headers,
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            status = status or 499  # nginx's "client closed request": nobody is left to answer
        except Exception:
            self.log.exception(
                "unhandled error",
                method=scope["method"],
                path=scope["path"],
                request_id=request_id.decode(),
            )
            if status == 0:
                status = 500
                await _internal_error(send, [(REQUEST_ID_HEADER, request_id), *self.headers])
        finally:
            duration = time.perf_counter() - started
            route = self.routes.template(scope)
            method = scope["method"]
            metrics.observe_request(
                route, method if method in KNOWN_METHODS else "other", status, duration
            )
            self.access.info(
                "request",
                method=method,
                route=route,
                path=scope["path"],
                status=status,
                duration_ms=round(duration * 1000, 3),
                client=self.client_of(scope),
                request_id=request_id.decode(),
                pid=self.pid,
            )


async def _internal_error(send: Send, extra: list[tuple[bytes, bytes]]) -> None:
    body = error_body(
        ErrorCode.INTERNAL,
        "internal error; the server log has the details under this request's X-Request-ID",
    )
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *extra,
    ]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})
