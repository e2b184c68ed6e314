"""A tiny dump written row by row, so each dirty case of the real data is pinned down exactly.

Synthetic snapshots (tools/synth) cover shape and scale; this one covers the
edge cases whose expected documents a reader can check by eye.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from snapshot_api.layout import schema_sql


def _id(prefix: str, n: int) -> str:
    """A valid 22-character base62 id, readable in test failures."""
    return (prefix + str(n)).ljust(22, "x")


ARTIST = {n: _id("Artist", n) for n in range(1, 7)}
ALBUM = {n: _id("Album", n) for n in range(1, 6)}
TRACK = {n: _id("Track", n) for n in range(1, 11)}

SHARED_ISRC = "USRC17607839"
LONELY_ISRC = "GBAYE0000001"


AUDIO_FEATURES_ROWS = [
    # rowid, track_id, fetched_at, null_response, duration_ms, time_signature, tempo, key,
    # mode, danceability, energy, loudness, speechiness, acousticness, instrumentalness,
    # liveness, valence
    (1, TRACK[1], 0, 0, 200000, 4, 120.5, 9, 1, 0.5, 0.75, -5.25, 0.03, 0.125, 0.0, 0.1, 0.9),
    (2, TRACK[2], 0, 1, None, None, None, None, None, None, None, None, None, None, None,
     None, None),  # a null response: no features
    (3, TRACK[3], 0, 0, 1000, None, 88.0, -1, 0, 0.25, 0.5, -20.0, 0.5, 0.5, 0.5, 0.5, 0.5),
    # TRACK[4] has no row at all
    (5, TRACK[5], 0, 0, 200000, 3, 60.0, 0, 0, 1.0, 0.0, -60.0, 1.0, 1.0, 1.0, 1.0, 0.0),
]  # fmt: skip
"""Audio features: a full row, a null response, a row without time_signature, no row for
track 4; tracks 6 to 10 have none either."""


def write_audio_features(directory: Path) -> None:
    features = sqlite3.connect(directory / "spotify_clean_audio_features.sqlite3")
    features.executescript(schema_sql("audio_features.sql"))
    features.executemany(
        f"INSERT INTO track_audio_features VALUES ({', '.join('?' * 17)})", AUDIO_FEATURES_ROWS
    )
    features.commit()
    features.close()


def write_dump(directory: Path, *, track_files: bool = True, audio_features: bool = True) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    main = sqlite3.connect(directory / "spotify_clean.sqlite3")
    main.executescript(schema_sql("main.sql"))
    main.executemany(
        "INSERT INTO artists VALUES (?, ?, 0, ?, ?, ?)",
        [
            (1, ARTIST[1], "Zoë Ünïcode", 1000, 70),
            (2, ARTIST[2], "Мария", 50, 20),
            (3, ARTIST[3], "", 0, 0),  # empty name kept as ""
            (4, ARTIST[4], "אמן 🎵", 7, 3),
            (5, ARTIST[5], "中文歌手", 99, 55),
            (6, ARTIST[6], "Unused", 1, 1),
        ],
    )
    main.executemany(
        "INSERT INTO artist_genres VALUES (?, ?)",
        [(1, "pop"), (1, "art pop"), (1, "dance"), (2, "russian rock")],
    )
    main.executemany(
        "INSERT INTO artist_images VALUES (?, ?, ?, ?)",
        [
            (1, 160, 160, "https://i/a1-160"),
            (1, 640, 640, "https://i/a1-640"),
            (1, 640, 640, "https://i/a1-640"),  # duplicate row
            (1, 320, 320, "https://i/a1-320"),
        ],
    )
    main.execute("INSERT INTO available_markets VALUES (1, 'DE,FR,US')")
    main.executemany(
        "INSERT INTO albums VALUES (?, ?, 0, ?, ?, 1, ?, NULL, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                1,
                ALBUM[1],
                "Première",
                "album",
                "0012345678905",
                "(c) Label",
                "(p) Label",
                "Label One",
                60,
                "2001-02-03",
                "day",
                3,
            ),
            (2, ALBUM[2], "", "single", "12345678905", None, None, "", 10, "2001", "year", 1),
            (
                3,
                ALBUM[3],
                "Compilation",
                "compilation",
                None,
                None,
                None,
                "Comp",
                30,
                "1999-05",
                "month",
                4,
            ),
            (4, ALBUM[4], "Bad barcode", "album", "12AB5", None, None, "L", 0, "2020", "year", 1),
            (
                5,
                ALBUM[5],
                "Empty album",
                "album",
                "4006381333931",
                None,
                None,
                "L",
                5,
                "2010",
                "year",
                0,
            ),
        ],
    )
    main.executemany(
        "INSERT INTO album_images VALUES (?, ?, ?, ?)",
        [
            (1, 64, 64, "https://i/al1-64"),
            (1, 640, 640, "https://i/al1-640"),
            (1, 300, 300, "https://i/al1-300"),
            (1, 300, 300, "https://i/al1-300"),  # duplicate row
            (3, 640, 640, "https://i/al3-640"),
        ],
    )
    main.executemany(
        "INSERT INTO artist_albums VALUES (?, ?, ?, ?, ?)",
        [
            (2, 1, 0, 0, 1),  # album 1's artists stored out of order: 1 then 2
            (1, 1, 0, 0, 0),
            (5, 1, 1, 0, None),  # appears on: not an album artist
            (3, 2, 0, 0, 0),
            (4, 3, 0, 1, None),  # implicit appears on
            (1, 3, 0, 0, 0),
            (99, 3, 0, 0, 1),  # dangling artist reference
        ],
    )
    main.executemany(
        "INSERT INTO tracks VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
        [
            (1, TRACK[1], "Song One", "https://p/1", 1, 1, SHARED_ISRC, 40, 1, 200000, 1),
            (2, TRACK[2], "Song Two", None, 1, 2, None, 0, 1, 180000, 0),
            (3, TRACK[3], "Song 3 (disc 2)", None, 1, 1, "GBAYE0000002", 5, 2, 1000, 0),
            (4, TRACK[4], "Single", None, 2, 1, SHARED_ISRC, 90, 1, 3000, 0),
            (5, TRACK[5], "Comp copy", None, 3, 1, SHARED_ISRC, 40, 1, 200000, 1),
            (6, TRACK[6], "Dangling album", None, 42, 1, LONELY_ISRC, 1, 1, 1, 0),
            (7, TRACK[7], "bad isrc", None, 3, 2, "us-rc1-76-07839", 0, 1, 1, 0),
            (8, TRACK[8], "日本語の曲", None, 3, 3, "JPABC1234567", 2, 1, 1, 0),
            (9, TRACK[9], "No artists", None, 3, 4, None, 0, 1, 1, 0),
            (10, TRACK[10], "Track one of album 1 again", None, 1, 3, None, 0, 1, 1, 0),
        ],
    )
    main.executemany(
        "INSERT INTO track_artists VALUES (?, ?)",
        [
            (1, 2),  # track 1's artists in rowid order: 2, then 1
            (1, 1),
            (2, 1),
            (3, 1),
            (4, 3),
            (5, 4),
            (5, 99),  # dangling artist reference
            (6, 5),
            (7, 5),
            (8, 5),
            (10, 1),
        ],
    )
    main.commit()
    main.close()
    if audio_features:
        write_audio_features(directory)
    if not track_files:
        return
    files = sqlite3.connect(directory / "spotify_clean_track_files.sqlite3")
    files.executescript(schema_sql("track_files.sql"))
    files.executemany(
        "INSERT INTO track_files (rowid, track_id, status, language_of_performance, artist_roles,"
        " has_lyrics, original_title, version_title) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                1,
                TRACK[1],
                "success",
                '["en","zxx"]',
                '["main_artist","featured_artist"]',
                1,
                "Song One",
                "Radio Edit",
            ),
            (2, TRACK[2], "success", "[not json", '{"role": "x"}', 0, None, None),
            (3, TRACK[3], "error_not_available", None, None, None, None, None),
            (4, TRACK[4], "success", "[]", '["main_artist", 5]', None, "", None),
            (5, TRACK[5], "success", '"en"', "null", 1, None, None),
        ],
    )
    files.commit()
    files.close()
