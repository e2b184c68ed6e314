"""`verify` on text that is not UTF-8: `--full` counts such cells per table and column with
their first rows (a warning: lookups serve them with U+FFFD), and no check, quick or full,
dies with a traceback on a dump file with flipped bytes."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from snapshot_api.progress import Reporter
from snapshot_api.verdict import Status
from snapshot_api.verify.verifier import verify
from tests.support.dirty_text import DirtyText, make_dirty_text
from tests.support.fixtures import CliRunner, SnapshotFactory

FLIPPED_BYTES = 200
FLIP_SEEDS = range(12)
"""Seeds 3 and 7 made quick and full verify crash in their sample checks before the fix."""


@pytest.fixture(scope="module")
def dirty(built_snapshot: Path, tmp_path_factory: pytest.TempPathFactory) -> DirtyText:
    return make_dirty_text(built_snapshot, tmp_path_factory.mktemp("dirty-text") / "snapshot")


def test_full_verify_reports_each_column_with_undecodable_cells(
    run_cli: CliRunner, dirty: DirtyText
) -> None:
    done = run_cli("verify", str(dirty.directory), "--full", "--json", "--sample", "5000")
    assert "Traceback" not in done.stderr
    assert done.returncode == 0, done.stdout
    report = json.loads(done.stdout)
    assert report["fit_to_serve"] is True
    checks = {check["name"]: check for check in report["checks"]}
    main = checks["text encoding main"]
    assert main["status"] == "warning"
    assert main["not_utf8"] == {
        "albums.external_id_upc": {
            "count": 1,
            "examples": [{"rowid": dirty.bad_upc_rowid, "text": "01\ufffd"}],
        },
        "albums.label": {"count": 1, "examples": [{"rowid": dirty.album_rowid, "text": '\ufffd"'}]},
        "artists.name": {
            "count": 1,
            "examples": [{"rowid": dirty.artist_rowid, "text": "\ufffd" * 3}],
        },
        "tracks.external_id_isrc": {
            "count": 1,
            "examples": [{"rowid": dirty.bad_isrc_rowid, "text": "US\ufffd"}],
        },
        "tracks.name": {"count": 1, "examples": [{"rowid": dirty.track_rowid, "text": "A\ufffdB"}]},
    }
    assert "tracks.name 1 (rowid" in main["detail"]
    files = checks["text encoding track_files"]
    assert files["status"] == "warning"
    assert list(files["not_utf8"]) == ["track_files.original_title"]
    assert "sample identifiers" in checks and checks["sample identifiers"]["status"] == "ok"


def test_full_verify_of_clean_text_is_ok(built_snapshot: Path) -> None:
    report = verify(built_snapshot, full=True, reporter=Reporter(quiet=True))
    encoding = [check for check in report.checks if check.name.startswith("text encoding")]
    # one check per dump file: main, track_files and audio_features
    assert [check.status for check in encoding] == [Status.OK, Status.OK, Status.OK]


def _flip(path: Path, seed: int) -> None:
    """Flip one bit in each of FLIPPED_BYTES random bytes after the header, keeping the
    mtime so the manifest still matches (the damage is silent, as on a bad disk)."""
    stat = path.stat()
    data = bytearray(path.read_bytes())
    rng = random.Random(seed)
    for _ in range(FLIPPED_BYTES):
        position = rng.randrange(100, len(data))
        data[position] ^= 1 << rng.randrange(8)
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_no_verify_check_crashes_on_flipped_bytes(snapshot_factory: SnapshotFactory) -> None:
    pristine = snapshot_factory(name="pristine")
    main = pristine / "spotify_clean.sqlite3"
    original = main.read_bytes()
    stat = main.stat()
    for seed in FLIP_SEEDS:
        main.write_bytes(original)
        os.utime(main, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        _flip(main, seed)
        for full in (False, True):
            # raises (the traceback a user would see) if any check does not catch it
            report = verify(pristine, full=full, sample=5000, seed=0, reporter=Reporter(quiet=True))
            assert report.checks, seed


def test_cli_verify_of_flipped_bytes_is_a_report(
    run_cli: CliRunner, snapshot_factory: SnapshotFactory
) -> None:
    damaged = snapshot_factory(name="damaged")
    _flip(damaged / "spotify_clean.sqlite3", 3)
    for mode in ([], ["--full"]):
        done = run_cli("verify", str(damaged), *mode, "--sample", "5000", "--seed", "0")
        assert "Traceback" not in done.stderr, done.stderr
        assert done.returncode in (0, 1)
        assert "fit to serve" in done.stdout
