"""What one benchmark run measures and for how long: the full run and `--quick`.

All sizes, durations and repetition counts live here, so the two modes differ
in one place and the report can print exactly what was done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("isrc", "upc", "track", "album", "artist")
"""Every lookup kind, in the order tables list them."""


@dataclass(frozen=True, slots=True)
class Plan:
    quick: bool
    data_dir: Path
    output: Path
    sizes: tuple[int, ...]
    """Synthetic snapshot sizes in tracks; every measurement runs on each."""
    http_sizes: tuple[int, ...]
    """Sizes measured over HTTP (all of them in a full run)."""
    seed: int = 0
    repeats: int = 3
    """Runs per figure; medians and min–max are over these."""
    inprocess_seconds: float = 2.0
    """Length of one in-process measurement."""
    wrk_seconds: int = 5
    """Length of one wrk run."""
    sample_keys: int = 20_000
    """Known keys sampled per kind (the load cycles through them)."""
    batch_sizes: tuple[int, ...] = (100, 400)
    concurrencies: tuple[int, ...] = (1, 16, 64)
    batch_concurrency: int = 8
    workers: tuple[int, ...] = (1, 2)
    threads: tuple[int, ...] = (1, 2)
    startup_runs: int = 3
    stats_size: int | None = None
    """Size whose ANALYZEd copy (sqlite_stat1/stat4) is also measured (None: skipped)."""
    zst_size: int | None = None
    """Size whose compressed copy is built to time decompression (None: skipped)."""
    cold: bool = True
    """Measure cold lookups on the largest size after evicting it from the page cache."""
    cold_whole_machine: bool = False
    """Evict with drop_caches (the whole machine, root only) rather than per file."""
    peer: bool = True
    profile: bool = True
    cold_items: int = 2_000
    notes: list[str] = field(default_factory=list)

    @property
    def largest(self) -> int:
        return max(self.sizes)

    @property
    def smallest(self) -> int:
        return min(self.sizes)


def full_plan(data_dir: Path, output: Path, sizes: tuple[int, ...], *, cold: bool) -> Plan:
    ordered = tuple(sorted(set(sizes)))
    return Plan(
        quick=False,
        data_dir=data_dir,
        output=output,
        sizes=ordered,
        http_sizes=ordered,
        repeats=3,
        inprocess_seconds=2.0,
        wrk_seconds=5,
        sample_keys=20_000,
        stats_size=max(ordered),
        zst_size=min(ordered),
        cold=cold,
        cold_whole_machine=True,
    )


def quick_plan(data_dir: Path, output: Path) -> Plan:
    """Seconds, not minutes: every section of the report, on tiny data, one run each."""
    return Plan(
        quick=True,
        data_dir=data_dir,
        output=output,
        sizes=(5_000, 20_000),
        http_sizes=(20_000,),
        repeats=1,
        inprocess_seconds=0.1,
        wrk_seconds=1,
        sample_keys=2_000,
        startup_runs=1,
        stats_size=20_000,
        zst_size=5_000,
        cold_items=1_000,
    )
