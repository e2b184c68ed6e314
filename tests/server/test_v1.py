"""`/v1` over HTTP: Spotify's published object schemas, its error shape, links, caching,
CORS, rate limiting and metrics, against real servers.

Served objects are validated against the schemas of Spotify's own OpenAPI
description (vendored in tests/data with their source) and may hold no field
those schemas do not declare. Expected values come from the library.
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
from snapshot_api.search.index import SearchKind
from tests.support import spotify_schemas
from tests.support.handmade import ALBUM, ARTIST, SHARED_ISRC, TRACK
from tests.support.server_process import ServerProcess, start_server

UNKNOWN = "0" * 22


@pytest.fixture(scope="module")
def synthetic_server(built_snapshot: Path) -> Iterator[ServerProcess]:
    server = start_server(built_snapshot, "--rate", "0")
    yield server
    server.stop(signal.SIGKILL)


@pytest.fixture
def synthetic(synthetic_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=synthetic_server.url, timeout=10) as http:
        yield http


@pytest.fixture(scope="module")
def common_word(built_snapshot: Path) -> str:
    """A word of at least 50 track titles of the synthetic snapshot (found through the
    library's own search, so nothing here guesses what the generator writes)."""
    with Snapshot.open(built_snapshot) as snapshot:
        word, _id = snapshot.search_probe(SearchKind.TRACK) or ("", "")
        candidates = [word]
        for track in snapshot.search_tracks(word, limit=50):
            candidates += track["name"].split()
        for candidate in candidates:
            if candidate.isalpha() and len(snapshot.search_tracks(candidate, limit=50)) == 50:
                return candidate
    raise AssertionError("no word of 50 titles")


@pytest.fixture(scope="module")
def library(hand_snapshot: Path) -> Iterator[Snapshot]:
    with Snapshot.open(hand_snapshot) as snapshot:
        yield snapshot


def conforms(name: str, instance: dict[str, Any]) -> None:
    """`instance` fits Spotify's schema `name` and holds nothing it does not declare."""
    assert spotify_schemas.errors(name, instance) == [], name
    assert spotify_schemas.unknown_fields(name, instance) == set(), name


def conforms_track(track: dict[str, Any]) -> None:
    conforms("TrackObject", track)
    if "album" in track:
        conforms("SimplifiedAlbumObject", track["album"])
    for artist in track["artists"]:
        conforms("SimplifiedArtistObject", artist)


def spotify_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"status", "message"}
    assert spotify_schemas.errors("ErrorObject", body["error"]) == []
    assert body["error"]["status"] == status
    return str(body["error"]["message"])


# --- shapes ------------------------------------------------------------------------------


def test_every_hand_made_track_fits_spotifys_track_object(
    client: httpx.Client, library: Snapshot
) -> None:
    answer = client.get("/v1/tracks", params={"ids": ",".join(TRACK.values())})
    assert answer.status_code == 200
    tracks = answer.json()["tracks"]
    expected = library.tracks(TRACK.values())
    assert [t["id"] if t else None for t in tracks] == [
        key if key in expected else None for key in TRACK.values()
    ]
    for track in tracks:
        conforms_track(track)
        document = expected[track["id"]]
        assert track["name"] == document["name"]
        assert track["explicit"] == document.get("explicit", False)
        assert track["preview_url"] == document.get("preview_url")
        assert ("album" in track) == ("album" in document)
    dangling = next(t for t in tracks if t["id"] == TRACK[6])
    assert "album" not in dangling  # its album row does not exist


