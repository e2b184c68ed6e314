"""How names and queries become index terms: the one rule, used on both sides.

A name and a query are folded the same way, so whatever the index holds, a
query spelt with other case, accents or width finds it:
1. NFKC: full-width and compatibility forms become plain ones (`ＡＢＣ` → `ABC`,
   `ﬁ` → `fi`, half-width katakana → katakana).
2. casefold (stronger than lower: `ß` → `ss`).
3. diacritics removed: NFD, drop every non-spacing mark (category Mn), NFC
   again (so Hangul syllables recompose). `Beyoncé`, `Beyonce\u0301` and
   `beyonce` become one word.
4. Words are maximal runs of letters, digits and spacing marks (categories L,
   N, Mc) of any script; everything else (spaces, punctuation, symbols, emoji)
   separates them.
5. Scripts written without spaces (Han, kana, Thai, Lao, Khmer, Myanmar, ...)
   have no words to split on, so each run of their characters is indexed as its
   overlapping bigrams (`恋する` → `恋す`, `する`), or as itself when it is one
   character long. A query run of two or more such characters becomes its
   bigrams, all required; a longer run is then also checked as a substring of
   the folded name (`substring_checks`), so `フォーチュン` finds exactly the names
   holding that run.

Index terms are plain words joined by spaces, ready for FTS5's `ascii`
tokenizer, which treats every non-ASCII character as part of a word and so
splits on our spaces only. Terms of a track's artist names carry the
`ARTIST_MARK` prefix and those of its album name `ALBUM_MARK`, in the same
column as the title's: `artist=` and `album=` filters are terms of one MATCH
in an index with `detail=none` (the smallest, and no column filters needed).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

ARTIST_MARK = "_"
ALBUM_MARK = "___"
"""Prefixes of artist and album terms. A folded word never holds '_' (it is not a
letter or digit), so a title term can never equal or start like a marked one.

The index keeps the rows of every 3-character prefix (`prefix='3'`). Matching asks for an
artist's first two letters (`"_lo"*`), so artist terms keep theirs; no query asks for an
album term's prefix (`album=lov*` is `___lov`, longer than 3), so album terms all share
`___`: one prefix entry per row instead of one per first letter of its album's words (with
1,000-byte leaves, 4.7% less index at 1M tracks; the room went to smaller leaves, see
`LEAF_BYTES`). One prefix for artist terms too (`___a` and `___b` marks) made it 22% smaller
at 10M tracks, but `"_lo"*` would then merge every term of its range: 33 ms against 0.03."""

_NO_SPACE_RANGES = (
    "\u0e00-\u0e7f"  # Thai
    "\u0e80-\u0eff"  # Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u3040-\u309f"  # Hiragana
    "\u30a0-\u30ff"  # Katakana (with the prolonged sound mark)
    "\u31f0-\u31ff"  # Katakana phonetic extensions
    "\u3100-\u312f"  # Bopomofo
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\U00020000-\U0003ffff"  # CJK extensions B and later
)
_NO_SPACE_RUN = re.compile(f"[{_NO_SPACE_RANGES}]+")
_ASCII_WORD = re.compile(r"[a-z0-9]+")
_NON_SPACING_MARK = "Mn"
_SPACING_MARK = "Mc"
_MARKS_SCANNED = 0x20000
"""Spacing marks all lie below U+20000 (higher planes hold CJK and private use)."""


@functools.cache
def _word_pattern() -> re.Pattern[str]:
    """Words: runs of isalnum() characters or spacing marks, each optionally followed by `*`.

    Spacing marks (Devanagari vowel signs, ...) are not isalnum() but belong to
    their word; the class of them is computed once per process (~10 ms).
    """
    marks = "".join(
        re.escape(chr(code))
        for code in range(0x80, _MARKS_SCANNED)
        if unicodedata.category(chr(code)) == _SPACING_MARK
    )
    return re.compile(rf"((?:[^\W_]|[{marks}])+)(\*?)")


def fold(text: str) -> str:
    """NFKC, casefold, diacritics (non-spacing marks) removed, recomposed (see module doc)."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text).casefold())
    category = unicodedata.category
    kept = "".join(
        char for char in decomposed if char.isascii() or category(char) != _NON_SPACING_MARK
    )
    return unicodedata.normalize("NFC", kept)


def _scan(folded: str) -> list[tuple[str, bool]]:
    """(word, followed by '*') for each word of a folded text."""
    if folded.isascii():
        return [(match.group(1), bool(match.group(2))) for match in _ASCII_QUERY.finditer(folded)]
    return [(match.group(1), bool(match.group(2))) for match in _word_pattern().finditer(folded)]


_ASCII_QUERY = re.compile(r"([a-z0-9]+)(\*?)")


def words(text: str) -> list[str]:
    """The words of `text` after folding (letters/digits of any script; see module doc)."""
    folded = fold(text)
    if folded.isascii():
        return _ASCII_WORD.findall(folded)
    return [match.group(1) for match in _word_pattern().finditer(folded)]


