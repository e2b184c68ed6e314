"""What the rate limiter adds to a request, in µs: `python -m tools.ratelimit_overhead`.

Calls a do-nothing ASGI app directly, then through `RateLimitMiddleware`, in
this process (no sockets: the figure is the middleware alone), for direct
clients, clients behind a trusted proxy and IPv6 clients, with a private table
(one worker), a shared one (several workers: adds two `fcntl` calls), and
Redis (a fleet: one round trip per request; `--redis URL`, or a temporary
`redis-server` on a free loopback port). Every configuration is timed
`--repeat` times in CPU time of this process, and the best run is reported:
other processes on a shared machine only ever add. For Redis the wall time
per request is reported too: the round trip waits for another process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from snapshot_api.config import ServeSettings
from snapshot_api.server.ratelimit import RateLimitMiddleware, create_shared_state

App = Callable[[Any, Any, Any], Awaitable[None]]


async def hello(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b""}


async def discard(message: Any) -> None:
    return None


def scopes(kind: str, count: int = 1000) -> list[dict[str, Any]]:
    result = []
    for n in range(count):
        headers = [(b"host", b"example.org")]
        if kind == "direct":
            peer = f"203.0.{n // 250}.{n % 250 + 1}"
        elif kind == "proxied":
            peer = "127.0.0.1"
            headers.append((b"x-forwarded-for", f"1.1.1.1, 203.0.{n // 250}.{n % 250}".encode()))
        else:
            peer = f"2001:db8:{n:x}::1"
        result.append({"type": "http", "path": "/lookup/track/x", "client": (peer, 5000),
                       "headers": headers})  # fmt: skip
    return result


async def per_request(app: App, cases: list[dict[str, Any]], rounds: int) -> tuple[float, float]:
    """(CPU µs, wall µs) per request."""
    start, wall = time.process_time(), time.perf_counter()
    for n in range(rounds):
        await app(dict(cases[n % len(cases)]), receive, discard)
    cpu = (time.process_time() - start) / rounds * 1e6
    return cpu, (time.perf_counter() - wall) / rounds * 1e6


def best(app: App, cases: list[dict[str, Any]], rounds: int, repeat: int) -> float:
    return min(asyncio.run(per_request(app, cases, rounds))[0] for _ in range(repeat))


def best_both(
    make: Callable[[], App], cases: list[dict[str, Any]], rounds: int, repeat: int
) -> tuple[float, float]:
    """Best CPU and best wall time; `make` builds the app inside each run's event loop."""

    async def one() -> tuple[float, float]:
        app = make()
        try:
            return await per_request(app, cases, rounds)
        finally:
            store = getattr(app, "redis", None)
            if store is not None:
                await store.aclose()

    runs = [asyncio.run(one()) for _ in range(repeat)]
    return min(cpu for cpu, _ in runs), min(wall for _, wall in runs)


@contextlib.contextmanager
def temporary_redis() -> Iterator[str]:
    """A `redis-server` on a free loopback port, no persistence, stopped afterwards."""
    program = shutil.which("redis-server")
    if program is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as directory:
        process = subprocess.Popen(
            [program, "--bind", "127.0.0.1", "--port", str(port), "--dir", directory,
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit("redis-server did not start") from None
                    time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.ratelimit_overhead", description=__doc__)
    parser.add_argument("--rounds", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--redis", metavar="URL", help="an existing Redis (default: start one)")
    args = parser.parse_args(argv)
    # A huge rate: every request is admitted, so the common path is what is timed.
    settings = ServeSettings(rate=1e9, burst=1_000_000_000)
    baseline = best(hello, scopes("direct"), args.rounds, args.repeat)
    print(f"{'bare app':34} {baseline:6.2f} us per request")
    private = RateLimitMiddleware(hello, settings)
    for kind in ("direct", "proxied", "ipv6"):
        cost = best(private, scopes(kind), args.rounds, args.repeat) - baseline
        print(f"{'+ limiter, one worker, ' + kind:34} {cost:6.2f} us")
    shared_settings = ServeSettings(rate=1e9, burst=1_000_000_000, workers=2)
    with create_shared_state(shared_settings):
        shared = RateLimitMiddleware(hello, shared_settings)
        for kind in ("direct", "proxied"):
            cost = best(shared, scopes(kind), args.rounds, args.repeat) - baseline
            print(f"{'+ limiter, shared table, ' + kind:34} {cost:6.2f} us")
    with contextlib.ExitStack() as stack:
        url = args.redis or stack.enter_context(temporary_redis())
        redis_settings = ServeSettings(rate=1e9, burst=1_000_000_000, rate_limit_redis=url)
        rounds = max(1000, args.rounds // 20)  # a round trip each: fewer rounds suffice
        for kind in ("direct", "proxied"):
            cpu, wall = best_both(
                lambda: RateLimitMiddleware(hello, redis_settings),
                scopes(kind),
                rounds,
                args.repeat,
            )
            print(
                f"{'+ limiter, redis, ' + kind:34} {cpu - baseline:6.2f} us CPU, "
                f"{wall - baseline:6.2f} us wall"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
