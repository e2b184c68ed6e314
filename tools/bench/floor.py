"""The floor: the bare SQLite work a lookup cannot avoid, with no document built.

Two levels, timed by the same harness as the library on the same keys:
- `key`: the key's own index probe and nothing else (a covering index probe:
  what "is this ISRC in the dump" costs) — the absolute lower bound;
- `rows`: every b-tree probe and row read the document needs — the key, the
  track, its album, the album's images and artists, each artist's genres and
  images, the track's artists, the track_files row — touching every column the
  document shows (`length()`), but building no JSON: the result is one sum.
  This is the physical limit for answering with complete documents, and the
  one the "within 2x of the floor" target compares with.
Both bind keys the way the library does (one `carray` per statement) and pin
the same indexes (`INDEXED BY`, names found by `documents.find_indexes`), so
the only difference measured is rendering the documents.
"""

from __future__ import annotations

import array
import re
from collections.abc import Sequence
from pathlib import Path

import apsw

from snapshot_api import documents
from snapshot_api.identifiers import Kind, barcode_key
from snapshot_api.layout import SIDECAR_NAME, Role, find_dump_files
from snapshot_api.snapshot import CACHE_KIB, MMAP_BYTES
from tools.bench.throughput import Lookup, LookupFactory

LEVELS = ("key", "rows")


def _touch(*columns: str) -> str:
    return " + ".join(f"coalesce(length({column}), 0)" for column in columns)


ARTIST_ROWS = f"""({_touch("ar.id", "ar.name", "ar.followers_total", "ar.popularity")}
  + coalesce((SELECT sum(length(g.genre)) FROM artist_genres AS g
              INDEXED BY @artist_genres.artist_rowid@ WHERE g.artist_rowid = ar.rowid), 0)
  + coalesce((SELECT sum({_touch("i.url", "i.width", "i.height")}) FROM artist_images AS i
              INDEXED BY @artist_images.artist_rowid@ WHERE i.artist_rowid = ar.rowid), 0))"""

ALBUM_ROWS = f"""({
    _touch(
        "al.id",
        "al.name",
        "al.album_type",
        "al.label",
        "al.release_date",
        "al.release_date_precision",
        "al.external_id_upc",
        "al.total_tracks",
        "al.copyright_c",
        "al.copyright_p",
        "al.popularity",
    )
}
  + coalesce((SELECT sum({_touch("i.url", "i.width", "i.height")}) FROM album_images AS i
              INDEXED BY @album_images.album_rowid@ WHERE i.album_rowid = al.rowid), 0)
  + coalesce((SELECT sum({ARTIST_ROWS}) FROM artist_albums AS aa
              INDEXED BY @artist_albums.album_rowid@
              CROSS JOIN artists AS ar ON ar.rowid = aa.artist_rowid
              WHERE aa.album_rowid = al.rowid AND aa.is_appears_on = 0
                AND aa.is_implicit_appears_on = 0), 0))"""


def _track_rows(track_files: bool) -> str:
    columns = _touch(
        "t.id",
        "t.name",
        "t.external_id_isrc",
        "t.duration_ms",
        "t.explicit",
        "t.track_number",
        "t.disc_number",
        "t.popularity",
        "t.preview_url",
    )
    files = (
        " + "
        + _touch(
            "f.original_title",
            "f.version_title",
            "f.has_lyrics",
            "f.language_of_performance",
            "f.artist_roles",
        )
        if track_files
        else ""
    )
    return f"""({columns} + coalesce({ALBUM_ROWS}, 0)
  + coalesce((SELECT sum({ARTIST_ROWS}) FROM track_artists AS ta
              INDEXED BY @track_artists.track_rowid@
              CROSS JOIN artists AS ar ON ar.rowid = ta.artist_rowid
              WHERE ta.track_rowid = t.rowid), 0){files})"""


def _tracks_by(column: str, track_files: bool) -> str:
    join = (
        "LEFT JOIN tf.track_files AS f INDEXED BY @track_files.track_id@ ON f.track_id = t.id"
        if track_files
        else ""
    )
    return f"""SELECT count(*), sum({_track_rows(track_files)})
FROM carray(?1) AS k CROSS JOIN tracks AS t INDEXED BY @tracks.{column}@ ON t.{column} = k.value
LEFT JOIN albums AS al ON al.rowid = t.album_rowid {join}"""


