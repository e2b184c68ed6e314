"""`/lookup/track/{id}/audio-features` and `/lookup/artist/{id}/albums` over HTTP.

Expected features are the rows of the audio features file, read with Python's
sqlite3 (NULL columns left out); expected album order is computed here from the
dump's rows. A snapshot without the file, or with a broken one, answers 404 for
every track's features and everything else as before.
"""

from __future__ import annotations

import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from snapshot_api import Snapshot
from tests.support.handmade import ALBUM, ARTIST, TRACK, write_dump
from tests.support.prepare import prepare
from tests.support.reference import own_album_ids
from tests.support.server_process import start_server

FEATURES = (
    "duration_ms", "time_signature", "tempo", "key", "mode", "danceability", "energy",
    "loudness", "speechiness", "acousticness", "instrumentalness", "liveness", "valence",
)  # fmt: skip


def rows(directory: Path) -> dict[str, dict[str, Any]]:
    """{track id: features} of every usable row, straight from the file."""
    connection = sqlite3.connect(directory / "spotify_clean_audio_features.sqlite3")
    connection.row_factory = sqlite3.Row
    found = {}
    for row in connection.execute("SELECT * FROM track_audio_features WHERE null_response = 0"):
        values = {name: row[name] for name in FEATURES if row[name] is not None}
        found[row["track_id"]] = {"id": row["track_id"], **values}
    connection.close()
    return found


def test_features_equal_the_rows(client: httpx.Client, hand_snapshot: Path) -> None:
    expected = rows(hand_snapshot)
    assert set(expected) == {TRACK[1], TRACK[3], TRACK[5]}
    for track_id, features in expected.items():
        answer = client.get(f"/lookup/track/spotify:track:{track_id}/audio-features")
        assert answer.status_code == 200
        assert answer.json() == features
    assert "time_signature" not in client.get(f"/lookup/track/{TRACK[3]}/audio-features").json()


@pytest.mark.parametrize("track", [TRACK[2], TRACK[4], TRACK[9], "0" * 22])
def test_null_responses_and_missing_rows_are_404(client: httpx.Client, track: str) -> None:
    answer = client.get(f"/lookup/track/{track}/audio-features")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


def test_a_malformed_or_other_kind_id_is_400(client: httpx.Client) -> None:
    for value in ("abc", f"spotify:album:{ALBUM[1]}"):
        answer = client.get(f"/lookup/track/{value}/audio-features")
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "invalid_identifier"


@pytest.fixture(scope="module", params=["absent", "broken"])
def featureless(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-made snapshot without its audio features file, or with a broken one."""
    directory = tmp_path_factory.mktemp(f"featureless-{request.param}")
    write_dump(directory, audio_features=request.param == "broken")
    if request.param == "broken":
        path = directory / "spotify_clean_audio_features.sqlite3"
        path.write_bytes(b"\0" * path.stat().st_size)
    prepare(directory)
    return directory


def test_without_usable_audio_features_every_track_has_none(featureless: Path) -> None:
    with Snapshot.open(featureless) as snapshot:
        assert snapshot.has_audio_features is False
        assert snapshot.audio_features(TRACK.values()) == {}
        library_track = snapshot.tracks([TRACK[1]])[TRACK[1]]
    server = start_server(featureless, "--rate", "0")
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            for track in TRACK.values():
                assert http.get(f"/lookup/track/{track}/audio-features").status_code == 404
            batch = http.post("/batch/lookup", json={"audio_features": [TRACK[1]]}).json()
            assert batch["not_found"]["audio_features"] == [TRACK[1]]
            assert http.get(f"/v1/audio-features/{TRACK[1]}").status_code == 404
            assert http.get(f"/lookup/track/{TRACK[1]}").json() == library_track
            assert http.get(f"/v1/tracks/{TRACK[1]}").status_code == 200
            assert http.get("/ready").status_code == 200
    finally:
        server.stop(signal.SIGKILL)


# --- artist albums -------------------------------------------------------------------------


def test_artist_albums_are_own_albums_newest_first(
    client: httpx.Client, hand_snapshot: Path, library: Snapshot
) -> None:
    expected = own_album_ids(hand_snapshot, ARTIST[1])
    assert expected == [ALBUM[1], ALBUM[3]]
    page = client.get(f"/lookup/artist/{ARTIST[1]}/albums").json()
    assert [a["id"] for a in page["items"]] == expected
    assert page["total"] == 2 and page["limit"] == 20 and page["offset"] == 0
    assert page["items"] == list(library.albums(expected).values())
    second = client.get(f"/lookup/artist/{ARTIST[1]}/albums", params={"limit": 1, "offset": 1})
    assert second.json() == {"items": [page["items"][1]], "total": 2, "limit": 1, "offset": 1}
    beyond = client.get(f"/lookup/artist/{ARTIST[1]}/albums", params={"offset": 5}).json()
    assert beyond["items"] == [] and beyond["total"] == 2


def test_appears_on_albums_are_not_listed(client: httpx.Client) -> None:
    for artist, total in ((ARTIST[5], 0), (ARTIST[4], 0), (ARTIST[6], 0), (ARTIST[3], 1)):
        page = client.get(f"/lookup/artist/{artist}/albums").json()
        assert page["total"] == total == len(page["items"]), artist


@pytest.mark.parametrize(
    ("query", "parameter"),
    [({"limit": 0}, "limit"), ({"limit": 51}, "limit"), ({"limit": "x"}, "limit"),
     ({"offset": -1}, "offset")],
)  # fmt: skip
def test_bad_paging_is_400_naming_the_parameter(
    client: httpx.Client, query: dict[str, Any], parameter: str
) -> None:
    answer = client.get(f"/lookup/artist/{ARTIST[1]}/albums", params=query)
    assert answer.status_code == 400
    assert answer.json()["error"]["parameter"] == parameter


def test_unknown_artist_is_404(client: httpx.Client, library: Snapshot) -> None:
    answer = client.get(f"/lookup/artist/{'0' * 22}/albums")
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"


@pytest.fixture(scope="module")
def library(hand_snapshot: Path) -> Iterator[Snapshot]:
    with Snapshot.open(hand_snapshot) as snapshot:
        yield snapshot
