"""The quick checks of `snapshot-api verify`: cost independent of the snapshot's size.

Each check reads headers, schemas, the manifest and a few b-tree pages, never
a whole table, so it answers in seconds on 200 GB as on 2 MB. Every check
returns `Check` values (one line each in the report); a check that cannot run
because an earlier one found the file unusable says so as `skipped`.
A snapshot is fit to serve when no check `failed`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apsw

from snapshot_api import __version__
from snapshot_api.errors import SnapshotError
from snapshot_api.files import schema_check
from snapshot_api.files.schema_check import STATISTICS_TABLES, Problem, check_dump_file
from snapshot_api.files.sqlite import inspect, open_read_only
from snapshot_api.layout import (
    FILE_NAMES,
    MANIFEST_NAME,
    SIDECAR_NAME,
    DumpFile,
    Role,
    find_dump_files,
)
from snapshot_api.manifest import SIDECAR_MANIFEST_KEY, FileRecord, Manifest, snapshot_id_of
from snapshot_api.progress import format_bytes
from snapshot_api.snapshot import Snapshot
from snapshot_api.verdict import Status


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report: what was checked, the verdict, and the details."""

    name: str
    status: Status
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status.value, "detail": self.detail, **self.data}


@dataclass(slots=True)
class Target:
    """The directory being verified and what earlier checks learnt about it."""

    directory: Path
    files: dict[Role, DumpFile] = field(default_factory=dict)
    usable: dict[Role, Path] = field(default_factory=dict)
    """Dump files that are present, complete by their header and open as SQLite."""
    sidecar: Path | None = None
    """The sidecar, when it is usable."""
    manifest: Manifest | None = None
    sidecar_meta: dict[str, str] | None = None

    @property
    def sidecar_path(self) -> Path:
        return self.directory / SIDECAR_NAME


@contextlib.contextmanager
def reading(path: Path) -> Iterator[apsw.Connection]:
    connection = open_read_only(path)
    try:
        yield connection
    finally:
        connection.close()


def _open_probe(path: Path) -> str | None:
    """None when SQLite can read the file's schema, else the error."""
    try:
        with reading(path) as connection:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchall()
    except apsw.Error as exc:
        return str(exc)
    return None


def role_severity(role: Role) -> Status:
    """Audio features are not served: their faults are warnings, never unfitness."""
    return Status.WARNING if role is Role.AUDIO_FEATURES else Status.FAILED


# --- files ---------------------------------------------------------------------------


def check_files(target: Target) -> list[Check]:
    """Every dump file present, complete (by its header) and readable as SQLite."""
    target.files = find_dump_files(target.directory)
    checks: list[Check] = []
    if Role.MAIN not in target.files:
        names = " or ".join(FILE_NAMES[Role.MAIN])
        checks.append(Check("file main", Status.FAILED, f"no {names} in {target.directory}"))
    for role, dump_file in target.files.items():
        name = f"file {role.value}"
        if dump_file.compressed:
            checks.append(
                Check(
                    name,
                    role_severity(role),
                    f"{dump_file.path.name} is not decompressed yet; run "
                    f"`snapshot-api build {target.directory}`",
                )
            )
            continue
        header = inspect(dump_file.path)
        problem = header.problem
        if problem is None:
            error = _open_probe(dump_file.path)
            problem = None if error is None else f"cannot be read by SQLite: {error}"
        if problem is not None:
            checks.append(Check(name, role_severity(role), f"{dump_file.path.name} {problem}"))
            continue
        target.usable[role] = dump_file.path
        checks.append(
            Check(
                name,
                Status.OK,
                f"{dump_file.path.name}: {format_bytes(header.size)}, "
                f"{header.pages:,} pages of {header.page_size}",
                {"file": dump_file.path.name, "size": header.size},
            )
        )
    if Role.TRACK_FILES not in target.files:
        checks.append(
            Check(
                "file track_files",
                Status.OK,
                "absent (optional): track documents go without the track_files fields",
            )
        )
    return checks


# --- manifest and sidecar --------------------------------------------------------------


