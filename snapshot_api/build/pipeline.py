"""`snapshot-api build DIR`: prepare a downloaded dump for serving.

Steps, each safe to interrupt (Ctrl-C, kill, power loss) and re-run:
1. decompress every `NAME.sqlite3.zst` that has no `NAME.sqlite3` yet
   (`snapshot_api.build.decompress`: streaming, checked, renamed into place when complete);
2. check the files: SQLite headers (truncated, empty, foreign files) and the
   tables, columns and indexes the server reads (`snapshot_api.files.schema_check`);
3. count rows and build `snapshot-index.sqlite3` (`snapshot_api.build.sidecar`);
4. build the name search index `snapshot-search.sqlite3` unless `--no-search`
   (`snapshot_api.search.build`), or keep it when it was built for these files;
5. write `manifest.json` last, atomically: its presence means the build completed.

The dump files are only ever opened `mode=ro&immutable=1` and may be
read-only on disk; only the directory must be writable, for the sidecar and
the manifest. A build whose files have not changed since the last one does
nothing. The manifest is also stored inside the sidecar (`sidecar_meta`), so
`verify` can tell a hand-edited manifest, and a manifest lost after the sidecar
was renamed into place is restored without redoing the albums pass.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import apsw

from snapshot_api import __version__
from snapshot_api.build.decompress import Decompressed, DecompressError, decompress, partial_of
from snapshot_api.build.sidecar import (
    SIDECAR_LAYOUT_KEY,
    SidecarStats,
    build_sidecar,
    read_meta,
    remove_leftovers,
    sidecar_layout,
    sidecar_path,
)
from snapshot_api.errors import BuildError
from snapshot_api.files import longquery
from snapshot_api.files.checksum import sha256_file
from snapshot_api.files.schema_check import (
    STATISTICS_TABLES,
    check_dump_file,
    fingerprint_rows,
)
from snapshot_api.files.sqlite import inspect, open_read_only
from snapshot_api.layout import (
    FILE_NAMES,
    MANIFEST_NAME,
    SIDECAR_NAME,
    ZST_SUFFIX,
    DumpFile,
    Role,
    find_dump_files,
)
from snapshot_api.manifest import SIDECAR_MANIFEST_KEY, FileRecord, Manifest, snapshot_id_of
from snapshot_api.progress import Reporter, format_count
from snapshot_api.search import build as search_build
from snapshot_api.verdict import Status

COUNTED_TABLES: dict[Role, tuple[str, ...]] = {
    Role.MAIN: ("tracks", "artists"),
    Role.TRACK_FILES: ("track_files",),
    Role.AUDIO_FEATURES: ("track_audio_features",),
}
"""Tables counted with `SELECT count(*)` (SQLite walks the smallest index); albums are
counted during the barcode pass, barcode_albums while it is written."""


@dataclass(slots=True)
class BuildReport:
    """What one build did and how long each part took (for the CLI and benchmarks)."""

    directory: Path
    manifest: Manifest
    up_to_date: bool = False
    restored_manifest: bool = False
    decompressed: list[Decompressed] = field(default_factory=list)
    sidecar: SidecarStats | None = None
    search: search_build.SearchStats | None = None
    count_seconds: float = 0.0
    checksum_seconds: float = 0.0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


# --- steps ----------------------------------------------------------------------------


@contextlib.contextmanager
def _exclusive(directory: Path) -> Iterator[None]:
    """One build per directory at a time (a lock on the directory itself: no extra file)."""
    try:
        import fcntl
    except ImportError:  # not on POSIX: no lock, builds must not overlap
        yield
        return
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildError(f"another build is running in {directory}") from None
        yield
    finally:
        os.close(descriptor)


def _check_writable(directory: Path) -> None:
    if not os.access(directory, os.W_OK | os.X_OK):
        raise BuildError(
            f"cannot write in {directory}: build writes snapshot-index.sqlite3 and manifest.json "
            "beside the dump files (the dump files themselves may stay read-only)"
        )


def _remove_leftovers(directory: Path, reporter: Reporter) -> None:
    leftovers = remove_leftovers(directory) + search_build.remove_leftovers(directory)
    for names in FILE_NAMES.values():
        for name in names:
            partial = partial_of(directory / name)
            if partial.exists():
                partial.unlink()
                leftovers.append(partial)
    temporary_manifest = directory / (MANIFEST_NAME + ".tmp")
    if temporary_manifest.exists():
        temporary_manifest.unlink()
        leftovers.append(temporary_manifest)
    if leftovers:
        listed = ", ".join(path.name for path in leftovers)
        reporter.say(f"removed files left by an interrupted build: {listed}")


def _decompress_all(
    directory: Path, reporter: Reporter, checksums: bool
) -> tuple[dict[Role, DumpFile], list[Decompressed]]:
    files = find_dump_files(directory)
    if Role.MAIN not in files:
        raise BuildError(
            f"{directory}: no {FILE_NAMES[Role.MAIN][0]} (or {FILE_NAMES[Role.MAIN][1]}, "
            "or either with .zst) in this directory"
        )
    done: list[Decompressed] = []
    for role, dump_file in list(files.items()):
        if not dump_file.compressed:
            packed = dump_file.path.with_name(dump_file.path.name + ZST_SUFFIX)
            if packed.is_file():
                reporter.say(f"{dump_file.path.name}: already decompressed, skipped")
            continue
        try:
            result = decompress(dump_file.path, reporter, checksum=checksums)
        except DecompressError as exc:
            raise BuildError(str(exc)) from None
        done.append(result)
        files[role] = DumpFile(role, result.target, compressed=False)
    return files, done


def _check_files(
    files: dict[Role, DumpFile], reporter: Reporter
) -> tuple[list[str], dict[Role, DumpFile]]:
    """Headers, then schema; raises `BuildError` naming every failure.

    Returns the warnings and the files that can be read (all but a broken
    audio features file, which is reported and otherwise left alone).
    """
    failures: list[str] = []
    warnings: list[str] = []
    readable = dict(files)
    for role, dump_file in files.items():
        name = dump_file.path.name
        # audio features are not served: their problems never stop a build
        fatal = failures if role is not Role.AUDIO_FEATURES else warnings
        header = inspect(dump_file.path)
        if header.problem is not None:
            fatal.append(f"{name} {header.problem}")
            readable.pop(role)
            continue
        try:
            connection = open_read_only(dump_file.path)
            try:
                problems = check_dump_file(connection, role)
                tables = {
                    str(row[0]) for row in connection.execute("SELECT name FROM sqlite_master")
                }
            finally:
                connection.close()
        except apsw.Error as exc:
            fatal.append(f"{name} cannot be read: {exc}")
            readable.pop(role)
            continue
        for problem in problems:
            serious = problem.severity is Status.FAILED
            (fatal if serious else warnings).append(f"{name}: {problem.message}")
        present = [table for table in STATISTICS_TABLES if table in tables]
        if present:
            warnings.append(
                f"{name} holds {' and '.join(present)} (left by ANALYZE); lookups bind keys "
                "through carray, which these statistics do not slow down"
            )
    for warning in warnings:
        reporter.say(f"warning: {warning}")
    if failures:
        raise BuildError("the dump cannot be served: " + "; ".join(failures))
    reporter.say(f"schema: ok ({', '.join(f.path.name for f in readable.values())})")
    return warnings, readable


def _records(files: dict[Role, DumpFile]) -> list[FileRecord]:
    return [FileRecord.of(role.value, dump_file.path) for role, dump_file in files.items()]


def _with_checksums(
    records: list[FileRecord],
    files: dict[Role, DumpFile],
    decompressed: list[Decompressed],
    reporter: Reporter,
) -> list[FileRecord]:
    """Records with SHA-256, reusing digests taken while decompressing."""
    hashed = {result.target.name: result.sha256 for result in decompressed if result.sha256}
    result = []
    for record in records:
        path = files[Role(record.role)].path
        digest = hashed.get(record.name) or sha256_file(path, reporter)
        result.append(dataclasses.replace(record, sha256=digest))
    return result


def _schema_fingerprint(files: dict[Role, DumpFile]) -> str:
    digest = hashlib.sha256()
    for role in sorted(files):
        connection = open_read_only(files[role].path)
        try:
            for row in fingerprint_rows(connection):
                digest.update(f"{role.value}\0{row}\n".encode())
        finally:
            connection.close()
    return digest.hexdigest()[:16]


def _count_rows(files: dict[Role, DumpFile], reporter: Reporter) -> dict[str, int]:
    counts: dict[str, int] = {}
    for role, tables in COUNTED_TABLES.items():
        if role not in files:
            continue
        connection = open_read_only(files[role].path)
        try:
            present = {str(row[0]) for row in connection.execute("SELECT name FROM sqlite_master")}
            for table in tables:
                if table not in present:  # only possible for audio features (a warning)
                    continue
                progress = reporter.progress(f"counting {table}", None, unit="bytes")
                try:
                    rows = longquery.run(connection, f"SELECT count(*) FROM {table}", progress)
                except BaseException:
                    progress.clear()
                    raise
                counts[table] = int(rows[0][0])
                progress.finish(
                    f"counted {format_count(counts[table])} {table} in {progress.elapsed:.1f}s"
                )
        finally:
            connection.close()
    return counts


def _up_to_date(
    directory: Path, snapshot_id: str, records: list[FileRecord], checksums: bool
) -> tuple[Manifest | None, Manifest | None]:
    """(current manifest if the build is complete and current, manifest stored in a
    sidecar that is current, for restoring a lost or damaged manifest.json)."""
    meta = read_meta(sidecar_path(directory))
    if (
        meta is None
        or meta.get("snapshot_id") != snapshot_id
        or meta.get("tool_version") != __version__
        or meta.get(SIDECAR_LAYOUT_KEY) != sidecar_layout()
        or SIDECAR_MANIFEST_KEY not in meta
    ):
        return None, None
    try:
        stored = Manifest.from_json(meta[SIDECAR_MANIFEST_KEY].encode())
    except ValueError:
        return None, None
    wanted = {(r.role, r.name, r.size, r.mtime_ns) for r in records}
    if {(r.role, r.name, r.size, r.mtime_ns) for r in stored.files} != wanted:
        return None, None
    if checksums and not all(record.sha256 for record in stored.files):
        return None, None
    try:
        current = Manifest.read(directory)
    except (OSError, ValueError):
        return None, stored
    return (current if current.same_build(stored) else None), stored


def _manifest_for(
    snapshot_id: str,
    records: list[FileRecord],
    counts: dict[str, int],
    fingerprint: str,
    stats: SidecarStats,
    sidecar_rows: int,
) -> Manifest:
    return Manifest(
        snapshot_id=snapshot_id,
        tool_version=__version__,
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        files=records,
        counts={**counts, "albums": stats.albums, "barcode_albums": sidecar_rows},
        schema_fingerprint=fingerprint,
        sidecar={"file": SIDECAR_NAME, **stats.as_dict()},
    )


# --- the whole build ------------------------------------------------------------------


def build(
    directory: str | os.PathLike[str],
    *,
    checksums: bool = False,
    force: bool = False,
    search: bool = True,
    reporter: Reporter | None = None,
) -> BuildReport:
    """Build `directory`; raises `BuildError` (one line) when it cannot.

    The API benchmarks time: the report carries the decompression rate, the
    albums pass's rows per second and each part's duration.
    """
    started = time.monotonic()
    reporter = reporter or Reporter()
    path = Path(directory)
    if not path.is_dir():
        raise BuildError(f"{path}: not a directory")
    try:
        with _exclusive(path):
            _check_writable(path)
            report = _build_locked(path, reporter, checksums=checksums, force=force, search=search)
    except OSError as exc:
        where = exc.filename or path
        raise BuildError(f"{where}: {exc.strerror or exc}") from None
    except apsw.Error as exc:
        raise BuildError(f"{path}: SQLite error: {exc}") from None
    report.seconds = time.monotonic() - started
    return report


def _search_step(
    path: Path,
    main: Path,
    manifest: Manifest,
    reporter: Reporter,
    *,
    wanted: bool,
    force: bool,
) -> tuple[dict[str, object], search_build.SearchStats | None]:
    """The manifest's search record (empty with `--no-search`) and what the step did."""
    if not wanted:
        reporter.say("search index: skipped (--no-search); search and match will answer 503")
        return {}, None
    stats = search_build.build_search(
        main, path, manifest.snapshot_id, reporter, totals=manifest.counts, force=force
    )
    return stats.record(), stats


