"""The OpenAPI 3.1 description, its YAML form, and the offline `/docs` page made from it.

The description is written here, next to nothing else, and checked against the
app's route table by the tests in both directions (every route described,
every description a route), and its examples are validated against its own
schemas, so it cannot drift from what the server does. `/docs` is rendered
from the same dictionary into one self-contained HTML page: no scripts, no
fonts, no styles from elsewhere, so it works on a machine without internet.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import orjson
import yaml
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from snapshot_api import __version__
from snapshot_api.config import ServeSettings
from snapshot_api.server.errors import ErrorCode
from snapshot_api.server.responses import JSONBytes

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def _object(properties: dict[str, Schema], required: Sequence[str], description: str) -> Schema:
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

IMAGE = _object(
    {"url": STRING, "width": INTEGER, "height": INTEGER},
    ["url", "width", "height"],
    "An image; lists of images are widest first, duplicates removed.",
)

ARTIST = _object(
    {
        "id": {**STRING, "description": "22-character Spotify id"},
        "name": STRING,
        "followers": INTEGER,
        "popularity": {**INTEGER, "minimum": 0, "maximum": 100},
        "genres": {**_array(STRING), "description": "In table order."},
        "images": _array(_ref("Image")),
    },
    ["id", "name", "followers", "popularity"],
    "An artist. Empty lists are omitted.",
)

ALBUM = _object(
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
        "images": _array(_ref("Image")),
        "artists": {**_array(_ref("Artist")), "description": "The album's own artists, in order."},
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
    "artists": {**_array(_ref("Artist")), "description": "The track's artists, in order."},
    "original_title": {**STRING, "description": "From track_files: title without suffixes."},
    "version_title": {**STRING, "description": 'From track_files, e.g. "Radio Edit".'},
    "has_lyrics": {**BOOLEAN, "description": "From track_files."},
    "languages": {**_array(STRING), "description": "From track_files: language codes."},
    "artist_roles": {**_array(STRING), "description": "From track_files: one per artist."},
}

TRACK = _object(
    {**_TRACK_FIELDS, "album": _ref("Album")},
    ["id", "name"],
    "A track with its album. NULL columns and empty lists are omitted; the track_files "
    "fields are absent when the snapshot has no track_files database.",
)

ALBUM_TRACK = _object(
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
_ERROR_OBJECT: Schema = ERROR["properties"]["error"]

_SECTIONS = ("isrcs", "upcs", "tracks", "albums", "artists")


def _per_kind(items: Schema, description: str) -> Schema:
    return _object(dict.fromkeys(_SECTIONS, items), _SECTIONS, description)


BATCH_REQUEST = {
    "type": "object",
    "description": "Lists of identifiers as pasted; every key optional, at least one item.",
    "properties": {key: _array(STRING) for key in _SECTIONS},
    "additionalProperties": False,
}

BATCH_RESPONSE = _object(
    {
        "isrcs": {
            "type": "object",
            "additionalProperties": {**_array(_ref("Track")), "minItems": 1},
            "description": "ISRC as sent → its tracks, most popular first.",
        },
        "upcs": {
            "type": "object",
            "additionalProperties": {**_array(_ref("Album")), "minItems": 1},
            "description": "Barcode as sent → its albums, most popular first.",
        },
        "tracks": {"type": "object", "additionalProperties": _ref("Track")},
        "albums": {"type": "object", "additionalProperties": _ref("Album")},
        "artists": {"type": "object", "additionalProperties": _ref("Artist")},
        "not_found": _per_kind(_array(STRING), "Well-formed items with no document, as sent."),
        "invalid": _per_kind(_array(STRING), "Malformed items, as sent."),
    },
    ["isrcs", "upcs", "tracks", "albums", "artists", "not_found", "invalid"],
    "Every distinct item appears exactly once: in its kind's section, in `not_found` or in "
    "`invalid`. All seven keys are always present.",
)

HEALTH = _object(
    {
        "status": {"const": "ok"},
        "snapshot_id": STRING,
        "version": STRING,
        "counts": {"type": "object", "additionalProperties": INTEGER},
    },
    ["status", "snapshot_id", "version", "counts"],
    "The process serves; the snapshot's identity and row counts from its manifest.",
)

READY = _object(
    {"status": {"const": "ready"}, "snapshot_id": STRING},
    ["status", "snapshot_id"],
    "The snapshot answers a probe and its files are those opened at start.",
)

NOT_READY = {
    "type": "object",
    "properties": {
        "status": {"const": "not_ready"},
        "snapshot_id": STRING,
        "error": _ERROR_OBJECT,
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

EXAMPLE_SNAPSHOT_ID = "3f9a1c0d2b7e4a5f6c81"
EXAMPLE_COUNTS = {"tracks": 256039007, "albums": 58590982, "artists": 15430442}
EXAMPLE_METRICS = 'snapshot_lookups_total{kind="isrc",result="hit"} 42.0\n'
EXAMPLE_TRACK_ID = "0mqBPbWiyzx2cpWkRI9dvS"
EXAMPLE_ALBUM_ID = "4xM1pUHZp9HsuKNxyOQDR0"
EXAMPLE_ARTIST_ID = "0OdUWJ0sBjDrqHygGUXeCF"
BASE62_REASON = "a Spotify id has 22 letters and digits (base62)"

EXAMPLE_ARTIST: dict[str, Any] = {
    "id": EXAMPLE_ARTIST_ID,
    "name": "Band of Horses",
    "followers": 1012345,
    "popularity": 61,
    "genres": ["indie folk", "indie rock"],
    "images": [{"url": "https://i.scdn.co/image/ab67616d0000b273", "width": 640, "height": 640}],
}
EXAMPLE_ALBUM: dict[str, Any] = {
    "id": EXAMPLE_ALBUM_ID,
    "name": "Everything All The Time",
    "type": "album",
    "label": "Sub Pop Records",
    "release_date": "2006-03-21",
    "release_date_precision": "day",
    "upc": "098787069228",
    "total_tracks": 10,
    "copyright": "2006 Sub Pop Records",
    "copyright_p": "2006 Sub Pop Records",
    "popularity": 55,
    "images": [{"url": "https://i.scdn.co/image/ab67616d0000b273", "width": 640, "height": 640}],
    "artists": [EXAMPLE_ARTIST],
}
EXAMPLE_ALBUM_TRACK: dict[str, Any] = {
    "id": EXAMPLE_TRACK_ID,
    "name": "The Funeral",
    "isrc": "USSUB0669102",
    "duration_ms": 322093,
    "explicit": False,
    "track_number": 2,
    "disc_number": 1,
    "popularity": 68,
    "artists": [EXAMPLE_ARTIST],
    "original_title": "The Funeral",
    "has_lyrics": True,
    "languages": ["en"],
    "artist_roles": ["main_artist"],
}
EXAMPLE_TRACK = {**EXAMPLE_ALBUM_TRACK, "album": EXAMPLE_ALBUM}
EXAMPLE_BATCH_REQUEST = {
    "isrcs": ["USSUB0669102", "us-sub-06-69102", "ZZ0000000000", "not an isrc"],
    "albums": ["spotify:album:4xM1pUHZp9HsuKNxyOQDR0"],
}
EXAMPLE_BATCH_RESPONSE = {
    "isrcs": {"USSUB0669102": [EXAMPLE_TRACK], "us-sub-06-69102": [EXAMPLE_TRACK]},
    "upcs": {},
    "tracks": {},
    "albums": {"spotify:album:4xM1pUHZp9HsuKNxyOQDR0": EXAMPLE_ALBUM},
    "artists": {},
    "not_found": {"isrcs": ["ZZ0000000000"], "upcs": [], "tracks": [], "albums": [],
                  "artists": []},
    "invalid": {"isrcs": ["not an isrc"], "upcs": [], "tracks": [], "albums": [], "artists": []},
}  # fmt: skip


def _error_example(code: ErrorCode, message: str, **details: Any) -> dict[str, Any]:
    return {"error": {"code": code.value, "message": message, **details}}


# --- operations --------------------------------------------------------------------------

_LIMIT_HEADERS = {
    "RateLimit": {"$ref": "#/components/headers/RateLimit"},
    "RateLimit-Policy": {"$ref": "#/components/headers/RateLimitPolicy"},
}
_CACHED_HEADERS = {
    "ETag": {"$ref": "#/components/headers/ETag"},
    "Cache-Control": {"$ref": "#/components/headers/CacheControl"},
    "X-Request-ID": {"$ref": "#/components/headers/RequestId"},
    **_LIMIT_HEADERS,
}
_PLAIN_HEADERS = {"X-Request-ID": {"$ref": "#/components/headers/RequestId"}}


def _json(schema: Schema, example: Any, description: str, headers: Schema | None = None) -> Schema:
    answer: Schema = {
        "description": description,
        "content": {"application/json": {"schema": schema, "example": example}},
    }
    if headers:
        answer["headers"] = headers
    return answer


def _error(description: str, example: dict[str, Any]) -> Schema:
    return _json(_ref("Error"), example, description, _PLAIN_HEADERS)


_NOT_MODIFIED = {
    "description": "Not modified: `If-None-Match` named this answer's ETag. No body.",
    "headers": _CACHED_HEADERS,
}
_RATE_LIMITED = _json(
    _ref("Error"),
    _error_example(
        ErrorCode.RATE_LIMITED,
        "too many requests from 203.0.113.7: the limit is 100 per second with bursts of 200; "
        "retry in 1 s",
        retry_after=1,
    ),
    "Rate limited (per client IP); `Retry-After` says when to come back.",
    {
        **_PLAIN_HEADERS,
        **_LIMIT_HEADERS,
        "Retry-After": {"$ref": "#/components/headers/RetryAfter"},
    },
)
_UNAVAILABLE = _error(
    "The snapshot stopped answering (a file removed or damaged); see /ready.",
    _error_example(ErrorCode.NOT_READY, "the snapshot is not answering; see /ready"),
)
_NO_ROUTE = _error(
    "A value containing `/` makes the path match no route.",
    _error_example(ErrorCode.ROUTE_NOT_FOUND, "no route /lookup/isrc/a/b (see /docs)"),
)


def _parameter(name: str, description: str, example: str) -> Schema:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
        "example": example,
    }


ISRC_PARAMETER = _parameter(
    "isrc",
    "An ISRC in any case, with or without hyphens or spaces (`us-sub-06-69102` = "
    "`USSUB0669102`): 2 letters, 3 letters or digits, 7 digits.",
    "USSUB0669102",
)
UPC_PARAMETER = _parameter(
    "upc",
    "A UPC/EAN/GTIN barcode: 8 to 14 digits, spaces and hyphens ignored, leading zeros "
    "do not matter (`098787069228` = `0098787069228`).",
    "098787069228",
)


def _id_parameter(kind: str, example: str) -> Schema:
    return _parameter(
        "id",
        f"A 22-character Spotify {kind} id, or a `spotify:{kind}:ID` URI (another kind's URI "
        "is a 400).",
        example,
    )


def _bad_identifier(kind: str, value: str, reason: str) -> Schema:
    return _error(
        "A malformed identifier, named in the message and in `values`.",
        _error_example(ErrorCode.INVALID_IDENTIFIER, f"{kind} {value!r}: {reason}", values=[value]),
    )


def _lookup_operations() -> dict[str, Schema]:
    bad_isrc = _bad_identifier("isrc", "US-SUB-06", "an ISRC has 12 characters without "
                               "hyphens and spaces, this has 7")  # fmt: skip
    bad_upc = _bad_identifier("upc", "12AB5", "a barcode has only digits (spaces and hyphens "
                              "are ignored)")  # fmt: skip
    common = {"304": _NOT_MODIFIED, "429": _RATE_LIMITED, "503": _UNAVAILABLE}

    def by_id(kind: str, schema: str, example: Any, example_id: str) -> Schema:
        return {
            "get": {
                "operationId": f"lookup{kind.title()}",
                "tags": ["lookup"],
                "summary": f"One {kind} by Spotify id",
                "parameters": [_id_parameter(kind, example_id)],
                "responses": {
                    "200": _json(_ref(schema), example, f"The {kind} document.", _CACHED_HEADERS),
                    "400": _bad_identifier(kind, "abc", BASE62_REASON),
                    "404": _error(
                        f"No {kind} with this id in the snapshot (or no such route).",
                        _error_example(
                            ErrorCode.NOT_FOUND, f"no {kind} {example_id!r} in this snapshot"
                        ),
                    ),
                    **common,
                },
            }
        }

    return {
        "/lookup/isrc/{isrc}": {
            "get": {
                "operationId": "lookupIsrc",
                "tags": ["lookup"],
                "summary": "Tracks with an ISRC",
                "description": "Every track with this ISRC, most popular first; `[]` when none.",
                "parameters": [ISRC_PARAMETER],
                "responses": {
                    "200": _json(
                        _array(_ref("Track")), [EXAMPLE_TRACK], "The tracks.", _CACHED_HEADERS
                    ),
                    "400": bad_isrc,
                    "404": _NO_ROUTE,
                    **common,
                },
            }
        },
        "/lookup/upc/{upc}": {
            "get": {
                "operationId": "lookupUpc",
                "tags": ["lookup"],
                "summary": "Albums with a barcode (new)",
                "description": "Every album with this UPC/EAN barcode, most popular first; "
                "`[]` when none.",
                "parameters": [UPC_PARAMETER],
                "responses": {
                    "200": _json(
                        _array(_ref("Album")), [EXAMPLE_ALBUM], "The albums.", _CACHED_HEADERS
                    ),
                    "400": bad_upc,
                    "404": _NO_ROUTE,
                    **common,
                },
            }
        },
        "/lookup/track/{id}": by_id("track", "Track", EXAMPLE_TRACK, EXAMPLE_TRACK_ID),
        "/lookup/album/{id}": by_id("album", "Album", EXAMPLE_ALBUM, EXAMPLE_ALBUM_ID),
        "/lookup/artist/{id}": by_id("artist", "Artist", EXAMPLE_ARTIST, EXAMPLE_ARTIST_ID),
        "/lookup/album/{id}/tracks": {
            "get": {
                "operationId": "lookupAlbumTracks",
                "tags": ["lookup"],
                "summary": "An album's tracks",
                "description": "The album's tracks by disc, then track number, without `album`.",
                "parameters": [_id_parameter("album", EXAMPLE_ALBUM_ID)],
                "responses": {
                    "200": _json(
                        _array(_ref("AlbumTrack")),
                        [EXAMPLE_ALBUM_TRACK],
                        "The album's tracks.",
                        _CACHED_HEADERS,
                    ),
                    "400": _bad_identifier("album", "abc", BASE62_REASON),
                    "404": _error(
                        "No album with this id in the snapshot.",
                        _error_example(
                            ErrorCode.NOT_FOUND,
                            f"no album {EXAMPLE_ALBUM['id']!r} in this snapshot",
                        ),
                    ),
                    **common,
                },
            }
        },
    }


def _batch_operation(settings: ServeSettings) -> dict[str, Schema]:
    limits = (
        f"At most {settings.max_batch_items} distinct items in total and "
        f"{settings.max_body_bytes} bytes of body."
    )
    return {
        "/batch/lookup": {
            "post": {
                "operationId": "batchLookup",
                "tags": ["lookup"],
                "summary": "Many identifiers of every kind at once",
                "description": "Keys are the strings exactly as sent. Duplicates are answered "
                "once and counted once. Tracks, albums and artists may also be given as "
                "`https://open.spotify.com/KIND/ID` URLs. " + limits + " The number of "
                "database queries does not grow with the number of items. Browsers may send "
                "a CORS preflight (`OPTIONS`), which is answered for this route.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": _ref("BatchRequest"),
                            "example": EXAMPLE_BATCH_REQUEST,
                        }
                    },
                },
                "responses": {
                    "200": _json(
                        _ref("BatchResponse"),
                        EXAMPLE_BATCH_RESPONSE,
                        "Found, not found and invalid items.",
                        {**_PLAIN_HEADERS, **_LIMIT_HEADERS},
                    ),
                    "400": _error(
                        "Not JSON, not an object of lists of strings, an unknown key, no items, "
                        "or more items than allowed.",
                        _error_example(
                            ErrorCode.INVALID_BODY,
                            "unknown keys 'isrc'; the keys are isrcs, upcs, tracks, albums, "
                            "artists",
                            unknown_keys=["isrc"],
                        ),
                    ),
                    "413": _error(
                        "The body is larger than the limit (the rest is not read).",
                        _error_example(
                            ErrorCode.BODY_TOO_LARGE,
                            f"the request body is larger than the limit of "
                            f"{settings.max_body_bytes} bytes",
                            limit=settings.max_body_bytes,
                        ),
                    ),
                    "415": _error(
                        "The body is not sent as `application/json`.",
                        _error_example(
                            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                            "the body must be JSON sent with Content-Type: application/json "
                            "(got 'text/plain')",
                        ),
                    ),
                    "429": _RATE_LIMITED,
                    "503": _UNAVAILABLE,
                },
            }
        }
    }


def _status_operations() -> dict[str, Schema]:
    return {
        "/health": {
            "get": {
                "operationId": "health",
                "tags": ["operations"],
                "summary": "The process serves",
                "description": "Not rate limited, never cached.",
                "responses": {
                    "200": _json(
                        _ref("Health"),
                        {
                            "status": "ok",
                            "snapshot_id": EXAMPLE_SNAPSHOT_ID,
                            "version": __version__,
                            "counts": EXAMPLE_COUNTS,
                        },
                        "Serving.",
                        _PLAIN_HEADERS,
                    )
                },
            }
        },
        "/ready": {
            "get": {
                "operationId": "ready",
                "tags": ["operations"],
                "summary": "The snapshot answers (new)",
                "description": "200 when a probe query succeeds and the files are those opened "
                "at start; 503 when a file was removed, replaced or stops answering. Not rate "
                "limited, never cached.",
                "responses": {
                    "200": _json(
                        _ref("Ready"),
                        {"status": "ready", "snapshot_id": EXAMPLE_SNAPSHOT_ID},
                        "Ready.",
                        _PLAIN_HEADERS,
                    ),
                    "503": _json(
                        _ref("NotReady"),
                        {
                            "status": "not_ready",
                            "snapshot_id": EXAMPLE_SNAPSHOT_ID,
                            **_error_example(
                                ErrorCode.NOT_READY,
                                "the snapshot is not answering: spotify_clean.sqlite3: "
                                "No such file or directory",
                            ),
                        },
                        "Not ready.",
                        _PLAIN_HEADERS,
                    ),
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "tags": ["operations"],
                "summary": "Prometheus metrics (new)",
                "description": "Text exposition format, summed over all worker processes: "
                "`http_requests_total`, `http_request_duration_seconds`, "
                "`snapshot_lookups_total{kind,result}`, `batch_lookup_items`, "
                "`snapshot_info`, `snapshot_rows`. Not rate limited, never cached.",
                "responses": {
                    "200": {
                        "description": "The metrics.",
                        "content": {
                            "text/plain": {
                                "schema": {"type": "string"},
                                "example": EXAMPLE_METRICS,
                            }
                        },
                    }
                },
            }
        },
    }


def _document_operations() -> dict[str, Schema]:
    def document(path: str, summary: str, media_type: str, schema: Schema) -> dict[str, Schema]:
        return {
            path: {
                "get": {
                    "operationId": summary.split()[0].lower() + path.rsplit(".", 1)[-1].title(),
                    "tags": ["documentation"],
                    "summary": summary,
                    "responses": {
                        "200": {
                            "description": summary,
                            "headers": _CACHED_HEADERS,
                            "content": {media_type: {"schema": schema}},
                        },
                        "304": _NOT_MODIFIED,
                        "429": _RATE_LIMITED,
                    },
                }
            }
        }

    return {
        **document("/openapi.json", "This description as JSON", "application/json",
                   {"type": "object"}),
        **document("/openapi.yaml", "This description as YAML", "application/yaml",
                   {"type": "object"}),
        **document("/docs", "Human-readable documentation (works offline)", "text/html",
                   {"type": "string"}),
    }  # fmt: skip


def build_spec(settings: ServeSettings) -> dict[str, Any]:
    """The OpenAPI 3.1 document for a server running with `settings`."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "snapshot-api",
            "version": __version__,
            "summary": "Read-only lookups in the Anna's Archive Spotify metadata dump.",
            "description": (
                "Look tracks, albums and artists up by ISRC, barcode or Spotify id. The data "
                "never changes while a snapshot is served: GET answers carry a strong `ETag` "
                f"and `Cache-Control: public, max-age={settings.cache_max_age}`, and "
                "`If-None-Match` gets a 304. Every answer allows any origin (CORS). Every "
                'error is `{"error": {"code", "message"}}`. Requests are rate limited per '
                "client IP (except /health, /ready and /metrics); a batch costs one token per "
                "started 50 items."
            ),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "tags": [
            {"name": "lookup", "description": "Documents from the snapshot."},
            {"name": "operations", "description": "Health, readiness and metrics."},
            {"name": "documentation", "description": "This description, three ways."},
        ],
        "paths": {
            **_lookup_operations(),
            **_batch_operation(settings),
            **_status_operations(),
            **_document_operations(),
        },
        "components": {
            "schemas": SCHEMAS,
            "headers": {
                "ETag": {
                    "description": "Strong tag of (snapshot, server version, path).",
                    "schema": {"type": "string"},
                },
                "CacheControl": {
                    "description": f"public, max-age={settings.cache_max_age}",
                    "schema": {"type": "string"},
                },
                "RequestId": {
                    "description": "The request's X-Request-ID, as sent or generated.",
                    "schema": {"type": "string"},
                },
                "RateLimit": {
                    "description": "IETF draft: whole tokens left and seconds until the "
                    'bucket is full, e.g. `"ip";r=137;t=1`. On rate-limited routes.',
                    "schema": {"type": "string"},
                },
                "RateLimitPolicy": {
                    "description": "IETF draft: bucket size and seconds to fill it, e.g. "
                    '`"ip";q=200;w=2`. On rate-limited routes.',
                    "schema": {"type": "string"},
                },
                "RetryAfter": {
                    "description": "Whole seconds (at least 1) until the refused request fits.",
                    "schema": {"type": "integer", "minimum": 1},
                },
            },
        },
    }


