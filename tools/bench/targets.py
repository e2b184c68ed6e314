"""The issue's targets, checked against the figures of one run.

Each check states the goal, the measured value, whether it is met and, when
it is not, by how much (measured / goal). A target whose figures were not
taken in this run (e.g. the peer skipped) is reported as not measured, never
as met.
"""

from __future__ import annotations

from dataclasses import dataclass

from snapshot_api.identifiers import Kind
from tools.bench.http import OURS, PEER
from tools.bench.inprocess import InProcessFigures
from tools.bench.keys import BENCH_KINDS
from tools.bench.results import Results
from tools.bench.stats import number


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    goal: str
    measured: str
    met: bool | None
    """None: not measured in this run."""
    detail: str = ""

    @property
    def verdict(self) -> str:
        if self.met is None:
            return "not measured"
        return "met" if self.met else "MISSED"


def _at_least(name: str, goal: float, value: float | None, unit: str, detail: str = "") -> Target:
    if value is None:
        return Target(name, f"≥ {number(goal)}{unit}", "—", None, detail)
    met = value >= goal
    extra = "" if met else f"{value / goal:.0%} of the goal"
    return Target(
        name,
        f"≥ {number(goal)}{unit}",
        f"{number(value)}{unit}",
        met,
        "; ".join(p for p in (extra, detail) if p),
    )


def _at_most(name: str, goal: float, value: float | None, unit: str, detail: str = "") -> Target:
    if value is None:
        return Target(name, f"< {number(goal)}{unit}", "—", None, detail)
    met = value < goal
    extra = "" if met else f"{value / goal:.2f}× the limit"
    return Target(
        name,
        f"< {number(goal)}{unit}",
        f"{number(value)}{unit}",
        met,
        "; ".join(p for p in (extra, detail) if p),
    )


def _library(figures: InProcessFigures | None, kind: Kind, size: int, threads: int) -> float | None:
    if figures is None:
        return None
    summary = figures.library.get((kind, size, threads))
    return None if summary is None else summary.median


