"""Prometheus metrics: what is counted, and how several worker processes add up.

With more than one worker every process counts on its own, so the numbers go
through `prometheus_client`'s multiprocess mode: each process writes its values
into memory-mapped files in `PROMETHEUS_MULTIPROC_DIR` (a private temporary
directory made by `serve`), and `/metrics`, whichever worker answers it, sums
the files of all of them. Where values live is decided by `install()`, which
`create_app` calls: it reads the variable then (not when a module happens to be
imported), and creates the metric objects. Without the variable (tests that
run the app in one process) the values simply live in this process.

The metric objects are made once per process whatever the number of apps
created in it, and `labels()` children are cached here so the per-request cost
is a dictionary look-up and two increments.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
"""The classic text format, which every Prometheus version scrapes."""

DURATION_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
BATCH_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)


class _Collectors:
    """This process's metric objects, registered in a private registry (not the global
    default one, so they never clash with anything else in the process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Time from the request's arrival to the end of its answer, by route template",
            ["route", "method"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.lookups = Counter(
            "snapshot_lookups",
            "Identifiers looked up, by kind and result (hit, miss, invalid)",
            ["kind", "result"],
            registry=self.registry,
        )
        self.batch_items = Histogram(
            "batch_lookup_items",
            "Distinct items per accepted batch request",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.snapshot_info = Gauge(
            "snapshot_info",
            "The snapshot being served (always 1; its identity is in the labels)",
            ["snapshot_id", "tool_version", "server_version"],
            multiprocess_mode="max",
            registry=self.registry,
        )
        self.snapshot_rows = Gauge(
            "snapshot_rows",
            "Rows per table of the served snapshot, from its manifest",
            ["table"],
            multiprocess_mode="max",
            registry=self.registry,
        )
        self.rate_limit_unlimited = Counter(
            "rate_limit_unlimited_requests",
            "Requests served without rate limiting because the shared bucket store (Redis) "
            "could not be used, by reason (timeout, unreachable, error)",
            ["reason"],
            registry=self.registry,
        )
        self.request_children: dict[tuple[str, str, int], Counter] = {}
        self.duration_children: dict[tuple[str, str], Histogram] = {}
        self.lookup_children: dict[tuple[str, str], Counter] = {}


_collectors: _Collectors | None = None


def install() -> None:
    """Create this process's metrics (once), storing them as `PROMETHEUS_MULTIPROC_DIR` says now.

    prometheus_client picks its value storage from the environment when it is
    imported; choosing it again here makes the moment explicit: whatever set
    the variable (`serve`, before starting workers) only has to do so before
    the first app is created.
    """
    global _collectors
    if _collectors is None:
        values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
        _collectors = _Collectors()


def _active() -> _Collectors:
    if _collectors is None:
        install()
    assert _collectors is not None
    return _collectors


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROCESS_ENV))


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request and its duration."""
    active = _active()
    key = (route, method, status)
    counter = active.request_children.get(key)
    if counter is None:
        counter = active.request_children[key] = active.requests.labels(route, method, str(status))
    counter.inc()
    duration_key = (route, method)
    histogram = active.duration_children.get(duration_key)
    if histogram is None:
        histogram = active.duration_children[duration_key] = active.duration.labels(route, method)
    histogram.observe(seconds)


def count_lookups(kind: str, result: str, amount: int = 1) -> None:
    """Count `amount` identifiers of `kind` with `result` (hit, miss or invalid)."""
    if amount <= 0:
        return
    active = _active()
    key = (kind, result)
    counter = active.lookup_children.get(key)
    if counter is None:
        counter = active.lookup_children[key] = active.lookups.labels(kind, result)
    counter.inc(amount)


def count_unlimited(reason: str) -> None:
    """Count one request let through unlimited because the bucket store failed."""
    _active().rate_limit_unlimited.labels(reason).inc()


def observe_batch(items: int) -> None:
    _active().batch_items.observe(items)


def describe_snapshot(
    snapshot_id: str, tool_version: str, server_version: str, counts: Mapping[str, int]
) -> None:
    """Publish the snapshot's identity and row counts (called once per process)."""
    active = _active()
    active.snapshot_info.labels(snapshot_id, tool_version, server_version).set(1)
    for table, rows in counts.items():
        active.snapshot_rows.labels(table).set(rows)


def exposition() -> bytes:
    """The Prometheus text of every worker's metrics (or this process's alone)."""
    if multiprocess():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(_active().registry)
