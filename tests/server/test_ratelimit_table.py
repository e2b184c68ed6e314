"""The bucket table: aiolimiter's arithmetic, eviction, shared memory across processes."""

from __future__ import annotations

import asyncio
import itertools
import math
import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest
from aiolimiter import AsyncLimiter
from hypothesis import given, settings
from hypothesis import strategies as st

from snapshot_api.config import ServeSettings
from snapshot_api.server.ratelimit import STATE_ENV, create_shared_state, open_table
from snapshot_api.server.ratelimit.redis_store import RedisBuckets
from snapshot_api.server.ratelimit.table import (
    FILE_PREFIX,
    FILE_SUFFIX,
    WAYS,
    BucketTable,
    TableMismatch,
)
from tests.support.redis_server import RedisServer


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock the test moves, so AsyncLimiter sees chosen times."""

    now = 0.0

    def time(self) -> float:
        return self.now


def run_virtual(coroutine: Coroutine[Any, Any, None]) -> None:
    loop = VirtualClockLoop()
    try:
        loop.run_until_complete(coroutine)
    finally:
        loop.close()


# Powers of two and eighths of a second keep every float exact, so the two
# implementations can be compared decision by decision with no rounding slack.
STEPS = st.lists(
    st.tuples(st.integers(min_value=0, max_value=64), st.integers(min_value=1, max_value=40)),
    min_size=1,
    max_size=60,
)


_keys = itertools.count(1)


@pytest.fixture(scope="module", params=["table", "redis"])
def store_kind(request: pytest.FixtureRequest) -> str:
    """Every store, the same oracle: the shared-memory table and the Redis script."""
    if request.param == "redis":
        request.getfixturevalue("redis_server")
    return str(request.param)


def run_store(
    kind: str,
    request: pytest.FixtureRequest,
    rate: float,
    burst: int,
    steps: list[tuple[float, int]],
) -> list[tuple[bool, float]]:
    """Feed `steps` (virtual time, cost) to a fresh bucket of the store `kind`."""
    if kind == "table":
        table = BucketTable.private(rate, burst, capacity=8)
        try:
            return [table.take(42, cost, now=now) for now, cost in steps]
        finally:
            table.close()
    redis: RedisServer = request.getfixturevalue("redis_server")
    key = next(_keys)

    async def drive() -> list[tuple[bool, float]]:
        buckets = RedisBuckets(redis.url, rate, burst, timeout=5.0)
        try:
            results = []
            for now, cost in steps:
                result = await buckets.take(key, cost, now=now)
                assert result is not None, buckets.status()
                results.append(result)
            return results
        finally:
            await buckets.aclose()

    return asyncio.run(drive())


@settings(max_examples=200, deadline=None)
@given(
    rate=st.sampled_from([0.5, 1.0, 2.0, 8.0, 64.0]),
    burst=st.integers(min_value=1, max_value=40),
    steps=STEPS,
)
def test_admits_exactly_what_aiolimiter_admits(
    store_kind: str,
    request: pytest.FixtureRequest,
    rate: float,
    burst: int,
    steps: list[tuple[int, int]],
) -> None:
    """Each store is AsyncLimiter's leaky bucket: the same decisions at the same times."""
    expected: list[tuple[bool, int]] = []
    timed: list[tuple[float, int]] = []

    async def oracle() -> None:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, VirtualClockLoop)
        limiter = AsyncLimiter(max_rate=burst, time_period=burst / rate)
        for eighths, wanted in steps:
            loop.now += eighths / 8
            cost = min(wanted, burst)
            admitted = limiter.has_capacity(cost)
            if admitted:
                await limiter.acquire(cost)
            # The whole tokens left are the largest capacity AsyncLimiter still has.
            whole = max(n for n in range(burst + 1) if n == 0 or limiter.has_capacity(n))
            expected.append((admitted, whole))
            timed.append((loop.now, cost))

    run_virtual(oracle())
    got = run_store(store_kind, request, rate, burst, timed)
    assert [(admitted, math.floor(tokens)) for admitted, tokens in got] == expected


def test_refused_request_spends_nothing_and_gets_its_refund() -> None:
    table = BucketTable.private(rate=1.0, burst=10, capacity=8)
    assert table.take(7, 8, now=0.0) == (True, 2.0)
    assert table.take(7, 5, refund=1.0, now=0.0) == (False, 3.0)
    assert table.take(7, 3, now=0.0) == (True, 0.0)
    assert table.take(7, 1, now=0.5) == (False, 0.5)
    assert table.take(7, 1, now=1.0) == (True, 0.0)
    assert table.take(7, 1, now=1000.0) == (True, 9.0), "a bucket never holds more than the burst"


def test_keys_in_one_set_never_share_a_bucket() -> None:
    table = BucketTable.private(rate=1.0, burst=3, capacity=WAYS)  # one set: all collide
    keys = [1, 2, 1 << 32, (1 << 32) + 1, (1 << 63) + 5, 77, 78, (1 << 64) - 1]
    for key in keys:
        assert table.take(key, 3, now=0.0) == (True, 0.0)
    for key in keys:
        assert table.take(key, 1, now=0.0)[0] is False


