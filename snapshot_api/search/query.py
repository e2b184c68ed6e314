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
  (`documents.by_rowid_sql`), in one statement, and are put back in index order.
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
from snapshot_api.search.index import RANKINGS, SCHEMA_ALIAS, Ranking, SearchKind
from snapshot_api.search.text import (
    ALBUM_MARK,
    ARTIST_MARK,
    ParsedQuery,
    QueryTerm,
    folded_name,
    is_no_space_run,
    parse_query,
)

FOLD_FUNCTION = "snapshot_search_fold"
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
    """Attach the search index read-only and register the substring check's fold function."""
    connection.execute(f"ATTACH DATABASE ? AS {SCHEMA_ALIAS}", (read_only_uri(search_file),))
    connection.create_scalar_function(FOLD_FUNCTION, _fold_sql, 1, deterministic=True)


def _fold_sql(*values: apsw.SQLiteValue) -> str:
    name = values[0] if values else None
    return folded_name(name) if isinstance(name, str) else ""


@dataclass(frozen=True, slots=True)
class Request:
    """A validated search: the MATCH expression, substring checks, page."""

    kind: SearchKind
    match: str
    checks: tuple[str, ...]
    limit: int
    offset: int


def _expression(parameter: str, parsed: ParsedQuery) -> list[str]:
    mark = _MARKS[parameter]
    return [_checked_prefix(parameter, term).fts5(mark) for term in parsed.terms]


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
    parts: list[str] = []
    checks: list[str] = []
    for name, text in texts.items():
        parsed = parse_query(text)
        parts.extend(_expression(name, parsed))
        if name == "q":
            checks.extend(parsed.substring_checks)
    if not parts:
        words = "q" if not FILTERS[kind] else "q, " + " or ".join(FILTERS[kind])
        raise InvalidParameter("q", f"{words} must hold at least one word (letters or digits)")
    return Request(
        kind, " AND ".join(parts), tuple(checks[:MAX_SUBSTRING_CHECKS]), page_limit, page_offset
    )


def match_sql(ranking: Ranking, checks: int) -> str:
    """The page of dump rowids; with `checks`, names are also checked for substrings."""
    key = f"(f.rowid & {ranking.mask})"
    table = f"{SCHEMA_ALIAS}.{ranking.words_table}"
    if not checks:
        return f"""SELECT {key} FROM {table} AS f WHERE f.{ranking.words_table} MATCH ?1
        ORDER BY f.rowid LIMIT ?2 OFFSET ?3"""
    alias = {"tracks": "t", "albums": "al", "artists": "ar"}[ranking.table]
    conditions = " AND ".join(
        f"instr({FOLD_FUNCTION}({alias}.name), ?{4 + number}) > 0" for number in range(checks)
    )
    return f"""SELECT {key} FROM {table} AS f
    CROSS JOIN {ranking.table} AS {alias} ON {alias}.rowid = {key}
    WHERE f.{ranking.words_table} MATCH ?1 AND {conditions}
    ORDER BY f.rowid LIMIT ?2 OFFSET ?3"""


class Searcher:
    """The statements of one snapshot's layout; `run` answers a `Request` on a connection."""

    def __init__(self, indexes: dict[str, str], *, track_files: bool) -> None:
        self.documents_sql = {
            kind: documents.by_rowid_sql(document_kind, indexes, track_files=track_files)
            for kind, document_kind in _DOCUMENT_KIND.items()
        }

    def rowids(self, connection: apsw.Connection, wanted: Request) -> list[int]:
        sql = match_sql(RANKINGS[wanted.kind], len(wanted.checks))
        bindings = (wanted.match, wanted.limit, wanted.offset, *wanted.checks)
        return [int(row[0]) for row in connection.execute(sql, bindings)]

    def documents_json(
        self, connection: apsw.Connection, kind: SearchKind, rowids: Sequence[int]
    ) -> list[str]:
        """The documents of `rowids`, in that order (one statement)."""
        if not rowids:
            return []
        binding = apsw.carray(array.array("q", rowids))
        found = {
            int(rowid): str(text)
            for rowid, text in connection.execute(self.documents_sql[kind], (binding,))
        }
        return [found[rowid] for rowid in rowids if rowid in found]

    def run_json(self, connection: apsw.Connection, wanted: Request) -> bytes:
        texts = self.documents_json(connection, wanted.kind, self.rowids(connection, wanted))
        return ("[" + ",".join(texts) + "]").encode()

    def sample_plans(self) -> dict[str, tuple[str, tuple[object, ...]]]:
        """Every search statement with representative bindings, for EXPLAIN QUERY PLAN."""
        plans: dict[str, tuple[str, tuple[object, ...]]] = {}
        rowids = apsw.carray(array.array("q", [1, 2]))
        for kind, ranking in RANKINGS.items():
            plans[f"search_{kind.value}s"] = (match_sql(ranking, 0), ('"love"', 20, 0))
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
