"""The set-based queries and the document shapes: the one place that knows the dump's columns.

How a batch becomes JSON, and why:
- Keys are bound as one `carray` per statement, never one statement per key.
  `CROSS JOIN` puts the keys first and `INDEXED BY` pins each table's index,
  so a plan is one index probe per key and per referenced row whatever
  statistics the dump carries, and statements are not re-prepared for every
  new key when `sqlite_stat4` is present (see FIELD_NOTES.md).
- One statement per lookup renders every document completely inside SQLite
  (`json_quote` and string concatenation), with the album and all artists
  inline. Measured at 1M tracks, batch of 400 ISRCs: 17.5k items/s on one
  thread and 23k on two, against 15k and 16k when Python spliced separately
  fetched artist documents: SQLite works with the GIL released, so threads
  overlap, and Python is left with collecting one string per document. The
  library's dict API parses the same text, so library and HTTP answers cannot
  differ.
- Document rules of CONTRACT §3: NULL columns and empty lists are omitted, an
  empty string is kept, images are widest first without duplicate rows, genres
  in table order, album artists by `index_in_album`, track artists in
  `track_artists` rowid order, `explicit`/`has_lyrics` booleans, and the
  track_files JSON columns decoded only when they hold a JSON array (malformed
  JSON is dropped, never an error). References are not trusted: a missing
  album or artist row is left out of the document.
- Row order inside an aggregate: where the order is the index's own
  (`track_artists` and `artist_genres` by rowid under their pinned index) no
  sort is asked for; images are grouped once by (-width, -height, url), which
  both removes duplicate rows and orders them with a single sorter.
"""

from __future__ import annotations

import array
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import apsw

from snapshot_api.errors import MissingIndex
from snapshot_api.identifiers import Kind, barcode_key

# --- SQL fragments ---------------------------------------------------------------
# Each fragment is an SQL expression giving ',"name":<json>' (or '' when omitted),
# so a document is '{' + fragments without the first comma + '}'.


def _always(name: str, column: str) -> str:
    """A NOT NULL column: always present."""
    return f"""',"{name}":' || json_quote({column})"""


def _optional(name: str, column: str) -> str:
    """A nullable column: omitted when NULL."""
    return f"""iif({column} IS NULL, '', ',"{name}":' || json_quote({column}))"""


def _boolean(name: str, column: str) -> str:
    return f"""iif({column} IS NULL, '', iif({column}, ',"{name}":true', ',"{name}":false'))"""


def _string_array(name: str, column: str) -> str:
    """A JSON-array column as a list of its string items; malformed or empty: omitted."""
    return f"""iif(json_valid({column}) AND json_type({column}) = 'array',
      coalesce((SELECT ',"{name}":[' || group_concat(json_quote(j.value), ',' ORDER BY j.key) || ']'
                FROM json_each({column}) AS j WHERE j.type = 'text'), ''),
      '')"""


def _images(table: str, owner_column: str, owner: str, *, often_empty: bool = False) -> str:
    """Images widest first, duplicate rows removed: one GROUP BY sorter does both.

    SQLite opens the sorter even when there are no rows; where lists are
    often empty (artists), an EXISTS probe first is cheaper: artist documents
    rendered 1.6x faster with half the artists having no images.
    """
    image = """'{"url":' || json_quote(i.url) || ',"width":' || json_quote(i.width)
          || ',"height":' || json_quote(i.height) || '}'"""
    images = f"""coalesce((
      SELECT ',"images":[' || group_concat(image, ',') || ']'
      FROM (SELECT {image} AS image
            FROM {table} AS i INDEXED BY @{table}.{owner_column}@
            WHERE i.{owner_column} = {owner}
            GROUP BY -i.width, -i.height, i.url ORDER BY -i.width, -i.height, i.url)
    ), '')"""
    if not often_empty:
        return images
    return f"""iif(EXISTS(SELECT 1 FROM {table} INDEXED BY @{table}.{owner_column}@
                     WHERE {owner_column} = {owner}), {images}, '')"""


