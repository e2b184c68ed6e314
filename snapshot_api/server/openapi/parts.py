"""Building blocks of the OpenAPI description: schema helpers, shared answers and examples.

Route modules describe their own operations with these (each route carries its
operation), and `spec` assembles them; the answers every cacheable or
rate-limited route shares (304, 429, the headers) are added there from the
route's policy, not written per operation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from snapshot_api.documents.paging import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET
from snapshot_api.errors import InvalidIdentifier
from snapshot_api.identifiers import MAX_INPUT_LENGTH, Kind, parse, path_pattern
from snapshot_api.server.errors import ErrorCode
from snapshot_api.synth import sample_values as sample

Schema = dict[str, Any]


def rejection_reason(kind: Kind, value: str) -> str:
    """What the server says about a malformed `value` (examples quote the real reason)."""
    try:
        parse(kind, value)
    except InvalidIdentifier as rejected:
        return rejected.rejections[0].reason
    raise ValueError(f"{value!r} is a valid {kind.value}")


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def obj(properties: dict[str, Schema], required: Sequence[str], description: str) -> Schema:
    return {
        "type": "object",
        "description": description,
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}


def error_example(code: ErrorCode, message: str, **details: Any) -> dict[str, Any]:
    return {"error": {"code": code.value, "message": message, **details}}


# --- operations --------------------------------------------------------------------------

LIMIT_HEADERS = {
    "RateLimit": {"$ref": "#/components/headers/RateLimit"},
    "RateLimit-Policy": {"$ref": "#/components/headers/RateLimitPolicy"},
}
CACHED_HEADERS = {
    "ETag": {"$ref": "#/components/headers/ETag"},
    "Cache-Control": {"$ref": "#/components/headers/CacheControl"},
    "X-Request-ID": {"$ref": "#/components/headers/RequestId"},
    **LIMIT_HEADERS,
}
PLAIN_HEADERS = {"X-Request-ID": {"$ref": "#/components/headers/RequestId"}}


def json_answer(
    schema: Schema, example: Any, description: str, headers: Schema | None = None
) -> Schema:
    answer: Schema = {
        "description": description,
        "content": {"application/json": {"schema": schema, "example": example}},
    }
    if headers:
        answer["headers"] = headers
    return answer


def error_answer(description: str, example: dict[str, Any]) -> Schema:
    return json_answer(ref("Error"), example, description, PLAIN_HEADERS)


NOT_MODIFIED = {
    "description": "Not modified: `If-None-Match` named this answer's ETag. No body.",
    "headers": CACHED_HEADERS,
}
RATE_LIMITED = json_answer(
    ref("Error"),
    error_example(
        ErrorCode.RATE_LIMITED,
        "too many requests from 203.0.113.7: the limit is 100 per second with bursts of 200; "
        "retry in 1 s",
        retry_after=1,
    ),
    "Rate limited (per client IP); `Retry-After` says when to come back.",
    {
        **PLAIN_HEADERS,
        **LIMIT_HEADERS,
        "Retry-After": {"$ref": "#/components/headers/RetryAfter"},
    },
)
UNAVAILABLE = error_answer(
    "The snapshot stopped answering (a file removed or damaged); see /ready.",
    error_example(ErrorCode.NOT_READY, "the snapshot is not answering; see /ready"),
)
NO_ROUTE = error_answer(
    "A value containing `/` makes the path match no route.",
    error_example(ErrorCode.ROUTE_NOT_FOUND, "no route /lookup/isrc/a/b (see /docs)"),
)


def path_parameter(name: str, kind: Kind, description: str, example: str) -> Schema:
    """An identifier in the path, its schema saying exactly what `parse` accepts there."""
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {
            "type": "string",
            "pattern": path_pattern(kind),
            "minLength": 1,
            "maxLength": MAX_INPUT_LENGTH,
        },
        "example": example,
    }


ISRC_PARAMETER = path_parameter(
    "isrc",
    Kind.ISRC,
    f"An ISRC in any case, with or without hyphens or spaces (`{sample.spelled_isrc()}` = "
    f"`{sample.ISRC}`): 2 letters, 3 letters or digits, 7 digits.",
    sample.ISRC,
)
UPC_PARAMETER = path_parameter(
    "upc",
    Kind.UPC,
    "A UPC/EAN/GTIN barcode: 8 to 14 digits, spaces and hyphens ignored, leading zeros "
    f"do not matter (`{sample.UPC}` = `0{sample.UPC}`).",
    sample.UPC,
)


def id_parameter(kind: str, example: str) -> Schema:
    return path_parameter(
        "id",
        Kind(kind),
        f"A 22-character Spotify {kind} id, or a `spotify:{kind}:ID` URI (another kind's URI "
        "is a 400).",
        example,
    )


def bad_identifier(kind: str, value: str, reason: str) -> Schema:
    return error_answer(
        "A malformed identifier, named in the message and in `values`.",
        error_example(ErrorCode.INVALID_IDENTIFIER, f"{kind} {value!r}: {reason}", values=[value]),
    )


# --- examples (validated against the schemas by the tests) --------------------------

EXAMPLE_SNAPSHOT_ID = "3f9a1c0d2b7e4a5f6c81"
EXAMPLE_COUNTS = {"tracks": 256039007, "albums": 58590982, "artists": 15430442}
EXAMPLE_METRICS = 'snapshot_lookups_total{kind="isrc",result="hit"} 42.0\n'
EXAMPLE_TRACK_ID = sample.TRACK_ID
EXAMPLE_ALBUM_ID = sample.ALBUM_ID
EXAMPLE_ARTIST_ID = sample.ARTIST_ID
BASE62_REASON = "a Spotify id has 22 letters and digits (base62)"

EXAMPLE_ARTIST: dict[str, Any] = {
    "id": EXAMPLE_ARTIST_ID,
    "name": sample.ARTIST_NAME,
    "followers": 1012345,
    "popularity": 61,
    "genres": ["indie folk", "indie rock"],
    "images": [{"url": "https://i.scdn.co/image/ab67616d0000b273", "width": 640, "height": 640}],
}
EXAMPLE_ALBUM: dict[str, Any] = {
    "id": EXAMPLE_ALBUM_ID,
    "name": sample.ALBUM_NAME,
    "type": "album",
    "label": "Sub Pop Records",
    "release_date": "2006-03-21",
    "release_date_precision": "day",
    "upc": sample.UPC,
    "total_tracks": 10,
    "copyright": "2006 Sub Pop Records",
    "copyright_p": "2006 Sub Pop Records",
    "popularity": 55,
    "images": [{"url": "https://i.scdn.co/image/ab67616d0000b273", "width": 640, "height": 640}],
    "artists": [EXAMPLE_ARTIST],
}
EXAMPLE_ALBUM_TRACK: dict[str, Any] = {
    "id": EXAMPLE_TRACK_ID,
    "name": sample.TRACK_NAME,
    "isrc": sample.ISRC,
    "duration_ms": 322093,
    "explicit": False,
    "track_number": 2,
    "disc_number": 1,
    "popularity": 68,
    "artists": [EXAMPLE_ARTIST],
    "original_title": sample.TRACK_NAME,
    "has_lyrics": True,
    "languages": ["en"],
    "artist_roles": ["main_artist"],
}
EXAMPLE_TRACK = {**EXAMPLE_ALBUM_TRACK, "album": EXAMPLE_ALBUM}
EXAMPLE_BATCH_REQUEST = {
    "isrcs": [sample.ISRC, sample.spelled_isrc(), sample.MISSING_ISRC, "not an isrc"],
    "albums": [f"spotify:album:{sample.ALBUM_ID}"],
}
EXAMPLE_BATCH_RESPONSE = {
    "isrcs": {sample.ISRC: [EXAMPLE_TRACK], sample.spelled_isrc(): [EXAMPLE_TRACK]},
    "upcs": {},
    "tracks": {},
    "albums": {f"spotify:album:{sample.ALBUM_ID}": EXAMPLE_ALBUM},
    "artists": {},
    "audio_features": {},
    "not_found": {"isrcs": [sample.MISSING_ISRC], "upcs": [], "tracks": [], "albums": [],
                  "artists": [], "audio_features": []},
    "invalid": {"isrcs": ["not an isrc"], "upcs": [], "tracks": [], "albums": [], "artists": [],
                "audio_features": []},
    "invalid_reasons": {"isrcs": {"not an isrc": rejection_reason(Kind.ISRC, "not an isrc")},
                        "upcs": {}, "tracks": {}, "albums": {}, "artists": {},
                        "audio_features": {}},
}  # fmt: skip
EXAMPLE_AUDIO_FEATURES: dict[str, Any] = {
    "id": EXAMPLE_TRACK_ID,
    "duration_ms": 322093,
    "time_signature": 4,
    "tempo": 118.211,
    "key": 9,
    "mode": 1,
    "danceability": 0.412,
    "energy": 0.681,
    "loudness": -5.883,
    "speechiness": 0.0297,
    "acousticness": 0.0123,
    "instrumentalness": 0.0561,
    "liveness": 0.112,
    "valence": 0.389,
}
EXAMPLE_ARTIST_ALBUMS: dict[str, Any] = {
    "items": [EXAMPLE_ALBUM],
    "total": 7,
    "limit": 20,
    "offset": 0,
}


PAGE_PARAMETERS: list[Schema] = [
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": f"Items per page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}).",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
    },
    {
        "name": "offset",
        "in": "query",
        "required": False,
        "description": "Items to skip (default 0); any page costs the same.",
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
    },
]
"""`limit` and `offset` of a listing (`documents.paging.Page`: an artist's albums, an album's
tracks on `/v1`)."""
