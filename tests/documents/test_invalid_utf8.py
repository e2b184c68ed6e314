"""Text cells that are not UTF-8 reach documents as U+FFFD, in the library, the CLI and over
HTTP (a real server): the rest of each document is intact and equals the independent
reference reading the same bytes with replacement, and no answer is an error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from snapshot_api import Snapshot
from snapshot_api.identifiers import Kind
from tests.support.dirty_text import (
    ALBUM_LABEL,
    ARTIST_NAME,
    ORIGINAL_TITLE,
    TRACK_NAME,
    DirtyText,
    make_dirty_text,
    replaced,
    replacing_reference,
)
from tests.support.fixtures import CliRunner
from tests.support.server_process import ServerProcess, start_server


@pytest.fixture(scope="module")
def dirty(built_snapshot: Path, tmp_path_factory: pytest.TempPathFactory) -> DirtyText:
    return make_dirty_text(built_snapshot, tmp_path_factory.mktemp("dirty-text") / "snapshot")


@pytest.fixture(scope="module")
def snap(dirty: DirtyText) -> Iterator[Snapshot]:
    with Snapshot.open(dirty.directory) as snapshot:
        yield snapshot


def _assert_dirty_track(track: dict[str, object], dirty: DirtyText, *, album: bool) -> None:
    assert track["id"] == dirty.track_id
    assert track["name"] == replaced(TRACK_NAME) == "A\ufffdB"
    assert track["original_title"] == replaced(ORIGINAL_TITLE)
    artists = track["artists"]
    assert isinstance(artists, list)
    first = artists[0]
    assert first["id"] == dirty.artist_id
    assert first["name"] == replaced(ARTIST_NAME) == "\ufffd" * 3
    if album:
        album_document = track["album"]
        assert isinstance(album_document, dict)
        assert album_document["label"] == replaced(ALBUM_LABEL) == '\ufffd"'


def test_library_documents_hold_replacement_characters(snap: Snapshot, dirty: DirtyText) -> None:
    track = snap.tracks([dirty.track_id])[dirty.track_id]
    _assert_dirty_track(track, dirty, album=True)
    by_isrc = snap.lookup_isrcs([dirty.isrc])[dirty.isrc]
    assert dirty.track_id in [t["id"] for t in by_isrc]
    album = snap.albums([dirty.album_id])[dirty.album_id]
    assert album["label"] == '\ufffd"'
    listed = [t for t in snap.album_tracks(dirty.album_id) if t["id"] == dirty.track_id]
    assert len(listed) == 1
    _assert_dirty_track(listed[0], dirty, album=False)
    assert snap.artists([dirty.artist_id])[dirty.artist_id]["name"] == "\ufffd" * 3


def test_library_documents_equal_the_replacing_reference(snap: Snapshot, dirty: DirtyText) -> None:
    reference = replacing_reference(dirty.directory)
    try:
        assert snap.tracks([dirty.track_id])[dirty.track_id] == reference.track(dirty.track_rowid)
        bad_isrc_track = reference.track(dirty.bad_isrc_rowid)
        assert bad_isrc_track["isrc"] == "US\ufffd"
        found = snap.tracks([bad_isrc_track["id"]])
        assert found[bad_isrc_track["id"]] == bad_isrc_track
        album = reference.album(dirty.bad_upc_rowid)
        assert album is not None and album["upc"] == "01\ufffd"
        assert snap.albums([album["id"]])[album["id"]] == album
        assert snap.album_tracks(dirty.album_id) == reference.album_tracks(dirty.album_rowid)
    finally:
        reference.close()


def test_server_bytes_are_valid_utf8_json(snap: Snapshot, dirty: DirtyText) -> None:
    for kind, key in ((Kind.TRACK, dirty.track_id), (Kind.ISRC, dirty.isrc)):
        raw = snap.lookup_json(kind, [key])[key]
        raw.decode()  # strict: what the server sends is UTF-8
        assert b"A\xef\xbf\xbdB" in raw
    listing = snap.album_tracks_json(dirty.album_id)
    assert listing is not None and b"A\xef\xbf\xbdB" in listing


def test_cli_lookup_prints_the_documents(run_cli: CliRunner, dirty: DirtyText) -> None:
    done = run_cli("lookup", str(dirty.directory), "track", dirty.track_id)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    answer = orjson.loads(done.stdout)
    _assert_dirty_track(answer[dirty.track_id], dirty, album=True)
    done = run_cli("lookup", str(dirty.directory), "isrc", dirty.isrc)
    assert done.returncode == 0, done.stderr
    assert dirty.track_id in [t["id"] for t in orjson.loads(done.stdout)[dirty.isrc]]


@pytest.fixture(scope="module")
def server(dirty: DirtyText) -> Iterator[ServerProcess]:
    process = start_server(dirty.directory, "--rate", "0")
    yield process
    assert process.stop() == 0


def test_http_answers_hold_replacement_characters(server: ServerProcess, dirty: DirtyText) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        answer = http.get(f"/lookup/track/{dirty.track_id}")
        assert answer.status_code == 200, answer.text
        _assert_dirty_track(answer.json(), dirty, album=True)
        answer = http.get(f"/lookup/isrc/{dirty.isrc}")
        assert answer.status_code == 200, answer.text
        assert dirty.track_id in [t["id"] for t in answer.json()]
        answer = http.get(f"/lookup/album/{dirty.album_id}/tracks")
        assert answer.status_code == 200, answer.text
        answer = http.get(f"/lookup/artist/{dirty.artist_id}")
        assert answer.status_code == 200 and answer.json()["name"] == "\ufffd" * 3
        answer = http.post(
            "/batch/lookup",
            json={"tracks": [dirty.track_id], "isrcs": [dirty.isrc], "albums": [dirty.album_id]},
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        _assert_dirty_track(body["tracks"][dirty.track_id], dirty, album=True)
        assert body["albums"][dirty.album_id]["label"] == '\ufffd"'
