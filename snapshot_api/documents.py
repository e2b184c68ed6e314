"""The set-based queries and the document shapes: the one place that knows the dump's columns.

How a batch becomes JSON, and why:
- Keys are bound as one `carray` per statement, never one statement per key.
  A key bound with `carray` is joined to the index (`CROSS JOIN` fixes the
  order: keys first), so the plan is one index probe per key, and statements
  are not re-prepared for every new key when `sqlite_stat4` is present (see
  FIELD_NOTES.md). Every lookup is two statements whatever the batch size: the
  entities asked for (with their album where there is one) and then the
  distinct artists all of them mention.
- SQLite writes each entity's JSON text itself (`json_quote` and string
  concatenation: work done while apsw has released the GIL, so it overlaps
  across threads), and Python only splices those fragments together. Each
  distinct artist is rendered once per batch however many tracks and albums
  name it. No dicts are built on the hot path; the library's dict API parses
  the same text, so library and HTTP answers cannot differ.
- Document rules of CONTRACT §3: NULL columns and empty lists are omitted, an
  empty string is kept, images are widest first without duplicate rows, genres
  in table order, album artists by `index_in_album`, track artists in
  `track_artists` rowid order, `explicit`/`has_lyrics` booleans, and the
  track_files JSON columns decoded only when they hold a JSON array (malformed
  JSON is dropped, never an error). References are not trusted: a missing
  album or artist row is left out of the document.
"""

from __future__ import annotations

import array
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import apsw

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


def _images(table: str, owner_column: str, owner: str) -> str:
    return f"""coalesce((
      SELECT ',"images":[' || group_concat(
          '{{"url":' || json_quote(i.url) || ',"width":' || json_quote(i.width)
          || ',"height":' || json_quote(i.height) || '}}',
          ',' ORDER BY i.width DESC, i.height DESC, i.url) || ']'
      FROM (SELECT DISTINCT url, width, height FROM {table} INDEXED BY @{table}.{owner_column}@
            WHERE {owner_column} = {owner}) AS i
    ), '')"""


def _document(*fragments: str) -> str:
    """Concatenate fragments into '{...}' (the first fragment's leading comma dropped)."""
    return "'{' || substr(" + "\n || ".join(fragments) + ", 2) || '}'"


ARTIST_JSON = _document(
    _always("id", "ar.id"),
    _always("name", "ar.name"),
    _always("followers", "ar.followers_total"),
    _always("popularity", "ar.popularity"),
    """coalesce((SELECT ',"genres":[' || group_concat(json_quote(g.genre), ',' ORDER BY g.rowid)
       || ']' FROM artist_genres AS g INDEXED BY @artist_genres.artist_rowid@
       WHERE g.artist_rowid = ar.rowid), '')""",
    _images("artist_images", "artist_rowid", "ar.rowid"),
)

ALBUM_FIELDS = " || ".join(
    (
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
    )
)
"""The album's own fields as ',"k":v...' (its artists are spliced in by Python)."""

ALBUM_ARTIST_ROWIDS = """(
   SELECT group_concat(aa.artist_rowid, ',' ORDER BY aa.index_in_album, aa.rowid)
   FROM artist_albums AS aa INDEXED BY @artist_albums.album_rowid@
   WHERE aa.album_rowid = al.rowid AND aa.is_appears_on = 0 AND aa.is_implicit_appears_on = 0)"""

TRACK_FIELDS = " || ".join(
    (
        _always("id", "t.id"),
        _always("name", "t.name"),
        _optional("isrc", "t.external_id_isrc"),
        _optional("duration_ms", "t.duration_ms"),
        _boolean("explicit", "t.explicit"),
        _optional("track_number", "t.track_number"),
        _optional("disc_number", "t.disc_number"),
        _optional("popularity", "t.popularity"),
        _optional("preview_url", "t.preview_url"),
    )
)

