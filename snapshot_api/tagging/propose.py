"""Which tags a file should get from a track document, and which of them to change.

The rules a person tagging a large library expects:
- a tag the file lacks is filled;
- a tag equal to the snapshot's (as a number for numbers, as the canonical
  ISRC or barcode for those) is left alone, whatever its spelling ("03" is 3,
  `us-rc1-76-07839` is `USRC17607839`);
- a tag that differs is kept, unless `overwrite`: the file's owner may have
  corrected it on purpose. Such tags are reported as `kept`, so the user
  sees what `--overwrite` would do;
- a value the snapshot does not have (no label, an empty album name after a
  takedown, a malformed ISRC or barcode in the dump) is never written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from snapshot_api.errors import InvalidIdentifier
from snapshot_api.identifiers import Kind, parse, stored_barcode_key
from snapshot_api.tagging.audio import AudioFile, Values
from snapshot_api.tagging.fields import MULTI_VALUED, NUMBERS, SLOTS, Field, Slot

Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Change:
    """One tag of one file: its values now (None when absent) and the values proposed."""

    tag: str
    old: Values | None
    new: Values


@dataclass(frozen=True, slots=True)
class Proposal:
    """`changes` would be written; `kept` differ from the snapshot but stay (no overwrite)."""

    changes: tuple[Change, ...]
    kept: tuple[Change, ...]

    def new_tags(self) -> dict[str, Values]:
        return {change.tag: change.new for change in self.changes}


def _positive(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def canonical_isrc(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return parse(Kind.ISRC, value)
    except InvalidIdentifier:
        return None


def canonical_barcode(value: object) -> int | None:
    return stored_barcode_key(value) if isinstance(value, str) else None


def track_values(track: Document) -> dict[Field, Values]:
    """Every field `tag` fills, from a track document (with its album), as text values."""
    album: Document = track.get("album") or {}
    artists: list[Document] = track.get("artists") or []
    album_artists: list[Document] = album.get("artists") or []
    barcode = album.get("upc")
    values: dict[Field, Values] = {}

    def put(field: Field, *items: object) -> None:
        texts = tuple(str(item).strip() for item in items if item is not None)
        texts = tuple(text for text in texts if text)
        if texts:
            values[field] = texts

    put(Field.TITLE, track.get("name"))
    put(Field.ARTIST, *(artist.get("name") for artist in artists))
    put(Field.ALBUM, album.get("name"))
    put(Field.ALBUMARTIST, *(artist.get("name") for artist in album_artists))
    put(Field.DATE, album.get("release_date"))
    put(Field.TRACKNUMBER, _positive(track.get("track_number")))
    put(Field.TRACKTOTAL, _positive(album.get("total_tracks")))
    put(Field.DISCNUMBER, _positive(track.get("disc_number")))
    put(Field.ISRC, canonical_isrc(track.get("isrc")))
    put(Field.BARCODE, barcode if canonical_barcode(barcode) is not None else None)
    put(Field.LABEL, album.get("label"))
    put(Field.COPYRIGHT, album.get("copyright"))
    put(Field.SPOTIFY_TRACK_ID, track.get("id"))
    put(Field.SPOTIFY_ALBUM_ID, album.get("id"))
    put(Field.SPOTIFY_ARTIST_ID, *(artist.get("id") for artist in artists))
    return values


_LEADING_NUMBER = re.compile(r"\s*0*(\d+)\s*$")


def comparison_key(field: Field, text: str) -> object:
    """What two spellings of one value have in common (the text itself for most fields)."""
    if field in NUMBERS:
        match = _LEADING_NUMBER.match(text)
        return int(match.group(1)) if match else text
    if field is Field.ISRC:
        return canonical_isrc(text) or text
    if field is Field.BARCODE:
        return canonical_barcode(text) or text
    return text


def same(field: Field, old: Values, new: Values) -> bool:
    if field in MULTI_VALUED:
        return old == new
    return len(old) == len(new) == 1 and comparison_key(field, old[0]) == comparison_key(
        field, new[0]
    )


def _split_number(values: Values | None) -> tuple[str | None, str | None]:
    if not values:
        return None, None
    number, _, total = values[0].partition("/")
    return number.strip() or None, total.strip() or None


def _choose(
    field: Field, old: str | None, new: str | None, overwrite: bool
) -> tuple[str | None, bool]:
    """(value to write, whether a differing old value was kept)."""
    if new is None:
        return old, False
    if old is None or comparison_key(field, old) == comparison_key(field, new):
        return (new if old is None else old), False
    return (new, False) if overwrite else (old, True)


def _numbered(
    slot: Slot, old: Values | None, wanted: dict[Field, Values], overwrite: bool
) -> tuple[Change | None, Change | None]:
    old_number, old_total = _split_number(old)
    new_number = wanted.get(slot.field, (None,))[0]
    new_total = wanted.get(slot.total, (None,))[0] if slot.total else old_total
    number, number_kept = _choose(slot.field, old_number, new_number, overwrite)
    total, total_kept = (
        _choose(slot.total, old_total, new_total, overwrite) if slot.total else (old_total, False)
    )
    if number is None:
        return None, None
    text = (f"{number}/{total}" if total else number,)
    change = Change(slot.name, old, text) if text != old else None
    kept = None
    if number_kept or total_kept:
        overwritten, _ = _numbered(slot, old, wanted, True)
        kept = Change(slot.name, old, overwritten.new if overwritten else text)
    return change, kept


def propose(file: AudioFile, track: Document, *, overwrite: bool = False) -> Proposal:
    """The tag changes that give `file` the values of `track` (see the module docstring)."""
    wanted = track_values(track)
    changes: list[Change] = []
    kept: list[Change] = []
    for slot in SLOTS[file.tag_format]:
        old = file.slot_values(slot)
        if slot.numbered:
            change, differs = _numbered(slot, old, wanted, overwrite)
        else:
            new = wanted.get(slot.field)
            change = differs = None
            if new is None:
                continue
            if old is None:
                change = Change(slot.name, None, new)
            elif not same(slot.field, old, new):
                if overwrite:
                    change = Change(slot.name, old, new)
                else:
                    differs = Change(slot.name, old, new)
        if change is not None:
            changes.append(change)
        if differs is not None:
            kept.append(differs)
    return Proposal(tuple(changes), tuple(kept))
