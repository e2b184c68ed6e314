"""A fleet sharing one limit through a real Redis: two `snapshot-api serve` processes.

One server runs one worker, the other `--workers 2`; both are given the same
`--rate-limit-redis`. One client hammers both, alternately, over new
connections (so the kernel spreads them over the second server's workers), and
gets the limit of one server. Then Redis is killed: no request fails, they are
served unlimited and counted; Redis comes back: limiting resumes by itself.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.support.handmade import SHARED_ISRC
from tests.support.redis_server import RedisServer
from tests.support.server_process import ServerProcess, start_server

pytestmark = pytest.mark.slow

RATE, BURST = 8, 16
THREADS = 4
LOOKUP = f"/lookup/isrc/{SHARED_ISRC}"
WARNING = "rate limiter cannot use redis; serving without limiting"


@pytest.fixture
def fleet(hand_snapshot: Path, own_redis: RedisServer) -> Iterator[list[ServerProcess]]:
    options = ["--rate", str(RATE), "--burst", str(BURST), "--rate-limit-redis", own_redis.url]
    servers = [start_server(hand_snapshot, *options)]
    try:
        servers.append(start_server(hand_snapshot, *options, "--workers", "2"))
        yield servers
    finally:
        for server in servers:
            server.stop()  # SIGTERM: a SIGKILLed supervisor would orphan its workers


Timed = tuple[float, float, int]
"""One request: when it was sent, when its answer came, its status (0: transport error)."""


def hammer(servers: list[ServerProcess], seconds: float, until_429: bool = False) -> list[Timed]:
    """Statuses of requests sent by four threads alternately to every server for `seconds`.

    Several threads, so the bucket never waits for a slow answer: what is admitted
    is the bucket's doing, not the client's. A transport error is recorded as 0.
    With `until_429`, every thread stops at the first 429 anyone saw.
    """
    results: list[list[Timed]] = [[] for _ in range(THREADS)]
    with ThreadPoolExecutor(THREADS) as pool:
        jobs = [
            pool.submit(_hammer_one, servers, seconds, until_429, results[n], results)
            for n in range(THREADS)
        ]
        for job in jobs:
            job.result()
    return sorted(request for requests in results for request in requests)


def _hammer_one(
    servers: list[ServerProcess],
    seconds: float,
    until_429: bool,
    requests: list[Timed],
    everyone: list[list[Timed]],
) -> None:
    limits = httpx.Limits(max_keepalive_connections=0)
    clients = [httpx.Client(base_url=s.url, limits=limits, timeout=10) for s in servers]
    try:
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            for client in clients:
                sent = time.monotonic()
                try:
                    status = client.get(LOOKUP).status_code
                except httpx.TransportError:
                    status = 0
                requests.append((sent, time.monotonic(), status))
            if until_429 and any(r[2] == 429 for mine in everyone for r in mine):
                break
    finally:
        for client in clients:
            client.close()


def unlimited_total(server: ServerProcess) -> float:
    text = httpx.get(server.url + "/metrics").text
    found = re.findall(r"^rate_limit_unlimited_requests_total\{[^}]*\} ([0-9.e+]+)$", text, re.M)
    return sum(float(value) for value in found)


def test_two_servers_share_one_limit_and_survive_redis_going_away(
    fleet: list[ServerProcess], own_redis: RedisServer
) -> None:
    health = httpx.get(fleet[0].url + "/health").json()["rate_limit"]
    assert health == {"store": "redis", "url": own_redis.url, "limiting": True}

    # 1. One limit for the fleet: burst + rate x seconds, not twice that. The seconds are
    # those between the first and the last take from the bucket, which happen somewhere
    # between sending and answering: the bound is taken over the shortest and the
    # longest window they allow (on a quiet machine the two are a few ms apart).
    requests = hammer(fleet, 5.0)
    statuses = [status for _, _, status in requests]
    assert set(statuses) <= {200, 429}, statuses
    admitted = statuses.count(200)
    assert statuses.count(429) > admitted, "the client sent well above the rate"
    troubles = [line for server in fleet for line in server.lines if line.get("event") == WARNING]
    assert not troubles, "Redis answered in time throughout"
    shortest = max(r[0] for r in requests) - min(r[1] for r in requests)
    longest = max(r[1] for r in requests) - min(r[0] for r in requests)
    low, high = BURST + RATE * shortest, BURST + RATE * longest
    assert 0.95 * low <= admitted <= 1.05 * high, (admitted, low, high)
    for server in fleet:
        assert any(line.get("status") == 200 for line in server.events("request"))
    worker_pids = {line.get("pid") for line in fleet[1].events("request")}
    assert len(worker_pids) == 2, "both workers of the second server answered"

    # 2. Redis killed: nothing fails, everything is served, counted, and /health says so.
    own_redis.kill()
    statuses = [status for _, _, status in hammer(fleet, 3.0)]
    assert statuses and set(statuses) == {200}, "no request failed, none was limited"
    assert httpx.get(fleet[0].url + "/health").json()["rate_limit"]["limiting"] is False
    assert unlimited_total(fleet[0]) > 0
    assert unlimited_total(fleet[1]) > 0
    for server in fleet:
        warnings = [line for line in server.lines if line.get("event") == WARNING]
        per_process = [w.get("pid") for w in warnings]
        assert warnings, "the trouble is logged"
        assert all(per_process.count(pid) == 1 for pid in per_process), "at most one in 10 s"
        assert "error" in warnings[0] and "reason" in warnings[0]

    # 3. Redis back (empty, on the same port): limiting resumes by itself within seconds.
    own_redis.start()
    back = time.monotonic()
    statuses = [status for _, _, status in hammer(fleet, 15.0, until_429=True)]
    assert set(statuses) <= {200, 429}, statuses
    assert 429 in statuses, "limiting came back"
    assert time.monotonic() - back < 10
    # The 429 may have come from the other server: this one resumes at its next try.
    deadline = time.monotonic() + 10
    while True:
        httpx.get(fleet[0].url + LOOKUP)
        if httpx.get(fleet[0].url + "/health").json()["rate_limit"]["limiting"]:
            break
        assert time.monotonic() < deadline, "the single-worker server resumed limiting"
        time.sleep(0.2)
