"""Known identifiers sampled from a snapshot, so every lookup hits real data.

Keys are drawn at random rowids (a fixed seed: the same keys on every run)
with one indexed probe per rowid, never a scan, and only values that the
public parsers accept are kept, in their canonical form: the benchmark then
measures lookups, not input errors. The load cycles through many different
keys so no measurement is of one cached answer.
"""

from __future__ import annotations

import array
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import apsw

from snapshot_api.errors import InvalidIdentifier
from snapshot_api.identifiers import Kind, parse
from snapshot_api.layout import Role, find_dump_files
from snapshot_api.snapshot import MMAP_BYTES

SOURCES: dict[Kind, tuple[str, str]] = {
    Kind.ISRC: ("tracks", "external_id_isrc"),
    Kind.UPC: ("albums", "external_id_upc"),
    Kind.TRACK: ("tracks", "id"),
    Kind.ALBUM: ("albums", "id"),
    Kind.ARTIST: ("artists", "id"),
}

BENCH_KINDS: tuple[Kind, ...] = tuple(SOURCES)
"""The lookup kinds the benchmarks measure (audio features are measured by `spotify`)."""


@dataclass(frozen=True, slots=True)
class Keys:
    """Canonical keys per kind, in a fixed random order."""

    by_kind: dict[Kind, list[str]]

    def of(self, kind: Kind) -> list[str]:
        return self.by_kind[kind]


def open_read_only(path: Path) -> apsw.Connection:
    uri = "file:" + str(path.resolve()) + "?mode=ro&immutable=1"
    connection = apsw.Connection(uri, flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI)
    connection.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
    return connection


def sample(directory: Path, count: int, seed: int, kinds: Sequence[Kind] = BENCH_KINDS) -> Keys:
    """Up to `count` distinct canonical keys of each kind (fewer only if the data has fewer)."""
    connection = open_read_only(find_dump_files(directory)[Role.MAIN].path)
    try:
        by_kind = {
            kind: _sample_kind(connection, kind, count, random.Random(f"{seed}-{kind.value}"))
            for kind in kinds
        }
    finally:
        connection.close()
    return Keys(by_kind)


def _sample_kind(
    connection: apsw.Connection, kind: Kind, count: int, rng: random.Random
) -> list[str]:
    table, column = SOURCES[kind]
    top = connection.execute(f"SELECT max(rowid) FROM {table}").get
    if not isinstance(top, int) or top < 1:
        return []
    found: dict[str, None] = {}
    # most rows carry a usable value; a few rounds of random rowids are enough
    for _round in range(20):
        wanted = count - len(found)
        if wanted <= 0:
            break
        rowids = [rng.randint(1, top) for _ in range(wanted * 2)]
        rows = connection.execute(
            f"SELECT {column} FROM carray(?1) AS k CROSS JOIN {table} ON {table}.rowid = k.value",
            (apsw.carray(array.array("q", rowids)),),
        )
        for (value,) in rows:
            if not isinstance(value, str):
                continue
            try:
                found.setdefault(parse(kind, value), None)
            except InvalidIdentifier:
                continue
    return list(found)[:count]
