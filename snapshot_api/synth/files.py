"""The rows of the track_files database.

One row per track (a few missing), file status, and enrichment that is NULL
on many rows and sometimes broken: `language_of_performance` and
`artist_roles` hold a JSON array as a rule, malformed JSON or valid JSON that
is not an array on a few rows. Rows depend only on the seed, the chunk number
and the chunk's `TrackInfo`s (from `synth_rows`), with a random stream of
their own, so the main database's rows do not change with `--no-track-files`.
"""

from __future__ import annotations

import bisect
import itertools
import random

from snapshot_api.synth.ids import IdMaker, stream_key
from snapshot_api.synth.rows import Row, TrackInfo
from snapshot_api.synth.text import ARTIST_ROLES_EXTRA, LANGUAGES

COLUMNS: dict[str, tuple[str, ...]] = {
    "track_files": (
        "rowid", "track_id", "status", "filename", "reencoded_kbit_vbr", "fetched_at",
        "session_country", "sha256_original", "sha256_with_embedded_meta", "isrc_has_download",
        "track_popularity", "secondary_priority", "prefixed_ogg_packet", "alternatives",
        "file_id_ogg_vorbis_96", "file_id_ogg_vorbis_160", "file_id_ogg_vorbis_320",
        "file_id_aac_24", "file_id_mp3_96", "language_of_performance", "artist_roles",
        "has_lyrics", "licensor", "original_title", "version_title", "content_ratings",
        "filesize_bytes",
    ),
}  # fmt: skip
_LANGUAGES_COLUMN, _ROLES_COLUMN = 19, 20

STATUSES: tuple[tuple[str, float], ...] = (
    ("success", 0.80),
    ("error_not_available", 0.05),
    ("error_has_replacement", 0.03),
    ("skipped_isrc_has_download", 0.05),
    ("skipped_low_priority", 0.04),
    ("todo_unk", 0.02),
    ("error_no_ogg160", 0.005),
    ("error_zero_duration", 0.005),
)
_STATUS_NAMES = (*(name for name, _ in STATUSES), "success")
_STATUS_BOUNDS = tuple(itertools.accumulate(weight for _, weight in STATUSES))
MALFORMED_JSON = ('["en"', "en", "['en']", '["en",]', "", "[main_artist]")
"""Stored values that are not JSON at all."""
NOT_ARRAY_JSON = ('"en"', '{"language": "en"}', "42", "null", "true")
"""Stored values that are valid JSON but not the array readers expect."""
SESSION_COUNTRIES = ("US", "DE", "GB", "SE", "BR", "JP", "IN", "MX")
MISSING_RATE = 0.001


class TrackFiles:
    """track_files rows for chunks of tracks, every dirty case in every chunk."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.track_id = IdMaker(seed, "tracks")

    def chunk(self, number: int, tracks: list[TrackInfo]) -> list[Row]:
        rng = random.Random(stream_key(self.seed, f"files:{number}"))
        rows: list[Row] = []
        missing = False
        broken: set[str] = set()
        for info in tracks:
            if rng.random() < MISSING_RATE:
                missing = True
                continue
            rows.append(self._row(rng, info, broken))
        if not missing and len(rows) >= 2:
            del rows[1 + int(rng.random() * (len(rows) - 1))]
        self._force_broken_json(rng, rows, broken)
        return rows

    def _row(self, rng: random.Random, info: TrackInfo, broken: set[str]) -> Row:
        random_ = rng.random
        status = _STATUS_NAMES[bisect.bisect(_STATUS_BOUNDS, random_())]
        success = status == "success"
        digests = rng.randbytes(164).hex() if success else ""  # 2 sha256 + 5 file ids

        languages: str | None = None
        if random_() >= 0.35:
            languages = '["' + LANGUAGES[int(len(LANGUAGES) ** random_()) - 1] + '"]'
            if random_() < 0.05:
                extra = LANGUAGES[int(random_() * len(LANGUAGES))]
                languages = languages[:-1] + ',"' + extra + '"]'
        roles: str | None = None
        if random_() >= 0.4:
            names = ["main_artist"] * min(info.album_artists, info.artists)
            names += ["featured_artist"] * (info.artists - len(names))
            if random_() < 0.05:
                names.append(ARTIST_ROLES_EXTRA[int(random_() * len(ARTIST_ROLES_EXTRA))])
            roles = '["' + '","'.join(names) + '"]'
        roll = random_()
        if roll < 0.004:
            languages = _broken(rng, roll < 0.002, "languages", broken)
        roll = random_()
        if roll < 0.004:
            roles = _broken(rng, roll < 0.002, "roles", broken)

        roll = random_()
        has_lyrics = None if roll < 0.3 else 1 if roll < 0.7 else 0
        alternatives = None
        if status == "error_has_replacement" and info.rowid > 1:
            alternatives = '["' + self.track_id(1 + int(random_() * (info.rowid - 1))) + '"]'
        elif random_() < 0.1:
            alternatives = "[]"
        fetched = None if random_() < 0.1 else info.fetched_at + int(random_() * 86_400_000)
        return [
            info.rowid,
            info.id,
            status,
            info.id + ".ogg" if success else None,
            (96, 160, 160, 320)[int(random_() * 4)] if success else None,
            fetched,
            None if fetched is None else SESSION_COUNTRIES[int(random_() * 8)],
            digests[:64] or None,
            digests[64:128] or None,
            (1 if random_() < 0.3 else 0) if info.has_isrc else None,
            None if random_() < 0.05 else info.popularity,
            random_() if status == "skipped_low_priority" else None,
            rng.randbytes(48) if success and random_() < 0.1 else None,
            alternatives,
            digests[128:168] or None,
            digests[168:208] or None,
            digests[208:248] or None,
            None if not success or random_() < 0.7 else digests[248:288],
            None if not success or random_() < 0.9 else digests[288:328],
            languages,
            roles,
            has_lyrics,
            None if random_() < 0.5 else f"Licensor {1 + int(random_() * 500)}",
            None if random_() < 0.25 else info.title,
            info.version,
            None if random_() < 0.97 else '["explicit"]',
            info.duration_ms * 20 + int(random_() * 10_000) if success else None,
        ]

    @staticmethod
    def _force_broken_json(rng: random.Random, rows: list[Row], broken: set[str]) -> None:
        if not rows:
            return
        used: dict[int, set[int]] = {_LANGUAGES_COLUMN: set(), _ROLES_COLUMN: set()}
        for case, column, values in (
            ("languages_malformed", _LANGUAGES_COLUMN, MALFORMED_JSON),
            ("languages_not_array", _LANGUAGES_COLUMN, NOT_ARRAY_JSON),
            ("roles_malformed", _ROLES_COLUMN, MALFORMED_JSON),
            ("roles_not_array", _ROLES_COLUMN, NOT_ARRAY_JSON),
        ):
            if case in broken:
                continue
            at = int(rng.random() * len(rows))
            if at in used[column] and len(rows) > 1:
                at = (at + 1) % len(rows)
            used[column].add(at)
            rows[at][column] = values[int(rng.random() * len(values))]


def _broken(rng: random.Random, malformed: bool, column: str, broken: set[str]) -> str:
    values = MALFORMED_JSON if malformed else NOT_ARRAY_JSON
    broken.add(f"{column}_{'malformed' if malformed else 'not_array'}")
    return values[int(rng.random() * len(values))]
