"""Search answered the slow, obvious way: every row read with stdlib sqlite3, matched in Python.

Written from the text rules alone, sharing no code with `snapshot_api.search`:
fold (NFKC, casefold, drop non-spacing marks), split into words (letters,
digits and spacing marks of any script), and match: a query word equals a word
of the name, or starts one when it ends in `*`; a query word written in a
script without spaces (two or more characters) is found inside a word of the
name. Results are ordered by popularity (followers for artists) descending,
then rowid.
"""

from __future__ import annotations

import sqlite3
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

_NO_SPACE_NAMES = (
    "CJK UNIFIED",
    "CJK COMPATIBILITY IDEOGRAPH",
    "HIRAGANA",
    "KATAKANA",
    "THAI",
    "LAO",
    "KHMER",
    "MYANMAR",
    "BOPOMOFO",
)


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return unicodedata.normalize("NFC", text)


def words(text: str | None) -> list[str]:
    found, current = [], ""
    for char in fold(text or ""):
        if char.isalnum() or unicodedata.category(char) == "Mc":
            current += char
        else:
            if current:
                found.append(current)
            current = ""
    if current:
        found.append(current)
    return found


def no_space(text: str) -> bool:
    return all(unicodedata.name(c, "").startswith(_NO_SPACE_NAMES) for c in text)


def query_words(query: str | None) -> list[tuple[str, bool]]:
    """(word, is a prefix) for each word of a query."""
    result = []
    folded = fold(query or "")
    for word in words(query):
        position = folded.find(word)
        after = folded[position + len(word) : position + len(word) + 1]
        result.append((word, after == "*"))
        folded = folded[position + len(word) :]
    return result


def matches(query: list[tuple[str, bool]], name_words: list[str]) -> bool:
    for word, prefix in query:
        if no_space(word) and len(word) >= 2:
            found = any(word in candidate for candidate in name_words)
        elif prefix:
            found = any(candidate.startswith(word) for candidate in name_words)
        else:
            found = word in name_words
        if not found:
            return False
    return True


@dataclass
class Row:
    rowid: int
    id: str
    rank: int | None
    name: list[str]
    artists: list[str]
    album: list[str]


class SearchReference:
    def __init__(self, directory: Path) -> None:
        db = sqlite3.connect(f"file:{directory / 'spotify_clean.sqlite3'}?mode=ro", uri=True)
        artist_names = dict(db.execute("SELECT rowid, name FROM artists"))
        album_names = dict(db.execute("SELECT rowid, name FROM albums"))
        track_artists: dict[int, list[str]] = defaultdict(list)
        for track, artist in db.execute(
            "SELECT track_rowid, artist_rowid FROM track_artists ORDER BY rowid"
        ):
            if artist in artist_names:
                track_artists[track] += words(artist_names[artist])
        album_artists: dict[int, list[str]] = defaultdict(list)
        for album, artist in db.execute(
            "SELECT album_rowid, artist_rowid FROM artist_albums "
            "WHERE is_appears_on = 0 AND is_implicit_appears_on = 0"
        ):
            if artist in artist_names:
                album_artists[album] += words(artist_names[artist])
        self.rows: dict[str, list[Row]] = {
            "track": [
                Row(r, i, p, words(n), track_artists[r], words(album_names.get(a)))
                for r, i, p, n, a in db.execute(
                    "SELECT rowid, id, popularity, name, album_rowid FROM tracks"
                )
            ],
            "album": [
                Row(r, i, p, words(n), album_artists[r], [])
                for r, i, p, n in db.execute("SELECT rowid, id, popularity, name FROM albums")
            ],
            "artist": [
                Row(r, i, f, words(n), [], [])
                for r, i, f, n in db.execute("SELECT rowid, id, followers_total, name FROM artists")
            ],
        }
        for rows in self.rows.values():
            rows.sort(key=lambda row: (row.rank is None, -(row.rank or 0), row.rowid))
        db.close()

    def search(
        self,
        kind: str,
        q: str | None = None,
        *,
        artist: str | None = None,
        album: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> list[str]:
        """The ids of the page, best first."""
        wanted = (query_words(q), query_words(artist), query_words(album))
        found = [
            row.id
            for row in self.rows[kind]
            if matches(wanted[0], row.name)
            and matches(wanted[1], row.artists)
            and matches(wanted[2], row.album)
        ]
        return found[offset : offset + limit]

    def common_words(self, kind: str, count: int) -> list[str]:
        frequency: dict[str, int] = defaultdict(int)
        for row in self.rows[kind]:
            for word in set(row.name):
                frequency[word] += 1
        return sorted(frequency, key=lambda w: (-frequency[w], w))[:count]
