"""Real servers for the HTTP tests: `snapshot-api serve` subprocesses on free loopback ports.

Each server is started the way a user starts it (`python -m snapshot_api serve
DIR --port 0 ...`); the port it got is read from its JSON start-up line, and
the fixture waits for `/health` before handing it out. Servers are shared per
session or module; tests that stop or damage a server start their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.redis_server import RedisServer
from tests.support.server_process import SHARED_SERVER_SETTINGS, ServerProcess, start_server


@pytest.fixture(scope="session")
def server(hand_snapshot: Path) -> Iterator[ServerProcess]:
    """The shared server: one worker, `SHARED_SERVER_SETTINGS`."""
    settings = SHARED_SERVER_SETTINGS
    process = start_server(
        hand_snapshot,
        "--rate",
        str(settings.rate),
        "--max-batch-items",
        str(settings.max_batch_items),
        "--max-body-bytes",
        str(settings.max_body_bytes),
    )
    yield process
    process.stop()


@pytest.fixture
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        yield http


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real `redis-server` for the tests that only read and write buckets in it."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A `redis-server` of this test alone, which it may kill, stall and restart."""
    server = RedisServer(tmp_path)
    yield server
    server.stop()
