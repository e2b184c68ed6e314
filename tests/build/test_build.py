"""`snapshot-api build`: from downloaded `.zst` files to a servable snapshot, safely.

Real files and real processes throughout: builds are run as `python -m
snapshot_api build`, killed with real signals at known points (the
`SNAPSHOT_API_TEST_PAUSE` hook), and checked by reading the files they leave.
Longer than most test modules because `build` is one command whose steps
(decompress, check, sidecar, manifest) are tested through the same fixtures
and the same interrupted-process helpers.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import orjson
import pytest
import zstandard

from snapshot_api import Snapshot, SnapshotError, __version__
from snapshot_api.build.pipeline import BuildError, build
from snapshot_api.build.sidecar import read_meta
from snapshot_api.identifiers import stored_barcode_key
from snapshot_api.layout import MANIFEST_NAME, SEARCH_NAME, SIDECAR_NAME, Role, find_dump_files
from snapshot_api.manifest import Manifest
from snapshot_api.progress import Reporter
from snapshot_api.synth.sample import ensure_sample, sample_dir
from snapshot_api.verify.verifier import verify
from tests.support.fixtures import ROOT, CliRunner, SnapshotFactory, paused_command

QUIET = Reporter(quiet=True)
MAIN_NAME = "spotify_clean.sqlite3"


def fingerprint(directory: Path, names: list[str] | None = None) -> dict[str, tuple[str, int]]:
    """{name: (sha256, mtime_ns)} of the dump files (or the named files) in `directory`."""
    paths = (
        [directory / name for name in names]
        if names is not None
        else sorted(
            p
            for p in directory.iterdir()
            if ".sqlite3" in p.name and SIDECAR_NAME not in p.name and SEARCH_NAME not in p.name
        )
    )
    return {
        path.name: (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
        for path in paths
    }


def barcode_pairs_by_reference(directory: Path) -> set[tuple[int, int]]:
    """What the sidecar must hold, computed independently with the sqlite3 module."""
    main = find_dump_files(directory)[Role.MAIN].path
    connection = sqlite3.connect(f"file:{main}?mode=ro", uri=True)
    try:
        rows = connection.execute("SELECT rowid, external_id_upc FROM albums").fetchall()
    finally:
        connection.close()
    return {(key, rowid) for rowid, upc in rows if (key := stored_barcode_key(upc)) is not None}


def sidecar_pairs(directory: Path) -> list[tuple[int, int]]:
    connection = sqlite3.connect(f"file:{directory / SIDECAR_NAME}?mode=ro", uri=True)
    try:
        return connection.execute("SELECT barcode, album_rowid FROM barcode_albums").fetchall()
    finally:
        connection.close()


def a_barcode_album(directory: Path) -> tuple[str, str]:
    """(barcode as stored, album id) of some album with a well-formed barcode."""
    main = find_dump_files(directory)[Role.MAIN].path
    connection = sqlite3.connect(f"file:{main}?mode=ro", uri=True)
    try:
        for upc, album_id in connection.execute(
            "SELECT external_id_upc, id FROM albums WHERE external_id_upc IS NOT NULL"
        ):
            if stored_barcode_key(upc) is not None:
                return upc, album_id
    finally:
        connection.close()
    raise AssertionError("no album with a barcode in the synthetic dump")


# --- the whole path ------------------------------------------------------------------


def test_zst_dump_goes_through_build_verify_and_lookup(
    snapshot_factory: SnapshotFactory, run_cli: CliRunner
) -> None:
    directory = snapshot_factory(compressed=True)
    packed_before = fingerprint(directory, sorted(p.name for p in directory.glob("*.zst")))

    built = run_cli("build", str(directory))
    assert built.returncode == 0, built.stderr
    assert "Traceback" not in built.stderr
    assert "decompressed spotify_clean.sqlite3.zst" in built.stderr
    assert f"snapshot {Manifest.read(directory).snapshot_id} ready" in built.stdout
    assert (directory / "spotify_clean.sqlite3").is_file()
    assert not list(directory.glob("*.partial"))
    # the downloaded files are kept byte for byte (they are what the torrent seeds)
    assert fingerprint(directory, sorted(packed_before)) == packed_before

    verified = run_cli("verify", str(directory))
    assert verified.returncode == 0, verified.stdout
    assert verified.stdout.rstrip().splitlines()[-1].startswith("fit to serve")

    upc, album_id = a_barcode_album(directory)
    spaced = " ".join([upc[:1], upc[1:6], upc[6:]])  # as printed on a sleeve
    looked_up = run_cli("lookup", str(directory), "upc", spaced, "--compact")
    assert looked_up.returncode == 0, looked_up.stderr
    found = orjson.loads(looked_up.stdout)[spaced]
    assert album_id in [album["id"] for album in found]
    with Snapshot.open(directory) as snap:
        assert album_id in [a["id"] for a in snap.lookup_upcs([upc])[upc]]


def test_sidecar_holds_exactly_the_normalised_barcodes(built_snapshot: Path) -> None:
    stored = sidecar_pairs(built_snapshot)
    assert stored == sorted(stored)  # a b-tree scan returns key order
    assert set(stored) == barcode_pairs_by_reference(built_snapshot)
    manifest = Manifest.read(built_snapshot)
    assert manifest.counts["barcode_albums"] == len(stored)
    assert manifest.sidecar["barcodes_indexed"] == len(stored)
    meta = read_meta(built_snapshot / SIDECAR_NAME)
    assert meta is not None
    assert meta["snapshot_id"] == manifest.snapshot_id
    # the sidecar's copy is written before the search index exists: all but `search` equal
    assert manifest.same_build(Manifest.from_json(meta["manifest"].encode()))
    assert Manifest.from_json(meta["manifest"].encode()).search == {}
    assert manifest.search["file"] == "snapshot-search.sqlite3"


def test_manifest_counts_match_the_tables(built_snapshot: Path) -> None:
    manifest = Manifest.read(built_snapshot)
    files = find_dump_files(built_snapshot)
    connection = sqlite3.connect(f"file:{files[Role.MAIN].path}?mode=ro", uri=True)
    try:
        for table in ("tracks", "albums", "artists"):
            (count,) = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
            assert manifest.counts[table] == count, table
        malformed = sum(
            1
            for (upc,) in connection.execute("SELECT external_id_upc FROM albums")
            if upc is not None and upc.strip() and stored_barcode_key(upc) is None
        )
    finally:
        connection.close()
    assert manifest.sidecar["malformed_barcodes"] == malformed
    assert {record.role for record in manifest.files} == {role.value for role in files}
    assert all(record.sha256 is None for record in manifest.files)


def test_build_is_idempotent(snapshot_factory: SnapshotFactory) -> None:
    directory = snapshot_factory(built=False)
    first = build(directory, reporter=QUIET)
    outputs = fingerprint(directory, [SIDECAR_NAME, MANIFEST_NAME])
    second = build(directory, reporter=QUIET)
    assert second.up_to_date and not first.up_to_date
    assert second.manifest == first.manifest
    assert fingerprint(directory, [SIDECAR_NAME, MANIFEST_NAME]) == outputs

    forced = build(directory, force=True, reporter=QUIET)
    assert forced.sidecar is not None
    assert forced.manifest.snapshot_id == first.manifest.snapshot_id
    assert forced.manifest.counts == first.manifest.counts
    assert sorted(sidecar_pairs(directory)) == sorted(barcode_pairs_by_reference(directory))


def test_snapshot_id_is_stable_and_follows_the_files(snapshot_factory: SnapshotFactory) -> None:
    one = snapshot_factory(built=False, name="one")
    two = snapshot_factory(built=False, name="two")
    id_one = build(one, reporter=QUIET).manifest.snapshot_id
    assert build(two, reporter=QUIET).manifest.snapshot_id == id_one  # same files, same id

    main = find_dump_files(two)[Role.MAIN].path
    os.utime(main, ns=(main.stat().st_atime_ns, main.stat().st_mtime_ns + 1_000_000_000))
    rebuilt = build(two, reporter=QUIET)
    assert not rebuilt.up_to_date
    assert rebuilt.manifest.snapshot_id != id_one


def test_checksums_are_recorded_without_changing_the_id(
    snapshot_factory: SnapshotFactory,
) -> None:
    directory = snapshot_factory(built=True)
    before = Manifest.read(directory)
    report = build(directory, checksums=True, reporter=QUIET)
    assert not report.up_to_date  # checksums were missing: rebuilt
    for record in report.manifest.files:
        path = directory / record.name
        assert record.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert report.manifest.snapshot_id == before.snapshot_id
    assert build(directory, checksums=True, reporter=QUIET).up_to_date


def test_checksums_taken_while_decompressing(snapshot_factory: SnapshotFactory) -> None:
    directory = snapshot_factory(compressed=True)
    report = build(directory, checksums=True, reporter=QUIET)
    assert len(report.decompressed) == len(report.manifest.files)
    for record in report.manifest.files:
        assert record.sha256 == hashlib.sha256((directory / record.name).read_bytes()).hexdigest()


def test_lost_manifest_is_restored_from_the_sidecar(snapshot_factory: SnapshotFactory) -> None:
    directory = snapshot_factory(built=True)
    before = Manifest.read(directory)
    sidecar = fingerprint(directory, [SIDECAR_NAME])
    (directory / MANIFEST_NAME).unlink()
    report = build(directory, reporter=QUIET)
    assert report.restored_manifest
    assert Manifest.read(directory) == before
    assert fingerprint(directory, [SIDECAR_NAME]) == sidecar


def test_already_decompressed_files_are_skipped(
    snapshot_factory: SnapshotFactory, run_cli: CliRunner
) -> None:
    directory = snapshot_factory(compressed=True)
    assert build(directory, reporter=QUIET).decompressed
    decompressed = fingerprint(directory)
    again = run_cli("build", str(directory))
    assert again.returncode == 0, again.stderr
    assert "spotify_clean.sqlite3: already decompressed, skipped" in again.stderr
    assert "up to date" in again.stderr
    assert fingerprint(directory) == decompressed


# --- interruptions ---------------------------------------------------------------------


def paused_build(directory: Path, point: str) -> AbstractContextManager[subprocess.Popen[str]]:
    """A real build process, stopped at `point`."""
    return paused_command(point, "build", str(directory))


@pytest.mark.parametrize("point", ["decompress", "sidecar"])
def test_killed_build_ends_correct_after_a_rerun(
    point: str, snapshot_factory: SnapshotFactory, run_cli: CliRunner
) -> None:
    directory = snapshot_factory(compressed=True)
    with paused_build(directory, point) as process:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert not (directory / MANIFEST_NAME).exists()
    if point == "decompress":
        assert (directory / "spotify_clean.sqlite3.partial").is_file()
        assert not (directory / "spotify_clean.sqlite3").exists()
    else:
        assert (directory / (SIDECAR_NAME + ".tmp")).is_file()
        assert not (directory / SIDECAR_NAME).exists()

    rerun = run_cli("build", str(directory))
    assert rerun.returncode == 0, rerun.stderr
    assert "removed files left by an interrupted build" in rerun.stderr
    assert not [p for p in directory.iterdir() if p.suffix in (".partial", ".tmp", ".scratch")]
    assert set(sidecar_pairs(directory)) == barcode_pairs_by_reference(directory)
    assert run_cli("verify", str(directory)).returncode == 0


def test_ctrl_c_stops_cleanly_and_leaves_no_partial_file(
    snapshot_factory: SnapshotFactory,
) -> None:
    directory = snapshot_factory(compressed=True)
    with paused_build(directory, "decompress") as process:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130
        assert process.stderr is not None
        rest = process.stderr.read()
        assert "interrupted" in rest and "Traceback" not in rest
    assert not list(directory.glob("*.partial"))
    assert not (directory / "spotify_clean.sqlite3").exists()


def test_a_second_build_of_the_same_directory_is_refused(
    snapshot_factory: SnapshotFactory, run_cli: CliRunner
) -> None:
    directory = snapshot_factory(compressed=True)
    with paused_build(directory, "decompress"):
        second = run_cli("build", str(directory))
        assert second.returncode == 1
        assert second.stderr.strip() == (
            f"snapshot-api build: another build is running in {directory}"
        )


# --- source files are never changed ----------------------------------------------------


def test_build_and_verify_leave_the_dump_files_untouched(
    snapshot_factory: SnapshotFactory, run_cli: CliRunner
) -> None:
    directory = snapshot_factory(built=False)
    before = fingerprint(directory)
    assert run_cli("build", str(directory)).returncode == 0
    assert run_cli("verify", str(directory), "--full").returncode == 0
    assert fingerprint(directory) == before
    created = {p.name for p in directory.iterdir()} - set(before)
    assert created == {SIDECAR_NAME, SEARCH_NAME, MANIFEST_NAME}  # no journals, WAL or shm files


def without_file_permission_override() -> tuple[str, ...]:
    """A command prefix under which file permissions bind this process, or skip the test.

    As root, permissions do not stop writes; dropping the capabilities that
    override them (setpriv) makes a read-only file really read-only.
    """
    if os.geteuid() != 0:
        return ()
    prefix = ("setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner")
    try:
        probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=30)
    except FileNotFoundError:
        pytest.skip("running as root without setpriv: cannot make files read-only")
    if probe.returncode != 0:
        pytest.skip("running as root and cannot drop capabilities: files cannot be read-only")
    return prefix


def test_build_works_with_read_only_dump_files(
    snapshot_factory: SnapshotFactory, run_cli: CliRunner
) -> None:
    prefix = without_file_permission_override()
    directory = snapshot_factory(built=False)
    before = fingerprint(directory)
    for path in directory.iterdir():
        path.chmod(0o444)
    try:
        built = run_cli("build", str(directory), prefix=prefix)
        assert built.returncode == 0, built.stderr
        verified = run_cli("verify", str(directory), "--full", prefix=prefix)
        assert verified.returncode == 0, verified.stdout
    finally:
        for path in directory.iterdir():
            path.chmod(0o644)
    assert fingerprint(directory) == before


def test_read_only_directory_is_one_clear_error(
    snapshot_factory: SnapshotFactory, run_cli: CliRunner
) -> None:
    prefix = without_file_permission_override()
    directory = snapshot_factory(built=False)
    directory.chmod(0o555)
    try:
        built = run_cli("build", str(directory), prefix=prefix)
    finally:
        directory.chmod(0o755)
    assert built.returncode == 1
    lines = built.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"snapshot-api build: cannot write in {directory}")
    assert not (directory / MANIFEST_NAME).exists()


# --- bad input: named, one line, nothing changed ----------------------------------------


def damage(directory: Path, sql: str) -> None:
    """Change a private copy of the main database (as a broken download might be)."""
    main = find_dump_files(directory)[Role.MAIN].path
    connection = sqlite3.connect(main)
    connection.executescript(sql)
    connection.close()


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("ALTER TABLE albums DROP COLUMN external_id_upc",
         "albums has no column external_id_upc (the server reads it)"),
        ("DROP TABLE track_artists", "no table track_artists (the server reads it)"),
        ("DROP INDEX tracks_external_id_isrc",
         "no index on tracks(external_id_isrc) (lookups need it)"),
    ],
)  # fmt: skip
def test_schema_problems_stop_the_build_and_are_named(
    sql: str, message: str, snapshot_factory: SnapshotFactory, run_cli: CliRunner
) -> None:
    directory = snapshot_factory(built=False)
    damage(directory, sql)
    built = run_cli("build", str(directory))
    assert built.returncode == 1
    last = built.stderr.strip().splitlines()[-1]
    assert last.startswith("snapshot-api build: the dump cannot be served: spotify_clean.sqlite3")
    assert message in last
    assert "Traceback" not in built.stderr
    assert not (directory / MANIFEST_NAME).exists()
    assert not (directory / SIDECAR_NAME).exists()


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda p: p.write_bytes(b""), "spotify_clean.sqlite3 is empty (0 bytes)"),
        (lambda p: p.write_bytes(b"<html>not found</html>" * 100),
         "spotify_clean.sqlite3 is not an SQLite database"),
        (lambda p: os.truncate(p, p.stat().st_size // 2), "spotify_clean.sqlite3 is truncated"),
    ],
    ids=["empty", "not-sqlite", "truncated"],
)  # fmt: skip
def test_broken_files_stop_the_build_with_one_line(
    spoil: Callable[[Path], object],
    message: str,
    snapshot_factory: SnapshotFactory,
    run_cli: CliRunner,
) -> None:
    directory = snapshot_factory(built=False)
    spoil(directory / "spotify_clean.sqlite3")
    built = run_cli("build", str(directory))
    assert built.returncode == 1
    lines = built.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], built.stderr
    assert not (directory / MANIFEST_NAME).exists()


def test_truncated_download_is_named_and_leaves_nothing(
    snapshot_factory: SnapshotFactory, run_cli: CliRunner
) -> None:
    directory = snapshot_factory(compressed=True)
    packed = directory / "spotify_clean.sqlite3.zst"
    os.truncate(packed, packed.stat().st_size - 100)
    built = run_cli("build", str(directory))
    assert built.returncode == 1
    assert built.stderr.strip().splitlines()[-1] == (
        "snapshot-api build: spotify_clean.sqlite3.zst is truncated "
        "(the input ends inside a zstd frame); download it again"
    )
    assert not (directory / "spotify_clean.sqlite3").exists()
    assert not list(directory.glob("*.partial"))


def test_corrupt_download_is_named_and_leaves_nothing(
    snapshot_factory: SnapshotFactory, run_cli: CliRunner
) -> None:
    directory = snapshot_factory(compressed=True)
    packed = directory / "spotify_clean_track_files.sqlite3.zst"
    data = bytearray(packed.read_bytes())
    data[len(data) // 2] ^= 0xFF  # the frame checksum no longer matches
    packed.write_bytes(bytes(data))
    built = run_cli("build", str(directory))
    assert built.returncode == 1
    last = built.stderr.strip().splitlines()[-1]
    assert last.startswith("snapshot-api build: spotify_clean_track_files.sqlite3.zst is corrupt")
    assert not (directory / "spotify_clean_track_files.sqlite3").exists()
    assert not list(directory.glob("*.partial"))


def test_missing_directory_and_missing_dump(tmp_path: Path, run_cli: CliRunner) -> None:
    missing = run_cli("build", str(tmp_path / "nope"))
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"snapshot-api build: {tmp_path / 'nope'}: not a directory"
    empty = run_cli("build", str(tmp_path))
    assert empty.returncode == 1
    assert "no spotify_clean.sqlite3 (or main_database.sqlite3" in empty.stderr
    with pytest.raises(BuildError, match="not a directory"):
        build(tmp_path / "nope", reporter=QUIET)


def test_old_go_server_file_names_are_accepted(snapshot_factory: SnapshotFactory) -> None:
    directory = snapshot_factory(built=False)
    (directory / "spotify_clean.sqlite3").rename(directory / "main_database.sqlite3")
    (directory / "spotify_clean_track_files.sqlite3").rename(directory / "track_files.sqlite3")
    report = build(directory, reporter=QUIET)
    assert {r.name for r in report.manifest.files} >= {
        "main_database.sqlite3",
        "track_files.sqlite3",
    }
    with Snapshot.open(directory) as snap:
        assert snap.has_track_files


def test_zstd_multiframe_input_is_decompressed_whole(snapshot_factory: SnapshotFactory) -> None:
    """pzstd and `zstd -T` may write several frames; every frame must come out."""
    directory = snapshot_factory(built=False)
    main = directory / "spotify_clean.sqlite3"
    data = main.read_bytes()
    half = len(data) // 2
    compressor = zstandard.ZstdCompressor(write_checksum=True)
    (directory / "spotify_clean.sqlite3.zst").write_bytes(
        compressor.compress(data[:half]) + compressor.compress(data[half:])
    )
    main.unlink()
    build(directory, reporter=QUIET)
    assert main.read_bytes() == data


# --- the built-in sample snapshot -------------------------------------------------------


SAMPLE_SCRIPT = (
    "import sys; from pathlib import Path; from snapshot_api.synth.sample import ensure_sample; "
    "print(ensure_sample(Path(sys.argv[1]), quiet=True))"
)


def test_sample_is_made_once_even_by_processes_starting_together(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", SAMPLE_SCRIPT, str(cache)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    answers = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], answers
    paths = {Path(stdout.strip()) for stdout, _stderr in answers}
    assert paths == {sample_dir(cache)}
    assert [p.name for p in cache.iterdir()] == [sample_dir(cache).name]  # no temporary dirs
    assert verify(sample_dir(cache), reporter=QUIET).fit

    made = fingerprint(sample_dir(cache), [MANIFEST_NAME, SIDECAR_NAME])
    assert ensure_sample(cache, quiet=True) == sample_dir(cache)
    assert fingerprint(sample_dir(cache), [MANIFEST_NAME, SIDECAR_NAME]) == made


def test_sample_is_deterministic_and_serves(tmp_path: Path) -> None:
    one = ensure_sample(tmp_path / "one", quiet=True)
    two = ensure_sample(tmp_path / "two", quiet=True)
    digests = {fingerprint(d, [MAIN_NAME])[MAIN_NAME][0] for d in (one, two)}
    assert len(digests) == 1
    with Snapshot.open(one) as snap:
        assert snap.manifest.counts["tracks"] > 0
        upc, album_id = a_barcode_album(one)
        assert album_id in [a["id"] for a in snap.lookup_upcs([upc])[upc]]


def test_sample_cache_defaults_to_xdg_cache_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert sample_dir() == tmp_path / "snapshot-api" / f"sample-{__version__}"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert sample_dir() == Path.home() / ".cache" / "snapshot-api" / f"sample-{__version__}"


def test_unwritable_sample_cache_is_a_snapshot_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(SnapshotError, match="cannot make the sample snapshot"):
        ensure_sample(blocker / "cache", quiet=True)
