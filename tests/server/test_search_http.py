"""The search routes over real HTTP: the library's documents, JSON errors, ETags per query."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from snapshot_api import Snapshot
from snapshot_api.search.index import SearchKind
from tests.support.fixtures import CliRunner, SnapshotFactory
from tests.support.server_process import ServerProcess, start_server


@pytest.fixture(scope="module", params=["on", "off"], ids=lambda mode: f"mmap-{mode}")
def search_server(built_snapshot: Path, request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    """In both read modes: with `off` each request runs on the reader threads."""
    server = start_server(built_snapshot, "--rate", "0", "--mmap", request.param)
    yield server
    server.stop(signal.SIGKILL)


@pytest.fixture(scope="module")
def snap(built_snapshot: Path) -> Iterator[Snapshot]:
    with Snapshot.open(built_snapshot) as opened:
        yield opened


@pytest.fixture
def client(search_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=search_server.url, timeout=10) as http:
        yield http


@pytest.mark.parametrize("kind", list(SearchKind))
def test_answers_are_the_library_documents(
    client: httpx.Client, snap: Snapshot, kind: SearchKind
) -> None:
    probe = snap.search_probe(kind)
    assert probe is not None
    word, first_id = probe
    for params in ({"q": word}, {"q": word, "limit": "3"}, {"q": word, "offset": "1"}):
        response = client.get(f"/search/{kind.value}", params=params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        expected = orjson.loads(snap.search_json(kind, **params))
        assert response.json() == expected
    assert client.get(f"/search/{kind.value}", params={"q": word}).json()[0]["id"] == first_id


def test_filters_are_passed_on(client: httpx.Client, snap: Snapshot) -> None:
    track = snap.search_tracks(snap.search_probe(SearchKind.TRACK)[0], limit=1)[0]  # type: ignore[index]
    artist = track["artists"][0]["name"]
    album = track["album"]["name"]
    params = {"artist": artist, "album": album}
    response = client.get("/search/track", params=params)
    assert response.status_code == 200
    assert response.json() == snap.search_tracks(None, artist=artist, album=album)
    assert track["id"] in [found["id"] for found in response.json()]


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        ("/search/track", {}, "q"),
        ("/search/track", {"q": "  ...  "}, "q"),
        ("/search/track", {"q": "love", "limit": "ten"}, "limit"),
        ("/search/album", {"q": "love", "limit": "0"}, "limit"),
        ("/search/artist", {"q": "love", "offset": "-1"}, "offset"),
        ("/search/artist", {"q": "love", "offset": "1001"}, "offset"),
        ("/search/artist", {"q": "love", "album": "x"}, "album"),
        ("/search/track", {"q": "love", "limit": ["ten", "2"]}, "limit"),
        ("/search/album", {"q": ["", "love"]}, "q"),
    ],
)
def test_bad_parameters_are_400_naming_them(
    client: httpx.Client, path: str, params: dict[str, str | list[str]], parameter: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_parameter"
    assert error["parameter"] == parameter
    assert parameter in error["message"]


def test_etags_differ_per_query_and_304_works(client: httpx.Client, snap: Snapshot) -> None:
    word = snap.search_probe(SearchKind.TRACK)[0]  # type: ignore[index]
    first = client.get("/search/track", params={"q": word})
    other = client.get("/search/track", params={"q": word, "limit": "2"})
    assert first.headers["etag"] != other.headers["etag"]
    again = client.get(
        "/search/track", params={"q": word}, headers={"if-none-match": first.headers["etag"]}
    )
    assert again.status_code == 304


def test_a_snapshot_built_without_search_answers_503(
    snapshot_factory: SnapshotFactory, run_cli: CliRunner
) -> None:
    directory = snapshot_factory(built=False)
    assert run_cli("build", "--no-search", str(directory)).returncode == 0
    server = start_server(directory)
    try:
        for kind in SearchKind:
            response = httpx.get(f"{server.url}/search/{kind.value}", params={"q": "love"})
            assert response.status_code == 503
            error = response.json()["error"]
            assert error["code"] == "search_unavailable"
            assert "--no-search" in error["message"]
        assert httpx.get(f"{server.url}/ready").status_code == 200
    finally:
        server.stop(signal.SIGKILL)
