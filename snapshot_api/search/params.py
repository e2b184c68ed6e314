"""The search parameters' rules (ranges, defaults), declared once for library, CLI and server.

Values may be given as ints or as the strings of a query string or command
line; anything else raises `InvalidParameter` naming the parameter.
"""

from __future__ import annotations

from snapshot_api.errors import InvalidParameter

DEFAULT_LIMIT = 20
MAX_LIMIT = 50
"""A larger limit is read as this one."""
MAX_OFFSET = 1000
"""Deeper pages are refused: ranking order makes page n cost n pages of index reads."""
MIN_PREFIX = 3
"""A prefix (`abc*`) needs this many characters: shorter ones would merge the
doclists of a large share of all words (the index keeps 3-character prefixes)."""


def integer(parameter: str, value: object) -> int:
    """`value` as an int: an int (not a bool) or a string of decimal digits."""
    if isinstance(value, bool):
        raise InvalidParameter(parameter, f"{parameter} must be an integer, not {value!r}")
    if isinstance(value, int):
        return value
    digits = value.strip().lstrip("+-") if isinstance(value, str) else ""
    # ASCII only: "³".isdigit() is true but int("³") raises (a 500 found by schemathesis)
    if isinstance(value, str) and digits.isascii() and digits.isdigit():
        return int(value.strip())
    raise InvalidParameter(parameter, f"{parameter} must be an integer, not {value!r}")


def limit_of(value: object, *, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> int:
    limit = default if value is None else integer("limit", value)
    if limit < 1:
        raise InvalidParameter("limit", f"limit must be at least 1, not {limit}")
    return min(limit, maximum)


def offset_of(value: object) -> int:
    offset = 0 if value is None else integer("offset", value)
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidParameter("offset", f"offset must be between 0 and {MAX_OFFSET}, not {offset}")
    return offset


MAX_TEXT_LENGTH = 1000
"""Characters of `q`, `artist` or `album`: far more than any name; longer is refused (400)."""


def text_of(parameter: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidParameter(
            parameter, f"{parameter} must be a string, not {type(value).__name__}"
        )
    if len(value) > MAX_TEXT_LENGTH:
        raise InvalidParameter(
            parameter, f"{parameter} has {len(value)} characters; at most {MAX_TEXT_LENGTH}"
        )
    return value
