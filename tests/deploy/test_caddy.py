"""The shipped Caddyfile: it validates, and Caddy in front keeps client addresses and limits honest.

Debian's `caddy` runs the real file on loopback over plain HTTP (the site
address comes from the environment), in front of the rate-limit test app.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.support.fixtures import ROOT
from tests.support.handmade import SHARED_ISRC
from tests.support.ratelimit_app import RunningServer
from tests.support.server_process import (
    ServerProcess,
    free_port,
    start_server,
    wait_until_answers,
)
from tests.support.tools import require_program

pytestmark = pytest.mark.slow

CADDY = require_program("caddy", "caddy")
CADDYFILE = ROOT / "Caddyfile"
BODY_LIMIT = 2000


def caddy_env(tmp: Path, site: str, upstream: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPSHOT_API_")}
    return {
        **env,
        "HOME": str(tmp),
        "XDG_DATA_HOME": str(tmp / "data"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "SNAPSHOT_API_SITE_ADDRESS": site,
        "SNAPSHOT_API_UPSTREAM": upstream,
        "SNAPSHOT_API_CADDY_ADMIN": "off",
        "SNAPSHOT_API_MAX_BODY_BYTES": str(BODY_LIMIT),
    }


class RunningCaddy:
    """`caddy run` on the shipped Caddyfile, listening on a free loopback port."""

    def __init__(self, tmp: Path, upstream: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "caddy.log"
        env = caddy_env(tmp, self.url, upstream)
        assert CADDY is not None
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [CADDY, "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:  # /metrics is answered by Caddy itself, whatever the upstreams' state
            wait_until_answers(
                self.url + "/metrics",
                self.process,
                timeout=20,
                status=None,
                context=lambda: self.log.read_text()[-2000:],
            )
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def access_log(self) -> list[dict[str, object]]:
        entries = []
        for line in self.log.read_bytes().splitlines():
            entry = orjson.loads(line)  # every line is JSON
            if entry.get("msg") == "handled request":
                entries.append(entry)
        return entries


@pytest.fixture(scope="module")
def proxied(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RunningServer, RunningCaddy]]:
    """The app on loopback (only loopback trusted: the default) with Caddy in front."""
    with RunningServer("--rate", "1", "--burst", "3") as server:
        caddy = RunningCaddy(tmp_path_factory.mktemp("caddy"), f"127.0.0.1:{server.port}")
        try:
            yield server, caddy
        finally:
            caddy.stop()


def client_from(address: str, base_url: str) -> httpx.Client:
    """A client connecting from another loopback address: another real TCP peer."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=base_url, transport=transport)


