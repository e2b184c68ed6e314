"""Matching in the library, on the shared synthetic snapshot: cases picked from its rows."""

from __future__ import annotations

import collections
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from snapshot_api import Snapshot
from snapshot_api.errors import InvalidParameter, SearchUnavailable
from snapshot_api.match import matcher as matcher_module
from snapshot_api.match.matcher import Matcher, Scored
from snapshot_api.match.params import MatchRequest
from snapshot_api.search.candidates import CandidateReader
from snapshot_api.verify.checks import full_scans
from tests.support.match_rows import MatchRows, TrackRow, is_latin_words, plain

CASES = 40


@pytest.fixture(scope="module")
def rows(built_snapshot: Path) -> MatchRows:
    return MatchRows(built_snapshot)


def scores_of(found: list[dict[str, Any]], track: TrackRow) -> list[float]:
    return [candidate["score"] for candidate in found if candidate["track"]["id"] == track.id]


def found_as(found: list[dict[str, Any]], track: TrackRow) -> float:
    """The track's score in the answer; fails when it is absent."""
    scores = scores_of(found, track)
    assert scores, (track, [(c["score"], c["track"]["name"]) for c in found])
    return scores[0]


def assert_ordered(found: list[dict[str, Any]]) -> None:
    """Best first; equal scores most popular first."""
    keys = [(-c["score"], -c["track"].get("popularity", 0)) for c in found]
    assert keys == sorted(keys)
    assert all(0.3 <= c["score"] <= 1.0 for c in found)


def top_is_recording(found: list[dict[str, Any]], track: TrackRow) -> bool:
    """The first candidate is the track, or one of equal title, credits and duration."""
    first = found[0]["track"] if found else None
    return bool(
        first
        and first["name"] == track.title
        and tuple(a["name"] for a in first["artists"]) == track.artists
        and first.get("duration_ms") == track.duration_ms
    )


