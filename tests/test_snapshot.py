"""Opening, read-only guarantees, query plans, statement counts, health probe, threads."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import apsw
import pytest

from snapshot_api import Snapshot, SnapshotError
from snapshot_api.errors import SnapshotNotPrepared
from snapshot_api.identifiers import Kind
from tests.support.handmade import ALBUM, ARTIST, SHARED_ISRC, TRACK, write_dump
from tests.support.prepare import prepare

LARGE_TABLES = {
    "tracks", "albums", "artists", "album_images", "artist_images", "artist_genres",
    "artist_albums", "track_artists", "track_files", "barcode_albums", "available_markets",
}  # fmt: skip
ALIASES = {"t": "tracks", "al": "albums", "ar": "artists", "g": "artist_genres",
           "aa": "artist_albums", "ta": "track_artists", "f": "track_files",
           "b": "barcode_albums", "i": "album_images"}  # fmt: skip


def full_scans(plan: list[str]) -> list[str]:
    """Plan lines that read a whole dump table (SCAN of a table, alias or covering index)."""
    scans = []
    for line in plan:
        if line.startswith("SCAN "):
            name = line.split()[1]
            if ALIASES.get(name, name) in LARGE_TABLES:
                scans.append(line)
    return scans


@pytest.fixture
def prepared(tmp_path: Path) -> Path:
    write_dump(tmp_path)
    prepare(tmp_path)
    return tmp_path


def test_every_query_probes_indexes_without_and_with_sqlite_stat4(prepared: Path) -> None:
    with Snapshot.open(prepared) as snap:
        plans = snap.query_plans()
    assert set(plans) >= {"tracks_by_isrc", "albums_by_barcode", "album_tracks", "artists_by_id"}
    for name, plan in plans.items():
        assert full_scans(plan) == [], name
        assert any(line.startswith("SEARCH") for line in plan), name

    # ANALYZE leaves sqlite_stat1/sqlite_stat4, as a real dump may carry them
    for name in ("spotify_clean.sqlite3", "spotify_clean_track_files.sqlite3"):
        connection = sqlite3.connect(prepared / name)
        connection.execute("ANALYZE")
        connection.commit()
        connection.close()
    prepare(prepared)
    with Snapshot.open(prepared) as snap:
        tables = {row[0] for row in snap._connection().execute("SELECT name FROM sqlite_master")}
        assert "sqlite_stat1" in tables
        for name, plan in snap.query_plans().items():
            assert full_scans(plan) == [], name
        assert [t["id"] for t in snap.lookup_isrcs([SHARED_ISRC])[SHARED_ISRC]] == [
            TRACK[4],
            TRACK[1],
            TRACK[5],
        ]


def count_statements(snap: Snapshot, kind: Kind, keys: list[str]) -> int:
    connection = snap._connection()
    executed: list[str] = []

    def tracer(_cursor: apsw.Cursor, sql: str, _bindings: object) -> bool:
        executed.append(sql)
        return True

    connection.exec_trace = tracer
    try:
        snap.lookup_json(kind, keys)
    finally:
        connection.exec_trace = None
    return len(executed)


@pytest.mark.parametrize(
    ("kind", "known"),
    [
        (Kind.ISRC, [SHARED_ISRC, "GBAYE0000002", "JPABC1234567"]),
        (Kind.UPC, ["00012345678905", "04006381333931"]),
        (Kind.TRACK, list(TRACK.values())),
        (Kind.ALBUM, list(ALBUM.values())),
        (Kind.ARTIST, list(ARTIST.values())),
    ],
)
def test_statements_per_batch_do_not_grow_with_its_size(
    prepared: Path, kind: Kind, known: list[str]
) -> None:
    def keys(n: int) -> list[str]:
        fillers = [f"{i:014d}" if kind is Kind.UPC else f"ZZ{i:010d}"[:12] for i in range(n)]
        if kind in (Kind.TRACK, Kind.ALBUM, Kind.ARTIST):
            fillers = [f"{i:022d}" for i in range(n)]
        return (known + fillers)[:n] if n >= len(known) else known[:n]

    with Snapshot.open(prepared) as snap:
        counts = {n: count_statements(snap, kind, keys(n)) for n in (1, 10, 400)}
    assert counts[1] == counts[10] == counts[400], counts
    assert counts[400] == 1


def digest(directory: Path) -> dict[str, tuple[str, int]]:
    return {
        path.name: (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
        for path in sorted(directory.iterdir())
    }


def test_dump_files_are_untouched_from_a_read_only_directory(prepared: Path) -> None:
    before = digest(prepared)
    for path in prepared.iterdir():
        path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    prepared.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with Snapshot.open(prepared) as snap:
            snap.lookup_isrcs([SHARED_ISRC])
            snap.lookup_upcs(["012345678905"])
            snap.album_tracks(ALBUM[1])
            snap.probe()
            snap.query_plans()
        after = digest(prepared)
    finally:
        prepared.chmod(stat.S_IRWXU)
        for path in prepared.iterdir():
            path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert after == before  # same files (no journal, WAL or shm), bytes and mtimes


def test_unprepared_directories_are_refused_with_a_build_hint(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="no spotify_clean"):
        Snapshot.open(tmp_path)
    write_dump(tmp_path)
    with pytest.raises(SnapshotNotPrepared, match="snapshot-api build"):
        Snapshot.open(tmp_path)
    prepare(tmp_path)
    (tmp_path / "snapshot-index.sqlite3").unlink()
    with pytest.raises(SnapshotNotPrepared, match=r"snapshot-index\.sqlite3 is missing"):
        Snapshot.open(tmp_path)


def test_compressed_only_dump_asks_for_build(tmp_path: Path) -> None:
    write_dump(tmp_path)
    for path in list(tmp_path.iterdir()):
        path.rename(path.with_name(path.name + ".zst"))
    with pytest.raises(SnapshotNotPrepared, match="not decompressed"):
        Snapshot.open(tmp_path)


def test_files_changed_since_build_are_refused(prepared: Path) -> None:
    main = prepared / "spotify_clean.sqlite3"
    os.utime(main, ns=(main.stat().st_atime_ns, main.stat().st_mtime_ns + 10**9))
    with pytest.raises(SnapshotNotPrepared, match="changed since the last build"):
        Snapshot.open(prepared)


def test_sidecar_of_another_snapshot_is_refused(
    prepared: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    other = tmp_path_factory.mktemp("other")
    write_dump(other, track_files=False)
    prepare(other)
    shutil.copy(other / "snapshot-index.sqlite3", prepared / "snapshot-index.sqlite3")
    with pytest.raises(SnapshotNotPrepared, match="another snapshot"):
        Snapshot.open(prepared)


def test_probe_fails_when_a_file_is_removed_or_replaced(prepared: Path) -> None:
    with Snapshot.open(prepared) as snap:
        snap.probe()
        main = prepared / "spotify_clean.sqlite3"
        moved = prepared / "moved.sqlite3"
        main.rename(moved)
        with pytest.raises(SnapshotError, match=r"spotify_clean\.sqlite3"):
            snap.probe()
        shutil.copy(moved, main)  # same content, another file
        with pytest.raises(SnapshotError, match="replaced or modified"):
            snap.probe()


def test_threads_share_a_snapshot_with_their_own_connections(prepared: Path) -> None:
    with Snapshot.open(prepared) as snap:
        expected = snap.lookup_isrcs([SHARED_ISRC])

        def work(_: int) -> tuple[int, dict[str, list[dict[str, object]]]]:
            return id(snap._connection()), snap.lookup_isrcs([SHARED_ISRC])

        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(work, range(64)))
    assert all(result == expected for _, result in results)
    assert len({connection for connection, _ in results}) > 1


def test_closed_snapshot_refuses_work(prepared: Path) -> None:
    snap = Snapshot.open(prepared)
    snap.close()
    with pytest.raises(SnapshotError, match="closed"):
        snap.lookup_isrcs([SHARED_ISRC])


def test_a_missing_index_is_named_at_open_instead_of_scanning(prepared: Path) -> None:
    connection = sqlite3.connect(prepared / "spotify_clean.sqlite3")
    connection.execute("DROP INDEX tracks_external_id_isrc")
    connection.commit()
    connection.close()
    prepare(prepared)
    with pytest.raises(SnapshotError, match=r"no index on tracks\(external_id_isrc\)"):
        Snapshot.open(prepared)


PROBE = """
import sys
import apsw
import snapshot_api  # importing must leave SQLite as the application configured it
from snapshot_api import Snapshot

def memory_used():
    return apsw.status(apsw.SQLITE_STATUS_MEMORY_USED)[0]

connection = apsw.Connection(":memory:")
print(memory_used() > 0)  # statistics still on after the import
connection.close()
del connection
with Snapshot.open(sys.argv[1]) as snap:
    snap.lookup_isrcs([sys.argv[2]])
    print(memory_used() > 0)  # off once the first snapshot is open
"""


def test_sqlite_is_configured_at_the_first_open_not_at_import(hand_snapshot: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(hand_snapshot), SHARED_ISRC],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.split() == ["True", "False"]


def test_a_malformed_url_is_an_invalid_identifier_not_a_bare_value_error(
    prepared: Path,
) -> None:
    from snapshot_api.errors import InvalidIdentifier

    with Snapshot.open(prepared) as snap, pytest.raises(InvalidIdentifier) as caught:
        snap.tracks([TRACK[1], "https://[::1/track/x"])
    assert [r.value for r in caught.value.rejections] == ["https://[::1/track/x"]
