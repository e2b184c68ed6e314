"""ETag, 304 without a query, Cache-Control, and CORS (headers and preflight)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.handmade import ALBUM, SHARED_ISRC, TRACK
from tests.support.server_process import start_server

LOOKUPS = [
    f"/lookup/isrc/{SHARED_ISRC}",
    "/lookup/upc/012345678905",
    f"/lookup/track/{TRACK[1]}",
    f"/lookup/album/{ALBUM[1]}",
    f"/lookup/album/{ALBUM[1]}/tracks",
    "/openapi.json",
    "/docs",
]


def lookups_total(client: httpx.Client) -> float:
    """All lookups counted so far (hit, miss, invalid): moves only when a handler runs."""
    total = 0.0
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("snapshot_lookups_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.mark.parametrize("path", LOOKUPS)
def test_get_answers_carry_a_strong_etag_and_cache_control(client: httpx.Client, path: str) -> None:
    first = client.get(path)
    second = client.get(path)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    assert second.headers["etag"] == etag
    assert first.headers["cache-control"] == "public, max-age=86400"


def test_etags_differ_between_requests(client: httpx.Client) -> None:
    tags = {client.get(path).headers["etag"] for path in LOOKUPS}
    assert len(tags) == len(LOOKUPS)


def test_the_query_string_is_part_of_the_etag(client: httpx.Client) -> None:
    """Answers that depend on the query (search, paging) must not share a tag; 304 still works."""
    path = f"/lookup/isrc/{SHARED_ISRC}"
    tags = {
        client.get(path, params=query).headers["etag"] for query in ({}, {"a": "1"}, {"a": "2"})
    }
    assert len(tags) == 3
    etag = client.get(path, params={"a": "1"}).headers["etag"]
    assert client.get(path, params={"a": "1"}, headers={"if-none-match": etag}).status_code == 304
    assert client.get(path, params={"a": "2"}, headers={"if-none-match": etag}).status_code == 200


def test_matching_if_none_match_is_304_without_a_query(client: httpx.Client) -> None:
    path = f"/lookup/isrc/{SHARED_ISRC}"
    etag = client.get(path).headers["etag"]
    before = lookups_total(client)
    for header in (etag, f"W/{etag}", f'"other", {etag}', f'"x" ,W/{etag}'):
        response = client.get(path, headers={"if-none-match": header})
        assert response.status_code == 304, header
        assert response.content == b""
        assert response.headers["etag"] == etag
        assert response.headers["cache-control"] == "public, max-age=86400"
        assert response.headers["access-control-allow-origin"] == "*"
    assert lookups_total(client) == before, "a 304 must not run the lookup"
    stale = client.get(path, headers={"if-none-match": '"not-this-one"'})
    assert stale.status_code == 200
    assert lookups_total(client) == before + 1


def test_if_none_match_star_is_304_only_for_existing_answers(client: httpx.Client) -> None:
    found = client.get(f"/lookup/track/{TRACK[1]}", headers={"if-none-match": "*"})
    assert found.status_code == 304
    assert found.content == b""
    missing = client.get("/lookup/track/Missing0xxxxxxxxxxxxxx", headers={"if-none-match": "*"})
    assert missing.status_code == 404


def test_errors_and_live_answers_are_not_cached(client: httpx.Client) -> None:
    for path in ("/lookup/isrc/bad", "/lookup/track/Missing0xxxxxxxxxxxxxx", "/nothing",
                 "/health", "/ready", "/metrics"):  # fmt: skip
        response = client.get(path)
        assert "etag" not in response.headers, path
        assert response.headers["cache-control"] == "no-store", path
    batch = client.post("/batch/lookup", json={"isrcs": [SHARED_ISRC]})
    assert "etag" not in batch.headers


def test_cache_max_age_is_configurable(hand_snapshot: Path) -> None:
    server = start_server(hand_snapshot, "--cache-max-age", "60", "--rate", "0")
    try:
        response = httpx.get(server.url + f"/lookup/track/{TRACK[1]}")
        assert response.headers["cache-control"] == "public, max-age=60"
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/lookup/isrc/{SHARED_ISRC}"),
        ("GET", "/lookup/isrc/bad"),
        ("GET", "/nothing"),
        ("DELETE", "/health"),
        ("POST", "/batch/lookup"),
        ("GET", "/metrics"),
    ],
)
def test_every_answer_allows_any_origin(client: httpx.Client, method: str, path: str) -> None:
    response = client.request(method, path, headers={"origin": "https://example.org"})
    assert response.headers["access-control-allow-origin"] == "*"
    exposed = {
        h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
    }
    assert {"etag", "x-request-id", "ratelimit", "ratelimit-policy", "retry-after"} <= exposed


def test_batch_preflight(client: httpx.Client) -> None:
    response = client.options(
        "/batch/lookup",
        headers={
            "origin": "https://example.org",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type, x-request-id",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert response.headers["access-control-allow-headers"] == "content-type, x-request-id"
    assert int(response.headers["access-control-max-age"]) > 0


def test_preflight_for_get_routes_and_unknown_paths(client: httpx.Client) -> None:
    response = client.options(
        f"/lookup/track/{TRACK[1]}",
        headers={"origin": "https://x", "access-control-request-method": "GET"},
    )
    assert response.status_code == 204
    assert set(response.headers["access-control-allow-methods"].replace(" ", "").split(",")) == {
        "GET", "HEAD", "OPTIONS"
    }  # fmt: skip
    plain = client.options("/batch/lookup")
    assert plain.status_code == 204
    assert "POST" in plain.headers["allow"]
    unknown = client.options("/nothing", headers={"access-control-request-method": "GET"})
    assert unknown.status_code == 404
