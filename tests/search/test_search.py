"""Search results against the plain-Python reference, on the shared synthetic snapshot."""

from __future__ import annotations

import collections
import itertools
import sqlite3
import unicodedata
from pathlib import Path

import pytest

from snapshot_api import Snapshot
from snapshot_api.errors import InvalidParameter
from snapshot_api.layout import SEARCH_NAME
from snapshot_api.search import query
from snapshot_api.search.text import ALBUM_MARK, ARTIST_MARK
from snapshot_api.verify.checks import full_scans
from tests.support.reference import Reference
from tests.support.search_reference import SearchReference, no_space, words


@pytest.fixture(scope="module")
def reference(built_snapshot: Path) -> SearchReference:
    return SearchReference(built_snapshot)


def ids(documents: list[dict[str, object]]) -> list[object]:
    return [document["id"] for document in documents]


def search(snap: Snapshot, kind: str, q: str | None, **options: object) -> list[object]:
    method = {
        "track": snap.search_tracks,
        "album": snap.search_albums,
        "artist": snap.search_artists,
    }[kind]
    return ids(method(q, **options))  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["track", "album", "artist"])
def test_single_common_and_rare_words(
    snap: Snapshot, reference: SearchReference, kind: str
) -> None:
    common = reference.common_words(kind, 400)
    chosen = common[:8] + common[-8:]
    assert chosen
    nonempty = 0
    for word in chosen:
        expected = reference.search(kind, word, limit=50)
        nonempty += bool(expected)
        assert search(snap, kind, word, limit=50) == expected, word
    assert nonempty == len(chosen)  # every word is in some name


def test_common_words_fill_the_page_most_popular_first(
    snap: Snapshot, reference: SearchReference
) -> None:
    word = reference.common_words("track", 1)[0]
    found = snap.search_tracks(word, limit=50)
    assert len(found) == 50
    popularity = [int(track.get("popularity", 0)) for track in found]  # type: ignore[call-overload]
    assert popularity == sorted(popularity, reverse=True)
    assert ids(found) == reference.search("track", word, limit=50)


def test_several_words(snap: Snapshot, reference: SearchReference) -> None:
    common = reference.common_words("track", 12)
    checked = 0
    for first, second in itertools.pairwise(common):
        query = f"{first} {second}"
        expected = reference.search("track", query, limit=50)
        checked += bool(expected)
        assert search(snap, "track", query, limit=50) == expected, query
    assert checked >= 3


def test_prefixes(snap: Snapshot, reference: SearchReference) -> None:
    checked = 0
    for word in reference.common_words("track", 60):
        if len(word) < 4 or not word.isascii():
            continue
        for prefix in (word[:3], word[:4]):
            expected = reference.search("track", prefix + "*", limit=50)
            assert search(snap, "track", prefix + "*", limit=50) == expected, prefix
            checked += 1
    assert checked >= 10
    assert search(snap, "artist", "lov*", limit=50) == reference.search("artist", "lov*", limit=50)


@pytest.mark.parametrize("expansion", [40, 1])
def test_long_prefixes_expanded_or_checked(
    snap: Snapshot, reference: SearchReference, monkeypatch: pytest.MonkeyPatch, expansion: int
) -> None:
    """Prefixes beyond the 3-character prefix index: an OR of their terms, or (when they
    have many) the 3-character prefix with each candidate's name checked."""
    monkeypatch.setattr(query, "MAX_EXPANSION", expansion)
    checked = 0
    for word in reference.common_words("track", 200):
        if len(word) < 6 or not word.isascii():
            continue
        for prefix in (word[:4], word[:5], word):
            expected = reference.search("track", prefix + "*", limit=50)
            assert search(snap, "track", prefix + "*", limit=50) == expected, prefix
            checked += 1
        artist = reference.search("track", None, artist=word[:4] + "*", limit=50)
        assert search(snap, "track", None, artist=word[:4] + "*", limit=50) == artist
    assert checked >= 15
    assert search(snap, "track", "zzzzzz*") == []


