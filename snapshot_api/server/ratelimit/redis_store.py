"""Token buckets in Redis (or Valkey), shared by every worker of every server given one URL.

Why Redis: a fleet of servers behind one load balancer must give a client the
configured limit once, not once per host. The shared-memory table cannot span
hosts; Redis is the well-known store that can, and its server-side scripts
make a bucket update atomic in one round trip.

One round trip per take: a Lua script (below) reads the bucket, applies the
arithmetic of `bucket.py`, writes the bucket back and answers. It is sent once
per process (`SCRIPT LOAD`) and then called by its SHA1 (`EVALSHA`); when Redis
answers `NOSCRIPT` (restarted, or `SCRIPT FLUSH`) it is loaded again and the
call repeated. The clock is Redis's own (`TIME` inside the script), so hosts
whose clocks disagree still agree on every bucket. Each bucket is one string
key `tokens stamp` that expires (`PX`) when the bucket would be full again: an
expired key is exactly a full bucket, so Redis holds only clients active within
one refill time (burst / rate seconds) and needs no eviction of its own.

Redis trouble never fails a request. A call that errors or takes longer than
`TIMEOUT_SECONDS` makes the request pass unlimited; for the next
`RETRY_SECONDS` every request passes without trying (so a dead Redis costs no
waiting), then the next request tries again, and limiting resumes by itself
once Redis answers. Each such request is counted in `/metrics`
(`rate_limit_unlimited_requests_total`, by reason), a warning is logged at most
every `WARNING_INTERVAL_SECONDS` per process, and `status()` (shown by
`/health`) says whether this process is limiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import structlog
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from snapshot_api.server import metrics
from snapshot_api.server.ratelimit.bucket import EPSILON

TIMEOUT_SECONDS = 0.25
"""Longest wait for Redis (connecting, a pool slot, the answer) before a request passes
unlimited: far above a healthy Redis on a LAN (well under 1 ms), short enough that a
stalled one adds little to a request."""

RETRY_SECONDS = 1.0
"""After a failure, requests pass unlimited this long before Redis is tried again."""

WARNING_INTERVAL_SECONDS = 10.0
"""At most one warning per process in this time while Redis cannot be used."""

MAX_CONNECTIONS = 32
"""Connections per worker process; a request holds one for one round trip."""

KEY_PREFIX = "snapshot-api:ratelimit:"

# KEYS[1] the bucket; ARGV rate, burst, cost, refund and, for the tests only, a time that
# replaces Redis's clock (their virtual clock runs apart from Redis's expiry, so their keys
# live a minute longer than the bucket needs). Same formulas as bucket.refill and bucket.spend.
SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local refund = tonumber(ARGV[4])
local now = tonumber(ARGV[5])
local slack = 60000
if not now then
  local clock = redis.call('TIME')
  now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
  slack = 0
end
local tokens = burst
local stored = redis.call('GET', KEYS[1])
if stored then
  local left, stamp = string.match(stored, '^(%S+) (%S+)$')
  left = tonumber(left)
  stamp = tonumber(stamp)
  if left and stamp then
    tokens = left
    if now > stamp then tokens = tokens + (now - stamp) * rate end
    if tokens > burst then tokens = burst end
  end
end
local admitted = 0
if tokens + EPSILON >= cost then
  admitted = 1
  if tokens > cost then tokens = tokens - cost else tokens = 0 end
elseif tokens + refund < burst then
  tokens = tokens + refund
else
  tokens = burst
end
local ttl = math.ceil((burst - tokens) / rate * 1000)
if ttl > 0 then
  redis.call('SET', KEYS[1], string.format('%.17g %.17g', tokens, now), 'PX', ttl + slack)
else
  redis.call('DEL', KEYS[1])
end
return {admitted, string.format('%.17g', tokens)}
""".replace("EPSILON", repr(EPSILON))

SCRIPT_SHA = hashlib.sha1(SCRIPT.encode()).hexdigest()

_log = structlog.get_logger("snapshot_api.server")


