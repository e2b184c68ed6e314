"""The token-bucket arithmetic every store applies, and the numbers the headers are made of.

The bucket is `aiolimiter.AsyncLimiter`'s leaky bucket seen from the other
side: `tokens = burst - level`, refilled continuously at `rate` per second and
capped at `burst`; a request is admitted when the bucket holds its cost, and a
refused request spends nothing (and gets back what an earlier step of the same
request paid). A bucket nobody has touched is full, so a store may forget any
bucket once it is full again: that is what keeps memory bounded by the clients
active within one refill time.

The shared-memory table applies these functions; the Redis store applies the
same formulas in its server-side script (Lua, in `redis_store.py`), and the
test suite checks both against `AsyncLimiter` decision by decision.
"""

from __future__ import annotations

import math

from snapshot_api.server.ratelimit.client_ip import Address, format_address

EPSILON = 1e-9
"""Float slack: 0.1 + 0.2 tokens must buy a request costing 0.3."""

BATCH_ITEMS_PER_TOKEN = 50


def refill(tokens: float, elapsed: float, rate: float, burst: float) -> float:
    """Tokens after `elapsed` seconds of refilling (a clock going backwards refills nothing)."""
    if elapsed > 0:
        tokens += elapsed * rate
    return burst if tokens > burst else tokens


def spend(tokens: float, cost: float, refund: float, burst: float) -> tuple[bool, float]:
    """(admitted, tokens left) for a request costing `cost` from a bucket holding `tokens`."""
    if tokens + EPSILON >= cost:
        return True, tokens - cost if tokens > cost else 0.0
    return False, tokens + refund if tokens + refund < burst else burst


def seconds_until_full(tokens: float, rate: float, burst: float) -> float:
    """When a bucket holding `tokens` is full again: the moment a store may forget it."""
    return (burst - tokens) / rate


def retry_after(tokens: float, cost: float, rate: float) -> int:
    """Whole seconds, at least 1, until a bucket holding `tokens` can pay `cost`."""
    return max(1, math.ceil((cost - tokens) / rate - EPSILON))


def whole_tokens(tokens: float) -> int:
    """The `r` of the `RateLimit` field: whole tokens left."""
    return math.floor(tokens + EPSILON)


def whole_seconds_until_full(tokens: float, rate: float, burst: float) -> int:
    """The `t` of the `RateLimit` field: seconds until the bucket is full, rounded up."""
    return max(0, math.ceil(seconds_until_full(tokens, rate, burst) - EPSILON))


def window(rate: float, burst: float) -> int:
    """The `w` of `RateLimit-Policy`: seconds to fill an empty bucket, rounded up."""
    return math.ceil(burst / rate - EPSILON)


def batch_cost(distinct_items: int, burst: int) -> int:
    """Tokens a batch costs: one per started 50 distinct items, at least 1, at most `burst`."""
    return max(1, min(math.ceil(distinct_items / BATCH_ITEMS_PER_TOKEN), burst))


def bucket_key(address: Address) -> int:
    """The bucket of a client: IPv4 address, or IPv6 /64 prefix; an int in 1..2**64-1.

    IPv4 keys are 2**32 + address, IPv6 keys the top 64 bits of the address.
    They could only meet for IPv6 prefixes inside ::/31, which is reserved and
    never a remote client (::/64 itself, holding ::1, maps to key 1).
    """
    family, value = address
    if family == 4:
        return (1 << 32) | value
    return (value >> 64) or 1


def describe_client(address: Address) -> str:
    """How a client is named in messages: its IPv4 address or its IPv6 /64."""
    family, value = address
    if family == 4:
        return format_address(address)
    return format_address((6, value >> 64 << 64)) + "/64"