def is_no_space_run(text: str) -> bool:
    """True when every character of `text` is of a script written without spaces."""
    return _NO_SPACE_RUN.fullmatch(text) is not None


def _bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def word_terms(word: str) -> list[str]:
    """Index terms of one folded word: itself, or its pieces with no-space runs as bigrams."""
    if word.isascii() or not _NO_SPACE_RUN.search(word):
        return [word]
    terms: list[str] = []
    position = 0
    for match in _NO_SPACE_RUN.finditer(word):
        if match.start() > position:
            terms.append(word[position : match.start()])
        terms.extend(_bigrams(match.group()))
        position = match.end()
    if position < len(word):
        terms.append(word[position:])
    return terms


CHUNK_CACHE = 200_000
"""Whitespace-separated pieces of names whose terms are kept, per mark; cleared when full.

Names are made of a vocabulary far smaller than the number of names, so the
build folds each distinct piece once. Folding piece by piece equals folding
the whole name: whitespace always separates words, and neither NFKC, NFD nor
casefold combines characters across it.
"""
_CACHES: dict[str, dict[str, str]] = {}


def terms_text(text: str | None, mark: str = "") -> str:
    """The index terms of a name, `mark` prepended to each, separated by spaces."""
    if not text:
        return ""
    if text.isascii():  # most names: one regex pass, no per-piece work (`words`, inlined)
        plain = _ASCII_WORD.findall(text.lower())
        return mark + (" " + mark).join(plain) if mark and plain else " ".join(plain)
    cache = _CACHES.get(mark)
    if cache is None:
        cache = _CACHES.setdefault(mark, {})
    parts = []
    for piece in text.split():
        found = cache.get(piece)
        if found is None:
            if len(cache) >= CHUNK_CACHE:
                cache.clear()
            found = cache[piece] = " ".join(
                mark + term for word in words(piece) for term in word_terms(word)
            )
        if found:
            parts.append(found)
    return " ".join(parts)


_ASCII_WORD_BYTE = re.compile(rb"[A-Za-z0-9]")
_FTS5_TOKEN_CHARS = b"_"
"""Characters the index's `ascii` tokenizer keeps inside words besides letters and digits
(`tokenchars` in the schema): the marks."""


def name_terms_text(raw: bytes, mark: str = "") -> str:
    """`terms_text` of a name as the dump stores it (UTF-8, invalid bytes as U+FFFD).

    An unmarked ASCII name is its own terms text when it holds no token character
    of the index's `ascii` tokenizer but letters and digits: that tokenizer
    lowercases and splits on every other ASCII character, which is the rule for
    ASCII (`words`), so FTS5 makes the same terms from it. Two thirds of titles
    are such names; they skip folding in Python. A newline is kept out too: the
    build separates rows by newlines.
    """
    if (
        not mark
        and raw.isascii()
        and _FTS5_TOKEN_CHARS not in raw
        and b"\n" not in raw
        and _ASCII_WORD_BYTE.search(raw) is not None
    ):
        return raw.decode("ascii")
    return terms_text(raw.decode(errors="replace"), mark)


def terms(text: str | None, mark: str = "") -> list[str]:
    """Index terms of a name (with `mark` prepended to each), in order, duplicates kept."""
    return terms_text(text, mark).split()


@dataclass(frozen=True, slots=True)
class QueryTerm:
    """One term a match requires: `text` exactly, or any term starting with it (`prefix`)."""

    text: str
    prefix: bool = False

    def fts5(self, mark: str = "") -> str:
        """The FTS5 query syntax for this term (a quoted string, `*` for a prefix)."""
        quoted = '"' + (mark + self.text).replace('"', '""') + '"'
        return quoted + "*" if self.prefix else quoted


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """A query's required terms and the no-space runs (3+ characters) to check as substrings."""

    terms: tuple[QueryTerm, ...]
    substring_checks: tuple[str, ...]


def parse_query(text: str | None) -> ParsedQuery:
    """Terms of a user query: the index rule, plus `word*` for a prefix.

    A `*` right after a word makes it a prefix; elsewhere `*` is a separator
    like any other punctuation. A prefix on a no-space run applies to its last
    bigram (or to the one character of a one-character run).
    """
    if not text:
        return ParsedQuery((), ())
    found: list[QueryTerm] = []
    checks: list[str] = []
    for word, prefix in _scan(fold(text)):
        pieces = word_terms(word)
        for index, piece in enumerate(pieces):
            found.append(QueryTerm(piece, prefix and index == len(pieces) - 1))
        checks.extend(run for run in _NO_SPACE_RUN.findall(word) if len(run) >= 3)
    unique = tuple(dict.fromkeys(found))
    return ParsedQuery(unique, tuple(dict.fromkeys(checks)))


def folded_name(text: str | None) -> str:
    """A name's words joined by spaces: what `substring_checks` runs are looked for in."""
    return " ".join(words(text)) if text else ""
