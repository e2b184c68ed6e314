"""`GET /match/track` over real HTTP, and `snapshot-api match` as a real process."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from snapshot_api import Snapshot
from tests.support.fixtures import CliRunner, SnapshotFactory
from tests.support.match_rows import MatchRows
from tests.support.server_process import ServerProcess, start_server


@pytest.fixture(scope="module")
def rows(built_snapshot: Path) -> MatchRows:
    return MatchRows(built_snapshot)


@pytest.fixture(scope="module")
def snap(built_snapshot: Path) -> Iterator[Snapshot]:
    with Snapshot.open(built_snapshot) as opened:
        yield opened


@pytest.fixture(scope="module", params=["on", "off"], ids=lambda mode: f"mmap-{mode}")
def match_server(built_snapshot: Path, request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    """In both read modes: with `off` each request runs on the reader threads."""
    limits = ("--rate", "1000", "--burst", "2000")
    server = start_server(built_snapshot, *limits, "--mmap", request.param)
    yield server
    server.stop(signal.SIGKILL)


@pytest.fixture
def client(match_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=match_server.url, timeout=10) as http:
        yield http


def test_answers_are_the_library_candidates(
    client: httpx.Client, snap: Snapshot, rows: MatchRows
) -> None:
    for track in rows.plain_cases(5):
        params = {
            "title": track.title,
            "artist": track.artists[0],
            "duration_ms": str(track.duration_ms),
            "limit": "3",
        }
        response = client.get("/match/track", params=params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        found = response.json()
        assert found == snap.match_track(
            title=track.title, artist=track.artists[0], duration_ms=track.duration_ms, limit=3
        )
        assert found[0]["score"] >= 0.95
        assert set(found[0]) == {"score", "components", "track"}
    assert client.get("/match/track", params={"title": "Qxzvwk", "artist": "Zzxqj"}).json() == []


def test_etag_rate_limit_and_cors_like_every_data_route(
    client: httpx.Client, rows: MatchRows
) -> None:
    track = rows.plain_cases(1)[0]
    params = {"title": track.title, "artist": track.artists[0]}
    first = client.get("/match/track", params=params)
    other = client.get("/match/track", params={**params, "limit": "1"})
    assert first.headers["etag"] != other.headers["etag"]
    assert first.headers["cache-control"].startswith("public, max-age=")
    assert first.headers["access-control-allow-origin"] == "*"
    assert first.headers["ratelimit-policy"] == '"ip";q=2000;w=2'
    assert first.headers["ratelimit"].startswith('"ip";r=')
    again = client.get(
        "/match/track", params=params, headers={"if-none-match": first.headers["etag"]}
    )
    assert again.status_code == 304


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"artist": "x"}, "title"),
        ({"title": "love"}, "artist"),
        ({"title": "love", "artist": ""}, "artist"),
        ({"title": "love", "artist": "x", "duration_ms": "3.5 min"}, "duration_ms"),
        ({"title": "love", "artist": "x", "duration_ms": "0"}, "duration_ms"),
        ({"title": "love", "artist": "x", "duration_ms": "-1000"}, "duration_ms"),
        ({"title": "love", "artist": "x", "limit": "0"}, "limit"),
        ({"title": "love", "artist": "x", "limit": "ten"}, "limit"),
        ({"title": "l" * 1001, "artist": "x"}, "title"),
        ({"title": "love", "artist": "x", "duration_ms": ["false", ""]}, "duration_ms"),
        ({"title": ["love", "rose"], "artist": "x"}, "title"),
    ],
)
def test_bad_parameters_are_400_naming_them(
    client: httpx.Client, params: dict[str, str | list[str]], parameter: str
) -> None:
    response = client.get("/match/track", params=params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_parameter"
    assert error["parameter"] == parameter
    assert parameter in error["message"]


def test_a_title_and_artist_without_a_word_answer_an_empty_list(client: httpx.Client) -> None:
    answer = client.get("/match/track", params={"title": "...", "artist": "_", "album": ""})
    assert (answer.status_code, answer.json()) == (200, [])


def test_the_route_is_described(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/match/track"]["get"]
    assert operation["operationId"] == "matchTrack"
    assert {p["name"] for p in operation["parameters"]} == {
        "title",
        "artist",
        "album",
        "duration_ms",
        "limit",
    }
    assert {"200", "304", "400", "429", "503"} <= set(operation["responses"])


def test_a_snapshot_built_without_search_answers_503(
    snapshot_factory: SnapshotFactory, run_cli: CliRunner
) -> None:
    directory = snapshot_factory(built=False)
    assert run_cli("build", "--no-search", str(directory)).returncode == 0
    server = start_server(directory)
    try:
        response = httpx.get(f"{server.url}/match/track", params={"title": "love", "artist": "x"})
        assert response.status_code == 503
        error = response.json()["error"]
        assert error["code"] == "search_unavailable"
        assert "--no-search" in error["message"]
        bad = httpx.get(f"{server.url}/match/track", params={"title": "love"})
        assert bad.status_code == 400  # parameters are checked first
    finally:
        server.stop(signal.SIGKILL)
    result = run_cli("match", str(directory), "--title", "love", "--artist", "x")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "--no-search" in result.stderr


def test_cli_prints_candidates_and_json(
    run_cli: CliRunner, built_snapshot: Path, snap: Snapshot, rows: MatchRows
) -> None:
    track = rows.plain_cases(1)[0]
    arguments = ["--title", track.title, "--artist", track.artists[0]]
    arguments += ["--duration-ms", str(track.duration_ms)]
    result = run_cli("match", str(built_snapshot), *arguments, "--json")
    assert result.returncode == 0, result.stderr
    expected = snap.match_track(
        title=track.title, artist=track.artists[0], duration_ms=track.duration_ms
    )
    assert orjson.loads(result.stdout) == expected
    result = run_cli("match", str(built_snapshot), *arguments, "--limit", "2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == min(2, len(expected))
    assert lines[0].startswith(f"{expected[0]['score']:.3f}")
    assert expected[0]["track"]["id"] in lines[0] and track.title in lines[0]
    nothing = run_cli("match", str(built_snapshot), "--title", "Qxzvwk", "--artist", "Zzxqj")
    assert (nothing.returncode, nothing.stdout) == (0, "")
    wordless = run_cli("match", str(built_snapshot), "--title", "...", "--artist", "!!")
    assert (wordless.returncode, wordless.stdout) == (0, "")


@pytest.mark.parametrize(
    "arguments",
    [
        ["--title", "love"],
        ["--title", "", "--artist", "x"],
        ["--title", "love", "--artist", "x", "--duration-ms", "soon"],
        ["--title", "love", "--artist", "x", "--limit", "0"],
    ],
)
def test_cli_bad_arguments_are_one_line_and_exit_2(
    run_cli: CliRunner, built_snapshot: Path, arguments: list[str]
) -> None:
    result = run_cli("match", str(built_snapshot), *arguments)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
