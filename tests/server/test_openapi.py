"""The OpenAPI description matches the routes both ways, its examples fit its schemas,
real answers fit them too, and /docs is a self-contained page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
import yaml
from starlette.routing import Route

from snapshot_api import Snapshot
from snapshot_api.config import ServeSettings
from snapshot_api.server.app import create_app
from snapshot_api.server.openapi import build_spec
from tests.support.handmade import ALBUM, ARTIST, SHARED_ISRC, TRACK

HTTP_METHODS = {"get", "post", "put", "patch", "delete", "options", "head", "trace"}


@pytest.fixture(scope="module")
def spec(client: httpx.Client) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


@pytest.fixture(scope="module")
def client(server: Any) -> Any:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        yield http


def validator(spec: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A JSON Schema 2020-12 validator for `schema`, resolving refs into the spec's components."""
    return jsonschema_rs.Draft202012Validator({**schema, "components": spec["components"]})


def test_every_route_is_described_and_every_description_is_a_route(
    spec: dict[str, Any], hand_snapshot: Path
) -> None:
    with Snapshot.open(hand_snapshot) as snapshot:
        app = create_app(ServeSettings(), snapshot)
        routes = {
            (route.path, method.lower())
            for route in app.routes
            if isinstance(route, Route)
            for method in (route.methods or ())
            if method != "HEAD"
        }
    described = {
        (path, method)
        for path, item in spec["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }
    assert routes == described
    assert routes >= CONTRACT_ROUTES


CONTRACT_ROUTES = {
    ("/lookup/isrc/{isrc}", "get"),
    ("/lookup/upc/{upc}", "get"),
    ("/lookup/track/{id}", "get"),
    ("/lookup/album/{id}", "get"),
    ("/lookup/artist/{id}", "get"),
    ("/lookup/album/{id}/tracks", "get"),
    ("/search/track", "get"),
    ("/search/album", "get"),
    ("/search/artist", "get"),
    ("/batch/lookup", "post"),
    ("/health", "get"),
    ("/ready", "get"),
    ("/metrics", "get"),
    ("/openapi.json", "get"),
    ("/openapi.yaml", "get"),
    ("/docs", "get"),
}
"""The routes users and their clients rely on (more may exist)."""


def test_spec_is_openapi_3_1_with_unique_operation_ids(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1")
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    for item in spec["paths"].values():
        for operation in item.values():
            assert operation["summary"] and operation["responses"]


def test_json_and_yaml_are_the_same_document(client: httpx.Client, spec: dict[str, Any]) -> None:
    response = client.get("/openapi.yaml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/yaml")
    assert yaml.safe_load(response.text) == spec


def test_spec_states_the_configured_limits(spec: dict[str, Any]) -> None:
    description = spec["paths"]["/batch/lookup"]["post"]["description"]
    assert "At most 20 distinct items" in description  # the shared server's --max-batch-items
    assert build_spec(ServeSettings())["paths"] != spec["paths"]


def _examples(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any], Any]]:
    found = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody", {}).get("content", {})
            for media in body.values():
                if "example" in media:
                    found.append((f"{method} {path} request", media["schema"], media["example"]))
            for status, response in operation["responses"].items():
                for media in response.get("content", {}).values():
                    if "example" in media:
                        found.append(
                            (f"{method} {path} {status}", media["schema"], media["example"])
                        )
    return found


def test_every_example_validates_against_its_schema(spec: dict[str, Any]) -> None:
    examples = _examples(spec)
    assert len(examples) >= 30
    for name, schema, example in examples:
        errors = [str(error) for error in validator(spec, schema).iter_errors(example)]
        assert errors == [], name


def test_schemas_reject_what_they_should(spec: dict[str, Any]) -> None:
    """The schemas are not vacuous: a wrong document fails them."""
    track = validator(spec, {"$ref": "#/components/schemas/Track"})
    assert not track.is_valid({"id": "x"})
    assert not track.is_valid({"id": "x", "name": "n", "explicit": "yes"})
    assert not track.is_valid({"id": "x", "name": "n", "unexpected": 1})
    batch = validator(spec, {"$ref": "#/components/schemas/BatchResponse"})
    assert not batch.is_valid({"isrcs": {}})


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _many(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


ANSWERS = [
    (f"/lookup/isrc/{SHARED_ISRC}", _many("Track")),
    ("/lookup/upc/012345678905", _many("Album")),
    *[(f"/lookup/track/{value}", _ref("Track")) for value in TRACK.values()],
    *[(f"/lookup/album/{value}", _ref("Album")) for value in ALBUM.values()],
    *[(f"/lookup/artist/{value}", _ref("Artist")) for value in ARTIST.values()],
    (f"/lookup/album/{ALBUM[1]}/tracks", _many("AlbumTrack")),
    ("/health", _ref("Health")),
    ("/ready", _ref("Ready")),
    ("/lookup/isrc/bad", _ref("Error")),
]


@pytest.mark.parametrize(("path", "schema"), ANSWERS)
def test_real_answers_validate_against_the_schemas(
    client: httpx.Client, spec: dict[str, Any], path: str, schema: dict[str, Any]
) -> None:
    response = client.get(path)
    if response.status_code == 404:
        schema = _ref("Error")
    errors = [str(error) for error in validator(spec, schema).iter_errors(response.json())]
    assert errors == [], path


def test_a_real_batch_answer_validates(client: httpx.Client, spec: dict[str, Any]) -> None:
    body = {
        "isrcs": [SHARED_ISRC, "ZZ0000000000", "bad"],
        "upcs": ["012345678905"],
        "tracks": list(TRACK.values())[:5],
        "albums": list(ALBUM.values()),
        "artists": list(ARTIST.values())[:4],
    }
    answer = client.post("/batch/lookup", json=body).json()
    schema = {"$ref": "#/components/schemas/BatchResponse"}
    assert [str(e) for e in validator(spec, schema).iter_errors(answer)] == []


def test_docs_page_describes_every_operation_and_loads_nothing(
    client: httpx.Client, spec: dict[str, Any]
) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    for path, item in spec["paths"].items():
        assert f"<code>{path}</code>" in page, path
        for operation in item.values():
            assert f'id="{operation["operationId"]}"' in page
    for name in spec["components"]["schemas"]:
        assert f'id="schema-{name}"' in page
    lowered = page.lower()
    assert "<script" not in lowered
    assert "<link" not in lowered
    assert "@import" not in lowered and "url(" not in lowered
    assert not re.search(r"\ssrc\s*=", lowered), "no images, frames or scripts"
    external = [
        href for href in re.findall(r'href="([^"]*)"', page) if not href.startswith(("#", "/"))
    ]
    assert external == []
