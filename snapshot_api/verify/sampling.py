"""Sample-based checks of `verify`: do references resolve, are identifiers well formed?

A random sample of rows (random rowids, each found with one b-tree descent)
stands in for the whole table, so the cost is a few hundred page reads whatever
the size. Foreign keys in the dump are declared for documentation only and a
few dangling references are normal in the real data, so a dump relation is
`ok` from 99% resolved, a `warning` from 50%, and `failed` below that (files
that do not belong together). The sidecar is ours: every sampled entry must
resolve to an album whose stored barcode normalises to the entry's key, and
every sampled album with a well-formed barcode must be in it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import apsw

from snapshot_api.errors import InvalidIdentifier
from snapshot_api.identifiers import Kind, parse, stored_barcode_key
from snapshot_api.layout import Role
from snapshot_api.verdict import Status
from snapshot_api.verify.checks import Check, Target, reading

RESOLVED_OK = 0.99
RESOLVED_WARNING = 0.5
DEFAULT_SAMPLE = 200


def rowid_range(connection: apsw.Connection, table: str) -> tuple[int, int] | None:
    """(min, max) rowid: two O(log n) descents (SQLite optimises a lone min or max)."""
    low = connection.execute(f"SELECT min(rowid) FROM {table}").get
    high = connection.execute(f"SELECT max(rowid) FROM {table}").get
    if low is None or high is None:
        return None
    return int(low), int(high)


def text_safe(columns: str) -> str:
    """Select `columns` (comma-separated) as value and is-text pairs, text as its bytes.

    Python's conversion of a TEXT value that is not UTF-8 raises, which would
    stop a check at one dirty cell; `decoded` reads such text with U+FFFD in
    place of the bad bytes, as lookups serve it.
    """
    pairs = []
    for column in (name.strip() for name in columns.split(",")):
        text = f"typeof({column}) = 'text'"
        pairs.append(f"iif({text}, CAST({column} AS BLOB), {column}), {text}")
    return ", ".join(pairs)


def decoded(row: Sequence[Any]) -> tuple[Any, ...]:
    """The values of a `text_safe` row, text decoded."""
    values, flags = row[0::2], row[1::2]
    return tuple(
        value.decode(errors="replace") if is_text else value
        for value, is_text in zip(values, flags, strict=True)
    )


def sample_rows(
    connection: apsw.Connection,
    table: str,
    columns: str,
    rng: random.Random,
    size: int,
) -> list[tuple[Any, ...]]:
    """Up to `size` rows at random rowids (the next existing one at or after each)."""
    bounds = rowid_range(connection, table)
    if bounds is None:
        return []
    low, high = bounds
    sql = (
        f"SELECT rowid, 0, {text_safe(columns)} FROM {table} WHERE rowid >= ?"
        " ORDER BY rowid LIMIT 1"
    )
    rows = []
    for _ in range(size):
        row = connection.execute(sql, (rng.randint(low, high),)).fetchone()
        if row is not None:
            rows.append(decoded(row))
    return rows


@dataclass(slots=True)
class Tally:
    """How many sampled references of one relation resolved."""

    relation: str
    sampled: int = 0
    resolved: int = 0

    @property
    def share(self) -> float:
        return self.resolved / self.sampled if self.sampled else 1.0

    def status(self) -> Status:
        if self.share >= RESOLVED_OK:
            return Status.OK
        if self.share >= RESOLVED_WARNING:
            return Status.WARNING
        return Status.FAILED

    def describe(self) -> str:
        return f"{self.relation} {self.resolved}/{self.sampled}"


def _exists(connection: apsw.Connection, sql: str, *values: object) -> bool:
    return connection.execute(sql, values).fetchone() is not None


def _worst(statuses: Iterator[Status]) -> Status:
    order = [Status.FAILED, Status.WARNING, Status.OK]
    found = set(statuses)
    return next((status for status in order if status in found), Status.OK)


def check_references(target: Target, rng: random.Random, size: int) -> list[Check]:
    """Sampled rows of the link tables resolve their references."""
    name = "sample references"
    main = target.usable.get(Role.MAIN)
    if main is None:
        return [Check(name, Status.SKIPPED, "main database unusable (see above)")]
    album = "SELECT 1 FROM albums WHERE rowid = ?"
    artist = "SELECT 1 FROM artists WHERE rowid = ?"
    track = "SELECT 1 FROM tracks WHERE rowid = ?"
    tallies: list[Tally] = []
    with reading(main) as connection:
        plan = (
            ("tracks", "album_rowid", ((album, "tracks→album"),)),
            ("track_artists", "track_rowid, artist_rowid",
             ((track, "track_artists→track"), (artist, "track_artists→artist"))),
            ("artist_albums", "album_rowid, artist_rowid",
             ((album, "artist_albums→album"), (artist, "artist_albums→artist"))),
        )  # fmt: skip
        for table, columns, lookups in plan:
            rows = sample_rows(connection, table, columns, rng, size)
            for position, (sql, relation) in enumerate(lookups, start=1):
                tally = Tally(relation, sampled=len(rows))
                tally.resolved = sum(_exists(connection, sql, row[position]) for row in rows)
                tallies.append(tally)
        track_files = target.usable.get(Role.TRACK_FILES)
        if track_files is not None:
            with reading(track_files) as files:
                rows = sample_rows(files, "track_files", "track_id", rng, size)
            tally = Tally("track_files→track", sampled=len(rows))
            tally.resolved = sum(
                _exists(connection, "SELECT 1 FROM tracks WHERE id = ?", row[1]) for row in rows
            )
            tallies.append(tally)
    status = _worst(tally.status() for tally in tallies)
    detail = ", ".join(tally.describe() for tally in tallies) + " resolved"
    if status is not Status.OK:
        detail += (
            f" (below {RESOLVED_OK:.0%}: dangling references; "
            f"below {RESOLVED_WARNING:.0%} the files do not belong together)"
        )
    data = {"resolved": {tally.relation: [tally.resolved, tally.sampled] for tally in tallies}}
    return [Check(name, status, detail, data)]


def _canonical_isrc(value: object) -> bool:
    """Stored exactly in the canonical form lookups search for."""
    if not isinstance(value, str):
        return False
    try:
        return parse(Kind.ISRC, value) == value
    except InvalidIdentifier:
        return False


def check_identifiers(target: Target, rng: random.Random, size: int) -> list[Check]:
    """Share of well-formed ISRCs and barcodes among sampled rows that carry one."""
    name = "sample identifiers"
    main = target.usable.get(Role.MAIN)
    if main is None:
        return [Check(name, Status.SKIPPED, "main database unusable (see above)")]
    with reading(main) as connection:
        tracks = sample_rows(connection, "tracks", "external_id_isrc", rng, size)
        albums = sample_rows(connection, "albums", "external_id_upc", rng, size)
    isrcs = [row[1] for row in tracks if row[1] is not None]
    barcodes = [row[1] for row in albums if row[1] is not None]
    good_isrcs = sum(_canonical_isrc(value) for value in isrcs)
    good_barcodes = sum(stored_barcode_key(str(value)) is not None for value in barcodes)

    def share(good: int, total: int) -> str:
        return f"{good / total:.1%} of {total}" if total else "none sampled"

    detail = (
        f"well-formed ISRCs: {share(good_isrcs, len(isrcs))} sampled tracks with one "
        f"({len(tracks) - len(isrcs)} without); well-formed barcodes: "
        f"{share(good_barcodes, len(barcodes))} sampled albums with one "
        f"({len(albums) - len(barcodes)} without)"
    )
    data = {
        "isrc": {"sampled": len(isrcs), "well_formed": good_isrcs},
        "barcode": {"sampled": len(barcodes), "well_formed": good_barcodes},
    }
    return [Check(name, Status.OK, detail, data)]


def check_sidecar_sample(target: Target, rng: random.Random, size: int) -> list[Check]:
    """Sampled sidecar entries point at albums with that barcode, and back."""
    name = "sample sidecar"
    main = target.usable.get(Role.MAIN)
    if main is None or target.sidecar is None:
        return [Check(name, Status.SKIPPED, "main database or sidecar unusable (see above)")]
    wrong: list[str] = []
    with reading(main) as connection, reading(target.sidecar) as sidecar:
        entries = _sample_barcodes(sidecar, rng, size)
        for barcode, album_rowid in entries:
            row = connection.execute(
                f"SELECT {text_safe('external_id_upc')} FROM albums WHERE rowid = ?",
                (album_rowid,),
            ).fetchone()
            row = None if row is None else decoded(row)
            if row is None:
                wrong.append(f"barcode {barcode} → album rowid {album_rowid}, which does not exist")
            elif stored_barcode_key(row[0]) != barcode:
                wrong.append(
                    f"barcode {barcode} → album rowid {album_rowid}, whose UPC is {row[0]!r}"
                )
        albums = sample_rows(connection, "albums", "external_id_upc", rng, size)
        indexed = [(rowid, key) for rowid, upc in albums if (key := stored_barcode_key(upc))]
        for rowid, key in indexed:
            sql = "SELECT 1 FROM barcode_albums WHERE barcode = ? AND album_rowid = ?"
            if not _exists(sidecar, sql, key, rowid):
                wrong.append(f"album rowid {rowid} (barcode {key}) is missing from the sidecar")
    if wrong:
        shown = "; ".join(wrong[:3]) + (f"; and {len(wrong) - 3} more" if len(wrong) > 3 else "")
        return [
            Check(
                name,
                Status.FAILED,
                f"{shown}: the sidecar does not describe this dump; run "
                f"`snapshot-api build --force {target.directory}`",
            )
        ]
    return [
        Check(
            name,
            Status.OK,
            f"{len(entries)} sampled entries resolve to their albums, "
            f"{len(indexed)} sampled albums with a barcode are indexed",
        )
    ]


def _sample_barcodes(
    sidecar: apsw.Connection, rng: random.Random, size: int
) -> list[tuple[int, int]]:
    low = sidecar.execute("SELECT min(barcode) FROM barcode_albums").get
    high = sidecar.execute("SELECT max(barcode) FROM barcode_albums").get
    if low is None or high is None:
        return []
    sql = (
        "SELECT barcode, album_rowid FROM barcode_albums WHERE barcode >= ? "
        "ORDER BY barcode LIMIT 1"
    )
    entries = []
    for _ in range(size):
        row = sidecar.execute(sql, (rng.randint(int(low), int(high)),)).fetchone()
        if row is not None:
            entries.append((int(row[0]), int(row[1])))
    return entries