def check(results: Results) -> list[Target]:
    plan = results.plan
    largest, smallest = plan.largest, plan.smallest
    big = f"{largest:,} tracks"
    targets: list[Target] = []
    batch = max(plan.batch_sizes)

    # HTTP single ISRC vs the peer: worst ratio over the concurrencies, 1 worker each
    http = results.http.get(max(plan.http_sizes)) if plan.http_sizes else None
    if http is not None and plan.peer:
        ratios = []
        for connections in plan.concurrencies:
            ours = http.single.get((OURS, 1, connections))
            peer = http.single.get((PEER, 1, connections))
            if ours and peer and peer.requests_per_second.median > 0:
                ratios.append(
                    (ours.requests_per_second.median / peer.requests_per_second.median, connections)
                )
        worst = min(ratios) if ratios else None
        targets.append(
            _at_least(
                f"single-ISRC GET req/s, ours / Datasette (1 worker each, {http.tracks:,} tracks)",
                8.0,
                worst[0] if worst else None,
                "×",
                f"worst at {worst[1]} connections" if worst else "",
            )
        )
    else:
        targets.append(Target("single-ISRC GET req/s, ours / Datasette", "≥ 8×", "—", None))

    # HTTP batch vs in-process, same code, 1 worker vs 1 thread
    if http is not None:
        over_http = http.batch.get((1, batch))
        local = _library(results.inprocess.get(http.tracks), Kind.ISRC, batch, 1)
        value = (
            over_http.requests_per_second.median * batch / local
            if over_http is not None and local
            else None
        )
        targets.append(
            _at_least(
                f"batch of {batch} ISRCs over HTTP / in-process items/s "
                f"(1 worker vs 1 thread, {http.tracks:,} tracks)",
                0.6,
                value,
                "",
            )
        )

    # in-process batch vs the floor (every probe the documents need), each kind
    local_big = results.inprocess.get(largest)
    if local_big is not None and local_big.floor:
        worst_kind: tuple[float, str] | None = None
        for kind in BENCH_KINDS:
            ours_rate = _library(local_big, kind, batch, 1)
            floor = local_big.floor.get((kind, "rows", batch, 1))
            if ours_rate and floor:
                candidate = (floor.median / ours_rate, kind.value)
                worst_kind = candidate if worst_kind is None else max(worst_kind, candidate)
        targets.append(
            _at_most(
                f"in-process batch of {batch}, time per item: library / floor "
                f"(every probe and row, no JSON; {big})",
                2.0 + 1e-9,
                worst_kind[0] if worst_kind else None,
                "×",
                f"worst kind: {worst_kind[1]}" if worst_kind else "",
            )
        )

    # scaling: per-lookup cost on the largest vs the smallest size
    if largest != smallest:
        small_figures = results.inprocess.get(smallest)
        worst_scale: tuple[float, str] | None = None
        for kind in BENCH_KINDS:
            for size in (1, batch):
                a = _library(small_figures, kind, size, 1)
                b = _library(local_big, kind, size, 1)
                if a and b:
                    label = f"{kind.value} {'single' if size == 1 else f'batch {size}'}"
                    candidate = (a / b, label)
                    worst_scale = candidate if worst_scale is None else max(worst_scale, candidate)
        http_small = results.http.get(smallest)
        if http is not None and http_small is not None and http.tracks != smallest:
            for connections in plan.concurrencies:
                a_http = http_small.single.get((OURS, 1, connections))
                b_http = http.single.get((OURS, 1, connections))
                if a_http and b_http:
                    candidate = (
                        a_http.requests_per_second.median / b_http.requests_per_second.median,
                        f"HTTP single c={connections}",
                    )
                    worst_scale = candidate if worst_scale is None else max(worst_scale, candidate)
        targets.append(
            _at_most(
                f"per-lookup cost, {largest:,} vs {smallest:,} tracks (worst mode)",
                1.3 + 1e-9,
                worst_scale[0] if worst_scale else None,
                "×",
                f"worst: {worst_scale[1]}" if worst_scale else "",
            )
        )

    # start-up and memory on the largest HTTP size
    if http is not None:
        for workers in plan.workers:
            startup = http.startup.get((OURS, workers))
            targets.append(
                _at_most(
                    f"server start-up, {workers} worker(s), {http.tracks:,} tracks",
                    1.0,
                    startup.median if startup else None,
                    " s",
                )
            )
        for label, memory in (
            ("after start", http.memory_started),
            ("after load", http.memory_loaded),
        ):
            worst_mb = max(
                (m.worker_mb for (name, _w), m in memory.items() if name == OURS), default=None
            )
            targets.append(
                _at_most(
                    f"RssAnon per worker {label}, {http.tracks:,} tracks", 150.0, worst_mb, " MB"
                )
            )

    # in-process lookup_json targets on the largest size, without and with statistics
    variants: list[tuple[str, InProcessFigures | None]] = [("", local_big)]
    if results.stats_inprocess is not None and results.stats_inprocess.tracks == largest:
        variants.append((", with sqlite_stat1/4", results.stats_inprocess))
    for suffix, figures in variants:
        targets.append(
            _at_least(
                f"lookup_json batch of {batch} ISRCs, 1 thread ({big}{suffix})",
                20_000,
                _library(figures, Kind.ISRC, batch, 1),
                " items/s",
            )
        )
        if 2 in plan.threads:
            targets.append(
                _at_least(
                    f"lookup_json batch of {batch} ISRCs, 2 threads ({big}{suffix})",
                    35_000,
                    _library(figures, Kind.ISRC, batch, 2),
                    " items/s",
                )
            )
        targets.append(
            _at_least(
                f"lookup_json single ISRC, 1 thread ({big}{suffix})",
                10_000,
                _library(figures, Kind.ISRC, 1, 1),
                " lookups/s",
            )
        )
    return targets
