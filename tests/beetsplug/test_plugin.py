"""The plugin through beets' own APIs in this process: ids, the autotagger, the documents.

`beets.autotag.tag_album` is what `beet import` runs per album; here it gets
beets `Item`s read from real audio files (so lengths are the files' own), and
the first candidate it ranks must be the album the files were made from.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from beets.autotag import Source, tag_album, tag_item
from beets.library import Item

from beetsplug.snapshot import LOCAL_THREADS, release_date, search_text
from tests.support.beets_home import (
    SnapshotAlbum,
    all_isrcs,
    expected_album_fields,
    one_disc,
    rip,
)
from tests.support.reference import Reference

Pick = Callable[..., SnapshotAlbum]


def items_of(directory: Path) -> list[Item]:
    return [Item.from_path(path) for path in sorted(directory.iterdir())]


def test_album_from_artist_title_and_track_numbers_only(
    beets_plugin: Any, pick_album: Pick, tmp_path: Path
) -> None:
    """No album tag: found by the files' titles and artists, ranked first by beets."""
    album = pick_album(one_disc)
    items = items_of(rip(tmp_path / "rip", album, tags=("artist", "title", "track")))
    assert all(not item.album for item in items)

    proposal = tag_album(Source.from_items(items))

    best = proposal.candidates[0]
    assert best.info.album_id == album.id
    assert [best.mapping[item].track_id for item in items] == [t["id"] for t in album.tracks]
    best.apply_metadata()
    for item, track in zip(items, album.tracks, strict=True):
        item.write()
        written = Item.from_path(item.path)
        assert (written.album, written.title) == (album.album["name"], track["name"])
        assert written.mb_albumid == album.id


def test_album_found_by_isrcs_alone(beets_plugin: Any, pick_album: Pick, tmp_path: Path) -> None:
    """Files with nothing but ISRCs and track numbers: the ISRCs name the album."""
    album = pick_album(lambda a: all_isrcs(a) and one_disc(a), unique=True, skip=3)
    items = items_of(rip(tmp_path / "rip", album, fmt="mp3", tags=("isrc", "track")))
    assert all(not item.title and not item.artist for item in items)

    proposal = tag_album(Source.from_items(items))

    assert proposal.candidates[0].info.album_id == album.id
    bare = items_of(rip(tmp_path / "bare", album, fmt="mp3", tags=("track",)))
    assert tag_album(Source.from_items(bare)).candidates == []


def test_album_found_by_barcode_alone(beets_plugin: Any, pick_album: Pick, tmp_path: Path) -> None:
    album = pick_album(lambda a: bool(a.album.get("upc")) and one_disc(a), skip=4)
    items = items_of(rip(tmp_path / "rip", album, fmt="mp3", tags=("barcode", "track")))

    proposal = tag_album(Source.from_items(items))

    assert album.id in [c.info.album_id for c in proposal.candidates]


def test_singleton_by_isrc(beets_plugin: Any, pick_album: Pick, tmp_path: Path) -> None:
    album = pick_album(lambda a: all_isrcs(a) and one_disc(a), unique=True, skip=5)
    track = album.tracks[1]
    items = items_of(rip(tmp_path / "rip", album, tags=("isrc",)))

    proposal = tag_item(Source.from_item(items[1]))

    assert proposal.candidates[0].info.track_id == track["id"]
    assert proposal.candidates[0].info.index == 2


def test_singleton_by_title_artist_and_length(
    beets_plugin: Any, pick_album: Pick, tmp_path: Path
) -> None:
    """No ISRC: the snapshot's match on title and artist, scored with the file's length."""
    album = pick_album(one_disc, skip=6)
    items = items_of(rip(tmp_path / "rip", album, tags=("artist", "title")))

    for item, track in zip(items, album.tracks, strict=True):
        assert not item.isrc and item.length > 0
        proposal = tag_item(Source.from_item(item))
        assert proposal.candidates[0].info.track_id == track["id"]


