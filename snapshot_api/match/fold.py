"""Names as a tagger and the dump spell them, brought to one comparable form.

Two steps, the second one borrowed from ListenBrainz's mapping ("detuning"):

1. `fold`: the search index's own folding (`snapshot_api.search.text.fold`:
   NFKC, casefold, diacritics removed), then transliteration to ASCII
   (`anyascii`, the way beets compares names after `unidecode`: `Ø` → `o`,
   `ß` → `ss`, `Łódź` → `lodz`), `&` read as `and`, apostrophes dropped
   (`Don't` = `Dont`), every other non-alphanumeric character a word
   separator, words joined by one space.
2. `detune` a title: the parts that name a credit or an edition rather than the
   song are split off the end: `(feat. X)`, `[feat. X]`, `feat. X`,
   `ft. X`, a trailing `(...)` or `[...]` group, and a ` - ...` tail that
   names a version (`- Remastered 2009`, `- Live`, `- Radio Edit`). What is
   left is the *core* compared first; the parts' words that mean another
   recording (`live`, `remix`, `acoustic`, ...) are kept as the title's
   *version*, so `Song (Live)` and `Song - Live` agree, and `Song` against
   `Song (Live)` is a near match rather than an exact one. Edition words that
   keep the recording (`remastered`, `mono`, years) mean nothing here.

An artist is split the same way into its first credited name and the rest
(`A feat. B`, `A & B`, `A, B`): a file tagged `A feat. B` matches a track
whose artists are `A` and `B`, and one credited to `A` only.

Folding is cached per distinct string (bounded): artist names repeat across
candidates and requests.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from anyascii import anyascii

from snapshot_api.search.text import fold as search_fold

FOLD_CACHE = 65_536
"""Distinct names kept folded per process (each a few hundred bytes)."""

_APOSTROPHES = re.compile(r"['’‘`´]")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")

_FEATURING = r"(?:feat\.?|ft\.?|featuring|with)"
_BRACKETED_CREDIT = re.compile(rf"\s*[(\[]\s*{_FEATURING}\s[^)\]]*[)\]]", re.IGNORECASE)
_TRAILING_CREDIT = re.compile(r"\s+(?:feat\.?|ft\.?|featuring)\s.*$", re.IGNORECASE)
_TRAILING_GROUP = re.compile(r"\s*[(\[]([^()\[\]]*)[)\]]\s*$")
_DASH_TAIL = re.compile(r"\s+[-–—]\s+([^-–—]+)$")

VERSION_WORDS = frozenset((
    "live", "acoustic", "unplugged", "remix", "mix", "rmx", "instrumental", "karaoke", "demo",
    "edit", "extended", "reprise", "session", "rehearsal", "cover", "orchestral", "dub", "vip",
    "bootleg", "sped", "slowed",
))  # fmt: skip
"""Words of a detuned part saying it is another recording of the song (or another cut)."""

EDITION_WORDS = frozenset((
    "remaster", "remastered", "remasterizado", "version", "mono", "stereo", "single", "album",
    "original", "explicit", "clean", "deluxe", "bonus", "track", "digital", "anniversary",
    "edition", "radio", "take",
))  # fmt: skip
"""Words of a ` - ...` tail that name an edition: such a tail is detuned (with years)."""

_ARTIST_SEPARATORS = re.compile(
    r"\s*(?:,|;|/|&|\+|\bx\b|\bfeat\.?(?=\s)|\bft\.?(?=\s)|\bfeaturing\b|\bwith\b|\bvs\.?(?=\s))\s*",
    re.IGNORECASE,
)
_LEADING_ARTICLE = re.compile(r"^the\s+")


@functools.lru_cache(maxsize=FOLD_CACHE)
def fold(text: str) -> str:
    """Lowercase ASCII words separated by single spaces (see module doc); '' for no words."""
    folded = search_fold(text)
    if not folded.isascii():
        folded = anyascii(folded).lower()
    folded = _APOSTROPHES.sub("", folded.replace("&", " and "))
    return _NOT_ALNUM.sub(" ", folded).strip()


@dataclass(frozen=True, slots=True)
class Title:
    """A title folded whole (`full`), its detuned `core`, and its version words."""

    full: str
    core: str
    version: frozenset[str]
    core_text: str
    """The core as written (unfolded): what the index is searched with."""


def _is_edition_tail(text: str) -> bool:
    words = fold(text).split()
    return bool(words) and all(
        word in EDITION_WORDS or word in VERSION_WORDS or word.isdigit() for word in words
    )


@functools.lru_cache(maxsize=FOLD_CACHE)
def title(text: str) -> Title:
    """`text` folded, and detuned: credits and edition parts split off its end."""
    rest = _BRACKETED_CREDIT.sub("", text)
    parts: list[str] = []
    while True:
        found = _TRAILING_GROUP.search(rest)
        if found and found.start() > 0:
            parts.append(found.group(1))
            rest = rest[: found.start()]
            continue
        found = _DASH_TAIL.search(rest)
        if found and _is_edition_tail(found.group(1)):
            parts.append(found.group(1))
            rest = rest[: found.start()]
            continue
        break
    rest = _TRAILING_CREDIT.sub("", rest)
    full = fold(text)
    core = fold(rest)
    if not core:
        core, rest = full, text
    version = frozenset(
        word for part in parts for word in fold(part).split() if word in VERSION_WORDS
    )
    return Title(full, core, version, rest.strip())


@dataclass(frozen=True, slots=True)
class Artist:
    """An artist credit folded whole (`full`, leading `the` dropped) and its first name."""

    full: str
    first: str
    several: bool
    """Whether the credit names more than one artist (`A feat. B`, `A & B`)."""
    first_text: str
    """The first name as written (unfolded): what the index is searched with."""


def _without_article(folded: str) -> str:
    return _LEADING_ARTICLE.sub("", folded)


@functools.lru_cache(maxsize=FOLD_CACHE)
def artist(text: str) -> Artist:
    """An artist credit: folded whole, and its first credited name (see module doc)."""
    names = [name for name in _ARTIST_SEPARATORS.split(text) if fold(name)]
    full = _without_article(fold(text))
    first = _without_article(fold(names[0])) if names else ""
    if not first:
        return Artist(full, full, False, text)
    return Artist(full, first, len(names) > 1, names[0])


def artist_name(text: str) -> str:
    """One artist's name as compared: folded, leading `the` dropped."""
    return _without_article(fold(text))
