"""Per-client rate limiting: a pure ASGI middleware over a bucket store.

Every request on a rate-limited route (its policy says so: not `/health`,
`/ready` or `/metrics`) costs one token from its client's bucket. The client is
the address `client_ip` resolves; an IPv6 client is keyed by its /64, the
block one subscriber gets. The documentation routes (`/docs`, `/openapi.*`)
are limited like any other: they are cheap, but an unlimited route is a free
flood target, and no reader comes near 100 pages a second.

A batch costs one token per started 50 distinct items, capped at the burst.
Counting items needs the parsed body, which only the batch handler has, so
the middleware charges the usual single token up front and the handler awaits
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
and sit outside this middleware, so browsers can read them on 429s too. A
request let through unlimited because Redis failed carries the policy but no
`RateLimit` field: there is no bucket to describe.

The store is a shared-memory table (one host) or Redis (a fleet): see `store.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from snapshot_api.config import ServeSettings
from snapshot_api.server.errors import ApiError, ErrorCode
from snapshot_api.server.ratelimit import bucket
from snapshot_api.server.ratelimit.client_ip import Address, ClientAddressResolver
from snapshot_api.server.ratelimit.redis_store import RedisBuckets
from snapshot_api.server.ratelimit.store import Store, open_store
from snapshot_api.server.routing import policy_of

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

RESPONSE_HEADERS = ("RateLimit", "RateLimit-Policy", "Retry-After")
"""What `Access-Control-Expose-Headers` must list for browser clients."""

_SCOPE_KEY = "snapshot_api.ratelimit"


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
        self.tokens: float | None = 0.0
        """Tokens left after this request; None when it passed unlimited (Redis failed)."""
        self.retry_after = 0


class RateLimitMiddleware:
    """Pure ASGI middleware: per-client token buckets, the draft's headers, 429 when empty."""

    def __init__(self, app: ASGIApp, settings: ServeSettings, store: Store | None = None) -> None:
        self.app = app
        self.enabled = settings.rate_limited
        self.rate = settings.rate
        self.burst = settings.burst
        self.resolver = ClientAddressResolver(settings.trusted_proxy)
        if self.enabled and store is None:
            store = open_store(settings)
        self.store = store if self.enabled else None
        self.table = None if isinstance(store, RedisBuckets) else store
        self.redis = store if isinstance(store, RedisBuckets) else None
        window = bucket.window(settings.rate, settings.burst) if self.enabled else 0
        self._policy = (b"ratelimit-policy", f'"ip";q={settings.burst};w={window}'.encode())

    async def _take(self, key: int, cost: float, refund: float = 0.0) -> tuple[bool, float | None]:
        if self.table is not None:
            return self.table.take(key, cost, refund)
        assert self.redis is not None
        result = await self.redis.take(key, cost, refund)
        return (True, None) if result is None else result

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.store is None or scope["type"] != "http" or not policy_of(scope).rate_limited:
            await self.app(scope, receive, send)
            return
        address = self.resolver.resolve(scope)
        ticket = _Ticket(self, address, bucket.bucket_key(address))
        admitted, ticket.tokens = await self._take(ticket.key, 1.0)
        if not admitted:
            assert ticket.tokens is not None
            ticket.retry_after = bucket.retry_after(ticket.tokens, 1.0, self.rate)
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

    async def charge(self, ticket: _Ticket, cost: float) -> None:
        """Bring what `ticket`'s request paid up to `cost` (at most the burst), or refuse it."""
        cost = min(float(cost), float(self.burst))
        extra = cost - ticket.charged
        if extra <= 0:
            return
        admitted, ticket.tokens = await self._take(ticket.key, extra, refund=ticket.charged)
        if admitted:
            ticket.charged = cost
            return
        assert ticket.tokens is not None
        ticket.charged = 0.0
        ticket.retry_after = bucket.retry_after(ticket.tokens, cost, self.rate)
        raise RateLimited(
            bucket.describe_client(ticket.address), ticket.retry_after, self.rate, self.burst
        )

    def _fields(self, ticket: _Ticket) -> list[tuple[bytes, bytes]]:
        tokens = ticket.tokens
        if tokens is None:
            return [self._policy]
        remaining = bucket.whole_tokens(tokens)
        until_full = bucket.whole_seconds_until_full(tokens, self.rate, self.burst)
        fields = [self._policy, (b"ratelimit", b'"ip";r=%d;t=%d' % (remaining, until_full))]
        if ticket.retry_after:
            fields.append((b"retry-after", b"%d" % ticket.retry_after))
        return fields

    async def _refuse(self, send: Send, ticket: _Ticket) -> None:
        error = RateLimited(
            bucket.describe_client(ticket.address), ticket.retry_after, self.rate, self.burst
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


async def charge(scope: Scope, cost: float) -> None:
    """Make the current request cost `cost` tokens in total; `RateLimited` if it cannot pay.

    A no-op when the request is not rate limited (limiting off, exempt route,
    no middleware), so handlers call it unconditionally.
    """
    ticket: _Ticket | None = scope.get(_SCOPE_KEY)
    if ticket is not None:
        await ticket.limiter.charge(ticket, cost)


async def charge_batch_items(scope: Scope, distinct_items: int) -> None:
    """Charge a batch for its distinct items: one token per started 50, at most the burst."""
    ticket: _Ticket | None = scope.get(_SCOPE_KEY)
    if ticket is not None:
        await ticket.limiter.charge(ticket, bucket.batch_cost(distinct_items, ticket.limiter.burst))
