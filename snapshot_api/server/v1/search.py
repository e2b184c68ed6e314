"""`/v1/search`: Spotify's query syntax over the snapshot's name search and exact lookups.

`q` holds free words and field filters, `field:value` or `field:"quoted value"`:
- `track:`, `artist:`, `album:` are words the track's title, one of its artists'
  names or its album's name must hold; they go to the name search
  (`Snapshot.search_json`) as its `q`, `artist` and `album`, so ranking and
  paging are the search index's (most popular first, `offset` up to 1000).
- `isrc:` and `upc:` are exact identifiers, answered by the lookups (no search
  index needed): the tracks with that ISRC, or the albums with that barcode
  (for `type=track`, their tracks). Other words then filter those few results.
- `year:` (`1999` or a range `1990-1999`) keeps results released in those years.
  Over the name search it filters the first `YEAR_WINDOW` matches in ranking
  order (a bounded amount of work whatever the snapshot size); the totals then
  count matches within that window.
Other filters Spotify knows (`genre:`, `tag:new`, ...) are not in the dump and
are ignored; their words are not searched for.

The name search gives no count of all matches: over it `total` is what is
known, the items up to this page plus one when another page exists (`next`
is exact). Over exact lookups `total` is exact.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from snapshot_api.errors import InvalidIdentifier, InvalidParameter
from snapshot_api.identifiers import Kind, parse
from snapshot_api.search import params
from snapshot_api.search.index import SearchKind
from snapshot_api.search.text import words
from snapshot_api.snapshot import Snapshot

TYPES = ("album", "artist", "track")
"""The `type` values served (Spotify's others, playlists and shows, are not in the dump)."""
FIELDS = ("track", "artist", "album", "year", "isrc", "upc")
YEAR_WINDOW = 1000
"""Name-search matches a `year:` filter looks through, in ranking order."""
_TOKEN = re.compile(r'(?:(\w+):)?(?:"([^"]*)"?|(\S+))')
_YEAR = re.compile(r"(\d{4})(?:-(\d{4}))?")

Document = dict[str, Any]


@dataclass(slots=True)
class Query:
    """A parsed `q`: free words, and the value of each field filter given."""

    free: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Query:
        query = cls()
        for match in _TOKEN.finditer(text):
            name, quoted, bare = match.group(1), match.group(2), match.group(3)
            value = quoted if quoted is not None else bare or ""
            if name is None:
                query.free.append(value)
            elif name.lower() in FIELDS:
                key = name.lower()
                joined = f"{query.fields[key]} {value}" if key in query.fields else value
                query.fields[key] = joined.strip()
            # other filters: ignored (see the module docstring)
        return query

    def text(self, *names: str) -> str | None:
        """The free words and those of the named fields, as one search query (None if empty)."""
        parts = [*self.free, *(self.fields[name] for name in names if name in self.fields)]
        joined = " ".join(part for part in parts if part)
        return joined or None

    def years(self) -> tuple[int, int] | None:
        value = self.fields.get("year")
        if value is None:
            return None
        match = _YEAR.fullmatch(value.strip())
        if match is None:
            raise InvalidParameter(
                "q", f"year: takes a year or a range such as 1990-1999, not {value!r}"
            )
        low = int(match.group(1))
        high = int(match.group(2) or low)
        return (min(low, high), max(low, high))


def _release_year(album: Document | None) -> int | None:
    date = (album or {}).get("release_date", "")
    return int(date[:4]) if isinstance(date, str) and date[:4].isdigit() else None


def _album_of(kind: str, document: Document) -> Document | None:
    return document if kind == "album" else document.get("album")


def _holds(name: str | None, wanted: str | None) -> bool:
    """Every word of `wanted` is a word of `name` (the search's own folding)."""
    if not wanted:
        return True
    return set(words(wanted)) <= set(words(name or ""))


@dataclass(frozen=True, slots=True)
class Found:
    """One type's answer: the page's documents, and the total as known."""

    items: list[Document]
    total: int
    exact_total: bool


class Searcher:
    """Runs a parsed query for one type against a snapshot."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def run(self, kind: str, query: Query, limit: int, offset: int) -> Found:
        years = query.years()
        if "isrc" in query.fields or "upc" in query.fields:
            return self._exact(kind, query, years, limit, offset)
        if years is None:
            return self._page(kind, query, limit, offset)
        return self._within_years(kind, query, years, limit, offset)

    # --- the name search ---------------------------------------------------------------

    def _search(self, kind: str, query: Query, limit: int, offset: int) -> list[Document]:
        if kind == "track":
            text = self.snapshot.search_json(
                SearchKind.TRACK,
                query.text("track"),
                artist=query.fields.get("artist"),
                album=query.fields.get("album"),
                limit=limit,
                offset=offset,
            )
        elif kind == "album":
            text = self.snapshot.search_json(
                SearchKind.ALBUM,
                query.text("album"),
                artist=query.fields.get("artist"),
                limit=limit,
                offset=offset,
            )
        else:
            text = self.snapshot.search_json(
                SearchKind.ARTIST, query.text("artist"), limit=limit, offset=offset
            )
        found: list[Document] = orjson.loads(text)
        return found

    def _page(self, kind: str, query: Query, limit: int, offset: int) -> Found:
        # one more than the page tells whether another exists (a second, one-item search
        # only when the page is already the largest the search gives)
        fetched = self._search(kind, query, min(limit + 1, params.MAX_LIMIT), offset)
        items = fetched[:limit]
        if len(fetched) > limit:
            more = offset + limit <= params.MAX_OFFSET
        else:
            more = (
                len(items) == limit
                and offset + limit <= params.MAX_OFFSET
                and bool(self._search(kind, query, 1, offset + limit))
            )
        return Found(items, offset + len(items) + (1 if more else 0), exact_total=not more)

    def _within_years(
        self, kind: str, query: Query, years: tuple[int, int], limit: int, offset: int
    ) -> Found:
        if kind == "artist":
            return self._page(kind, query, limit, offset)  # artists have no release year
        kept: list[Document] = []
        for start in range(0, YEAR_WINDOW, params.MAX_LIMIT):
            batch = self._search(kind, query, params.MAX_LIMIT, start)
            kept += [d for d in batch if _in_years(_album_of(kind, d), years)]
            if len(batch) < params.MAX_LIMIT:
                break
        return Found(kept[offset : offset + limit], len(kept), exact_total=True)

    # --- exact identifiers ---------------------------------------------------------------

    def _exact(
        self,
        kind: str,
        query: Query,
        years: tuple[int, int] | None,
        limit: int,
        offset: int,
    ) -> Found:
        tracks: list[Document] = []
        albums: list[Document] = []
        if "isrc" in query.fields:
            tracks = self._lookup(Kind.ISRC, query.fields["isrc"])
            albums = [t["album"] for t in tracks if "album" in t]
        if "upc" in query.fields:
            by_barcode = self._lookup(Kind.UPC, query.fields["upc"])
            if "isrc" in query.fields:
                ids = {a["id"] for a in by_barcode}
                tracks = [t for t in tracks if t.get("album", {}).get("id") in ids]
                albums = [a for a in albums if a["id"] in ids]
            else:
                albums = by_barcode
                tracks = self._tracks_of(albums)
        candidates: list[Document]
        if kind == "track":
            candidates = [t for t in tracks if self._track_matches(t, query)]
        elif kind == "album":
            candidates = _unique(a for a in albums if self._album_matches(a, query))
        else:
            candidates = _unique(
                artist
                for document in (*tracks, *albums)
                for artist in document.get("artists", ())
                if _holds(artist.get("name"), query.text("artist"))
            )
        if years is not None and kind != "artist":
            candidates = [d for d in candidates if _in_years(_album_of(kind, d), years)]
        return Found(candidates[offset : offset + limit], len(candidates), exact_total=True)

    def _lookup(self, kind: Kind, value: str) -> list[Document]:
        try:
            key = parse(kind, value)
        except InvalidIdentifier as exc:
            raise InvalidParameter("q", str(exc)) from None
        found: list[Document] = orjson.loads(self.snapshot.lookup_json(kind, [key])[key])
        return found

    def _tracks_of(self, albums: Sequence[Document]) -> list[Document]:
        listed = self.snapshot.album_tracks_json_many([a["id"] for a in albums])
        tracks = []
        for album in albums:
            for track in orjson.loads(listed.get(album["id"], b"[]")):
                tracks.append({**track, "album": album})
        return tracks

    @staticmethod
    def _track_matches(track: Document, query: Query) -> bool:
        return (
            _holds(track.get("name"), query.text("track"))
            and _any_artist(track, query.fields.get("artist"))
            and _holds(track.get("album", {}).get("name"), query.fields.get("album"))
        )

    @staticmethod
    def _album_matches(album: Document, query: Query) -> bool:
        return _holds(album.get("name"), query.text("album")) and _any_artist(
            album, query.fields.get("artist")
        )


def _any_artist(document: Document, wanted: str | None) -> bool:
    if not wanted:
        return True
    return any(_holds(a.get("name"), wanted) for a in document.get("artists", ()))


def _in_years(album: Document | None, years: tuple[int, int]) -> bool:
    year = _release_year(album)
    return year is not None and years[0] <= year <= years[1]


def _unique(documents: Any) -> list[Document]:
    seen: dict[str, Document] = {}
    for document in documents:
        seen.setdefault(document["id"], document)
    return list(seen.values())


def types_of(value: str | None) -> list[str]:
    """The `type` list (`track,album`): each one of `TYPES`, in the order given."""
    if not value:
        raise InvalidParameter("type", "type is required: one or more of album, artist, track")
    wanted = [part.strip().lower() for part in value.split(",") if part.strip()]
    unknown = [part for part in wanted if part not in TYPES]
    if unknown or not wanted:
        raise InvalidParameter(
            "type", f"type must be album, artist or track (comma-separated), not {value!r}"
        )
    return list(dict.fromkeys(wanted))
