"""Find a recording's candidates in the track index, score them, keep the best.

Candidates come from FTS5 queries over the track index (title terms, artist
terms marked `_`, see `snapshot_api.search.text`), each read most popular
first and cut at `STEP_LIMIT` rows, so each costs a few b-tree descents
whatever the snapshot size. The steps, tried in order until one yields a
candidate scoring `GOOD` or more:

1. **words**: every word of the detuned title AND every word of the artist's
   first name, in one query. A title shared by 100,000 tracks ("Intro") is
   thereby narrowed to the given artist's before the limit applies. When the
   page is full and holds no perfect candidate (an artist with 80 songs
   called "Love", the one of the right length not among the most popular),
   it is read on to `DEEP_LIMIT` rows.
   FTS5 answers an AND by walking the words' lists side by side; within a
   leaf page a list is stepped entry by entry, so an AND that finds fewer
   rows than its limit costs about the sum of its lists' lengths (7 ns per
   entry measured at 10M: "love" alone is 991,855 tracks, 7 ms), however
   rare the rarest word. So the rarest words (by the counts the terms table
   keeps) may be asked alone first, `NARROW_LIMIT` rows: `_narrowed` picks the
   number of them with the least expected cost (lists walked plus rows
   scored, `ROW_SECONDS` each; title words taken as independent, the artist's
   words as one), and a page
   that is not full then holds every track with all the words (and more,
   all scored), so no query requiring those words is run again.
2. **corrected**: words the index does not hold at all are misspellings (or
   unknown): each is replaced by the index's terms within one or two edits
   that start with its first two or three characters (two range reads of
   the sorted terms table, `NEAR_READ` terms each), or dropped when none is.
3. **one word dropped**: the query of step 1 without each of its words in
   turn (a misspelling that is another real word, an extra or missing word),
   at most `MAX_DROPS` queries.
4. **prefixes**: the artist's words and the title's first three characters;
   the title's words and the artist's first two (from FTS5's prefix index),
   for a misspelt one-word title or artist.
5. **further down**: the first `MAX_DEEP` queries whose page was full
   (common words in title and artist) are read on to `DEEP_LIMIT` rows;
6. **the artist's tracks**: the artist's words alone, `ARTIST_LIMIT` most
   popular (a title misspelt in its first characters). A title without
   words (emoji) reads every query this far.

**Hundreds of tracks** hold every word (an artist with 300 songs with "Night"
in the title) and none of the `DEEP_LIMIT` most popular is good: the search
ends there. Every later query would read a superset of those tracks, most
popular first, so it could only add tracks lacking a word the tagger gave, at
a cost of hundreds of rows scored (20 ms at 10M tracks).

Every candidate found is scored (`snapshot_api.match.score`); those below
`MIN_SCORE` are left out, the rest ordered by score, then popularity, then
dump rowid, and cut at the request's limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import apsw
from rapidfuzz.distance import OSA

from snapshot_api.match import score
from snapshot_api.match.params import MatchRequest
from snapshot_api.search.candidates import START, CandidateReader, Row
from snapshot_api.search.text import ARTIST_MARK, QueryTerm, parse_query

STEP_LIMIT = 20
"""Rows read per candidate query."""
DEEP_LIMIT = 200
"""Rows read further of a query whose first page was full but held nothing good."""
MAX_DEEP = 2
"""Queries read further (the first ones: the ones holding the most words)."""
ARTIST_LIMIT = 100
"""Rows read of the artist's tracks alone (the last step, for a title misspelt early)."""
GOOD = 0.8
"""A candidate this good ends the search for more (one misspelling still scores above it)."""
PERFECT = 1.0
"""A candidate this good cannot be beaten by one further down the index (less popular)."""
MIN_SCORE = 0.3
"""Candidates below this are left out: nothing close gives `[]`."""
MAX_TITLE_WORDS = 8
MAX_ARTIST_WORDS = 6
"""Words of a long title or credit used in queries (all of them are still scored)."""
MAX_DROPS = 6
NEAR_PREFIX = 3
"""Characters a misspelt word's corrections share with it (also 2: two ranges are read)."""
MAX_CORRECTIONS = 6
"""Terms a misspelt word may stand for in the corrected query, closest first."""
ENTRY_SECONDS = 7e-9
"""Cost of one list entry an AND walks (an AND of lists of 2.55M entries in all: 18 ms)."""
ROW_SECONDS = 20e-6
"""Cost of a candidate row fetched and scored (9 rows: 0.15-0.18 ms)."""
NARROW_LIMIT = 100
"""Rows read of the rarest words asked alone (all of them, unless the estimate was wrong)."""
NARROW_SHARE = 4
"""The rarest words are asked alone only when expected in at most 1/4 of `NARROW_LIMIT` rows:
words are not independent, and a full page means asking every word after all."""


