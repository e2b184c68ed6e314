"""HTTP figures for one snapshot: wrk against ours (1 and 2 workers) and Datasette.

Order matters on a shared 2-core machine: runs are interleaved A B A B (ours,
peer, ours with 2 workers, then again) so slow drift of the machine (page
cache, other processes) hits every server alike instead of one of them.
Every server is checked to answer real data before it is loaded.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from tools.bench import profiling, servers, wrk
from tools.bench.plan import Plan
from tools.bench.processes import BenchError, http_get, http_post, say
from tools.bench.profiling import Profile
from tools.bench.servers import Memory, Running
from tools.bench.stats import Summary

PATHS_IN_SCRIPT = 5_000
BODIES_IN_SCRIPT = 50
OURS = "ours"
PEER = "peer"


@dataclass(frozen=True, slots=True)
class LoadFigures:
    """One load setting: requests/s, p50 and p99 in ms, over the repeated runs."""

    requests_per_second: Summary
    p50_ms: Summary
    p99_ms: Summary

    @classmethod
    def of(cls, results: Sequence[wrk.WrkResult]) -> LoadFigures:
        return cls(
            Summary.of(r.requests_per_second for r in results),
            Summary.of(r.p50_ms for r in results),
            Summary.of(r.p99_ms for r in results),
        )


@dataclass(slots=True)
class HttpFigures:
    tracks: int
    ceiling_name: str = ""
    ceiling: dict[int, LoadFigures] = field(default_factory=dict)
    single: dict[tuple[str, int, int], LoadFigures] = field(default_factory=dict)
    """(server, workers, concurrency) → figures; the peer has workers 1."""
    batch: dict[tuple[int, int], LoadFigures] = field(default_factory=dict)
    """(workers, batch size) → figures (requests/s; items/s = x batch size)."""
    startup: dict[tuple[str, int], Summary] = field(default_factory=dict)
    memory_started: dict[tuple[str, int], Memory] = field(default_factory=dict)
    memory_loaded: dict[tuple[str, int], Memory] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    profiles: list[Profile] = field(default_factory=list)


def _check_answers(server: Running, path: str) -> None:
    status, body = http_get(server.port, path)
    if status != 200:
        raise BenchError(f"{server.name} answered {status} to {path}")
    answer = orjson.loads(body)
    if not isinstance(answer, list) or not answer:
        raise BenchError(f"{server.name} found nothing for {path}: is the load hitting real data?")


def _check_batch(server: Running, body: str, size: int) -> None:
    status, answer = http_post(server.port, "/batch/lookup", body.encode())
    if status != 200:
        raise BenchError(f"{server.name} answered {status} to a batch: {answer[:200]!r}")
    found = orjson.loads(answer).get("isrcs", {})
    if len(found) < size // 2:
        raise BenchError(f"{server.name} found only {len(found)} of {size} ISRCs in a batch")


def _runs(
    figures: HttpFigures,
    label: str,
    into: list[wrk.WrkResult],
    port: int,
    connections: int,
    seconds: int,
    script: Path | None = None,
) -> None:
    """One wrk run appended to `into`; a run with errors is kept but named in the report."""
    result = wrk.run(port, connections=connections, seconds=seconds, script=script)
    if not result.clean:
        figures.problems.append(
            f"{figures.tracks:,} tracks, {label}: {result.bad_responses} non-2xx answers, "
            f"{result.socket_errors} socket errors in {result.requests} requests"
        )
    into.append(result)
    servers.settle(0.3)


def measure(
    plan: Plan, directory: Path, tracks: int, isrcs: Sequence[str], *, profile: bool = False
) -> HttpFigures:
    """Everything HTTP for one snapshot; every server stopped before returning.

    With `profile`, ours (1 worker) is then sampled with py-spy under the
    single-ISRC and the largest-batch load, to show what dominates its cost.
    """
    figures = HttpFigures(tracks)
    logs = plan.data_dir / "logs"
    scripts = plan.data_dir / "scripts"
    scripts.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    keys = list(isrcs[:PATHS_IN_SCRIPT])
    probe = keys[0]
    ours_script = wrk.write_get_script(
        scripts / f"single-{tracks}.lua", [servers.isrc_path(k) for k in keys]
    )
    _main, database = servers.peer_database(directory)
    peer_script = wrk.write_get_script(
        scripts / f"peer-{tracks}.lua", [servers.peer_path(database, k) for k in keys]
    )
    batch_scripts: dict[int, Path] = {}
    batch_bodies: dict[int, str] = {}
    for size in plan.batch_sizes:
        bodies = [
            orjson.dumps({"isrcs": list(isrcs[start : start + size])}).decode()
            for start in range(0, min(len(isrcs), size * BODIES_IN_SCRIPT) - size + 1, size)
        ]
        batch_bodies[size] = bodies[0]
        batch_scripts[size] = wrk.write_post_script(
            scripts / f"batch{size}-{tracks}.lua", "/batch/lookup", bodies
        )
    seconds = plan.wrk_seconds

    say(f"HTTP on {tracks:,} tracks: wrk ceiling")
    with servers.trivial(logs) as trivial:
        figures.ceiling_name = trivial.name
        for connections in plan.concurrencies:
            results: list[wrk.WrkResult] = []
            for _ in range(plan.repeats):
                _runs(
                    figures, f"ceiling c={connections}", results, trivial.port, connections, seconds
                )
            figures.ceiling[connections] = LoadFigures.of(results)

    say(f"HTTP on {tracks:,} tracks: start-up")
    for workers in plan.workers:
        times = []
        for _ in range(plan.startup_runs):
            with servers.ours(directory, workers, logs, probe) as server:
                times.append(server.startup_seconds)
        figures.startup[(OURS, workers)] = Summary.of(times)
    if plan.peer:
        times = []
        for _ in range(plan.startup_runs):
            with servers.datasette(directory, logs, probe) as server:
                times.append(server.startup_seconds)
        figures.startup[(PEER, 1)] = Summary.of(times)

    say(f"HTTP on {tracks:,} tracks: load, alternating servers")
    with _started(plan, directory, logs, probe) as running:
        for key, server in running.items():
            if key[0] == OURS:
                _check_answers(server, servers.isrc_path(probe))
                for size in plan.batch_sizes:
                    _check_batch(server, batch_bodies[size], size)
            else:
                _check_answers(server, servers.peer_path(database, probe))
            figures.memory_started[key] = server.memory()
        single: dict[tuple[str, int, int], list[wrk.WrkResult]] = {}
        batch: dict[tuple[int, int], list[wrk.WrkResult]] = {}
        for _round in range(plan.repeats):
            for connections in plan.concurrencies:
                for (name, workers), server in running.items():
                    script = ours_script if name == OURS else peer_script
                    _runs(
                        figures,
                        f"{server.name} c={connections}",
                        single.setdefault((name, workers, connections), []),
                        server.port,
                        connections,
                        seconds,
                        script,
                    )
                    servers.require_alive(server)
            for size in plan.batch_sizes:
                for workers in plan.workers:
                    server = running[(OURS, workers)]
                    _runs(
                        figures,
                        f"{server.name} batch {size}",
                        batch.setdefault((workers, size), []),
                        server.port,
                        plan.batch_concurrency,
                        seconds,
                        batch_scripts[size],
                    )
                    servers.require_alive(server)
        figures.single = {key: LoadFigures.of(r) for key, r in single.items()}
        figures.batch = {key: LoadFigures.of(r) for key, r in batch.items()}
        for key, server in running.items():
            figures.memory_loaded[key] = server.memory()
        if profile:
            one = running[(OURS, 1)]
            largest = max(plan.batch_sizes)
            loads = [
                (f"single ISRC GET, {16} connections", ours_script, 16),
                (
                    f"batch of {largest} ISRCs, {plan.batch_concurrency} connections",
                    batch_scripts[largest],
                    plan.batch_concurrency,
                ),
            ]
            for index, (label, script, connections) in enumerate(loads):
                say(f"HTTP on {tracks:,} tracks: profiling {label}")
                figures.profiles.append(
                    profiling.record(
                        one.process.pid,
                        seconds,
                        logs / f"profile-{tracks}-{index}.txt",
                        label,
                        functools.partial(
                            wrk.run,
                            one.port,
                            connections=connections,
                            seconds=seconds,
                            script=script,
                        ),
                    )
                )
    return figures


@contextlib.contextmanager
def _started(
    plan: Plan, directory: Path, logs: Path, probe: str
) -> Iterator[dict[tuple[str, int], Running]]:
    """Ours with each worker count and the peer, all running at once (idle ones cost nothing);
    the dict's order (ours, peer, ours with 2 workers) is the order runs alternate in."""
    with contextlib.ExitStack() as stack:
        running: dict[tuple[str, int], Running] = {}
        for workers in plan.workers:
            running[(OURS, workers)] = stack.enter_context(
                servers.ours(directory, workers, logs, probe)
            )
            if workers == 1 and plan.peer:
                running[(PEER, 1)] = stack.enter_context(servers.datasette(directory, logs, probe))
        yield running
