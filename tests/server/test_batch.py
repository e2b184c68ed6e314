"""`POST /batch/lookup`: accounting, limits, and every way a body can be wrong.

The shared server runs with `--max-batch-items 20 --max-body-bytes 4096`.
"""

from __future__ import annotations

import select
import socket
import time
from pathlib import Path

import httpx
import orjson
import pytest

from snapshot_api import Snapshot
from snapshot_api.identifiers import Kind
from snapshot_api.server.openapi.parts import rejection_reason
from tests.support.handmade import ALBUM, ARTIST, LONELY_ISRC, SHARED_ISRC, TRACK
from tests.support.server_process import ServerProcess
from tests.test_identifiers import MALFORMED_URLS

MAX_ITEMS = 20
MAX_BODY = 4096
SECTIONS = ("isrcs", "upcs", "tracks", "albums", "artists", "audio_features")
NOTHING: dict[str, list[str]] = {key: [] for key in SECTIONS}
TRACK2_URL = f"https://open.spotify.com/track/{TRACK[2]}?si=abc"


@pytest.fixture(scope="module")
def library(hand_snapshot: Path) -> Snapshot:
    return Snapshot.open(hand_snapshot)


def post(client: httpx.Client, body: object) -> httpx.Response:
    return client.post(
        "/batch/lookup", content=orjson.dumps(body), headers={"content-type": "application/json"}
    )


def error_code(response: httpx.Response) -> str:
    assert response.headers["content-type"] == "application/json"
    return str(response.json()["error"]["code"])


def test_every_item_is_answered_exactly_once(client: httpx.Client, library: Snapshot) -> None:
    request = {
        "isrcs": [SHARED_ISRC, "us-rc1-76-07839", "ZZ0000000000", "nope", SHARED_ISRC],
        "upcs": ["0012345678905", "00000000", "12AB5"],
        "tracks": [
            TRACK[1],
            f"https://open.spotify.com/track/{TRACK[2]}?si=abc",
            "Missing0xxxxxxxxxxxxxx",
        ],
        "albums": [f"spotify:album:{ALBUM[3]}", f"spotify:track:{TRACK[1]}"],
        "artists": [ARTIST[1], ARTIST[1]],
        # features; a null response and a track without a row; an album URI
        "audio_features": [
            f"spotify:track:{TRACK[1]}",
            TRACK[2],
            TRACK[4],
            f"spotify:album:{ALBUM[1]}",
        ],
    }
    response = post(client, request)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {*SECTIONS, "not_found", "invalid", "invalid_reasons"}
    assert set(body["not_found"]) == set(SECTIONS) == set(body["invalid"])
    assert set(body["invalid_reasons"]) == set(SECTIONS)

    assert body["isrcs"] == {
        SHARED_ISRC: library.lookup_isrcs([SHARED_ISRC])[SHARED_ISRC],
        "us-rc1-76-07839": library.lookup_isrcs([SHARED_ISRC])[SHARED_ISRC],
    }
    assert body["upcs"] == library.lookup_upcs(["0012345678905"])
    assert body["tracks"] == library.tracks(
        [TRACK[1], f"https://open.spotify.com/track/{TRACK[2]}?si=abc"]
    )
    assert body["albums"] == library.albums([f"spotify:album:{ALBUM[3]}"])
    assert body["artists"] == library.artists([ARTIST[1]])
    assert body["audio_features"] == library.audio_features([f"spotify:track:{TRACK[1]}"])
    assert body["audio_features"][f"spotify:track:{TRACK[1]}"]["id"] == TRACK[1]
    assert body["not_found"] == {
        "isrcs": ["ZZ0000000000"],
        "upcs": ["00000000"],
        "tracks": ["Missing0xxxxxxxxxxxxxx"],
        "albums": [],
        "artists": [],
        "audio_features": [TRACK[2], TRACK[4]],
    }
    assert body["invalid"] == {
        "isrcs": ["nope"],
        "upcs": ["12AB5"],
        "tracks": [],
        "albums": [f"spotify:track:{TRACK[1]}"],
        "artists": [],
        "audio_features": [f"spotify:album:{ALBUM[1]}"],
    }
    for key in SECTIONS:
        asked = list(dict.fromkeys(request[key]))
        answered = [*body[key], *body["not_found"][key], *body["invalid"][key]]
        assert sorted(answered) == sorted(asked), key
        assert list(body["invalid_reasons"][key]) == body["invalid"][key], key
        for value, reason in body["invalid_reasons"][key].items():
            kind = next(k for k in Kind if k.batch_key == key)
            assert reason == rejection_reason(kind, value)


