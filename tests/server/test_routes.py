"""Every route against a real server: documents equal the library's, errors are JSON with codes."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from snapshot_api import Snapshot
from snapshot_api.errors import clip
from tests.support.handmade import ALBUM, ARTIST, LONELY_ISRC, SHARED_ISRC, TRACK


@pytest.fixture(scope="module")
def library(hand_snapshot: Path) -> Snapshot:
    return Snapshot.open(hand_snapshot)


def error_of(response: httpx.Response) -> dict[str, object]:
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) >= {"error"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return dict(body["error"])


@pytest.mark.parametrize(
    "spelling", [SHARED_ISRC, "us-rc1-76-07839", "usrc17607839", "US RC1 76 07839"]
)
def test_isrc_answers_the_library_documents_for_any_spelling(
    client: httpx.Client, library: Snapshot, spelling: str
) -> None:
    response = client.get(f"/lookup/isrc/{spelling}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    expected = library.lookup_isrcs([SHARED_ISRC])[SHARED_ISRC]
    assert response.json() == expected
    assert [track["popularity"] for track in expected] == sorted(
        (track["popularity"] for track in expected), reverse=True
    )
    assert len(expected) == 4  # with the track stored as "us-rc1-76-07839"


def test_unknown_isrc_is_an_empty_array(client: httpx.Client) -> None:
    response = client.get("/lookup/isrc/ZZ0000000000")
    assert response.status_code == 200
    assert response.content == b"[]"


def test_upc_spellings_meet_the_same_albums(client: httpx.Client, library: Snapshot) -> None:
    expected = library.lookup_upcs(["012345678905"])["012345678905"]
    assert {album["id"] for album in expected} == {ALBUM[1], ALBUM[2]}
    for spelling in ("012345678905", "0012345678905", "0 12345 67890 5", "12345678905"):
        response = client.get(f"/lookup/upc/{spelling}")
        assert response.status_code == 200
        assert response.json() == expected
    assert client.get("/lookup/upc/99999999").json() == []


@pytest.mark.parametrize(
    ("kind", "ids"),
    [("track", TRACK), ("album", ALBUM), ("artist", ARTIST)],
)
def test_entities_by_id_and_uri_equal_the_library(
    client: httpx.Client, library: Snapshot, kind: str, ids: dict[int, str]
) -> None:
    lookup = {"track": library.tracks, "album": library.albums, "artist": library.artists}[kind]
    expected = lookup(list(ids.values()))
    assert expected, "the hand-made dump has documents of every kind"
    for value in ids.values():
        for spelling in (value, f"spotify:{kind}:{value}"):
            response = client.get(f"/lookup/{kind}/{spelling}")
            if value in expected:
                assert response.status_code == 200, spelling
                assert response.json() == expected[value]
            else:
                assert response.status_code == 404
                assert error_of(response)["code"] == "not_found"


def test_unknown_ids_are_404_naming_the_value(client: httpx.Client) -> None:
    unknown = "Nothing0xxxxxxxxxxxxxxx"[:22]
    for kind in ("track", "album", "artist"):
        response = client.get(f"/lookup/{kind}/{unknown}")
        assert response.status_code == 404
        error = error_of(response)
        assert error["code"] == "not_found"
        assert unknown in str(error["message"])
    response = client.get(f"/lookup/album/{unknown}/tracks")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_album_tracks_are_ordered_and_without_album(
    client: httpx.Client, library: Snapshot
) -> None:
    response = client.get(f"/lookup/album/{ALBUM[1]}/tracks")
    assert response.status_code == 200
    tracks = response.json()
    assert tracks == library.album_tracks(ALBUM[1])
    assert [(t["disc_number"], t["track_number"]) for t in tracks] == [
        (1, 1),
        (1, 2),
        (1, 3),
        (2, 1),
    ]
    assert all("album" not in track for track in tracks)
    empty = client.get(f"/lookup/album/{ALBUM[5]}/tracks")
    assert empty.status_code == 200 and empty.json() == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("/lookup/isrc/US-RC1-76", "US-RC1-76"),
        ("/lookup/isrc/1SRC17607839", "1SRC17607839"),
        ("/lookup/upc/12AB5", "12AB5"),
        ("/lookup/upc/1234567", "1234567"),
        ("/lookup/track/short", "short"),
        (f"/lookup/track/spotify:album:{ALBUM[1]}", f"spotify:album:{ALBUM[1]}"),
        (f"/lookup/album/spotify:track:{TRACK[1]}/tracks", f"spotify:track:{TRACK[1]}"),
        ("/lookup/artist/" + "x" * 300, "x" * 300),
    ],
)
def test_malformed_identifiers_are_400_naming_the_value(
    client: httpx.Client, path: str, value: str
) -> None:
    response = client.get(path)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid_identifier"
    assert error["values"] == [clip(value)]  # long values are clipped, never echoed whole


def test_urls_are_not_accepted_in_paths(client: httpx.Client) -> None:
    """A URL in a path is either another route (404) or a 400 that says where URLs work."""
    response = client.get("/lookup/track/https:%2F%2Fopen.spotify.com%2Ftrack%2F" + TRACK[1])
    assert response.status_code in (400, 404)
    assert error_of(response)["code"] in ("invalid_identifier", "route_not_found")


def test_unknown_routes_and_wrong_methods_are_json(client: httpx.Client) -> None:
    response = client.get("/nothing/here")
    assert response.status_code == 404
    assert error_of(response)["code"] == "route_not_found"
    response = client.get("/lookup/isrc/")
    assert response.status_code == 404
    response = client.get(f"/lookup/isrc/{SHARED_ISRC}/")
    assert response.status_code == 404, "no slash redirects: one spelling per resource"

    response = client.post(f"/lookup/isrc/{SHARED_ISRC}")
    assert response.status_code == 405
    error = error_of(response)
    assert error["code"] == "method_not_allowed"
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}
    response = client.get("/batch/lookup")
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert client.delete("/health").status_code == 405


def test_head_answers_headers_without_body(client: httpx.Client) -> None:
    get = client.get(f"/lookup/track/{TRACK[1]}")
    head = client.head(f"/lookup/track/{TRACK[1]}")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-length"] == get.headers["content-length"]


def test_health_names_the_snapshot(client: httpx.Client, library: Snapshot) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["snapshot_id"] == library.snapshot_id
    assert body["counts"] == library.manifest.counts
    assert response.headers["cache-control"] == "no-store"


def test_ready_probes_the_snapshot(client: httpx.Client, library: Snapshot) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "snapshot_id": library.snapshot_id}


def test_documents_keep_unicode_and_empty_strings(client: httpx.Client) -> None:
    artist = client.get(f"/lookup/artist/{ARTIST[4]}").json()
    assert artist["name"] == "אמן 🎵"
    assert client.get(f"/lookup/artist/{ARTIST[3]}").json()["name"] == ""
    assert client.get(f"/lookup/isrc/{LONELY_ISRC}").json()[0]["artists"][0]["name"] == "中文歌手"