def check_manifest(target: Target) -> list[Check]:
    """manifest.json present, valid, matching the files on disk and the build's own record."""
    name = "manifest"
    path = target.directory / MANIFEST_NAME
    build_hint = f"run `snapshot-api build {target.directory}`"
    if not path.is_file():
        return [Check(name, Status.FAILED, f"{MANIFEST_NAME} is missing; {build_hint}")]
    try:
        manifest = Manifest.read(target.directory)
    except (OSError, ValueError) as exc:
        return [Check(name, Status.FAILED, f"{MANIFEST_NAME}: {exc}; {build_hint}")]
    target.manifest = manifest
    problems: list[str] = []
    recorded = {record.role: record for record in manifest.files}
    for role, dump_file in target.files.items():
        record = recorded.pop(role.value, None)
        if record is None:
            problems.append(f"{dump_file.path.name} is not in the manifest (added after build)")
        elif record.name != dump_file.path.name:
            problems.append(f"manifest lists {record.name}, found {dump_file.path.name}")
        elif not record.matches(dump_file.path):
            stat = dump_file.path.stat()
            what = []
            if stat.st_size != record.size:
                what.append(f"size {stat.st_size:,} bytes, manifest says {record.size:,}")
            if stat.st_mtime_ns != record.mtime_ns:
                what.append("modified since build (mtime differs)")
            problems.append(f"{dump_file.path.name} changed since build: {', '.join(what)}")
    for record in recorded.values():
        problems.append(f"{record.name} is in the manifest but not in the directory")
    if snapshot_id_of(manifest.files) != manifest.snapshot_id:
        problems.append("snapshot_id does not match the files it lists (hand-edited?)")
    meta = _sidecar_meta(target)
    stored = meta.get(SIDECAR_MANIFEST_KEY) if meta else None
    if stored is not None:
        try:
            if Manifest.from_json(stored.encode()) != manifest:
                problems.append(
                    f"differs from the manifest build recorded in {SIDECAR_NAME} "
                    "(hand-edited, or left from another build)"
                )
        except ValueError:
            problems.append(f"the copy recorded in {SIDECAR_NAME} is unreadable")
    if problems:
        return [Check(name, Status.FAILED, "; ".join(problems) + f"; {build_hint} again")]
    checks = [
        Check(
            name,
            Status.OK,
            f"snapshot {manifest.snapshot_id}, {len(manifest.files)} files match "
            f"(built {manifest.built_at} by {manifest.tool_version})",
            {"snapshot_id": manifest.snapshot_id},
        )
    ]
    if manifest.tool_version != __version__:
        checks.append(
            Check(
                "manifest version",
                Status.WARNING,
                f"built by snapshot-api {manifest.tool_version}, this is {__version__}; "
                f"consider `snapshot-api build --force {target.directory}`",
            )
        )
    return checks


def _sidecar_meta(target: Target) -> dict[str, str] | None:
    if target.sidecar_meta is not None:
        return target.sidecar_meta
    path = target.sidecar_path
    if not path.is_file() or inspect(path).problem is not None:
        return None
    try:
        with reading(path) as connection:
            target.sidecar_meta = {
                str(key): str(value)
                for key, value in connection.execute("SELECT key, value FROM sidecar_meta")
            }
    except apsw.Error:
        return None
    return target.sidecar_meta


def check_sidecar_file(target: Target) -> list[Check]:
    """snapshot-index.sqlite3 present, complete, in our layout, built for these files."""
    name = "sidecar"
    path = target.sidecar_path
    build_hint = f"run `snapshot-api build {target.directory}`"
    if not path.is_file():
        return [Check(name, Status.FAILED, f"{SIDECAR_NAME} is missing; {build_hint}")]
    header = inspect(path)
    problem = header.problem
    if problem is None:
        error = _open_probe(path)
        problem = None if error is None else f"cannot be read by SQLite: {error}"
    if problem is not None:
        return [Check(name, Status.FAILED, f"{SIDECAR_NAME} {problem}; {build_hint} again")]
    try:
        with reading(path) as connection:
            problems = schema_check.check_sidecar(connection)
    except apsw.Error as exc:
        return [Check(name, Status.FAILED, f"{SIDECAR_NAME} cannot be read: {exc}")]
    if problems:
        return [Check(name, Status.FAILED, f"{SIDECAR_NAME}: {_join(problems)}; {build_hint}")]
    meta = _sidecar_meta(target) or {}
    built_for = meta.get("snapshot_id")
    expected = target.manifest.snapshot_id if target.manifest else None
    if expected is None and Role.MAIN in target.files:
        # no usable manifest: compare with the id of the files as they are now
        expected = snapshot_id_of(
            [FileRecord.of(role.value, f.path) for role, f in target.files.items()]
        )
    if built_for != expected:
        return [
            Check(
                name,
                Status.FAILED,
                f"{SIDECAR_NAME} was built for another snapshot ({built_for}, these files are "
                f"{expected}); {build_hint} again",
            )
        ]
    target.sidecar = path
    return [
        Check(
            name,
            Status.OK,
            f"{SIDECAR_NAME}: {format_bytes(header.size)}, built for snapshot {built_for}",
        )
    ]