TRACK_FILE_FIELDS = " || ".join(
    (
        _optional("original_title", "f.original_title"),
        _optional("version_title", "f.version_title"),
        _boolean("has_lyrics", "f.has_lyrics"),
        _string_array("languages", "f.language_of_performance"),
        _string_array("artist_roles", "f.artist_roles"),
    )
)

TRACK_ARTIST_ROWIDS = """(SELECT group_concat(ta.artist_rowid, ',' ORDER BY ta.rowid)
   FROM track_artists AS ta INDEXED BY @track_artists.track_rowid@
   WHERE ta.track_rowid = t.rowid)"""


def _track_select(key_join: str, *, with_album: bool, track_files: bool) -> str:
    """Tracks with everything but their artists' documents.

    Columns: key, popularity, rowid, sort keys, track fields, track_files fields,
    track artist rowids, album fields, album artist rowids.
    """
    tail = TRACK_FILE_FIELDS if track_files else "''"
    files_join = (
        "LEFT JOIN tf.track_files AS f INDEXED BY @track_files.track_id@ ON f.track_id = t.id"
        if track_files
        else ""
    )
    # A dangling album_rowid leaves the album out (json_quote(NULL) would give "null" fields).
    album = (
        f"iif(al.rowid IS NULL, NULL, {ALBUM_FIELDS}), {ALBUM_ARTIST_ROWIDS}"
        if with_album
        else "NULL, NULL"
    )
    album_join = "LEFT JOIN albums AS al ON al.rowid = t.album_rowid" if with_album else ""
    return f"""SELECT k.value, t.popularity, t.rowid, t.disc_number, t.track_number,
      {TRACK_FIELDS}, {tail}, {TRACK_ARTIST_ROWIDS}, {album}
    FROM {key_join}
    {album_join}
    {files_join}"""


def _album_select(key_join: str) -> str:
    """Albums: key, popularity, rowid, album fields, album artist rowids."""
    return f"""SELECT k.value, al.popularity, al.rowid, {ALBUM_FIELDS}, {ALBUM_ARTIST_ROWIDS}
    FROM {key_join}"""


ARTISTS_BY_ROWID = f"""SELECT ar.rowid, {ARTIST_JSON}
FROM carray(?1) AS k CROSS JOIN artists AS ar ON ar.rowid = k.value"""

ARTISTS_BY_ID = f"""SELECT k.value, ar.rowid, {ARTIST_JSON}
FROM carray(?1) AS k CROSS JOIN artists AS ar INDEXED BY @artists.id@ ON ar.id = k.value"""

ALBUMS_BY_ID = _album_select(
    "carray(?1) AS k CROSS JOIN albums AS al INDEXED BY @albums.id@ ON al.id = k.value"
)

ALBUMS_BY_BARCODE = _album_select(
    """carray(?1) AS k CROSS JOIN idx.barcode_albums AS b ON b.barcode = k.value
    CROSS JOIN albums AS al ON al.rowid = b.album_rowid"""
)

ALBUM_TRACKS_KEYS = """carray(?1) AS k
    CROSS JOIN albums AS al INDEXED BY @albums.id@ ON al.id = k.value
    LEFT JOIN tracks AS t INDEXED BY @tracks.album_rowid@ ON t.album_rowid = al.rowid"""


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