def test_full_set_forgets_the_bucket_that_is_soonest_full() -> None:
    table = BucketTable.private(rate=1.0, burst=10, capacity=WAYS)  # one set
    for key in range(1, WAYS + 1):
        table.take(key, key, now=0.0)  # key k is full again at t = k
    assert table.stats(now=0.0).tracked == WAYS
    table.take(100, 1, now=0.0)  # evicts key 1, the one nearest to full
    assert table.take(WAYS, 10 - WAYS + 1, now=0.0)[0] is False, "key 8 is remembered"
    assert table.take(2, 9, now=0.0)[0] is False, "key 2 is remembered"
    assert table.take(1, 10, now=0.0)[0] is True, "key 1 was forgotten: a fresh bucket"


def test_idle_clients_are_forgotten_for_free() -> None:
    table = BucketTable.private(rate=1.0, burst=10, capacity=WAYS)
    for key in range(1, WAYS + 1):
        table.take(key, key, now=0.0)
    stats = table.stats(now=5.0)
    assert (stats.capacity, stats.occupied) == (WAYS, WAYS)
    assert stats.tracked == WAYS - 5  # keys 1..5 are full again: idle
    # Newcomers take the idle slots; the clients still refilling keep their buckets.
    for key in range(101, 106):
        table.take(key, 1, now=5.0)
    for key in range(6, WAYS + 1):
        assert table.take(key, 10 - key + 5 + 1, now=5.0)[0] is False
    assert table.stats(now=1000.0).tracked == 0


def test_capacity_is_the_client_cap_rounded_to_whole_sets() -> None:
    assert BucketTable.private(1.0, 1, capacity=100_000).capacity == 100_000
    assert BucketTable.private(1.0, 1, capacity=5).capacity == WAYS


def _hammer(path: str, rate: float, burst: int, capacity: int, rounds: int, start: float) -> int:
    table = BucketTable.attach(Path(path), rate, burst, capacity)
    time.sleep(max(0.0, start - time.time()))  # both processes start spending together
    admitted = sum(table.take(12345, 1)[0] for _ in range(rounds))
    table.close()
    return admitted


def test_processes_share_one_bucket_without_losing_updates(tmp_path: Path) -> None:
    burst, rounds = 150_000, 100_000
    table = BucketTable.create(rate=0.001, burst=burst, capacity=64, directory=tmp_path)
    try:
        context = multiprocessing.get_context("spawn")
        with context.Pool(2) as pool:
            start = time.time() + 1.5
            arguments = (str(table.path), 0.001, burst, 64, rounds, start)
            counts = pool.starmap(_hammer, [arguments] * 2)
    finally:
        table.unlink()
        table.close()
    assert all(count > 0 for count in counts)
    assert sum(counts) == burst, "two processes together get exactly one burst"


def test_attach_refuses_other_settings_and_other_files(tmp_path: Path) -> None:
    table = BucketTable.create(rate=5.0, burst=10, capacity=100, directory=tmp_path)
    assert table.path is not None
    try:
        BucketTable.attach(table.path, 5.0, 10, 100).close()
        for rate, burst, capacity in [(6.0, 10, 100), (5.0, 11, 100), (5.0, 10, 1000)]:
            with pytest.raises(TableMismatch, match="other settings"):
                BucketTable.attach(table.path, rate, burst, capacity)
    finally:
        table.unlink()
        table.close()
    not_a_table = tmp_path / "junk"
    not_a_table.write_bytes(b"x" * 200)
    with pytest.raises(TableMismatch):
        BucketTable.attach(not_a_table, 5.0, 10, 100)
    with pytest.raises(TableMismatch, match="cannot open"):
        BucketTable.attach(tmp_path / "missing", 5.0, 10, 100)


def test_several_workers_without_a_shared_table_refuse_to_start() -> None:
    with pytest.raises(RuntimeError, match="create_shared_state"):
        open_table(ServeSettings(workers=2), environ={})
    open_table(ServeSettings(workers=1), environ={}).close()


def test_shared_state_lives_in_the_environment_until_closed() -> None:
    settings = ServeSettings(workers=2, rate=3.0, burst=7, rate_limit_clients=50)
    assert STATE_ENV not in os.environ
    with create_shared_state(settings) as state:
        assert state.table is not None and state.table.path is not None
        path = state.table.path
        assert os.environ[STATE_ENV] == str(path)
        worker_table = open_table(settings)
        assert worker_table.take(9, 7)[0] is True
        assert state.table.take(9, 1)[0] is False, "the worker's spending is seen by the parent"
        worker_table.close()
    assert STATE_ENV not in os.environ
    assert not path.exists()


@pytest.mark.parametrize("settings", [ServeSettings(rate=0.0, workers=4), ServeSettings()])
def test_no_shared_state_when_limiting_is_off_or_one_worker(settings: ServeSettings) -> None:
    with create_shared_state(settings) as state:
        assert state.table is None
        assert STATE_ENV not in os.environ


def test_tables_of_killed_servers_are_removed_by_the_next(tmp_path: Path) -> None:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)  # fmt: skip
    dead = tmp_path / f"{FILE_PREFIX}{finished.stdout.strip()}-abc{FILE_SUFFIX}"
    alive = tmp_path / f"{FILE_PREFIX}{os.getppid()}-def{FILE_SUFFIX}"
    unrelated = tmp_path / f"{FILE_PREFIX}notapid{FILE_SUFFIX}"
    for path in (dead, alive, unrelated):
        path.write_bytes(b"")
    table = BucketTable.create(rate=1.0, burst=1, capacity=8, directory=tmp_path)
    try:
        assert not dead.exists()
        assert alive.exists() and unrelated.exists()
        assert table.path is not None and table.path.name.startswith(f"{FILE_PREFIX}{os.getpid()}-")
    finally:
        table.unlink()
        table.close()
