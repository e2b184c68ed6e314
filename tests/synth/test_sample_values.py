"""The values every example uses exist in the built-in sample, and can be tried as written.

`snapshot-api sample --json` makes the sample in a private cache; its values are
looked up with the library, every GET example of the OpenAPI description (the
`/docs` page's "Try it" links) is requested from a real server serving the
sample, and the batch example body is posted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from snapshot_api import Snapshot
from snapshot_api.server.openapi.docs_page import example_url
from snapshot_api.server.openapi.parts import (
    EXAMPLE_ALBUM,
    EXAMPLE_ARTIST,
    EXAMPLE_BATCH_REQUEST,
    EXAMPLE_BATCH_RESPONSE,
    EXAMPLE_TRACK,
)
from snapshot_api.synth import sample_values
from tests.support.fixtures import run_command
from tests.support.server_process import ServerProcess, start_server


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {"XDG_CACHE_HOME": str(tmp_path_factory.mktemp("cache"))}


@pytest.fixture(scope="module")
def printed(cache: dict[str, str]) -> dict[str, Any]:
    done = run_command("sample", "--json", env=cache)
    assert done.returncode == 0, done.stderr
    values: dict[str, Any] = orjson.loads(done.stdout)
    return values


@pytest.fixture(scope="module")
def sample_server(cache: dict[str, str], printed: dict[str, Any]) -> Iterator[ServerProcess]:
    server = start_server(None, "--rate", "0", env=cache)
    yield server
    server.stop()


def test_sample_prints_its_directory_and_values_that_exist_in_it(
    printed: dict[str, Any], cache: dict[str, str]
) -> None:
    directory = Path(printed["directory"])
    assert directory.is_relative_to(cache["XDG_CACHE_HOME"])
    assert {k: v for k, v in printed.items() if k != "directory"} == sample_values.as_dict()
    with Snapshot.open(directory) as snap:
        (track,) = snap.lookup_isrcs([printed["isrc"]])[printed["isrc"]]
        assert track["id"] == printed["track"] == EXAMPLE_TRACK["id"]
        assert track["name"] == EXAMPLE_TRACK["name"] == sample_values.TRACK_NAME
        assert snap.lookup_isrcs([sample_values.spelled_isrc()]) != {}
        album = snap.albums([printed["album"]])[printed["album"]]
        assert album["name"] == EXAMPLE_ALBUM["name"] and album["upc"] == printed["upc"]
        assert [a["id"] for a in snap.lookup_upcs([printed["upc"]])[printed["upc"]]] == [
            printed["album"]
        ]
        artist = snap.artists([printed["artist"]])[printed["artist"]]
        assert artist["name"] == EXAMPLE_ARTIST["name"]
        assert track["artists"][0]["id"] == printed["artist"]
        found = snap.search_tracks(printed["search_word"], limit=1)
        assert [t["id"] for t in found] == [printed["track"]]
        assert snap.lookup_isrcs([sample_values.MISSING_ISRC]) == {sample_values.MISSING_ISRC: []}


def test_the_human_form_names_the_directory(cache: dict[str, str], printed: dict[str, Any]) -> None:
    done = run_command("sample", env=cache)
    assert done.returncode == 0, done.stderr
    assert str(printed["directory"]) in done.stdout and sample_values.ISRC in done.stdout


def test_dir_prints_only_the_directory(cache: dict[str, str], printed: dict[str, Any]) -> None:
    done = run_command("sample", "--dir", env=cache)
    assert (done.returncode, done.stdout) == (0, f"{printed['directory']}\n"), done.stderr
    both = run_command("sample", "--dir", "--json", env=cache)
    assert both.returncode == 2 and len(both.stderr.strip().splitlines()) == 1


def test_every_get_example_answers_with_data(sample_server: ServerProcess) -> None:
    spec = httpx.get(sample_server.url + "/openapi.json").json()
    tried = 0
    for path, item in spec["paths"].items():
        operation = item.get("get")
        url = None if operation is None else example_url(path, operation)
        if url is None or "{" in url:
            continue
        answer = httpx.get(sample_server.url + url)
        assert answer.status_code == 200, (url, answer.text[:200])
        assert answer.content not in (b"[]", b"{}"), url
        tried += 1
    assert tried >= 8  # five lookups, album tracks, three searches and more
    page = httpx.get(sample_server.url + "/docs").text
    assert "<script" not in page
    assert f'href="/lookup/isrc/{sample_values.ISRC}"' in page


def test_the_batch_example_answers_as_its_example_answer_says(
    sample_server: ServerProcess,
) -> None:
    body = httpx.post(sample_server.url + "/batch/lookup", json=EXAMPLE_BATCH_REQUEST).json()
    for section in ("isrcs", "albums"):
        assert list(body[section]) == list(EXAMPLE_BATCH_RESPONSE[section])
    for section in ("not_found", "invalid", "invalid_reasons"):
        assert body[section] == EXAMPLE_BATCH_RESPONSE[section]
