"""The fields of every document kind: the one table the SQL and the JSON Schemas are made from.

A field says where its value comes from (a column of the kind's row, or the
rows of a related table), how it appears (always; omitted when NULL; a
boolean; a list of the strings in a JSON-array column; a nested document; a
list) and what it means. `sql` renders documents from this table inside
SQLite and `schemas` describes them from it, so a field added here appears in
both or in neither. Each kind's columns are written with the alias its
statements give its table (`t`, `al`, `ar`, `i`, and `f` for track_files).

The document rules the table encodes: NULL columns and empty lists are
omitted, an empty string is kept, images are widest first without duplicate
rows, genres in table order, album artists by `index_in_album`, track artists
in `track_artists` rowid order, `explicit`/`has_lyrics` are booleans, the
track_files JSON columns count only when they hold a JSON array (malformed
JSON is dropped, never an error), and a missing album or artist row is left
out of the document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Shape(StrEnum):
    """How a field appears in a document."""

    ALWAYS = "always"
    """A NOT NULL column: always present."""
    OPTIONAL = "optional"
    """A nullable column: omitted when NULL."""
    BOOLEAN = "boolean"
    """A 0/1 column as true/false; omitted when NULL."""
    STRING_ARRAY = "string-array"
    """A column holding a JSON array: its string items; omitted when not an array or empty."""
    NESTED = "nested"
    """Another kind's document from a joined row; omitted when the row is missing."""
    LIST = "list"
    """Items from the rows of a related table; omitted when there are none."""


