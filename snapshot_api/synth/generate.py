"""`snapshot-api synth DIR --tracks N`: write a synthetic dump in the real schema and shape.

Other tools and test fixtures call `synthesize()`; the command line is a thin
wrapper. What it guarantees:
- The files are `spotify_clean.sqlite3`, `spotify_clean_track_files.sqlite3` and
  `spotify_clean_audio_features.sqlite3` (each optional file can be left out),
  created from `schema/*.sql` (tables first,
  indexes after loading), with the real data's ratios and dirty cases
  (`synth_rows`), and exactly N tracks.
- Same seed, same N, same options: byte-identical files.
- Memory stays flat as N grows: rows are generated and written chunk by chunk.
- An interrupted or failed run leaves nothing under the real names: files are
  written as hidden `.NAME.synth-partial` and renamed when complete. Existing
  dump files are only replaced with `force` (`--force`).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import apsw

from snapshot_api.errors import SynthError
from snapshot_api.layout import (
    FILE_NAMES,
    MANIFEST_NAME,
    SCHEMA_FILES,
    SIDECAR_NAME,
    ZST_SUFFIX,
    Role,
)
from snapshot_api.progress import Progress
from snapshot_api.synth.db import DumpWriter, ddl_of
from snapshot_api.synth.rows import TRACKS_PER_CHUNK
from snapshot_api.synth.work import Chunk, ChunkMaker, WorkerFailed, produce

MAX_TRACKS = 300_000_000
"""Upper bound for N: above the real dump's 256M tracks, so any realistic size fits."""
MAX_SEED = 2**63 - 1
MAX_WORKERS = 64
PARTIAL_SUFFIX = ".synth-partial"

BYTES_PER_TRACK = {Role.MAIN: 450, Role.TRACK_FILES: 450, Role.AUDIO_FEATURES: 200}
"""File size per track, rounded up from measured sizes (about 400 and 420 bytes at 1M
tracks), for the free-space check."""
SPACE_MARGIN = 1.25
"""Room on top for index builds' temporary sort files and estimation error."""


@dataclass(frozen=True, slots=True)
class SynthReport:
    """What `synthesize` wrote: rows per table, bytes per file, and how long it took."""

    directory: Path
    tracks: int
    seed: int
    counts: dict[str, int]
    sizes: dict[str, int]
    elapsed: float
    with_stats: bool

    def summary(self) -> str:
        tables = ", ".join(f"{table} {count:,}" for table, count in self.counts.items())
        files = ", ".join(f"{name} {size / 1e6:,.1f} MB" for name, size in self.sizes.items())
        return (
            f"wrote {self.directory} in {self.elapsed:.1f} s (seed {self.seed})\n"
            f"rows: {tables}\nfiles: {files}"
        )


def _existing_dump_files(directory: Path, roles: tuple[Role, ...]) -> list[Path]:
    found = []
    for role in roles:
        for name in FILE_NAMES[role]:
            for candidate in (directory / name, directory / (name + ZST_SUFFIX)):
                if candidate.exists():
                    found.append(candidate)
    return found


def _partial(path: Path) -> Path:
    return path.with_name("." + path.name + PARTIAL_SUFFIX)