@dataclass(frozen=True, slots=True)
class Read:
    """What one page read tells the steps: whether it was full, the best score found so
    far (all pages), and the ranking key it ended at (where reading on starts)."""

    full: bool
    best: float
    last: int


@dataclass(frozen=True, slots=True)
class Scored:
    """One candidate as answered: score, components, and the dump rowid of its track."""

    score: float
    components: dict[str, float]
    row: Row


def _terms(text: str, mark: str, most: int) -> list[str]:
    """Index terms of `text` (prefixes off: `*` is not special here)."""
    found = [mark + term.text for term in parse_query(text.replace("*", " ")).terms]
    return found[:most]


def _fts(term: str) -> str:
    return QueryTerm(term).fts5()


def _all(parts: Sequence[str]) -> str:
    return " AND ".join(parts)


def _expected(words: list[str], artists: set[str], known: dict[str, int], tracks: int) -> float:
    """Tracks expected to hold every word: title words taken as independent, the artist's
    words as one (they name one artist: its tracks hold them all)."""
    share = 1.0
    artist_share = 1.0
    for word in words:
        if word in artists:
            artist_share = min(artist_share, known[word] / tracks)
        else:
            share *= known[word] / tracks
    return tracks * share * artist_share


def _cost(walked: int, expected: float, limit: int) -> float:
    """Expected seconds of an AND whose lists hold `walked` entries in all and whose rows
    are `expected`, read to `limit` rows: the lists walked until `limit` rows are found
    (all of them when fewer meet), those rows scored."""
    share = min(1.0, limit / expected) if expected > 0 else 1.0
    return walked * share * ENTRY_SECONDS + min(expected, limit) * ROW_SECONDS


