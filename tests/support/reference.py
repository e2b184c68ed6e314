"""Documents assembled the slow, obvious way: stdlib sqlite3, one plain query per entity.

The library builds documents with set-based queries and SQL-side JSON; this
module follows CONTRACT §3 rule by rule with none of that machinery, so
equality between the two is evidence that both read the contract the same way.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from snapshot_api.identifiers import stored_barcode_key

Doc = dict[str, Any]


def _put(doc: Doc, key: str, value: object) -> None:
    if value is not None and value != []:
        doc[key] = value


def _json_strings(text: object) -> list[str] | None:
    if not isinstance(text, str):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    return [item for item in value if isinstance(item, str)]


def own_album_ids(directory: Path, artist_id: str) -> list[str]:
    """The artist's own albums (not appears-on), newest release first: release dates as
    text, descending, no date last, ties by dump rowid; from the dump's rows."""
    dump = sqlite3.connect(directory / "spotify_clean.sqlite3")
    try:
        found = dump.execute(
            "SELECT DISTINCT al.rowid, al.id, al.release_date FROM artist_albums AS aa"
            " JOIN artists AS ar ON ar.rowid = aa.artist_rowid"
            " JOIN albums AS al ON al.rowid = aa.album_rowid"
            " WHERE ar.id = ? AND aa.is_appears_on = 0 AND aa.is_implicit_appears_on = 0",
            (artist_id,),
        ).fetchall()
    finally:
        dump.close()
    newest_first = sorted(
        sorted(found), key=lambda row: (row[2] is not None, row[2] or ""), reverse=True
    )
    return [album_id for _rowid, album_id, _date in newest_first]


class Reference:
    def __init__(self, directory: Path) -> None:
        main = next(
            p
            for p in (directory / "spotify_clean.sqlite3", directory / "main_database.sqlite3")
            if p.exists()
        )
        self.db = sqlite3.connect(f"file:{main}?mode=ro", uri=True)
        files = directory / "spotify_clean_track_files.sqlite3"
        self.files = sqlite3.connect(f"file:{files}?mode=ro", uri=True) if files.exists() else None

    def close(self) -> None:
        self.db.close()
        if self.files is not None:
            self.files.close()

    def _images(self, table: str, owner: str, rowid: int) -> list[Doc]:
        rows = self.db.execute(
            f"SELECT DISTINCT url, width, height FROM {table} WHERE {owner} = ?", (rowid,)
        ).fetchall()
        rows.sort(key=lambda r: (-r[1], -r[2], r[0]))
        return [{"url": u, "width": w, "height": h} for u, w, h in rows]

    def artist(self, rowid: int) -> Doc | None:
        row = self.db.execute(
            "SELECT id, name, followers_total, popularity FROM artists WHERE rowid = ?", (rowid,)
        ).fetchone()
        if row is None:
            return None
        doc: Doc = {"id": row[0], "name": row[1], "followers": row[2], "popularity": row[3]}
        genres = [
            g
            for (g,) in self.db.execute(
                "SELECT genre FROM artist_genres WHERE artist_rowid = ? ORDER BY rowid", (rowid,)
            )
        ]
        _put(doc, "genres", genres)
        _put(doc, "images", self._images("artist_images", "artist_rowid", rowid))
        return doc

    def _artists(self, rowids: list[int]) -> list[Doc]:
        return [doc for doc in (self.artist(r) for r in rowids) if doc is not None]

    def album(self, rowid: int) -> Doc | None:
        row = self.db.execute(
            "SELECT id, name, album_type, label, release_date, release_date_precision,"
            " external_id_upc, total_tracks, copyright_c, copyright_p, popularity"
            " FROM albums WHERE rowid = ?",
            (rowid,),
        ).fetchone()
        if row is None:
            return None
        doc: Doc = {}
        keys = (
            "id",
            "name",
            "type",
            "label",
            "release_date",
            "release_date_precision",
            "upc",
            "total_tracks",
            "copyright",
            "copyright_p",
            "popularity",
        )
        for key, value in zip(keys, row, strict=True):
            _put(doc, key, value)
        _put(doc, "images", self._images("album_images", "album_rowid", rowid))
        artist_rows = self.db.execute(
            "SELECT artist_rowid FROM artist_albums WHERE album_rowid = ? AND is_appears_on = 0"
            " AND is_implicit_appears_on = 0 ORDER BY index_in_album, rowid",
            (rowid,),
        ).fetchall()
        _put(doc, "artists", self._artists([r for (r,) in artist_rows]))
        return doc

    def track(self, rowid: int, *, with_album: bool = True) -> Doc:
        row = self.db.execute(
            "SELECT id, name, external_id_isrc, duration_ms, explicit, track_number, disc_number,"
            " popularity, preview_url, album_rowid FROM tracks WHERE rowid = ?",
            (rowid,),
        ).fetchone()
        doc: Doc = {}
        keys = (
            "id",
            "name",
            "isrc",
            "duration_ms",
            "explicit",
            "track_number",
            "disc_number",
            "popularity",
            "preview_url",
        )
        for key, value in zip(keys, row[:9], strict=True):
            _put(doc, key, bool(value) if key == "explicit" else value)
        if with_album:
            _put(doc, "album", self.album(row[9]))
        artist_rows = self.db.execute(
            "SELECT artist_rowid FROM track_artists WHERE track_rowid = ? ORDER BY rowid", (rowid,)
        ).fetchall()
        _put(doc, "artists", self._artists([r for (r,) in artist_rows]))
        if self.files is not None:
            extra = self.files.execute(
                "SELECT original_title, version_title, has_lyrics, language_of_performance,"
                " artist_roles FROM track_files WHERE track_id = ?",
                (row[0],),
            ).fetchone()
            if extra is not None:
                _put(doc, "original_title", extra[0])
                _put(doc, "version_title", extra[1])
                _put(doc, "has_lyrics", None if extra[2] is None else bool(extra[2]))
                _put(doc, "languages", _json_strings(extra[3]))
                _put(doc, "artist_roles", _json_strings(extra[4]))
        return doc

    def tracks_by_isrc(self, isrc: str) -> list[Doc]:
        """Every track whose stored ISRC is `isrc` once case and hyphens are ignored."""
        rows = self.db.execute(
            "SELECT rowid, external_id_isrc FROM tracks WHERE external_id_isrc IS NOT NULL"
            " ORDER BY popularity DESC, rowid"
        ).fetchall()
        return [self.track(r) for r, stored in rows if stored.replace("-", "").upper() == isrc]

    def albums_by_barcode(self, barcode: str) -> list[Doc]:
        wanted = int(barcode)
        rows = self.db.execute(
            "SELECT rowid, external_id_upc FROM albums ORDER BY popularity DESC, rowid"
        ).fetchall()
        return [self.album(r) for r, upc in rows if stored_barcode_key(upc) == wanted]  # type: ignore[misc]

    def album_tracks(self, album_rowid: int) -> list[Doc]:
        rows = self.db.execute(
            "SELECT rowid FROM tracks WHERE album_rowid = ?"
            " ORDER BY disc_number, track_number, rowid",
            (album_rowid,),
        ).fetchall()
        return [self.track(r, with_album=False) for (r,) in rows]

    def rowid_of(self, table: str, spotify_id: str) -> int | None:
        row = self.db.execute(f"SELECT rowid FROM {table} WHERE id = ?", (spotify_id,)).fetchone()
        return None if row is None else int(row[0])
