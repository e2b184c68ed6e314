"""The field table against what the library serves: its JSON Schemas fit every document of
the shared synthetic snapshot (dirty cases included) and of the hand-made dump, and every
field of the table both appears in some rendered document and is described by the schema."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from snapshot_api import Snapshot
from snapshot_api.documents import json_schemas
from snapshot_api.documents.fields import ALBUM, ALBUM_TRACK, ARTIST, IMAGE, KINDS, TRACK, Shape
from tests.support.handmade import ALBUM as HAND_ALBUM
from tests.support.handmade import TRACK as HAND_TRACK

Document = dict[str, Any]


def _validator(name: str) -> Any:
    root = {"$ref": f"#/components/schemas/{name}", "components": {"schemas": json_schemas()}}
    return jsonschema_rs.Draft202012Validator(root)


def _errors(name: str, documents: list[Document]) -> list[str]:
    validator = _validator(name)
    return [
        f"{document.get('id')}: {error.message}"
        for document in documents
        for error in validator.iter_errors(document)
    ]


@pytest.fixture(scope="module")
def served(built_snapshot: Path) -> Iterator[dict[str, list[Document]]]:
    """Every track, album and artist document of the synthetic snapshot, and album listings."""
    db = sqlite3.connect(f"file:{built_snapshot / 'spotify_clean.sqlite3'}?mode=ro", uri=True)
    try:
        ids = {
            table: [str(row[0]) for row in db.execute(f"SELECT id FROM {table}")]
            for table in ("tracks", "albums", "artists")
        }
    finally:
        db.close()
    with Snapshot.open(built_snapshot) as snapshot:
        tracks = list(snapshot.tracks(ids["tracks"]).values())
        albums = list(snapshot.albums(ids["albums"]).values())
        yield {
            "Track": tracks,
            "Album": albums,
            "Artist": list(snapshot.artists(ids["artists"]).values()),
            "AlbumTrack": [
                track for album in ids["albums"][:300] for track in snapshot.album_tracks(album)
            ],
            "Image": [
                image
                for document in albums + [a for t in tracks for a in t.get("artists", [])]
                for image in document.get("images", [])
            ],
        }


def test_every_served_document_fits_its_schema(served: dict[str, list[Document]]) -> None:
    for name, documents in served.items():
        assert len(documents) > 100, name
        assert _errors(name, documents) == [], name


def test_the_schemas_reject_what_the_table_rules_out(served: dict[str, list[Document]]) -> None:
    track = served["Track"][0]
    assert _errors("Track", [{**track, "unknown": 1}])
    assert _errors("Track", [{key: value for key, value in track.items() if key != "name"}])
    assert _errors("Track", [{**track, "explicit": 1}])
    assert _errors("Track", [{**track, "artists": []}])
    assert _errors("AlbumTrack", [track]), "an album listing's tracks carry no album"


def test_every_field_of_the_table_is_rendered_and_described(
    served: dict[str, list[Document]],
) -> None:
    schemas = json_schemas()
    assert set(schemas) == set(KINDS) == {"Image", "Artist", "Album", "Track", "AlbumTrack"}
    for name, kind in KINDS.items():
        names = [field.name for field in kind.fields]
        rendered: set[str] = set().union(*(document.keys() for document in served[name]))
        assert rendered == set(names), name
        properties = schemas[name]["properties"]
        assert list(properties) == names, name
        assert all(properties[field]["description"] for field in names), name
        required = [f.name for f in kind.fields if f.shape is Shape.ALWAYS]
        assert schemas[name]["required"] == required, name
        assert all(set(document) >= set(required) for document in served[name]), name


def test_rendered_field_order_is_the_table_order(served: dict[str, list[Document]]) -> None:
    for name in ("Track", "Album", "Artist", "AlbumTrack", "Image"):
        order = [field.name for field in KINDS[name].fields]
        for document in served[name]:
            keys = list(document)
            assert keys == sorted(keys, key=order.index), (name, document.get("id"))


def test_the_hand_made_dump_fits_the_schemas(hand_snapshot: Path) -> None:
    with Snapshot.open(hand_snapshot) as snapshot:
        tracks = list(snapshot.tracks(HAND_TRACK.values()).values())
        albums = list(snapshot.albums(HAND_ALBUM.values()).values())
        listed = [track for album in HAND_ALBUM.values() for track in snapshot.album_tracks(album)]
    assert tracks and albums and listed
    assert _errors("Track", tracks) == []
    assert _errors("Album", albums) == []
    assert _errors("AlbumTrack", listed) == []


def test_nested_and_listed_kinds_refer_to_components() -> None:
    schemas = json_schemas()
    assert schemas["Track"]["properties"]["album"]["$ref"] == "#/components/schemas/Album"
    for kind, listed in ((TRACK, ARTIST), (ALBUM, ARTIST), (ALBUM, IMAGE), (ARTIST, IMAGE)):
        items = [
            schemas[kind.name]["properties"][field.name]["items"]
            for field in kind.fields
            if field.shape is Shape.LIST and field.value == listed.name
        ]
        assert items == [{"$ref": f"#/components/schemas/{listed.name}"}], kind.name
    assert "album" not in schemas[ALBUM_TRACK.name]["properties"]
