"""Rate limiting wired into the real server: lookup routes, batch cost, exemptions, workers.

The limiter's arithmetic and address rules have their own tests against a
small stand-in app (test_ratelimit*.py, test_client_ip.py); these check that
`snapshot-api serve` applies them to its own routes. Every server here has a
rate so low (one token per 100 s) that no refill happens during a test, so
counts are exact.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from snapshot_api.server.ratelimit.table import FILE_PREFIX, FILE_SUFFIX, shared_memory_dir
from tests.support.handmade import SHARED_ISRC, TRACK
from tests.support.server_process import ServerProcess, start_server

FROZEN = ("--rate", "0.01")


@pytest.fixture
def frozen_server(hand_snapshot: Path) -> Iterator[ServerProcess]:
    server = start_server(hand_snapshot, *FROZEN, "--burst", "5")
    yield server
    server.stop(signal.SIGKILL)


def test_lookups_are_limited_and_status_routes_are_not(frozen_server: ServerProcess) -> None:
    with httpx.Client(base_url=frozen_server.url) as client:
        answers = [client.get(f"/lookup/isrc/{SHARED_ISRC}") for _ in range(7)]
        assert [a.status_code for a in answers] == [200] * 5 + [429] * 2
        assert answers[0].headers["ratelimit-policy"] == '"ip";q=5;w=500'
        assert answers[0].headers["ratelimit"].startswith('"ip";r=4;')
        refused = answers[5]
        assert refused.json()["error"]["code"] == "rate_limited"
        assert int(refused.headers["retry-after"]) >= 1
        assert "RateLimit" in refused.headers["access-control-expose-headers"]
        assert refused.headers["access-control-allow-origin"] == "*"
        health = client.get("/health").json()["rate_limit"]
        assert health == {"store": "memory", "limiting": True}
        for path in ("/health", "/ready", "/metrics"):
            exempt = client.get(path)
            assert exempt.status_code == 200, path
            assert "ratelimit" not in exempt.headers


def test_a_batch_costs_one_token_per_started_fifty_distinct_items(hand_snapshot: Path) -> None:
    server = start_server(hand_snapshot, *FROZEN, "--burst", "5", "--max-batch-items", "1000")
    try:
        with httpx.Client(base_url=server.url) as client:
            items = [f"USABC{n:07d}" for n in range(101)] * 2  # 101 distinct: 3 tokens
            first = client.post("/batch/lookup", json={"isrcs": items})
            assert first.status_code == 200
            assert first.headers["ratelimit"].startswith('"ip";r=2;')
            second = client.post("/batch/lookup", json={"isrcs": items})
            assert second.status_code == 429
            # the refused batch cost nothing: two single lookups still fit
            assert client.get(f"/lookup/track/{TRACK[1]}").status_code == 200
            assert client.get(f"/lookup/track/{TRACK[1]}").status_code == 200
            assert client.get(f"/lookup/track/{TRACK[1]}").status_code == 429
    finally:
        server.stop(signal.SIGKILL)


def table_files(pid: int) -> list[Path]:
    """The shared tables made by process `pid` (other servers may run on this machine)."""
    return list(shared_memory_dir().glob(f"{FILE_PREFIX}{pid}-*{FILE_SUFFIX}"))


def test_two_workers_share_one_limit(hand_snapshot: Path) -> None:
    server = start_server(hand_snapshot, *FROZEN, "--burst", "10", "--workers", "2")
    pid = server.process.pid
    try:
        assert len(table_files(pid)) == 1, "serve made one shared table"
        health = httpx.get(server.url + "/health").json()["rate_limit"]
        assert health == {"store": "shared_memory", "limiting": True}
        statuses = []
        for _ in range(40):  # a new connection each time: the kernel spreads them over workers
            with httpx.Client(base_url=server.url) as client:
                statuses.append(client.get(f"/lookup/isrc/{SHARED_ISRC}").status_code)
        assert statuses.count(200) == 10
        assert statuses.count(429) == 30
        pids = {line.get("pid") for line in server.events("request")}
        assert len(pids) == 2, "both workers answered"
    finally:
        assert server.stop() == 0
    assert table_files(pid) == [], "the shared table is removed when serve stops"


def test_forwarded_for_is_ignored_when_loopback_is_not_trusted(hand_snapshot: Path) -> None:
    """uvicorn's own proxy headers (which trust 127.0.0.1 whatever we say) must be off."""
    server = start_server(hand_snapshot, *FROZEN, "--burst", "3", "--trusted-proxy", "10.0.0.0/8")
    try:
        with httpx.Client(base_url=server.url) as client:
            statuses = [
                client.get(
                    f"/lookup/track/{TRACK[1]}", headers={"X-Forwarded-For": f"198.51.100.{n}"}
                ).status_code
                for n in range(5)
            ]
        assert statuses == [200, 200, 200, 429, 429], "forged addresses share the peer's bucket"
    finally:
        server.stop(signal.SIGKILL)


def test_forwarded_addresses_get_their_own_buckets_and_appear_in_the_log(
    frozen_server: ServerProcess,
) -> None:
    lookup = f"/lookup/isrc/{SHARED_ISRC}"
    with httpx.Client(base_url=frozen_server.url) as client:
        alice = {"X-Forwarded-For": "203.0.113.7"}
        bob = {"X-Forwarded-For": "198.51.100.9, 203.0.113.200"}  # right-most untrusted hop
        assert [client.get(lookup, headers=alice).status_code for _ in range(6)][-1] == 429
        assert client.get(lookup, headers=bob).status_code == 200
        assert client.get(lookup).status_code == 200  # the proxy itself (127.0.0.1)
    # the access lines arrive through the server's stdout: wait for the last request's
    for address in ("203.0.113.7", "203.0.113.200"):
        frozen_server.wait_for(
            lambda line, a=address: line.get("event") == "request" and line.get("client") == a
        )
    clients = {line.get("client") for line in frozen_server.events("request")}
    assert {"203.0.113.7", "203.0.113.200", "127.0.0.1"} <= clients
