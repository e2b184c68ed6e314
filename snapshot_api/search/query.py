"""Answer a search from the index: one MATCH for the page, one statement for its documents.

- Every word of `q`, `artist=` and `album=` becomes a required term of one
  FTS5 MATCH (filters are terms with their mark, see `snapshot_api.search.text`),
  read in ranking-key order with `ORDER BY rowid LIMIT ? OFFSET ?`: FTS5
  consumes the ORDER BY and stops after the page, so a query matching millions
  of names costs what a rare one does.
- A no-space run of three or more characters is required as bigrams by the
  MATCH and then checked as a substring of the folded name in the dump
  (`snapshot_search_fold`, a function registered on each connection), so
  bigrams found apart do not count as the run.
- The page's documents come from the lookups' own SQL by rowid
  (`documents.by_rowid_sql`); the caller puts them back in index order (and in
  `pread` mode reads them in parts on several threads, `Snapshot`).
"""

from __future__ import annotations

import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import apsw

from snapshot_api import documents
from snapshot_api.errors import InvalidParameter
from snapshot_api.files.sqlite import read_only_uri
from snapshot_api.identifiers import Kind
from snapshot_api.search import params
from snapshot_api.search.index import (
    INDEXED_PREFIX,
    RANKINGS,
    SCHEMA_ALIAS,
    Ranking,
    SearchKind,
)
from snapshot_api.search.text import (
    ALBUM_MARK,
    ARTIST_MARK,
    QueryTerm,
    folded_name,
    is_no_space_run,
    parse_query,
    terms,
)

FOLD_FUNCTION = "snapshot_search_fold"
PREFIX_FUNCTION = "snapshot_search_prefix"
MAX_EXPANSION = 40
"""A prefix longer than the prefix index's 3 characters is answered as an OR of the index's
terms that start with it when there are at most this many (FTS5 merges OR branches lazily
in rowid order, so the page still stops early). With more, the prefix is common: its first
3 characters are read from the prefix index in ranking order and each candidate's name is
checked in the dump, which rejects few rows exactly because the longer prefix is common."""
MAX_SUBSTRING_CHECKS = 4
"""No-space runs checked as substrings per query (more are still required as bigrams)."""

FILTERS: dict[SearchKind, tuple[str, ...]] = {
    SearchKind.TRACK: ("artist", "album"),
    SearchKind.ALBUM: ("artist",),
    SearchKind.ARTIST: (),
}
"""Which filters each kind takes."""

_MARKS = {"q": "", "artist": ARTIST_MARK, "album": ALBUM_MARK}
_DOCUMENT_KIND = {
    SearchKind.TRACK: Kind.TRACK,
    SearchKind.ALBUM: Kind.ALBUM,
    SearchKind.ARTIST: Kind.ARTIST,
}


def prepare_connection(connection: apsw.Connection, search_file: Path) -> None:
    """Attach the search index read-only and register the name checks' functions."""
    connection.execute(f"ATTACH DATABASE ? AS {SCHEMA_ALIAS}", (read_only_uri(search_file),))
    connection.create_scalar_function(FOLD_FUNCTION, _fold_sql, 1, deterministic=True)
    connection.create_scalar_function(PREFIX_FUNCTION, _prefix_sql, 2, deterministic=True)


def _fold_sql(*values: apsw.SQLiteValue) -> str:
    name = values[0] if values else None
    return folded_name(name) if isinstance(name, str) else ""


def _prefix_sql(*values: apsw.SQLiteValue) -> int:
    name, prefix = values[0], values[1]
    if not isinstance(name, str) or not isinstance(prefix, str):
        return 0
    return int(any(term.startswith(prefix) for term in terms(name)))


@dataclass(frozen=True, slots=True)
class Request:
    """A validated search: (mark, term) pairs all required, substring checks, page."""

    kind: SearchKind
    terms: tuple[tuple[str, QueryTerm], ...]
    substrings: tuple[str, ...]
    limit: int
    offset: int


