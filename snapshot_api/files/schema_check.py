"""Does a database file have the tables, columns and indexes the server needs?

The expectation is never written down twice: it comes from `schema/*.sql`
(loaded into an in-memory database) and from the library's own queries. Which
columns the server reads is found by preparing every statement of
`documents.Queries` against that in-memory layout with an SQLite authorizer that
records each column read, so a new field in a document is checked here without
anyone editing this file. Indexes are compared by table and columns, never by
name (the published file's index names are unknown); the indexes lookups need
are `documents.REQUIRED_INDEXES`, the same list the library resolves at open.

A missing piece the server reads is a failure; a missing piece of the published
layout that no query touches is a warning (the snapshot still serves).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import apsw

from snapshot_api import documents
from snapshot_api.layout import SCHEMA_FILES, SIDECAR_SCHEMA_FILE, Role, schema_sql
from snapshot_api.verdict import Status

LIBRARY_ALIAS: dict[Role, str] = {
    Role.MAIN: "main",
    Role.TRACK_FILES: "tf",
    Role.AUDIO_FEATURES: "af",
}
"""The schema name under which the library attaches each dump file."""
SIDECAR_ALIAS = "idx"

STATISTICS_TABLES = ("sqlite_stat1", "sqlite_stat4")
"""Tables ANALYZE leaves behind: they slow key lookups (re-prepares), so build reports them."""


@dataclass(frozen=True, slots=True)
class Problem:
    severity: Status
    """`FAILED` or `WARNING`."""
    message: str


@dataclass(frozen=True, slots=True)
class IndexShape:
    """An index as what it covers: table, column list, uniqueness, partial or not."""

    table: str
    columns: tuple[str, ...]
    unique: bool
    partial: bool

    def describe(self) -> str:
        kind = "partial index" if self.partial else "index"
        return f"{kind} on {self.table}({', '.join(self.columns)})"


@dataclass(frozen=True, slots=True)
class Layout:
    """Tables (column → declared type) and indexes of one database schema."""

    tables: dict[str, dict[str, str]]
    indexes: tuple[IndexShape, ...]


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def layout_of(connection: apsw.Connection, schema: str = "main") -> Layout:
    """Read the layout from the schema only (no table data is touched)."""
    names = [
        str(row[0])
        for row in connection.execute(
            f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table' ORDER BY name"
        )
    ]
    tables: dict[str, dict[str, str]] = {}
    indexes: list[IndexShape] = []
    for table in names:
        quoted = _quote(table)
        tables[table] = {
            str(row[1]): str(row[2] or "")
            for row in connection.execute(f"PRAGMA {schema}.table_info({quoted})")
        }
        for _seq, name, unique, _origin, partial in connection.execute(
            f"PRAGMA {schema}.index_list({quoted})"
        ):
            columns = tuple(
                str(row[2])
                for row in connection.execute(f"PRAGMA {schema}.index_info({_quote(str(name))})")
            )
            indexes.append(IndexShape(table, columns, bool(unique), bool(partial)))
    return Layout(tables, tuple(indexes))


def _memory_database(ddl: str) -> apsw.Connection:
    connection = apsw.Connection(":memory:")
    connection.execute(ddl)
    return connection


@functools.cache
def expected_layout(ddl_file: str) -> Layout:
    """The layout `schema/<ddl_file>` describes."""
    return layout_of(_memory_database(schema_sql(ddl_file)))


def expected_for(role: Role) -> Layout:
    return expected_layout(SCHEMA_FILES[role])


def expected_sidecar() -> Layout:
    return expected_layout(SIDECAR_SCHEMA_FILE)


@functools.cache
def columns_read_by_library() -> dict[str, frozenset[tuple[str, str]]]:
    """{schema alias: {(table, column)}} of every column the library's statements read."""
    combined = _memory_database(schema_sql(SCHEMA_FILES[Role.MAIN]))
    attached = {
        "tf": SCHEMA_FILES[Role.TRACK_FILES],
        "af": SCHEMA_FILES[Role.AUDIO_FEATURES],
        SIDECAR_ALIAS: SIDECAR_SCHEMA_FILE,
    }
    for alias, ddl_file in attached.items():
        combined.execute(f"ATTACH DATABASE ':memory:' AS {alias}")
        combined.deserialize(alias, _memory_database(schema_sql(ddl_file)).serialize("main"))
    indexes = documents.find_indexes(combined, ["main", "tf", "af"])
    queries = documents.Queries.for_layout(indexes, track_files=True, audio_features=True)
    reads: set[tuple[str, str, str]] = set()

    def record(operation: int, table: str | None, column: str | None, schema: str | None,
               _trigger: str | None) -> int:  # fmt: skip
        if operation == apsw.SQLITE_READ and table and column and schema:
            reads.add((schema, table, column))
        return apsw.SQLITE_OK

    combined.authorizer = record
    for sql, bindings in queries.with_sample_parameters().values():
        combined.execute("EXPLAIN QUERY PLAN " + sql, bindings).fetchall()
    combined.authorizer = None
    result: dict[str, frozenset[tuple[str, str]]] = {}
    expected = {
        "main": expected_for(Role.MAIN),
        "tf": expected_for(Role.TRACK_FILES),
        "af": expected_for(Role.AUDIO_FEATURES),
        SIDECAR_ALIAS: expected_sidecar(),
    }
    for alias, layout in expected.items():
        # keep real columns only: drops implicit ROWIDs and table-valued functions
        result[alias] = frozenset(
            (table, column)
            for schema, table, column in reads
            if schema == alias and column in layout.tables.get(table, {})
        )
    return result


