"""`/search/{track,album,artist}`: names, most popular (or most followed) first.

The Go server's routes and parameter names (`q`, `limit`, `offset`), so its
clients work unchanged, plus `artist=` / `album=` filters. A search is an
index walk in ranking order that stops after `offset + limit` hits, then one
set-based statement for the page's documents: a fraction of a millisecond
warm, so it runs on the event loop like single lookups, and in `pread` mode on
the reader threads like them: a cold search reads 130-160 pages at 10M tracks
(BENCHMARKS.md), which on the loop would stall every other request behind the
disk. There its page is read by that one thread; concurrent requests overlap
instead. Parameter rules
(ranges, defaults) belong to the library (`snapshot_api.search.params`); an
invalid one is a 400 naming it, a snapshot built with `--no-search` a 503.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from snapshot_api.config import ServeSettings
from snapshot_api.search.index import SearchKind
from snapshot_api.search.params import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_OFFSET,
    MAX_TEXT_LENGTH,
    MIN_PREFIX,
)
from snapshot_api.search.query import FILTERS
from snapshot_api.server import metrics
from snapshot_api.server.errors import ErrorCode
from snapshot_api.server.openapi.parts import (
    EXAMPLE_ALBUM,
    EXAMPLE_ARTIST,
    EXAMPLE_TRACK,
    UNAVAILABLE,
    Schema,
    array,
    error_answer,
    error_example,
    json_answer,
    ref,
)
from snapshot_api.server.responses import JSONBytes
from snapshot_api.server.routes.lookup import run_read, single_values
from snapshot_api.server.routing import DATA, AppContext, Endpoint
from snapshot_api.synth import sample_values as sample

RequestHandler = Callable[[Request], Awaitable[Response]]

_ORDER = {
    SearchKind.TRACK: "most popular first",
    SearchKind.ALBUM: "most popular first",
    SearchKind.ARTIST: "most followers first",
}
_SCHEMA = {SearchKind.TRACK: "Track", SearchKind.ALBUM: "Album", SearchKind.ARTIST: "Artist"}
_EXAMPLE = {SearchKind.TRACK: EXAMPLE_TRACK, SearchKind.ALBUM: EXAMPLE_ALBUM,
            SearchKind.ARTIST: EXAMPLE_ARTIST}  # fmt: skip


def _handler(kind: SearchKind) -> Callable[[AppContext], RequestHandler]:
    # every filter is passed on: one a kind does not take is a 400, not silently ignored
    names = ("q", "artist", "album", "limit", "offset")

    def make(context: AppContext) -> RequestHandler:
        snapshot = context.snapshot

        async def search(request: Request) -> Response:
            given = single_values(request.query_params, names)
            body = await run_read(snapshot, snapshot.search_json, kind, **given)
            metrics.count_lookups(f"search_{kind.value}", "miss" if body == b"[]" else "hit")
            return JSONBytes(body)

        search.__name__ = f"search_{kind.value}"
        return search

    return make


def _words(name: str, description: str, **example: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "string", "maxLength": MAX_TEXT_LENGTH}, **example}  # fmt: skip


WORD_RULES = (
    "Words are runs of letters and digits of any script; case, diacritics and width never "
    f"matter; `word*` matches every word starting with it ({MIN_PREFIX} characters at least). "
    "In scripts written without spaces (Han, kana, Thai, ...) any run of 2 or more characters "
    "of a name finds it."
)


def _operation(kind: SearchKind) -> Callable[[ServeSettings], Schema]:
    def operation(settings: ServeSettings) -> Schema:
        filters = [
            _words(name, f"Words that must match the {name} name of the {kind.value}.")
            for name in FILTERS[kind]
        ]
        need = ", ".join(("q", *FILTERS[kind]))
        return {
            "operationId": f"search{kind.value.title()}s",
            "tags": ["search"],
            "summary": f"{kind.value.title()}s by name, {_ORDER[kind]}",
            "description": f"{kind.value.title()}s whose name holds every word of `q`, "
            f"{_ORDER[kind]} whatever the number of matches. {WORD_RULES} At least one of "
            f"{need} must hold a word.",
            "parameters": [
                _words("q", "Words of the name.", example=sample.SEARCH_WORD),
                *filters,
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "description": f"Page size, 1 to {MAX_LIMIT} (larger is read as {MAX_LIMIT}).",
                    "schema": {"type": "integer", "minimum": 1, "default": DEFAULT_LIMIT},
                },
                {
                    "name": "offset",
                    "in": "query",
                    "required": False,
                    "description": f"Results to skip, 0 to {MAX_OFFSET}.",
                    "schema": {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": MAX_OFFSET,
                        "default": 0,
                    },
                },
            ],
            "responses": {
                "200": json_answer(
                    array(ref(_SCHEMA[kind])), [_EXAMPLE[kind]], f"The {kind.value}s found."
                ),
                "400": error_answer(
                    "A missing or wordless query, or a bad limit or offset (named).",
                    error_example(
                        ErrorCode.INVALID_PARAMETER,
                        "limit must be an integer, not 'ten'",
                        parameter="limit",
                    ),
                ),
                "503": {
                    **UNAVAILABLE,
                    "description": "The snapshot was built without its search index "
                    "(`search_unavailable`), or stopped answering (`not_ready`).",
                },
            },
        }

    return operation


ENDPOINTS: tuple[Endpoint, ...] = tuple(
    Endpoint(f"/search/{kind.value}", "GET", DATA, _handler(kind), _operation(kind))
    for kind in SearchKind
)