def _document(*fragments: str) -> str:
    """Concatenate fragments into '{...}' (the first fragment's leading comma dropped)."""
    return "'{' || substr(" + "\n || ".join(fragments) + ", 2) || '}'"


ARTIST_JSON = _document(
    _always("id", "ar.id"),
    _always("name", "ar.name"),
    _always("followers", "ar.followers_total"),
    _always("popularity", "ar.popularity"),
    """coalesce((SELECT ',"genres":[' || group_concat(json_quote(g.genre), ',') || ']'
       FROM artist_genres AS g INDEXED BY @artist_genres.artist_rowid@
       WHERE g.artist_rowid = ar.rowid), '')""",
    _images("artist_images", "artist_rowid", "ar.rowid", often_empty=True),
)

ALBUM_JSON = _document(
    _always("id", "al.id"),
    _always("name", "al.name"),
    _always("type", "al.album_type"),
    _optional("label", "al.label"),
    _optional("release_date", "al.release_date"),
    _optional("release_date_precision", "al.release_date_precision"),
    _optional("upc", "al.external_id_upc"),
    _optional("total_tracks", "al.total_tracks"),
    _optional("copyright", "al.copyright_c"),
    _optional("copyright_p", "al.copyright_p"),
    _optional("popularity", "al.popularity"),
    _images("album_images", "album_rowid", "al.rowid"),
    f"""coalesce((
      SELECT ',"artists":[' || group_concat({ARTIST_JSON}, ',' ORDER BY aa.index_in_album) || ']'
      FROM artist_albums AS aa INDEXED BY @artist_albums.album_rowid@
      CROSS JOIN artists AS ar ON ar.rowid = aa.artist_rowid
      WHERE aa.album_rowid = al.rowid AND aa.is_appears_on = 0 AND aa.is_implicit_appears_on = 0
    ), '')""",
)


def _track_json(*, with_album: bool, track_files: bool) -> str:
    fragments = [
        _always("id", "t.id"),
        _always("name", "t.name"),
        _optional("isrc", "t.external_id_isrc"),
        _optional("duration_ms", "t.duration_ms"),
        _boolean("explicit", "t.explicit"),
        _optional("track_number", "t.track_number"),
        _optional("disc_number", "t.disc_number"),
        _optional("popularity", "t.popularity"),
        _optional("preview_url", "t.preview_url"),
    ]
    if with_album:
        # a dangling album_rowid leaves the album out
        fragments.append(f"""iif(al.rowid IS NULL, '', ',"album":' || {ALBUM_JSON})""")
    fragments.append(
        f"""coalesce((
      SELECT ',"artists":[' || group_concat({ARTIST_JSON}, ',') || ']'
      FROM track_artists AS ta INDEXED BY @track_artists.track_rowid@
      CROSS JOIN artists AS ar ON ar.rowid = ta.artist_rowid
      WHERE ta.track_rowid = t.rowid
    ), '')"""
    )
    if track_files:
        fragments += [
            _optional("original_title", "f.original_title"),
            _optional("version_title", "f.version_title"),
            _boolean("has_lyrics", "f.has_lyrics"),
            _string_array("languages", "f.language_of_performance"),
            _string_array("artist_roles", "f.artist_roles"),
        ]
    return _document(*fragments)


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
    """An album's tracks: album rowid, track rowid, disc, number, document (without album).

    LEFT JOIN: an album without tracks still gives one row, telling it apart
    from an unknown album.
    """
    return f"""SELECT al.rowid, t.rowid, t.disc_number, t.track_number,
      {_track_json(with_album=False, track_files=track_files)}
    FROM carray(?1) AS k CROSS JOIN albums AS al INDEXED BY @albums.id@ ON al.id = k.value
    LEFT JOIN tracks AS t INDEXED BY @tracks.album_rowid@ ON t.album_rowid = al.rowid
    {_TRACK_FILES_JOIN if track_files else ""}"""


ALBUMS_BY_ID = f"""SELECT k.value, al.popularity, al.rowid, {ALBUM_JSON}
FROM carray(?1) AS k CROSS JOIN albums AS al INDEXED BY @albums.id@ ON al.id = k.value"""