def test_filters(snap: Snapshot, reference: SearchReference, built_snapshot: Path) -> None:
    plain = Reference(built_snapshot)
    try:
        track_id = snap.search_tracks(reference.common_words("track", 1)[0], limit=1)[0]["id"]
        track = plain.track(
            plain.db.execute("SELECT rowid FROM tracks WHERE id = ?", (track_id,)).fetchone()[0]
        )  # type: ignore[arg-type]
    finally:
        plain.close()
    assert track is not None
    artist_words = words(track["artists"][0]["name"])
    album_words = words(track["album"]["name"])
    title = track["name"]
    cases = [
        ("track", title, {"artist": artist_words[0]}),
        ("track", None, {"artist": " ".join(artist_words)}),
        ("track", None, {"album": album_words[0]}),
        ("track", words(title)[0], {"artist": artist_words[-1], "album": album_words[-1]}),
        ("album", None, {"artist": artist_words[0]}),
    ]
    for kind, q, options in cases:
        expected = reference.search(kind, q, limit=50, **options)  # type: ignore[arg-type]
        assert expected, (kind, q, options)
        assert search(snap, kind, q, limit=50, **options) == expected, (kind, q, options)
    assert track_id in search(snap, "track", title, artist=artist_words[0])


def test_paging(snap: Snapshot, reference: SearchReference) -> None:
    word = reference.common_words("track", 1)[0]
    full = reference.search("track", word, limit=200)
    assert len(full) > 60
    assert search(snap, "track", word, limit=10, offset=0) == full[:10]
    assert search(snap, "track", word, limit=10, offset=7) == full[7:17]
    assert search(snap, "track", word, limit=50, offset=50) == full[50:100]
    assert search(snap, "track", word, limit=500) == full[:50]  # above 50 reads as 50
    assert search(snap, "track", word, offset=1000) == full[1000:1020]


def test_case_diacritics_and_width_never_matter(snap: Snapshot, reference: SearchReference) -> None:
    accented = next(
        word
        for word in reference.common_words("track", 3000)
        if word != unicodedata.normalize("NFD", word) and word.isalpha()
    )
    base = words(accented)[0]
    stripped = "".join(
        c for c in unicodedata.normalize("NFD", base) if unicodedata.category(c) != "Mn"
    )
    expected = search(snap, "track", base, limit=50)
    assert expected
    for variant in (stripped, stripped.upper(), base.title(), unicodedata.normalize("NFD", base)):
        assert search(snap, "track", variant, limit=50) == expected, variant
    latin = reference.common_words("track", 1)[0]
    wide = "".join(chr(ord(c) + 0xFEE0) for c in latin.upper())  # ＬＯＶＥ
    assert search(snap, "track", wide, limit=50) == search(snap, "track", latin, limit=50)


