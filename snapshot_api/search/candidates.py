"""What matching reads from the track index and the dump, every read bounded.

Matching (`snapshot_api.match`) asks for candidates with FTS5 queries it
composes from a tagger's title and artist words; this module holds the
statements it runs, so SQL stays with the index it reads:
- `page`: the dump rowids of tracks holding every term of a MATCH
  expression, most popular first, at most `limit`, after a ranking key (FTS5
  consumes `ORDER BY rowid LIMIT` and starts its walk at `rowid > ?`), so a
  page read on continues where it ended instead of walking its start again;
- `known`: which of some terms the index holds at all, and in how many
  tracks (one probe each of the sorted terms table), so a misspelt word is
  known to be one and a common word can be left out of a query;
- `tracks`: how many tracks the index holds (once: it is in `search_meta`);
- `near`: the index's terms sharing a word's first characters (one range read
  of the terms table, at most `NEAR_READ` terms), to correct a misspelling;
- `rows`: title, duration, popularity, album name and artist names of a few
  rowids, by rowid (the cheap part of a document, for scoring), as BLOBs
  decoded with U+FFFD for bytes that are not UTF-8.
"""

from __future__ import annotations

import array
from collections.abc import Sequence
from typing import NamedTuple

import apsw

from snapshot_api.documents.indexes import quote
from snapshot_api.search.index import RANKINGS, SCHEMA_ALIAS, SearchKind

NEAR_READ = 400
"""Terms read per misspelt word: those starting like it, in sorted order."""

ARTIST_SEPARATOR = "\n"
START = -1
"""The ranking key before every other (keys are never negative)."""

_RANKING = RANKINGS[SearchKind.TRACK]


def page_sql() -> str:
    table = _RANKING.words_table
    return f"""SELECT f.rowid FROM {SCHEMA_ALIAS}.{table} AS f
    WHERE f.{table} MATCH ?1 AND f.rowid > ?2 ORDER BY f.rowid LIMIT ?3"""


def known_sql() -> str:
    return f"""SELECT term, docs FROM {SCHEMA_ALIAS}.{_RANKING.terms_table}
    WHERE term IN (SELECT value FROM carray(?1))"""


def tracks_sql() -> str:
    return f"SELECT value FROM {SCHEMA_ALIAS}.search_meta WHERE key = 'rows.{_RANKING.kind.value}'"


def near_sql() -> str:
    return f"""SELECT term FROM {SCHEMA_ALIAS}.{_RANKING.terms_table}
    WHERE term >= ?1 AND term < ?2 ORDER BY term LIMIT {NEAR_READ}"""


def rows_sql(indexes: dict[str, str]) -> str:
    track_artists = quote(indexes["track_artists.track_rowid"])
    return f"""SELECT t.rowid, CAST(t.name AS BLOB), t.duration_ms, t.popularity,
      CAST(al.name AS BLOB),
      (SELECT CAST(group_concat(ar.name, char(10)) AS BLOB)
       FROM track_artists AS ta INDEXED BY {track_artists}
       CROSS JOIN artists AS ar ON ar.rowid = ta.artist_rowid
       WHERE ta.track_rowid = t.rowid)
    FROM carray(?1) AS k CROSS JOIN tracks AS t ON t.rowid = k.value
    LEFT JOIN albums AS al ON al.rowid = t.album_rowid"""


class Row(NamedTuple):
    """The parts of a track that matching scores, and its place in the ranking.

    A named tuple: a page read on makes 200 of them per match, and a tuple is
    made in a fraction of a frozen dataclass's time (at 10M, interleaved: 7.9-8.3
    against 8.9-9.3 µs per row fetched, all told)."""

    rowid: int
    title: str
    duration_ms: int | None
    popularity: int | None
    album: str | None
    artists: list[str]

    @property
    def rank(self) -> tuple[int, int]:
        """The index's order: most popular first, then dump rowid (ties in equal scores)."""
        return (_RANKING.bucket(self.popularity), self.rowid)


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value if isinstance(value, str) else None


def _names(value: object) -> list[str]:
    """The artist names of a `rows_sql` row (joined by `ARTIST_SEPARATOR`)."""
    text = _text(value)
    return text.split(ARTIST_SEPARATOR) if text else []


def after_prefix(prefix: str) -> str:
    """The smallest string greater than every string starting with `prefix`."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


class CandidateReader:
    """The statements of one snapshot's layout."""

    def __init__(self, indexes: dict[str, str]) -> None:
        self.match_sql = page_sql()
        self.known_sql = known_sql()
        self.tracks_sql = tracks_sql()
        self._tracks: int | None = None
        self.near_sql = near_sql()
        self.rows_sql = rows_sql(indexes)

    def page(
        self, connection: apsw.Connection, match: str, limit: int, after: int = START
    ) -> tuple[list[int], int]:
        """Dump rowids of the page after ranking key `after`, and the page's last key
        (the `after` of the next page)."""
        mask = _RANKING.mask
        keys = [int(row[0]) for row in connection.execute(self.match_sql, (match, after, limit))]
        return [key & mask for key in keys], keys[-1] if keys else after

    def known(self, connection: apsw.Connection, terms: Sequence[str]) -> dict[str, int]:
        """The terms the index holds, each with the number of tracks holding it."""
        if not terms:
            return {}
        binding = apsw.carray(tuple(terms))
        return {str(t): int(d) for t, d in connection.execute(self.known_sql, (binding,))}

    def tracks(self, connection: apsw.Connection) -> int:
        """Tracks in the index (read once; a reopened snapshot makes a new reader)."""
        if self._tracks is None:
            value = connection.execute(self.tracks_sql).get
            self._tracks = int(value) if isinstance(value, str) and value.isdigit() else 0
        return self._tracks

    def near(self, connection: apsw.Connection, prefix: str) -> list[str]:
        rows = connection.execute(self.near_sql, (prefix, after_prefix(prefix)))
        return [str(row[0]) for row in rows]

    def rows(self, connection: apsw.Connection, rowids: Sequence[int]) -> list[Row]:
        if not rowids:
            return []
        binding = apsw.carray(array.array("q", rowids))
        return [
            Row(
                int(rowid),
                _text(name) or "",
                duration if type(duration) is int else None,
                popularity if type(popularity) is int else None,
                _text(album),
                _names(names),
            )
            for rowid, name, duration, popularity, album, names in connection.execute(
                self.rows_sql, (binding,)
            )
        ]

    def sample_plans(self) -> dict[str, tuple[str, tuple[object, ...]]]:
        """Every statement with representative bindings, for EXPLAIN QUERY PLAN."""
        return {
            "match_candidates": (self.match_sql, ('"intro" AND "_adele"', START, 20)),
            "match_prefix": (self.match_sql, ('"int"* AND "_adele"', START, 20)),
            "match_known_terms": (self.known_sql, (apsw.carray(("intro", "_adele")),)),
            "match_tracks": (self.tracks_sql, ()),
            "match_near_terms": (self.near_sql, ("_ade", "_adf")),
            "match_rows": (self.rows_sql, (apsw.carray(array.array("q", [1, 2])),)),
        }
