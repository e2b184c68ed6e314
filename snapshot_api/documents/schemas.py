"""JSON Schemas (2020-12, as OpenAPI 3.1 uses them) of the documents, made from `fields`.

A document kind becomes an object schema listing its fields with their
descriptions; always-present fields are required, every other field may be
absent (NULL columns and empty lists are omitted), and nothing else may be
there. Nested documents and list items refer to the other components as
`#/components/schemas/<Kind>`, so the result drops into an OpenAPI
document's `components.schemas` as it is.
"""

from __future__ import annotations

from typing import Any

from snapshot_api.documents.fields import KINDS, DocumentKind, Field, Shape

Schema = dict[str, Any]

REFERENCE_PREFIX = "#/components/schemas/"


def _value(type_or_kind: str) -> Schema:
    if type_or_kind in KINDS:
        return {"$ref": REFERENCE_PREFIX + type_or_kind}
    return {"type": type_or_kind}


def field_schema(field: Field) -> Schema:
    """The schema of one field's value, with its description."""
    if field.shape in (Shape.LIST, Shape.STRING_ARRAY):
        schema: Schema = {"type": "array", "items": _value(field.value), "minItems": 1}
    else:
        schema = {**_value(field.value), **field.constraints}
    # 2020-12 allows keywords beside $ref, so a nested document has its description too
    return {**schema, "description": field.description}


def kind_schema(kind: DocumentKind) -> Schema:
    """The object schema of one document kind."""
    return {
        "type": "object",
        "description": kind.description,
        "properties": {field.name: field_schema(field) for field in kind.fields},
        "required": [field.name for field in kind.fields if field.shape is Shape.ALWAYS],
        "additionalProperties": False,
    }


def json_schemas() -> dict[str, Schema]:
    """{component name: schema} of every document kind: Image, Artist, Album, Track, AlbumTrack."""
    return {name: kind_schema(kind) for name, kind in KINDS.items()}