def affinity(declared: str) -> str:
    """SQLite's type affinity of a declared column type (section 3.1 of its datatype rules)."""
    text = declared.upper()
    if "INT" in text:
        return "INTEGER"
    if "CHAR" in text or "CLOB" in text or "TEXT" in text:
        return "TEXT"
    if "BLOB" in text or not text:
        return "BLOB"
    if "REAL" in text or "FLOA" in text or "DOUB" in text:
        return "REAL"
    return "NUMERIC"


_NUMERIC = {"INTEGER", "REAL", "NUMERIC"}


def compatible(actual: str, expected: str) -> bool:
    """Whether values stored under `actual` compare like those of `expected` in our queries."""
    have, want = affinity(actual), affinity(expected)
    return have == want or (have in _NUMERIC and want in _NUMERIC)


def _index_covers(indexes: Iterable[IndexShape], table: str, leading: str) -> bool:
    """A full (non-partial) index on `table` led by `leading`: what the library accepts."""
    return any(
        shape.table == table and not shape.partial and shape.columns[:1] == (leading,)
        for shape in indexes
    )


def _has_index(indexes: Iterable[IndexShape], wanted: IndexShape) -> bool:
    return any(
        shape.table == wanted.table
        and shape.columns == wanted.columns
        and shape.partial == wanted.partial
        for shape in indexes
    )


def compare(
    actual: Layout,
    expected: Layout,
    *,
    read_columns: frozenset[tuple[str, str]] = frozenset(),
    required_indexes: Iterable[str] = (),
    everything_required: bool = False,
) -> list[Problem]:
    """Every difference that matters, most serious first.

    `read_columns` and `required_indexes` ("table.column" of the leading
    column) are what the server needs: their absence is a failure. With
    `everything_required` (our own sidecar) every difference is.
    """

    def severity(needed: bool) -> Status:
        return Status.FAILED if needed or everything_required else Status.WARNING

    read_tables = {table for table, _column in read_columns}
    problems: list[Problem] = []
    for table, columns in expected.tables.items():
        have = actual.tables.get(table)
        if have is None:
            needed = table in read_tables
            problems.append(
                Problem(
                    severity(needed),
                    f"no table {table}" + (" (the server reads it)" if needed else ""),
                )
            )
            continue
        for column, declared in columns.items():
            needed = (table, column) in read_columns
            why = " (the server reads it)" if needed else ""
            if column not in have:
                problems.append(Problem(severity(needed), f"{table} has no column {column}{why}"))
            elif not compatible(have[column], declared):
                problems.append(
                    Problem(
                        severity(needed),
                        f"{table}.{column} is declared {have[column] or 'without a type'!s}, "
                        f"expected {declared} (a {affinity(declared).lower()} column){why}",
                    )
                )
    required = [tuple(item.split(".", 1)) for item in required_indexes]
    for table, column in required:
        if table in actual.tables and not _index_covers(actual.indexes, table, column):
            problems.append(
                Problem(Status.FAILED, f"no index on {table}({column}) (lookups need it)")
            )
    for shape in expected.indexes:
        if shape.table not in actual.tables or _has_index(actual.indexes, shape):
            continue
        if shape.columns and (shape.table, shape.columns[0]) in required and not shape.partial:
            continue  # already reported above
        problems.append(
            Problem(
                severity(False),
                f"no {shape.describe()}"
                + ("" if everything_required else " (shipped with the dump; lookups skip it)"),
            )
        )
    problems.sort(key=lambda problem: problem.severity != Status.FAILED)
    return problems


def check_dump_file(connection: apsw.Connection, role: Role, schema: str = "main") -> list[Problem]:
    """Problems of one dump file; files the server does not read only get warnings."""
    alias = LIBRARY_ALIAS.get(role)
    actual = layout_of(connection, schema)
    problems = compare(
        actual,
        expected_for(role),
        read_columns=columns_read_by_library()[alias] if alias else frozenset(),
        required_indexes=documents.REQUIRED_INDEXES.get(alias, ()) if alias else (),
    )
    return problems


def check_sidecar(connection: apsw.Connection, schema: str = "main") -> list[Problem]:
    """Problems of our own sidecar: any difference from `schema/sidecar.sql` is a failure."""
    return compare(layout_of(connection, schema), expected_sidecar(), everything_required=True)


def fingerprint_rows(connection: apsw.Connection, schema: str = "main") -> list[str]:
    """The schema text of a file, sorted, for the manifest's schema fingerprint."""
    return sorted(
        f"{kind}\0{name}\0{table}\0{sql or ''}"
        for kind, name, table, sql in connection.execute(
            f"SELECT type, name, tbl_name, sql FROM {schema}.sqlite_master"
        )
    )
