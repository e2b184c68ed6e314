"""Rate limiting in the real server: `snapshot-api serve` with real lookups, 1 and 2 workers.

The limiter's own behaviour is pinned down against a tiny app in
`test_ratelimit.py`; this checks the wiring: the middleware in the real stack
(CORS outside it, so 429s are readable by browsers), the batch handler
charging per 50 distinct items, exempt routes, the shared table of a
multi-worker server (one limit for the whole server; file removed at exit),
and uvicorn's own proxy-header handling being off.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytest.importorskip("snapshot_api.server.command", reason="the HTTP server is not in this tree")

from conftest import ServerProcess, start_server
from handmade import ALBUM, SHARED_ISRC, TRACK

from snapshot_api.server.ratelimit_table import shared_memory_dir

pytestmark = pytest.mark.slow


def table_files() -> set[Path]:
    return set(shared_memory_dir().glob("snapshot-api-ratelimit-*"))


@pytest.fixture(scope="module")
def limited(hand_snapshot: Path) -> Iterator[ServerProcess]:
    """One worker, 1 token/s, burst 30; only 127.0.0.1 trusted, so 127.0.0.2 is a plain client."""
    server = start_server(
        hand_snapshot, "--rate", "1", "--burst", "30", "--trusted-proxy", "127.0.0.1/32"
    )
    yield server
    assert server.stop() == 0


def test_lookups_carry_the_fields_and_429s_are_readable_cross_origin(
    limited: ServerProcess,
) -> None:
    headers = {"x-forwarded-for": "203.0.113.1", "origin": "https://tagger.example"}
    with httpx.Client(base_url=limited.url, headers=headers) as client:
        first = client.get(f"/lookup/track/{TRACK[1]}")
        assert first.status_code == 200
        assert first.headers["ratelimit-policy"] == '"ip";q=30;w=30'
        assert first.headers["ratelimit"] == '"ip";r=29;t=1'
        exposed_list = first.headers["access-control-expose-headers"].split(",")
        exposed = {name.strip().lower() for name in exposed_list}
        assert {"ratelimit", "ratelimit-policy", "retry-after"} <= exposed
        statuses = [client.get(f"/lookup/isrc/{SHARED_ISRC}").status_code for _ in range(30)]
        assert statuses.count(429) >= 1
        refused = client.get(f"/lookup/album/{ALBUM[1]}")
        assert refused.status_code == 429
        assert refused.headers["access-control-allow-origin"] == "*"
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["error"]["code"] == "rate_limited"
        for path in ("/health", "/ready", "/metrics"):
            response = client.get(path)
            assert response.status_code == 200, path
            assert "ratelimit" not in response.headers


def test_batch_is_charged_per_started_fifty_distinct_items(limited: ServerProcess) -> None:
    def tokens_left(response: httpx.Response) -> int:
        return int(response.headers["ratelimit"].split(";")[1].removeprefix("r="))

    headers = {"x-forwarded-for": "203.0.113.2"}
    with httpx.Client(base_url=limited.url, headers=headers) as client:
        ids = [TRACK[n] for n in range(1, 11)]
        unknown = [f"{n:022d}" for n in range(110)]
        small = client.post("/batch/lookup", json={"tracks": ids * 5})  # 10 distinct: 1 token
        assert small.status_code == 200
        assert tokens_left(small) == 29
        large = client.post("/batch/lookup", json={"tracks": ids + unknown})  # 120: 3 tokens
        assert large.status_code == 200
        assert tokens_left(large) in (26, 27)  # 27 if a second passed in between


def test_forwarded_for_from_an_untrusted_peer_is_ignored(limited: ServerProcess) -> None:
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=limited.url, transport=transport) as client:
        statuses = [
            client.get("/lookup/track/" + TRACK[2], headers={"x-forwarded-for": f"198.51.100.{n}"})
            for n in range(35)
        ]
    assert [r.status_code for r in statuses].count(429) >= 4, "one bucket, whatever the header"


def test_uvicorn_does_not_rewrite_the_peer(hand_snapshot: Path) -> None:
    """Loopback not trusted here: uvicorn's proxy headers (which trust 127.0.0.1) must be off."""
    server = start_server(
        hand_snapshot, "--rate", "0.01", "--burst", "3", "--trusted-proxy", "10.0.0.0/8"
    )
    try:
        with httpx.Client(base_url=server.url) as client:
            statuses = [
                client.get(
                    "/lookup/track/" + TRACK[4], headers={"x-forwarded-for": f"198.51.100.{n}"}
                ).status_code
                for n in range(5)
            ]
    finally:
        assert server.stop() == 0
    assert statuses == [200, 200, 200, 429, 429]


def test_two_workers_share_one_limit_and_clean_up(hand_snapshot: Path) -> None:
    before = table_files()
    server = start_server(hand_snapshot, "--workers", "2", "--rate", "20", "--burst", "40")
    try:
        assert len(table_files() - before) == 1, "serve made one shared table"
        limits = httpx.Limits(max_keepalive_connections=0)  # spread over both workers
        headers = {"x-forwarded-for": "203.0.113.3"}
        admitted = refused = 0
        with httpx.Client(base_url=server.url, limits=limits, headers=headers) as client:
            start = time.monotonic()
            while time.monotonic() - start < 4.0:
                status = client.get(f"/lookup/track/{TRACK[3]}").status_code
                assert status in (200, 429)
                admitted += status == 200
                refused += status == 429
            elapsed = time.monotonic() - start
    finally:
        assert server.stop() == 0
    assert refused > admitted
    expected = 40 + 20 * elapsed
    assert abs(admitted - expected) <= 0.05 * expected, (admitted, expected)
    assert table_files() == before, "the shared table is removed when serve stops"