def redacted(url: str) -> str:
    """The URL without its user and password, for logs and `/health`."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}"


@dataclass(slots=True)
class _Trouble:
    reason: str
    """timeout, unreachable or error: the `reason` label of the metric."""
    message: str
    since: float
    """time.time() of the first failure of this spell."""


class RedisBuckets:
    """The buckets of one rate policy in one Redis; one object per worker process."""

    def __init__(
        self,
        url: str,
        rate: float,
        burst: float,
        *,
        timeout: float = TIMEOUT_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self.url = url
        self.rate = rate
        self.burst = burst
        self.timeout = timeout
        self.retry_seconds = retry_seconds
        self._pool = BlockingConnectionPool.from_url(
            url,
            max_connections=MAX_CONNECTIONS,
            timeout=timeout,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
        )
        self._client = Redis(connection_pool=self._pool)
        self._policy = (repr(float(rate)), repr(float(burst)))
        self._trouble: _Trouble | None = None
        self._retry_at = 0.0
        self._next_warning = 0.0
        self._unlimited_since_warning = 0

    async def take(
        self, key: int, cost: float, refund: float = 0.0, now: float | None = None
    ) -> tuple[bool, float] | None:
        """Like `BucketTable.take`, or None: Redis could not be used, serve unlimited.

        `now` replaces Redis's clock; only the tests pass it.
        """
        if self._trouble is not None and time.monotonic() < self._retry_at:
            self._pass_unlimited(self._trouble)
            return None
        args: tuple[Any, ...] = (*self._policy, repr(float(cost)), repr(float(refund)))
        if now is not None:
            args += (repr(float(now)),)
        try:
            async with asyncio.timeout(2 * self.timeout):  # a guard: the sockets time out first
                reply = await self._call(KEY_PREFIX + str(key), args)
            admitted, tokens = int(reply[0]) == 1, float(reply[1])
        except (RedisError, OSError, TimeoutError, ValueError, IndexError, TypeError) as exc:
            await self._failed(exc)
            return None
        if self._trouble is not None:
            self._recovered()
        return admitted, tokens

    async def _call(self, key: str, args: tuple[Any, ...]) -> Any:
        try:
            return await self._client.evalsha(SCRIPT_SHA, 1, key, *args)
        except NoScriptError:
            await self._client.script_load(SCRIPT)
            return await self._client.evalsha(SCRIPT_SHA, 1, key, *args)

    async def check(self) -> bool:
        """One `PING` at start-up, so `/health` tells the truth before the first request."""
        try:
            async with asyncio.timeout(2 * self.timeout):
                await self._client.ping()
        except (RedisError, OSError, TimeoutError) as exc:
            await self._failed(exc)
            return False
        if self._trouble is not None:
            self._recovered()
        return True

    async def aclose(self) -> None:
        await self._client.aclose()
        await self._pool.disconnect()

    def status(self) -> dict[str, Any]:
        """What `/health` shows: whether this process limits, and why not."""
        status: dict[str, Any] = {"store": "redis", "url": redacted(self.url)}
        trouble = self._trouble
        if trouble is None:
            return {**status, "limiting": True}
        return {
            **status,
            "limiting": False,
            "reason": trouble.reason,
            "error": trouble.message,
            "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(trouble.since)),
        }

    # -- trouble ---------------------------------------------------------------------------

    async def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, RedisTimeoutError | TimeoutError):
            reason = "timeout"
        elif isinstance(exc, OSError | ConnectionError) or "connect" in type(exc).__name__.lower():
            reason = "unreachable"
        else:
            reason = "error"
        message = str(exc) or type(exc).__name__
        if self._trouble is None:
            self._trouble = _Trouble(reason, message, time.time())
        else:
            self._trouble.reason, self._trouble.message = reason, message
        self._retry_at = time.monotonic() + self.retry_seconds
        # Connections that saw a failure may be half-read or dead: start afresh next time.
        with contextlib.suppress(Exception):  # a broken pool is being thrown away
            await self._pool.disconnect()
        self._pass_unlimited(self._trouble)

    def _pass_unlimited(self, trouble: _Trouble) -> None:
        metrics.count_unlimited(trouble.reason)
        self._unlimited_since_warning += 1
        now = time.monotonic()
        if now >= self._next_warning:
            self._next_warning = now + WARNING_INTERVAL_SECONDS
            _log.warning(
                "rate limiter cannot use redis; serving without limiting",
                redis=redacted(self.url),
                reason=trouble.reason,
                error=trouble.message,
                unlimited_requests=self._unlimited_since_warning,
                retry_seconds=self.retry_seconds,
                pid=os.getpid(),
            )
            self._unlimited_since_warning = 0

    def _recovered(self) -> None:
        trouble = self._trouble
        self._trouble = None
        self._next_warning = 0.0
        self._unlimited_since_warning = 0
        if trouble is not None:
            _log.info(
                "rate limiter reached redis again; limiting resumed",
                redis=redacted(self.url),
                unlimited_for_seconds=round(time.time() - trouble.since, 3),
            )
