"""Identification step 4: files with only a title, an artist and their own length.

The files are real MP3s as long as the track (`long_mp3`), so the duration the
match compares is the audio's own, as mutagen measures it. Expected scores are
the library's `match_track` for the same inputs: the tagger must accept exactly
what scores at or above its threshold.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mutagen
import orjson
import pytest

from snapshot_api import Snapshot
from snapshot_api.tagging import Method, Status, Tagger
from tests.support.fixtures import run_command
from tests.tagging.audio_files import get_tag, long_mp3, set_tags


@pytest.fixture(scope="module")
def snap(built_snapshot: Path) -> Iterator[Snapshot]:
    with Snapshot.open(built_snapshot) as snapshot:
        assert snapshot.has_search
        yield snapshot


@pytest.fixture(scope="module")
def track(snap: Snapshot, built_snapshot: Path) -> dict[str, Any]:
    """A popular track with a plain title and artist, between 1 and 6 minutes long."""
    db = sqlite3.connect(f"file:{built_snapshot / 'spotify_clean.sqlite3'}?mode=ro", uri=True)
    ids = [
        row[0]
        for row in db.execute(
            "SELECT id FROM tracks WHERE duration_ms BETWEEN 60000 AND 360000"
            " ORDER BY popularity DESC LIMIT 200"
        )
    ]
    db.close()
    found = snap.tracks(ids)
    return next(
        t
        for t in (found[i] for i in ids if i in found)
        if t.get("artists")
        and t["name"].isascii()
        and t["artists"][0]["name"].isascii()
        and len(t["name"]) > 3
    )


def tagged_file(directory: Path, track: dict[str, Any], *, title: str, seconds: float) -> Path:
    path = long_mp3(directory, seconds, name=title.replace("/", " ")[:40])
    set_tags(path, {"title": [title], "artist": [track["artists"][0]["name"]]})
    return path


def library_score(snap: Snapshot, track: dict[str, Any], path: Path, title: str) -> float:
    duration = round(mutagen.File(path).info.length * 1000)
    best = snap.match_track(title=title, artist=track["artists"][0]["name"], duration_ms=duration)
    return float(best[0]["score"]) if best else 0.0


def test_a_file_with_title_artist_and_length_is_matched_and_tagged(
    snap: Snapshot, track: dict[str, Any], built_snapshot: Path, tmp_path: Path
) -> None:
    path = tagged_file(tmp_path, track, title=track["name"], seconds=track["duration_ms"] / 1000)
    expected = library_score(snap, track, path, track["name"])
    assert expected >= 0.95  # exact title and artist, length within 2 s

    done = run_command("tag", str(built_snapshot), str(path), "--write", "--json", timeout=60)
    assert done.returncode == 0, done.stderr
    [report] = [orjson.loads(line) for line in done.stdout.splitlines()]
    assert (report["status"], report["by"]) == ("identified", "match")
    assert report["score"] == pytest.approx(expected, abs=1e-4)
    best = snap.match_track(
        title=track["name"],
        artist=track["artists"][0]["name"],
        duration_ms=round(mutagen.File(path).info.length * 1000),
        limit=1,
    )[0]["track"]
    assert report["track_id"] == best["id"]
    assert get_tag(path, "spotify_track_id") == [best["id"]]
    assert get_tag(path, "title") == [track["name"]]  # already there: kept


def test_the_threshold_is_the_library_score(
    snap: Snapshot, track: dict[str, Any], tmp_path: Path
) -> None:
    typo = track["name"][:2] + track["name"][3:]  # one letter dropped
    path = tagged_file(tmp_path, track, title=typo, seconds=track["duration_ms"] / 1000)
    score = library_score(snap, track, path, typo)
    assert 0.8 < score < 1.0
    strict, lenient = Tagger(snap, min_score=min(1.0, score + 1e-3)), Tagger(snap, min_score=score)
    [refused] = strict.run([path])
    [accepted] = lenient.run([path])
    assert refused.status is Status.UNIDENTIFIED
    assert f"scores {score:.2f}" in (refused.note or "")
    assert accepted.identification is not None
    assert accepted.identification.by is Method.MATCH


def test_a_length_far_off_is_not_accepted(
    snap: Snapshot, track: dict[str, Any], tmp_path: Path
) -> None:
    path = tagged_file(
        tmp_path, track, title=track["name"], seconds=track["duration_ms"] / 1000 + 45
    )
    [report] = Tagger(snap).run([path])
    assert report.status is Status.UNIDENTIFIED
    assert library_score(snap, track, path, track["name"]) < 0.6


def test_without_a_search_index_files_are_not_matched_and_it_says_so(
    hand_snapshot: Path, tmp_path: Path
) -> None:
    path = long_mp3(tmp_path, 3.0)
    set_tags(path, {"title": ["Song One"], "artist": ["Мария"]})
    done = run_command("tag", str(hand_snapshot), str(path), timeout=60)
    assert done.returncode == 0
    assert (
        "unidentified (not matched by title and artist: the snapshot has no search index)"
        in done.stdout
    )
    assert sum("no search index" in line for line in done.stderr.splitlines()) == 1
