"""`/openapi.json`, `/openapi.yaml` and `/docs`: the description of every route, three ways."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from snapshot_api.config import ServeSettings
from snapshot_api.server.openapi.parts import Schema
from snapshot_api.server.responses import JSONBytes
from snapshot_api.server.routing import DATA, AppContext, Endpoint

RequestHandler = Callable[[Request], Awaitable[Response]]


def _json(context: AppContext) -> RequestHandler:
    async def spec_json(request: Request) -> Response:
        return JSONBytes(context.openapi.json)

    return spec_json


def _yaml(context: AppContext) -> RequestHandler:
    async def spec_yaml(request: Request) -> Response:
        return Response(context.openapi.yaml, media_type="application/yaml")

    return spec_yaml


def _html(context: AppContext) -> RequestHandler:
    async def docs(request: Request) -> Response:
        return HTMLResponse(context.openapi.html)

    return docs


def _describe(
    path: str, summary: str, media_type: str, schema: Schema
) -> Callable[[ServeSettings], Schema]:
    def operation(settings: ServeSettings) -> Schema:
        return {
            "operationId": summary.split()[0].lower() + path.rsplit(".", 1)[-1].title(),
            "tags": ["documentation"],
            "summary": summary,
            "responses": {
                "200": {"description": summary, "content": {media_type: {"schema": schema}}},
            },
        }

    return operation


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "/openapi.json",
        "GET",
        DATA,
        _json,
        _describe(
            "/openapi.json", "This description as JSON", "application/json", {"type": "object"}
        ),
    ),
    Endpoint(
        "/openapi.yaml",
        "GET",
        DATA,
        _yaml,
        _describe(
            "/openapi.yaml", "This description as YAML", "application/yaml", {"type": "object"}
        ),
    ),
    Endpoint(
        "/docs",
        "GET",
        DATA,
        _html,
        _describe(
            "/docs", "Human-readable documentation (works offline)", "text/html", {"type": "string"}
        ),
    ),
)
