"""The HTTP answers equal the library's documents on the shared synthetic snapshot, dirty cases
included, and fit the OpenAPI schemas; samples are read from the generated files."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest

from snapshot_api import Snapshot
from snapshot_api.config import ServeSettings
from snapshot_api.server.openapi import build_spec
from tests.support.server_process import ServerProcess, start_server

SAMPLE = 40


@pytest.fixture(scope="module")
def synthetic_server(built_snapshot: Path) -> Iterator[ServerProcess]:
    server = start_server(built_snapshot, "--rate", "0")
    yield server
    assert server.stop() == 0


@pytest.fixture(scope="module")
def http(synthetic_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=synthetic_server.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def library(built_snapshot: Path) -> Iterator[Snapshot]:
    with Snapshot.open(built_snapshot) as snapshot:
        yield snapshot


@pytest.fixture(scope="module")
def samples(built_snapshot: Path) -> dict[str, list[str]]:
    """Stored values of every kind, spread over the table (dirty ones included)."""
    db = sqlite3.connect(f"file:{built_snapshot / 'spotify_clean.sqlite3'}?mode=ro", uri=True)

    def spread(sql: str) -> list[str]:
        values = [str(row[0]) for row in db.execute(sql)]
        step = max(1, len(values) // SAMPLE)
        return values[::step][:SAMPLE]

    try:
        return {
            "isrcs": spread(
                "SELECT external_id_isrc FROM tracks WHERE external_id_isrc IS NOT NULL"
            ),
            "upcs": spread("SELECT external_id_upc FROM albums WHERE external_id_upc IS NOT NULL"),
            "tracks": spread("SELECT id FROM tracks"),
            "albums": spread("SELECT id FROM albums"),
            "artists": spread("SELECT id FROM artists"),
        }
    finally:
        db.close()


def _validator(name: str, many: bool = False) -> Any:
    spec = build_spec(ServeSettings())
    ref: dict[str, Any] = {"$ref": f"#/components/schemas/{name}"}
    schema = {"type": "array", "items": ref} if many else ref
    return jsonschema_rs.Draft202012Validator({**schema, "components": spec["components"]})


def test_batch_answers_equal_the_library(
    http: httpx.Client, library: Snapshot, samples: dict[str, list[str]]
) -> None:
    answer = http.post("/batch/lookup", json=samples).json()
    assert _validator("BatchResponse").is_valid(answer)
    expected_isrcs = library.lookup_isrcs(
        [v for v in samples["isrcs"] if v not in answer["invalid"]["isrcs"]]
    )
    assert answer["isrcs"] == {k: v for k, v in expected_isrcs.items() if v}
    expected_upcs = library.lookup_upcs(
        [v for v in samples["upcs"] if v not in answer["invalid"]["upcs"]]
    )
    assert answer["upcs"] == {k: v for k, v in expected_upcs.items() if v}
    assert answer["tracks"] == library.tracks(samples["tracks"])
    assert answer["albums"] == library.albums(samples["albums"])
    assert answer["artists"] == library.artists(samples["artists"])
    assert len(answer["tracks"]) == len(set(samples["tracks"])), "stored ids are all found"


def test_single_routes_equal_the_library_and_fit_the_schemas(
    http: httpx.Client, library: Snapshot, samples: dict[str, list[str]]
) -> None:
    track, album, artist = _validator("Track"), _validator("Album"), _validator("Artist")
    tracks_of_album = _validator("AlbumTrack", many=True)
    for value in samples["tracks"][:15]:
        document = http.get(f"/lookup/track/{value}").json()
        assert document == library.tracks([value])[value]
        assert track.is_valid(document), value
    for value in samples["albums"][:15]:
        assert http.get(f"/lookup/album/{value}").json() == library.albums([value])[value]
        listing = http.get(f"/lookup/album/{value}/tracks").json()
        assert listing == library.album_tracks(value)
        assert tracks_of_album.is_valid(listing), value
        assert album.is_valid(library.albums([value])[value])
    for value in samples["artists"][:15]:
        document = http.get(f"/lookup/artist/{value}").json()
        assert document == library.artists([value])[value]
        assert artist.is_valid(document), value
    for value in samples["isrcs"][:15]:
        response = http.get(f"/lookup/isrc/{value}")
        if response.status_code == 400:  # a malformed ISRC stored in the dump
            continue
        assert response.json() == library.lookup_isrcs([value])[value]