def test_missing_keys_are_answered_as_empty_sections(client: httpx.Client) -> None:
    body = post(client, {"artists": [ARTIST[2]]}).json()
    assert list(body["artists"]) == [ARTIST[2]]
    assert body["isrcs"] == {} and body["tracks"] == {}
    assert body["not_found"] == NOTHING
    assert body["invalid"] == NOTHING
    assert body["invalid_reasons"] == {key: {} for key in SECTIONS}


@pytest.mark.parametrize("value", MALFORMED_URLS)
def test_a_malformed_url_is_one_invalid_item_not_a_failed_batch(
    client: httpx.Client, value: str
) -> None:
    response = post(client, {"tracks": [value, TRACK[1]], "albums": [value]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body["tracks"]) == [TRACK[1]]
    assert body["invalid"]["tracks"] == [value] == body["invalid"]["albums"]
    assert body["invalid_reasons"]["tracks"] == {value: rejection_reason(Kind.TRACK, value)}


def test_duplicates_count_once_for_the_item_limit(client: httpx.Client) -> None:
    many_copies = {"isrcs": [LONELY_ISRC] * 100, "tracks": [TRACK[1]] * 50}
    assert len(orjson.dumps(many_copies)) < MAX_BODY
    response = post(client, many_copies)
    assert response.status_code == 200
    assert list(response.json()["isrcs"]) == [LONELY_ISRC]


def test_item_limit_counts_distinct_items_over_all_kinds(client: httpx.Client) -> None:
    at_limit = {"isrcs": [f"ZZ000000{n:04d}" for n in range(10)],
                "upcs": [f"{n:08d}" for n in range(10)]}  # fmt: skip
    response = post(client, at_limit)
    assert response.status_code == 200
    assert len(response.json()["not_found"]["isrcs"]) == 10
    over = {**at_limit, "artists": [ARTIST[1]]}
    response = post(client, over)
    assert response.status_code == 400
    assert error_code(response) == "batch_too_large"
    assert response.json()["error"]["limit"] == MAX_ITEMS


@pytest.mark.parametrize(
    ("body", "code", "needle"),
    [
        ({}, "empty_batch", "no items"),
        ({"isrcs": []}, "empty_batch", "no items"),
        ([], "invalid_body", "JSON object"),
        ("isrcs", "invalid_body", "JSON object"),
        (None, "invalid_body", "JSON object"),
        ({"isrc": ["x"]}, "invalid_body", "'isrc'"),
        ({"isrcs": ["x"], "colour": ["red"], "size": 1}, "invalid_body", "'colour'"),
        ({"isrcs": "USRC17607839"}, "invalid_body", "'isrcs' must be a list"),
        ({"isrcs": None}, "invalid_body", "'isrcs' must be a list"),
        ({"isrcs": {"a": 1}}, "invalid_body", "'isrcs' must be a list"),
        ({"isrcs": ["USRC17607839", 5]}, "invalid_body", "isrcs[1]"),
        ({"tracks": [["nested"]]}, "invalid_body", "tracks[0]"),
        ({"albums": [None]}, "invalid_body", "albums[0]"),
        ({"artists": [True]}, "invalid_body", "artists[0]"),
    ],
)
def test_bodies_that_are_not_objects_of_lists_of_strings_are_400(
    client: httpx.Client, body: object, code: str, needle: str
) -> None:
    response = post(client, body)
    assert response.status_code == 400
    assert error_code(response) == code
    assert needle in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b'{"isrcs": [}', b"\xff\xfe", b'{"isrcs": ["a"]} trailing', b"NaN"],
)
def test_malformed_json_is_400(client: httpx.Client, raw: bytes) -> None:
    response = client.post(
        "/batch/lookup", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert error_code(response) == "invalid_json"


def test_deeply_nested_json_is_400_not_a_crash(client: httpx.Client) -> None:
    raw = b'{"isrcs": ' + b"[" * 2000 + b"]" * 2000 + b"}"
    assert len(raw) < MAX_BODY
    response = client.post(
        "/batch/lookup", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert error_code(response) in ("invalid_json", "invalid_body")
    assert client.get("/health").status_code == 200


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_wrong_content_type_is_415(client: httpx.Client, content_type: str | None) -> None:
    headers = {} if content_type is None else {"content-type": content_type}
    response = client.post("/batch/lookup", content=b'{"isrcs": ["x"]}', headers=headers)
    assert response.status_code == 415
    assert error_code(response) == "unsupported_media_type"


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", "Application/JSON", "application/vnd.api+json"],
)
def test_json_content_types_with_parameters_are_accepted(
    client: httpx.Client, content_type: str
) -> None:
    response = client.post(
        "/batch/lookup",
        content=b'{"isrcs": ["ZZ0000000000"]}',
        headers={"content-type": content_type},
    )
    assert response.status_code == 200


def test_declared_oversized_body_is_413_before_it_is_sent(client: httpx.Client) -> None:
    body = orjson.dumps({"isrcs": ["ZZ0000000000"] * 400})
    assert len(body) > MAX_BODY
    response = post(client, {"isrcs": ["ZZ0000000000"] * 400})
    assert response.status_code == 413
    assert error_code(response) == "body_too_large"
    assert response.json()["error"]["limit"] == MAX_BODY


def _read_response(sock: socket.socket, deadline: float) -> bytes:
    data = b""
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
        if b"\r\n\r\n" in data:
            head, _, rest = data.partition(b"\r\n\r\n")
            length = next(
                (int(line.split(b":")[1]) for line in head.split(b"\r\n")
                 if line.lower().startswith(b"content-length:")), None)  # fmt: skip
            if length is not None and len(rest) >= length:
                break
    return data


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_gigabyte_body_is_cut_off_at_the_limit(server: ServerProcess, chunked: bool) -> None:
    """Send up to 1 GB; the server must answer 413 and close long before we are done."""
    total = 1 << 30
    headers = [b"POST /batch/lookup HTTP/1.1", b"Host: test", b"Content-Type: application/json"]
    headers.append(b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % total)
    chunk = b"[" * 65536
    framed = (b"%x\r\n" % len(chunk) + chunk + b"\r\n") if chunked else chunk
    sent = 0
    answer = b""
    deadline = time.monotonic() + 30
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"\r\n".join(headers) + b"\r\n\r\n")
        sock.setblocking(False)
        while sent < total and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 1.0)
            if readable:
                break
            if writable:
                try:
                    sent += sock.send(framed)
                except (BrokenPipeError, ConnectionResetError):
                    break
                except BlockingIOError:
                    continue
        sock.setblocking(True)
        sock.settimeout(5)
        answer = _read_response(sock, time.monotonic() + 5)
    assert sent < 64 * MAX_BODY + (16 << 20), f"server kept reading: {sent} bytes sent"
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"body_too_large" in answer
    assert b"connection: close" in answer.lower()