ALBUMS_BY_BARCODE = f"""SELECT k.value, al.popularity, al.rowid, {ALBUM_JSON}
FROM carray(?1) AS k CROSS JOIN idx.barcode_albums AS b ON b.barcode = k.value
CROSS JOIN albums AS al ON al.rowid = b.album_rowid"""

ARTISTS_BY_ID = f"""SELECT k.value, ar.popularity, ar.rowid, {ARTIST_JSON}
FROM carray(?1) AS k CROSS JOIN artists AS ar INDEXED BY @artists.id@ ON ar.id = k.value"""


REQUIRED_INDEXES: dict[str, tuple[str, ...]] = {
    "main": (
        "tracks.external_id_isrc",
        "tracks.id",
        "tracks.album_rowid",
        "albums.id",
        "artists.id",
        "artist_genres.artist_rowid",
        "artist_images.artist_rowid",
        "album_images.album_rowid",
        "artist_albums.album_rowid",
        "track_artists.track_rowid",
    ),
    "tf": ("track_files.track_id",),
}
"""Indexes every lookup needs, as table.column of their first column (schema alias → list)."""

_INDEX_PLACEHOLDER = re.compile(r"@(\w+\.\w+)@")


def find_indexes(connection: apsw.Connection, schemas: Iterable[str]) -> dict[str, str]:
    """{"table.column": index name} for every required index, read from the schema only.

    The published file's index names are unknown, so indexes are found by their
    leading column (partial indexes do not count: they do not hold every row).
    """
    found: dict[str, str] = {}
    missing: list[str] = []
    for schema in schemas:
        for wanted in REQUIRED_INDEXES[schema]:
            table, column = wanted.split(".")
            name = _index_on(connection, schema, table, column)
            if name is None:
                missing.append(f"{table}({column})")
            else:
                found[wanted] = name
    if missing:
        raise MissingIndex("no index on " + ", ".join(missing))
    return found


def _index_on(connection: apsw.Connection, schema: str, table: str, column: str) -> str | None:
    indexes = list(connection.execute(f"PRAGMA {schema}.index_list({table})"))
    # unique first: a unique index answers an equality probe with at most one entry
    for _seq, name, _unique, _origin, partial in sorted(indexes, key=lambda row: -int(row[2])):
        if partial:
            continue
        columns = list(connection.execute(f"PRAGMA {schema}.index_info({_quote(name)})"))
        if columns and columns[0][2] == column:
            return str(name)
    return None


def _quote(identifier: object) -> str:
    return '"' + str(identifier).replace('"', '""') + '"'


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

    @classmethod
    def for_layout(cls, indexes: dict[str, str], *, track_files: bool) -> Queries:
        def resolve(sql: str) -> str:
            return _INDEX_PLACEHOLDER.sub(lambda m: _quote(indexes[m.group(1)]), sql)

        return cls(
            tracks_by_isrc=resolve(_tracks_by("external_id_isrc", track_files=track_files)),
            tracks_by_id=resolve(_tracks_by("id", track_files=track_files)),
            album_tracks=resolve(_album_tracks(track_files=track_files)),
            albums_by_id=resolve(ALBUMS_BY_ID),
            albums_by_barcode=resolve(ALBUMS_BY_BARCODE),
            artists_by_id=resolve(ARTISTS_BY_ID),
        )

    def for_kind(self, kind: Kind) -> str:
        return {
            Kind.ISRC: self.tracks_by_isrc,
            Kind.UPC: self.albums_by_barcode,
            Kind.TRACK: self.tracks_by_id,
            Kind.ALBUM: self.albums_by_id,
            Kind.ARTIST: self.artists_by_id,
        }[kind]

    def with_sample_parameters(self) -> dict[str, tuple[str, tuple[apsw.CArrayBinding]]]:
        """Every statement with representative bindings, for EXPLAIN QUERY PLAN."""
        text = (apsw.carray(("USRC17607839",)),)
        spotify_id = (apsw.carray(("4uLU6hMCjMI75M1A2tKUQC",)),)
        number = (apsw.carray(array.array("q", [12345678905])),)
        return {
            "tracks_by_isrc": (self.tracks_by_isrc, text),
            "tracks_by_id": (self.tracks_by_id, spotify_id),
            "album_tracks": (self.album_tracks, spotify_id),
            "albums_by_id": (self.albums_by_id, spotify_id),
            "albums_by_barcode": (self.albums_by_barcode, number),
            "artists_by_id": (self.artists_by_id, spotify_id),
        }


