"""spotipy, a Spotify Web API client nobody here wrote, pointed at a real server's `/v1`.

Each call a spotipy script makes is answered with the snapshot's values: the
expected values come from the library (`Snapshot`) and, for what only `/v1`
shows (markets), from the dump file itself through Python's sqlite3.
"""

from __future__ import annotations

import signal
import sqlite3
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import spotipy
from spotipy.cache_handler import MemoryCacheHandler
from spotipy.oauth2 import SpotifyClientCredentials

from snapshot_api import Snapshot
from snapshot_api.search.index import SearchKind
from tests.support.server_process import ServerProcess, start_server


@pytest.fixture(scope="module")
def v1_server(built_snapshot: Path) -> Iterator[ServerProcess]:
    server = start_server(built_snapshot, "--rate", "0")
    yield server
    server.stop(signal.SIGKILL)


@pytest.fixture(scope="module")
def library(built_snapshot: Path) -> Iterator[Snapshot]:
    with Snapshot.open(built_snapshot) as snapshot:
        yield snapshot


@pytest.fixture(scope="module")
def dump(built_snapshot: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(
        f"file:{built_snapshot / 'spotify_clean.sqlite3'}?mode=ro", uri=True
    )
    yield connection
    connection.close()


@pytest.fixture
def sp(v1_server: ServerProcess) -> spotipy.Spotify:
    client = spotipy.Spotify(auth="any-token", requests_timeout=10, retries=0)
    client.prefix = v1_server.url + "/v1/"
    return client


def _one(dump: sqlite3.Connection, sql: str) -> Any:
    row = dump.execute(sql).fetchone()
    assert row is not None, sql
    return row[0]


def _markets(dump: sqlite3.Connection, table: str, spotify_id: str) -> list[str]:
    text = _one(
        dump,
        f"SELECT m.available_markets FROM {table} AS x JOIN available_markets AS m"
        f" ON m.rowid = x.available_markets_rowid WHERE x.id = '{spotify_id}'",
    )
    return str(text).split(",")


@pytest.fixture(scope="module")
def chosen(dump: sqlite3.Connection) -> dict[str, str]:
    """Ids with something to show: a track with an ISRC, an album with a barcode and
    several tracks, the artist with the most own albums."""
    return {
        "track": _one(
            dump,
            "SELECT t.id FROM tracks AS t JOIN albums AS al ON al.rowid = t.album_rowid"
            " WHERE t.external_id_isrc GLOB '[A-Z][A-Z]*' AND length(t.external_id_isrc) = 12"
            " ORDER BY t.popularity DESC LIMIT 1",
        ),
        "album": _one(
            dump,
            "SELECT al.id FROM albums AS al JOIN tracks AS t ON t.album_rowid = al.rowid"
            " WHERE length(al.external_id_upc) = 12 AND al.external_id_upc NOT GLOB '*[^0-9]*'"
            " GROUP BY al.rowid HAVING count(*) >= 5 LIMIT 1",
        ),
        "artist": _one(
            dump,
            "SELECT ar.id FROM artist_albums AS aa JOIN artists AS ar ON ar.rowid = aa.artist_rowid"
            " WHERE aa.is_appears_on = 0 AND aa.is_implicit_appears_on = 0"
            " GROUP BY aa.artist_rowid ORDER BY count(*) DESC LIMIT 1",
        ),
    }


def _ids(objects: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in objects]


def test_track(
    sp: spotipy.Spotify, library: Snapshot, dump: sqlite3.Connection, chosen: dict[str, str]
) -> None:
    track_id = chosen["track"]
    expected = library.tracks([track_id])[track_id]
    track = sp.track(f"spotify:track:{track_id}")
    assert track["id"] == track_id and track["name"] == expected["name"]
    assert track["external_ids"] == {"isrc": expected["isrc"]}
    assert track["duration_ms"] == expected["duration_ms"]
    assert track["popularity"] == expected["popularity"]
    assert track["album"]["id"] == expected["album"]["id"]
    assert track["album"]["name"] == expected["album"]["name"]
    assert _ids(track["artists"]) == _ids(expected["artists"])
    assert track["available_markets"] == _markets(dump, "tracks", track_id)
    assert track["uri"] == f"spotify:track:{track_id}"
    assert track["external_urls"]["spotify"] == f"https://open.spotify.com/track/{track_id}"
    assert track["href"] == sp.prefix + f"tracks/{track_id}"


def test_tracks_with_an_unknown_id(
    sp: spotipy.Spotify, library: Snapshot, chosen: dict[str, str]
) -> None:
    track_id = chosen["track"]
    unknown = "0" * 22
    answer = sp.tracks([track_id, unknown, track_id])
    tracks = answer["tracks"]
    assert len(tracks) == 3 and tracks[1] is None
    assert tracks[0] == tracks[2]
    assert tracks[0]["name"] == library.tracks([track_id])[track_id]["name"]


def test_an_unknown_track_is_spotifys_404(sp: spotipy.Spotify) -> None:
    with pytest.raises(spotipy.SpotifyException) as raised:
        sp.track("0" * 22)
    assert raised.value.http_status == 404
    assert "in this snapshot" in raised.value.msg


def test_album_and_album_tracks_paging(
    sp: spotipy.Spotify, library: Snapshot, dump: sqlite3.Connection, chosen: dict[str, str]
) -> None:
    album_id = chosen["album"]
    expected = library.albums([album_id])[album_id]
    listed = library.album_tracks(album_id)
    album = sp.album(album_id)
    assert album["name"] == expected["name"] and album["label"] == expected["label"]
    assert album["external_ids"] == {"upc": expected["upc"]}
    assert album["release_date"] == expected["release_date"]
    assert album["total_tracks"] == expected["total_tracks"]
    assert _ids(album["artists"]) == _ids(expected.get("artists", []))
    assert album["available_markets"] == _markets(dump, "albums", album_id)
    assert _ids(album["tracks"]["items"]) == _ids(listed)[:50]
    # pages of 2, followed with spotipy's own next()
    page = sp.album_tracks(album_id, limit=2)
    seen = []
    while page:
        assert page["limit"] == 2 and page["total"] == len(listed)
        seen += _ids(page["items"])
        page = sp.next(page)
    assert seen == _ids(listed)


def test_artist_and_artists(sp: spotipy.Spotify, library: Snapshot, chosen: dict[str, str]) -> None:
    artist_id = chosen["artist"]
    expected = library.artists([artist_id])[artist_id]
    artist = sp.artist(artist_id)
    assert artist["name"] == expected["name"]
    assert artist["followers"] == {"href": None, "total": expected["followers"]}
    assert artist["popularity"] == expected["popularity"]
    assert artist["genres"] == expected.get("genres", [])
    answer = sp.artists([artist_id, "0" * 22])
    assert answer["artists"][0] == artist and answer["artists"][1] is None


def test_artist_albums_newest_first_in_pages(
    sp: spotipy.Spotify, library: Snapshot, chosen: dict[str, str]
) -> None:
    artist_id = chosen["artist"]
    everything = library.artist_albums(artist_id, limit=50)
    assert everything["total"] > 3
    page = sp.artist_albums(artist_id, limit=3)
    seen = []
    while page:
        assert page["total"] == everything["total"]
        seen += _ids(page["items"])
        assert all(item["album_group"] == item["album_type"] for item in page["items"])
        page = sp.next(page)
    assert seen == _ids(everything["items"])
    dates = [album["release_date"] for album in everything["items"]]
    assert dates == sorted(dates, reverse=True)


def test_search_isrc_upc_and_track_with_artist(
    sp: spotipy.Spotify, library: Snapshot, chosen: dict[str, str]
) -> None:
    track = library.tracks([chosen["track"]])[chosen["track"]]
    isrc = track["isrc"]
    found = sp.search(f"isrc:{isrc}", type="track", limit=50)["tracks"]
    assert _ids(found["items"]) == _ids(library.lookup_isrcs([isrc])[isrc])
    assert found["total"] == len(found["items"])

    album = library.albums([chosen["album"]])[chosen["album"]]
    upc = album["upc"]
    albums = sp.search(f'upc:"{upc}"', type="album")["albums"]
    assert _ids(albums["items"]) == _ids(library.lookup_upcs([upc])[upc])

    word, _track_id = library.search_probe(SearchKind.TRACK) or ("", "")
    first = library.search_tracks(word, limit=1)[0]
    artist_name = first["artists"][0]["name"]
    answer = sp.search(f'track:{word} artist:"{artist_name}"', type="track", limit=10)
    expected = library.search_tracks(word, artist=artist_name, limit=10)
    assert _ids(answer["tracks"]["items"]) == _ids(expected)
    assert first["id"] in _ids(answer["tracks"]["items"])


def test_audio_features(sp: spotipy.Spotify, library: Snapshot, built_snapshot: Path) -> None:
    features = sqlite3.connect(built_snapshot / "spotify_clean_audio_features.sqlite3")
    with_features = [
        row[0]
        for row in features.execute(
            "SELECT track_id FROM track_audio_features WHERE null_response = 0 LIMIT 3"
        )
    ]
    null_response = features.execute(
        "SELECT track_id FROM track_audio_features WHERE null_response = 1"
    ).fetchone()[0]
    features.close()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # spotipy: "deprecated by Spotify"
        answer = sp.audio_features([*with_features, null_response])
    expected = library.audio_features(with_features)
    assert answer[-1] is None
    for track_id, shaped in zip(with_features, answer, strict=False):
        assert shaped["type"] == "audio_features" and shaped["uri"] == f"spotify:track:{track_id}"
        assert {k: v for k, v in shaped.items() if k in expected[track_id]} == expected[track_id]


def test_client_credentials_flow_gets_its_token_here(
    v1_server: ServerProcess, library: Snapshot, chosen: dict[str, str]
) -> None:
    manager = SpotifyClientCredentials(
        client_id="someone", client_secret="anything", cache_handler=MemoryCacheHandler()
    )
    manager.OAUTH_TOKEN_URL = v1_server.url + "/api/token"
    client = spotipy.Spotify(auth_manager=manager, requests_timeout=10, retries=0)
    client.prefix = v1_server.url + "/v1/"
    track_id = chosen["track"]
    assert client.track(track_id)["name"] == library.tracks([track_id])[track_id]["name"]
    token = manager.cache_handler.get_cached_token()
    assert token["token_type"] == "Bearer" and token["access_token"]
    requests = v1_server.wait_for(
        lambda line: line.get("event") == "request" and line.get("path") == "/api/token"
    )
    assert requests["status"] == 200 and requests["method"] == "POST"
