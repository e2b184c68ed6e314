"""The match parameters' rules, declared once for library, CLI and server.

Values may be given as Python values or as the strings of a query string or
command line; anything else raises `InvalidParameter` naming the parameter
(`title`, or `items[3].title` for the fourth item of a `match_tracks` call).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from snapshot_api.errors import InvalidParameter
from snapshot_api.search import params as search_params
from snapshot_api.search.text import words

DEFAULT_LIMIT = 5
MAX_LIMIT = 20
"""A larger limit is read as this one."""
MAX_LENGTH = 1000
"""Characters of a title, artist or album: longer values are refused (they are not names)."""
MAX_DURATION_MS = 24 * 3600 * 1000
"""A day: longer is not the length of a recording."""

FIELDS = ("title", "artist", "album", "duration_ms")
"""The keys of one `match_tracks` item (title and artist required)."""


@dataclass(frozen=True, slots=True)
class MatchRequest:
    """A validated match: what the tagger holds, and how many candidates it wants."""

    title: str
    artist: str
    album: str | None
    duration_ms: int | None
    limit: int


def _name(parameter: str, value: object, *, required: bool) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidParameter(parameter, f"{parameter} is required")
        return None
    if not isinstance(value, str):
        raise InvalidParameter(
            parameter, f"{parameter} must be a string, not {type(value).__name__}"
        )
    if len(value) > MAX_LENGTH:
        raise InvalidParameter(
            parameter, f"{parameter} must be at most {MAX_LENGTH} characters, not {len(value)}"
        )
    return value


def _duration(parameter: str, value: object) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, float) and math.isfinite(value):
        duration = round(value)
    else:
        duration = search_params.integer(parameter, value)
    if not 1 <= duration <= MAX_DURATION_MS:
        raise InvalidParameter(
            parameter,
            f"{parameter} must be between 1 and {MAX_DURATION_MS} milliseconds, not {value!r}",
        )
    return duration


def limit_of(value: object) -> int:
    return search_params.limit_of(value, default=DEFAULT_LIMIT, maximum=MAX_LIMIT)


def request(
    title: object,
    artist: object,
    album: object = None,
    duration_ms: object = None,
    limit: object = None,
    *,
    prefix: str = "",
) -> MatchRequest:
    """Validate one match; raises `InvalidParameter` naming the first bad parameter."""
    checked_title = _name(prefix + "title", title, required=True)
    checked_artist = _name(prefix + "artist", artist, required=True)
    assert checked_title is not None and checked_artist is not None
    if not words(checked_title) and not words(checked_artist):
        # one of them is enough: the other is still compared (emoji as their names)
        message = f"{prefix}title or {prefix}artist must hold a word (letters or digits)"
        raise InvalidParameter(prefix + "title", message)
    return MatchRequest(
        checked_title,
        checked_artist,
        _name(prefix + "album", album, required=False),
        _duration(prefix + "duration_ms", duration_ms),
        limit_of(limit),
    )


def item(index: int, value: object, limit: object) -> MatchRequest:
    """One item of `match_tracks`: a mapping with `FIELDS` keys (others refused)."""
    where = f"items[{index}]"
    if not isinstance(value, Mapping):
        raise InvalidParameter(
            where, f"{where} must be a mapping of {', '.join(FIELDS)}, not {type(value).__name__}"
        )
    unknown = [key for key in value if key not in FIELDS]
    if unknown:
        raise InvalidParameter(
            f"{where}.{unknown[0]}",
            f"{where}: unknown key {unknown[0]!r} (expected {', '.join(FIELDS)})",
        )
    return request(
        value.get("title"),
        value.get("artist"),
        value.get("album"),
        value.get("duration_ms"),
        limit,
        prefix=where + ".",
    )