def test_albums_artists_listings_and_features_fit_spotifys_objects(
    client: httpx.Client, library: Snapshot
) -> None:
    for album_id in ALBUM.values():
        album = client.get(f"/v1/albums/{album_id}").json()
        conforms("AlbumObject", album)
        conforms("PagingSimplifiedTrackObject", album["tracks"])
        for item in album["tracks"]["items"]:
            conforms("SimplifiedTrackObject", item)
        assert [t["id"] for t in album["tracks"]["items"]] == [
            t["id"] for t in library.album_tracks(album_id)
        ]
    first = client.get(f"/v1/albums/{ALBUM[1]}").json()
    assert first["copyrights"] == [
        {"text": "(c) Label", "type": "C"},
        {"text": "(p) Label", "type": "P"},
    ]
    assert first["external_ids"] == {"upc": "0012345678905"}
    assert first["available_markets"] == ["DE", "FR", "US"]
    assert client.get(f"/v1/albums/{ALBUM[2]}").json()["name"] == ""
    for artist_id in ARTIST.values():
        conforms("ArtistObject", client.get(f"/v1/artists/{artist_id}").json())
    page = client.get(f"/v1/artists/{ARTIST[1]}/albums").json()
    conforms("PagingArtistDiscographyAlbumObject", page)
    for item in page["items"]:
        conforms("ArtistDiscographyAlbumObject", item)
    features = client.get(f"/v1/audio-features/{TRACK[1]}").json()
    conforms("AudioFeaturesObject", features)
    assert features["track_href"] == f"{client.base_url}/v1/tracks/{TRACK[1]}"