class Matcher:
    """Matching over one snapshot's candidate statements."""

    def __init__(self, reader: CandidateReader) -> None:
        self.reader = reader

    def run(self, connection: apsw.Connection, wanted: MatchRequest) -> list[Scored]:
        given = score.Given.of(wanted.title, wanted.artist, wanted.album, wanted.duration_ms)
        # detuned title, first credited artist; when those hold no index word, the whole text
        titles = _terms(given.title.core_text, "", MAX_TITLE_WORDS) or _terms(
            wanted.title, "", MAX_TITLE_WORDS
        )
        artists = _terms(given.artist.first_text, ARTIST_MARK, MAX_ARTIST_WORDS) or _terms(
            wanted.artist, ARTIST_MARK, MAX_ARTIST_WORDS
        )
        if not titles and not artists:
            return []  # nothing to look for in the index: no track can be close
        found: dict[int, Scored] = {}
        scorer = score.Scorer(given)

        def read(expression: str, limit: int, after: int) -> Read:
            """Read and score the page after ranking key `after`."""
            rowids, last = self.reader.page(connection, expression, limit, after)
            fresh = [r for r in rowids if r not in found]
            for row in self.reader.rows(connection, fresh):
                value, components = scorer.score(
                    score.Candidate(row.title, row.artists, row.album, row.duration_ms)
                )
                found[row.rowid] = Scored(value, components, row)
            best = max((s.score for s in found.values()), default=0.0)
            return Read(len(rowids) == limit, best, last)

        self._search(connection, titles, artists, read)
        kept = [s for s in found.values() if s.score >= MIN_SCORE]
        kept.sort(key=lambda s: (-s.score, *s.row.rank))
        return kept[: wanted.limit]

    def _search(
        self,
        connection: apsw.Connection,
        titles: list[str],
        artists: list[str],
        read: Callable[[str, int, int], Read],
    ) -> None:
        """Run the steps (module doc) until `read` says a good candidate was found."""
        # without title words (emoji) every query is of the artist's words: read further
        page = STEP_LIMIT if titles else ARTIST_LIMIT
        known = self.reader.known(connection, titles + artists)
        narrow = self._narrowed(connection, titles, artists, known)
        complete = False
        """Whether every track holding all the words has been read (by the narrow query)."""
        if narrow is not None:
            first = read(_all([_fts(t) for t in narrow]), NARROW_LIMIT, START)
            complete = not first.full
            if complete and first.best >= GOOD:
                return
        full: list[tuple[str, int]] = []
        """Queries whose page was full, and the key their page ended at."""
        read_all = {_fts(t) for t in narrow} if complete and narrow else None
        queries = self._queries(connection, titles, artists, known, read_all)
        for step, expression in enumerate(queries, start=1 if complete else 0):
            got = read(expression, page, START)
            if got.full and titles:
                if step == 0 and got.best < PERFECT:
                    # the words are common: a better candidate may lie further down
                    got = read(expression, DEEP_LIMIT - page, got.last)
                    if got.full and got.best < GOOD:
                        return  # see "Hundreds of tracks" in the module doc
                else:
                    full.append((expression, got.last))
            if got.best >= GOOD:
                return
        if titles:
            # full pages of common words without a good candidate: read further down
            for expression, last in full[:MAX_DEEP]:
                if read(expression, DEEP_LIMIT - page, last).best >= GOOD:
                    return
            alone = _all([_fts(a) for a in artists])
            if artists and all(a in known for a in artists):
                read(alone, ARTIST_LIMIT, START)

    def _narrowed(
        self,
        connection: apsw.Connection,
        titles: list[str],
        artists: list[str],
        known: dict[str, int],
    ) -> list[str] | None:
        """The rarest of the words whose query read to `NARROW_LIMIT` rows is expected to cost
        less than the query of every word read to `STEP_LIMIT`, in their order (None: ask
        them all). See step 1 in the module doc."""
        words = titles + artists
        if len(words) < 3 or len(known) < len(words):
            return None  # an unknown word: the full query is empty, and cheap
        tracks = self.reader.tracks(connection)
        if tracks <= 0:
            return None
        ranked = sorted(words, key=lambda w: known[w])
        credited = set(artists)
        every = _expected(ranked, credited, known, tracks)
        best_cost = _cost(sum(known[w] for w in ranked), every, STEP_LIMIT)
        best_count = len(ranked)
        walked = known[ranked[0]]
        for count in range(2, len(ranked)):
            walked += known[ranked[count - 1]]
            expected = _expected(ranked[:count], credited, known, tracks)
            if expected * NARROW_SHARE > NARROW_LIMIT:
                continue
            cost = _cost(walked, expected, NARROW_LIMIT)
            if cost < best_cost:
                best_cost, best_count = cost, count
        if best_count == len(ranked):
            return None
        kept = set(ranked[:best_count])
        return [w for w in words if w in kept]

    def _queries(
        self,
        connection: apsw.Connection,
        titles: list[str],
        artists: list[str],
        known: dict[str, int],
        read_all: set[str] | None,
    ) -> Iterator[str]:
        """The MATCH expressions of steps 1-4 (module doc), each yielded once, but for those
        requiring every term of `read_all` (a query whose every track has been read)."""
        seen: set[str] = set()
        words = titles + artists
        alone = _all([_fts(a) for a in artists]) if titles else ""
        """The artist's tracks alone: kept for the last step, read further."""

        def new(parts: Sequence[str]) -> str | None:
            if not parts:
                return None
            expression = _all(parts)
            if expression in seen or expression == alone:
                return None
            if read_all is not None and read_all.issubset(parts):
                return None
            seen.add(expression)
            return expression

        first = new([_fts(t) for t in words])
        if first:
            yield first
        # 2. corrected
        if len(known) < len(words):
            parts = []
            for term in words:
                if term in known:
                    parts.append(_fts(term))
                    continue
                near = self._corrections(connection, term)
                if near:
                    parts.append("(" + " OR ".join(_fts(t) for t in near) + ")")
            corrected = new(parts)
            if corrected:
                yield corrected
        # 3. one word dropped (known words only: unknown ones are never found anyway)
        if len(words) > 1:
            usable = [t for t in words if t in known]
            for dropped in words[:MAX_DROPS]:
                rest = [_fts(t) for t in usable if t != dropped]
                expression = new(rest)
                if expression:
                    yield expression
        # 4. prefixes
        if titles and len(titles[0]) >= NEAR_PREFIX and artists:
            expression = new(
                [*(_fts(a) for a in artists if a in known), f'"{titles[0][:NEAR_PREFIX]}"*']
            )
            if expression:
                yield expression
        if artists and len(artists[0]) >= NEAR_PREFIX and titles:
            expression = new(
                [*(_fts(t) for t in titles if t in known), f'"{artists[0][:NEAR_PREFIX]}"*']
            )
            if expression:
                yield expression

    def _corrections(self, connection: apsw.Connection, term: str) -> list[str]:
        """Terms of the index within one or two edits of `term`, sharing its first characters."""
        mark = ARTIST_MARK if term.startswith(ARTIST_MARK) else ""
        word = term[len(mark) :]
        if len(word) < 3:
            return []
        allowed = 1 if len(word) < 8 else 2
        # a misspelling after the 3rd character, then after the 2nd (a separate range: in
        # a large vocabulary the 2-character one is cut by its limit before reaching it)
        candidates = self.reader.near(connection, mark + word[:2])
        if len(word) > 4:
            candidates += self.reader.near(connection, mark + word[:NEAR_PREFIX])
        close = [
            (OSA.distance(word, found[len(mark) :], score_cutoff=allowed), found)
            for found in dict.fromkeys(candidates)
            if found != term
        ]
        close = [(distance, found) for distance, found in close if distance <= allowed]
        close.sort()
        return [found for _distance, found in close[:MAX_CORRECTIONS]]