# --- serving it -------------------------------------------------------------------------


@dataclass
class OpenApi:
    """The description for one app, rendered once into its three forms."""

    settings: ServeSettings

    @cached_property
    def spec(self) -> dict[str, Any]:
        return build_spec(self.settings)

    @cached_property
    def json(self) -> bytes:
        return orjson.dumps(self.spec)

    @cached_property
    def yaml(self) -> bytes:
        text: str = yaml.safe_dump(self.spec, sort_keys=False, allow_unicode=True, width=100)
        return text.encode()

    @cached_property
    def html(self) -> str:
        return render_docs(self.spec)


def openapi_routes(openapi: OpenApi) -> list[Route]:
    async def spec_json(request: Request) -> Response:
        return JSONBytes(openapi.json)

    async def spec_yaml(request: Request) -> Response:
        return Response(openapi.yaml, media_type="application/yaml")

    async def docs(request: Request) -> Response:
        return HTMLResponse(openapi.html)

    return [
        Route("/openapi.json", spec_json, methods=["GET"]),
        Route("/openapi.yaml", spec_yaml, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
    ]


# --- the offline docs page -----------------------------------------------------------------

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem 2rem;
color:#1d1d1f;background:#fff}
h1{margin-bottom:0}h2{border-bottom:2px solid #ddd;margin-top:2.5rem}
h3{margin:1.8rem 0 .3rem;font-size:1.1rem}
.op{border:1px solid #ddd;border-radius:6px;padding:.2rem 1rem 1rem;margin:1rem 0}
.method{display:inline-block;min-width:4rem;font-weight:700;color:#fff;border-radius:4px;
text-align:center;margin-right:.5rem;padding:0 .4rem}
.get{background:#2a7ab0}.post{background:#2f8f46}
code,pre{font:13px/1.4 ui-monospace,monospace;background:#f5f5f7;border-radius:4px}
code{padding:0 .25rem}pre{padding:.6rem;overflow-x:auto;max-height:24rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.2rem .6rem;
text-align:left;vertical-align:top}th{background:#f5f5f7}
nav a{margin-right:1rem}.muted{color:#666}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _inline(text: str) -> str:
    """Escape, then show `backticked` parts as code."""
    parts = _e(text).split("`")
    return "".join(f"<code>{part}</code>" if i % 2 else part for i, part in enumerate(parts))


def _type_of(schema: Schema) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#schema-{_e(name)}">{_e(name)}</a>'
    if "const" in schema:
        return f"<code>{_e(orjson.dumps(schema['const']).decode())}</code>"
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_type_of(schema.get('items', {}))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"object of {_type_of(schema['additionalProperties'])}"
    return _e(kind)


def _example(example: Any) -> str:
    text = orjson.dumps(example, option=orjson.OPT_INDENT_2).decode()
    return f"<pre>{_e(text)}</pre>"


def _operation(path: str, method: str, operation: Schema) -> list[str]:
    out = [
        f'<div class="op" id="{_e(operation["operationId"])}">',
        f'<h3><span class="method {method}">{method.upper()}</span><code>{_e(path)}</code></h3>',
        f"<p><strong>{_inline(operation['summary'])}</strong></p>",
    ]
    if "description" in operation:
        out.append(f"<p>{_inline(operation['description'])}</p>")
    parameters = operation.get("parameters", [])
    if parameters:
        out.append("<table><tr><th>parameter</th><th>in</th><th>description</th>"
                   "<th>example</th></tr>")  # fmt: skip
        for parameter in parameters:
            out.append(
                f"<tr><td><code>{_e(parameter['name'])}</code></td><td>{_e(parameter['in'])}</td>"
                f"<td>{_inline(parameter['description'])}</td>"
                f"<td><code>{_e(parameter.get('example', ''))}</code></td></tr>"
            )
        out.append("</table>")
    body = operation.get("requestBody")
    if body:
        for media_type, content in body["content"].items():
            out.append(
                f"<p>Request body (<code>{_e(media_type)}</code>): "
                f"{_type_of(content['schema'])}</p>"
            )
            if "example" in content:
                out.append(_example(content["example"]))
    out.append("<table><tr><th>status</th><th>answer</th></tr>")
    for status, response in operation["responses"].items():
        cells = [_inline(response["description"])]
        for media_type, content in response.get("content", {}).items():
            cells.append(f"<br><code>{_e(media_type)}</code>: {_type_of(content['schema'])}")
        out.append(f"<tr><td>{_e(status)}</td><td>{''.join(cells)}</td></tr>")
    out.append("</table>")
    ok = operation["responses"].get("200", {}).get("content", {}).get("application/json", {})
    if "example" in ok:
        out.append("<p>Example answer:</p>" + _example(ok["example"]))
    out.append("</div>")
    return out


def _schema_table(name: str, schema: Schema) -> list[str]:
    out = [f'<h3 id="schema-{_e(name)}">{_e(name)}</h3>']
    if "description" in schema:
        out.append(f"<p>{_inline(schema['description'])}</p>")
    properties = schema.get("properties", {})
    if properties:
        required = set(schema.get("required", []))
        out.append("<table><tr><th>field</th><th>type</th><th>always present</th>"
                   "<th>notes</th></tr>")  # fmt: skip
        for field_name, field_schema in properties.items():
            out.append(
                f"<tr><td><code>{_e(field_name)}</code></td><td>{_type_of(field_schema)}</td>"
                f"<td>{'yes' if field_name in required else ''}</td>"
                f"<td>{_inline(field_schema.get('description', ''))}</td></tr>"
            )
        out.append("</table>")
    return out


def render_docs(spec: dict[str, Any]) -> str:
    """One self-contained HTML page describing every operation and schema of `spec`."""
    info = spec["info"]
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(info['title'])} {_e(info['version'])}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{_e(info['title'])} <span class='muted'>{_e(info['version'])}</span></h1>",
        f"<p>{_inline(info['summary'])}</p><p>{_inline(info['description'])}</p>",
        '<nav><a href="/openapi.json">openapi.json</a><a href="/openapi.yaml">openapi.yaml</a>'
        '<a href="#schemas">schemas</a></nav>',
    ]
    for tag in spec["tags"]:
        out.append(f"<h2>{_e(tag['name'])}</h2><p>{_inline(tag['description'])}</p>")
        for path, item in spec["paths"].items():
            for method, operation in item.items():
                if tag["name"] in operation.get("tags", []):
                    out += _operation(path, method, operation)
    out.append('<h2 id="schemas">Schemas</h2>')
    for name, schema in spec["components"]["schemas"].items():
        out += _schema_table(name, schema)
    out.append("</body></html>")
    return "\n".join(out)
