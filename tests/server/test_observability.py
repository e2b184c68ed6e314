"""Request ids, access log lines, the start-up line, metrics, and JSON for the worst cases."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import httpx
import orjson
import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from snapshot_api.server.observability import RequestContextMiddleware
from snapshot_api.server.routing import RouteTable
from tests.support.handmade import SHARED_ISRC, TRACK
from tests.support.server_process import ServerProcess


def test_request_id_is_returned_as_sent_or_generated(client: httpx.Client) -> None:
    sent = client.get("/health", headers={"x-request-id": "abc-123.XYZ"})
    assert sent.headers["x-request-id"] == "abc-123.XYZ"
    generated = {client.get("/health").headers["x-request-id"] for _ in range(3)}
    assert len(generated) == 3
    assert all(len(value) == 32 for value in generated)
    too_long = client.get("/health", headers={"x-request-id": "x" * 500})
    assert too_long.headers["x-request-id"] != "x" * 500
    assert (
        client.get("/nothing", headers={"x-request-id": "on-404"}).headers["x-request-id"]
        == "on-404"
    )


def test_one_access_line_per_request(server: ServerProcess, client: httpx.Client) -> None:
    client.get(f"/lookup/isrc/{SHARED_ISRC}", headers={"x-request-id": "access-line-1"})
    line = server.wait_for(lambda entry: entry.get("request_id") == "access-line-1")
    assert line["event"] == "request"
    assert line["method"] == "GET"
    assert line["route"] == "/lookup/isrc/{isrc}"
    assert line["path"] == f"/lookup/isrc/{SHARED_ISRC}"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["client"] == "127.0.0.1"
    assert line["level"] == "info"
    assert "timestamp" in line
    matching = [e for e in server.lines if e.get("request_id") == "access-line-1"]
    assert len(matching) == 1


def test_short_circuited_answers_are_logged_with_their_route(
    server: ServerProcess, client: httpx.Client
) -> None:
    path = f"/lookup/track/{TRACK[1]}"
    etag = client.get(path).headers["etag"]
    client.get(path, headers={"if-none-match": etag, "x-request-id": "not-modified-1"})
    client.get("/no/such/route", headers={"x-request-id": "unmatched-1"})
    client.options("/batch/lookup", headers={"x-request-id": "preflight-1"})
    not_modified = server.wait_for(lambda e: e.get("request_id") == "not-modified-1")
    assert (not_modified["status"], not_modified["route"]) == (304, "/lookup/track/{id}")
    unmatched = server.wait_for(lambda e: e.get("request_id") == "unmatched-1")
    assert (unmatched["status"], unmatched["route"]) == (404, "unmatched")
    preflight = server.wait_for(lambda e: e.get("request_id") == "preflight-1")
    assert (preflight["status"], preflight["route"]) == (204, "/batch/lookup")


def test_start_up_line_names_the_snapshot(server: ServerProcess, client: httpx.Client) -> None:
    (serving,) = server.events("serving")
    health = client.get("/health").json()
    assert serving["snapshot_id"] == health["snapshot_id"]
    assert serving["counts"] == health["counts"]
    assert serving["port"] == server.port
    assert serving["workers"] == 1
    assert all("unparsed" not in line for line in server.lines), "every log line is JSON"


def metric_values(text: str) -> dict[str, float]:
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def test_metrics_count_requests_lookups_and_batches(client: httpx.Client) -> None:
    before = metric_values(client.get("/metrics").text)
    client.get(f"/lookup/isrc/{SHARED_ISRC}")
    client.get("/lookup/isrc/ZZ0000000000")
    client.get("/lookup/isrc/bad")
    client.post("/batch/lookup", json={"isrcs": [SHARED_ISRC, "nope"], "tracks": [TRACK[1]]})
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = metric_values(response.text)

    def delta(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    route = 'http_requests_total{method="GET",route="/lookup/isrc/{isrc}",status="%d"}'
    assert delta(route % 200) == 2
    assert delta(route % 400) == 1
    assert delta('snapshot_lookups_total{kind="isrc",result="hit"}') == 2
    assert delta('snapshot_lookups_total{kind="isrc",result="miss"}') == 1
    assert delta('snapshot_lookups_total{kind="isrc",result="invalid"}') == 2
    assert delta('snapshot_lookups_total{kind="track",result="hit"}') == 1
    assert delta("batch_lookup_items_count") == 1
    assert delta("batch_lookup_items_sum") == 3
    duration = 'http_request_duration_seconds_count{method="GET",route="/lookup/isrc/{isrc}"}'
    assert delta(duration) == 3
    info = [name for name in after if name.startswith("snapshot_info{")]
    assert len(info) == 1
    assert client.get("/health").json()["snapshot_id"] in info[0]


def test_unusual_methods_do_not_become_metric_labels(client: httpx.Client) -> None:
    assert client.request("PROPFIND", "/health").status_code == 405
    text = client.get("/metrics").text
    assert "PROPFIND" not in text
    assert 'method="other"' in text


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"FROBNICATE /health HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /health HTTP/1.1\r\nBad Header\r\n\r\n",
    ],
    ids=["unknown-method", "malformed-header"],
)
def test_requests_that_are_not_http_get_a_json_400(
    server: ServerProcess, request_bytes: bytes
) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(request_bytes)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b"content-type: application/json" in head.lower()
    assert orjson.loads(body)["error"]["code"] == "invalid_request"


# --- the last-resort 500, on a real uvicorn in a thread ---------------------------------


async def _broken(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        return
    raise RuntimeError("secret internal detail")


@pytest.fixture
def broken_server() -> Iterator[str]:
    app = RequestContextMiddleware(_broken, routes=RouteTable([]), headers=[(b"x-edge", b"1")])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])))
    thread.start()
    try:
        while not server.started:
            threading.Event().wait(0.02)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def test_an_unexpected_exception_is_a_json_500_without_details(broken_server: str) -> None:
    response = httpx.get(broken_server + "/anything", headers={"x-request-id": "boom-1"})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "secret" not in response.text and "Traceback" not in response.text
    assert response.headers["x-request-id"] == "boom-1"
    assert response.headers["x-edge"] == "1"
