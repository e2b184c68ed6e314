"""Names handed to FTS5 unfolded give the index the same terms as folded ones."""

from __future__ import annotations

import random
import string

import apsw

from snapshot_api.layout import SEARCH_SCHEMA_FILE, schema_sql
from snapshot_api.search.index import RANKINGS, SearchKind
from snapshot_api.search.text import ALBUM_MARK, ARTIST_MARK, name_terms_text, terms_text

ALPHABET = string.ascii_letters + string.digits + string.punctuation + " \t\r\x00\x7f"


def _names() -> list[bytes]:
    chosen = random.Random(20261203)
    names = [chr(code).encode() for code in range(128)]
    names += [
        "".join(chosen.choice(ALPHABET) for _ in range(chosen.randint(1, 30))).encode()
        for _ in range(3000)
    ]
    names += [b"Don't Stop Me Now - Remastered 2011", b"AC/DC", b"snake_case", b"two\nlines"]
    return names


def _index(texts: list[str]) -> dict[str, list[int]]:
    """Each term of an FTS5 table made with the index's own schema, with its rows."""
    connection = apsw.Connection(":memory:")
    connection.execute(schema_sql(SEARCH_SCHEMA_FILE))
    table = RANKINGS[SearchKind.TRACK].words_table
    connection.executemany(
        f"INSERT INTO {table} (rowid, words) VALUES (?, ?)", list(enumerate(texts, start=1))
    )
    connection.execute(f"CREATE VIRTUAL TABLE temp.vocabulary USING fts5vocab(main, {table}, row)")
    terms = [str(row[0]) for row in connection.execute("SELECT term FROM temp.vocabulary")]
    return {
        term: [
            int(row[0])
            for row in connection.execute(
                f"SELECT rowid FROM {table} WHERE {table} MATCH ?", ('"' + term + '"',)
            )
        ]
        for term in terms
    }


def test_ascii_names_given_as_they_are_index_the_terms_of_the_folding_rule() -> None:
    names = _names()
    given = [name_terms_text(name) for name in names]
    folded = [terms_text(name.decode()) for name in names]
    unfolded = sum(g == n.decode() != f for g, f, n in zip(given, folded, names, strict=True))
    assert unfolded > 1000, "most of these names must reach FTS5 unfolded"
    index = _index(given)
    assert index == _index(folded)
    assert len(index) > 1000


def test_other_names_are_folded() -> None:
    for raw, mark in [
        ("Beyoncé".encode(), ""),
        ("ＡＢＣ Straße".encode(), ""),
        ("恋するフォーチュンクッキー".encode(), ""),
        (b"bad \xff bytes", ""),
        (b"Plain Album", ALBUM_MARK),
        (b"The Artist\nOther One", ARTIST_MARK),
        (b"snake_case", ""),
    ]:
        assert name_terms_text(raw, mark) == terms_text(raw.decode(errors="replace"), mark)
    assert name_terms_text(b"!!! ---") == ""
