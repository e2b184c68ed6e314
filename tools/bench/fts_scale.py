"""`python -m tools.bench.fts_scale DIR`: the search index's AND at sizes no snapshot here reaches.

The slowest search class across sizes is a common word ANDed with a word of a
fixed number of tracks (`tools.bench.search`, "word of 500-1,000 tracks"):
FTS5 seeks the common word's list once per row of the rarer one. Whether that
cost stays flat up to 256M tracks cannot be measured on a real snapshot on a
machine with 24 GiB of memory and 70 GB of disk, but it depends only on those
two lists. So this builds, per size, an FTS5 table made like the track index
(its statement from the schema, the build's leaf and buffer sizes) holding
just them: `love` in 3.57% of rows (the mean of the search bench's common
words at 10M) and 40 words of 750 rows each, all spread evenly over the
rowids, and times `love AND <word>`: the first 20 rows (what a search reads)
and both whole lists (the bench's band, whose words share fewer than 20 rows
with a common word, walks them to the end). Files are kept in DIR and reused
by a re-run (written under a temporary name, so an interrupted build is
started again); reads go through a memory map and SQLite's cache as sized for a
snapshot that fits in memory, or with `--mmap off` through `pread` as for one
that does not (what `serve --mmap auto` picks for the real dump).
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import math
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import apsw

from snapshot_api.cli import OneLineParser
from snapshot_api.layout import SEARCH_SCHEMA_FILE, schema_sql
from snapshot_api.search.build import LEAF_BYTES, configure_words_table
from snapshot_api.snapshot import read_sizes

COMMON = "love"
COMMON_SHARE = 0.0357
"""Rows holding the common word: the mean of the search bench's ten common words at 10M."""
RARE_WORDS = 40
RARE_ROWS = 750
"""Rows holding each rare word: the middle of the search bench's 500-1,000 band."""
FIRST_PAGE = 20
TABLE = "track_words"
SIZES = (1_000_000, 10_000_000, 30_000_000, 100_000_000, 256_000_000)


@dataclass(frozen=True, slots=True)
class Measured:
    tracks: int
    file_bytes: int
    first_page_ms: float
    whole_lists_ms: float
    shared_rows: float
    """Rows a rare word shares with the common one, on average."""


def rare_word(number: int) -> str:
    return f"rare{number:02d}"


def table_sql() -> str:
    """The track index's own statement, so the model has its tokenizer, detail and prefixes."""
    statement = rf"CREATE VIRTUAL TABLE {TABLE} USING fts5\(.*?\);"
    found = re.search(statement, schema_sql(SEARCH_SCHEMA_FILE), re.S)
    assert found is not None, f"{TABLE} is made in {SEARCH_SCHEMA_FILE}"
    return found.group(0)


def _common_rows(tracks: int, rng: random.Random) -> Iterator[tuple[int, str]]:
    """Rowids holding the common word, by geometric gaps: one draw per row held, not per row."""
    log_miss = math.log1p(-COMMON_SHARE)
    rowid = 0
    while True:
        rowid += 1 + int(math.log(1.0 - rng.random()) / log_miss)
        if rowid > tracks:
            return
        yield rowid, COMMON


def rows(tracks: int, *, seed: int) -> Iterator[tuple[int, str]]:
    """Every row holding a word, in rowid order, its words joined: the build's input."""
    rng = random.Random(seed)
    rare = sorted(
        (rowid, rare_word(number))
        for number in range(RARE_WORDS)
        for rowid in rng.sample(range(1, tracks + 1), RARE_ROWS)
    )
    merged = heapq.merge(_common_rows(tracks, rng), rare)
    for rowid, group in itertools.groupby(merged, key=lambda row: row[0]):
        yield rowid, " ".join(word for _, word in group)


def model_file(directory: Path, tracks: int, leaf: int) -> Path:
    return directory / f"and-{tracks}-leaf{leaf}.sqlite3"


def build(path: Path, tracks: int, leaf: int) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    connection = apsw.Connection(str(temporary))
    for pragma in ("journal_mode = OFF", "synchronous = OFF"):
        connection.execute(f"PRAGMA {pragma}").fetchall()
    connection.execute(table_sql())
    configure_words_table(connection, TABLE, leaf)
    with connection:
        insert = f"INSERT INTO {TABLE}(rowid, words) VALUES (?, ?)"
        connection.executemany(insert, rows(tracks, seed=tracks))
        connection.execute(f"INSERT INTO {TABLE}({TABLE}) VALUES ('optimize')")
    connection.close()
    temporary.rename(path)


