"""Prometheus metrics: what is counted, and how several worker processes add up.

With more than one worker every process counts on its own, so the numbers go
through `prometheus_client`'s multiprocess mode: each process writes its values
into memory-mapped files in `PROMETHEUS_MULTIPROC_DIR` (a private temporary
directory made by `serve`), and `/metrics`, whichever worker answers it, sums
the files of all of them. The variable must be set before `prometheus_client`
is first imported, which `serve` does; without it (tests that run the app in
one process) the values simply live in this process.

The metric objects are module singletons: a process has one set whatever the
number of apps created in it, and `labels()` children are cached here so the
per-request cost is a dictionary look-up and two increments.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
"""The classic text format, which every Prometheus version scrapes."""

DURATION_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
BATCH_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)

_REGISTRY = CollectorRegistry()
"""Where this process's metrics are registered (not the global default registry,
so importing this module never clashes with anything else in the process)."""

HTTP_REQUESTS = Counter(
    "http_requests",
    "HTTP requests answered, by route template, method and status",
    ["route", "method", "status"],
    registry=_REGISTRY,
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from the request's arrival to the end of its answer, by route template",
    ["route", "method"],
    buckets=DURATION_BUCKETS,
    registry=_REGISTRY,
)
LOOKUPS = Counter(
    "snapshot_lookups",
    "Identifiers looked up, by kind and result (hit, miss, invalid)",
    ["kind", "result"],
    registry=_REGISTRY,
)
BATCH_ITEMS = Histogram(
    "batch_lookup_items",
    "Distinct items per accepted batch request",
    buckets=BATCH_BUCKETS,
    registry=_REGISTRY,
)
SNAPSHOT_INFO = Gauge(
    "snapshot_info",
    "The snapshot being served (always 1; its identity is in the labels)",
    ["snapshot_id", "tool_version", "server_version"],
    multiprocess_mode="max",
    registry=_REGISTRY,
)
SNAPSHOT_ROWS = Gauge(
    "snapshot_rows",
    "Rows per table of the served snapshot, from its manifest",
    ["table"],
    multiprocess_mode="max",
    registry=_REGISTRY,
)
RATE_LIMIT_UNLIMITED = Counter(
    "rate_limit_unlimited_requests",
    "Requests served without rate limiting because the shared bucket store (Redis) could not "
    "be used, by reason (timeout, unreachable, error)",
    ["reason"],
    registry=_REGISTRY,
)

_request_children: dict[tuple[str, str, int], Counter] = {}
_duration_children: dict[tuple[str, str], Histogram] = {}
_lookup_children: dict[tuple[str, str], Counter] = {}


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROCESS_ENV))


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request and its duration."""
    key = (route, method, status)
    counter = _request_children.get(key)
    if counter is None:
        counter = _request_children[key] = HTTP_REQUESTS.labels(route, method, str(status))
    counter.inc()
    duration_key = (route, method)
    histogram = _duration_children.get(duration_key)
    if histogram is None:
        histogram = _duration_children[duration_key] = HTTP_DURATION.labels(route, method)
    histogram.observe(seconds)


def count_lookups(kind: str, result: str, amount: int = 1) -> None:
    """Count `amount` identifiers of `kind` with `result` (hit, miss or invalid)."""
    if amount <= 0:
        return
    key = (kind, result)
    counter = _lookup_children.get(key)
    if counter is None:
        counter = _lookup_children[key] = LOOKUPS.labels(kind, result)
    counter.inc(amount)


def count_unlimited(reason: str) -> None:
    """Count one request let through unlimited because the bucket store failed."""
    RATE_LIMIT_UNLIMITED.labels(reason).inc()


def observe_batch(items: int) -> None:
    BATCH_ITEMS.observe(items)


def describe_snapshot(
    snapshot_id: str, tool_version: str, server_version: str, counts: Mapping[str, int]
) -> None:
    """Publish the snapshot's identity and row counts (called once per process)."""
    SNAPSHOT_INFO.labels(snapshot_id, tool_version, server_version).set(1)
    for table, rows in counts.items():
        SNAPSHOT_ROWS.labels(table).set(rows)


def exposition() -> bytes:
    """The Prometheus text of every worker's metrics (or this process's alone)."""
    if multiprocess():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(_REGISTRY)
