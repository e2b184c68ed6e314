"""The library as a tagging script uses it: `Snapshot.lookup_json` in this process.

`lookup_json` is what both the server and the dict API run: canonical keys in,
finished JSON documents out, one set-based statement per call.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from snapshot_api import Snapshot
from snapshot_api.identifiers import Kind
from tools.bench.floor import LEVELS, Floor
from tools.bench.keys import BENCH_KINDS, Keys
from tools.bench.plan import Plan
from tools.bench.processes import BenchError
from tools.bench.stats import Summary
from tools.bench.throughput import Lookup, LookupFactory, batches, items_per_second, warm

EMPTY = b"[]"


def library(snapshot: Snapshot, kind: Kind) -> LookupFactory:
    """A lookup per thread over the shared `Snapshot` (it keeps a connection per thread)."""

    def make() -> Lookup:
        def lookup(keys: Sequence[str]) -> int:
            found = snapshot.lookup_json(kind, keys)
            return sum(text != EMPTY for text in found.values())

        return lookup

    return make


@dataclass(slots=True)
class InProcessFigures:
    """Items/s per (kind, batch size, threads), for the library and both floors."""

    tracks: int
    library: dict[tuple[Kind, int, int], Summary] = field(default_factory=dict)
    floor: dict[tuple[Kind, str, int, int], Summary] = field(default_factory=dict)
    hit_rate: dict[Kind, float] = field(default_factory=dict)


def modes(plan: Plan, kinds: Sequence[Kind] = BENCH_KINDS) -> list[tuple[Kind, int, int]]:
    """(kind, batch size, threads): every kind single and batched on one thread; ISRC,
    the main use, also on each extra thread count."""
    sizes = (1, *plan.batch_sizes)
    chosen = [(kind, size, 1) for kind in kinds for size in sizes]
    for threads in plan.threads:
        if threads > 1:
            chosen += [(Kind.ISRC, 1, threads), (Kind.ISRC, max(plan.batch_sizes), threads)]
    return chosen


def measure(
    plan: Plan,
    directory: Path,
    tracks: int,
    keys: Keys,
    *,
    with_floor: bool = True,
    kinds: Sequence[Kind] = BENCH_KINDS,
) -> InProcessFigures:
    """Library and floor, alternated within each repetition, warm cache."""
    figures = InProcessFigures(tracks)
    floor = Floor(directory) if with_floor else None
    with Snapshot.open(directory) as snapshot:
        for kind in kinds:
            sample = keys.of(kind)
            if not sample:
                raise BenchError(f"{directory}: no {kind.value} keys to look up")
            hits = warm(library(snapshot, kind), sample)
            figures.hit_rate[kind] = hits / len(sample)
            if floor is not None:
                for level in LEVELS:
                    warm(floor.factory(kind, level), sample)
        library_runs: dict[tuple[Kind, int, int], list[float]] = {}
        floor_runs: dict[tuple[Kind, str, int, int], list[float]] = {}
        for _round in range(plan.repeats):
            for kind, size, threads in modes(plan, kinds):
                sample = keys.of(kind)
                library_runs.setdefault((kind, size, threads), []).append(
                    items_per_second(
                        library(snapshot, kind),
                        sample,
                        size,
                        threads=threads,
                        seconds=plan.inprocess_seconds,
                    )
                )
                if floor is None:
                    continue
                for level in LEVELS:
                    floor_runs.setdefault((kind, level, size, threads), []).append(
                        items_per_second(
                            floor.factory(kind, level),
                            sample,
                            size,
                            threads=threads,
                            seconds=plan.inprocess_seconds,
                        )
                    )
    figures.library = {key: Summary.of(runs) for key, runs in library_runs.items()}
    figures.floor = {key: Summary.of(runs) for key, runs in floor_runs.items()}
    return figures


@dataclass(frozen=True, slots=True)
class ColdFigures:
    tracks: int
    single: float
    batch: float
    batch_size: int
    items: int
    warm_single: float
    warm_batch: float
    method: str


def evict(directory: Path, *, whole_machine: bool) -> str:
    """Make the snapshot's pages cold; returns how, for the report.

    With `whole_machine` (and root), the kernel drops every clean cached page
    (`drop_caches`): a true cold start, including file system metadata. Else
    only this snapshot's files are evicted (`posix_fadvise(DONTNEED)`), which
    needs no privilege and leaves other work on the machine alone.
    """
    os.sync()
    if whole_machine:
        try:
            with open("/proc/sys/vm/drop_caches", "w") as control:
                control.write("3\n")
            return "`echo 3 > /proc/sys/vm/drop_caches` (whole page cache)"
        except OSError as exc:
            reason = exc.strerror or str(exc)
    else:
        reason = ""
    for path in sorted(directory.iterdir()):
        if path.suffix == ".sqlite3" and path.is_file():
            descriptor = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(descriptor)
    method = "`posix_fadvise(DONTNEED)` on the snapshot's files"
    return f"{method} (drop_caches refused: {reason})" if reason else method


def measure_cold(
    directory: Path, tracks: int, keys: Sequence[str], batch_size: int, *, whole_machine: bool
) -> ColdFigures:
    """One pass over keys never looked up before, just after evicting the snapshot from the
    page cache: the first lookups of a freshly booted server on data larger than RAM."""
    half = len(keys) // 2
    single_keys, batch_keys = keys[:half], keys[half:]
    results: list[float] = []
    method = ""
    for chosen, size in ((single_keys, 1), (batch_keys, batch_size)):
        method = evict(directory, whole_machine=whole_machine)
        with Snapshot.open(directory) as snapshot:
            lookup = library(snapshot, Kind.ISRC)()
            chunks = batches(chosen, size)
            started = time.perf_counter()
            for chunk in chunks:
                lookup(chunk)
            results.append(sum(map(len, chunks)) / (time.perf_counter() - started))
    with Snapshot.open(directory) as snapshot:
        warm_single = items_per_second(library(snapshot, Kind.ISRC), single_keys, 1, seconds=1.0)
        warm_batch = items_per_second(
            library(snapshot, Kind.ISRC), batch_keys, batch_size, seconds=1.0
        )
    return ColdFigures(
        tracks, results[0], results[1], batch_size, half, warm_single, warm_batch, method
    )
