"""Identifiers that exist in the built-in sample snapshot: the one source of every example.

The OpenAPI description, the `/docs` page, `snapshot-api sample` and the docs
use these, so every example can be tried as written against `snapshot-api
serve` with no directory. The sample is synthesised with a fixed seed, so the
values are the same on every machine; `tests/synth/test_sample_values.py`
checks each one is found in a freshly made sample (a change to the synthesiser
that moves them fails there, not in a user's hands). Importing this module
loads only `identifiers` (which the server has loaded anyway): it reads this at
start-up.
"""

from __future__ import annotations

from snapshot_api.identifiers import stored_isrc_spellings

ISRC = "GBZ5H6187514"
"""Of the track `TRACK_ID` (one track holds it)."""
UPC = "4038663187444"
"""Of the album `ALBUM_ID`."""
TRACK_ID = "4FdSKwCkhCvPIYN8r5Fd6b"
TRACK_NAME = "Heart Electric"
ALBUM_ID = "SfeLZgUQPPN8kzfIuU3Gvp"
ALBUM_NAME = "жиртян Україна доншешюй Veen"
ARTIST_ID = "YbXFeouA0CIKMyu3hPf6A0"
ARTIST_NAME = "Dryflyrtrer Geacheer"
"""The track's first artist."""
SEARCH_WORD = "heart"
"""A word of the track's name: `/search/track?q=heart` finds it first."""
MISSING_ISRC = "ZZ0000000000"
"""A well-formed ISRC no track holds."""


def spelled_isrc(isrc: str = ISRC) -> str:
    """The ISRC as people paste it (lower case, hyphens): the same key as `isrc`."""
    *_others, hyphenated_lower = stored_isrc_spellings(isrc)
    return hyphenated_lower


def as_dict() -> dict[str, str]:
    """What `snapshot-api sample --json` prints besides the directory."""
    return {
        "isrc": ISRC,
        "upc": UPC,
        "track": TRACK_ID,
        "album": ALBUM_ID,
        "artist": ARTIST_ID,
        "search_word": SEARCH_WORD,
    }
