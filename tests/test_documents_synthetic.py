"""Library documents equal the independent reference on a synthetic snapshot with its dirty cases.

The samples are chosen by querying the generated files (never hard-coded), so
they follow the generator: shared ISRCs, malformed stored ISRCs and barcodes,
barcodes with and without leading zeros, tracks without track_files rows or
with malformed JSON in them, empty names.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from snapshot_api import Snapshot
from snapshot_api.identifiers import Kind, parse_many, stored_barcode_key
from tests.support.reference import Reference


@pytest.fixture(scope="module")
def ref(built_snapshot: Path) -> Iterator[Reference]:
    reference = Reference(built_snapshot)
    yield reference
    reference.close()


@pytest.fixture(scope="module")
def db(built_snapshot: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(
        f"file:{built_snapshot / 'spotify_clean.sqlite3'}?mode=ro", uri=True
    )
    connection.execute(
        f"ATTACH 'file:{built_snapshot / 'spotify_clean_track_files.sqlite3'}?mode=ro' AS tf"
    )
    yield connection
    connection.close()


WELL_FORMED_ISRC = "[A-Z][A-Z]" + "[A-Z0-9]" * 3 + "[0-9]" * 7


def column(db: sqlite3.Connection, sql: str) -> list[str]:
    return [row[0] for row in db.execute(sql)]


def test_isrcs_including_shared_and_malformed_stored_ones(
    snap: Snapshot, ref: Reference, db: sqlite3.Connection
) -> None:
    shared = column(db, "SELECT external_id_isrc FROM tracks WHERE external_id_isrc IS NOT NULL"
                        " GROUP BY 1 HAVING count(*) > 1 LIMIT 40")  # fmt: skip
    assert shared, "the generator shares ISRCs between tracks"
    some = column(db, "SELECT external_id_isrc FROM tracks WHERE external_id_isrc IS NOT NULL"
                      " ORDER BY rowid LIMIT 200")  # fmt: skip
    dirty = column(db, "SELECT external_id_isrc FROM tracks WHERE external_id_isrc NOT GLOB"
                       f" '{WELL_FORMED_ISRC}' LIMIT 40")  # fmt: skip
    assert dirty, "the generator stores some malformed ISRCs"
    accepted, rejected = parse_many(Kind.ISRC, shared + some + dirty)
    # a dirty stored value is either rejected or normalised to a key it is not stored as
    assert all(v not in accepted or accepted[v] != v for v in dirty)
    assert rejected
    assert accepted
    result = snap.lookup_isrcs(accepted)
    for value, canonical in accepted.items():
        assert result[value] == ref.tracks_by_isrc(canonical), value
    assert sum(len(result[v]) > 1 for v in accepted) >= 1
    # a track stored under a lower-case or hyphenated spelling is found by its canonical ISRC
    assert any(result[v] for v in dirty if v in accepted)


def test_barcodes_with_and_without_leading_zeros(
    snap: Snapshot, ref: Reference, db: sqlite3.Connection
) -> None:
    stored = column(db, "SELECT external_id_upc FROM albums WHERE external_id_upc IS NOT NULL")
    assert any(s.startswith("0") for s in stored)
    assert any(stored_barcode_key(s) is None for s in stored), "some stored barcodes malformed"
    wellformed = [s for s in stored if stored_barcode_key(s) is not None][:150]
    padded = ["0" + s for s in wellformed if len(s) < 14][:50]
    result = snap.lookup_upcs(wellformed + padded)
    for value in wellformed + padded:
        expected = ref.albums_by_barcode(str(stored_barcode_key(value)))
        assert result[value] == expected, value
        assert expected, value


def test_tracks_albums_artists_by_id_with_dirty_enrichment(
    snap: Snapshot, ref: Reference, db: sqlite3.Connection
) -> None:
    no_files = column(db, "SELECT id FROM tracks"
                          " WHERE id NOT IN (SELECT track_id FROM tf.track_files)"
                          " LIMIT 20")  # fmt: skip
    malformed = column(db, "SELECT track_id FROM tf.track_files"
                           " WHERE NOT json_valid(language_of_performance)"
                           " OR NOT json_valid(artist_roles) LIMIT 20")  # fmt: skip
    assert no_files, "the generator leaves tracks without a track_files row"
    assert malformed, "the generator writes malformed JSON in track_files"
    track_ids = column(db, "SELECT id FROM tracks ORDER BY rowid LIMIT 150") + no_files + malformed
    tracks = snap.tracks(track_ids)
    assert set(tracks) == set(track_ids)
    for spotify_id in track_ids:
        assert tracks[spotify_id] == ref.track(ref.rowid_of("tracks", spotify_id) or 0)
    album_ids = column(db, "SELECT id FROM albums ORDER BY rowid LIMIT 150")
    album_ids += column(db, "SELECT id FROM albums WHERE name = '' LIMIT 10")
    for spotify_id, album in snap.albums(album_ids).items():
        assert album == ref.album(ref.rowid_of("albums", spotify_id) or 0)
    artist_ids = column(db, "SELECT id FROM artists ORDER BY rowid LIMIT 150")
    for spotify_id, artist in snap.artists(artist_ids).items():
        assert artist == ref.artist(ref.rowid_of("artists", spotify_id) or 0)


def test_album_tracks(snap: Snapshot, ref: Reference, db: sqlite3.Connection) -> None:
    multi_disc = column(db, "SELECT al.id FROM albums al JOIN tracks t ON t.album_rowid = al.rowid"
                            " GROUP BY al.rowid HAVING max(t.disc_number) > 1 LIMIT 5")  # fmt: skip
    some = column(db, "SELECT id FROM albums ORDER BY rowid LIMIT 30")
    for album_id in multi_disc + some:
        rowid = ref.rowid_of("albums", album_id)
        assert rowid is not None
        assert snap.album_tracks(album_id) == ref.album_tracks(rowid), album_id
