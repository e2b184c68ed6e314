"""The `verify --full` checks: read every page (hours on the real dump, with progress).

- `PRAGMA quick_check` and `integrity_check` of each file find page-level
  corruption (broken b-trees, index entries that do not match their rows) that
  no quick check can.
- SHA-256 against the manifest (when `build --checksums` recorded it) finds
  any changed byte, including inside record payloads integrity_check cannot see.
- Full-table reference counts and row counts against the manifest.
Each runs on a fresh read-only connection with mmap off, so the bytes-read
progress (see `snapshot_api.files.longquery`) measures the work done.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import apsw

from snapshot_api.files import longquery
from snapshot_api.files.checksum import sha256_file
from snapshot_api.files.sqlite import read_only_uri
from snapshot_api.layout import SIDECAR_NAME, Role
from snapshot_api.progress import Progress, Reporter, format_count
from snapshot_api.verdict import Status
from snapshot_api.verify.checks import Check, Target, reading, role_severity
from snapshot_api.verify.sampling import RESOLVED_OK, RESOLVED_WARNING

MESSAGES_SHOWN = 3


def _files(target: Target) -> list[tuple[str, Path, Status]]:
    """(label, path, status when broken) of every usable file, the sidecar last."""
    files = [(role.value, path, role_severity(role)) for role, path in target.usable.items()]
    if target.sidecar is not None:
        files.append(("sidecar", target.sidecar, Status.FAILED))
    return files


def _integrity_messages(path: Path, reporter: Reporter) -> list[str]:
    """Problems found in `path` by two passes; [] when it is sound.

    `PRAGMA integrity_check` of a whole file reads each page once to check the
    b-trees, then re-reads index pages at random for every row to match indexes
    with their tables (most of its time). Split as `quick_check` (every b-tree,
    free-list and page accounting: one sequential pass, so bytes read measure
    progress) followed by `integrity_check(table)` per table (tables and their
    indexes matched), the same work is done at the same cost, measured 299 s
    against 307 s on a 10M-track file, and progress can say where it is.
    """
    size = path.stat().st_size
    messages: list[str] = []
    with reading(path) as connection:
        walk = reporter.progress(f"quick_check {path.name}", size, unit="bytes")
        try:
            rows = longquery.run(connection, "PRAGMA quick_check", walk)
        except BaseException:
            walk.clear()
            raise
        walk.finish(f"quick_check {path.name}: done in {walk.elapsed:.1f}s")
        messages += [str(row[0]) for row in rows if row[0] != "ok"]
        tables = [
            str(row[0])
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        # no percentage: one table (tracks) takes most of the time, so a share of
        # tables done would mislead; the line names the table being checked
        matching = reporter.progress(f"integrity_check {path.name}", None, estimate=False)
        try:
            for done, table in enumerate(tables):
                where = f"table {done + 1} of {len(tables)}: {table}"
                matching.update(0, note=where)
                rows = longquery.run(
                    connection,
                    f"PRAGMA integrity_check({_quote(table)})",
                    matching,
                    on_tick=_keep_alive(matching, where),
                )
                messages += [str(row[0]) for row in rows if row[0] != "ok"]
        except BaseException:
            matching.clear()
            raise
        matching.finish(
            f"integrity_check {path.name}: {len(tables)} tables in {matching.elapsed:.1f}s"
        )
    return messages


def _keep_alive(progress: Progress, where: str) -> Callable[[int], None]:
    """Redraw "table N of M: name" and the elapsed time while one table is checked."""

    def tick(_bytes_read: int) -> None:
        progress.update(0, note=where)

    return tick


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def check_integrity(target: Target, reporter: Reporter) -> list[Check]:
    checks = []
    for label, path, broken in _files(target):
        name = f"integrity {label}"
        try:
            messages = _integrity_messages(path, reporter)
        except apsw.Error as exc:
            what = "is corrupt" if isinstance(exc, apsw.CorruptError) else "cannot be checked"
            checks.append(Check(name, broken, f"{path.name} {what}: {exc}"))
            continue
        if not messages:
            checks.append(Check(name, Status.OK, f"{path.name}: integrity_check ok"))
            continue
        shown = "; ".join(messages[:MESSAGES_SHOWN])
        extra = len(messages) - MESSAGES_SHOWN
        more = f" (and {extra} more)" if extra > 0 else ""
        checks.append(
            Check(name, broken, f"{path.name} is corrupt: {shown}{more}", {"messages": messages})
        )
    return checks


def check_checksums(target: Target, reporter: Reporter) -> list[Check]:
    if target.manifest is None:
        return [Check("checksums", Status.SKIPPED, "no usable manifest (see above)")]
    checks = []
    for role, path in target.usable.items():
        name = f"checksum {role.value}"
        record = target.manifest.file(role.value)
        if record is None or not record.sha256:
            checks.append(
                Check(
                    name,
                    Status.SKIPPED,
                    f"{path.name}: no checksum in the manifest (run build --checksums)",
                )
            )
            continue
        actual = sha256_file(path, reporter)
        if actual != record.sha256:
            status = role_severity(role)
            checks.append(
                Check(
                    name,
                    status,
                    f"{path.name}: SHA-256 {actual[:16]}… differs from the manifest's "
                    f"{record.sha256[:16]}… (the file's content changed)",
                )
            )
        else:
            checks.append(Check(name, Status.OK, f"{path.name}: SHA-256 matches the manifest"))
    return checks


def _connection(target: Target) -> apsw.Connection:
    """The main database with track_files and the sidecar attached, all read-only."""
    connection = apsw.Connection(
        read_only_uri(target.usable[Role.MAIN]),
        flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI,
    )
    if Role.TRACK_FILES in target.usable:
        connection.execute(
            "ATTACH DATABASE ? AS tf", (read_only_uri(target.usable[Role.TRACK_FILES]),)
        )
    if target.sidecar is not None:
        connection.execute("ATTACH DATABASE ? AS idx", (read_only_uri(target.sidecar),))
    connection.execute("PRAGMA query_only = 1")
    return connection


REFERENCES: tuple[tuple[str, str, str], ...] = (
    ("tracks→album", "tracks", "SELECT 1 FROM albums WHERE rowid = x.album_rowid"),
    ("track_artists→track", "track_artists", "SELECT 1 FROM tracks WHERE rowid = x.track_rowid"),
    ("track_artists→artist", "track_artists", "SELECT 1 FROM artists WHERE rowid = x.artist_rowid"),
    ("artist_albums→album", "artist_albums", "SELECT 1 FROM albums WHERE rowid = x.album_rowid"),
    ("artist_albums→artist", "artist_albums", "SELECT 1 FROM artists WHERE rowid = x.artist_rowid"),
    ("track_files→track", "tf.track_files", "SELECT 1 FROM tracks WHERE id = x.track_id"),
    ("sidecar→album", "idx.barcode_albums", "SELECT 1 FROM albums WHERE rowid = x.album_rowid"),
)
"""(relation, table, existence probe per row), counted over whole tables."""


def check_full_references(target: Target, reporter: Reporter) -> list[Check]:
    name = "references"
    if Role.MAIN not in target.usable:
        return [Check(name, Status.SKIPPED, "main database unusable (see above)")]
    parts: list[str] = []
    status = Status.OK
    data: dict[str, list[int]] = {}
    connection = _connection(target)
    try:
        for relation, table, probe in REFERENCES:
            if table.startswith("tf.") and Role.TRACK_FILES not in target.usable:
                continue
            if table.startswith("idx.") and target.sidecar is None:
                continue
            progress = reporter.progress(f"references {relation}", None, unit="bytes")
            sql = f"SELECT count(*), coalesce(sum(NOT EXISTS ({probe})), 0) FROM {table} AS x"
            try:
                total, dangling = longquery.run(connection, sql, progress)[0]
            except BaseException:
                progress.clear()
                raise
            progress.finish(f"references {relation}: {format_count(dangling)} dangling")
            data[relation] = [int(total), int(dangling)]
            share = 1 - dangling / total if total else 1.0
            ours = relation.startswith("sidecar")  # our own index: nothing may dangle
            if (ours and dangling) or share < RESOLVED_WARNING:
                status = Status.FAILED
            elif share < RESOLVED_OK and status is Status.OK:
                status = Status.WARNING
            parts.append(f"{relation} {format_count(dangling)} of {format_count(total)} dangling")
    except apsw.Error as exc:
        return [Check(name, Status.FAILED, f"reading the tables failed: {exc}")]
    finally:
        connection.close()
    return [Check(name, status, "; ".join(parts), {"dangling": data})]


COUNTED: tuple[tuple[str, str], ...] = (
    ("tracks", "tracks"),
    ("albums", "albums"),
    ("artists", "artists"),
    ("track_files", "tf.track_files"),
    ("barcode_albums", "idx.barcode_albums"),
)


def check_counts(target: Target, reporter: Reporter) -> list[Check]:
    name = "row counts"
    if Role.MAIN not in target.usable or target.manifest is None:
        return [Check(name, Status.SKIPPED, "main database or manifest unusable (see above)")]
    wrong: list[str] = []
    compared: list[str] = []
    connection = _connection(target)
    try:
        schemas = {str(row[1]) for row in connection.execute("PRAGMA database_list")}
        for key, table in COUNTED:
            schema = table.split(".")[0] if "." in table else "main"
            if schema not in schemas or key not in target.manifest.counts:
                continue
            progress = reporter.progress(f"counting {key}", None, unit="bytes")
            try:
                rows = longquery.run(connection, f"SELECT count(*) FROM {table}", progress)
                count = int(rows[0][0])
            except BaseException:
                progress.clear()
                raise
            progress.finish(f"counted {format_count(count)} {key}")
            recorded = target.manifest.counts[key]
            compared.append(key)
            if count != recorded:
                wrong.append(f"{key}: {count:,} rows, manifest says {recorded:,}")
    except apsw.Error as exc:
        return [Check(name, Status.FAILED, f"counting failed: {exc}")]
    finally:
        connection.close()
    if wrong:
        stale = f" (the manifest or {SIDECAR_NAME} is stale)"
        return [Check(name, Status.FAILED, "; ".join(wrong) + stale)]
    return [Check(name, Status.OK, f"{', '.join(compared)} match the manifest")]
