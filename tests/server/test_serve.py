"""`snapshot-api serve` as a process: arguments, refusals, SIGTERM, /ready, several workers."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvloop

from snapshot_api.server.runner import listen_socket
from tests.support.fixtures import copy_snapshot, run_command
from tests.support.handmade import SHARED_ISRC, TRACK, write_dump
from tests.support.server_process import start_server


def serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `serve` expecting it to refuse quickly."""
    return run_command("serve", *args, env=env, timeout=60)


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--port", "http"], {}),
        (["--port", "70000"], {}),
        (["--workers", "0"], {}),
        (["--max-body-bytes", "-1"], {}),
        (["--trusted-proxy", "not-a-network"], {}),
        (["--log-level", "loud"], {}),
        (["--mmap", "sometimes"], {}),
        ([], {"SNAPSHOT_API_MMAP": "yes"}),
        (["--no-such-option"], {}),
        ([], {"SNAPSHOT_API_PORT": "eighty"}),
        ([], {"SNAPSHOT_API_MAX_BATCH_ITEMS": "0"}),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    hand_snapshot: Path, args: list[str], env: dict[str, str]
) -> None:
    done = serve(str(hand_snapshot), *args, env=env)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr


def test_an_unprepared_directory_is_refused_with_the_build_hint(tmp_path: Path) -> None:
    write_dump(tmp_path)
    done = serve(str(tmp_path), "--port", "0")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"snapshot-api build {tmp_path}" in lines[0]


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    done = serve(str(tmp_path / "nothing"), "--port", "0")
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_a_port_in_use_is_refused(hand_snapshot: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = serve(str(hand_snapshot), "--port", str(taken.getsockname()[1]))
    assert done.returncode == 1
    assert "cannot listen" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_environment_variables_configure_the_server(hand_snapshot: Path) -> None:
    server = start_server(
        hand_snapshot, env={"SNAPSHOT_API_CACHE_MAX_AGE": "5", "SNAPSHOT_API_MAX_BATCH_ITEMS": "1"}
    )
    try:
        lookup = httpx.get(f"{server.url}/lookup/track/{TRACK[1]}")
        assert lookup.headers["cache-control"] == "public, max-age=5"
        batch = httpx.post(f"{server.url}/batch/lookup", json={"isrcs": ["a", "b"]})
        assert batch.status_code == 400
        assert batch.json()["error"]["code"] == "batch_too_large"
    finally:
        assert server.stop() == 0


def _send_partial_batch(port: int) -> tuple[socket.socket, bytes]:
    body = b'{"isrcs": ["' + SHARED_ISRC.encode() + b'"]}'
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    sock.sendall(
        b"POST /batch/lookup HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body) + body[:10]
    )
    return sock, body[10:]


def _read_all(sock: socket.socket) -> bytes:
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    return answer


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_finishes_requests_in_flight_and_exits_0(hand_snapshot: Path, workers: int) -> None:
    server = start_server(hand_snapshot, "--workers", str(workers), "--rate", "0")
    try:
        sock, rest = _send_partial_batch(server.port)
        time.sleep(0.3)  # the request is being read by a worker
        server.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        while len(server.events("Shutting down")) < workers:  # every worker, not just the first
            assert time.monotonic() < deadline, "workers did not start shutting down"
            time.sleep(0.05)
        with pytest.raises(httpx.TransportError):
            httpx.get(server.url + "/health", timeout=2)
        sock.sendall(rest)
        answer = _read_all(sock)
        sock.close()
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        assert SHARED_ISRC.encode() in answer
        assert server.process.wait(40) == 0
        assert "Traceback" not in server.read_stderr()
    finally:
        server.stop(signal.SIGKILL)


def test_ready_turns_503_when_the_main_file_is_removed(hand_snapshot: Path, tmp_path: Path) -> None:
    directory = copy_snapshot(hand_snapshot, tmp_path / "snapshot")
    server = start_server(directory, "--rate", "0")
    try:
        ready = httpx.get(server.url + "/ready")
        assert ready.status_code == 200
        snapshot_id = ready.json()["snapshot_id"]
        (directory / "spotify_clean.sqlite3").unlink()
        not_ready = httpx.get(server.url + "/ready")
        assert not_ready.status_code == 503
        body = not_ready.json()
        assert body["status"] == "not_ready"
        assert body["snapshot_id"] == snapshot_id
        assert body["error"]["code"] == "not_ready"
        assert "spotify_clean.sqlite3" in body["error"]["message"]
        assert not_ready.headers["cache-control"] == "no-store"
        assert httpx.get(server.url + "/health").status_code == 200, "the process still serves"
    finally:
        assert server.stop() == 0


def test_ready_turns_503_when_a_file_is_replaced(hand_snapshot: Path, tmp_path: Path) -> None:
    directory = copy_snapshot(hand_snapshot, tmp_path / "snapshot")
    server = start_server(directory, "--rate", "0")
    try:
        assert httpx.get(server.url + "/ready").status_code == 200
        sidecar = directory / "snapshot-index.sqlite3"
        replacement = tmp_path / "garbage"
        replacement.write_bytes(b"not a database" * 100)
        replacement.replace(sidecar)
        response = httpx.get(server.url + "/ready")
        assert response.status_code == 503
        assert "snapshot-index.sqlite3" in response.json()["error"]["message"]
    finally:
        assert server.stop() == 0


def test_two_workers_share_the_load_and_the_metrics(hand_snapshot: Path) -> None:
    server = start_server(hand_snapshot, "--workers", "2", "--rate", "0")
    try:
        workers = {line["pid"] for line in server.events("worker started")}
        deadline = time.monotonic() + 20
        while len(workers) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
            workers = {line["pid"] for line in server.events("worker started")}
        assert len(workers) == 2
        requests = 60
        for n in range(requests):
            # A new connection each time, so the kernel spreads them over both workers.
            response = httpx.get(
                f"{server.url}/lookup/isrc/{SHARED_ISRC}", headers={"x-request-id": f"w-{n}"}
            )
            assert response.status_code == 200
        served_by = {
            server.wait_for(lambda line, n=n: line.get("request_id") == f"w-{n}")["pid"]
            for n in range(requests)
        }
        assert served_by == workers, "both workers answered"
        for _ in range(4):  # whichever worker answers /metrics, it reports all of them
            text = httpx.get(server.url + "/metrics").text
            line = next(
                line for line in text.splitlines()
                if line.startswith('http_requests_total{method="GET",route="/lookup/isrc/{isrc}"')
            )  # fmt: skip
            assert float(line.rsplit(" ", 1)[1]) == requests
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_accepted_connections_get_tcp_nodelay(loop: str) -> None:
    """The listening socket is made so that asyncio and uvloop set TCP_NODELAY on accepts."""
    nodelay: list[int] = []

    class Record(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            nodelay.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def main() -> None:
        sock = listen_socket("127.0.0.1", 0)
        server = await asyncio.get_running_loop().create_server(Record, sock=sock)
        port = sock.getsockname()[1]
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(100):
            if nodelay:
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()
        await server.wait_closed()

    if loop == "uvloop":
        uvloop.run(main())
    else:
        asyncio.run(main())
    assert nodelay and nodelay[0] != 0


def test_without_a_directory_the_sample_snapshot_is_made_once_and_served(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    first = start_server(None, "--rate", "0", env=env)
    try:
        health = httpx.get(first.url + "/health").json()
        (serving,) = first.events("serving")
        assert serving["directory"].startswith(str(tmp_path / "cache" / "snapshot-api"))
        assert 1000 <= health["counts"]["tracks"] <= 5000
        tracks = httpx.post(first.url + "/batch/lookup", json={"isrcs": ["ZZ0000000000"]}).json()[
            "not_found"
        ]["isrcs"]
        assert tracks == ["ZZ0000000000"]
    finally:
        assert first.stop() == 0
    assert "making the sample" in first.read_stderr()
    again = start_server(None, "--rate", "0", env=env)
    try:
        assert httpx.get(again.url + "/health").json() == health, "same sample"
    finally:
        assert again.stop() == 0
    assert "making the sample" not in again.read_stderr(), "not made twice"


def test_a_file_damaged_in_place_gives_503_not_500(hand_snapshot: Path, tmp_path: Path) -> None:
    directory = copy_snapshot(hand_snapshot, tmp_path / "snapshot")
    server = start_server(directory, "--rate", "0")
    try:
        path = f"/lookup/isrc/{SHARED_ISRC}"
        assert httpx.get(server.url + path).status_code == 200
        main = directory / "spotify_clean.sqlite3"
        with main.open("r+b") as damaged:  # same size, same inode: pages overwritten
            damaged.seek(4096)
            damaged.write(bytes(range(256)) * ((main.stat().st_size - 4096) // 256))
        response = httpx.get(server.url + path, headers={"x-request-id": "damaged-1"})
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "not_ready"
        assert "malformed" not in response.text, "details stay in the log"
        logged = server.wait_for(lambda line: line.get("event") == "snapshot error")
        assert logged["request_id"] == "damaged-1"
        assert httpx.get(server.url + "/ready").status_code == 503
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize("workers", [1, 2])
def test_each_request_is_logged_once(hand_snapshot: Path, workers: int) -> None:
    """One structured access line per request, never uvicorn's plain one beside it."""
    server = start_server(hand_snapshot, "--workers", str(workers), "--rate", "0")
    try:
        with httpx.Client(base_url=server.url) as client:
            for n in range(6):
                client.get(f"/lookup/isrc/{SHARED_ISRC}", headers={"x-request-id": f"once-{n}"})
        server.wait_for(lambda line: line.get("request_id") == "once-5")
    finally:
        server.stop()
    mentioning = [raw for raw in server.raw_lines if b"/lookup/isrc/" in raw]
    assert len(mentioning) == 6, mentioning
    assert all(b'"event":"request"' in raw for raw in mentioning)


def _hammer(port: int, stop: threading.Event, outcomes: list[str]) -> None:
    """New connection per request until the server refuses; each outcome recorded."""
    request = (
        f"GET /lookup/isrc/{SHARED_ISRC} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
    ).encode()
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
                sock.sendall(request)
                answer = _read_all(sock)
        except ConnectionRefusedError:
            outcomes.append("refused")  # the listener is closed: a proxy retries elsewhere
            return
        except OSError as exc:
            outcomes.append(f"reset: {exc!r}")
            continue
        outcomes.append("ok" if answer.startswith(b"HTTP/1.1 200") else f"bad: {answer[:60]!r}")


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_under_load_resets_no_connection(hand_snapshot: Path, workers: int) -> None:
    """Connections waiting in the accept queue at SIGTERM are served, not reset."""
    server = start_server(hand_snapshot, "--workers", str(workers), "--rate", "0")
    stop = threading.Event()
    outcomes: list[str] = []
    threads = [
        threading.Thread(target=_hammer, args=(server.port, stop, outcomes)) for _ in range(24)
    ]
    try:
        for thread in threads:
            thread.start()
        while outcomes.count("ok") < 300:
            time.sleep(0.05)
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(40) == 0
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        server.stop(signal.SIGKILL)
    failures = [outcome for outcome in outcomes if outcome not in ("ok", "refused")]
    assert failures == [], f"{len(failures)} of {len(outcomes)}: {failures[:5]}"
    assert outcomes.count("refused") == len(threads), "every client ends refused, not hung"
