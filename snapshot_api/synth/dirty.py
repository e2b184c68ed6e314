"""The dirty cases a synthetic dump contains, each defined as a query, and a way to find them.

Tests of other parts (documents, build, server) need real examples of dirty
values without hard-coding generated ones: `find_dirty(directory)` returns up
to `limit` examples of every case, read from the files. Each case is one SQL
query (run on the main database with the track_files database attached as
`tf`) and an optional Python test on each value, so its definition can be
read here in one place. The queries scan whole tables: meant for test-sized
dumps (thousands of tracks), not for the real one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import apsw

from snapshot_api.layout import FILE_NAMES, Role
from snapshot_api.synth.text import Script
from snapshot_api.synth.values import JUNK_ISRCS, gtin_check_digit

_ISRC = re.compile(r"[A-Z]{2}[A-Z0-9]{3}[0-9]{7}")

SCRIPT_PATTERNS: dict[Script, re.Pattern[str]] = {
    Script.LATIN: re.compile(r"^[A-Za-z ]+$"),
    Script.DIACRITICS: re.compile("[\u00c0-\u024f\u1e00-\u1eff\u0300-\u036f]"),
    Script.CYRILLIC: re.compile("[\u0400-\u04ff]"),
    Script.GREEK: re.compile("[\u0370-\u03ff]"),
    Script.CJK: re.compile("[\u4e00-\u9fff\U00020000-\U0002a6df]"),
    Script.KANA: re.compile("[\u3040-\u30ff]"),
    Script.HANGUL: re.compile("[\uac00-\ud7af]"),
    Script.ARABIC: re.compile("[\u0600-\u06ff]"),
    Script.HEBREW: re.compile("[\u0590-\u05ff]"),
    Script.DEVANAGARI: re.compile("[\u0900-\u097f]"),
    Script.THAI: re.compile("[\u0e00-\u0e7f]"),
    Script.EMOJI: re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]"),
}
"""A name is 'in' a script when it has a character of these ranges (Latin: only ASCII)."""


def _is_lower_isrc(value: str) -> bool:
    return value == value.lower() and bool(_ISRC.fullmatch(value.upper()))


def _is_hyphenated_isrc(value: str) -> bool:
    return "-" in value and bool(_ISRC.fullmatch(value.replace("-", "")))


def _is_short_isrc(value: str) -> bool:
    return 5 <= len(value) < 12 and value.isalnum() and value == value.upper()


def _is_bad_check(value: str) -> bool:
    return value.isdigit() and len(value) in (12, 13) and not _check_ok(value)


def _check_ok(value: str) -> bool:
    return gtin_check_digit(value[:-1]) == int(value[-1])


def _json_status(value: str) -> str:
    try:
        decoded = json.loads(value)
    except ValueError:
        return "malformed"
    return "array" if isinstance(decoded, list) else "not_array"


def _matches(pattern: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda value: pattern.search(value) is not None


def _json_is(status: str) -> Callable[[str], bool]:
    return lambda value: _json_status(value) == status


@dataclass(frozen=True, slots=True)
class DirtyCase:
    name: str
    sql: str
    accept: Callable[[Any], bool] | None = None
    track_files: bool = False


_NAMES = (
    "SELECT name FROM tracks UNION ALL SELECT name FROM albums UNION ALL SELECT name FROM artists"
)
_ISRCS = "SELECT external_id_isrc FROM tracks WHERE external_id_isrc IS NOT NULL"
_UPCS = "SELECT external_id_upc FROM albums WHERE external_id_upc IS NOT NULL"

CASES: tuple[DirtyCase, ...] = (
    DirtyCase(
        "isrc_shared",
        "SELECT external_id_isrc FROM tracks WHERE external_id_isrc IS NOT NULL "
        "GROUP BY external_id_isrc HAVING count(*) > 1",
    ),
    DirtyCase("isrc_null", "SELECT id FROM tracks WHERE external_id_isrc IS NULL"),
    DirtyCase("isrc_lowercase", _ISRCS, _is_lower_isrc),
    DirtyCase("isrc_hyphenated", _ISRCS, _is_hyphenated_isrc),
    DirtyCase("isrc_too_short", _ISRCS, _is_short_isrc),
    DirtyCase("isrc_junk", _ISRCS, lambda value: value in JUNK_ISRCS),
    DirtyCase("upc_null", "SELECT id FROM albums WHERE external_id_upc IS NULL"),
    DirtyCase("upc_a", _UPCS, lambda v: v.isdigit() and len(v) == 12 and _check_ok(v)),
    DirtyCase(
        "upc_as_ean_13",
        _UPCS,
        lambda v: v.isdigit() and len(v) == 13 and v[0] == "0" and _check_ok(v),
    ),
    DirtyCase(
        "ean_13", _UPCS, lambda v: v.isdigit() and len(v) == 13 and v[0] != "0" and _check_ok(v)
    ),
    DirtyCase(
        "upc_both_spellings",
        "SELECT a.external_id_upc FROM albums AS a JOIN albums AS b "
        "ON b.external_id_upc = '0' || a.external_id_upc WHERE length(a.external_id_upc) = 12",
    ),
    DirtyCase("upc_bad_check_digit", _UPCS, _is_bad_check),
    DirtyCase("upc_letters", _UPCS, lambda v: any(c.isalpha() for c in v)),
    DirtyCase("upc_too_short", _UPCS, lambda v: v.isdigit() and len(v) < 8),
    DirtyCase("album_name_empty", "SELECT id FROM albums WHERE name = ''"),
    DirtyCase("artist_name_empty", "SELECT id FROM artists WHERE name = ''"),
    *(
        DirtyCase(f"name_{script.value}", _NAMES, _matches(pattern))
        for script, pattern in SCRIPT_PATTERNS.items()
    ),
    DirtyCase("name_nfd_combining_mark", _NAMES, lambda v: "\u0301" in v),
    DirtyCase("name_outside_bmp", _NAMES, lambda v: any(ord(c) > 0xFFFF for c in v)),
    DirtyCase(
        "album_image_duplicate",
        "SELECT album_rowid FROM album_images GROUP BY album_rowid, url, width, height "
        "HAVING count(*) > 1",
    ),
    DirtyCase(
        "artist_image_duplicate",
        "SELECT artist_rowid FROM artist_images GROUP BY artist_rowid, url, width, height "
        "HAVING count(*) > 1",
    ),
    DirtyCase(
        "album_without_images",
        "SELECT id FROM albums WHERE rowid NOT IN (SELECT album_rowid FROM album_images)",
    ),
    DirtyCase(
        "artist_without_images",
        "SELECT id FROM artists WHERE rowid NOT IN (SELECT artist_rowid FROM artist_images)",
    ),
    DirtyCase("multi_disc_album", "SELECT DISTINCT album_rowid FROM tracks WHERE disc_number > 1"),
    DirtyCase("compilation", "SELECT id FROM albums WHERE album_type = 'compilation'"),
    DirtyCase("appears_on", "SELECT album_rowid FROM artist_albums WHERE is_appears_on = 1"),
    DirtyCase(
        "implicit_appears_on",
        "SELECT album_rowid FROM artist_albums WHERE is_implicit_appears_on = 1",
    ),
    DirtyCase(
        "album_artists_not_in_rowid_order",
        "SELECT a.album_rowid FROM artist_albums AS a JOIN artist_albums AS b "
        "ON a.album_rowid = b.album_rowid AND a.rowid < b.rowid "
        "WHERE a.index_in_album > b.index_in_album",
    ),
    DirtyCase(
        "track_artist_missing",
        "SELECT artist_rowid FROM track_artists "
        "WHERE artist_rowid NOT IN (SELECT rowid FROM artists)",
    ),
    DirtyCase(
        "album_artist_missing",
        "SELECT artist_rowid FROM artist_albums "
        "WHERE artist_rowid NOT IN (SELECT rowid FROM artists)",
    ),
    DirtyCase("popular_track", "SELECT id FROM tracks WHERE popularity >= 50"),
    DirtyCase("preview_url_null", "SELECT id FROM tracks WHERE preview_url IS NULL"),
    DirtyCase("copyright_c_null", "SELECT id FROM albums WHERE copyright_c IS NULL"),
    DirtyCase("copyright_p_null", "SELECT id FROM albums WHERE copyright_p IS NULL"),
    DirtyCase("explicit", "SELECT id FROM tracks WHERE explicit = 1"),
    DirtyCase("not_explicit", "SELECT id FROM tracks WHERE explicit = 0"),
    DirtyCase(
        "track_files_missing",
        "SELECT id FROM tracks WHERE id NOT IN (SELECT track_id FROM tf.track_files)",
        track_files=True,
    ),
    DirtyCase(
        "enrichment_null",
        "SELECT track_id FROM tf.track_files WHERE language_of_performance IS NULL "
        "AND artist_roles IS NULL AND has_lyrics IS NULL",
        track_files=True,
    ),
    *(
        DirtyCase(
            f"{label}_{status}",
            f"SELECT {column} FROM tf.track_files WHERE {column} IS NOT NULL",
            _json_is(status),
            track_files=True,
        )
        for label, column in (("languages", "language_of_performance"), ("roles", "artist_roles"))
        for status in ("malformed", "not_array")
    ),
    *(
        DirtyCase(
            f"has_lyrics_{label}",
            f"SELECT track_id FROM tf.track_files WHERE has_lyrics {condition}",
            track_files=True,
        )
        for label, condition in (("null", "IS NULL"), ("0", "= 0"), ("1", "= 1"))
    ),
)


def _open_read_only(path: Path) -> str:
    return "file:" + quote(str(path.resolve())) + "?mode=ro"


def find_dirty(directory: Path, limit: int = 3) -> dict[str, list[Any]]:
    """Up to `limit` examples of every dirty case in the dump in `directory` (test-sized).

    Cases of the track_files database are left out when that file is absent.
    A case with no example maps to an empty list.
    """
    main = directory / FILE_NAMES[Role.MAIN][0]
    files = directory / FILE_NAMES[Role.TRACK_FILES][0]
    flags = apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI
    db = apsw.Connection(_open_read_only(main), flags=flags)
    try:
        has_files = files.is_file()
        if has_files:
            db.execute("ATTACH ? AS tf", (_open_read_only(files),))
        found: dict[str, list[Any]] = {}
        for case in CASES:
            if case.track_files and not has_files:
                continue
            examples: list[Any] = []
            for (value,) in db.execute(case.sql):
                if case.accept is None or (value is not None and case.accept(value)):
                    examples.append(value)
                    if len(examples) >= limit:
                        break
            found[case.name] = examples
        return found
    finally:
        db.close()
