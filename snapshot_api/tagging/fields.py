"""What `tag` writes, and under which tag name in each format: one table per format.

Like beets' mediafile, one place says which tag of which format holds which
field, so reading, proposing and writing can never disagree about a name.
The names are the ones Picard and beets read and write (Picard's
"Tag mapping", mediafile's storage styles), so a file tagged here looks
right in both; the Spotify ids use the `SPOTIFY_*_ID` names (`TXXX:` frames
in ID3, `----:com.apple.iTunes:` atoms in MP4).

A `Slot` is one tag of one format. Most hold one field; the ID3 and MP4
number tags hold a number and a total together (`TRCK` = "3/12", MP4 `trkn`
= (3, 12)), so such a slot names both fields. Vorbis `TRACKNUMBER` and
`DISCNUMBER` are read the same way ("3/12" is seen, and happens in the wild)
but written with the number only, the total having a tag of its own.
Values are always text here (`("3/12",)`, `("Adele",)`, several values for
multi-valued tags); the format modules convert to what mutagen stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Field(StrEnum):
    """A piece of information `tag` fills, whatever the format; the value is its JSON name."""

    TITLE = "title"
    ARTIST = "artist"
    ALBUM = "album"
    ALBUMARTIST = "albumartist"
    DATE = "date"
    TRACKNUMBER = "tracknumber"
    TRACKTOTAL = "tracktotal"
    DISCNUMBER = "discnumber"
    ISRC = "isrc"
    BARCODE = "barcode"
    LABEL = "label"
    COPYRIGHT = "copyright"
    SPOTIFY_TRACK_ID = "spotify_track_id"
    SPOTIFY_ALBUM_ID = "spotify_album_id"
    SPOTIFY_ARTIST_ID = "spotify_artist_id"


MULTI_VALUED = frozenset({Field.ARTIST, Field.ALBUMARTIST, Field.SPOTIFY_ARTIST_ID})
"""Fields written as one value per artist (ID3 v2.4 null-separated, repeated Vorbis
comments, several MP4 strings), not joined into one string."""

NUMBERS = frozenset({Field.TRACKNUMBER, Field.TRACKTOTAL, Field.DISCNUMBER})
"""Fields compared as numbers: a file's "03" is the snapshot's 3."""


class Format(StrEnum):
    """The tag formats `tag` reads and writes (the container decides which)."""

    ID3 = "id3"
    VORBIS = "vorbis"
    MP4 = "mp4"


@dataclass(frozen=True, slots=True)
class Slot:
    """One tag of one format: its name as mutagen keys it, and the field(s) it holds.

    `numbered`: the tag holds "NUMBER[/TOTAL]"; `field` is the number and
    `total` the field of the total (None when the format keeps the total in a
    tag of its own: then a total already in the file is kept as it is).
    """

    name: str
    field: Field
    numbered: bool = False
    total: Field | None = None


def _txxx(description: str, field: Field) -> Slot:
    return Slot(f"TXXX:{description}", field)


def _itunes(name: str, field: Field) -> Slot:
    return Slot(f"----:com.apple.iTunes:{name}", field)


ID3_SLOTS: tuple[Slot, ...] = (
    Slot("TIT2", Field.TITLE),
    Slot("TPE1", Field.ARTIST),
    Slot("TALB", Field.ALBUM),
    Slot("TPE2", Field.ALBUMARTIST),
    Slot("TDRC", Field.DATE),
    Slot("TRCK", Field.TRACKNUMBER, numbered=True, total=Field.TRACKTOTAL),
    Slot("TPOS", Field.DISCNUMBER, numbered=True),
    Slot("TSRC", Field.ISRC),
    _txxx("BARCODE", Field.BARCODE),
    Slot("TPUB", Field.LABEL),
    Slot("TCOP", Field.COPYRIGHT),
    _txxx("SPOTIFY_TRACK_ID", Field.SPOTIFY_TRACK_ID),
    _txxx("SPOTIFY_ALBUM_ID", Field.SPOTIFY_ALBUM_ID),
    _txxx("SPOTIFY_ARTIST_ID", Field.SPOTIFY_ARTIST_ID),
)
"""ID3v2 frames (MP3). `TXXX:DESC` is a user-defined text frame with that description."""

VORBIS_SLOTS: tuple[Slot, ...] = (
    Slot("TITLE", Field.TITLE),
    Slot("ARTIST", Field.ARTIST),
    Slot("ALBUM", Field.ALBUM),
    Slot("ALBUMARTIST", Field.ALBUMARTIST),
    Slot("DATE", Field.DATE),
    Slot("TRACKNUMBER", Field.TRACKNUMBER, numbered=True),
    Slot("TRACKTOTAL", Field.TRACKTOTAL),
    Slot("DISCNUMBER", Field.DISCNUMBER, numbered=True),
    Slot("ISRC", Field.ISRC),
    Slot("BARCODE", Field.BARCODE),
    Slot("LABEL", Field.LABEL),
    Slot("COPYRIGHT", Field.COPYRIGHT),
    Slot("SPOTIFY_TRACK_ID", Field.SPOTIFY_TRACK_ID),
    Slot("SPOTIFY_ALBUM_ID", Field.SPOTIFY_ALBUM_ID),
    Slot("SPOTIFY_ARTIST_ID", Field.SPOTIFY_ARTIST_ID),
)
"""Vorbis comments (FLAC, Ogg Vorbis, Opus); names are case-insensitive in the format."""

MP4_SLOTS: tuple[Slot, ...] = (
    Slot("©nam", Field.TITLE),
    Slot("©ART", Field.ARTIST),
    Slot("©alb", Field.ALBUM),
    Slot("aART", Field.ALBUMARTIST),
    Slot("©day", Field.DATE),
    Slot("trkn", Field.TRACKNUMBER, numbered=True, total=Field.TRACKTOTAL),
    Slot("disk", Field.DISCNUMBER, numbered=True),
    _itunes("ISRC", Field.ISRC),
    _itunes("BARCODE", Field.BARCODE),
    _itunes("LABEL", Field.LABEL),
    Slot("cprt", Field.COPYRIGHT),
    _itunes("SPOTIFY_TRACK_ID", Field.SPOTIFY_TRACK_ID),
    _itunes("SPOTIFY_ALBUM_ID", Field.SPOTIFY_ALBUM_ID),
    _itunes("SPOTIFY_ARTIST_ID", Field.SPOTIFY_ARTIST_ID),
)
"""MP4/M4A iTunes atoms; `----:com.apple.iTunes:NAME` are freeform atoms (UTF-8)."""

SLOTS: dict[Format, tuple[Slot, ...]] = {
    Format.ID3: ID3_SLOTS,
    Format.VORBIS: VORBIS_SLOTS,
    Format.MP4: MP4_SLOTS,
}


def slot_of(tag_format: Format, field: Field) -> Slot:
    """The slot holding `field` (as number or total) in `tag_format`."""
    for slot in SLOTS[tag_format]:
        if field in (slot.field, slot.total):
            return slot
    raise KeyError(field)