# --- Running them ------------------------------------------------------------------


def _binding(kind: Kind, keys: Sequence[str]) -> apsw.CArrayBinding:
    if kind is Kind.UPC:
        return apsw.carray(array.array("q", [barcode_key(key) for key in keys]))
    return apsw.carray(tuple(keys))


def lookup(
    connection: apsw.Connection, queries: Queries, kind: Kind, keys: Sequence[str]
) -> dict[str, str]:
    """JSON text per canonical key: arrays for ISRC/UPC (every key), objects for found ids.

    One statement whatever the number of keys.
    """
    unique = list(dict.fromkeys(keys))
    if not unique:
        return {}
    rows = connection.execute(queries.for_kind(kind), (_binding(kind, unique),))
    if kind not in (Kind.ISRC, Kind.UPC):
        return {str(key): str(document) for key, _popularity, _rowid, document in rows}
    found = sorted(rows, key=_most_popular_first)
    grouped: dict[object, list[str]] = {
        (barcode_key(key) if kind is Kind.UPC else key): [] for key in unique
    }
    for key, _popularity, _rowid, document in found:
        grouped[key].append(document)
    return {
        key: "[" + ",".join(documents) + "]"
        for key, documents in zip(unique, grouped.values(), strict=True)
    }


def _most_popular_first(row: tuple[object, ...]) -> tuple[int, int]:
    popularity, rowid = row[1], row[2]
    return (
        -popularity if isinstance(popularity, int) else 0,
        rowid if isinstance(rowid, int) else 0,
    )


def album_tracks(connection: apsw.Connection, queries: Queries, album_id: str) -> str | None:
    """The album's tracks (without `album`) by disc, then track number; None if no such album."""
    rows = list(connection.execute(queries.album_tracks, (apsw.carray((album_id,)),)))
    if not rows:
        return None
    tracks = sorted(
        (row for row in rows if row[1] is not None),
        key=lambda row: (_int_or_zero(row[2]), _int_or_zero(row[3]), _int_or_zero(row[1])),
    )
    return "[" + ",".join(str(row[4]) for row in tracks) + "]"


def _int_or_zero(value: object) -> int:
    return value if isinstance(value, int) else 0


# --- Documents by rowid (for search, whose index yields dump rowids) -------------


def by_rowid_sql(kind: Kind, indexes: dict[str, str], *, track_files: bool) -> str:
    """`SELECT rowid, document` for the rowids bound as `carray(?1)` (int64), in any order.

    The same documents as the lookups; for TRACK, ALBUM and ARTIST only.
    """
    if kind is Kind.TRACK:
        sql = f"""SELECT t.rowid, {_track_json(with_album=True, track_files=track_files)}
        FROM carray(?1) AS k CROSS JOIN tracks AS t ON t.rowid = k.value
        LEFT JOIN albums AS al ON al.rowid = t.album_rowid
        {_TRACK_FILES_JOIN if track_files else ""}"""
    elif kind is Kind.ALBUM:
        sql = f"""SELECT al.rowid, {ALBUM_JSON}
        FROM carray(?1) AS k CROSS JOIN albums AS al ON al.rowid = k.value"""
    elif kind is Kind.ARTIST:
        sql = f"""SELECT ar.rowid, {ARTIST_JSON}
        FROM carray(?1) AS k CROSS JOIN artists AS ar ON ar.rowid = k.value"""
    else:
        raise ValueError(f"no documents by rowid for {kind}")
    return _INDEX_PLACEHOLDER.sub(lambda m: _quote(indexes[m.group(1)]), sql)