def test_album_for_id_accepts_ids_uris_and_urls(beets_plugin: Any, pick_album: Pick) -> None:
    album = pick_album(lambda a: not one_disc(a), most=30)
    forms = [
        album.id,
        f"spotify:album:{album.id}",
        f"https://open.spotify.com/album/{album.id}?si=x",
    ]

    infos = [beets_plugin.album_for_id(form) for form in forms]

    assert all(info == infos[0] for info in infos)
    info = infos[0]
    expected = expected_album_fields(album)
    assert info.album == expected["album"]
    assert info.artist == expected["albumartist"]
    assert info.artists_ids == [a["id"] for a in album.album["artists"]]
    assert (info.year or 0, info.month or 0, info.day or 0) == (
        expected["year"],
        expected["month"],
        expected["day"],
    )
    assert (info.label, info.barcode, info.albumtype) == (
        album.album.get("label"),
        album.album.get("upc"),
        album.album["type"],
    )
    assert info.mediums == expected["disctotal"]
    assert info.data_url == f"https://open.spotify.com/album/{album.id}"
    assert [t.track_id for t in info.tracks] == [t["id"] for t in album.tracks]
    assert [t.index for t in info.tracks] == list(range(1, len(album.tracks) + 1))
    assert [(t.medium, t.medium_index) for t in info.tracks] == [
        (t["disc_number"], t["track_number"]) for t in album.tracks
    ]
    per_disc = {d: sum(t["disc_number"] == d for t in album.tracks) for d in (1, 2)}
    assert [t.medium_total for t in info.tracks] == [
        per_disc[t["disc_number"]] for t in album.tracks
    ]
    assert [t.length for t in info.tracks] == [t["duration_ms"] / 1000 for t in album.tracks]


def test_track_for_id_round_trip(beets_plugin: Any, pick_album: Pick) -> None:
    album = pick_album(lambda a: not one_disc(a), most=30)
    position, track = next(
        (i, t) for i, t in enumerate(album.tracks, start=1) if t["disc_number"] == 2
    )

    info = beets_plugin.track_for_id(f"spotify:track:{track['id']}")

    assert info.track_id == track["id"]
    assert info.title == track["name"]
    assert info.index == position
    assert info.medium_total == sum(t["disc_number"] == 2 for t in album.tracks)
    assert info.album == album.album["name"]
    assert info.isrc == track.get("isrc")
    again = beets_plugin.track_for_id(info.data_url)
    assert again == info


def test_batch_lookups_answer_in_order_with_none_for_what_is_not_theirs(
    beets_plugin: Any, pick_album: Pick
) -> None:
    first, second = pick_album(), pick_album(skip=1)
    unknown = "0" * 22
    musicbrainz = "9e873859-8aa4-4790-b985-5a953e8ef628"
    ids = [second.id, musicbrainz, unknown, f"spotify:track:{first.tracks[0]['id']}", first.id]

    albums = list(beets_plugin.albums_for_ids(ids))
    tracks = list(beets_plugin.tracks_for_ids([first.tracks[0]["id"], musicbrainz, first.id]))

    assert [a.album_id if a else None for a in albums] == [second.id, None, None, None, first.id]
    assert [t.track_id if t else None for t in tracks] == [first.tracks[0]["id"], None, None]


def test_various_artists_compilation(beets_plugin: Any, pick_album: Pick) -> None:
    album = pick_album(lambda a: [x["name"] for x in a.album["artists"]] == ["Various Artists"])
    info = beets_plugin.album_for_id(album.id)
    assert info.va is True
    assert info.albumtype == album.album["type"]


@pytest.mark.parametrize("precision", ["year", "month", "day"])
def test_release_date_by_precision(reference: Reference, precision: str) -> None:
    (rowid,) = reference.db.execute(
        "SELECT rowid FROM albums WHERE release_date_precision = ? LIMIT 1", (precision,)
    ).fetchone()
    album = reference.album(rowid)
    assert album is not None
    parts = [int(p) for p in album["release_date"].split("-")]
    known = {"year": 1, "month": 2, "day": 3}[precision]
    assert release_date(album) == tuple([*parts[:known], None, None][:3])


def test_lookups_from_beets_threads_share_a_bounded_set_of_connections(
    beets_plugin: Any, pick_album: Pick
) -> None:
    """beets asks sources from a fresh thread per lookup; the snapshot keeps one connection
    per thread it is used from, so the plugin's own threads must be the only ones."""
    album = pick_album()
    answers: list[str] = []

    def look_up() -> None:
        answers.append(beets_plugin.album_for_id(album.id).album_id)

    for _ in range(20):
        thread = threading.Thread(target=look_up)
        thread.start()
        thread.join()

    assert answers == [album.id] * 20
    snapshot = beets_plugin.source()._snapshot
    assert len(snapshot._connections) <= LOCAL_THREADS


@pytest.mark.parametrize(
    ("tag", "words"),
    [
        ("Abbey Road (Remastered 2009)", "Abbey Road"),
        ("Thriller [Deluxe Edition]", "Thriller"),
        ("Hello feat. Someone Else", "Hello"),
        ("F*ck Love", "F ck Love"),
        ("(Untitled)", "(Untitled)"),
        ("", ""),
    ],
)
def test_search_text_keeps_the_words_a_name_search_can_match(tag: str, words: str) -> None:
    assert search_text(tag) == words