def statements(track_files: bool) -> dict[tuple[Kind, str], str]:
    """(kind, level) → SQL with `@table.column@` index placeholders; one row out."""
    return {
        (Kind.ISRC, "key"): """SELECT count(*) FROM carray(?1) AS k CROSS JOIN tracks AS t
            INDEXED BY @tracks.external_id_isrc@ ON t.external_id_isrc = k.value""",
        (Kind.ISRC, "rows"): _tracks_by("external_id_isrc", track_files),
        (Kind.TRACK, "key"): """SELECT count(*) FROM carray(?1) AS k CROSS JOIN tracks AS t
            INDEXED BY @tracks.id@ ON t.id = k.value""",
        (Kind.TRACK, "rows"): _tracks_by("id", track_files),
        (Kind.UPC, "key"): """SELECT count(*) FROM carray(?1) AS k
            CROSS JOIN idx.barcode_albums AS b ON b.barcode = k.value""",
        (Kind.UPC, "rows"): f"""SELECT count(*), sum({ALBUM_ROWS}) FROM carray(?1) AS k
            CROSS JOIN idx.barcode_albums AS b ON b.barcode = k.value
            CROSS JOIN albums AS al ON al.rowid = b.album_rowid""",
        (Kind.ALBUM, "key"): """SELECT count(*) FROM carray(?1) AS k CROSS JOIN albums AS al
            INDEXED BY @albums.id@ ON al.id = k.value""",
        (Kind.ALBUM, "rows"): f"""SELECT count(*), sum({ALBUM_ROWS}) FROM carray(?1) AS k
            CROSS JOIN albums AS al INDEXED BY @albums.id@ ON al.id = k.value""",
        (Kind.ARTIST, "key"): """SELECT count(*) FROM carray(?1) AS k CROSS JOIN artists AS ar
            INDEXED BY @artists.id@ ON ar.id = k.value""",
        (Kind.ARTIST, "rows"): f"""SELECT count(*), sum({ARTIST_ROWS}) FROM carray(?1) AS k
            CROSS JOIN artists AS ar INDEXED BY @artists.id@ ON ar.id = k.value""",
    }


_PLACEHOLDER = re.compile(r"@(\w+\.\w+)@")


def _uri(path: Path) -> str:
    return "file:" + str(path.resolve()) + "?mode=ro&immutable=1"


def connect(directory: Path) -> apsw.Connection:
    """Opened as the library opens a snapshot: read-only, immutable, mmap, same caches."""
    files = find_dump_files(directory)
    connection = apsw.Connection(
        _uri(files[Role.MAIN].path), flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI
    )
    schemas = ["main"]
    if Role.TRACK_FILES in files:
        connection.execute("ATTACH DATABASE ? AS tf", (_uri(files[Role.TRACK_FILES].path),))
        schemas.append("tf")
    connection.execute("ATTACH DATABASE ? AS idx", (_uri(directory / SIDECAR_NAME),))
    schemas.append("idx")
    for schema in schemas:
        connection.execute(f"PRAGMA {schema}.mmap_size = {MMAP_BYTES}")
        connection.execute(f"PRAGMA {schema}.cache_size = -{CACHE_KIB}")
    return connection


class Floor:
    """The floor statements of one snapshot, resolved to its index names."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        files = find_dump_files(directory)
        track_files = Role.TRACK_FILES in files
        connection = connect(directory)
        try:
            indexes = documents.find_indexes(
                connection, ["main", "tf"] if track_files else ["main"]
            )
        finally:
            connection.close()

        def resolve(sql: str) -> str:
            return _PLACEHOLDER.sub(
                lambda m: '"' + indexes[m.group(1)].replace('"', '""') + '"', sql
            )

        self.sql = {key: resolve(sql) for key, sql in statements(track_files).items()}

    def factory(self, kind: Kind, level: str) -> LookupFactory:
        sql = self.sql[(kind, level)]
        directory = self.directory

        def make() -> Lookup:
            connection = connect(directory)

            def lookup(keys: Sequence[str]) -> int:
                if kind is Kind.UPC:
                    binding = apsw.carray(array.array("q", [barcode_key(k) for k in keys]))
                else:
                    binding = apsw.carray(tuple(keys))
                row = connection.execute(sql, (binding,)).fetchone()
                return int(row[0]) if row else 0

            return lookup

        return make
