"""Turn what people paste into canonical lookup keys, or say exactly why not.

One module owns every identifier rule, so the HTTP routes, the batch endpoint,
the CLI, the library and `build` (which normalises the barcodes stored in the
dump) can never disagree about what a value means.

Canonical forms:
- ISRC: 12 upper-case characters, `CCXXXYYNNNNN` (hyphens, spaces, case ignored).
- Barcode: the GTIN-14 form, 14 digits zero-padded on the left, so UPC-A,
  EAN-13, GTIN-14 and EAN-8 spellings of one code are equal (leading zeros do
  not matter). Check digits are *not* enforced: the dump holds barcodes with
  bad check digits, and a user holding such a release must still find it.
- Spotify id: the 22-character base62 id (case-sensitive), from a bare id, a
  `spotify:KIND:ID` URI, or (where allowed) an `open.spotify.com/KIND/ID` URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from urllib.parse import urlsplit

from snapshot_api.errors import InvalidIdentifier, Rejection

MAX_INPUT_LENGTH = 256
"""Longer values are rejected before any parsing: no identifier is near this long."""


class Kind(StrEnum):
    """The kinds of lookup; the value is the CLI word and the HTTP path segment."""

    ISRC = "isrc"
    UPC = "upc"
    TRACK = "track"
    ALBUM = "album"
    ARTIST = "artist"
    AUDIO_FEATURES = "audio-features"
    """A track's audio features, looked up by the track's id."""

    @property
    def batch_key(self) -> str:
        """The key of this kind in batch requests and answers ("isrcs", "upcs", ...)."""
        if self is Kind.AUDIO_FEATURES:
            return "audio_features"
        return self.value + "s"

    @property
    def id_kind(self) -> str:
        """The Spotify kind its ids name in URIs and URLs (audio features: a track's)."""
        return "track" if self is Kind.AUDIO_FEATURES else self.value


_WHITESPACE = " \t\n\r\f\v"
"""ASCII whitespace only: what `str.strip()` or `\\s` would add (U+3000, U+001C, ...) is the
kind of difference that makes the OpenAPI patterns and the parser disagree."""
_SPACE_CLASS = r"[ \t\n\r\f\v]"
_SEPARATOR_CLASS = r"[ \t\n\r\f\v-]"
"""Ignored inside ISRCs and barcodes: spaces and hyphens, as people paste them."""
_BASE62_CLASS = "[0-9A-Za-z]"
_ISRC_CLASSES = ["[A-Za-z]"] * 2 + ["[A-Za-z0-9]"] * 3 + ["[0-9]"] * 7

_ISRC_SEPARATORS = re.compile(_SEPARATOR_CLASS + "+")
_ISRC = re.compile(r"[A-Z]{2}[A-Z0-9]{3}[0-9]{7}")
_BARCODE_SEPARATORS = re.compile(_SEPARATOR_CLASS + "+")
_BASE62_ID = re.compile(_BASE62_CLASS + "{22}")


def path_pattern(kind: Kind) -> str:
    """The values `parse(kind, value, allow_url=False)` accepts, as a regular expression
    that means the same in Python and in ECMA-262 (OpenAPI's `pattern`); checked against
    `parse` by the tests. Values are also at most `MAX_INPUT_LENGTH` characters."""
    if kind is Kind.ISRC:
        body = _SEPARATOR_CLASS + "*" + "".join(c + _SEPARATOR_CLASS + "*" for c in _ISRC_CLASSES)
    elif kind is Kind.UPC:
        body = f"{_SEPARATOR_CLASS}*(?:[0-9]{_SEPARATOR_CLASS}*){{8,14}}"
    else:
        base62 = _BASE62_CLASS + "{22}"
        body = f"{_SPACE_CLASS}*(?:{base62}|spotify:{kind.id_kind}:{base62}){_SPACE_CLASS}*"
    return f"^{body}$"


_URL_PATH = re.compile(r"/(?:intl-[A-Za-z_-]+/)?(?:embed/)?([a-z]+)/([^/]*)/?")
_SPOTIFY_HOSTS = frozenset({"open.spotify.com", "play.spotify.com"})


class _Reject(Exception):
    """Internal: a reason for rejecting one value; turned into a `Rejection`."""


def _isrc(value: str) -> str:
    compact = _ISRC_SEPARATORS.sub("", value)
    if not compact:
        raise _Reject("empty ISRC")
    if not compact.isascii():  # before upper(): "ß".upper() is "SS", "ı".upper() is "I"
        raise _Reject("an ISRC has only letters A-Z, digits, hyphens and spaces")
    compact = compact.upper()
    if _ISRC.fullmatch(compact):
        return compact
    if len(compact) != 12:
        raise _Reject(
            f"an ISRC has 12 characters without hyphens and spaces, this has {len(compact)}"
        )
    if not compact[:2].isascii() or not compact[:2].isalpha():
        raise _Reject("an ISRC starts with a 2-letter country code")
    if not compact[2:5].isascii() or not compact[2:5].isalnum():
        raise _Reject("characters 3-5 of an ISRC (the registrant code) are letters or digits")
    raise _Reject("an ISRC ends with 7 digits (year and designation code)")


def _barcode(value: str) -> str:
    digits = _BARCODE_SEPARATORS.sub("", value)
    if not digits:
        raise _Reject("empty barcode")
    if not (digits.isascii() and digits.isdigit()):
        raise _Reject("a barcode has only digits (spaces and hyphens are ignored)")
    if not 8 <= len(digits) <= 14:
        raise _Reject(f"a UPC/EAN/GTIN barcode has 8 to 14 digits, this has {len(digits)}")
    return digits.rjust(14, "0")


def _spotify_id(value: str, lookup_kind: Kind, *, allow_url: bool) -> str:
    kind = Kind(lookup_kind.id_kind)
    text = value.strip(_WHITESPACE)
    if _BASE62_ID.fullmatch(text):
        return text
    if text.startswith("spotify:"):
        parts = text.split(":")
        if len(parts) != 3:
            raise _Reject(f"a Spotify URI looks like spotify:{kind.value}:<22-character id>")
        return _check_kind_and_id(parts[1], parts[2], kind, "URI")
    if "://" in text or text.startswith("open.spotify.com/"):
        if not allow_url:
            raise _Reject(
                "Spotify URLs are accepted in batch bodies and on the command line; "
                f"in a path use the id or spotify:{kind.value}:ID"
            )
        try:  # urlsplit raises ValueError on a bad IPv6 host or on NFKC-unsafe characters
            url = urlsplit(text if "://" in text else "https://" + text)
            host = url.hostname
        except ValueError:
            raise _Reject("not a valid URL") from None
        if url.scheme not in ("http", "https") or host not in _SPOTIFY_HOSTS:
            raise _Reject("not an open.spotify.com URL")
        match = _URL_PATH.fullmatch(url.path)
        if match is None:
            raise _Reject(f"a Spotify URL looks like https://open.spotify.com/{kind.value}/ID")
        return _check_kind_and_id(match.group(1), match.group(2), kind, "URL")
    if not text:
        raise _Reject("empty Spotify id")
    raise _Reject("a Spotify id has 22 letters and digits (base62)")


def _check_kind_and_id(found_kind: str, spotify_id: str, kind: Kind, form: str) -> str:
    if found_kind != kind.value:
        article = "an" if kind.value[0] in "aeiou" else "a"
        raise _Reject(f"this is a Spotify {found_kind} {form}, expected {article} {kind.value}")
    if not _BASE62_ID.fullmatch(spotify_id):
        raise _Reject("a Spotify id has 22 letters and digits (base62)")
    return spotify_id


def _canonical(kind: Kind, value: str, allow_url: bool) -> str:
    if len(value) > MAX_INPUT_LENGTH:
        raise _Reject(f"longer than {MAX_INPUT_LENGTH} characters")
    if kind is Kind.ISRC:
        return _isrc(value)
    if kind is Kind.UPC:
        return _barcode(value)
    return _spotify_id(value, kind, allow_url=allow_url)


def parse(kind: Kind, value: str, *, allow_url: bool = True) -> str:
    """The canonical key for `value`, or `InvalidIdentifier` naming it and the reason."""
    try:
        return _canonical(kind, value, allow_url)
    except _Reject as reject:
        raise InvalidIdentifier([Rejection(kind.value, value, str(reject))]) from None


def parse_many(
    kind: Kind, values: Iterable[str], *, allow_url: bool = True
) -> tuple[dict[str, str], list[Rejection]]:
    """Split values into {value as given: canonical key} and the rejected ones.

    Duplicates in `values` appear once in either result; order of first
    appearance is kept, so answers list items in the order they were asked.
    """
    accepted: dict[str, str] = {}
    rejected: dict[str, Rejection] = {}
    for value in values:
        if value in accepted or value in rejected:
            continue
        try:
            accepted[value] = _canonical(kind, value, allow_url)
        except _Reject as reject:
            rejected[value] = Rejection(kind.value, value, str(reject))
    return accepted, list(rejected.values())


def parse_all(kind: Kind, values: Iterable[str], *, allow_url: bool = True) -> dict[str, str]:
    """Like `parse_many`, but any malformed value raises `InvalidIdentifier` naming them all."""
    accepted, rejected = parse_many(kind, values, allow_url=allow_url)
    if rejected:
        raise InvalidIdentifier(rejected)
    return accepted


def stored_barcode_key(stored: str | None) -> int | None:
    """The integer key `build` indexes for a barcode as stored in `albums.external_id_upc`.

    Uses the same rule as user input (so every spelling of a code meets the same
    key); a malformed stored value gives None and is simply not indexed.
    """
    if stored is None:
        return None
    try:
        return int(_barcode(stored))
    except _Reject:
        return None


def barcode_key(canonical: str) -> int:
    """The integer key of a canonical (GTIN-14) barcode, as stored in the sidecar."""
    return int(canonical)
