"""uvicorn's httptools protocol with one write per answer, JSON errors, and limits per connection.

One write per answer: uvicorn writes an answer's head and its body with two
`transport.write` calls, and uvloop sends each at once: two TCP segments and
two system calls for every small JSON answer. Profiled under load on this
machine the two sends were over a quarter of the server's CPU time per request
(loopback TCP is costly in this VM). `CoalescingTransport` collects what one
turn of the event loop writes to a connection and sends it with one call at
the end of that turn: a head and body written together leave together, and
nothing is delayed past the turn (a `100 Continue`, or each part of a
streamed answer, still leaves as soon as the task that wrote it yields).

JSON 400: a request that is not valid HTTP (an unknown method, a malformed
request line or header) never reaches the app; uvicorn answers it with a
plain-text 400 itself. The contract says every error is JSON, so this
protocol writes the same 400 with the usual `{"error": {...}}` body.

Limits a public server needs and uvicorn lacks (measured before they existed:
8 connections each sending a never-ending 128 MiB header took a worker from 57
MB to 1.15 GB; 3,000 connections sending one byte every 2 s were all held, and
~20,000 exhausted the process's file descriptors so real clients failed):
- `MAX_HEADER_BYTES` of request line and headers; beyond it, 431 and the
  connection closes (what is buffered stays below the cap plus one read).
- `header_timeout`: the request line and headers must have arrived this many
  seconds after the connection opened or the request's first byte; else 408
  and close. uvicorn's keep-alive timer restarts on every byte, so on its own
  it never ends a client that dribbles.
- `max_connections` per worker: one more is answered 503 `over_capacity` at
  once and closed, so a flood cannot take the file descriptors real clients need.
They are read from `ServerConfig` (a uvicorn `Config` with these fields; it
travels to worker processes by pickling, like uvicorn's own settings).

httptools (with uvloop) is also the fast parser: measured here it served about
1.5x the requests per second of the pure-Python h11 one.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from snapshot_api.server.errors import ErrorCode, error_body


class CoalescingTransport:
    """A transport proxy that sends each event-loop turn's writes with one `write`."""

    __slots__ = ("_loop", "_parts", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._parts:
            self._loop.call_soon(self.flush)
        self._parts.append(data)

    def flush(self) -> None:
        if not self._parts:
            return
        data = self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
        self._parts.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


MAX_HEADER_BYTES = 65_536
"""Request line plus headers. Real clients send a few hundred bytes; Caddy allows 1 MiB
but sends on far less, and 64 KiB is the cap common servers use (Node.js: 16 KiB)."""


class ServerConfig(uvicorn.Config):
    """uvicorn's configuration plus the limits this protocol applies per connection."""

    def __init__(self, app: Any, *, header_timeout: float, max_connections: int, **kw: Any):
        super().__init__(app, **kw)
        self.header_timeout = header_timeout
        self.max_connections = max_connections


_STATUS_TEXT = {400: b"Bad Request", 408: b"Request Timeout", 431: b"Request Header Fields Too "
                b"Large", 503: b"Service Unavailable"}  # fmt: skip


class FastJsonHttpProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        limits = config if isinstance(config, ServerConfig) else None
        self._header_timeout = limits.header_timeout if limits else None
        self._max_connections = limits.max_connections if limits else None
        self._in_head = True
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._last_request = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        proxy = CoalescingTransport(cast(asyncio.Transport, transport), self.loop)
        super().connection_made(proxy)  # type: ignore[arg-type]
        if self._max_connections is not None and len(self.connections) > self._max_connections:
            self._answer_and_close(
                ErrorCode.OVER_CAPACITY,
                f"this server process holds its limit of {self._max_connections} connections; "
                "try again shortly",
            )
            return
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._in_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEADER_BYTES:
                self._answer_and_close(
                    ErrorCode.HEADERS_TOO_LARGE,
                    f"the request line and headers exceed {MAX_HEADER_BYTES} bytes",
                )

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = 0
        self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._cancel_head_timer()
        super().on_headers_complete()
        if self._last_request and self.cycle is not None:
            self.cycle.keep_alive = False

    def shutdown(self) -> None:
        """The server stops: a connection that has not sent its first request yet (the
        server accepted it, so a request is on the way) or is sending a request's head
        gets that request served, then closes. Idle kept-alive connections close now,
        as uvicorn does; the header timeout bounds the wait for a silent one."""
        if self._in_head and not self.transport.is_closing():
            self._last_request = True
            return
        super().shutdown()

    def _arm_head_timer(self) -> None:
        if self._header_timeout is not None and self._head_timer is None:
            self._head_timer = self.loop.call_later(self._header_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._in_head and not self.transport.is_closing():
            self._answer_and_close(
                ErrorCode.REQUEST_TIMEOUT,
                f"the request headers did not arrive within {self._header_timeout:g} s",
            )

    def send_400_response(self, msg: str) -> None:
        self._answer_and_close(ErrorCode.INVALID_REQUEST, f"not a valid HTTP request: {msg}")

    def _answer_and_close(self, code: ErrorCode, message: str) -> None:
        """An error answered by the protocol itself (no request reached the app), as JSON."""
        self._in_head = False
        self._cancel_head_timer()
        body = error_body(code, message)
        status = code.http_status
        content = [b"HTTP/1.1 %d %s\r\n" % (status, _STATUS_TEXT[status])]
        for name, value in self.server_state.default_headers:
            content += [name, b": ", value, b"\r\n"]
        content += [
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"cache-control: no-store\r\n",
            b"access-control-allow-origin: *\r\n",
            b"connection: close\r\n\r\n",
            body,
        ]
        self.transport.write(b"".join(content))
        self.transport.close()