def _check_arguments(tracks: int, seed: int, workers: int | None) -> None:
    if isinstance(tracks, bool) or not isinstance(tracks, int) or not 1 <= tracks <= MAX_TRACKS:
        raise SynthError(f"the number of tracks must be 1 to {MAX_TRACKS:,}, not {tracks!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise SynthError(f"the seed must be an integer from 0 to {MAX_SEED}, not {seed!r}")
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise SynthError(f"the number of workers must be 1 to {MAX_WORKERS}, not {workers!r}")


def _prepare_directory(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SynthError(f"cannot create directory {directory}: {exc.strerror or exc}") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise SynthError(f"cannot write into directory {directory}")


def _check_free_space(directory: Path, tracks: int, roles: tuple[Role, ...]) -> None:
    needed = int(sum(BYTES_PER_TRACK[role] for role in roles) * tracks * SPACE_MARGIN)
    free = shutil.disk_usage(directory).free
    if needed > free:
        raise SynthError(
            f"not enough free space in {directory}: about {needed / 1e9:,.1f} GB needed "
            f"for {tracks:,} tracks, {free / 1e9:,.1f} GB free"
        )


def synthesize(
    directory: Path,
    tracks: int,
    seed: int = 0,
    *,
    with_stats: bool = False,
    track_files: bool = True,
    audio_features: bool = True,
    progress: bool = True,
    force: bool = False,
    workers: int | None = None,
) -> SynthReport:
    """Write a synthetic dump of exactly `tracks` tracks into `directory`.

    Raises `SynthError` (nothing written under the real names) when the
    arguments are out of range, the directory cannot be used, dump files are
    already there and `force` is false, space is short, or writing fails.
    `workers` is the number of processes generating rows (default: one per
    core for large dumps); it changes the speed, never the bytes.
    """
    started = time.monotonic()
    _check_arguments(tracks, seed, workers)
    directory = Path(directory)
    _prepare_directory(directory)
    roles = (
        Role.MAIN,
        *((Role.TRACK_FILES,) if track_files else ()),
        *((Role.AUDIO_FEATURES,) if audio_features else ()),
    )
    existing = _existing_dump_files(directory, (Role.MAIN, Role.TRACK_FILES, Role.AUDIO_FEATURES))
    if existing and not force:
        names = ", ".join(path.name for path in existing)
        raise SynthError(f"{directory} already holds dump files ({names}); use --force to replace")
    _check_free_space(directory, tracks, roles)

    finals = {role: directory / FILE_NAMES[role][0] for role in roles}
    partials = {role: _partial(path) for role, path in finals.items()}
    for path in partials.values():
        path.unlink(missing_ok=True)  # left by an interrupted earlier run
    report = Progress("synth", tracks, unit="tracks", enabled=progress)
    writers: dict[Role, DumpWriter] = {}
    try:
        for role in roles:
            writers[role] = DumpWriter(partials[role], ddl_of(SCHEMA_FILES[role]))
        maker = ChunkMaker(tracks, seed, track_files, audio_features)
        _load(produce(maker, _workers(tracks, workers)), writers, report)
        _finish(writers, finals, with_stats, report)
    except BaseException as exc:
        for writer in writers.values():
            writer.abandon()
        for path in partials.values():
            path.unlink(missing_ok=True)
        report.clear()
        if isinstance(exc, apsw.Error | OSError | WorkerFailed):
            raise SynthError(f"writing the synthetic dump into {directory} failed: {exc}") from None
        raise
    counts: dict[str, int] = {}
    for writer in writers.values():
        counts.update(writer.counts)

    for role in roles:
        partials[role].replace(finals[role])
    if force:
        # Files of an earlier dump that the new one does not replace would mix two
        # dumps; the manifest and sidecar describe the old files.
        leftovers = [p for p in existing if p not in finals.values()]
        for path in (*leftovers, directory / MANIFEST_NAME, directory / SIDECAR_NAME):
            path.unlink(missing_ok=True)
    _sync_directory(directory)

    result = SynthReport(
        directory=directory,
        tracks=tracks,
        seed=seed,
        counts=counts,
        sizes={path.name: path.stat().st_size for path in finals.values()},
        elapsed=time.monotonic() - started,
        with_stats=with_stats,
    )
    report.finish(f"synth: done in {result.elapsed:.1f} s")
    return result


def _workers(tracks: int, requested: int | None) -> int:
    """Worker processes: one per core (up to 4), none when a few chunks are all there is."""
    if requested is not None:
        return requested
    if tracks <= 4 * TRACKS_PER_CHUNK:
        return 1
    return max(1, min(4, os.cpu_count() or 1))


def _load(chunks: Iterator[Chunk], writers: dict[Role, DumpWriter], report: Progress) -> None:
    done = 0
    report.step("artists")
    for chunk in chunks:
        tracks = chunk[Role.MAIN][1].get("tracks", 0)
        if tracks and done == 0:
            report.step(f"{writers[Role.MAIN].counts['artists']:,} artists done, now tracks")
            report.restart()
        for role, packed in chunk.items():
            writers[role].append(packed)
        if tracks:
            done += tracks
            report.update(done)


def _finish(
    writers: dict[Role, DumpWriter], finals: dict[Role, Path], analyze: bool, report: Progress
) -> None:
    """Index (and ANALYZE) the files side by side: SQLite works without holding the GIL."""

    def finish(role: Role) -> None:
        name = finals[role].name
        writers[role].finish(analyze=analyze, step=lambda what: report.step(f"{name}: {what}"))

    with ThreadPoolExecutor(max_workers=len(writers)) as pool:
        for future in [pool.submit(finish, role) for role in writers]:
            future.result()


def _sync_directory(directory: Path) -> None:
    """Make the renames durable (POSIX); harmless where directories cannot be opened."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
