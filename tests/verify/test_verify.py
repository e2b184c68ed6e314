"""`snapshot-api verify`: every fault a download or a disk can cause is detected and named.

Each test damages a private copy of a built snapshot the way the fault happens
in life (a cut-off download, a flipped bit, a file replaced, a manifest edited
by hand, a sidecar copied from elsewhere) and runs the real command.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import struct
from pathlib import Path
from typing import Any

import orjson
import pytest

from snapshot_api.build.pipeline import build
from snapshot_api.layout import MANIFEST_NAME, SIDECAR_NAME
from snapshot_api.progress import Reporter
from snapshot_api.verify.verifier import verify
from tests.support.fixtures import CliRunner, SnapshotFactory

QUIET = Reporter(quiet=True)
MAIN = "spotify_clean.sqlite3"
TRACK_FILES = "spotify_clean_track_files.sqlite3"


def verify_json(run_cli: CliRunner, directory: Path, *flags: str) -> tuple[int, dict[str, Any]]:
    done = run_cli("verify", str(directory), "--json", "--seed", "11", *flags)
    assert "Traceback" not in done.stderr, done.stderr
    report = orjson.loads(done.stdout)
    assert report["fit_to_serve"] == (done.returncode == 0)
    return done.returncode, report


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in report["checks"]}


def failed(report: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["detail"] for c in report["checks"] if c["status"] == "failed"}


def keep_mtime(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_atime_ns, stat.st_mtime_ns


def page_of(path: Path, index_name: str) -> int:
    """Byte offset of the root page of `index_name` in the database at `path`."""
    with open(path, "rb") as handle:
        header = handle.read(100)
    (page_size,) = struct.unpack(">H", header[16:18])
    page_size = 65536 if page_size == 1 else page_size
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (root,) = connection.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = ?", (index_name,)
        ).fetchone()
    finally:
        connection.close()
    return (root - 1) * page_size


def alter(path: Path, sql: str) -> None:
    connection = sqlite3.connect(path)
    connection.executescript(sql)
    connection.close()


# --- a sound snapshot --------------------------------------------------------------------


def test_a_built_snapshot_is_fit_in_quick_and_full_mode(
    built_snapshot: Path, run_cli: CliRunner
) -> None:
    status, report = verify_json(run_cli, built_snapshot)
    assert status == 0, failed(report)
    checks = by_name(report)
    assert report["mode"] == "quick"
    for name in (
        "file main",
        "manifest",
        "sidecar",
        "schema main",
        "query plans",
        "sample references",
        "sample identifiers",
        "sample sidecar",
        "statistics",
    ):
        assert checks[name]["status"] in ("ok", "warning"), (name, checks[name])  # fmt: skip
    assert checks["sample sidecar"]["status"] == "ok"
    assert checks["query plans"]["status"] == "ok"
    identifiers = checks["sample identifiers"]
    assert 0 <= identifiers["isrc"]["well_formed"] <= identifiers["isrc"]["sampled"]
    assert "well-formed ISRCs" in identifiers["detail"]

    status, report = verify_json(run_cli, built_snapshot, "--full")
    assert status == 0, failed(report)
    checks = by_name(report)
    assert report["mode"] == "full"
    assert checks["integrity main"]["status"] == "ok"
    assert checks["integrity sidecar"]["status"] == "ok"
    assert checks["row counts"]["status"] == "ok"
    assert checks["checksum main"]["status"] == "skipped"  # built without --checksums
    dangling = checks["references"]["dangling"]
    assert dangling["sidecar→album"][1] == 0


def test_text_report_has_one_line_per_check_and_a_verdict(
    built_snapshot: Path, run_cli: CliRunner
) -> None:
    done = run_cli("verify", str(built_snapshot), "--seed", "3")
    assert done.returncode == 0
    lines = done.stdout.strip().splitlines()
    report = verify(built_snapshot, seed=3)
    assert len(lines) == len(report.checks) + 1
    assert all(line.split()[0] in ("ok", "warning", "skipped") for line in lines[:-1])
    assert lines[-1].startswith("fit to serve (")


# --- broken files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        (lambda p: os.truncate(p, p.stat().st_size // 2), f"{MAIN} is truncated: "),
        (lambda p: p.write_bytes(b""), f"{MAIN} is empty (0 bytes)"),
        (lambda p: p.write_bytes(b"PK\x03\x04 a zip file" * 300),
         f"{MAIN} is not an SQLite database"),
    ],
    ids=["truncated", "zero-length", "not-sqlite"],
)  # fmt: skip
def test_broken_main_file_is_named(
    spoil: Any, expected: str, snapshot_factory: SnapshotFactory, run_cli: CliRunner
) -> None:
    directory = snapshot_factory()
    spoil(directory / MAIN)
    status, report = verify_json(run_cli, directory)
    assert status == 1
    problems = failed(report)
    assert problems["file main"].startswith(expected)
    assert f"{MAIN} changed since build" in problems["manifest"]
    assert by_name(report)["query plans"]["status"] == "skipped"


def test_truncated_file_with_its_manifest_entry_forged_is_still_caught(
    snapshot_factory: SnapshotFactory, run_cli: CliRunner
) -> None:
    """The header, not the manifest, says how long the file must be."""
    directory = snapshot_factory()
    path = directory / TRACK_FILES
    times = keep_mtime(path)
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size - 4096)
    os.utime(path, ns=times)
    status, report = verify_json(run_cli, directory)
    assert status == 1
    assert "file track_files" in failed(report)
    assert "is truncated" in failed(report)["file track_files"]


def test_flipped_bytes_inside_a_page_are_found_by_full_mode(
    snapshot_factory: SnapshotFactory, run_cli: CliRunner
) -> None:
    directory = snapshot_factory()
    path = directory / MAIN
    times = keep_mtime(path)
    offset = page_of(path, "tracks_id_unique")
    with open(path, "r+b") as handle:
        handle.seek(offset)
        page_start = handle.read(12)
        handle.seek(offset)
        handle.write(bytes(b ^ 0xFF for b in page_start))
    os.utime(path, ns=times)  # silent corruption: size and mtime unchanged

    status, report = verify_json(run_cli, directory, "--full")
    assert status == 1
    problems = failed(report)
    assert problems["integrity main"].startswith(f"{MAIN} is corrupt: ")
    assert "manifest" not in problems


def test_a_changed_byte_is_caught_by_the_checksum(
    snapshot_factory: SnapshotFactory, run_cli: CliRunner
) -> None:
    directory = snapshot_factory()
    build(directory, checksums=True, reporter=QUIET)
    path = directory / TRACK_FILES
    times = keep_mtime(path)
    with open(path, "r+b") as handle:
        handle.seek(-1, os.SEEK_END)
        last = handle.read(1)
        handle.seek(-1, os.SEEK_END)
        handle.write(bytes([last[0] ^ 0x01]))
    os.utime(path, ns=times)
    status, report = verify_json(run_cli, directory, "--full")
    assert status == 1
    assert "differs from the manifest" in failed(report)["checksum track_files"]
    assert by_name(report)["checksum main"]["status"] == "ok"


# --- schema ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("DROP TABLE artist_genres", "no table artist_genres (the server reads it)"),
        ("ALTER TABLE tracks DROP COLUMN preview_url",
         "tracks has no column preview_url (the server reads it)"),
        ("DROP INDEX tracks_album_rowid", "no index on tracks(album_rowid) (lookups need it)"),
    ],
    ids=["missing-table", "missing-column", "missing-index"],
)  # fmt: skip
def test_schema_faults_are_named(
    sql: str, expected: str, snapshot_factory: SnapshotFactory, run_cli: CliRunner
) -> None:
    directory = snapshot_factory()
    alter(directory / MAIN, sql)
    status, report = verify_json(run_cli, directory)
    assert status == 1
    problems = failed(report)
    assert expected in problems["schema main"]
    assert "query plans" in problems  # the library cannot run its queries on this file


@pytest.mark.parametrize(
    ("sql", "check", "detail"),
    [
        # an index the shipped layout has but no lookup reads
        (
            "DROP INDEX artists_followers_total",
            "schema main",
            "no index on artists(followers_total)",
        ),
        # statistics slow key lookups down, but the snapshot still serves
        ("ANALYZE", "statistics", f"{MAIN} has sqlite_stat1"),
    ],
)
def test_harmless_faults_are_only_warnings(
    snapshot_factory: SnapshotFactory, run_cli: CliRunner, sql: str, check: str, detail: str
) -> None:
    directory = snapshot_factory(built=False)
    alter(directory / MAIN, sql)
    build(directory, reporter=QUIET)
    status, report = verify_json(run_cli, directory)
    assert status == 0, failed(report)
    found = by_name(report)[check]
    assert found["status"] == "warning"
    assert detail in found["detail"]


# --- manifest and sidecar -------------------------------------------------------------------


def test_stale_manifest_is_named(snapshot_factory: SnapshotFactory, run_cli: CliRunner) -> None:
    directory = snapshot_factory()
    path = directory / TRACK_FILES
    atime, mtime = keep_mtime(path)
    os.utime(path, ns=(atime, mtime + 5_000_000_000))  # e.g. re-downloaded
    status, report = verify_json(run_cli, directory)
    assert status == 1
    assert failed(report)["manifest"].startswith(
        f"{TRACK_FILES} changed since build: modified since build (mtime differs)"
    )


def test_hand_edited_manifest_is_named(
    snapshot_factory: SnapshotFactory, run_cli: CliRunner
) -> None:
    directory = snapshot_factory()
    raw = orjson.loads((directory / MANIFEST_NAME).read_bytes())
    raw["counts"]["tracks"] += 1
    (directory / MANIFEST_NAME).write_bytes(orjson.dumps(raw))
    status, report = verify_json(run_cli, directory)
    assert status == 1
    assert (
        "differs from the manifest build recorded in snapshot-index.sqlite3"
        in (failed(report)["manifest"])
    )

    raw["counts"]["tracks"] -= 1
    raw["snapshot_id"] = "0" * 20
    (directory / MANIFEST_NAME).write_bytes(orjson.dumps(raw))
    status, report = verify_json(run_cli, directory)
    assert "snapshot_id does not match the files it lists" in failed(report)["manifest"]

    (directory / MANIFEST_NAME).write_bytes(b'{"snapshot_id": ')
    status, report = verify_json(run_cli, directory)
    assert failed(report)["manifest"].startswith("manifest.json: manifest is not valid")


def test_sidecar_from_another_snapshot_is_named(
    snapshot_factory: SnapshotFactory, run_cli: CliRunner
) -> None:
    here = snapshot_factory(name="here")
    other = snapshot_factory(built=False, name="other")
    main = other / MAIN
    atime, mtime = keep_mtime(main)
    os.utime(main, ns=(atime, mtime + 1_000_000_000))
    build(other, reporter=QUIET)
    shutil.copy2(other / SIDECAR_NAME, here / SIDECAR_NAME)
    status, report = verify_json(run_cli, here)
    assert status == 1
    assert "snapshot-index.sqlite3 was built for another snapshot" in failed(report)["sidecar"]


@pytest.mark.parametrize("name", [MANIFEST_NAME, SIDECAR_NAME])
def test_missing_build_outputs_say_to_run_build(
    name: str, snapshot_factory: SnapshotFactory, run_cli: CliRunner
) -> None:
    directory = snapshot_factory()
    (directory / name).unlink()
    status, report = verify_json(run_cli, directory)
    assert status == 1
    detail = failed(report)["manifest" if name == MANIFEST_NAME else "sidecar"]
    assert detail == f"{name} is missing; run `snapshot-api build {directory}`"


def test_sidecar_missing_entries_are_caught_by_the_sample(
    snapshot_factory: SnapshotFactory, run_cli: CliRunner
) -> None:
    directory = snapshot_factory()
    path = directory / SIDECAR_NAME
    times = keep_mtime(path)
    alter(path, "DELETE FROM barcode_albums WHERE album_rowid % 2 = 0")
    os.utime(path, ns=times)
    status, report = verify_json(run_cli, directory, "--sample", "500")
    assert status == 1
    assert "is missing from the sidecar" in failed(report)["sample sidecar"]


def test_dump_not_decompressed_yet(snapshot_factory: SnapshotFactory, run_cli: CliRunner) -> None:
    directory = snapshot_factory(compressed=True)
    status, report = verify_json(run_cli, directory)
    assert status == 1
    assert failed(report)["file main"] == (
        f"{MAIN}.zst is not decompressed yet; run `snapshot-api build {directory}`"
    )


def test_broken_audio_features_file_is_a_warning_only(
    snapshot_factory: SnapshotFactory, run_cli: CliRunner
) -> None:
    directory = snapshot_factory(built=False)
    (directory / "spotify_clean_audio_features.sqlite3").write_bytes(b"\0" * 5000)
    build(directory, reporter=QUIET)
    status, report = verify_json(run_cli, directory)
    assert status == 0, failed(report)
    assert by_name(report)["file audio_features"]["status"] == "warning"


def test_bad_arguments_and_missing_directory(tmp_path: Path, run_cli: CliRunner) -> None:
    bad = run_cli("verify", str(tmp_path), "--sample", "0")
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1
    missing = run_cli("verify", str(tmp_path / "nope"))
    assert missing.returncode == 1
    assert "is not a directory" in missing.stdout
