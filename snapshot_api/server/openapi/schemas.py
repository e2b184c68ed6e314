"""The component schemas: documents, batch bodies, errors and status answers."""

from __future__ import annotations

from snapshot_api.server.errors import ErrorCode
from snapshot_api.server.openapi.parts import BOOLEAN, INTEGER, STRING, Schema, array, obj, ref

IMAGE = obj(
    {"url": STRING, "width": INTEGER, "height": INTEGER},
    ["url", "width", "height"],
    "An image; lists of images are widest first, duplicates removed.",
)

ARTIST = obj(
    {
        "id": {**STRING, "description": "22-character Spotify id"},
        "name": STRING,
        "followers": INTEGER,
        "popularity": {**INTEGER, "minimum": 0, "maximum": 100},
        "genres": {**array(STRING), "description": "In table order."},
        "images": array(ref("Image")),
    },
    ["id", "name", "followers", "popularity"],
    "An artist. Empty lists are omitted.",
)

ALBUM = obj(
    {
        "id": STRING,
        "name": {**STRING, "description": 'May be "" (a taken-down album).'},
        "type": {**STRING, "description": "album, single or compilation"},
        "label": STRING,
        "release_date": STRING,
        "release_date_precision": {**STRING, "description": "year, month or day"},
        "upc": {**STRING, "description": "The barcode as stored in the dump."},
        "total_tracks": INTEGER,
        "copyright": STRING,
        "copyright_p": STRING,
        "popularity": INTEGER,
        "images": array(ref("Image")),
        "artists": {**array(ref("Artist")), "description": "The album's own artists, in order."},
    },
    ["id", "name", "type"],
    "An album. NULL columns and empty lists are omitted.",
)

_TRACK_FIELDS: dict[str, Schema] = {
    "id": STRING,
    "name": STRING,
    "isrc": STRING,
    "duration_ms": INTEGER,
    "explicit": BOOLEAN,
    "track_number": INTEGER,
    "disc_number": INTEGER,
    "popularity": INTEGER,
    "preview_url": STRING,
    "artists": {**array(ref("Artist")), "description": "The track's artists, in order."},
    "original_title": {**STRING, "description": "From track_files: title without suffixes."},
    "version_title": {**STRING, "description": 'From track_files, e.g. "Radio Edit".'},
    "has_lyrics": {**BOOLEAN, "description": "From track_files."},
    "languages": {**array(STRING), "description": "From track_files: language codes."},
    "artist_roles": {**array(STRING), "description": "From track_files: one per artist."},
}

TRACK = obj(
    {**_TRACK_FIELDS, "album": ref("Album")},
    ["id", "name"],
    "A track with its album. NULL columns and empty lists are omitted; the track_files "
    "fields are absent when the snapshot has no track_files database.",
)

ALBUM_TRACK = obj(
    _TRACK_FIELDS, ["id", "name"], "A track in an album listing: a track document without `album`."
)

ERROR: Schema = {
    "type": "object",
    "description": "Every error answer. `error` may carry more fields (e.g. `values`, `limit`).",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "enum": [code.value for code in ErrorCode]},
                "message": {"type": "string", "description": "For people; names the value."},
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}
ERROR_OBJECT: Schema = ERROR["properties"]["error"]

_SECTIONS = ("isrcs", "upcs", "tracks", "albums", "artists")


def _per_kind(items: Schema, description: str) -> Schema:
    return obj(dict.fromkeys(_SECTIONS, items), _SECTIONS, description)


BATCH_REQUEST = {
    "type": "object",
    "description": "Lists of identifiers as pasted; every key optional, at least one item "
    "in all (malformed items are answered in `invalid`, not refused).",
    "properties": {key: array(STRING) for key in _SECTIONS},
    "additionalProperties": False,
    "minProperties": 1,
    "anyOf": [{"required": [key], "properties": {key: {"minItems": 1}}} for key in _SECTIONS],
}

BATCH_RESPONSE = obj(
    {
        "isrcs": {
            "type": "object",
            "additionalProperties": {**array(ref("Track")), "minItems": 1},
            "description": "ISRC as sent → its tracks, most popular first.",
        },
        "upcs": {
            "type": "object",
            "additionalProperties": {**array(ref("Album")), "minItems": 1},
            "description": "Barcode as sent → its albums, most popular first.",
        },
        "tracks": {"type": "object", "additionalProperties": ref("Track")},
        "albums": {"type": "object", "additionalProperties": ref("Album")},
        "artists": {"type": "object", "additionalProperties": ref("Artist")},
        "not_found": _per_kind(array(STRING), "Well-formed items with no document, as sent."),
        "invalid": _per_kind(array(STRING), "Malformed items, as sent."),
        "invalid_reasons": _per_kind(
            {"type": "object", "additionalProperties": STRING},
            "Why each item in `invalid` was refused: item as sent → reason (same keys as "
            "`invalid`).",
        ),
    },
    ["isrcs", "upcs", "tracks", "albums", "artists", "not_found", "invalid", "invalid_reasons"],
    "Every distinct item appears exactly once: in its kind's section, in `not_found` or in "
    "`invalid` (with its reason in `invalid_reasons`). All eight keys are always present.",
)

RATE_LIMIT_STATE = obj(
    {
        "store": {"enum": ["off", "memory", "shared_memory", "redis"]},
        "limiting": BOOLEAN,
        "url": {**STRING, "description": "The Redis URL, without user or password."},
        "reason": {"enum": ["timeout", "unreachable", "error"]},
        "error": STRING,
        "since": {**STRING, "description": "When Redis stopped answering (UTC)."},
    },
    ["store", "limiting"],
    "Whether this worker process limits requests now; false with a reason while Redis "
    "cannot be used (requests are then served unlimited).",
)

HEALTH = obj(
    {
        "status": {"const": "ok"},
        "snapshot_id": STRING,
        "version": STRING,
        "counts": {"type": "object", "additionalProperties": INTEGER},
        "rate_limit": RATE_LIMIT_STATE,
    },
    ["status", "snapshot_id", "version", "counts"],
    "The process serves; the snapshot's identity and row counts from its manifest.",
)

READY = obj(
    {"status": {"const": "ready"}, "snapshot_id": STRING},
    ["status", "snapshot_id"],
    "The snapshot answers a probe and its files are those opened at start.",
)

NOT_READY = {
    "type": "object",
    "properties": {
        "status": {"const": "not_ready"},
        "snapshot_id": STRING,
        "error": ERROR_OBJECT,
    },
    "required": ["status", "snapshot_id", "error"],
    "description": "A file was removed or replaced, or the snapshot stopped answering.",
}

SCHEMAS: dict[str, Schema] = {
    "Image": IMAGE,
    "Artist": ARTIST,
    "Album": ALBUM,
    "Track": TRACK,
    "AlbumTrack": ALBUM_TRACK,
    "BatchRequest": BATCH_REQUEST,
    "BatchResponse": BATCH_RESPONSE,
    "Error": ERROR,
    "Health": HEALTH,
    "Ready": READY,
    "NotReady": NOT_READY,
}

# --- examples (validated against the schemas by the tests) --------------------------
