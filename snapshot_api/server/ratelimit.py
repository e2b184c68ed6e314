"""Per-client rate limiting: a pure ASGI middleware over the shared bucket table.

Every request except `/health`, `/ready` and `/metrics` costs one token from
its client's bucket (CONTRACT §3). The client is the address `client_ip`
resolves; an IPv6 client is keyed by its /64, the block one subscriber gets.
The documentation routes (`/docs`, `/openapi.*`) are limited like any other:
they are cheap, but an unlimited route is a free flood target, and no reader
comes near 100 pages a second.

A batch costs one token per started 50 distinct items, capped at the burst.
Counting items needs the parsed body, which only the batch handler has, so
the middleware charges the usual single token up front and the handler calls
`charge_batch_items(request.scope, distinct_items)` once it has counted; that
takes the rest. If the rest cannot be paid, the token already taken is given
back (a refused request costs nothing) and `RateLimited` is raised, an
`ApiError` the app renders as the 429 JSON error like any other; the
middleware adds `Retry-After`. An empty or malformed batch still pays its one
token, so bad bodies are not a free flood either.

Headers on every limited route (IETF httpapi rate-limit draft):
`RateLimit-Policy: "ip";q=<burst>;w=<seconds to fill an empty bucket>` and
`RateLimit: "ip";r=<whole tokens left>;t=<seconds until full>`; on a 429 also
`Retry-After: <whole seconds, at least 1, until the refused request fits>`.
The CORS layer lists `RESPONSE_HEADERS` in `Access-Control-Expose-Headers`
and sit outside this middleware, so browsers can read them on 429s too.

Several workers: `serve` calls `create_shared_state(settings)` before it
starts them; the table's path reaches each worker in the environment variable
`STATE_ENV`, and the middleware in each worker maps that same table. With one
worker and no such variable, the table is private to the process. A worker
started with `workers > 1` and no shared table refuses to start rather than
silently give every client `workers` times its limit.
"""

from __future__ import annotations

import math
import os
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from pathlib import Path
from typing import Any

import orjson

from snapshot_api.config import ServeSettings
from snapshot_api.server.client_ip import Address, ClientAddressResolver, format_address
from snapshot_api.server.errors import ApiError, ErrorCode
from snapshot_api.server.ratelimit_table import EPSILON, BucketTable
from snapshot_api.server.routing import policy_of

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

"""Operational routes: probes and scrapes must never be refused."""

RESPONSE_HEADERS = ("RateLimit", "RateLimit-Policy", "Retry-After")
"""What `Access-Control-Expose-Headers` must list for browser clients."""

BATCH_ITEMS_PER_TOKEN = 50

STATE_ENV = "SNAPSHOT_API_INTERNAL_RATE_LIMIT_TABLE"
"""Set by `create_shared_state` for the worker processes; not a user setting."""

_SCOPE_KEY = "snapshot_api.ratelimit"


def bucket_key(address: Address) -> int:
    """The table key of a client: IPv4 address, or IPv6 /64 prefix; never 0.

    IPv4 keys are 2**32 + address, IPv6 keys the top 64 bits of the address.
    They could only meet for IPv6 prefixes inside ::/31, which is reserved and
    never a remote client (::/64 itself, holding ::1, maps to key 1).
    """
    family, value = address
    if family == 4:
        return (1 << 32) | value
    return (value >> 64) or 1


def describe_client(address: Address) -> str:
    """How a client is named in messages: its IPv4 address or its IPv6 /64."""
    family, value = address
    if family == 4:
        return format_address(address)
    return format_address((6, value >> 64 << 64)) + "/64"


def batch_cost(distinct_items: int, burst: int) -> int:
    """Tokens a batch costs: one per started 50 distinct items, at least 1, at most `burst`."""
    return max(1, min(math.ceil(distinct_items / BATCH_ITEMS_PER_TOKEN), burst))


class RateLimited(ApiError):
    """The client's bucket cannot pay for this request (429)."""

    def __init__(self, client: str, retry_after: int, rate: float, burst: int) -> None:
        super().__init__(
            ErrorCode.RATE_LIMITED,
            f"too many requests from {client}: the limit is {rate:g} per second with bursts "
            f"of {burst}; retry in {retry_after} s",
            retry_after=retry_after,
        )
        self.retry_after = retry_after


class _Ticket:
    """What the middleware knows about one admitted request, for `charge` and the headers."""

    __slots__ = ("address", "charged", "key", "limiter", "retry_after", "tokens")

    def __init__(self, limiter: RateLimitMiddleware, address: Address, key: int) -> None:
        self.limiter = limiter
        self.address = address
        self.key = key
        self.charged = 0.0
        self.tokens = 0.0
        self.retry_after = 0


def open_table(settings: ServeSettings, environ: Mapping[str, str] | None = None) -> BucketTable:
    """The shared table named by `STATE_ENV`, or a private one for a single worker."""
    environ = os.environ if environ is None else environ
    path = environ.get(STATE_ENV)
    if path:
        return BucketTable.attach(
            Path(path), settings.rate, settings.burst, settings.rate_limit_clients
        )
    if settings.workers > 1:
        raise RuntimeError(
            f"rate limiting with {settings.workers} workers needs the shared table: the serve "
            f"process must call create_shared_state(settings) before starting them"
        )
    return BucketTable.private(settings.rate, settings.burst, settings.rate_limit_clients)


