"""Per-client rate limiting: who the client is, its token bucket, where buckets live.

Modules, one job each: `client_ip` (the client's address, through trusted
proxies), `bucket` (the token-bucket arithmetic and header numbers), `table`
(buckets in shared memory, for the workers of one host), `redis_store`
(buckets in Redis, for a fleet), `store` (which store a process uses, and the
serve parent's shared table), `middleware` (the ASGI middleware, the headers,
the 429, and the batch charge).
"""

from snapshot_api.server.ratelimit.middleware import (
    RESPONSE_HEADERS,
    RateLimited,
    RateLimitMiddleware,
    charge,
    charge_batch_items,
)
from snapshot_api.server.ratelimit.store import (
    STATE_ENV,
    SharedState,
    Store,
    create_shared_state,
    open_store,
    open_table,
    store_status,
)

__all__ = [
    "RESPONSE_HEADERS",
    "STATE_ENV",
    "RateLimitMiddleware",
    "RateLimited",
    "SharedState",
    "Store",
    "charge",
    "charge_batch_items",
    "create_shared_state",
    "open_store",
    "open_table",
    "store_status",
]
