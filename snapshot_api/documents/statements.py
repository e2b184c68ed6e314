"""The statements of every lookup, with each table's index pinned, for one snapshot's layout.

Keys are bound as one `carray` per statement, never one statement per key.
`CROSS JOIN` puts the keys first and `INDEXED BY` pins each table's index, so
a plan is one index probe per key and per referenced row whatever statistics
the dump carries, and statements are not re-prepared for every new key when
`sqlite_stat4` is present (with stat4, SQLite re-prepares a statement when a
new bound value might choose another plan).
Each statement gives the document as a BLOB: the bytes SQLite holds, decoded
by `run`, which can repair text that is not valid UTF-8 where Python's
conversion of a TEXT result would raise.
"""

from __future__ import annotations

import array
import re
from dataclasses import dataclass

import apsw

from snapshot_api.documents.fields import ALBUM, ALBUM_TRACK, ARTIST, AUDIO_FEATURES, TRACK
from snapshot_api.documents.indexes import quote
from snapshot_api.documents.sql import document
from snapshot_api.identifiers import Kind

_INDEX_PLACEHOLDER = re.compile(r"@(\w+\.\w+)@")

ARTIST_JSON = document(ARTIST)
ALBUM_JSON = document(ALBUM)
AUDIO_FEATURES_JSON = document(AUDIO_FEATURES)


def _blob(json_text: str) -> str:
    """The document's bytes as SQLite holds them, whether or not they are valid UTF-8."""
    return f"CAST({json_text} AS BLOB)"


def _track_json(*, with_album: bool, track_files: bool) -> str:
    return _blob(document(TRACK if with_album else ALBUM_TRACK, track_files=track_files))


_TRACK_FILES_JOIN = (
    "LEFT JOIN tf.track_files AS f INDEXED BY @track_files.track_id@ ON f.track_id = t.id"
)


def _tracks_by(column: str, *, track_files: bool) -> str:
    """Tracks whose `column` equals a key: key, popularity, rowid, document."""
    document = _track_json(with_album=True, track_files=track_files)
    return f"""SELECT k.value, t.popularity, t.rowid, {document}
    FROM carray(?1) AS k CROSS JOIN tracks AS t INDEXED BY @tracks.{column}@ ON t.{column} = k.value
    LEFT JOIN albums AS al ON al.rowid = t.album_rowid
    {_TRACK_FILES_JOIN if track_files else ""}"""


def _album_tracks(*, track_files: bool) -> str:
    """An album's tracks: album rowid, track rowid, disc, number, document (without album),
    and the album id asked for (several albums are listed at once by `/v1/albums?ids=`).

    LEFT JOIN: an album without tracks still gives one row, telling it apart
    from an unknown album.
    """
    return f"""SELECT al.rowid, t.rowid, t.disc_number, t.track_number,
      {_track_json(with_album=False, track_files=track_files)}, k.value
    FROM carray(?1) AS k CROSS JOIN albums AS al INDEXED BY @albums.id@ ON al.id = k.value
    LEFT JOIN tracks AS t INDEXED BY @tracks.album_rowid@ ON t.album_rowid = al.rowid
    {_TRACK_FILES_JOIN if track_files else ""}"""


ALBUMS_BY_ID = f"""SELECT k.value, al.popularity, al.rowid, {_blob(ALBUM_JSON)}
FROM carray(?1) AS k CROSS JOIN albums AS al INDEXED BY @albums.id@ ON al.id = k.value"""

ALBUMS_BY_BARCODE = f"""SELECT k.value, al.popularity, al.rowid, {_blob(ALBUM_JSON)}
FROM carray(?1) AS k CROSS JOIN idx.barcode_albums AS b ON b.barcode = k.value
CROSS JOIN albums AS al ON al.rowid = b.album_rowid"""

ARTISTS_BY_ID = f"""SELECT k.value, ar.popularity, ar.rowid, {_blob(ARTIST_JSON)}
FROM carray(?1) AS k CROSS JOIN artists AS ar INDEXED BY @artists.id@ ON ar.id = k.value"""


AUDIO_FEATURES_BY_TRACK_ID = f"""SELECT k.value, 0, a.rowid, {_blob(AUDIO_FEATURES_JSON)}
FROM carray(?1) AS k
CROSS JOIN af.track_audio_features AS a INDEXED BY @track_audio_features.track_id@
  ON a.track_id = k.value
WHERE NOT a.null_response"""
"""A track's features; a row that records a null response is no features at all."""

ARTIST_ALBUMS_TOTAL = """SELECT ar.rowid,
  coalesce((SELECT o.position + 1 FROM idx.artist_album_order AS o
            WHERE o.artist_rowid = ar.rowid ORDER BY o.position DESC LIMIT 1), 0)
FROM carray(?1) AS k CROSS JOIN artists AS ar INDEXED BY @artists.id@ ON ar.id = k.value"""
"""The artist's rowid and number of own albums: the last position in the sidecar's
`artist_album_order`, one descent of its primary key from the right (no counting)."""

ARTIST_ALBUMS_PAGE = f"""SELECT o.position, {_blob(ALBUM_JSON)}
FROM idx.artist_album_order AS o CROSS JOIN albums AS al ON al.rowid = o.album_rowid
WHERE o.artist_rowid = ?1 AND o.position >= ?2 AND o.position < ?3
ORDER BY o.position"""
"""One page of an artist's own albums, newest release first: positions are numbered
by `build` in that order, so any page is one descent plus `limit` rows, at any offset."""

