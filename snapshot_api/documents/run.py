"""Running the statements: JSON bytes per key, one statement per lookup whatever the keys.

Documents come from SQLite as BLOBs and are checked here as UTF-8: a dump is
scraped text and a cell may hold bytes that are not UTF-8 (or a flipped bit
may make them so). Such a document keeps every field, with U+FFFD in place of
each undecodable sequence: a dirty name must not hide a whole album. The
check is cheap: an ASCII document needs none, and a valid one is decoded once
and kept as the bytes it was (the server sends bytes; the library parses them).
Python's replacement never swallows an ASCII byte into a bad sequence, so the
JSON punctuation SQLite wrote around the text is kept.
"""

from __future__ import annotations

import array
from collections.abc import Sequence
from typing import Any

import apsw

from snapshot_api.documents.statements import Queries
from snapshot_api.identifiers import Kind, barcode_key


def _binding(kind: Kind, keys: Sequence[str]) -> apsw.CArrayBinding:
    if kind is Kind.UPC:
        return apsw.carray(array.array("q", [barcode_key(key) for key in keys]))
    return apsw.carray(tuple(keys))


def utf8(document: bytes) -> bytes:
    """`document` when it is valid UTF-8, else re-encoded with U+FFFD for each bad sequence."""
    if document.isascii():
        return document
    try:
        document.decode()
    except UnicodeDecodeError:
        return document.decode(errors="replace").encode()
    return document


def lookup(
    connection: apsw.Connection, queries: Queries, kind: Kind, keys: Sequence[str]
) -> dict[str, bytes]:
    """JSON per canonical key: arrays for ISRC/UPC (every key), objects for found ids.

    One statement whatever the number of keys.
    """
    unique = list(dict.fromkeys(keys))
    if not unique:
        return {}
    if kind is Kind.AUDIO_FEATURES and not queries.audio_features_by_track_id:
        return {}  # no audio features database: no track has any
    rows = connection.execute(queries.for_kind(kind), (_binding(kind, unique),))
    if kind not in (Kind.ISRC, Kind.UPC):
        return {str(key): utf8(document) for key, _popularity, _rowid, document in rows}
    found = sorted(rows, key=_most_popular_first)
    grouped: dict[object, list[bytes]] = {
        (barcode_key(key) if kind is Kind.UPC else key): [] for key in unique
    }
    for key, _popularity, _rowid, document in found:
        grouped[key].append(document)
    # documents end in ASCII, so checking a joined array checks each document
    return {
        key: utf8(b"[" + b",".join(documents) + b"]")
        for key, documents in zip(unique, grouped.values(), strict=True)
    }


def _most_popular_first(row: tuple[object, ...]) -> tuple[int, int]:
    popularity, rowid = row[1], row[2]
    return (
        -popularity if isinstance(popularity, int) else 0,
        rowid if isinstance(rowid, int) else 0,
    )


def album_tracks(connection: apsw.Connection, queries: Queries, album_id: str) -> bytes | None:
    """The album's tracks (without `album`) by disc, then track number; None if no such album."""
    rows = list(connection.execute(queries.album_tracks, (apsw.carray((album_id,)),)))
    if not rows:
        return None
    tracks = sorted(
        (row for row in rows if row[1] is not None),
        key=lambda row: (_int_or_zero(row[2]), _int_or_zero(row[3]), _int_or_zero(row[1])),
    )
    return utf8(b"[" + b",".join(row[4] for row in tracks) + b"]")


def album_tracks_many(
    connection: apsw.Connection, queries: Queries, album_ids: Sequence[str]
) -> dict[str, bytes]:
    """`album_tracks` of several albums in one statement: {album id: JSON array} for the
    albums found."""
    unique = tuple(dict.fromkeys(album_ids))
    if not unique:
        return {}
    grouped: dict[str, list[tuple[Any, ...]]] = {}
    for row in connection.execute(queries.album_tracks, (apsw.carray(unique),)):
        listed = grouped.setdefault(str(row[5]), [])
        if row[1] is not None:
            listed.append(row)
    return {
        album_id: utf8(
            b"["
            + b",".join(
                row[4]
                for row in sorted(
                    rows,
                    key=lambda row: (
                        _int_or_zero(row[2]),
                        _int_or_zero(row[3]),
                        _int_or_zero(row[1]),
                    ),
                )
            )
            + b"]"
        )
        for album_id, rows in grouped.items()
    }


def _int_or_zero(value: object) -> int:
    return value if isinstance(value, int) else 0


def artist_albums(
    connection: apsw.Connection, queries: Queries, artist_id: str, limit: int, offset: int
) -> tuple[int, list[bytes]] | None:
    """(total, album documents of the page) of the artist's own albums, newest release
    first; None when no such artist. Two statements, each a few b-tree descents plus
    `limit` rows, whatever the artist's number of albums or the offset."""
    head = list(connection.execute(queries.artist_albums_total, (apsw.carray((artist_id,)),)))
    if not head:
        return None
    artist_rowid, total = head[0]
    if offset >= total:
        return int(total), []
    rows = connection.execute(queries.artist_albums_page, (artist_rowid, offset, offset + limit))
    return int(total), [utf8(document) for _position, document in rows]


def markets(
    connection: apsw.Connection, sql: str, keys: Sequence[str]
) -> dict[str, tuple[str | None, ...]]:
    """{key: (markets text, ...)} for `Queries.track_markets` (the track's, its album's) or
    `Queries.album_markets`; one statement whatever the number of keys."""
    unique = list(dict.fromkeys(keys))
    if not unique:
        return {}
    return {
        str(row[0]): tuple(_text(value) for value in row[1:])
        for row in connection.execute(sql, (apsw.carray(tuple(unique)),))
    }


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return str(value)
