"""A served file truncated in place (a `cp` over it, a full disk): 503s, never a dead process.

Mapped, touching a page past the new end raises SIGBUS; read with `pread`, it is a
short read. Either way lookups must answer the JSON 503 `not_ready`, /ready must
turn 503, and the process must go on serving /health.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from snapshot_api.build.pipeline import build
from snapshot_api.progress import Reporter
from tests.support.fixtures import copy_snapshot
from tests.support.server_process import ServerProcess, start_server


def _isrcs(directory: Path, count: int) -> list[str]:
    with sqlite3.connect(f"file:{directory / 'spotify_clean.sqlite3'}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT DISTINCT external_id_isrc FROM tracks WHERE external_id_isrc GLOB "
            "'[A-Z][A-Z][A-Z0-9][A-Z0-9][A-Z0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]' "
            "ORDER BY rowid DESC LIMIT ?",
            (count,),
        )
        return [row[0] for row in rows]


@pytest.mark.parametrize(("mode", "workers"), [("on", 1), ("off", 1), ("on", 2)])
def test_truncating_a_served_file_answers_503_and_the_process_lives(
    built_snapshot: Path, tmp_path: Path, mode: str, workers: int
) -> None:
    directory = copy_snapshot(built_snapshot, tmp_path / "snapshot")
    isrcs = _isrcs(directory, 60)
    server = start_server(directory, "--rate", "0", "--mmap", mode, "--workers", str(workers))
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            # No lookup before the truncation: pages a connection already holds in its
            # cache (read with `pread`) would still answer, correctly, after it.
            assert client.get("/ready").status_code == 200
            main = directory / "spotify_clean.sqlite3"
            with main.open("r+b") as handle:
                handle.truncate(8192)
            os.sync()
            singles = [client.get(f"/lookup/isrc/{isrc}") for isrc in isrcs[:10]]
            batch = client.post("/batch/lookup", json={"isrcs": isrcs[10:]})
            for response in [*singles, batch]:
                assert response.status_code == 503, response.text
                assert response.headers["content-type"] == "application/json"
                assert response.json()["error"]["code"] == "not_ready"
            ready = client.get("/ready")
            assert ready.status_code == 503
            assert "spotify_clean.sqlite3" in ready.json()["error"]["message"]
            assert client.get("/health").status_code == 200, "the process still serves"
        assert server.process.poll() is None
        assert "Traceback" not in server.read_stderr()
    finally:
        assert server.stop() == 0


def _replace_workers(server: ServerProcess) -> None:
    """Kill every worker started so far and wait until the supervisor has replaced them."""
    started = [int(str(line["pid"])) for line in server.events("worker started")]
    assert len(started) == 2, started
    for pid in started:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while len(server.events("worker cannot open the snapshot")) < 2:
        assert server.process.poll() is None, server.read_stderr()
        assert time.monotonic() < deadline, "no replacement workers"
        time.sleep(0.1)


@pytest.mark.parametrize("change", ["truncated", "rebuilt"])
def test_workers_started_after_the_snapshot_changed_answer_503_and_serve_exits_0(
    built_snapshot: Path, tmp_path: Path, change: str
) -> None:
    """A worker starting late or replacing one that died meets changed files.

    It must answer like the workers that opened them before (503 `not_ready`,
    /ready 503, /health 200 with the snapshot `serve` opened), never exit with
    uvicorn's start-up failure, which stops the supervisor and `serve` with 1.
    """
    directory = copy_snapshot(built_snapshot, tmp_path / "snapshot")
    (isrc,) = _isrcs(directory, 1)
    server = start_server(directory, "--rate", "0", "--workers", "2")
    try:
        server.wait_for(lambda line: len(server.events("worker started")) == 2, timeout=30)
        with httpx.Client(base_url=server.url, timeout=10) as client:
            health = client.get("/health").json()
            main = directory / "spotify_clean.sqlite3"
            if change == "truncated":
                with main.open("r+b") as handle:
                    handle.truncate(8192)
            else:  # a newer file, prepared again: another snapshot id
                os.utime(main, ns=(time.time_ns(), time.time_ns()))
                build(directory, reporter=Reporter(quiet=True))
            _replace_workers(server)
            for _ in range(6):  # both workers, whichever accepts
                lookup = client.get(f"/lookup/isrc/{isrc}")
                assert lookup.status_code == 503, lookup.text
                assert lookup.json()["error"]["code"] == "not_ready"
                ready = client.get("/ready")
                assert ready.status_code == 503
                assert ready.json()["snapshot_id"] == health["snapshot_id"]
                expected = "changed since the last build" if change == "truncated" else "rebuilt"
                assert expected in ready.json()["error"]["message"]
                assert client.get("/health").json() == health
                assert client.get("/no/such/route").status_code == 404
        assert server.process.poll() is None
    finally:
        status = server.stop()
    assert status == 0, server.read_stderr()
    assert "Traceback" not in server.read_stderr()
