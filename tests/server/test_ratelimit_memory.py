"""Memory stays bounded by the client cap, however many clients come.

The whole request path of the limiter (address resolution through a trusted
proxy, the bucket table, the headers) is driven through its ASGI interface in
this process, where `sys.getallocatedblocks()` counts every object Python
keeps; the
HTTP-level version of this check (a real uvicorn, the server's RSS) lives in
`test_ratelimit.py`.
"""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import sys
from typing import Any

from snapshot_api.config import ServeSettings
from snapshot_api.server.ratelimit import RateLimitMiddleware

CLIENTS = 100_000
CAP = 1_000


async def hello(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def proxied_scope(client: str) -> dict[str, Any]:
    return {
        "type": "http",
        "path": "/lookup/track/x",
        "client": ("127.0.0.1", 50000),
        "headers": [(b"x-forwarded-for", f"1.1.1.1, {client}".encode())],
    }


async def noop_receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b""}


def test_hundred_thousand_clients_leave_memory_bounded_by_the_cap() -> None:
    middleware = RateLimitMiddleware(
        hello, ServeSettings(rate=1.0, burst=5, rate_limit_clients=CAP)
    )
    assert middleware.table is not None
    statuses: dict[int, int] = {}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses[message["status"]] = statuses.get(message["status"], 0) + 1

    def client(n: int) -> str:
        # Half IPv4, half IPv6 in distinct /64s: every one a new client.
        if n % 2:
            return str(ipaddress.IPv4Address(0x0B000000 + n))
        return str(ipaddress.IPv6Address((0x20010DB8 << 96) + (n << 64) + 1))

    async def drive(clients: list[str]) -> None:
        for address in clients:
            await middleware(proxied_scope(address), noop_receive, send)

    asyncio.run(drive([client(n) for n in range(2 * CAP)]))  # warm up: the table fills
    newcomers = [client(n) for n in range(2 * CAP, CLIENTS)]
    gc.collect()
    before = sys.getallocatedblocks()
    asyncio.run(drive(newcomers))
    gc.collect()
    after = sys.getallocatedblocks()
    stats = middleware.table.stats()
    assert statuses == {200: CLIENTS}, "every new client gets a fresh bucket"
    assert stats.capacity == CAP
    assert stats.occupied <= CAP and stats.tracked <= CAP
    assert stats.tracked > CAP // 2, "the table really was under pressure"
    # Anything kept per client (a dict entry, a bucket object) is at least one
    # block per client: 98,000 here.
    assert after - before < 1000, f"{after - before} more memory blocks in use"


def test_a_client_that_keeps_coming_is_not_evicted_by_a_crowd() -> None:
    """A client active within its refill time keeps its drained bucket while idle slots exist."""
    middleware = RateLimitMiddleware(
        hello, ServeSettings(rate=0.001, burst=3, rate_limit_clients=64)
    )
    results: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            results.append(message["status"])

    async def drive() -> None:
        for _ in range(4):
            await middleware(proxied_scope("203.0.113.9"), noop_receive, send)
        assert results[-1] == 429
        # Fewer newcomers than free slots: nobody has to be evicted.
        for n in range(32):
            await middleware(proxied_scope(f"198.51.100.{n}"), noop_receive, send)
        await middleware(proxied_scope("203.0.113.9"), noop_receive, send)

    asyncio.run(drive())
    assert results[-1] == 429, "the drained client is still remembered"
