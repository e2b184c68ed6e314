"""Documents from the library against the contract, on a hand-made dump with every dirty case."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from snapshot_api import InvalidIdentifier, NotFound, Snapshot
from snapshot_api.readmode import ReadMode
from tests.support.handmade import ALBUM, ARTIST, LONELY_ISRC, SHARED_ISRC, TRACK, write_dump
from tests.support.prepare import prepare
from tests.support.reference import Reference


@pytest.fixture(scope="module", params=list(ReadMode), ids=lambda mode: f"mmap-{mode}")
def snap(hand_snapshot: Path, request: pytest.FixtureRequest) -> Iterator[Snapshot]:
    """Every test runs in every read mode: the documents must not depend on it."""
    with Snapshot.open(hand_snapshot, mmap=request.param) as snapshot:
        yield snapshot


@pytest.fixture(scope="module")
def ref(hand_snapshot: Path) -> Iterator[Reference]:
    reference = Reference(hand_snapshot)
    yield reference
    reference.close()


def test_every_track_equals_the_reference(snap: Snapshot, ref: Reference) -> None:
    docs = snap.tracks(TRACK.values())
    assert set(docs) == set(TRACK.values())
    for spotify_id, doc in docs.items():
        rowid = ref.rowid_of("tracks", spotify_id)
        assert rowid is not None
        assert doc == ref.track(rowid), spotify_id


def test_every_album_and_artist_equals_the_reference(snap: Snapshot, ref: Reference) -> None:
    albums = snap.albums(ALBUM.values())
    artists = snap.artists(ARTIST.values())
    assert set(albums) == set(ALBUM.values())
    assert set(artists) == set(ARTIST.values())
    for spotify_id, doc in albums.items():
        assert doc == ref.album(ref.rowid_of("albums", spotify_id) or 0)
    for spotify_id, doc in artists.items():
        assert doc == ref.artist(ref.rowid_of("artists", spotify_id) or 0)


def test_field_rules_of_the_contract(snap: Snapshot) -> None:
    track = snap.tracks([TRACK[1]])[TRACK[1]]
    assert track["explicit"] is True
    assert track["has_lyrics"] is True
    assert track["languages"] == ["en", "zxx"]
    assert track["artist_roles"] == ["main_artist", "featured_artist"]
    assert [a["id"] for a in track["artists"]] == [
        ARTIST[2],
        ARTIST[1],
    ]  # track_artists rowid order
    album = track["album"]
    assert [a["id"] for a in album["artists"]] == [ARTIST[1], ARTIST[2]]  # by index_in_album
    assert [i["width"] for i in album["images"]] == [640, 300, 64]  # widest first, no duplicates
    assert album["upc"] == "0012345678905"
    artist = album["artists"][0]
    assert artist["genres"] == ["pop", "art pop", "dance"]  # table order
    assert [i["width"] for i in artist["images"]] == [640, 320, 160]
    assert artist["name"] == "Zoë Ünïcode"


def test_nulls_and_empty_lists_are_omitted_empty_strings_kept(snap: Snapshot) -> None:
    single = snap.albums([ALBUM[2]])[ALBUM[2]]
    assert single["name"] == ""
    assert single["label"] == ""
    assert "copyright" not in single and "copyright_p" not in single
    assert "images" not in single
    assert [a["name"] for a in single["artists"]] == [""]
    two = snap.tracks([TRACK[2]])[TRACK[2]]
    assert "preview_url" not in two and "isrc" not in two
    assert two["explicit"] is False and two["has_lyrics"] is False
    assert "languages" not in two  # malformed JSON in the row
    assert "artist_roles" not in two  # valid JSON, but not an array
    four = snap.tracks([TRACK[4]])[TRACK[4]]
    assert four["original_title"] == ""
    assert "languages" not in four  # empty list
    assert four["artist_roles"] == ["main_artist"]  # non-string items dropped
    assert "has_lyrics" not in four
    assert "version_title" not in snap.tracks([TRACK[3]])[TRACK[3]]
    nine = snap.tracks([TRACK[9]])[TRACK[9]]
    assert "artists" not in nine and "has_lyrics" not in nine  # no artists, no track_files row


def test_dangling_references_are_left_out(snap: Snapshot) -> None:
    orphan = snap.tracks([TRACK[6]])[TRACK[6]]
    assert "album" not in orphan
    five = snap.tracks([TRACK[5]])[TRACK[5]]
    assert [a["id"] for a in five["artists"]] == [ARTIST[4]]
    compilation = snap.albums([ALBUM[3]])[ALBUM[3]]
    assert [a["id"] for a in compilation["artists"]] == [ARTIST[1]]


def test_isrc_lookup_normalises_and_orders_by_popularity(snap: Snapshot, ref: Reference) -> None:
    pasted = "us-rc1-76-07839"
    result = snap.lookup_isrcs([pasted, SHARED_ISRC, LONELY_ISRC, "ZZZZZ9999999"])
    assert list(result) == [pasted, SHARED_ISRC, LONELY_ISRC, "ZZZZZ9999999"]
    shared = result[SHARED_ISRC]
    # 90, then 40 by rowid, then the track stored as "us-rc1-76-07839" (popularity 0)
    assert [t["id"] for t in shared] == [TRACK[4], TRACK[1], TRACK[5], TRACK[7]]
    assert result[pasted] == shared
    assert shared == ref.tracks_by_isrc(SHARED_ISRC)
    assert result["ZZZZZ9999999"] == []


def test_barcode_lookup_ignores_leading_zeros(snap: Snapshot, ref: Reference) -> None:
    spellings = ["012345678905", "0 12345 67890 5", "0012345678905", "12345678905"]
    result = snap.lookup_upcs([*spellings, "4006381333931", "99999999"])
    expected = ref.albums_by_barcode("12345678905")
    assert [a["id"] for a in expected] == [ALBUM[1], ALBUM[2]]
    for spelling in spellings:
        assert result[spelling] == expected
    assert [a["id"] for a in result["4006381333931"]] == [ALBUM[5]]
    assert result["99999999"] == []


def test_album_tracks_by_disc_then_number_without_album(snap: Snapshot, ref: Reference) -> None:
    tracks = snap.album_tracks(ALBUM[1])
    assert [t["id"] for t in tracks] == [TRACK[1], TRACK[2], TRACK[10], TRACK[3]]
    assert all("album" not in t for t in tracks)
    assert tracks == ref.album_tracks(1)
    assert snap.album_tracks(f"spotify:album:{ALBUM[5]}") == []
    with pytest.raises(NotFound):
        snap.album_tracks("0" * 22)


def test_ids_accept_uris_and_urls_and_unknown_ids_are_absent(snap: Snapshot) -> None:
    uri = f"spotify:track:{TRACK[1]}"
    url = f"https://open.spotify.com/intl-de/track/{TRACK[1]}?si=abc"
    result = snap.tracks([uri, url, "0" * 22])
    assert set(result) == {uri, url}
    assert result[uri] == result[url]
    assert result[uri]["id"] == TRACK[1]


def test_malformed_values_raise_naming_every_one_before_any_query(snap: Snapshot) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        snap.lookup_isrcs(["USRC17607839", "nope", "12"])
    assert [r.value for r in caught.value.rejections] == ["nope", "12"]
    assert isinstance(caught.value, ValueError)
    with pytest.raises(InvalidIdentifier, match="album"):
        snap.tracks([f"spotify:album:{ALBUM[1]}"])
    with pytest.raises(InvalidIdentifier):
        snap.lookup_upcs(["1234567"])


def test_without_track_files_the_enrichment_fields_are_absent(tmp_path: Path) -> None:
    write_dump(tmp_path, track_files=False)
    prepare(tmp_path)
    with Snapshot.open(tmp_path) as snap:
        assert not snap.has_track_files
        track = snap.tracks([TRACK[1]])[TRACK[1]]
    assert track["name"] == "Song One"
    assert not {"original_title", "version_title", "has_lyrics", "languages", "artist_roles"} & set(
        track
    )


def test_old_go_server_file_names_are_found(tmp_path: Path, hand_snapshot: Path) -> None:
    shutil.copy(hand_snapshot / "spotify_clean.sqlite3", tmp_path / "main_database.sqlite3")
    shutil.copy(
        hand_snapshot / "spotify_clean_track_files.sqlite3", tmp_path / "track_files.sqlite3"
    )
    prepare(tmp_path)
    with Snapshot.open(tmp_path) as snap, Snapshot.open(hand_snapshot) as published:
        assert snap.has_track_files
        assert snap.lookup_isrcs([SHARED_ISRC]) == published.lookup_isrcs([SHARED_ISRC])
