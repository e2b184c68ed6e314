"""Rate limiting over real HTTP: a real uvicorn on 127.0.0.1 serving a tiny app (support).

Clients are told apart by `X-Forwarded-For` sent from loopback (a trusted
proxy by default), or by connecting from another loopback address, so every
test uses its own clients and never waits for another test's buckets.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.ratelimit_app import RunningServer, blast, process_rss

pytestmark = pytest.mark.slow

_clients = itertools.count(1)


def new_client() -> dict[str, str]:
    """Headers that make the next requests come from a client no test has used."""
    n = next(_clients)
    return {"x-forwarded-for": f"203.0.{n // 250}.{n % 250 + 1}"}


@pytest.fixture(scope="module")
def steady() -> Iterator[RunningServer]:
    """8 tokens per second, burst 16: for counting admissions over seconds.

    Low enough that a sequential client outpaces it even on a loaded machine
    (each request has ~30 ms), high enough that 5% is more than one token.
    """
    with RunningServer("--rate", "8", "--burst", "16") as server:
        yield server


@pytest.fixture(scope="module")
def slow() -> Iterator[RunningServer]:
    """1 token per second, burst 4, a proxy chain trusted: exact header values."""
    options = ["--rate", "1", "--burst", "4"]
    options += ["--trusted-proxy", "127.0.0.1/32", "--trusted-proxy", "10.0.0.0/8"]
    with RunningServer(*options) as server:
        yield server


@pytest.fixture(scope="module")
def frozen() -> Iterator[RunningServer]:
    """A token per 20 s, burst 30: no refill within a test, so costs show exactly."""
    with RunningServer("--rate", "0.05", "--burst", "30") as server:
        yield server


def test_admissions_match_burst_plus_rate_times_seconds(steady: RunningServer) -> None:
    """Two clients, interleaved, well above the rate: each gets burst + rate x seconds."""
    clients = [new_client(), new_client()]
    admitted = [0, 0]
    refused = [0, 0]
    with httpx.Client(base_url=steady.url) as client:
        start = time.monotonic()
        while time.monotonic() - start < 5.0:
            for n, headers in enumerate(clients):
                status = client.get("/thing", headers=headers).status_code
                assert status in (200, 429)
                admitted[n] += status == 200
                refused[n] += status == 429
        elapsed = time.monotonic() - start
    expected = 16 + 8 * elapsed
    for n in range(2):
        assert refused[n] > admitted[n], "each client sent well above the rate"
        assert abs(admitted[n] - expected) <= 0.05 * expected, (n, admitted[n], expected)


def test_headers_and_retry_after_follow_the_bucket(slow: RunningServer) -> None:
    with httpx.Client(base_url=slow.url, headers=new_client()) as client:
        seen = []
        for _ in range(4):
            response = client.get("/thing")
            assert response.status_code == 200
            assert response.headers["ratelimit-policy"] == '"ip";q=4;w=4'
            seen.append(response.headers["ratelimit"])
        # Tokens left fall by one; the time until full grows by one second each.
        assert seen == ['"ip";r=3;t=1', '"ip";r=2;t=2', '"ip";r=1;t=3', '"ip";r=0;t=4']
        refused = client.get("/thing")
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
        assert refused.headers["ratelimit"] == '"ip";r=0;t=4'
        assert refused.headers["ratelimit-policy"] == '"ip";q=4;w=4'
        assert refused.headers["content-type"] == "application/json"
        assert refused.headers["cache-control"] == "no-store"
        error = refused.json()["error"]
        assert error["code"] == "rate_limited"
        assert error["retry_after"] == 1
        assert "retry in 1 s" in error["message"]
        time.sleep(1.0)
        assert client.get("/thing").status_code == 200, "Retry-After was long enough"


def test_exempt_routes_are_never_limited(slow: RunningServer) -> None:
    with httpx.Client(base_url=slow.url, headers=new_client()) as client:
        while client.get("/thing").status_code != 429:
            pass
        for path in ("/health", "/ready", "/metrics") * 5:
            response = client.get(path)
            assert response.status_code == 200
            assert "ratelimit" not in response.headers
            assert "ratelimit-policy" not in response.headers
        # Unknown routes are not exempt: a scanner pays like anyone else.
        assert client.get("/no/such/route").status_code == 429


def test_batch_costs_a_token_per_started_fifty_distinct_items(frozen: RunningServer) -> None:
    def batch(client: httpx.Client, items: list[str]) -> httpx.Response:
        return client.post("/batch/lookup", json={"items": items})

    def items(n: int) -> list[str]:
        return [f"item-{i}" for i in range(n)]

    def left(response: httpx.Response) -> str:
        return response.headers["ratelimit"].split(";")[1]

    with httpx.Client(base_url=frozen.url, headers=new_client()) as client:
        assert left(batch(client, items(1))) == "r=29"
        assert left(batch(client, items(50))) == "r=28"
        assert left(batch(client, items(51))) == "r=26"
        assert left(batch(client, items(100) * 3)) == "r=24", "duplicates count once"
        refused = batch(client, items(10_000))  # costs the whole burst, 30
        assert refused.status_code == 429
        assert left(refused) == "r=24", "a refused batch costs nothing"
        assert refused.headers["retry-after"] == str(int((30 - 24) / 0.05))
        assert refused.json()["error"]["code"] == "rate_limited"
        assert left(client.get("/thing")) == "r=23"
    with httpx.Client(base_url=frozen.url, headers=new_client()) as client:
        response = batch(client, items(10_000))
        assert response.status_code == 200, "a batch never costs more than the burst"
        assert left(response) == "r=0"


def test_forged_forwarded_for_from_an_untrusted_peer_is_ignored(slow: RunningServer) -> None:
    # 127.0.0.2 is a loopback address, but only 127.0.0.1/32 is trusted here.
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=slow.url, transport=transport) as client:
        forged = [{"x-forwarded-for": f"198.51.100.{n}"} for n in range(1, 10)]
        assert client.get("/whoami", headers=forged[0]).json() == {"client": "127.0.0.2"}
        statuses = [client.get("/thing", headers=headers).status_code for headers in forged]
        assert statuses[:3] == [200] * 3  # /whoami took the first token
        assert set(statuses[3:]) == {429}, "every forged address drew from the peer's bucket"


def test_trusted_proxy_chain_gives_the_right_most_untrusted_address(
    slow: RunningServer,
) -> None:
    with httpx.Client(base_url=slow.url) as client:
        chain = "6.6.6.6, 203.0.113.77, 10.0.0.1, 10.20.30.40"
        response = client.get("/whoami", headers={"x-forwarded-for": chain})
        assert response.json() == {"client": "203.0.113.77"}
        # The client controls the left part; whatever it writes there, one bucket.
        statuses = [
            client.get("/thing", headers={"x-forwarded-for": f"6.6.6.{n}, {chain[9:]}"})
            for n in range(6)
        ]
        assert [r.status_code for r in statuses] == [200, 200, 200, 429, 429, 429]
        # Several X-Forwarded-For fields are one list, in order.
        split = {"x-forwarded-for": "203.0.113.78"}
        response = client.get("/whoami", headers=[*split.items(), ("x-forwarded-for", "10.0.0.9")])
        assert response.json() == {"client": "203.0.113.78"}


def test_ipv6_clients_are_keyed_by_their_64(slow: RunningServer) -> None:
    def get(address: str) -> httpx.Response:
        return httpx.get(slow.url + "/thing", headers={"x-forwarded-for": address})

    assert [get(f"2001:db8:1:2::{n}").status_code for n in range(1, 5)] == [200] * 4
    refused = get("2001:db8:1:2:ffff:ffff:ffff:9")  # same /64: same bucket
    assert refused.status_code == 429
    assert "2001:db8:1:2::/64" in refused.json()["error"]["message"]
    assert get("2001:db8:1:3::1").status_code == 200, "the next /64 is another client"
    assert get("[2001:db8:1:4::1]:443").status_code == 200


def test_limiting_off_means_no_fields_and_no_refusals() -> None:
    with RunningServer("--rate", "0") as server, httpx.Client(base_url=server.url) as client:
        for _ in range(50):
            response = client.get("/thing")
            assert response.status_code == 200
            assert "ratelimit" not in response.headers


def test_two_workers_share_one_limit() -> None:
    """The limit is the configured one for the whole server, not per worker process."""
    with RunningServer("--rate", "8", "--burst", "16", "--workers", "2") as server:
        # A new connection per request, so the kernel spreads them over both workers.
        limits = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=server.url, limits=limits, headers=new_client()) as client:
            pids: set[int] = set()
            admitted = refused = 0
            start = time.monotonic()
            while time.monotonic() - start < 5.0:
                response = client.get("/thing")
                if response.status_code == 200:
                    admitted += 1
                    pids.add(response.json()["pid"])
                else:
                    assert response.status_code == 429
                    refused += 1
            elapsed = time.monotonic() - start
    assert len(pids) == 2, "both workers answered"
    assert refused > admitted
    expected = 16 + 8 * elapsed
    assert abs(admitted - expected) <= 0.05 * expected, (admitted, expected)


def test_many_clients_over_http_stay_within_the_cap() -> None:
    cap, clients = 1_000, 20_000
    requests = [
        b"GET /thing HTTP/1.1\r\nhost: t\r\nx-forwarded-for: 10.%d.%d.%d\r\n\r\n"
        % (n >> 16 & 255, n >> 8 & 255, n & 255)
        for n in range(clients)
    ]
    options = ["--rate", "1", "--burst", "5", "--rate-limit-clients", str(cap)]
    with RunningServer(*options) as server:
        assert blast(server.port, requests[: 2 * cap]) == {200: 2 * cap}
        rss_before = process_rss(server.process.pid)
        assert blast(server.port, requests[2 * cap :]) == {200: clients - 2 * cap}
        rss_after = process_rss(server.process.pid)
        stats = httpx.get(server.url + "/stats").json()
    assert stats["capacity"] == cap
    assert stats["occupied"] <= cap and stats["tracked"] <= cap
    assert rss_after - rss_before < 2 * 1024 * 1024, (rss_before, rss_after)
