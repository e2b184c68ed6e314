"""The `verify --full` text check: cells holding bytes that are not UTF-8, per table and column.

The dump is scraped text, and a flipped bit in a record is invisible to
`integrity_check` (it checks b-trees, not payloads) but can leave a name that
is not UTF-8. Lookups serve such a cell with U+FFFD in place of each bad
sequence, so the snapshot stays fit to serve: the verdict is a warning with
the count and the first rows of each column, for an operator to compare with
the source. Many such cells in one file point at damage rather than at dirty
source data; the checksum check (`build --checksums`) tells which.

Every text column (by declared type) of every table of each dump file is
read once, in one statement per table, on a connection with mmap off so the
bytes-read progress measures the work. A Python function sees each row's
cells as BLOBs (the bytes stored: Python's conversion of a TEXT value would
raise on them) and checks those that are not ASCII; only undecodable ones are
kept, up to `EXAMPLES` per column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apsw

from snapshot_api.files import longquery
from snapshot_api.layout import Role
from snapshot_api.progress import Reporter, format_count
from snapshot_api.verdict import Status
from snapshot_api.verify.checks import Check, Target, reading

EXAMPLES = 3
"""Rows shown per column."""

PREVIEW_CHARACTERS = 60

_TEXT_TYPES = ("CHAR", "CLOB", "TEXT")
"""SQLite's rule: a declared type containing one of these has TEXT affinity."""


@dataclass(slots=True)
class Column:
    """Undecodable cells found in one column."""

    count: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)


def _text_columns(connection: apsw.Connection) -> dict[str, list[str]]:
    """{table: [text columns]} of every ordinary table with rowids."""
    tables = [
        str(row[0])
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    found: dict[str, list[str]] = {}
    for table in tables:
        columns = [
            str(name)
            for _cid, name, declared, _notnull, _default, _pk in connection.execute(
                f"PRAGMA table_info({_quote(table)})"
            )
            if any(word in str(declared or "").upper() for word in _TEXT_TYPES)
        ]
        if columns:
            found[table] = columns
    return found


def _scan_table(
    connection: apsw.Connection, table: str, columns: list[str], reporter: Reporter
) -> dict[str, Column]:
    bad: dict[str, Column] = {}

    def check_row(*row: Any) -> int:
        rowid, cells = row[0], row[1:]
        undecodable = 0
        for column, cell in zip(columns, cells, strict=True):
            if not isinstance(cell, bytes) or cell.isascii():
                continue
            try:
                cell.decode()
            except UnicodeDecodeError:
                undecodable += 1
                found = bad.setdefault(column, Column())
                found.count += 1
                if len(found.examples) < EXAMPLES:
                    text = cell.decode(errors="replace")[:PREVIEW_CHARACTERS]
                    found.examples.append({"rowid": rowid, "text": text})
        return undecodable

    connection.create_scalar_function("snapshot_api_undecodable", check_row)
    cells = ", ".join(f"CAST({_quote(column)} AS BLOB)" for column in columns)
    sql = f"SELECT sum(snapshot_api_undecodable(rowid, {cells})) FROM {_quote(table)}"
    progress = reporter.progress(f"text encoding {table}", None, unit="bytes")
    try:
        longquery.run(connection, sql, progress)
    except BaseException:
        progress.clear()
        raise
    total = sum(column.count for column in bad.values())
    progress.finish(f"text encoding {table}: {format_count(total)} cells not UTF-8")
    return bad


def _scan_file(path: Path, reporter: Reporter) -> dict[str, Column]:
    """{"table.column": undecodable cells} of one file."""
    found: dict[str, Column] = {}
    with reading(path) as connection:
        for table, columns in _text_columns(connection).items():
            for column, cells in _scan_table(connection, table, columns, reporter).items():
                found[f"{table}.{column}"] = cells
    return found


def check_text_encoding(target: Target, reporter: Reporter) -> list[Check]:
    """Per dump file: ok, or a warning naming each column with cells that are not UTF-8."""
    checks = []
    for role, path in target.usable.items():
        name = f"text encoding {role.value}"
        try:
            found = _scan_file(path, reporter)
        except apsw.Error as exc:
            status = Status.WARNING if role is Role.AUDIO_FEATURES else Status.FAILED
            checks.append(Check(name, status, f"{path.name} cannot be read: {exc}"))
            continue
        except UnicodeDecodeError:
            checks.append(
                Check(
                    name, Status.FAILED, f"{path.name}: its schema holds names that are not UTF-8"
                )
            )
            continue
        if not found:
            checks.append(Check(name, Status.OK, f"{path.name}: every text cell is UTF-8"))
            continue
        parts = [
            f"{where} {format_count(cells.count)} ("
            + ", ".join(
                f"rowid {example['rowid']} {example['text']!r}" for example in cells.examples
            )
            + (", …" if cells.count > len(cells.examples) else "")
            + ")"
            for where, cells in found.items()
        ]
        total = sum(cells.count for cells in found.values())
        checks.append(
            Check(
                name,
                Status.WARNING,
                f"{path.name}: {format_count(total)} cells are not UTF-8 (served with U+FFFD "
                f"in place of the bad bytes): {'; '.join(parts)}",
                {
                    "not_utf8": {
                        where: {"count": cells.count, "examples": cells.examples}
                        for where, cells in found.items()
                    }
                },
            )
        )
    return checks


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
