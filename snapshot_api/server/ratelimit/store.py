"""Which bucket store a worker process uses, and the serve parent's part in sharing it.

Three stores, one arithmetic (`bucket.py`):
- Redis (`--rate-limit-redis URL`): shared by every worker of every server given
  the same URL; see `redis_store.py`.
- A shared-memory table (several workers, no Redis): `serve` calls
  `create_shared_state(settings)` before it starts them; the table's path
  reaches each worker in the environment variable `STATE_ENV`, and each worker
  maps that same table.
- A private table (one worker, no Redis).
A worker started with `workers > 1`, no Redis and no shared table refuses to
start rather than silently give every client `workers` times its limit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from snapshot_api.config import ServeSettings
from snapshot_api.server.ratelimit.redis_store import RedisBuckets
from snapshot_api.server.ratelimit.table import BucketTable

STATE_ENV = "SNAPSHOT_API_INTERNAL_RATE_LIMIT_TABLE"
"""Set by `create_shared_state` for the worker processes; not a user setting."""

Store = BucketTable | RedisBuckets


def open_table(settings: ServeSettings, environ: Mapping[str, str] | None = None) -> BucketTable:
    """The shared table named by `STATE_ENV`, or a private one for a single worker."""
    environ = os.environ if environ is None else environ
    path = environ.get(STATE_ENV)
    if path:
        return BucketTable.attach(
            Path(path), settings.rate, settings.burst, settings.rate_limit_clients
        )
    if settings.workers > 1:
        raise RuntimeError(
            f"rate limiting with {settings.workers} workers needs the shared table: the serve "
            f"process must call create_shared_state(settings) before starting them"
        )
    return BucketTable.private(settings.rate, settings.burst, settings.rate_limit_clients)


def open_store(settings: ServeSettings) -> Store:
    """This process's buckets: Redis when configured, else the (shared or private) table."""
    if settings.rate_limit_redis:
        return RedisBuckets(settings.rate_limit_redis, settings.rate, settings.burst)
    return open_table(settings)


def store_status(store: Store | None) -> dict[str, Any]:
    """What `/health` shows about rate limiting in this process."""
    if store is None:
        return {"store": "off", "limiting": False}
    if isinstance(store, RedisBuckets):
        return store.status()
    return {"store": "memory" if store.path is None else "shared_memory", "limiting": True}


class SharedState:
    """The shared bucket table of a multi-worker server, owned by the serve parent.

    While open, `STATE_ENV` names it in `os.environ`, which worker processes
    inherit; `close()` removes the variable and the file. Usable as a context
    manager. Disabled (and free) with one worker, Redis, or rate limiting off.
    """

    def __init__(self, table: BucketTable | None) -> None:
        self.table = table
        self._previous = os.environ.get(STATE_ENV)
        if table is not None and table.path is not None:
            os.environ[STATE_ENV] = str(table.path)

    def close(self) -> None:
        if self.table is None:
            return
        if self._previous is None:
            os.environ.pop(STATE_ENV, None)
        else:
            os.environ[STATE_ENV] = self._previous
        self.table.unlink()
        self.table.close()
        self.table = None

    def __enter__(self) -> SharedState:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def create_shared_state(settings: ServeSettings) -> SharedState:
    """Create the table every worker will share; call before starting uvicorn, `close()` after.

    Free with one worker, with Redis or with limiting off: then there is
    nothing to share here, no file is made.
    """
    if not settings.rate_limited or settings.workers < 2 or settings.rate_limit_redis:
        return SharedState(None)
    return SharedState(
        BucketTable.create(settings.rate, settings.burst, settings.rate_limit_clients)
    )