class MissingIndex(Exception):
    """The dump lacks an index a lookup needs; the message names table and column."""


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
    small, and a missing index fails loudly instead of scanning 256M rows.
    """

    tracks_by_isrc: str
    tracks_by_id: str
    album_tracks: str
    albums_by_id: str
    albums_by_barcode: str
    artists_by_id: str
    artists_by_rowid: str

    @classmethod
    def for_layout(cls, indexes: dict[str, str], *, track_files: bool) -> Queries:
        def resolve(sql: str) -> str:
            return _INDEX_PLACEHOLDER.sub(lambda m: _quote(indexes[m.group(1)]), sql)

        return cls(
            tracks_by_isrc=resolve(
                _track_select(
                    "carray(?1) AS k CROSS JOIN tracks AS t INDEXED BY @tracks.external_id_isrc@"
                    " ON t.external_id_isrc = k.value",
                    with_album=True,
                    track_files=track_files,
                )
            ),
            tracks_by_id=resolve(
                _track_select(
                    "carray(?1) AS k CROSS JOIN tracks AS t INDEXED BY @tracks.id@"
                    " ON t.id = k.value",
                    with_album=True,
                    track_files=track_files,
                )
            ),
            album_tracks=resolve(
                _track_select(ALBUM_TRACKS_KEYS, with_album=False, track_files=track_files).replace(
                    "SELECT k.value,", "SELECT al.rowid,", 1
                )
            ),
            albums_by_id=resolve(ALBUMS_BY_ID),
            albums_by_barcode=resolve(ALBUMS_BY_BARCODE),
            artists_by_id=resolve(ARTISTS_BY_ID),
            artists_by_rowid=resolve(ARTISTS_BY_ROWID),
        )

    def with_sample_parameters(self) -> dict[str, tuple[str, tuple[object, ...]]]:
        """Every statement with representative bindings, for EXPLAIN QUERY PLAN."""
        text = (apsw.carray(("USRC17607839",)),)
        spotify_id = (apsw.carray(("4uLU6hMCjMI75M1A2tKUQC",)),)
        number = (apsw.carray(array.array("q", [1])),)
        return {
            "tracks_by_isrc": (self.tracks_by_isrc, text),
            "tracks_by_id": (self.tracks_by_id, spotify_id),
            "album_tracks": (self.album_tracks, spotify_id),
            "albums_by_id": (self.albums_by_id, spotify_id),
            "albums_by_barcode": (self.albums_by_barcode, number),
            "artists_by_id": (self.artists_by_id, spotify_id),
            "artists_by_rowid": (self.artists_by_rowid, number),
        }


# --- Assembly ----------------------------------------------------------------------

Row = tuple[object, ...]


def _rowids(csv: object) -> list[int]:
    """'3,1,3' → [3, 1]: artist rowids in order, each once."""
    if not csv:
        return []
    return list(dict.fromkeys(int(part) for part in str(csv).split(",")))


class _Assembler:
    """Splices one batch's fragments into documents; artists rendered once per batch."""

    def __init__(self, connection: apsw.Connection, queries: Queries) -> None:
        self._connection = connection
        self._queries = queries
        self._artists: dict[int, str] = {}

    def load_artists(self, rowid_lists: Iterable[list[int]]) -> None:
        wanted = {rowid for rowids in rowid_lists for rowid in rowids}
        wanted.difference_update(self._artists)
        if not wanted:
            return
        binding = apsw.carray(array.array("q", sorted(wanted)))
        for rowid, text in self._connection.execute(self._queries.artists_by_rowid, (binding,)):
            self._artists[rowid] = text

    def artists_array(self, rowids: list[int]) -> str:
        found = [self._artists[r] for r in rowids if r in self._artists]
        return ',"artists":[' + ",".join(found) + "]" if found else ""

    def album(self, fields: object, artist_rowids: list[int]) -> str:
        return "{" + str(fields)[1:] + self.artists_array(artist_rowids) + "}"

    def track(self, row: Row, album_artists: list[int], track_artists: list[int]) -> str:
        # row: key, popularity, rowid, disc, number, track fields, file fields, artists, album...
        album = "" if row[8] is None else ',"album":' + self.album(row[8], album_artists)
        return "{" + str(row[5])[1:] + album + self.artists_array(track_artists) + str(row[6]) + "}"


def _popularity_order(row: Row) -> tuple[int, int]:
    popularity = row[1]
    return (-popularity if isinstance(popularity, int) else 0, int(str(row[2])))


