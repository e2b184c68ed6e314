"""The OpenAPI description of `/v1`: Spotify's object shapes, and each route's operation.

The component schemas state what this server always sends in each of
Spotify's objects (the tests also validate real answers against Spotify's own
published schemas, kept with the tests). Examples are made by `objects` from the
description's own example documents, so they are the shapes the code makes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from snapshot_api.config import ServeSettings
from snapshot_api.documents.paging import DEFAULT_LIMIT
from snapshot_api.identifiers import Kind, path_pattern
from snapshot_api.search import params as search_params
from snapshot_api.server.openapi.parts import (
    BOOLEAN,
    EXAMPLE_ALBUM,
    EXAMPLE_ALBUM_TRACK,
    EXAMPLE_ARTIST,
    EXAMPLE_AUDIO_FEATURES,
    EXAMPLE_TRACK,
    INTEGER,
    PAGE_PARAMETERS,
    PLAIN_HEADERS,
    STRING,
    Schema,
    array,
    json_answer,
    path_parameter,
    ref,
)
from snapshot_api.server.v1 import objects
from snapshot_api.server.v1 import search as v1_search
from snapshot_api.synth import sample_values

EXAMPLE_BASE = "https://snapshot.example/v1"
EXAMPLE_MARKETS = "DE,FR,US"
NULLABLE_STRING: Schema = {"type": ["string", "null"]}
NULLABLE_INTEGER: Schema = {"type": ["integer", "null"]}


def _object(properties: dict[str, Schema], description: str) -> Schema:
    """Every listed property is always sent (Spotify's clients rely on them)."""
    return {
        "type": "object",
        "description": description,
        "properties": properties,
        "required": list(properties),
    }


def _common(kind: str) -> dict[str, Schema]:
    return {
        "external_urls": _object(
            {"spotify": {**STRING, "description": f"https://open.spotify.com/{kind}/ID"}},
            "Where the object is on Spotify's site.",
        ),
        "href": {**STRING, "description": "This server's URL of the object."},
        "id": STRING,
        "type": {"const": kind},
        "uri": {**STRING, "description": f"spotify:{kind}:ID"},
    }


IMAGE = _object({"url": STRING, "height": NULLABLE_INTEGER, "width": NULLABLE_INTEGER}, "An image.")
SIMPLIFIED_ARTIST = _object(
    {**_common("artist"), "name": STRING}, "Spotify's SimplifiedArtistObject."
)
ARTIST = _object(
    {
        **SIMPLIFIED_ARTIST["properties"],
        "followers": _object(
            {"href": {"type": "null"}, "total": INTEGER}, "Followers (href is always null)."
        ),
        "genres": array(STRING),
        "images": array(ref("SpotifyImage")),
        "popularity": INTEGER,
    },
    "Spotify's ArtistObject.",
)
_ALBUM_BASE: dict[str, Schema] = {
    "album_type": {"enum": ["album", "single", "compilation"]},
    "total_tracks": INTEGER,
    "available_markets": {**array(STRING), "description": "From the dump."},
    **_common("album"),
    "images": array(ref("SpotifyImage")),
    "name": STRING,
    "release_date": {**STRING, "description": '"0000" when the dump has none.'},
    "release_date_precision": {"enum": ["year", "month", "day"]},
    "artists": array(ref("SpotifySimplifiedArtist")),
}
SIMPLIFIED_ALBUM = _object(_ALBUM_BASE, "Spotify's SimplifiedAlbumObject.")
ARTIST_ALBUM = _object(
    {**_ALBUM_BASE, "album_group": {"enum": ["album", "single", "compilation"]}},
    "Spotify's ArtistDiscographyAlbumObject: the artist's own albums only.",
)
_TRACK_BASE: dict[str, Schema] = {
    "artists": array(ref("SpotifySimplifiedArtist")),
    "available_markets": {**array(STRING), "description": "From the dump."},
    "disc_number": INTEGER,
    "duration_ms": INTEGER,
    "explicit": BOOLEAN,
    **_common("track"),
    "is_local": {"const": False},
    "name": STRING,
    "preview_url": NULLABLE_STRING,
    "track_number": INTEGER,
}
SIMPLIFIED_TRACK = _object(_TRACK_BASE, "Spotify's SimplifiedTrackObject.")
TRACK = {
    **_object(
        {
            **_TRACK_BASE,
            "external_ids": {
                "type": "object",
                "properties": {"isrc": STRING},
                "description": "The ISRC, when the dump has one.",
            },
            "popularity": INTEGER,
            "album": ref("SpotifySimplifiedAlbum"),
        },
        "Spotify's TrackObject (`album` is left out when the dump's reference dangles).",
    ),
}
TRACK["required"] = [name for name in TRACK["required"] if name != "album"]


def _paging(items: str, description: str) -> Schema:
    return _object(
        {
            "href": STRING,
            "items": array(ref(items)),
            "limit": INTEGER,
            "next": NULLABLE_STRING,
            "offset": INTEGER,
            "previous": NULLABLE_STRING,
            "total": INTEGER,
        },
        description,
    )


ALBUM = _object(
    {
        **_ALBUM_BASE,
        "tracks": ref("SpotifyPagingSimplifiedTrack"),
        "copyrights": array(
            _object({"text": STRING, "type": {"enum": ["C", "P"]}}, "A copyright line.")
        ),
        "external_ids": {"type": "object", "properties": {"upc": STRING}},
        "genres": {**array(STRING), "maxItems": 0},
        "label": STRING,
        "popularity": INTEGER,
    },
    "Spotify's AlbumObject, with the first 50 tracks.",
)
_FEATURE_NAMES = [name for name in EXAMPLE_AUDIO_FEATURES if name != "id"]
AUDIO_FEATURES = {
    "type": "object",
    "description": "Spotify's AudioFeaturesObject; a value the dump lacks is left out.",
    "properties": {
        **{
            name: INTEGER
            if name in ("duration_ms", "time_signature", "key", "mode")
            else {"type": "number"}
            for name in _FEATURE_NAMES
        },
        "id": STRING,
        "track_href": STRING,
        "type": {"const": "audio_features"},
        "uri": STRING,
    },
    "required": ["id", "track_href", "type", "uri"],
}


def _list(key: str, item: str) -> Schema:
    return _object(
        {key: {"type": "array", "items": {"anyOf": [ref(item), {"type": "null"}]}}},
        f"`{key}` in the order of `ids`, null for an unknown id.",
    )


SEARCH = {
    "type": "object",
    "description": "One paging object per type asked for.",
    "properties": {
        "tracks": ref("SpotifyPagingTrack"),
        "albums": ref("SpotifyPagingSimplifiedAlbum"),
        "artists": ref("SpotifyPagingArtist"),
    },
}
ERROR = _object(
    {
        "error": _object(
            {"status": INTEGER, "message": STRING}, "The HTTP status and a message for people."
        )
    },
    "Spotify's error shape, for every error on /v1 and /api/token.",
)
TOKEN = _object(
    {"access_token": STRING, "token_type": {"const": "Bearer"}, "expires_in": INTEGER},
    "A token for any client credentials; it is not checked (the data is public).",
)

V1_SCHEMAS: dict[str, Schema] = {
    "SpotifyImage": IMAGE,
    "SpotifySimplifiedArtist": SIMPLIFIED_ARTIST,
    "SpotifyArtist": ARTIST,
    "SpotifySimplifiedAlbum": SIMPLIFIED_ALBUM,
    "SpotifyArtistAlbum": ARTIST_ALBUM,
    "SpotifyAlbum": ALBUM,
    "SpotifySimplifiedTrack": SIMPLIFIED_TRACK,
    "SpotifyTrack": TRACK,
    "SpotifyAudioFeatures": AUDIO_FEATURES,
    "SpotifyPagingSimplifiedTrack": _paging("SpotifySimplifiedTrack", "A page of tracks."),
    "SpotifyPagingTrack": _paging("SpotifyTrack", "A page of tracks."),
    "SpotifyPagingSimplifiedAlbum": _paging("SpotifySimplifiedAlbum", "A page of albums."),
    "SpotifyPagingArtistAlbum": _paging("SpotifyArtistAlbum", "A page of an artist's albums."),
    "SpotifyPagingArtist": _paging("SpotifyArtist", "A page of artists."),
    "SpotifyTracks": _list("tracks", "SpotifyTrack"),
    "SpotifyAlbums": _list("albums", "SpotifyAlbum"),
    "SpotifyArtists": _list("artists", "SpotifyArtist"),
    "SpotifyAudioFeaturesList": _list("audio_features", "SpotifyAudioFeatures"),
    "SpotifySearch": SEARCH,
    "SpotifyError": ERROR,
    "SpotifyToken": TOKEN,
}
"""Component schemas of `/v1`, added to the description's components."""

# --- examples -------------------------------------------------------------------------------

_TRACK_MARKETS = (EXAMPLE_MARKETS, EXAMPLE_MARKETS)


def _plain(value: Any) -> Any:
    """As JSON gives it back (lists, not the tuples `objects` shares), for the YAML form."""
    return orjson.loads(orjson.dumps(value))


EXAMPLES: dict[Kind, Any] = {
    Kind.TRACK: objects.track(EXAMPLE_TRACK, _TRACK_MARKETS, EXAMPLE_BASE),
    Kind.ALBUM: objects.album(
        EXAMPLE_ALBUM,
        EXAMPLE_MARKETS,
        [EXAMPLE_ALBUM_TRACK],
        {EXAMPLE_ALBUM_TRACK["id"]: _TRACK_MARKETS},
        EXAMPLE_BASE,
    ),
    Kind.ARTIST: objects.artist(EXAMPLE_ARTIST, EXAMPLE_BASE),
    Kind.AUDIO_FEATURES: objects.audio_features(EXAMPLE_AUDIO_FEATURES, EXAMPLE_BASE),
}
EXAMPLES = {kind: _plain(example) for kind, example in EXAMPLES.items()}
_WORDS = {
    Kind.TRACK: ("track", "tracks", "SpotifyTrack", "SpotifyTracks"),
    Kind.ALBUM: ("album", "albums", "SpotifyAlbum", "SpotifyAlbums"),
    Kind.ARTIST: ("artist", "artists", "SpotifyArtist", "SpotifyArtists"),
    Kind.AUDIO_FEATURES: (
        "audio features",
        "audio_features",
        "SpotifyAudioFeatures",
        "SpotifyAudioFeaturesList",
    ),
}
_IDS_LIMIT = {Kind.TRACK: 50, Kind.ALBUM: 20, Kind.ARTIST: 50, Kind.AUDIO_FEATURES: 100}


def spotify_error(status: int, message: str, description: str) -> Schema:
    return json_answer(
        ref("SpotifyError"),
        {"error": {"status": status, "message": message}},
        description,
        PLAIN_HEADERS,
    )


BAD_ID = spotify_error(
    400,
    "track 'abc': a Spotify id has 22 letters and digits (base62)",
    "A malformed id or parameter.",
)
UNAVAILABLE = spotify_error(
    503, "the snapshot is not answering; see /ready", "The snapshot stopped answering."
)
NO_ROUTE = spotify_error(404, "no route /v1/tracks/a/b (see /docs)", "No such route.")


_FIRST_ARTIST_WORD = sample_values.ARTIST_NAME.split()[0]


def ids_pattern(kind: Kind, limit: int) -> str:
    """`?ids=` as the server takes it: 1 to `limit` values, each as a path accepts it."""
    one = path_pattern(kind).removeprefix("^").removesuffix("$")
    return f"^{one}(?:,{one}){{0,{limit - 1}}}$"


def _operation_id(kind: Kind, suffix: str) -> str:
    words = kind.value.replace("-", " ").title().replace(" ", "")
    return f"spotify{words}{suffix}"


def one_operation(kind: Kind) -> Callable[[ServeSettings], Schema]:
    word, _section, schema, _list_schema = _WORDS[kind]
    id_word = "track" if kind is Kind.AUDIO_FEATURES else kind.value

    def operation(settings: ServeSettings) -> Schema:
        return {
            "operationId": _operation_id(kind, "ById"),
            "tags": ["spotify"],
            "summary": f"One {word} object, in Spotify's shape",
            "parameters": [
                path_parameter(
                    "id",
                    kind,
                    f"A Spotify {id_word} id, or a `spotify:{id_word}:ID` URI.",
                    EXAMPLES[kind]["id"],
                )
            ],
            "responses": {
                "200": json_answer(ref(schema), EXAMPLES[kind], f"The {word} object."),
                "400": BAD_ID,
                "404": spotify_error(
                    404,
                    f"no {word} {EXAMPLES[kind]['id']!r} in this snapshot",
                    f"No {word} for this id in the snapshot (or no such route).",
                ),
                "503": UNAVAILABLE,
            },
        }

    return operation


def many_operation(kind: Kind) -> Callable[[ServeSettings], Schema]:
    word, section, _schema, list_schema = _WORDS[kind]
    limit = _IDS_LIMIT[kind]

    def operation(settings: ServeSettings) -> Schema:
        return {
            "operationId": _operation_id(kind, "Several"),
            "tags": ["spotify"],
            "summary": f"Several {word} objects by id, in Spotify's shape",
            "description": f"Up to {limit} ids; the answer lists them in order, null for an "
            "unknown id. Costs like a batch of that many distinct items.",
            "parameters": [
                {
                    "name": "ids",
                    "in": "query",
                    "required": True,
                    "description": f"Comma-separated Spotify ids, at most {limit}.",
                    "schema": {"type": "string", "pattern": ids_pattern(kind, limit)},
                    "example": EXAMPLES[kind]["id"],
                }
            ],
            "responses": {
                "200": json_answer(
                    ref(list_schema), {section: [EXAMPLES[kind], None]}, "The objects."
                ),
                "400": BAD_ID,
                "404": NO_ROUTE,
                "503": UNAVAILABLE,
            },
        }

    return operation


def album_tracks_operation(settings: ServeSettings) -> Schema:
    album = EXAMPLES[Kind.ALBUM]
    return {
        "operationId": "spotifyAlbumTracks",
        "tags": ["spotify"],
        "summary": "An album's tracks as a Spotify paging object",
        "parameters": [
            path_parameter("id", Kind.ALBUM, "A Spotify album id or URI.", album["id"]),
            *PAGE_PARAMETERS,
        ],
        "responses": {
            "200": json_answer(ref("SpotifyPagingSimplifiedTrack"), album["tracks"], "A page."),
            "400": BAD_ID,
            "404": spotify_error(404, f"no album {album['id']!r} in this snapshot", "No album."),
            "503": UNAVAILABLE,
        },
    }


def artist_albums_operation(settings: ServeSettings) -> Schema:
    artist = EXAMPLES[Kind.ARTIST]
    page = objects.paging(
        f"{EXAMPLE_BASE}/artists/{artist['id']}/albums",
        [objects.discography_album(EXAMPLE_ALBUM, EXAMPLE_MARKETS, EXAMPLE_BASE)],
        offset=0,
        limit=DEFAULT_LIMIT,
        total=1,
    )
    return {
        "operationId": "spotifyArtistAlbums",
        "tags": ["spotify"],
        "summary": "An artist's own albums, newest release first, as a Spotify paging object",
        "description": "`include_groups`, `market` and `country` are accepted and not applied: "
        "the items are the artist's own albums (not those it appears on).",
        "parameters": [
            path_parameter("id", Kind.ARTIST, "A Spotify artist id or URI.", artist["id"]),
            *PAGE_PARAMETERS,
        ],
        "responses": {
            "200": json_answer(ref("SpotifyPagingArtistAlbum"), _plain(page), "A page."),
            "400": BAD_ID,
            "404": spotify_error(404, f"no artist {artist['id']!r} in this snapshot", "No artist."),
            "503": UNAVAILABLE,
        },
    }


def search_operation(settings: ServeSettings) -> Schema:
    track = EXAMPLES[Kind.TRACK]
    example = {
        "tracks": objects.paging(
            f"{EXAMPLE_BASE}/search",
            [track],
            offset=0,
            limit=DEFAULT_LIMIT,
            total=1,
            query={"q": f"isrc:{sample_values.ISRC}", "type": "track"},
        )
    }
    return {
        "operationId": "spotifySearch",
        "tags": ["spotify"],
        "summary": "Search in Spotify's query syntax",
        "description": "`q` holds words and the field filters `track:`, `artist:`, `album:`, "
        "`year:` (a year or a range such as `1990-1999`), `isrc:` and `upc:`; quoted values "
        '(`artist:"the beatles"`) are one value. `isrc:` and `upc:` are exact lookups; the '
        "others use the name search (most popular first, `offset` at most "
        f"{search_params.MAX_OFFSET}). Without a count of all matches, `total` over the name "
        "search is the items up to this page, plus one when another page exists.",
        "parameters": [
            {
                "name": "q",
                "in": "query",
                "required": True,
                "description": "Words and field filters (also accepted as `query`).",
                "schema": {"type": "string", "pattern": "[^ \t\n\r\f\v]"},
                "example": f'track:"{sample_values.TRACK_NAME}" artist:{_FIRST_ARTIST_WORD}',
            },
            {
                "name": "type",
                "in": "query",
                "required": True,
                "description": "Comma-separated: album, artist, track.",
                "schema": {"type": "string", "pattern": v1_search.TYPES_PATTERN},
                "example": "track",
            },
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": f"1 to {search_params.MAX_LIMIT} (default "
                f"{search_params.DEFAULT_LIMIT}).",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": "offset",
                "in": "query",
                "required": False,
                "description": f"0 to {search_params.MAX_OFFSET}.",
                "schema": {"type": "integer", "minimum": 0, "maximum": search_params.MAX_OFFSET},
            },
        ],
        "responses": {
            "200": json_answer(
                ref("SpotifySearch"), _plain(example), "One paging object per type."
            ),
            "400": spotify_error(
                400, "q is required: words and field filters such as artist:", "Bad parameters."
            ),
            "404": NO_ROUTE,
            "503": spotify_error(
                503,
                "the snapshot has no search index; run `snapshot-api build` without --no-search",
                "No search index (only `isrc:` and `upc:` queries answer).",
            ),
        },
    }


def token_operation(settings: ServeSettings) -> Schema:
    return {
        "operationId": "spotifyToken",
        "tags": ["spotify"],
        "summary": "A client-credentials token (not checked)",
        "description": "Answers any client credentials, so Spotify clients that fetch a token "
        "first (spotipy's `SpotifyClientCredentials`) work; the token is never checked.",
        "requestBody": {
            "required": False,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {"grant_type": {"type": "string"}},
                    }
                }
            },
        },
        "responses": {
            "200": json_answer(
                ref("SpotifyToken"),
                {"access_token": "x8Yq3Rk", "token_type": "Bearer", "expires_in": 3600},
                "A token.",
            ),
            "404": NO_ROUTE,
        },
    }
