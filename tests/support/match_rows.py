"""The tracks of a snapshot as matching tests need them, read with stdlib sqlite3.

Sharing no code with `snapshot_api`: titles, artists (in credit order), album
name, duration, popularity and ISRC of every track, plus the plain-Python
helpers the tests use to pick cases and compute what a match must answer.
"""

from __future__ import annotations

import sqlite3
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TrackRow:
    rowid: int
    id: str
    title: str
    artists: tuple[str, ...]
    album: str
    duration_ms: int
    popularity: int
    isrc: str | None

    @property
    def rank(self) -> tuple[int, int]:
        """Most popular first, then rowid: the order of equal scores."""
        return (-self.popularity, self.rowid)


def plain(text: str) -> str:
    """Lowercase, diacritics stripped (NFD without combining marks)."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def is_latin_words(text: str) -> bool:
    """Only ASCII letters and single spaces."""
    return bool(text) and all(word.isascii() and word.isalpha() for word in text.split(" "))


class MatchRows:
    def __init__(self, directory: Path) -> None:
        db = sqlite3.connect(f"file:{directory / 'spotify_clean.sqlite3'}?mode=ro", uri=True)
        db.text_factory = lambda raw: raw.decode(errors="replace")
        artist_names = dict(db.execute("SELECT rowid, name FROM artists"))
        credits: dict[int, list[str]] = defaultdict(list)
        for track, artist in db.execute(
            "SELECT track_rowid, artist_rowid FROM track_artists ORDER BY rowid"
        ):
            if artist in artist_names:
                credits[track].append(artist_names[artist])
        albums = dict(db.execute("SELECT rowid, name FROM albums"))
        self.tracks = [
            TrackRow(r, i, n or "", tuple(credits[r]), albums.get(a) or "", d or 0, p or 0, s)
            for r, i, n, a, d, p, s in db.execute(
                "SELECT rowid, id, name, album_rowid, duration_ms, popularity, external_id_isrc "
                "FROM tracks ORDER BY rowid"
            )
        ]
        db.close()
        self.words = {
            word for track in self.tracks for text in (track.title, *track.artists)
            for word in plain(text).split()
        }  # fmt: skip

    def plain_cases(self, count: int) -> list[TrackRow]:
        """Tracks with a Latin title of 1-3 words (no suffix) and a Latin first artist."""
        found = [
            t
            for t in self.tracks
            if is_latin_words(t.title)
            and t.artists
            and is_latin_words(t.artists[0])
            and t.duration_ms > 0
            and all(len(word) >= 3 for word in t.title.split())
        ]
        return found[:: max(1, len(found) // count)][:count]

    def same_recording(self, track: TrackRow) -> list[TrackRow]:
        """Tracks with the same title, artists and duration (the recording on several albums)."""
        return sorted(
            (
                t
                for t in self.tracks
                if (t.title, t.artists, t.duration_ms)
                == (track.title, track.artists, track.duration_ms)
            ),
            key=lambda t: t.rank,
        )