def _join(problems: list[Problem]) -> str:
    return "; ".join(problem.message for problem in problems)


# --- schema, statistics, query plans ---------------------------------------------------


def check_schemas(target: Target) -> list[Check]:
    """Tables, columns and indexes of every usable dump file against schema/*.sql."""
    checks: list[Check] = []
    for role, path in target.usable.items():
        name = f"schema {role.value}"
        try:
            with reading(path) as connection:
                problems = check_dump_file(connection, role)
        except apsw.Error as exc:
            checks.append(Check(name, role_severity(role), f"{path.name}: {exc}"))
            continue
        failed = [p for p in problems if p.severity is Status.FAILED]
        warned = [p for p in problems if p.severity is Status.WARNING]
        if failed:
            status = role_severity(role)
            checks.append(Check(name, status, f"{path.name}: {_join(failed + warned)}"))
        elif warned:
            checks.append(Check(name, Status.WARNING, f"{path.name}: {_join(warned)}"))
        else:
            checks.append(
                Check(name, Status.OK, f"{path.name}: every table, column and index present")
            )
    return checks


def check_statistics(target: Target) -> list[Check]:
    """Report sqlite_stat1/sqlite_stat4 (left by ANALYZE): a fact worth knowing, not a fault."""
    found: list[str] = []
    for path in target.usable.values():
        with reading(path) as connection:
            tables = {str(row[0]) for row in connection.execute("SELECT name FROM sqlite_master")}
        present = [table for table in STATISTICS_TABLES if table in tables]
        if present:
            found.append(f"{path.name} has {' and '.join(present)}")
    if not found:
        return [Check("statistics", Status.OK, "no sqlite_stat1/sqlite_stat4 in the dump files")]
    return [
        Check(
            "statistics",
            Status.WARNING,
            "; ".join(found) + " (left by ANALYZE: they make SQLite re-prepare statements that "
            "bind keys; the server binds keys through carray, which they do not affect)",
        )
    ]


def full_scans(plan: list[str]) -> list[str]:
    """Plan lines that read a whole stored table or index.

    `SCAN` of a table-valued function (carray, json_each) or of a subquery the
    plan builds itself (CO-ROUTINE, MATERIALIZE) is not a scan of the data.
    """
    built = {
        line.split(" ", 1)[1].strip()
        for line in plan
        if line.startswith(("CO-ROUTINE ", "MATERIALIZE "))
    }
    scans = []
    for line in plan:
        if not line.startswith("SCAN ") or "VIRTUAL TABLE" in line:
            continue
        subject = line.split()[1]
        if subject.startswith("(") or subject in built:
            continue
        scans.append(line)
    return scans


def check_query_plans(target: Target) -> list[Check]:
    """EXPLAIN QUERY PLAN of every statement the library runs: index probes only."""
    name = "query plans"
    if Role.MAIN not in target.usable:
        return [Check(name, Status.SKIPPED, "main database unusable (see above)")]
    try:
        with Snapshot.open(target.directory, require_built=False) as snapshot:
            plans = snapshot.query_plans()
    except (SnapshotError, apsw.Error) as exc:
        return [Check(name, Status.FAILED, f"the library cannot prepare its queries: {exc}")]
    bad: list[str] = []
    for query, plan in plans.items():
        scans = full_scans(plan)
        if scans:
            bad.append(f"{query} scans a whole table ({'; '.join(scans)})")
        elif not any(line.startswith("SEARCH") for line in plan):
            bad.append(f"{query} uses no index")
    if bad:
        return [Check(name, Status.FAILED, "; ".join(bad), {"plans": plans})]
    skipped = "" if target.sidecar else " (barcode query not checked: no usable sidecar)"
    return [
        Check(
            name,
            Status.OK,
            f"{len(plans)} statements, every table reached through an index{skipped}",
            {"queries": sorted(plans)},
        )
    ]
