"""SQL expressions rendering each document kind of `fields` as JSON text inside SQLite.

Each field becomes an expression giving ',"name":<json>' (or '' when the
field is omitted), so a document is '{' + the fragments without the first
comma + '}'. Every kind's first field is always present, so that comma is
written into the opening literal instead of cutting it off with substr.
Row order inside an aggregate: where the order is the index's own
(`track_artists` and `artist_genres` by rowid under their pinned index) no
sort is asked for; images are grouped once by (-width, -height, url), which
both removes duplicate rows and orders them with a single sorter.
"""

from __future__ import annotations

from snapshot_api.documents.fields import KINDS, DocumentKind, Field, Shape


def _column(field: Field) -> str:
    key = f',"{field.name}":'
    column = field.source
    if field.shape is Shape.ALWAYS:
        return f"'{key}' || json_quote({column})"
    if field.shape is Shape.OPTIONAL:
        return f"iif({column} IS NULL, '', '{key}' || json_quote({column}))"
    if field.shape is Shape.BOOLEAN:
        return f"iif({column} IS NULL, '', iif({column}, '{key}true', '{key}false'))"
    if field.shape is Shape.STRING_ARRAY:
        return f"""iif(json_valid({column}) AND json_type({column}) = 'array',
      coalesce((SELECT '{key}[' || group_concat(json_quote(j.value), ',' ORDER BY j.key) || ']'
                FROM json_each({column}) AS j WHERE j.type = 'text'), ''),
      '')"""
    raise ValueError(f"{field.name}: {field.shape} is not a column shape")


def _list(field: Field) -> str:
    rows = field.rows
    if rows is None:
        raise ValueError(f"{field.name}: a list needs its rows")
    key = f',"{field.name}":'
    item = field.item or document(KINDS[field.value])
    if rows.distinct:
        listed = f"""coalesce((
      SELECT '{key}[' || group_concat(item, ',') || ']'
      FROM (SELECT {item} AS item {rows.source}
            GROUP BY {rows.distinct} ORDER BY {rows.distinct})
    ), '')"""
    else:
        order = f" ORDER BY {rows.order}" if rows.order else ""
        listed = f"""coalesce((
      SELECT '{key}[' || group_concat({item}, ','{order}) || ']' {rows.source}
    ), '')"""
    if rows.probe_first:
        return f"iif(EXISTS(SELECT 1 {rows.source}), {listed}, '')"
    return listed


def fragment(field: Field) -> str:
    """The expression giving ',"name":<json>', or '' when the field is omitted."""
    if field.shape is Shape.NESTED:
        nested = document(KINDS[field.value])
        # a dangling reference (no joined row) leaves the document out
        return f"""iif({field.source} IS NULL, '', ',"{field.name}":' || {nested})"""
    if field.shape is Shape.LIST:
        return _list(field)
    return _column(field)


def document(kind: DocumentKind, *, track_files: bool = True) -> str:
    """The expression giving the kind's whole document as JSON text."""
    fields = [f for f in kind.fields if track_files or f.group != "track_files"]
    first, rest = fields[0], fields[1:]
    if first.shape is not Shape.ALWAYS:
        raise ValueError(f"{kind.name}: the first field must always be present")
    opening = f"""'{{"{first.name}":' || json_quote({first.source})"""
    return "\n || ".join([opening, *map(fragment, rest), "'}'"])
