"""Hostile clients: huge headers, dribbled headers, connection floods.

Each limit is tried on a real server over raw sockets, as an attacker would;
every refusal is a JSON error with `connection: close`, and the process keeps
serving ordinary clients meanwhile.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from snapshot_api.server.protocol import MAX_HEADER_BYTES
from tests.support.server_process import ServerProcess, start_server


@pytest.fixture(scope="module")
def limited(hand_snapshot: Path) -> Iterator[ServerProcess]:
    server = start_server(
        hand_snapshot, "--rate", "0", "--header-timeout", "1.5", "--max-connections", "8"
    )
    yield server
    server.stop()


def _connect(server: ServerProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
    return sock


def _answer(sock: socket.socket) -> tuple[int, dict[str, str], dict[str, object]]:
    """Status, headers and JSON body of the one answer before the server closes."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, orjson.loads(body)


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _send_until_refused(sock: socket.socket, total: int) -> int:
    """Send up to `total` header bytes that never end; how many the server took."""
    sock.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\nx-filler: ")
    sent = 0
    chunk = b"a" * 65536
    try:
        while sent < total:
            sock.sendall(chunk)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    return sent


ENDLESS = 64 << 20
"""Bytes each attacking connection tries to send (the attack measured sent 128 MiB)."""


def test_endless_headers_are_cut_off_and_memory_stays_flat(limited: ServerProcess) -> None:
    before = _rss_kib(limited.process.pid)
    sockets = [_connect(limited) for _ in range(6)]
    try:
        taken = [_send_until_refused(sock, ENDLESS) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
    assert all(sent < ENDLESS for sent in taken), f"the server kept reading: {taken}"
    grown_mib = (_rss_kib(limited.process.pid) - before) / 1024
    assert grown_mib < 16, f"{grown_mib:.1f} MiB more after 6 endless headers"
    assert httpx.get(limited.url + "/health").status_code == 200


def test_headers_over_the_cap_are_a_json_431(limited: ServerProcess) -> None:
    with _connect(limited) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\nx-filler: " + b"a" * MAX_HEADER_BYTES)
        status, headers, body = _answer(sock)  # nothing more sent: the answer is not reset
    assert status == 431
    assert headers["connection"] == "close"
    assert headers["content-type"] == "application/json"
    assert body["error"]["code"] == "headers_too_large"  # type: ignore[index]


def test_headers_just_under_the_cap_are_served(limited: ServerProcess) -> None:
    filler = "a" * (MAX_HEADER_BYTES - 200)
    response = httpx.get(limited.url + "/health", headers={"x-filler": filler})
    assert response.status_code == 200


def test_dribbled_headers_get_408_after_the_header_timeout(limited: ServerProcess) -> None:
    with _connect(limited) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\n")
        sent = 0
        # one byte every 0.25 s: uvicorn's keep-alive timer, restarted by each, never fires
        while not select.select([sock], [], [], 0.25)[0]:
            sock.sendall(b"x")
            sent += 1
            assert sent < 40, "still open after 10 s"
        status, headers, body = _answer(sock)
    assert status == 408
    assert headers["connection"] == "close"
    assert body["error"]["code"] == "request_timeout"  # type: ignore[index]


def test_an_idle_connection_is_closed_after_the_header_timeout(limited: ServerProcess) -> None:
    with _connect(limited) as sock:
        status, _headers, body = _answer(sock)  # nothing sent at all
    assert status == 408 and body["error"]["code"] == "request_timeout"  # type: ignore[index]


def test_connections_beyond_the_limit_get_503_over_capacity(limited: ServerProcess) -> None:
    held = [_connect(limited) for _ in range(8)]
    try:
        time.sleep(0.2)  # accepted by the server
        with _connect(limited) as extra:
            status, headers, body = _answer(extra)
        assert status == 503
        assert headers["connection"] == "close"
        assert body["error"]["code"] == "over_capacity"  # type: ignore[index]
        assert "8 connections" in body["error"]["message"]  # type: ignore[index]
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + 5
    while True:  # the held ones are gone: ordinary clients are served again
        try:
            if httpx.get(limited.url + "/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline
        time.sleep(0.05)