def _build_locked(
    path: Path, reporter: Reporter, *, checksums: bool, force: bool, search: bool
) -> BuildReport:
    _remove_leftovers(path, reporter)
    files, decompressed = _decompress_all(path, reporter, checksums)
    warnings, readable = _check_files(files, reporter)
    records = _records(files)
    snapshot_id = snapshot_id_of(records)

    if not force:
        current, stored = _up_to_date(path, snapshot_id, records, checksums)
        base = current or stored
        if base is not None:
            record, search_stats = _search_step(
                path, files[Role.MAIN].path, base, reporter, wanted=search, force=False
            )
            if current is not None and current.search == record:
                reporter.say(f"already built: snapshot {snapshot_id} is up to date, nothing to do")
                return BuildReport(
                    path, current, up_to_date=True, decompressed=decompressed, search=search_stats
                )
            manifest = dataclasses.replace(base, search=record)
            manifest.write(path)
            if current is None:
                reporter.say(f"restored {MANIFEST_NAME} from {sidecar_path(path).name}")
            return BuildReport(
                path,
                manifest,
                restored_manifest=current is None,
                decompressed=decompressed,
                search=search_stats,
            )

    # From here on the old build no longer describes the files: without a
    # manifest, serve refuses the directory until this build completes.
    (path / MANIFEST_NAME).unlink(missing_ok=True)
    checksum_started = time.monotonic()
    if checksums:
        records = _with_checksums(records, files, decompressed, reporter)
    checksum_seconds = time.monotonic() - checksum_started
    fingerprint = _schema_fingerprint(readable)
    count_started = time.monotonic()
    counts = _count_rows(readable, reporter)
    count_seconds = time.monotonic() - count_started
    final: list[Manifest] = []

    def finish_meta(out: apsw.Connection, stats: SidecarStats) -> dict[str, str]:
        rows = int(out.execute("SELECT count(*) FROM barcode_albums").get or 0)
        manifest = _manifest_for(snapshot_id, records, counts, fingerprint, stats, rows)
        final.append(manifest)
        return {SIDECAR_MANIFEST_KEY: manifest.to_json().decode()}

    stats = build_sidecar(
        files[Role.MAIN].path,
        path,
        {
            "snapshot_id": snapshot_id,
            "tool_version": __version__,
            SIDECAR_LAYOUT_KEY: sidecar_layout(),
        },
        reporter,
        before_rename=finish_meta,
    )
    record, search_stats = _search_step(
        path, files[Role.MAIN].path, final[0], reporter, wanted=search, force=force
    )
    manifest = dataclasses.replace(final[0], search=record)
    manifest.write(path)
    return BuildReport(
        path,
        manifest,
        decompressed=decompressed,
        sidecar=stats,
        search=search_stats,
        count_seconds=count_seconds,
        checksum_seconds=checksum_seconds,
        warnings=warnings,
    )