@pytest.mark.parametrize("site", ["http://127.0.0.1:8443", "api.example.org"])
def test_caddy_validates_the_shipped_caddyfile(tmp_path: Path, site: str) -> None:
    assert CADDY is not None
    result = subprocess.run(
        [CADDY, "validate", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        env=caddy_env(tmp_path, site, "127.0.0.1:8080"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr


def test_caddyfile_is_in_canonical_format() -> None:
    assert CADDY is not None
    formatted = subprocess.run(
        [CADDY, "fmt", str(CADDYFILE)], capture_output=True, text=True, timeout=60, check=True
    )
    assert formatted.stdout == CADDYFILE.read_text()


def test_server_sees_the_real_client_not_a_forged_header(
    proxied: tuple[RunningServer, RunningCaddy],
) -> None:
    _, caddy = proxied
    with client_from("127.0.0.8", caddy.url) as client:
        response = client.get("/whoami", headers={"x-forwarded-for": "6.6.6.6, 7.7.7.7"})
    assert response.status_code == 200
    assert response.json() == {"client": "127.0.0.8"}


def test_rate_limiting_works_through_the_proxy(
    proxied: tuple[RunningServer, RunningCaddy],
) -> None:
    _, caddy = proxied
    with client_from("127.0.0.9", caddy.url) as client:
        responses = [
            client.get("/thing", headers={"x-forwarded-for": f"6.6.6.{n}"}) for n in range(5)
        ]
    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
    assert [r.headers["ratelimit"] for r in responses[:3]] == [
        '"ip";r=2;t=1',
        '"ip";r=1;t=2',
        '"ip";r=0;t=3',
    ]
    assert responses[3].headers["retry-after"] == "1"
    assert responses[3].headers["ratelimit-policy"] == '"ip";q=3;w=3'
    assert responses[3].json()["error"]["code"] == "rate_limited"
    with client_from("127.0.0.10", caddy.url) as other:
        assert other.get("/thing").status_code == 200, "another client is unaffected"


def test_security_headers_compression_and_json_access_log(
    proxied: tuple[RunningServer, RunningCaddy],
) -> None:
    _, caddy = proxied
    with client_from("127.0.0.11", caddy.url) as client:
        response = client.get("/thing?pad=4000", headers={"accept-encoding": "zstd, gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] in ("zstd", "gzip")
    assert response.json()["pad"] == "x" * 4000
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "strict-transport-security" in response.headers
    assert "server" not in response.headers
    entries = caddy.access_log()
    mine = [e for e in entries if e["request"]["remote_ip"] == "127.0.0.11"]  # type: ignore[index]
    assert mine and mine[-1]["status"] == 200


def test_body_limit_matches_the_server_and_answers_json(
    proxied: tuple[RunningServer, RunningCaddy],
) -> None:
    _, caddy = proxied
    with client_from("127.0.0.12", caddy.url) as client:
        declared = client.post("/batch/lookup", content=b" " * (BODY_LIMIT + 1))

        def chunks() -> Iterator[bytes]:
            for _ in range(10):
                yield b" " * (BODY_LIMIT // 4)

        chunked = client.post("/batch/lookup", content=chunks())
        fits = client.post("/batch/lookup", json={"items": ["a", "b"]})
    for response in (declared, chunked):
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/json"
        assert response.json()["error"]["code"] == "body_too_large"
        assert response.headers["x-content-type-options"] == "nosniff"
    assert fits.status_code == 200


def test_upstream_down_is_a_json_503(tmp_path: Path) -> None:
    caddy = RunningCaddy(tmp_path, f"127.0.0.1:{free_port()}")  # nothing listens there
    try:
        response = httpx.get(caddy.url + "/lookup/track/x", timeout=30)  # after the retries
    finally:
        caddy.stop()
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "not_ready"
    assert response.headers["cache-control"] == "no-store"


def test_metrics_are_not_public_through_caddy(
    proxied: tuple[RunningServer, RunningCaddy],
) -> None:
    server, caddy = proxied
    assert httpx.get(server.url + "/metrics").status_code == 200, "the server has /metrics"
    for path in ("/metrics", "/metrics/", "/metrics?x=1"):
        response = httpx.get(caddy.url + path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/json"
        assert response.json()["error"]["code"] == "not_found"


class Load:
    """Requests through Caddy from a few threads until stopped; every status counted.

    A transport error (Caddy not answering) counts as status 0.
    """

    def __init__(self, url: str, threads: int = 4) -> None:
        self.url = url
        self.statuses: Counter[int] = Counter()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run) for _ in range(threads)]
        for thread in self._threads:
            thread.start()

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self._stop.is_set():
                try:
                    status = client.get(f"/lookup/isrc/{SHARED_ISRC}").status_code
                except httpx.TransportError:
                    status = 0
                with self._lock:
                    self.statuses[status] += 1

    def total(self) -> int:
        with self._lock:
            return sum(self.statuses.values())

    def stop(self) -> Counter[int]:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        return self.statuses


def answered(server: ServerProcess) -> int:
    """Lookups this server process has logged answering."""
    return sum(1 for line in server.events("request") if line.get("path", "").startswith("/lookup"))


def test_two_upstreams_one_stopped_and_restarted_fail_no_request(
    tmp_path: Path, hand_snapshot: Path
) -> None:
    servers = [start_server(hand_snapshot, "--rate", "0") for _ in range(2)]
    port = servers[0].port
    caddy = RunningCaddy(tmp_path, " ".join(f"127.0.0.1:{s.port}" for s in servers))
    load = Load(caddy.url)
    try:
        deadline = time.monotonic() + 20
        while min(answered(s) for s in servers) < 20 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert min(answered(s) for s in servers) >= 20, "both upstreams take traffic"

        assert servers[0].stop(signal.SIGTERM) == 0, "drained and stopped cleanly"
        before = load.total()
        time.sleep(3)  # the survivor carries everything meanwhile
        assert load.total() > before + 50

        servers[0] = start_server(hand_snapshot, "--rate", "0", "--port", str(port))
        deadline = time.monotonic() + 20
        while answered(servers[0]) < 20 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert answered(servers[0]) >= 20, "traffic returned to the restarted upstream"
    finally:
        statuses = load.stop()
        caddy.stop()
        for server in servers:
            server.stop()
    assert set(statuses) == {200}, statuses
