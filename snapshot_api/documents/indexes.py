"""The indexes every lookup needs, found by their leading column in a file's schema."""

from __future__ import annotations

from collections.abc import Iterable

import apsw

from snapshot_api.errors import MissingIndex

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
    "af": ("track_audio_features.track_id",),
}
"""Indexes every lookup needs, as table.column of their first column (schema alias → list)."""


def find_indexes(
    connection: apsw.Connection,
    schemas: Iterable[str],
    *,
    schema_names: dict[str, str] | None = None,
) -> dict[str, str]:
    """{"table.column": index name} for every required index, read from the schema only.

    The published file's index names are unknown, so indexes are found by their
    leading column (partial indexes do not count: they do not hold every row).
    `schema_names` maps an alias of `REQUIRED_INDEXES` to the schema it is opened as
    on this connection, when not attached under that alias (a file opened alone).
    """
    found: dict[str, str] = {}
    missing: list[str] = []
    for schema in schemas:
        for wanted in REQUIRED_INDEXES[schema]:
            table, column = wanted.split(".")
            opened_as = (schema_names or {}).get(schema, schema)
            name = index_on(connection, opened_as, table, column)
            if name is None:
                missing.append(f"{table}({column})")
            else:
                found[wanted] = name
    if missing:
        raise MissingIndex("no index on " + ", ".join(missing))
    return found


def index_on(connection: apsw.Connection, schema: str, table: str, column: str) -> str | None:
    indexes = list(connection.execute(f"PRAGMA {schema}.index_list({table})"))
    # unique first: a unique index answers an equality probe with at most one entry
    for _seq, name, _unique, _origin, partial in sorted(indexes, key=lambda row: -int(row[2])):
        if partial:
            continue
        columns = list(connection.execute(f"PRAGMA {schema}.index_info({quote(name)})"))
        if columns and columns[0][2] == column:
            return str(name)
    return None


def quote(identifier: object) -> str:
    return '"' + str(identifier).replace('"', '""') + '"'
