"""Every hidden fault an operator can meet, each answered by `verify` and by `serve`.

One table of faults, each made in a private copy of the built snapshot the way
it happens in life. For each: `verify` exits with its verdict and a report line
naming the fault, never a traceback; `serve` either refuses to start with one
line on stderr (a file that no longer matches its build is refused before
anything is served) or starts and answers the damaged data with a JSON 503
`not_ready` (or, for undecodable text, the document with U+FFFD) while the
process lives. A file truncated while served is the last row.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from snapshot_api.build.pipeline import build
from snapshot_api.layout import SIDECAR_NAME
from snapshot_api.progress import Reporter
from tests.support.fixtures import copy_snapshot, run_command
from tests.support.server_process import start_server
from tests.verify.test_verify import keep_mtime, page_of

MAIN = "spotify_clean.sqlite3"
TRACK_FILES = "spotify_clean_track_files.sqlite3"


def _a_track(directory: Path) -> tuple[str, str]:
    with sqlite3.connect(f"file:{directory / MAIN}?mode=ro", uri=True) as db:
        track_id, isrc = db.execute(
            "SELECT id, external_id_isrc FROM tracks WHERE external_id_isrc GLOB "
            "'[A-Z][A-Z][A-Z0-9][A-Z0-9][A-Z0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]' "
            "ORDER BY rowid LIMIT 1"
        ).fetchone()
    return str(track_id), str(isrc)


def _overwrite_page(path: Path, index: str, damage: Callable[[bytes], bytes]) -> None:
    """Overwrite the root page of `index` in place; size and mtime kept (silent damage)."""
    times = keep_mtime(path)
    offset = page_of(path, index)
    with open(path, "r+b") as handle:
        handle.seek(offset)
        page = handle.read(4096)
        handle.seek(offset)
        handle.write(damage(page))
    os.utime(path, ns=times)


def _sidecar_of_another(directory: Path, scratch: Path) -> None:
    other = copy_snapshot(directory, scratch / "other")
    times = keep_mtime(other / MAIN)
    os.utime(other / MAIN, ns=(times[0], times[1] + 1_000_000_000))
    build(other, reporter=Reporter(quiet=True))
    shutil.copy2(other / SIDECAR_NAME, directory / SIDECAR_NAME)


def _drop_index(directory: Path) -> None:
    with sqlite3.connect(directory / MAIN) as db:
        db.execute("DROP INDEX tracks_album_rowid")


def _redownloaded(path: Path) -> None:
    """Same bytes, newer mtime: the manifest no longer describes the file."""
    atime, mtime = keep_mtime(path)
    os.utime(path, ns=(atime, mtime + 5_000_000_000))


def _bad_utf8(directory: Path) -> None:
    track_id, _isrc = _a_track(directory)
    with sqlite3.connect(directory / MAIN) as db:
        db.execute("UPDATE tracks SET name = CAST(X'41FF42' AS TEXT) WHERE id = ?", (track_id,))
    build(directory, reporter=Reporter(quiet=True))


@dataclass(frozen=True)
class Fault:
    name: str
    make: Callable[[Path, Path], None]
    """Damage the snapshot (directory, scratch directory)."""
    verify_flags: tuple[str, ...]
    verify_exit: int
    verify_says: str
    serve_refuses: str | None
    """The one line `serve` stops with, or None when it serves (503s or U+FFFD)."""


FAULTS = [
    Fault("truncated", lambda d, _s: os.truncate(d / MAIN, (d / MAIN).stat().st_size // 2),
          (), 1, f"{MAIN} is truncated", f"{MAIN} changed since the last build"),
    Fault("zero-length", lambda d, _s: (d / MAIN).write_bytes(b""),
          (), 1, f"{MAIN} is empty", f"{MAIN} changed since the last build"),
    Fault("not-sqlite", lambda d, _s: (d / MAIN).write_bytes(b"PK\x03\x04 zip" * 500),
          (), 1, f"{MAIN} is not an SQLite database", f"{MAIN} changed since the last build"),
    Fault("flipped-bytes",
          lambda d, _s: _overwrite_page(d / MAIN, "tracks_id_unique",
                                        lambda p: bytes(b ^ 0xFF for b in p[:12]) + p[12:]),
          ("--full",), 1, f"{MAIN} is corrupt", None),
    Fault("zeroed-page",
          lambda d, _s: _overwrite_page(d / MAIN, "tracks_id_unique", lambda p: bytes(len(p))),
          ("--full",), 1, f"{MAIN} is corrupt", None),
    Fault("invalid-utf8-cell", lambda d, _s: _bad_utf8(d),
          ("--full",), 0, "cells are not UTF-8", None),
    Fault("missing-index", lambda d, _s: _drop_index(d),
          (), 1, "no index on tracks(album_rowid)", f"{MAIN} changed since the last build"),
    Fault("stale-manifest", lambda d, _s: _redownloaded(d / TRACK_FILES),
          (), 1, f"{TRACK_FILES} changed since build",
          f"{TRACK_FILES} changed since the last build"),
    Fault("sidecar-of-another-snapshot", _sidecar_of_another,
          (), 1, f"{SIDECAR_NAME} was built for another snapshot",
          f"{SIDECAR_NAME} was built for another snapshot"),
]  # fmt: skip


def _verify(directory: Path, flags: tuple[str, ...]) -> tuple[int, str]:
    done = run_command("verify", str(directory), *flags)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_verify_and_serve_answer_each_hidden_fault(
    fault: Fault, built_snapshot: Path, tmp_path: Path
) -> None:
    directory = copy_snapshot(built_snapshot, tmp_path / "snapshot")
    track_id, isrc = _a_track(directory)
    fault.make(directory, tmp_path)

    status, report = _verify(directory, fault.verify_flags)
    assert status == fault.verify_exit, report
    assert fault.verify_says in report

    if fault.serve_refuses is not None:
        done = run_command("serve", str(directory), "--port", "0", timeout=60)
        assert done.returncode == 1
        (line,) = done.stderr.splitlines()
        assert line.startswith("snapshot-api serve: ") and fault.serve_refuses in line
        return
    server = start_server(directory, "--rate", "0")
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            track = client.get(f"/lookup/track/{track_id}")
            if fault.name == "invalid-utf8-cell":
                assert track.status_code == 200
                assert track.json()["name"] == "A\ufffdB"
                assert client.get(f"/lookup/isrc/{isrc}").json()[0]["name"] == "A\ufffdB"
            else:
                assert track.status_code == 503, track.text
                assert track.headers["content-type"] == "application/json"
                assert track.json()["error"]["code"] == "not_ready"
            assert client.get("/health").status_code == 200
        assert server.process.poll() is None, "the process lives"
    finally:
        assert server.stop() == 0
    assert "Traceback (most recent call last)" not in server.read_stderr()


def test_verify_and_serve_answer_a_file_truncated_while_served(
    built_snapshot: Path, tmp_path: Path
) -> None:
    directory = copy_snapshot(built_snapshot, tmp_path / "snapshot")
    _track_id, isrc = _a_track(directory)
    server = start_server(directory, "--rate", "0")
    try:
        os.truncate(directory / MAIN, 8192)
        answer = httpx.get(f"{server.url}/lookup/isrc/{isrc}")
        assert answer.status_code == 503 and answer.json()["error"]["code"] == "not_ready"
        assert httpx.get(server.url + "/ready").status_code == 503
        assert server.process.poll() is None
    finally:
        assert server.stop() == 0
    status, report = _verify(directory, ())
    assert status == 1 and f"{MAIN} is truncated" in report
