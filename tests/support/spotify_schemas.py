"""Spotify's own object schemas (vendored in tests/data), as a validator for served objects.

`tests/data/spotify-web-api-objects.json` holds the components of Spotify's
Web API OpenAPI 3.0 description that `/v1` serves, copied unchanged with their
source. OpenAPI 3.0's `nullable: true` is not JSON Schema; `_json_schema`
turns it into a `null` type, and nothing else is changed. Spotify's schemas
allow extra properties, so `unknown_fields` also checks that an object carries
no field Spotify's schema does not declare.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema

DATA = Path(__file__).parent.parent / "data" / "spotify-web-api-objects.json"


def _json_schema(node: Any) -> Any:
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items()}
    if converted.pop("nullable", False) and "type" in converted:
        converted["type"] = [converted["type"], "null"]
    return converted


@functools.cache
def document() -> dict[str, Any]:
    vendored = json.loads(DATA.read_text("utf-8"))
    return {"components": _json_schema(vendored["components"])}


def validator(name: str) -> jsonschema.Draft202012Validator:
    root = copy.deepcopy(document())
    root["$ref"] = f"#/components/schemas/{name}"
    return jsonschema.Draft202012Validator(root)


def errors(name: str, instance: Any) -> list[str]:
    """Every way `instance` fails Spotify's schema `name` (empty when it conforms)."""
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator(name).iter_errors(instance)
    ]


def declared(name: str) -> set[str]:
    """The property names schema `name` declares, through `allOf` and references."""
    schemas = document()["components"]["schemas"]

    def collect(node: dict[str, Any]) -> set[str]:
        names = set(node.get("properties", {}))
        for part in node.get("allOf", ()):
            if "$ref" in part:
                names |= collect(schemas[part["$ref"].rsplit("/", 1)[1]])
            else:
                names |= collect(part)
        return names

    return collect(schemas[name])


def unknown_fields(name: str, instance: dict[str, Any]) -> set[str]:
    return set(instance) - declared(name)