TRACK_MARKETS = """SELECT k.value,
  CAST(tm.available_markets AS BLOB), CAST(am.available_markets AS BLOB)
FROM carray(?1) AS k CROSS JOIN tracks AS t INDEXED BY @tracks.id@ ON t.id = k.value
LEFT JOIN available_markets AS tm ON tm.rowid = t.available_markets_rowid
LEFT JOIN albums AS al ON al.rowid = t.album_rowid
LEFT JOIN available_markets AS am ON am.rowid = al.available_markets_rowid"""
"""Markets of tracks and of their albums (comma-separated codes), for Spotify-shaped objects."""

ALBUM_MARKETS = """SELECT k.value, CAST(m.available_markets AS BLOB)
FROM carray(?1) AS k CROSS JOIN albums AS al INDEXED BY @albums.id@ ON al.id = k.value
LEFT JOIN available_markets AS m ON m.rowid = al.available_markets_rowid"""


@dataclass(frozen=True, slots=True)
class Queries:
    """The SQL of every statement the library runs, for one snapshot's layout and index names.

    Every table access names its index (`INDEXED BY`): statistics left in a
    dump by ANALYZE can otherwise lead the planner to scan a table it believes
    small (seen in a test: album_images), and a missing index fails loudly at
    open instead of scanning 256M rows.
    """

    tracks_by_isrc: str
    tracks_by_id: str
    album_tracks: str
    albums_by_id: str
    albums_by_barcode: str
    artists_by_id: str
    audio_features_by_track_id: str
    """Empty when the snapshot has no (usable) audio features database."""
    artist_albums_total: str
    artist_albums_page: str
    track_markets: str
    album_markets: str

    @classmethod
    def for_layout(
        cls, indexes: dict[str, str], *, track_files: bool, audio_features: bool = False
    ) -> Queries:
        def resolve(sql: str) -> str:
            return _INDEX_PLACEHOLDER.sub(lambda m: quote(indexes[m.group(1)]), sql)

        return cls(
            tracks_by_isrc=resolve(_tracks_by("external_id_isrc", track_files=track_files)),
            tracks_by_id=resolve(_tracks_by("id", track_files=track_files)),
            album_tracks=resolve(_album_tracks(track_files=track_files)),
            albums_by_id=resolve(ALBUMS_BY_ID),
            albums_by_barcode=resolve(ALBUMS_BY_BARCODE),
            artists_by_id=resolve(ARTISTS_BY_ID),
            audio_features_by_track_id=(
                resolve(AUDIO_FEATURES_BY_TRACK_ID) if audio_features else ""
            ),
            artist_albums_total=resolve(ARTIST_ALBUMS_TOTAL),
            artist_albums_page=resolve(ARTIST_ALBUMS_PAGE),
            track_markets=resolve(TRACK_MARKETS),
            album_markets=resolve(ALBUM_MARKETS),
        )

    def for_kind(self, kind: Kind) -> str:
        return {
            Kind.ISRC: self.tracks_by_isrc,
            Kind.UPC: self.albums_by_barcode,
            Kind.TRACK: self.tracks_by_id,
            Kind.ALBUM: self.albums_by_id,
            Kind.ARTIST: self.artists_by_id,
            Kind.AUDIO_FEATURES: self.audio_features_by_track_id,
        }[kind]

    def with_sample_parameters(self) -> dict[str, tuple[str, tuple[object, ...]]]:
        """Every statement with representative bindings, for EXPLAIN QUERY PLAN."""
        text = (apsw.carray(("USRC17607839",)),)
        spotify_id = (apsw.carray(("4uLU6hMCjMI75M1A2tKUQC",)),)
        number = (apsw.carray(array.array("q", [12345678905])),)
        more: dict[str, tuple[str, tuple[object, ...]]] = {
            "artist_albums_total": (self.artist_albums_total, spotify_id),
            "artist_albums_page": (self.artist_albums_page, (1, 0, 20)),
            "track_markets": (self.track_markets, spotify_id),
            "album_markets": (self.album_markets, spotify_id),
        }
        if self.audio_features_by_track_id:
            more["audio_features_by_track_id"] = (self.audio_features_by_track_id, spotify_id)
        return {
            "tracks_by_isrc": (self.tracks_by_isrc, text),
            "tracks_by_id": (self.tracks_by_id, spotify_id),
            "album_tracks": (self.album_tracks, spotify_id),
            "albums_by_id": (self.albums_by_id, spotify_id),
            "albums_by_barcode": (self.albums_by_barcode, number),
            "artists_by_id": (self.artists_by_id, spotify_id),
        } | more


def by_rowid_sql(kind: Kind, indexes: dict[str, str], *, track_files: bool) -> str:
    """`SELECT rowid, document` for the rowids bound as `carray(?1)` (int64), in any order.

    For search, whose index yields dump rowids: the same documents as the
    lookups (as BLOBs, checked by `run.utf8`); TRACK, ALBUM and ARTIST only.
    """
    if kind is Kind.TRACK:
        sql = f"""SELECT t.rowid, {_track_json(with_album=True, track_files=track_files)}
        FROM carray(?1) AS k CROSS JOIN tracks AS t ON t.rowid = k.value
        LEFT JOIN albums AS al ON al.rowid = t.album_rowid
        {_TRACK_FILES_JOIN if track_files else ""}"""
    elif kind is Kind.ALBUM:
        sql = f"""SELECT al.rowid, {_blob(ALBUM_JSON)}
        FROM carray(?1) AS k CROSS JOIN albums AS al ON al.rowid = k.value"""
    elif kind is Kind.ARTIST:
        sql = f"""SELECT ar.rowid, {_blob(ARTIST_JSON)}
        FROM carray(?1) AS k CROSS JOIN artists AS ar ON ar.rowid = k.value"""
    else:
        raise ValueError(f"no documents by rowid for {kind}")
    return _INDEX_PLACEHOLDER.sub(lambda m: quote(indexes[m.group(1)]), sql)