def _track_documents(
    connection: apsw.Connection, queries: Queries, sql: str, binding: apsw.CArrayBinding
) -> list[tuple[Row, str]]:
    """(row, document) for every track row of `sql`, artists fetched in one more statement."""
    rows: list[Row] = list(connection.execute(sql, (binding,)))
    assembler = _Assembler(connection, queries)
    track_artists = [_rowids(row[7]) for row in rows]
    album_artists = [_rowids(row[9]) for row in rows]
    assembler.load_artists(track_artists + album_artists)
    return [
        (row, assembler.track(row, album_artists[i], track_artists[i]))
        for i, row in enumerate(rows)
    ]


def _album_documents(
    connection: apsw.Connection, queries: Queries, sql: str, binding: apsw.CArrayBinding
) -> list[tuple[Row, str]]:
    rows: list[Row] = list(connection.execute(sql, (binding,)))
    assembler = _Assembler(connection, queries)
    artists = [_rowids(row[4]) for row in rows]
    assembler.load_artists(artists)
    return [(row, assembler.album(row[3], artists[i])) for i, row in enumerate(rows)]


def _grouped_by_popularity(keys: Sequence[str], found: list[tuple[Row, str]]) -> dict[str, str]:
    """{key: JSON array of documents, most popular first}; '[]' for keys without any."""
    found.sort(key=lambda item: _popularity_order(item[0]))
    grouped: dict[str, list[str]] = {key: [] for key in keys}
    for row, document in found:
        grouped[str(row[0])].append(document)
    return {key: "[" + ",".join(documents) + "]" for key, documents in grouped.items()}


def _text_binding(keys: Sequence[str]) -> apsw.CArrayBinding:
    return apsw.carray(tuple(keys))


def lookup(
    connection: apsw.Connection, queries: Queries, kind: Kind, keys: Sequence[str]
) -> dict[str, str]:
    """JSON text per canonical key: arrays for ISRC/UPC (every key), objects for found ids."""
    unique = list(dict.fromkeys(keys))
    if not unique:
        return {}
    if kind is Kind.ISRC:
        found = _track_documents(connection, queries, queries.tracks_by_isrc, _text_binding(unique))
        return _grouped_by_popularity(unique, found)
    if kind is Kind.UPC:
        by_number = {barcode_key(key): key for key in unique}
        binding = apsw.carray(array.array("q", sorted(by_number)))
        albums = _album_documents(connection, queries, queries.albums_by_barcode, binding)
        relabelled = [((by_number[int(str(row[0]))], *row[1:]), doc) for row, doc in albums]
        return _grouped_by_popularity(unique, relabelled)
    if kind is Kind.TRACK:
        found = _track_documents(connection, queries, queries.tracks_by_id, _text_binding(unique))
    elif kind is Kind.ALBUM:
        found = _album_documents(connection, queries, queries.albums_by_id, _text_binding(unique))
    else:
        rows = connection.execute(queries.artists_by_id, (_text_binding(unique),))
        return {str(key): str(text) for key, _rowid, text in rows}
    return {str(row[0]): document for row, document in found}


def album_tracks(connection: apsw.Connection, queries: Queries, album_id: str) -> str | None:
    """The album's tracks (without `album`) by disc, then track number; None if no such album."""
    rows: list[Row] = list(connection.execute(queries.album_tracks, (_text_binding([album_id]),)))
    if not rows:
        return None
    tracks = [row for row in rows if row[2] is not None]
    tracks.sort(key=lambda row: (_int_or_zero(row[3]), _int_or_zero(row[4]), int(str(row[2]))))
    assembler = _Assembler(connection, queries)
    artists = [_rowids(row[7]) for row in tracks]
    assembler.load_artists(artists)
    return (
        "[" + ",".join(assembler.track(row, [], artists[i]) for i, row in enumerate(tracks)) + "]"
    )


def _int_or_zero(value: object) -> int:
    return value if isinstance(value, int) else 0