def typo(text: str) -> str:
    """One letter of the longest word replaced, in its middle (never the first three)."""
    words = text.split(" ")
    longest = max(range(len(words)), key=lambda i: len(words[i]))
    word = words[longest]
    at = max(3, len(word) // 2)
    if at >= len(word):
        at = len(word) - 1
    replaced = "q" if word[at].lower() != "q" else "z"
    words[longest] = word[:at] + replaced + word[at + 1 :]
    return " ".join(words)


def test_exact_title_artist_and_duration_score_at_least_095(
    snap: Snapshot, rows: MatchRows
) -> None:
    cases = rows.plain_cases(CASES)
    assert len(cases) == CASES
    for track in cases:
        found = snap.match_track(
            title=track.title, artist=track.artists[0], duration_ms=track.duration_ms + 1500
        )
        assert found_as(found, track) >= 0.95 or top_is_recording(found, track)
        assert found[0]["score"] >= 0.95
        assert_ordered(found)
        assert set(found[0]["components"]) == {"title", "artist", "duration"}


def test_case_and_diacritics_do_not_matter(snap: Snapshot, rows: MatchRows) -> None:
    accented = [
        t
        for t in rows.tracks
        if t.artists and t.duration_ms and plain(t.title) != t.title.lower() and "(" not in t.title
    ]
    assert len(accented) >= 10
    for track in accented[:20]:
        found = snap.match_track(
            title=plain(track.title).upper(),
            artist=plain(track.artists[0]),
            duration_ms=track.duration_ms,
            limit=20,
        )
        assert found_as(found, track) >= 0.95


@pytest.mark.parametrize("field", ["title", "artist"])
def test_one_typo_still_finds_the_track_above_08(
    snap: Snapshot, rows: MatchRows, field: str
) -> None:
    cases = [t for t in rows.plain_cases(CASES * 2) if len(max(t.title.split(), key=len)) >= 5]
    cases = [t for t in cases if len(max(t.artists[0].split(), key=len)) >= 5][:CASES]
    assert len(cases) >= 20
    top = 0
    for track in cases:
        title = typo(track.title) if field == "title" else track.title
        artist = typo(track.artists[0]) if field == "artist" else track.artists[0]
        assert (title, artist) != (track.title, track.artists[0])
        found = snap.match_track(title=title, artist=artist, duration_ms=track.duration_ms)
        assert found_as(found, track) > 0.8
        top += top_is_recording(found, track)
    assert top == len(cases)


def test_feat_suffixes_are_set_aside(snap: Snapshot, rows: MatchRows) -> None:
    featuring = [  # the credit alone: no version suffix after it (a remix is another recording)
        t
        for t in rows.tracks
        if " (feat. " in t.title and t.title.endswith(")") and len(t.artists) > 1
    ]
    assert len(featuring) >= 5
    for track in featuring[:15]:
        bare = track.title.split(" (feat. ")[0]
        for title, artist in (
            (bare, track.artists[0]),  # the file lacks the credit in its title
            (bare, f"{track.artists[0]} feat. {track.artists[-1]}"),  # in its artist instead
            (track.title, track.artists[0]),
        ):
            found = snap.match_track(
                title=title, artist=artist, duration_ms=track.duration_ms, limit=20
            )
            assert found_as(found, track) >= 0.95, (title, artist)
    # a file whose title names a featured artist the dump does not
    track = rows.plain_cases(1)[0]
    found = snap.match_track(
        title=f"{track.title} (feat. Someone Else)",
        artist=track.artists[0],
        duration_ms=track.duration_ms,
    )
    assert found_as(found, track) >= 0.95


def test_remaster_suffixes_are_set_aside(snap: Snapshot, rows: MatchRows) -> None:
    remastered = [t for t in rows.tracks if "Remastered" in t.title and t.artists]
    assert len(remastered) >= 3
    for track in remastered:
        bare = track.title.replace(" - ", " (").split(" (Remastered")[0]
        found = snap.match_track(
            title=bare, artist=track.artists[0], duration_ms=track.duration_ms, limit=20
        )
        assert found_as(found, track) >= 0.95, track.title
    track = rows.plain_cases(1)[0]
    for suffix in (" - Remastered 2009", " [Remastered]", " - 2011 Remaster"):
        found = snap.match_track(
            title=track.title + suffix, artist=track.artists[0], duration_ms=track.duration_ms
        )
        assert found_as(found, track) >= 0.95, suffix


def test_a_wrong_duration_scores_below_06(snap: Snapshot, rows: MatchRows) -> None:
    for track in rows.plain_cases(10):
        for off in (31_000, 45_000, -45_000):
            found = snap.match_track(
                title=track.title, artist=track.artists[0], duration_ms=track.duration_ms + off
            )
            assert all(score < 0.6 for score in scores_of(found, track)), off
            assert scores_of(found, track), off  # still shown, with the reason
            assert [c["components"]["duration"] for c in found if c["track"]["id"] == track.id]
        found = snap.match_track(
            title=track.title, artist=track.artists[0], duration_ms=track.duration_ms - 2000
        )
        assert found_as(found, track) >= 0.95


def test_another_artist_scores_below_06(snap: Snapshot, rows: MatchRows) -> None:
    cases = rows.plain_cases(10)
    artists = [t.artists[0] for t in rows.tracks if t.artists and is_latin_words(t.artists[0])]
    for track in cases:
        own = set(plain(" ".join(track.artists)).split())
        other = next(
            a for a in artists if not own & set(plain(a).split()) and not set(a) >= set(own)
        )
        found = snap.match_track(title=track.title, artist=other, duration_ms=track.duration_ms)
        assert all(score < 0.6 for score in scores_of(found, track))


def test_nothing_close_is_an_empty_list(snap: Snapshot, rows: MatchRows) -> None:
    title, artist = "Qxzvwk Plvmmq", "Zzxqj Wvqkx"
    assert not set(plain(title + " " + artist).split()) & rows.words
    assert snap.match_track(title=title, artist=artist) == []
    assert snap.match_track(title=title, artist=artist, duration_ms=200_000) == []
    # another song of a real artist, even of the same length, is not close either
    track = rows.plain_cases(1)[0]
    found = snap.match_track(title=title, artist=track.artists[0], duration_ms=track.duration_ms)
    assert found == []


def test_a_common_title_finds_the_given_artists_first(snap: Snapshot, rows: MatchRows) -> None:
    counts = collections.Counter(t.title for t in rows.tracks if is_latin_words(t.title))
    title, shared_by = counts.most_common(1)[0]
    assert shared_by >= 8
    holders = [t for t in rows.tracks if t.title == title and t.artists]
    least_popular = min(holders, key=lambda t: (t.popularity, -t.rowid))
    for track in [*holders, least_popular]:
        found = snap.match_track(
            title=title, artist=track.artists[0], duration_ms=track.duration_ms, limit=1
        )
        assert len(found) == 1
        first = found[0]["track"]
        assert track.artists[0] in [a["name"] for a in first["artists"]]
        assert first["name"] == title


def test_the_first_query_holds_title_and_artist_words(snap: Snapshot, rows: MatchRows) -> None:
    """A title shared by many tracks is narrowed to the artist's before the row limit."""
    track = rows.plain_cases(1)[0]
    matcher = Matcher(CandidateReader({"track_artists.track_rowid": "x"}))
    artist = "_" + plain(track.artists[0])
    first = next(matcher._queries(snap._connection(), ["intro"], [artist], {}, None))
    assert first == f'"intro" AND "{artist}"'


def traced_match(
    snap: Snapshot, track: TrackRow, title: str | None = None
) -> tuple[list[Scored], list[str]]:
    """The candidates of a match, and the MATCH expressions it ran, in order."""
    connection = snap._connection()
    matcher = snap._matcher
    expressions: list[str] = []

    def trace(_cursor: object, sql: str, bindings: object) -> bool:
        if sql == matcher.reader.match_sql and isinstance(bindings, tuple):
            expressions.append(str(bindings[0]))
        return True

    request = MatchRequest(title or track.title, track.artists[0], None, track.duration_ms, 5)
    connection.exec_trace = trace
    try:
        return matcher.run(connection, request), expressions
    finally:
        connection.exec_trace = None


def test_the_rarest_words_are_asked_alone_and_find_the_same(
    snap: Snapshot, rows: MatchRows, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three words or more: when the rarest select few tracks, the query of every word is
    not run, and the best candidate is the one that query would have given."""
    cases = [
        t for t in rows.plain_cases(400) if len(t.title.split()) + len(t.artists[0].split()) >= 3
    ]
    assert len(cases) >= 20
    narrowed = []
    for track in cases:
        words = [f'"{w}"' for w in plain(track.title).split()]
        words += [f'"_{w}"' for w in plain(track.artists[0]).split()]
        every_word = " AND ".join(dict.fromkeys(words))
        found, expressions = traced_match(snap, track)
        with monkeypatch.context() as never:
            never.setattr(matcher_module, "NARROW_SHARE", float("inf"))
            unnarrowed, asked = traced_match(snap, track)
        assert asked[0] == every_word
        assert found[0].row.rowid == unnarrowed[0].row.rowid, track
        assert found[0].score == unnarrowed[0].score
        if every_word not in expressions:
            narrowed.append(track)
            assert expressions[0].count(" AND ") < every_word.count(" AND ")
    assert len(narrowed) >= len(cases) // 4, (len(narrowed), len(cases))


def test_equal_scores_are_ordered_by_popularity(snap: Snapshot, rows: MatchRows) -> None:
    groups = []
    seen: set[tuple[object, ...]] = set()
    for track in rows.tracks:
        key = (track.title, track.artists, track.duration_ms)
        if key in seen or not track.artists or not track.duration_ms:
            continue
        seen.add(key)
        same = rows.same_recording(track)
        if len(same) >= 2 and len({t.popularity for t in same}) >= 2:
            groups.append(same)
    assert len(groups) >= 2
    for same in groups:
        found = snap.match_track(
            title=same[0].title,
            artist=same[0].artists[0],
            duration_ms=same[0].duration_ms,
            limit=20,
        )
        ids = [c["track"]["id"] for c in found]
        assert [i for i in ids if i in {t.id for t in same}] == [t.id for t in same]
        assert len({scores_of(found, t)[0] for t in same}) == 1
        assert_ordered(found)
        # the album given picks its own copy first
        least = same[-1]
        found = snap.match_track(
            title=least.title,
            artist=least.artists[0],
            album=least.album,
            duration_ms=least.duration_ms,
            limit=20,
        )
        if sum(t.album == least.album for t in same) == 1:
            assert found[0]["track"]["id"] == least.id
            assert found[0]["components"]["album"] == 1.0


def test_match_tracks_answers_each_item_in_order(snap: Snapshot, rows: MatchRows) -> None:
    cases = rows.plain_cases(6)
    items: list[dict[str, Any]] = [
        {"title": t.title, "artist": t.artists[0], "duration_ms": t.duration_ms} for t in cases
    ]
    items.insert(2, {"title": "Qxzvwk Plvmmq", "artist": "Zzxqj Wvqkx"})
    answers = snap.match_tracks(items, limit=3)
    assert len(answers) == len(items)
    assert answers[2] == []
    for item, answer in zip(items, answers, strict=True):
        assert answer == snap.match_track(**item, limit=3)


def test_a_title_and_artist_without_a_word_find_nothing(snap: Snapshot) -> None:
    assert snap.match_track(title="...", artist="!!") == []
    assert snap.match_track(title="   ", artist="—", album="  ") == []


@pytest.mark.parametrize(
    ("arguments", "parameter"),
    [
        ({"title": None, "artist": "x"}, "title"),
        ({"title": "love", "artist": ""}, "artist"),
        ({"title": 3, "artist": "x"}, "title"),
        ({"title": "love", "artist": "x" * 1001}, "artist"),
        ({"title": "love", "artist": "x", "duration_ms": "long"}, "duration_ms"),
        ({"title": "love", "artist": "x", "duration_ms": 0}, "duration_ms"),
        ({"title": "love", "artist": "x", "duration_ms": -5}, "duration_ms"),
        ({"title": "love", "artist": "x", "duration_ms": True}, "duration_ms"),
        ({"title": "love", "artist": "x", "limit": 0}, "limit"),
        ({"title": "love", "artist": "x", "limit": "many"}, "limit"),
        ({"title": "love", "artist": "x", "album": 7}, "album"),
    ],
)
def test_bad_parameters_raise_naming_them(
    snap: Snapshot, arguments: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(InvalidParameter) as raised:
        snap.match_track(**arguments)
    assert raised.value.parameter == parameter
    assert parameter in str(raised.value)


def test_bad_items_raise_naming_the_item(snap: Snapshot) -> None:
    good = {"title": "love", "artist": "x"}
    for items, parameter in (
        ([good, "love"], "items[1]"),
        ([good, good, {"title": "love"}], "items[2].artist"),
        ([{**good, "duration": 3}], "items[0].duration"),
    ):
        with pytest.raises(InvalidParameter) as raised:
            snap.match_tracks(items)
        assert raised.value.parameter == parameter


def test_limit_is_capped_and_emoji_titles_are_compared(snap: Snapshot, rows: MatchRows) -> None:
    track = rows.plain_cases(1)[0]
    assert len(snap.match_track(title=track.title, artist=track.artists[0], limit=500)) <= 20
    emoji = [
        t
        for t in rows.tracks
        if t.artists
        and t.title
        and not any(unicodedata.category(c)[0] in "LN" for c in t.title)
        and is_latin_words(t.artists[0])
    ]
    assert emoji
    for track in emoji[:5]:
        found = snap.match_track(
            title=track.title, artist=track.artists[0], duration_ms=track.duration_ms, limit=20
        )
        assert found and found[0]["components"]["title"] == 1.0


def test_match_statements_read_by_index_only(snap: Snapshot) -> None:
    plans = {name: plan for name, plan in snap.query_plans().items() if name.startswith("match")}
    assert set(plans) == {
        "match_candidates",
        "match_prefix",
        "match_known_terms",
        "match_tracks",
        "match_near_terms",
        "match_rows",
    }
    for name, plan in plans.items():
        assert not full_scans(plan), (name, plan)
        assert not any("TEMP B-TREE" in line for line in plan), (name, plan)
    assert plans["match_candidates"][0].startswith("SCAN f VIRTUAL TABLE")
    assert plans["match_prefix"][0].startswith("SCAN f VIRTUAL TABLE")
    assert any("PRIMARY KEY (term=?)" in line for line in plans["match_known_terms"])
    assert any("PRIMARY KEY (key=?)" in line for line in plans["match_tracks"])
    assert plans["match_near_terms"] == [
        line for line in plans["match_near_terms"] if "PRIMARY KEY (term>? AND term<?)" in line
    ]
    rows_plan = plans["match_rows"]
    assert rows_plan[0].startswith("SCAN k VIRTUAL TABLE"), rows_plan  # the rowids bound
    assert "SEARCH t USING INTEGER PRIMARY KEY (rowid=?)" in rows_plan
    assert any(line.startswith("SEARCH ta USING INDEX") for line in rows_plan), rows_plan


def test_no_search_index_raises_search_unavailable(
    snapshot_factory: Any, run_cli: Any, rows: MatchRows
) -> None:
    directory = snapshot_factory(built=False)
    assert run_cli("build", "--no-search", str(directory)).returncode == 0
    with Snapshot.open(directory) as snapshot:
        with pytest.raises(SearchUnavailable, match="--no-search"):
            snapshot.match_track(title="love", artist="x")
        with pytest.raises(InvalidParameter):  # parameters are checked first
            snapshot.match_track(title="love", artist="")