def test_search_answers_fit_spotifys_paging_objects(
    synthetic: httpx.Client, common_word: str
) -> None:
    answer = synthetic.get(
        "/v1/search", params={"q": common_word, "type": "track,album,artist", "limit": 3}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    for key, schema in (
        ("tracks", "PagingTrackObject"),
        ("albums", "PagingSimplifiedAlbumObject"),
        ("artists", "PagingArtistObject"),
    ):
        conforms(schema, body[key])
    assert len(body["tracks"]["items"]) == 3
    for track in body["tracks"]["items"]:
        conforms_track(track)


# --- values and rules ----------------------------------------------------------------------


def test_ids_lists_keep_order_and_duplicates_and_null_unknowns(client: httpx.Client) -> None:
    ids = [ARTIST[2], UNKNOWN, ARTIST[1], ARTIST[2]]
    artists = client.get("/v1/artists", params={"ids": ",".join(ids)}).json()["artists"]
    assert [a["id"] if a else None for a in artists] == [ARTIST[2], None, ARTIST[1], ARTIST[2]]
    features = client.get(
        "/v1/audio-features", params={"ids": f"{TRACK[1]},{TRACK[2]},{TRACK[4]}"}
    ).json()["audio_features"]
    assert features[0]["id"] == TRACK[1] and features[1:] == [None, None]


def test_spotipy_style_trailing_slashes_are_the_same_route(client: httpx.Client) -> None:
    plain = client.get("/v1/tracks", params={"ids": TRACK[1]})
    slashed = client.get("/v1/tracks/", params={"ids": TRACK[1]})
    assert slashed.status_code == 200 and slashed.json() == plain.json()
    assert slashed.headers["etag"] == plain.headers["etag"]
    listing = client.get(f"/v1/albums/{ALBUM[1]}/tracks/")
    assert listing.status_code == 200
    assert listing.json() == client.get(f"/v1/albums/{ALBUM[1]}/tracks").json()


def test_album_tracks_pages_link_to_each_other(client: httpx.Client, library: Snapshot) -> None:
    listed = [t["id"] for t in library.album_tracks(ALBUM[1])]
    page = client.get(f"/v1/albums/{ALBUM[1]}/tracks", params={"limit": 1}).json()
    assert page["previous"] is None and page["total"] == len(listed)
    seen = []
    while True:
        seen += [t["id"] for t in page["items"]]
        if page["next"] is None:
            break
        following = httpx.get(page["next"], timeout=10).json()
        assert following["previous"] is not None
        page = following
    assert seen == listed


def test_search_by_isrc_and_upc_needs_no_search_index(
    client: httpx.Client, library: Snapshot
) -> None:
    found = client.get("/v1/search", params={"q": f"isrc:{SHARED_ISRC}", "type": "track"})
    assert found.status_code == 200, found.text
    expected = library.lookup_isrcs([SHARED_ISRC])[SHARED_ISRC]
    assert [t["id"] for t in found.json()["tracks"]["items"]] == [t["id"] for t in expected]
    narrowed = client.get(
        "/v1/search", params={"q": f'isrc:{SHARED_ISRC} album:"compilation"', "type": "track"}
    ).json()["tracks"]
    on_compilations = [
        t["id"] for t in expected if "compilation" in t.get("album", {}).get("name", "").lower()
    ]
    assert TRACK[5] in on_compilations
    assert [t["id"] for t in narrowed["items"]] == on_compilations
    dated = client.get(
        "/v1/search", params={"q": f"isrc:{SHARED_ISRC} year:2000-2001", "type": "track"}
    ).json()["tracks"]
    assert {t["id"] for t in dated["items"]} == {TRACK[1], TRACK[4]}
    albums = client.get("/v1/search", params={"q": 'upc:"0 12345 67890 5"', "type": "album"})
    assert [a["id"] for a in albums.json()["albums"]["items"]] == [
        a["id"] for a in library.lookup_upcs(["012345678905"])["012345678905"]
    ]
    words = client.get("/v1/search", params={"q": "track:song", "type": "track"})
    assert "search index" in spotify_error(words, 503)


def test_search_pages_follow_the_name_search(
    synthetic: httpx.Client, built_snapshot: Path, common_word: str
) -> None:
    with Snapshot.open(built_snapshot) as snapshot:
        expected = [t["id"] for t in snapshot.search_tracks(common_word, limit=50)]
    assert len(expected) == 50
    page = synthetic.get(
        "/v1/search", params={"q": common_word, "type": "track", "limit": 20}
    ).json()
    seen: list[str] = []
    while len(seen) < 50:
        seen += [t["id"] for t in page["tracks"]["items"]]
        assert page["tracks"]["total"] > len(seen)  # another page exists: total says so
        page = httpx.get(page["tracks"]["next"], timeout=10).json()
    assert seen[:50] == expected


# --- errors ----------------------------------------------------------------------------------


def test_errors_have_spotifys_shape(client: httpx.Client) -> None:
    assert "22 letters" in spotify_error(client.get("/v1/tracks/abc"), 400)
    assert "no track" in spotify_error(client.get(f"/v1/tracks/{UNKNOWN}"), 404)
    assert "expected a track" in spotify_error(
        client.get(f"/v1/tracks/spotify:album:{ALBUM[1]}"), 400
    )
    too_many = ",".join([TRACK[1]] * 51)
    assert "at most 50" in spotify_error(client.get("/v1/tracks", params={"ids": too_many}), 400)
    assert "at most 20" in spotify_error(
        client.get("/v1/albums", params={"ids": ",".join([ALBUM[1]] * 21)}), 400
    )
    assert "ids is required" in spotify_error(client.get("/v1/tracks"), 400)
    assert "limit" in spotify_error(
        client.get(f"/v1/albums/{ALBUM[1]}/tracks", params={"limit": 51}), 400
    )
    assert "type" in spotify_error(client.get("/v1/search", params={"q": "x"}), 400)
    assert "no route" in spotify_error(client.get("/v1/playlists/x"), 404)
    assert "not allowed" in spotify_error(client.delete(f"/v1/tracks/{TRACK[1]}"), 405)
    assert "not allowed" in spotify_error(client.get("/api/token"), 405)
    # the other routes keep their own shape
    assert set(client.get(f"/lookup/track/{UNKNOWN}").json()["error"]) == {"code", "message"}


def test_any_client_credentials_get_a_token(client: httpx.Client) -> None:
    answer = client.post(
        "/api/token",
        data={"grant_type": "client_credentials"},
        auth=("client-id", "client-secret"),
    )
    assert answer.status_code == 200
    token = answer.json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
    assert token["access_token"]
    assert "etag" not in answer.headers


# --- links, caching, CORS, rate limiting, metrics ------------------------------------------


def test_links_name_this_server_and_trusted_proxies_only(
    client: httpx.Client, hand_snapshot: Path
) -> None:
    direct = client.get(f"/v1/tracks/{TRACK[1]}")
    assert direct.json()["href"] == f"{client.base_url}/v1/tracks/{TRACK[1]}"
    proxied_headers = {"x-forwarded-proto": "https", "x-forwarded-host": "music.example"}
    proxied = client.get(f"/v1/tracks/{TRACK[1]}", headers=proxied_headers)
    # loopback is a trusted proxy by default
    assert proxied.json()["href"] == f"https://music.example/v1/tracks/{TRACK[1]}"
    assert proxied.json()["album"]["href"] == f"https://music.example/v1/albums/{ALBUM[1]}"
    assert proxied.headers["etag"] != direct.headers["etag"]
    assert "x-forwarded-host" in proxied.headers["vary"].lower()
    hostile = client.get(
        f"/v1/tracks/{TRACK[1]}", headers={"x-forwarded-host": "evil.example/<script>"}
    )
    assert hostile.json()["href"] == f"{client.base_url}/v1/tracks/{TRACK[1]}"
    untrusting = start_server(hand_snapshot, "--rate", "0", "--trusted-proxy", "10.0.0.0/8")
    try:
        ignored = httpx.get(
            f"{untrusting.url}/v1/tracks/{TRACK[1]}", headers=proxied_headers, timeout=10
        )
        assert ignored.json()["href"] == f"{untrusting.url}/v1/tracks/{TRACK[1]}"
    finally:
        untrusting.stop(signal.SIGKILL)


def test_conditional_get_and_cors(client: httpx.Client) -> None:
    first = client.get(f"/v1/artists/{ARTIST[1]}", headers={"origin": "https://app.example"})
    assert first.headers["access-control-allow-origin"] == "*"
    assert first.headers["cache-control"].startswith("public")
    again = client.get(f"/v1/artists/{ARTIST[1]}", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304
    preflight = client.options(
        "/v1/tracks",
        headers={"origin": "https://app.example", "access-control-request-method": "GET"},
    )
    assert preflight.status_code == 204
    assert "GET" in preflight.headers["access-control-allow-methods"]


def test_an_ids_list_costs_like_a_batch(hand_snapshot: Path) -> None:
    server = start_server(hand_snapshot, "--rate", "0.001", "--burst", "50")
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:

            def left(response: httpx.Response) -> int:
                assert response.status_code == 200, response.text
                return int(response.headers["ratelimit"].split("r=")[1].split(";")[0])

            start = left(http.get(f"/v1/tracks/{TRACK[1]}"))
            hundred = ",".join(f"Track{n}".ljust(22, "q") for n in range(100))
            after_list = left(http.get("/v1/audio-features", params={"ids": hundred}))
            assert start - after_list == 2  # 100 distinct ids: two started 50s
            repeated = ",".join([TRACK[1]] * 50)
            after_repeats = left(http.get("/v1/tracks", params={"ids": repeated}))
            assert after_list - after_repeats == 1  # one distinct id
    finally:
        server.stop(signal.SIGKILL)


def test_metrics_label_v1_routes_by_template(client: httpx.Client) -> None:
    client.get(f"/v1/tracks/{TRACK[3]}")
    text = client.get("/metrics").text
    assert 'route="/v1/tracks/{id}"' in text
    assert TRACK[3] not in text


def test_markets_are_the_dumps(client: httpx.Client, hand_snapshot: Path) -> None:
    dump = sqlite3.connect(hand_snapshot / "spotify_clean.sqlite3")
    stored = dump.execute(
        "SELECT m.available_markets FROM tracks AS t JOIN available_markets AS m"
        " ON m.rowid = t.available_markets_rowid WHERE t.id = ?",
        (TRACK[1],),
    ).fetchone()[0]
    dump.close()
    track = client.get(f"/v1/tracks/{TRACK[1]}").json()
    assert track["available_markets"] == stored.split(",")


def test_year_filters_the_name_search_in_ranking_order(
    synthetic: httpx.Client, built_snapshot: Path, common_word: str
) -> None:
    with Snapshot.open(built_snapshot) as snapshot:
        ranked: list[dict[str, Any]] = []
        for offset in range(0, 1000, 50):
            page = snapshot.search_tracks(common_word, limit=50, offset=offset)
            ranked += page
            if len(page) < 50:
                break

    def year(track: dict[str, Any]) -> int:
        return int(track["album"]["release_date"][:4])

    expected = [t["id"] for t in ranked if 2015 <= year(t) <= 2020]
    assert 0 < len(expected) < len(ranked)
    answer = synthetic.get(
        "/v1/search", params={"q": f"{common_word} year:2015-2020", "type": "track", "limit": 50}
    ).json()["tracks"]
    assert [t["id"] for t in answer["items"]] == expected[:50]
    assert answer["total"] == len(expected)
    bad = synthetic.get("/v1/search", params={"q": f"{common_word} year:soon", "type": "track"})
    assert "year" in spotify_error(bad, 400)
