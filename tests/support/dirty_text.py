"""A copy of a built snapshot with text cells that are not UTF-8, rebuilt, as an operator
would get it from a scraped dump: the cells are written as raw bytes cast to TEXT (what
Python's sqlite3 cannot even read back as str), then `build` runs again."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from snapshot_api.build.pipeline import build
from snapshot_api.progress import Reporter
from tests.support.fixtures import copy_snapshot
from tests.support.reference import Reference

TRACK_NAME = bytes.fromhex("41FF42")
"""A lone 0xFF: never valid in UTF-8."""
ALBUM_LABEL = bytes.fromhex("C322")
"""A lead byte followed by a quote: the quote must survive as JSON punctuation."""
ARTIST_NAME = bytes.fromhex("EDA080")
"""A UTF-16 surrogate encoded as UTF-8: invalid UTF-8."""
ORIGINAL_TITLE = bytes.fromhex("4E6FC3")
"""A sequence cut short at the end."""
ISRC = bytes.fromhex("5553FF")
UPC = bytes.fromhex("3031FF")


def replaced(raw: bytes) -> str:
    """What a document holds for `raw`: U+FFFD for each bad sequence."""
    return raw.decode(errors="replace")


@dataclass(frozen=True, slots=True)
class DirtyText:
    """Where the dirty cells are, and the identifiers that reach them."""

    directory: Path
    track_rowid: int
    track_id: str
    isrc: str
    album_rowid: int
    album_id: str
    artist_rowid: int
    artist_id: str
    bad_isrc_rowid: int
    bad_upc_rowid: int


def make_dirty_text(built: Path, target: Path) -> DirtyText:
    copy_snapshot(built, target)
    db = sqlite3.connect(target / "spotify_clean.sqlite3")
    try:
        track_rowid, track_id, isrc, album_rowid, album_id = db.execute(
            "SELECT t.rowid, t.id, t.external_id_isrc, al.rowid, al.id FROM tracks AS t"
            " JOIN albums AS al ON al.rowid = t.album_rowid"
            " WHERE t.external_id_isrc GLOB '[A-Z][A-Z]*' AND EXISTS"
            " (SELECT 1 FROM track_artists WHERE track_rowid = t.rowid)"
            " ORDER BY t.rowid LIMIT 1"
        ).fetchone()
        artist_rowid, artist_id = db.execute(
            "SELECT ar.rowid, ar.id FROM track_artists AS ta JOIN artists AS ar"
            " ON ar.rowid = ta.artist_rowid WHERE ta.track_rowid = ? ORDER BY ta.rowid LIMIT 1",
            (track_rowid,),
        ).fetchone()
        bad_isrc_rowid = track_rowid + 1
        bad_upc_rowid = album_rowid + 1
        cells = (
            ("tracks", "name", track_rowid, TRACK_NAME),
            ("albums", "label", album_rowid, ALBUM_LABEL),
            ("artists", "name", artist_rowid, ARTIST_NAME),
            ("tracks", "external_id_isrc", bad_isrc_rowid, ISRC),
            ("albums", "external_id_upc", bad_upc_rowid, UPC),
        )
        with db:
            for table, column, rowid, raw in cells:
                db.execute(
                    f"UPDATE {table} SET {column} = CAST(? AS TEXT) WHERE rowid = ?", (raw, rowid)
                )
    finally:
        db.close()
    files = sqlite3.connect(target / "spotify_clean_track_files.sqlite3")
    try:
        with files:
            changed = files.execute(
                "UPDATE track_files SET original_title = CAST(? AS TEXT) WHERE track_id = ?",
                (ORIGINAL_TITLE, track_id),
            ).rowcount
        assert changed == 1, "the dirty track has a track_files row"
    finally:
        files.close()
    build(target, reporter=Reporter(quiet=True))
    return DirtyText(
        target, track_rowid, track_id, isrc, album_rowid, album_id, artist_rowid, artist_id,
        bad_isrc_rowid, bad_upc_rowid,
    )  # fmt: skip


def replacing_reference(directory: Path) -> Reference:
    """The independent oracle reading text the way documents should: U+FFFD for bad bytes."""
    reference = Reference(directory)
    for connection in (reference.db, reference.files):
        if connection is not None:
            connection.text_factory = replaced
    return reference