def measure(path: Path, tracks: int, rounds: int, *, mmap: bool) -> Measured:
    connection = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    mmap_bytes, cache_kib = read_sizes(mmap=mmap)
    for pragma in (f"mmap_size = {mmap_bytes}", f"cache_size = -{cache_kib}"):
        connection.execute(f"PRAGMA {pragma}").fetchall()
    sql = f"SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH ? ORDER BY rowid LIMIT ?"
    queries = [f"{COMMON} AND {rare_word(number)}" for number in range(RARE_WORDS)]

    def p50(limit: int) -> tuple[float, float]:
        seconds: list[float] = []
        shared = 0
        for round_number in range(rounds + 1):  # the first round warms the cache
            for query in queries:
                started = time.perf_counter()
                found = connection.execute(sql, (query, limit)).fetchall()
                if round_number:
                    seconds.append(time.perf_counter() - started)
                else:
                    shared += len(found)
        return statistics.median(seconds) * 1e3, shared / len(queries)

    first_page, _ = p50(FIRST_PAGE)
    whole_lists, shared = p50(tracks)
    connection.close()
    return Measured(tracks, path.stat().st_size, first_page, whole_lists, shared)


def report(results: list[Measured], leaf: int, mmap: bool, out: Callable[[str], None]) -> None:
    smallest = results[0]
    read = "memory-mapped" if mmap else "pread"
    out(f"`{COMMON} AND <word of {RARE_ROWS} rows>`, {leaf}-byte leaves, {read}, p50 ms:")
    out("")
    out("| tracks | file MB | first 20 | whole lists | shared rows | whole lists × smallest |")
    out("|---:|---:|---:|---:|---:|---:|")
    for result in results:
        out(
            f"| {result.tracks:,} | {result.file_bytes / 1e6:.1f} | {result.first_page_ms:.3f}"
            f" | {result.whole_lists_ms:.3f} | {result.shared_rows:.1f}"
            f" | {result.whole_lists_ms / smallest.whole_lists_ms:.2f}× |"
        )
    out("")


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(sorted({int(float(part)) for part in text.split(",")}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if not sizes or sizes[0] < RARE_ROWS:
        raise argparse.ArgumentTypeError(f"every size must be at least {RARE_ROWS} rows")
    return sizes


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m tools.bench.fts_scale", description=__doc__)
    parser.add_argument(
        "directory", type=Path, metavar="DIR", help="where the model files are kept"
    )
    parser.add_argument(
        "--sizes", type=_sizes, default=SIZES, help="rows, comma-separated (1e6 allowed)"
    )
    parser.add_argument("--leaf", type=_positive, default=LEAF_BYTES, help="FTS5 leaf bytes")
    parser.add_argument("--rounds", type=_positive, default=6, help="passes over the 40 words")
    parser.add_argument("--mmap", choices=("on", "off"), default="on", help="mapped, or pread")
    args = parser.parse_args(argv)
    if not args.directory.is_dir():
        parser.error(f"not a directory: {args.directory}")
    try:
        mmap = args.mmap == "on"
        measured = _measure_each(args.directory, args.sizes, args.leaf, args.rounds, mmap=mmap)
        report(measured, args.leaf, mmap, print)
    except KeyboardInterrupt:
        print("fts_scale: interrupted (a re-run starts the unfinished file again)", file=sys.stderr)
        return 130
    return 0


def _measure_each(
    directory: Path, sizes: tuple[int, ...], leaf: int, rounds: int, *, mmap: bool
) -> list[Measured]:
    results: list[Measured] = []
    for tracks in sizes:
        path = model_file(directory, tracks, leaf)
        if not path.exists():
            started = time.monotonic()
            build(path, tracks, leaf)
            print(f"built {path.name} in {time.monotonic() - started:.1f} s", file=sys.stderr)
        results.append(measure(path, tracks, rounds, mmap=mmap))
    return results


if __name__ == "__main__":
    sys.exit(main())