def _checked_prefix(parameter: str, term: QueryTerm) -> QueryTerm:
    if not term.prefix:
        return term
    if len(term.text) >= params.MIN_PREFIX:
        return term
    if _is_bigram(term.text):
        # every term of a no-space script is at most two characters: the prefix is the term
        return QueryTerm(term.text)
    raise InvalidParameter(
        parameter,
        f"{parameter}: a prefix needs at least {params.MIN_PREFIX} characters before '*' "
        f"({term.text!r}* is too short)",
    )


def _is_bigram(text: str) -> bool:
    return len(text) == 2 and is_no_space_run(text)


def request(
    kind: SearchKind,
    q: object,
    *,
    artist: object = None,
    album: object = None,
    limit: object = None,
    offset: object = None,
) -> Request:
    """Validate a search; raises `InvalidParameter` naming the first bad parameter."""
    texts = {"q": params.text_of("q", q)}
    for name, value in (("artist", artist), ("album", album)):
        text = params.text_of(name, value)
        if text is not None and name not in FILTERS[kind]:
            raise InvalidParameter(name, f"{kind.value} search takes no {name}= filter")
        texts[name] = text
    page_limit = params.limit_of(limit)
    page_offset = params.offset_of(offset)
    required: list[tuple[str, QueryTerm]] = []
    substrings: list[str] = []
    for name, text in texts.items():
        parsed = parse_query(text)
        required += [(_MARKS[name], _checked_prefix(name, term)) for term in parsed.terms]
        if name == "q":
            substrings.extend(parsed.substring_checks)
    if not required:
        words = "q" if not FILTERS[kind] else "q, " + " or ".join(FILTERS[kind])
        raise InvalidParameter("q", f"{words} must hold at least one word (letters or digits)")
    return Request(
        kind,
        tuple(dict.fromkeys(required)),
        tuple(substrings[:MAX_SUBSTRING_CHECKS]),
        page_limit,
        page_offset,
    )


@dataclass(frozen=True, slots=True)
class Compiled:
    """What one statement runs: the MATCH text and the checks on the dump's names."""

    match: str
    substrings: tuple[str, ...]
    prefixes: tuple[str, ...]


def match_sql(ranking: Ranking, substrings: int, prefixes: int = 0) -> str:
    """The page of dump rowids; with checks, names are also read from the dump and checked."""
    key = f"(f.rowid & {ranking.mask})"
    table = f"{SCHEMA_ALIAS}.{ranking.words_table}"
    if not substrings and not prefixes:
        return f"""SELECT {key} FROM {table} AS f WHERE f.{ranking.words_table} MATCH ?1
        ORDER BY f.rowid LIMIT ?2 OFFSET ?3"""
    alias = {"tracks": "t", "albums": "al", "artists": "ar"}[ranking.table]
    conditions = [
        f"instr({FOLD_FUNCTION}({alias}.name), ?{4 + number}) > 0" for number in range(substrings)
    ] + [
        f"{PREFIX_FUNCTION}({alias}.name, ?{4 + substrings + number})" for number in range(prefixes)
    ]
    return f"""SELECT {key} FROM {table} AS f
    CROSS JOIN {ranking.table} AS {alias} ON {alias}.rowid = {key}
    WHERE f.{ranking.words_table} MATCH ?1 AND {" AND ".join(conditions)}
    ORDER BY f.rowid LIMIT ?2 OFFSET ?3"""


def expansion_sql(ranking: Ranking) -> str:
    """Terms of the index starting with a prefix (a range of the terms table)."""
    return f"""SELECT term FROM {SCHEMA_ALIAS}.{ranking.terms_table}
    WHERE term >= ?1 AND term < ?2 ORDER BY term LIMIT {MAX_EXPANSION + 1}"""


