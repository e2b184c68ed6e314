"""What the search index holds: one FTS5 table per kind, keyed by a ranking key.

The key of a row is `(bucket << shift) | dump rowid`, where the bucket is the
row's popularity (tracks, albums) or follower count (artists) turned upside
down: the most popular rows get the smallest keys. FTS5 returns matches in key
order and consumes `ORDER BY rowid`, so `MATCH ... ORDER BY rowid LIMIT k`
reads k matches and stops, whether the words match ten names or ten million.
Ties keep the dump's rowid order, as the lookups do. The dump rowid is the
key's low bits, so documents are fetched without a mapping table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

SEARCH_FORMAT = "4"
"""Bumped whenever the terms or the key change: an index of another format is rebuilt."""


ROWID_BITS = 32
"""Low bits of a key holding the dump rowid: 4.3 billion rows of each kind. Every posting at a
change of bucket stores the key's difference, so fewer bits make the index smaller (with 40,
the bucket alone took 41-50 bits: 6-8 bytes a varint instead of 5-6)."""


class SearchKind(StrEnum):
    TRACK = "track"
    ALBUM = "album"
    ARTIST = "artist"


@dataclass(frozen=True, slots=True)
class Ranking:
    """How one kind is ranked and where its terms live."""

    kind: SearchKind
    table: str
    """The dump table (tracks, albums, artists)."""
    words_table: str
    """Our FTS5 table of that kind's terms."""
    terms_table: str
    """Every distinct term of `words_table`, sorted: what a long prefix expands to."""
    column: str
    """The dump column ranking it: popularity, or followers_total for artists."""
    top: int
    """Values at or above `top` share the first bucket."""

    shift = ROWID_BITS

    @property
    def mask(self) -> int:
        return (1 << self.shift) - 1

    def bucket(self, value: object) -> int:
        """0 for the best; NULL, negative or non-integer values rank after 0."""
        if not isinstance(value, int) or value < 0:
            return self.top + 1
        return self.top - min(value, self.top)

    def key(self, value: object, rowid: int) -> int:
        return (self.bucket(value) << self.shift) | rowid

    def fits(self, rowid: int) -> bool:
        return 0 <= rowid <= self.mask


RANKINGS: dict[SearchKind, Ranking] = {
    SearchKind.TRACK: Ranking(
        SearchKind.TRACK, "tracks", "track_words", "track_terms", "popularity", 1000
    ),
    SearchKind.ALBUM: Ranking(
        SearchKind.ALBUM, "albums", "album_words", "album_terms", "popularity", 1000
    ),
    SearchKind.ARTIST: Ranking(
        SearchKind.ARTIST,
        "artists",
        "artist_words",
        "artist_terms",
        "followers_total",
        (1 << 30) - 1,
    ),
}
"""Popularity is 0-100 in the dump; follower counts stay far below 2^30 (10^9)."""

INDEXED_PREFIX = 3
"""Length of the prefixes FTS5 keeps an index of (`prefix='3'` in the schema)."""

SCHEMA_ALIAS = "srch"
"""The name the search file is attached under on a snapshot connection."""
