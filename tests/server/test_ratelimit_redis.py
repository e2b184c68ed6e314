"""The Redis store against a real `redis-server`: what it stores, and what it does in trouble.

The arithmetic itself is checked decision by decision against aiolimiter in
test_ratelimit_table.py (the same oracle for every store); these tests look at
Redis's side (keys, their expiry, the clock, the script cache) and at the
store's behaviour when Redis is gone, stalled or restarted: every request then
passes (None: serve unlimited), counted, with at most one warning per interval,
and limiting comes back by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from structlog.testing import capture_logs

from snapshot_api.config import settings_from
from snapshot_api.errors import SettingsError
from snapshot_api.server import metrics
from snapshot_api.server.ratelimit.redis_store import KEY_PREFIX, RedisBuckets, redacted
from tests.support.redis_server import RedisServer
from tests.support.server_process import free_port

T = TypeVar("T")


def run(make: Callable[[RedisBuckets], Awaitable[T]], buckets: Callable[[], RedisBuckets]) -> T:
    """Run `make(store)` on a fresh event loop, closing the store afterwards."""

    async def main() -> T:
        store = buckets()
        try:
            return await make(store)
        finally:
            await store.aclose()

    return asyncio.run(main())


def unlimited(reason: str) -> float:
    metrics.install()
    assert metrics._collectors is not None
    value = metrics._collectors.registry.get_sample_value(
        "rate_limit_unlimited_requests_total", {"reason": reason}
    )
    return value or 0.0


def test_a_bucket_is_one_key_that_expires_when_full_again(redis_server: RedisServer) -> None:
    async def spend(store: RedisBuckets) -> list[tuple[bool, float] | None]:
        return [await store.take(901, 3.0), await store.take(901, 1.0)]

    # A slow refill (one token per 100 s), so a busy machine's delay between the calls
    # cannot show in the figures.
    results = run(spend, lambda: RedisBuckets(redis_server.url, rate=0.01, burst=5))
    assert results == [(True, pytest.approx(2.0, abs=0.01)), (True, pytest.approx(1.0, abs=0.01))]
    client = redis_server.client()
    ttl = client.pttl(KEY_PREFIX + "901")
    assert 390_000 < ttl <= 400_000, "4 tokens missing at 0.01 per second: full in 400 s"
    stored_tokens, stamp = client.get(KEY_PREFIX + "901").split()  # type: ignore[union-attr]
    seconds, micros = client.time()
    assert abs(float(stamp) - (seconds + micros / 1e6)) < 5, "the stamp is Redis's clock"
    assert float(stored_tokens) == pytest.approx(1.0, abs=0.01)

    async def spend_fast(store: RedisBuckets) -> tuple[bool, float] | None:
        return await store.take(903, 3.0)

    assert run(spend_fast, lambda: RedisBuckets(redis_server.url, rate=10.0, burst=5))
    assert 0 < client.pttl(KEY_PREFIX + "903") <= 300, "3 tokens at 10 per second: 0.3 s"
    time.sleep(0.5)
    assert client.exists(KEY_PREFIX + "903") == 0, "a full bucket is no key at all"


def test_a_refused_request_writes_a_full_bucket_away(redis_server: RedisServer) -> None:
    async def spend(store: RedisBuckets) -> list[tuple[bool, float] | None]:
        return [await store.take(902, 2.0), await store.take(902, 5.0, refund=2.0)]

    results = run(spend, lambda: RedisBuckets(redis_server.url, rate=0.001, burst=3))
    assert results == [(True, pytest.approx(1.0, abs=0.01)), (False, pytest.approx(3.0))]
    assert redis_server.client().exists(KEY_PREFIX + "902") == 0


def test_the_script_is_loaded_again_after_a_flush(redis_server: RedisServer) -> None:
    client = redis_server.client()

    async def spend(store: RedisBuckets) -> list[tuple[bool, float] | None]:
        first = await store.take(903, 1.0)
        client.script_flush()
        return [first, await store.take(903, 1.0)]

    results = run(spend, lambda: RedisBuckets(redis_server.url, rate=0.001, burst=5))
    assert results == [(True, pytest.approx(4.0, abs=0.01)), (True, pytest.approx(3.0, abs=0.01))]


def test_unreachable_redis_serves_unlimited_with_one_warning() -> None:
    url = f"redis://user:secret@127.0.0.1:{free_port()}/0"  # nothing listens there
    before = unlimited("unreachable")

    async def hammer(store: RedisBuckets) -> tuple[list[object], dict[str, object]]:
        return [await store.take(904, 1.0) for _ in range(50)], store.status()

    with capture_logs() as logs:
        results, status = run(hammer, lambda: RedisBuckets(url, rate=1.0, burst=1))
    assert results == [None] * 50, "every request passes"
    assert unlimited("unreachable") - before == 50, "and each is counted"
    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert len(warnings) == 1, warnings
    assert "secret" not in str(warnings) and "secret" not in str(status)
    assert status["limiting"] is False and status["reason"] == "unreachable"
    assert status["url"] == redacted(url) == f"redis://127.0.0.1:{url.rsplit(':', 1)[1]}"


def test_a_stalled_redis_times_out_and_limiting_resumes(own_redis: RedisServer) -> None:
    async def scenario(store: RedisBuckets) -> None:
        assert await store.take(905, 1.0) == (True, pytest.approx(4.0, abs=0.01))
        own_redis.pause()
        try:
            started = time.monotonic()
            assert await store.take(905, 1.0) is None
            assert time.monotonic() - started < 5, "a stalled Redis does not stall requests"
            assert store.status()["reason"] == "timeout"
            assert await store.take(905, 1.0) is None, "no waiting while Redis is known bad"
        finally:
            own_redis.resume()
        await asyncio.sleep(store.retry_seconds + 0.1)
        result = await store.take(905, 1.0)
        # Redis ran the timed-out call once it woke up: a request unlimited for us may
        # still have spent its token there.
        assert result is not None and result[0] is True, "limiting resumed by itself"
        assert 2.0 <= result[1] <= 3.0
        assert store.status() == {"store": "redis", "url": own_redis.url, "limiting": True}

    run(scenario, lambda: RedisBuckets(own_redis.url, rate=0.001, burst=5, retry_seconds=0.5))


def test_a_restarted_redis_is_used_again(own_redis: RedisServer) -> None:
    async def scenario(store: RedisBuckets) -> None:
        assert await store.check()
        assert await store.take(906, 2.0) == (True, pytest.approx(0.0, abs=0.01))
        assert (await store.take(906, 1.0) or (None,))[0] is False
        own_redis.kill()
        assert await store.take(906, 1.0) is None
        assert store.status()["limiting"] is False
        own_redis.start()  # same port, empty, no script loaded
        await asyncio.sleep(store.retry_seconds + 0.1)
        assert await store.take(906, 2.0) == (True, pytest.approx(0.0, abs=0.01)), "fresh"
        assert (await store.take(906, 1.0) or (None,))[0] is False, "limiting again"

    run(scenario, lambda: RedisBuckets(own_redis.url, rate=0.001, burst=2, retry_seconds=0.3))


@pytest.mark.parametrize(
    "url", ["redis://10.0.0.3:6379/0", "rediss://:pw@cache.example:6380/1", "unix:///run/r.sock"]
)
def test_redis_urls_are_accepted(url: str) -> None:
    args = argparse.Namespace(rate_limit_redis=url)
    assert settings_from(args, {}).rate_limit_redis == url


@pytest.mark.parametrize("url", ["http://10.0.0.3:6379", "10.0.0.3:6379", "unix://", "redis://"])
def test_other_urls_are_one_clear_settings_error(url: str) -> None:
    with pytest.raises(SettingsError, match=r"--rate-limit-redis: .* is not a Redis URL"):
        settings_from(argparse.Namespace(rate_limit_redis=url), {})
    with pytest.raises(SettingsError, match="SNAPSHOT_API_RATE_LIMIT_REDIS"):
        settings_from(argparse.Namespace(), {"SNAPSHOT_API_RATE_LIMIT_REDIS": url})
