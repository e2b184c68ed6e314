"""The component schemas: documents (made from the field table), batch bodies, errors, status."""

from __future__ import annotations

from snapshot_api.documents import json_schemas
from snapshot_api.documents.fields import AUDIO_FEATURES as AUDIO_FEATURES_KIND
from snapshot_api.documents.schemas import kind_schema
from snapshot_api.server.errors import ErrorCode
from snapshot_api.server.openapi.parts import BOOLEAN, INTEGER, STRING, Schema, array, obj, ref
from snapshot_api.server.v1.schemas import V1_SCHEMAS

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

_SECTIONS = ("isrcs", "upcs", "tracks", "albums", "artists", "audio_features")


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
        "audio_features": {
            "type": "object",
            "additionalProperties": ref("AudioFeatures"),
            "description": "Track id as sent → its audio features (new).",
        },
        "not_found": _per_kind(array(STRING), "Well-formed items with no document, as sent."),
        "invalid": _per_kind(array(STRING), "Malformed items, as sent."),
        "invalid_reasons": _per_kind(
            {"type": "object", "additionalProperties": STRING},
            "Why each item in `invalid` was refused: item as sent → reason (same keys as "
            "`invalid`).",
        ),
    },
    [*_SECTIONS, "not_found", "invalid", "invalid_reasons"],
    "Every distinct item appears exactly once: in its kind's section, in `not_found` or in "
    "`invalid` (with its reason in `invalid_reasons`). Every key is always present.",
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

AUDIO_FEATURES = kind_schema(AUDIO_FEATURES_KIND)

ARTIST_ALBUMS = obj(
    {
        "items": {**array(ref("Album")), "description": "Newest release first."},
        "total": {**INTEGER, "description": "The artist's own albums in all."},
        "limit": INTEGER,
        "offset": INTEGER,
    },
    ["items", "total", "limit", "offset"],
    "A page of an artist's own albums (not those it appears on), newest release first.",
)

SCHEMAS: dict[str, Schema] = {
    **json_schemas(),
    "AudioFeatures": AUDIO_FEATURES,
    "ArtistAlbums": ARTIST_ALBUMS,
    "BatchRequest": BATCH_REQUEST,
    "BatchResponse": BATCH_RESPONSE,
    "Error": ERROR,
    "Health": HEALTH,
    "Ready": READY,
    "NotReady": NOT_READY,
    **V1_SCHEMAS,
}

# --- examples (validated against the schemas by the tests) --------------------------