class SharedState:
    """The shared bucket table of a multi-worker server, owned by the serve parent.

    While open, `STATE_ENV` names it in `os.environ`, which worker processes
    inherit; `close()` removes the variable and the file. Usable as a context
    manager. Disabled (and free) with one worker or rate limiting off.
    """

    def __init__(self, table: BucketTable | None) -> None:
        self.table = table
        self._previous = os.environ.get(STATE_ENV)
        if table is not None and table.path is not None:
            os.environ[STATE_ENV] = str(table.path)

    def close(self) -> None:
        if self.table is None:
            return
        if self._previous is None:
            os.environ.pop(STATE_ENV, None)
        else:
            os.environ[STATE_ENV] = self._previous
        self.table.unlink()
        self.table.close()
        self.table = None

    def __enter__(self) -> SharedState:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def create_shared_state(settings: ServeSettings) -> SharedState:
    """Create the table every worker will share; call before starting uvicorn, `close()` after.

    Free with one worker or limiting off: then there is nothing to share, no
    file is made, and the middleware keeps a private table.
    """
    if not settings.rate_limited or settings.workers < 2:
        return SharedState(None)
    return SharedState(
        BucketTable.create(settings.rate, settings.burst, settings.rate_limit_clients)
    )


class RateLimitMiddleware:
    """Pure ASGI middleware: per-client token buckets, the draft's headers, 429 when empty."""

    def __init__(self, app: ASGIApp, settings: ServeSettings) -> None:
        self.app = app
        self.enabled = settings.rate_limited
        self.rate = settings.rate
        self.burst = settings.burst
        self.resolver = ClientAddressResolver(settings.trusted_proxy)
        self.table = open_table(settings) if self.enabled else None
        window = math.ceil(settings.burst / settings.rate - EPSILON) if self.enabled else 0
        self._policy = (b"ratelimit-policy", f'"ip";q={settings.burst};w={window}'.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.table is None or scope["type"] != "http" or not policy_of(scope).rate_limited:
            await self.app(scope, receive, send)
            return
        address = self.resolver.resolve(scope)
        ticket = _Ticket(self, address, bucket_key(address))
        admitted, ticket.tokens = self.table.take(ticket.key, 1.0)
        if not admitted:
            ticket.retry_after = self._retry_after(ticket.tokens, 1.0)
            await self._refuse(send, ticket)
            return
        ticket.charged = 1.0
        scope[_SCOPE_KEY] = ticket

        async def send_with_fields(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [*message.get("headers", ()), *self._fields(ticket)]
            await send(message)

        await self.app(scope, receive, send_with_fields)

    def charge(self, ticket: _Ticket, cost: float) -> None:
        """Bring what `ticket`'s request paid up to `cost` (at most the burst), or refuse it."""
        assert self.table is not None
        cost = min(float(cost), float(self.burst))
        extra = cost - ticket.charged
        if extra <= 0:
            return
        admitted, ticket.tokens = self.table.take(ticket.key, extra, refund=ticket.charged)
        if admitted:
            ticket.charged = cost
            return
        ticket.charged = 0.0
        ticket.retry_after = self._retry_after(ticket.tokens, cost)
        raise RateLimited(
            describe_client(ticket.address), ticket.retry_after, self.rate, self.burst
        )

    def _retry_after(self, tokens: float, cost: float) -> int:
        return max(1, math.ceil((cost - tokens) / self.rate - EPSILON))

    def _fields(self, ticket: _Ticket) -> list[tuple[bytes, bytes]]:
        tokens = ticket.tokens
        remaining = math.floor(tokens + EPSILON)
        until_full = max(0, math.ceil((self.burst - tokens) / self.rate - EPSILON))
        fields = [self._policy, (b"ratelimit", b'"ip";r=%d;t=%d' % (remaining, until_full))]
        if ticket.retry_after:
            fields.append((b"retry-after", b"%d" % ticket.retry_after))
        return fields

    async def _refuse(self, send: Send, ticket: _Ticket) -> None:
        error = RateLimited(
            describe_client(ticket.address), ticket.retry_after, self.rate, self.burst
        )
        body = orjson.dumps(error.to_json())
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(body)),
            (b"cache-control", b"no-store"),
            *self._fields(ticket),
        ]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def charge(scope: Scope, cost: float) -> None:
    """Make the current request cost `cost` tokens in total; `RateLimited` if it cannot pay.

    A no-op when the request is not rate limited (limiting off, exempt route,
    no middleware), so handlers call it unconditionally.
    """
    ticket: _Ticket | None = scope.get(_SCOPE_KEY)
    if ticket is not None:
        ticket.limiter.charge(ticket, cost)


def charge_batch_items(scope: Scope, distinct_items: int) -> None:
    """Charge a batch for its distinct items: one token per started 50, at most the burst."""
    ticket: _Ticket | None = scope.get(_SCOPE_KEY)
    if ticket is not None:
        ticket.limiter.charge(ticket, batch_cost(distinct_items, ticket.limiter.burst))