def test_runs_without_spaces(snap: Snapshot, reference: SearchReference) -> None:
    runs = sorted(
        {
            word
            for rows in (reference.rows["track"],)
            for row in rows
            for word in row.name
            if no_space(word) and len(word) >= 4
        }
    )
    assert len(runs) >= 5
    checked = 0
    for run in runs[:: max(1, len(runs) // 15)]:
        for part in (run[1:3], run[1:4], run[:3], run):
            expected = reference.search("track", part, limit=50)
            assert expected, part
            assert search(snap, "track", part, limit=50) == expected, part
            checked += 1
    assert checked >= 20


def test_a_name_is_found_by_its_own_words(snap: Snapshot, reference: SearchReference) -> None:
    rows = [row for row in reference.rows["track"][::97] if row.name][:30]
    for row in rows:
        query = " ".join(row.name)
        assert row.id in search(snap, "track", query, limit=50), query
        assert search(snap, "track", query, limit=50) == reference.search("track", query, limit=50)


@pytest.mark.parametrize(
    ("options", "parameter"),
    [
        ({"q": ""}, "q"),
        ({"q": "!!! --- ..."}, "q"),
        ({"q": None}, "q"),
        ({"q": "love", "limit": 0}, "limit"),
        ({"q": "love", "limit": -3}, "limit"),
        ({"q": "love", "limit": "ten"}, "limit"),
        ({"q": "love", "limit": True}, "limit"),
        ({"q": "love", "offset": -1}, "offset"),
        ({"q": "love", "offset": 1001}, "offset"),
        ({"q": "love", "offset": 1.5}, "offset"),
        ({"q": "love", "limit": "\u00b3"}, "limit"),
        ({"q": "love", "offset": "\u0663"}, "offset"),
        ({"q": "lo*"}, "q"),
        ({"q": "love", "artist": "x*"}, "artist"),
        ({"q": 5}, "q"),
        ({"q": "love " * 200 + "x"}, "q"),
        ({"q": "love", "album": "a" * 1001}, "album"),
    ],
)
def test_bad_parameters(snap: Snapshot, options: dict[str, object], parameter: str) -> None:
    with pytest.raises(InvalidParameter) as raised:
        snap.search_tracks(**options)  # type: ignore[arg-type]
    assert raised.value.parameter == parameter
    assert str(raised.value)


def test_filters_a_kind_does_not_take(snap: Snapshot) -> None:
    with pytest.raises(InvalidParameter) as raised:
        snap.search_artists("love", artist="love")
    assert raised.value.parameter == "artist"
    with pytest.raises(InvalidParameter) as raised:
        snap.search_albums("love", album="love")
    assert raised.value.parameter == "album"


def test_json_variants_equal_the_documents(snap: Snapshot, reference: SearchReference) -> None:
    import orjson

    word = reference.common_words("album", 1)[0]
    assert orjson.loads(snap.search_albums_json(word, limit=5)) == snap.search_albums(word, limit=5)
    assert snap.search_tracks_json("zzzzqqqq") == b"[]"


def test_search_documents_equal_lookups(snap: Snapshot, reference: SearchReference) -> None:
    word = reference.common_words("track", 1)[0]
    found = snap.search_tracks(word, limit=10)
    looked_up = snap.tracks([str(track["id"]) for track in found])
    assert found == [looked_up[str(track["id"])] for track in found]
    artists = snap.search_artists(reference.common_words("artist", 1)[0], limit=10)
    assert artists == [snap.artists([a["id"]])[a["id"]] for a in artists]  # type: ignore[index]


def test_every_search_statement_reads_the_index_in_order(snap: Snapshot) -> None:
    plans = {name: plan for name, plan in snap.query_plans().items() if name.startswith("search")}
    assert len(plans) == 15
    for name, plan in plans.items():
        assert not full_scans(plan), (name, plan)
        assert not any("TEMP B-TREE FOR ORDER BY" in line for line in plan), (name, plan)
        if name.endswith("_documents"):
            continue
        if name.endswith("_terms"):
            assert plan == [plan[0]] and "PRIMARY KEY (term>? AND term<?)" in plan[0], plan
            continue
        assert plan[0].startswith("SCAN f VIRTUAL TABLE"), (name, plan)
        # the dump table is only reached by rowid (substring checks)
        for line in plan[1:]:
            assert "USING INTEGER PRIMARY KEY" in line, (name, plan)


def test_a_run_is_not_found_by_its_bigrams_apart(
    snap: Snapshot, reference: SearchReference
) -> None:
    """A name holding `ab` and `bc` but not `abc` is not an answer to `abc`."""
    queries = []
    for row in reference.rows["track"]:
        for word in row.name:
            if not no_space(word):
                continue
            for i in range(len(word) - 1):
                for j in range(i + 2, len(word) - 1):
                    query = word[i : i + 2] + word[j + 1]
                    if word[i + 1] == word[j] and query not in word and no_space(query):
                        queries.append((query, row.id))
    assert len(queries) >= 3
    for query, apart in queries[:20]:
        found = search(snap, "track", query, limit=50)
        assert apart not in found, query
        assert found == reference.search("track", query, limit=50), query


@pytest.mark.parametrize("kind", ["track", "album", "artist"])
def test_the_terms_tables_count_the_rows_holding_each_word(
    built_snapshot: Path, reference: SearchReference, kind: str
) -> None:
    """Matching leaves common words out of an AND by these counts (Latin words: one term
    each; artist and album words marked)."""
    counted: collections.Counter[str] = collections.Counter()
    for row in reference.rows[kind]:
        counted.update(
            {w for w in row.name if w.isascii()}
            | {ARTIST_MARK + w for w in row.artists if w.isascii()}
            | {ALBUM_MARK + w for w in row.album if w.isascii()}
        )
    index = sqlite3.connect(f"file:{built_snapshot / SEARCH_NAME}?mode=ro", uri=True)
    stored = {
        term: docs
        for term, docs in index.execute(f"SELECT term, docs FROM {kind}_terms")
        if term.isascii()
    }
    index.close()
    assert len(counted) > 100
    assert stored == dict(counted)