def test_a_stalled_body_holds_nothing_up(server: ServerProcess, client: httpx.Client) -> None:
    """A client that sends half a body and stops neither blocks others nor holds the database."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as stalled:
        stalled.sendall(
            b"POST /batch/lookup HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n" + b'{"isrcs": ["USRC'
        )
        for _ in range(5):
            assert client.get(f"/lookup/isrc/{SHARED_ISRC}").status_code == 200
            assert post(client, {"tracks": [TRACK[1]]}).status_code == 200
        stalled.sendall(b'17607839"]}'.ljust(100 - len(b'{"isrcs": ["USRC'), b" "))
        answer = _read_response(stalled, time.monotonic() + 10)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert SHARED_ISRC.encode() in answer


def test_expect_100_continue_is_answered_before_the_body(server: ServerProcess) -> None:
    """An interim answer leaves at once (writes are only coalesced within one loop turn)."""
    body = b'{"isrcs": ["' + SHARED_ISRC.encode() + b'"]}'
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /batch/lookup HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        interim = sock.recv(1024)
        assert interim.startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(body)
        answer = _read_response(sock, time.monotonic() + 10)
    assert answer.startswith(b"HTTP/1.1 200")


def test_a_client_that_leaves_mid_body_is_logged_not_crashed(
    server: ServerProcess, client: httpx.Client
) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /batch/lookup HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"X-Request-ID: leaves-early\r\nContent-Length: 100\r\n\r\n" + b'{"isrcs": ['
        )
        time.sleep(0.2)
    line = server.wait_for(lambda entry: entry.get("request_id") == "leaves-early")
    assert line["status"] == 499
    assert client.get("/health").status_code == 200
    assert not [entry for entry in server.lines if entry.get("event") == "unhandled error"]
