"""The rows of the audio features database.

One row per track, with the real file's dirty cases in every chunk: a few
tracks have no row, some rows record a null response (`null_response` = 1 and
every feature NULL: Spotify answered nothing for that track), and a few rows
lack one feature. Values follow the ranges Spotify documents (keys -1 to 11,
mode 0/1, time signatures 3 to 7, loudness in dB, the rest 0 to 1). Rows depend
only on the seed, the chunk number and the chunk's `TrackInfo`s, with a random
stream of their own, so the other files do not change with or without it.
"""

from __future__ import annotations

import random

from snapshot_api.synth.ids import stream_key
from snapshot_api.synth.rows import Row, TrackInfo

COLUMNS: dict[str, tuple[str, ...]] = {
    "track_audio_features": (
        "rowid", "track_id", "fetched_at", "null_response", "duration_ms", "time_signature",
        "tempo", "key", "mode", "danceability", "energy", "loudness", "speechiness",
        "acousticness", "instrumentalness", "liveness", "valence",
    ),
}  # fmt: skip
_FEATURES = 13
"""Columns from duration_ms on."""
MISSING_RATE = 0.002
NULL_RESPONSE_RATE = 0.01
PARTIAL_RATE = 0.02
"""Rows with one feature NULL."""


class AudioFeatures:
    """track_audio_features rows for chunks of tracks, each dirty case in every chunk."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def chunk(self, number: int, tracks: list[TrackInfo]) -> list[Row]:
        rng = random.Random(stream_key(self.seed, f"audio:{number}"))
        rows: list[Row] = []
        cases: set[str] = set()
        for info in tracks:
            roll = rng.random()
            if roll < MISSING_RATE:
                cases.add("missing")
                continue
            row = self._row(rng, info)
            if roll < MISSING_RATE + NULL_RESPONSE_RATE:
                row = _null_response(row)
                cases.add("null_response")
            elif roll < MISSING_RATE + NULL_RESPONSE_RATE + PARTIAL_RATE:
                row[4 + int(rng.random() * _FEATURES)] = None
                cases.add("partial")
            rows.append(row)
        if len(rows) >= 4:
            if "missing" not in cases:
                del rows[1 + int(rng.random() * (len(rows) - 1))]
            if "null_response" not in cases:
                at = int(rng.random() * len(rows))
                rows[at] = _null_response(rows[at])
            if "partial" not in cases:
                at = int(rng.random() * len(rows))
                if rows[at][3] == 0:
                    rows[at][4 + int(rng.random() * _FEATURES)] = None
        return rows

    @staticmethod
    def _row(rng: random.Random, info: TrackInfo) -> Row:
        random_ = rng.random
        return [
            info.rowid,
            info.id,
            info.fetched_at + int(random_() * 86_400_000),
            0,
            max(1, info.duration_ms + int(random_() * 2_000) - 1_000),
            (4, 4, 4, 4, 3, 5, 7)[int(random_() * 7)],
            round(60 + random_() * 140, 3),
            int(random_() * 13) - 1,
            int(random_() < 0.6),
            round(random_(), 4),
            round(random_(), 4),
            round(-30 + random_() * 29, 3),
            round(random_() * 0.5, 4),
            round(random_(), 6),
            round(random_() ** 3, 6),
            round(random_() * 0.8, 4),
            round(random_(), 4),
        ]


def _null_response(row: Row) -> Row:
    return [*row[:3], 1, *([None] * _FEATURES)]
