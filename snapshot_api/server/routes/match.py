"""`/match/track`: the candidates for one recording as a tagger holds it, best first.

The library does the work (`Snapshot.match_track_json`, rules in
`snapshot_api.match`); this module passes the query string on and describes
the route. A match is a few bounded index reads and some scoring: about a
millisecond warm, so it runs on the event loop like a search, except in
`pread` mode where, like the lookups, it runs on the snapshot's reader threads
so that requests waiting on the disk overlap. An invalid parameter is a 400
naming it; a snapshot built with `--no-search` answers 503.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from snapshot_api.config import ServeSettings
from snapshot_api.match import params
from snapshot_api.match.score import DIGITS
from snapshot_api.server import metrics
from snapshot_api.server.errors import ErrorCode
from snapshot_api.server.openapi.parts import (
    EXAMPLE_TRACK,
    UNAVAILABLE,
    Schema,
    array,
    error_answer,
    error_example,
    json_answer,
    obj,
    ref,
)
from snapshot_api.server.responses import JSONBytes
from snapshot_api.server.routes.lookup import run_read, single_values
from snapshot_api.server.routing import DATA, AppContext, Endpoint
from snapshot_api.synth import sample_values

RequestHandler = Callable[[Request], Awaitable[Response]]

METRIC_KIND = "match_track"
_NAMES = ("title", "artist", "album", "duration_ms", "limit")


def _handler(context: AppContext) -> RequestHandler:
    snapshot = context.snapshot

    async def match_track(request: Request) -> Response:
        given = single_values(request.query_params, _NAMES)
        body = await run_read(snapshot, snapshot.match_track_json, **given)
        metrics.count_lookups(METRIC_KIND, "miss" if body == b"[]" else "hit")
        return JSONBytes(body)

    return match_track


def _text(name: str, description: str, *, example: str | None = None) -> Schema:
    """A name parameter: required ones must not be empty; an empty optional one is absent."""
    required = example is not None
    schema = {"type": "string", "minLength": 1 if required else 0, "maxLength": params.MAX_LENGTH}
    parameter = {"name": name, "in": "query", "required": required, "description": description,
                 "schema": schema}  # fmt: skip
    return parameter if example is None else {**parameter, "example": example}


_SIMILARITY: Schema = {"type": "number", "minimum": 0, "maximum": 1}

CANDIDATE = obj(
    {
        "score": {**_SIMILARITY, "description": f"How well the track fits, {DIGITS} decimals."},
        "components": obj(
            dict.fromkeys(("title", "artist", "duration", "album"), _SIMILARITY),
            ["title", "artist"],
            "The similarity of each part compared (duration and album when given).",
        ),
        "track": ref("Track"),
    },
    ["score", "components", "track"],
    "A scored candidate.",
)

EXAMPLE = [
    {
        "score": 0.9841,
        "components": {"title": 0.963, "artist": 1.0, "duration": 1.0},
        "track": EXAMPLE_TRACK,
    }
]


def _operation(settings: ServeSettings) -> Schema:
    return {
        "operationId": "matchTrack",
        "tags": ["match"],
        "summary": "Candidates for one recording, by title, artist and duration",
        "description": (
            "Tracks that fit a title and an artist as a tagger holds them (and an album and a "
            "duration when known), best first. Names are compared after folding case, "
            "diacritics and punctuation and after setting aside `feat. X`, `(...)`, `[...]` "
            "and ` - Remastered 2009`-style suffixes; one misspelling still finds the track. "
            "Title and artist equal after folding with the duration within 2 s score at least "
            "0.95; a duration more than 30 s off or another artist scores below 0.6. Equal "
            "scores are ordered by popularity; candidates below 0.3 are left out (`[]` when "
            "nothing is close)."
        ),
        "parameters": [
            _text("title", "The title as tagged.", example=sample_values.TRACK_NAME),
            _text(
                "artist",
                "The artist credit as tagged (`A feat. B` is fine).",
                example=sample_values.ARTIST_NAME,
            ),
            _text("album", "The album name, when known: picks among equal recordings."),
            {
                "name": "duration_ms",
                "in": "query",
                "required": False,
                "description": "The audio's length in milliseconds.",
                "schema": {"type": "integer", "minimum": 1, "maximum": params.MAX_DURATION_MS},
            },
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": f"Candidates, 1 to {params.MAX_LIMIT} "
                f"(larger is read as {params.MAX_LIMIT}).",
                "schema": {"type": "integer", "minimum": 1, "default": params.DEFAULT_LIMIT},
            },
        ],
        "responses": {
            "200": json_answer(array(CANDIDATE), EXAMPLE, "The candidates, best first."),
            "400": error_answer(
                "A missing title or artist, a wordless pair, a bad duration_ms or limit (named).",
                error_example(ErrorCode.INVALID_PARAMETER, "title is required", parameter="title"),
            ),
            "503": {
                **UNAVAILABLE,
                "description": "The snapshot was built without its search index "
                "(`search_unavailable`), or stopped answering (`not_ready`).",
            },
        },
    }


ENDPOINTS: tuple[Endpoint, ...] = (Endpoint("/match/track", "GET", DATA, _handler, _operation),)
