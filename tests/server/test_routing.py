"""Each route's declared policy is what the middleware applies, for every route of the app."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from snapshot_api.server.routes import ENDPOINTS
from snapshot_api.server.routing import Endpoint
from tests.support.handmade import ALBUM, ARTIST, SHARED_ISRC, TRACK
from tests.support.server_process import ServerProcess, start_server

SAMPLE_PARAMETERS = {
    "isrc": SHARED_ISRC,
    "upc": "012345678905",
    "id": TRACK[1],
}
"""A value for each path parameter; `{id}` is replaced by the kind named in the path."""
IDS = {"track": TRACK[1], "album": ALBUM[1], "artist": ARTIST[1]}


def concrete_path(endpoint: Endpoint) -> str:
    path = endpoint.path
    kind = next((k for k in IDS if f"/{k}/" in path), None)
    if kind is not None:
        path = path.replace("{id}", IDS[kind])
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLE_PARAMETERS[m.group(1)], path)


@pytest.fixture(scope="module")
def limited_server(hand_snapshot: Path) -> Iterator[ServerProcess]:
    server = start_server(hand_snapshot, "--rate", "1000", "--burst", "100000")
    yield server
    server.stop(signal.SIGKILL)


GET_ENDPOINTS = [e for e in ENDPOINTS if e.method == "GET"]


@pytest.mark.parametrize("endpoint", GET_ENDPOINTS, ids=[e.path for e in GET_ENDPOINTS])
def test_answers_follow_the_route_policy(limited_server: ServerProcess, endpoint: Endpoint) -> None:
    response = httpx.get(limited_server.url + concrete_path(endpoint), timeout=10)
    assert response.status_code == 200, response.text
    assert ("etag" in response.headers) == endpoint.policy.cacheable
    assert ("ratelimit" in response.headers) == endpoint.policy.rate_limited
    cache_control = response.headers.get("cache-control", "")
    assert cache_control.startswith("public") == endpoint.policy.cacheable


def test_the_description_follows_the_route_policy(limited_server: ServerProcess) -> None:
    spec = httpx.get(limited_server.url + "/openapi.json", timeout=10).json()
    for endpoint in ENDPOINTS:
        responses = spec["paths"][endpoint.path][endpoint.method.lower()]["responses"]
        assert ("304" in responses) == endpoint.policy.cacheable, endpoint.path
        assert ("429" in responses) == endpoint.policy.rate_limited, endpoint.path