@dataclass(frozen=True, slots=True)
class Rows:
    """Where a list field's items come from, and in what order.

    `source` is the FROM and WHERE clause (every table with its index
    placeholder `@table.column@`); `order` an ORDER BY inside the aggregate
    (empty where the pinned index already gives the order); `distinct` an
    expression list grouped by and sorted on (duplicate rows removed and
    ordered with one sorter); `probe_first` tests with EXISTS before
    aggregating, cheaper where the list is often empty (SQLite opens a sorter
    even for no rows: artist documents rendered 1.6x faster with half the
    artists having no images).
    """

    source: str
    order: str = ""
    distinct: str = ""
    probe_first: bool = False


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a document kind.

    `source`: for column shapes, the SQL expression of the value; for NESTED,
    the joined row's rowid (NULL when the reference dangles). `value`: the
    JSON type of a column's value ("string", "integer", "boolean"), or the
    name of the kind a NESTED field or a LIST's items are documents of, or
    "string" for lists of strings. `item`: for a list of strings, the SQL
    expression of one item. `group`: fields of the optional track_files
    database are "track_files", rendered only when it is there.
    `constraints`: further JSON Schema keywords of the value.
    """

    name: str
    shape: Shape
    value: str
    description: str
    source: str = ""
    rows: Rows | None = None
    item: str = ""
    group: str = "main"
    constraints: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DocumentKind:
    """A kind of document: its schema component name, description and fields in order."""

    name: str
    description: str
    fields: tuple[Field, ...]

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


STRING = "string"
INTEGER = "integer"
BOOLEAN = "boolean"

IMAGE = DocumentKind(
    "Image",
    "An image; lists of images are widest first, duplicates removed.",
    (
        Field("url", Shape.ALWAYS, STRING, "Address of the image file.", "i.url"),
        Field("width", Shape.ALWAYS, INTEGER, "Width in pixels.", "i.width"),
        Field("height", Shape.ALWAYS, INTEGER, "Height in pixels.", "i.height"),
    ),
)


def _images(table: str, owner_column: str, owner: str, *, probe_first: bool = False) -> Field:
    return Field(
        "images",
        Shape.LIST,
        IMAGE.name,
        "Images, widest first, duplicate rows removed.",
        rows=Rows(
            f"FROM {table} AS i INDEXED BY @{table}.{owner_column}@"
            f" WHERE i.{owner_column} = {owner}",
            distinct="-i.width, -i.height, i.url",
            probe_first=probe_first,
        ),
    )


ARTIST = DocumentKind(
    "Artist",
    "An artist. Empty lists are omitted.",
    (
        Field("id", Shape.ALWAYS, STRING, "22-character Spotify id.", "ar.id"),
        Field("name", Shape.ALWAYS, STRING, "The artist's name.", "ar.name"),
        Field("followers", Shape.ALWAYS, INTEGER, "Spotify followers.", "ar.followers_total"),
        Field(
            "popularity",
            Shape.ALWAYS,
            INTEGER,
            "Spotify popularity, 0 to 100.",
            "ar.popularity",
            constraints={"minimum": 0, "maximum": 100},
        ),
        Field(
            "genres",
            Shape.LIST,
            STRING,
            "Genres, in table order.",
            rows=Rows(
                "FROM artist_genres AS g INDEXED BY @artist_genres.artist_rowid@"
                " WHERE g.artist_rowid = ar.rowid"
            ),
            item="json_quote(g.genre)",
        ),
        _images("artist_images", "artist_rowid", "ar.rowid", probe_first=True),
    ),
)

ALBUM = DocumentKind(
    "Album",
    "An album. NULL columns and empty lists are omitted.",
    (
        Field("id", Shape.ALWAYS, STRING, "22-character Spotify id.", "al.id"),
        Field("name", Shape.ALWAYS, STRING, 'The title; may be "" (taken down).', "al.name"),
        Field("type", Shape.ALWAYS, STRING, "album, single or compilation.", "al.album_type"),
        Field("label", Shape.OPTIONAL, STRING, "The record label.", "al.label"),
        Field("release_date", Shape.OPTIONAL, STRING, "As precise as `release_date_precision`.",
              "al.release_date"),
        Field("release_date_precision", Shape.OPTIONAL, STRING, "year, month or day.",
              "al.release_date_precision"),
        Field("upc", Shape.OPTIONAL, STRING, "The barcode as stored in the dump.",
              "al.external_id_upc"),
        Field("total_tracks", Shape.OPTIONAL, INTEGER, "Tracks on the album.", "al.total_tracks"),
        Field("copyright", Shape.OPTIONAL, STRING, "The © line.", "al.copyright_c"),
        Field("copyright_p", Shape.OPTIONAL, STRING, "The ℗ line.", "al.copyright_p"),
        Field("popularity", Shape.OPTIONAL, INTEGER, "Spotify popularity, 0 to 100.",
              "al.popularity"),
        _images("album_images", "album_rowid", "al.rowid"),
        Field(
            "artists",
            Shape.LIST,
            ARTIST.name,
            "The album's own artists, in order.",
            rows=Rows(
                "FROM artist_albums AS aa INDEXED BY @artist_albums.album_rowid@"
                " CROSS JOIN artists AS ar ON ar.rowid = aa.artist_rowid"
                " WHERE aa.album_rowid = al.rowid"
                " AND aa.is_appears_on = 0 AND aa.is_implicit_appears_on = 0",
                order="aa.index_in_album",
            ),
        ),
    ),
)  # fmt: skip

TRACK = DocumentKind(
    "Track",
    "A track with its album. NULL columns and empty lists are omitted; the track_files "
    "fields are absent when the snapshot has no track_files database.",
    (
        Field("id", Shape.ALWAYS, STRING, "22-character Spotify id.", "t.id"),
        Field("name", Shape.ALWAYS, STRING, "The title.", "t.name"),
        Field("isrc", Shape.OPTIONAL, STRING, "The ISRC as stored in the dump.",
              "t.external_id_isrc"),
        Field("duration_ms", Shape.OPTIONAL, INTEGER, "Length in milliseconds.", "t.duration_ms"),
        Field("explicit", Shape.BOOLEAN, BOOLEAN, "Explicit lyrics.", "t.explicit"),
        Field("track_number", Shape.OPTIONAL, INTEGER, "Position on its disc.", "t.track_number"),
        Field("disc_number", Shape.OPTIONAL, INTEGER, "Disc of the album.", "t.disc_number"),
        Field("popularity", Shape.OPTIONAL, INTEGER, "Spotify popularity, 0 to 100.",
              "t.popularity"),
        Field("preview_url", Shape.OPTIONAL, STRING, "A 30-second preview.", "t.preview_url"),
        Field("album", Shape.NESTED, ALBUM.name, "The track's album.", "al.rowid"),
        Field(
            "artists",
            Shape.LIST,
            ARTIST.name,
            "The track's artists, in order.",
            rows=Rows(
                "FROM track_artists AS ta INDEXED BY @track_artists.track_rowid@"
                " CROSS JOIN artists AS ar ON ar.rowid = ta.artist_rowid"
                " WHERE ta.track_rowid = t.rowid"
            ),
        ),
        Field("original_title", Shape.OPTIONAL, STRING,
              "From track_files: the title without suffixes.", "f.original_title",
              group="track_files"),
        Field("version_title", Shape.OPTIONAL, STRING, 'From track_files, e.g. "Radio Edit".',
              "f.version_title", group="track_files"),
        Field("has_lyrics", Shape.BOOLEAN, BOOLEAN, "From track_files.", "f.has_lyrics",
              group="track_files"),
        Field("languages", Shape.STRING_ARRAY, STRING, "From track_files: language codes.",
              "f.language_of_performance", group="track_files"),
        Field("artist_roles", Shape.STRING_ARRAY, STRING, "From track_files: one per artist.",
              "f.artist_roles", group="track_files"),
    ),
)  # fmt: skip

ALBUM_TRACK = DocumentKind(
    "AlbumTrack",
    "A track in an album listing: a track document without `album`.",
    tuple(f for f in TRACK.fields if f.name != "album"),
)

KINDS: dict[str, DocumentKind] = {
    kind.name: kind for kind in (IMAGE, ARTIST, ALBUM, TRACK, ALBUM_TRACK)
}
"""Every document kind by its schema component name."""

NUMBER = "number"

_AUDIO_FEATURES_NUMBERS: tuple[tuple[str, str, str], ...] = (
    ("duration_ms", INTEGER, "Length of the analysed audio in milliseconds."),
    ("time_signature", INTEGER, "Estimated beats per bar (3 to 7)."),
    ("tempo", NUMBER, "Estimated tempo in beats per minute."),
    ("key", INTEGER, "Pitch class of the key (0 = C, ..., 11 = B; -1 when none was found)."),
    ("mode", INTEGER, "1 for major, 0 for minor."),
    ("danceability", NUMBER, "0.0 to 1.0."),
    ("energy", NUMBER, "0.0 to 1.0."),
    ("loudness", NUMBER, "Average loudness in dB (typically -60 to 0)."),
    ("speechiness", NUMBER, "0.0 to 1.0."),
    ("acousticness", NUMBER, "0.0 to 1.0."),
    ("instrumentalness", NUMBER, "0.0 to 1.0."),
    ("liveness", NUMBER, "0.0 to 1.0."),
    ("valence", NUMBER, "0.0 to 1.0 (musical positiveness)."),
)

AUDIO_FEATURES = DocumentKind(
    "AudioFeatures",
    "A track's audio features, from the audio features database. NULL columns are omitted; "
    "a track without a row, or whose row is a null response, has none.",
    (
        Field("id", Shape.ALWAYS, STRING, "The track's 22-character Spotify id.", "a.track_id"),
        *(
            Field(name, Shape.OPTIONAL, value, description, f"a.{name}")
            for name, value, description in _AUDIO_FEATURES_NUMBERS
        ),
    ),
)
"""Audio features: a kind of its own, outside `KINDS` (no other document nests it)."""
