"""Each route's declared policy is what the middleware applies, for every route of the app."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from snapshot_api import Snapshot
from snapshot_api.search.index import SearchKind
from snapshot_api.server.routes import ENDPOINTS
from snapshot_api.server.routing import Endpoint
from tests.support.server_process import ServerProcess, start_server


@pytest.fixture(scope="module")
def sample_values(built_snapshot: Path) -> dict[str, str]:
    """A value for each path parameter and search word, taken from the snapshot served."""
    with Snapshot.open(built_snapshot) as snap:
        word, track_id = snap.search_probe(SearchKind.TRACK) or ("", "")
        track = snap.tracks([track_id])[track_id]
        _artist_word, artist_id = snap.search_probe(SearchKind.ARTIST) or ("", "")
    return {
        "isrc": track.get("isrc", "USRC17607839"),
        "upc": track["album"].get("upc", "012345678905"),
        "track": track_id,
        "album": track["album"]["id"],
        "artist": artist_id,
        "word": word,
    }


V1_KINDS = {"tracks": "track", "albums": "album", "artists": "artist", "audio-features": "track"}
"""The kind of id each `/v1/<collection>` path takes."""


def concrete_path(endpoint: Endpoint, values: dict[str, str]) -> str:
    path = endpoint.path
    if path.startswith("/v1/"):
        collection = path.split("/")[2]
        if collection == "search":
            return f"/v1/search?q={values['word']}&type=track"
        kind = V1_KINDS[collection]
        if "{id}" in path:
            return path.replace("{id}", values[kind])
        return f"{path}?ids={values[kind]}"
    kind = next((k for k in ("track", "album", "artist") if f"/{k}/" in path), None)
    if kind is not None:
        path = path.replace("{id}", values[kind])
    if path.startswith("/search/"):
        path += "?q=" + values["word"]
    if path.startswith("/match/"):
        path += f"?title={values['word']}&artist={values['word']}"
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


@pytest.fixture(scope="module")
def limited_server(built_snapshot: Path) -> Iterator[ServerProcess]:
    server = start_server(built_snapshot, "--rate", "1000", "--burst", "100000")
    yield server
    server.stop(signal.SIGKILL)


GET_ENDPOINTS = [e for e in ENDPOINTS if e.method == "GET"]


@pytest.mark.parametrize("endpoint", GET_ENDPOINTS, ids=[e.path for e in GET_ENDPOINTS])
def test_answers_follow_the_route_policy(
    limited_server: ServerProcess, sample_values: dict[str, str], endpoint: Endpoint
) -> None:
    response = httpx.get(limited_server.url + concrete_path(endpoint, sample_values), timeout=10)
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
    declared = {tag["name"] for tag in spec["tags"]}
    for item in spec["paths"].values():
        for operation in item.values():
            assert set(operation["tags"]) <= declared, operation["operationId"]