def _after_prefix(prefix: str) -> str:
    """The smallest string greater than every string starting with `prefix`."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


class Searcher:
    """The statements of one snapshot's layout; `run` answers a `Request` on a connection."""

    def __init__(self, indexes: dict[str, str], *, track_files: bool) -> None:
        self.documents_sql = {
            kind: documents.by_rowid_sql(document_kind, indexes, track_files=track_files)
            for kind, document_kind in _DOCUMENT_KIND.items()
        }
        self.expansion_sql = {kind: expansion_sql(ranking) for kind, ranking in RANKINGS.items()}

    def compile(self, connection: apsw.Connection, wanted: Request) -> Compiled | None:
        """The statement's MATCH and checks; None when a prefix matches no term at all."""
        parts: list[str] = []
        prefixes: list[str] = []
        for mark, term in wanted.terms:
            text = mark + term.text
            if not term.prefix or len(text) <= INDEXED_PREFIX:
                parts.append(term.fts5(mark))
                continue
            found = [
                str(row[0])
                for row in connection.execute(
                    self.expansion_sql[wanted.kind], (text, _after_prefix(text))
                )
            ]
            if not found:
                return None
            if len(found) <= MAX_EXPANSION:
                parts.append("(" + " OR ".join(QueryTerm(t).fts5() for t in found) + ")")
            elif not mark:
                parts.append(QueryTerm(text[:INDEXED_PREFIX], prefix=True).fts5())
                prefixes.append(term.text)
            else:
                parts.append(term.fts5(mark))  # filters: FTS5 merges the prefix's terms
        return Compiled(" AND ".join(parts), wanted.substrings, tuple(prefixes))

    def rowids(self, connection: apsw.Connection, wanted: Request) -> list[int]:
        compiled = self.compile(connection, wanted)
        if compiled is None:
            return []
        sql = match_sql(RANKINGS[wanted.kind], len(compiled.substrings), len(compiled.prefixes))
        bindings = (
            compiled.match,
            wanted.limit,
            wanted.offset,
            *compiled.substrings,
            *compiled.prefixes,
        )
        return [int(row[0]) for row in connection.execute(sql, bindings)]

    def documents(
        self, connection: apsw.Connection, kind: SearchKind, rowids: Sequence[int]
    ) -> dict[int, bytes]:
        """The documents of those `rowids` that exist, by rowid (one statement)."""
        if not rowids:
            return {}
        binding = apsw.carray(array.array("q", rowids))
        return {
            int(rowid): documents.utf8(text)
            for rowid, text in connection.execute(self.documents_sql[kind], (binding,))
        }

    def sample_plans(self) -> dict[str, tuple[str, tuple[object, ...]]]:
        """Every search statement with representative bindings, for EXPLAIN QUERY PLAN."""
        plans: dict[str, tuple[str, tuple[object, ...]]] = {}
        rowids = apsw.carray(array.array("q", [1, 2]))
        for kind, ranking in RANKINGS.items():
            plans[f"search_{kind.value}s"] = (match_sql(ranking, 0), ('"love"', 20, 0))
            plans[f"search_{kind.value}s_prefix"] = (
                match_sql(ranking, 0, 1),
                ('"lov"*', 20, 0, "love"),
            )
            plans[f"search_{kind.value}s_terms"] = (self.expansion_sql[kind], ("love", "lovf"))
            plans[f"search_{kind.value}s_substring"] = (
                match_sql(ranking, 1),
                ('"恋す" AND "する"', 20, 0, "恋する"),
            )
            plans[f"search_{kind.value}s_documents"] = (self.documents_sql[kind], (rowids,))
        return plans


PROBE_ROWS = 50


def probe_sql(ranking: Ranking) -> str:
    """The best-ranked rows of a kind (highest value, lowest rowids): value, name, id."""
    column, table = ranking.column, ranking.table
    return f"""SELECT {column}, name, id FROM {table}
    WHERE {column} = (SELECT max({column}) FROM {table}) ORDER BY rowid LIMIT {PROBE_ROWS}"""


def probe(connection: apsw.Connection, kind: SearchKind) -> tuple[str, str] | None:
    """(a word, the id that searching it must return first), or None when nothing fits.

    The first of the best-ranked rows whose name has a word is, by the ranking
    key, the first match of that word: rows ranked before it have no words.
    (Values above the ranking's top share a bucket with others: no probe then.)
    """
    ranking = RANKINGS[kind]
    for value, name, spotify_id in connection.execute(probe_sql(ranking)):
        if not isinstance(value, int) or value > ranking.top:
            return None
        found = parse_query(name if isinstance(name, str) else None).terms
        if found:
            return found[0].text, str(spotify_id)
    return None
