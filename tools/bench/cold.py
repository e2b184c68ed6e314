"""The cold-cache bench: lookups right after the snapshot's pages are evicted, per read mode.

    python -m tools.bench.cold DIR [--output cold.md] [--modes on,off] [--no-names]

For each read mode: evict (`drop_caches` as root, and `posix_fadvise(DONTNEED)` on
every file), then measure cold, in-process, ISRC lookups (1 and 16 threads, batches
of 400), name searches (1 and 16 threads) and matches (1 and 16 threads, batches of
100 through `match_tracks`), and ISRC lookups over HTTP against one worker (wrk, 1
and 16 connections; batches of 400, each posted once over 1 and 4 connections), then
the same warm. Each figure carries the
bytes and 4 KiB pages read from disk per item (`read_bytes` of /proc/PID/io) and the
major page faults per item (the mapped reads), and is set against the disk's own
random-read limit measured in the same run (fio, O_DIRECT 4 KiB random reads at
queue depths 1, 16 and 32).
Prints a Markdown section on stdout (or writes it to --output).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Generic, TypeVar

import orjson

from snapshot_api import Snapshot
from snapshot_api.identifiers import Kind
from snapshot_api.readmode import ReadMode, mem_available, total_bytes, use_mmap
from snapshot_api.snapshot import READ_THREADS
from tools.bench import keys as bench_keys
from tools.bench import match as match_bench
from tools.bench import search as search_bench
from tools.bench import wrk
from tools.bench.processes import (
    PYTHON,
    Background,
    BenchError,
    free_port,
    say,
    wait_until_answers,
)
from tools.bench.servers import isrc_path

PAGE = 4096
RANDOM_READ_KIB = 256
"""Above this many KiB read per item, the reads are readahead, not random 4 KiB reads."""
BATCH = 400
MATCH_BATCH = 100
NAME_WORK = ("search", "match")
"""Words of the cases that are not ISRC lookups (the disk limit is quoted in lookups)."""
Query = tuple[str, str, dict[str, str]]
T = TypeVar("T")
ON_THE_LOOP = (
    "import sys; from snapshot_api.snapshot import Snapshot; "
    "Snapshot.overlaps_reads = property(lambda self: False); "
    "from snapshot_api.cli import main; sys.exit(main(sys.argv[1:]))"
)
"""`serve` with single lookups kept on the event loop in `pread` mode (mode `off-loop`): the
other side of the decision to run them on the reader threads, measured, not shipped."""


@dataclass(frozen=True, slots=True)
class Counters:
    read_bytes: int
    major_faults: int

    @staticmethod
    def of(pid: int | str = "self") -> Counters:
        io = Path(f"/proc/{pid}/io").read_text()
        read = next(
            int(line.split()[1]) for line in io.splitlines() if line.startswith("read_bytes")
        )
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return Counters(read, int(fields[9]))

    def minus(self, other: Counters) -> Counters:
        return Counters(self.read_bytes - other.read_bytes, self.major_faults - other.major_faults)


@dataclass(frozen=True, slots=True)
class Figure:
    case: str
    mode: str
    state: str
    items_per_second: float
    items: int
    read: Counters

    @property
    def kib_per_item(self) -> float:
        return self.read.read_bytes / 1024 / max(self.items, 1)

    @property
    def pages_per_item(self) -> float:
        return self.read.read_bytes / PAGE / max(self.items, 1)

    @property
    def faults_per_item(self) -> float:
        return self.read.major_faults / max(self.items, 1)


def _line(f: Figure) -> str:
    return (
        f"{f.mode} {f.case} {f.state}: {f.items_per_second:,.0f} items/s, "
        f"{f.kib_per_item:,.1f} KiB and {f.faults_per_item:.2f} major faults per item"
    )


def evict(directory: Path) -> str:
    os.sync()
    how = []
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        how.append("`echo 3 > /proc/sys/vm/drop_caches`")
    except OSError:
        pass
    for path in directory.iterdir():
        if path.suffix == ".sqlite3" and path.is_file():
            descriptor = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(descriptor)
    how.append("`posix_fadvise(DONTNEED)` on every file")
    return " and ".join(how)


def warm(directory: Path) -> None:
    """Read every file once, so that every page is in the page cache (the files must fit)."""
    for path in directory.iterdir():
        if path.suffix == ".sqlite3" and path.is_file():
            with path.open("rb", buffering=0) as handle:
                while handle.read(1 << 22):
                    pass


def disk_limit(path: Path, depth: int, seconds: int) -> float:
    """Random 4 KiB O_DIRECT reads per second at queue depth `depth` (fio)."""
    fio = shutil.which("fio")
    if fio is None:
        raise BenchError("fio is not installed: apt-get install -y fio")
    argv = [fio, "--name=probe", f"--filename={path}", "--readonly", "--rw=randread",
            "--bs=4k", "--direct=1", "--ioengine=libaio", f"--iodepth={depth}",
            f"--runtime={seconds}", "--time_based", "--output-format=json"]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30, check=True)
    report = json.loads(result.stdout[result.stdout.index("{") :])
    return float(report["jobs"][0]["read"]["iops"])


def _timed(run: Callable[[], int], pid: int | str = "self") -> tuple[float, int, Counters]:
    before = Counters.of(pid)
    started = time.perf_counter()
    items = run()
    elapsed = time.perf_counter() - started
    return items / elapsed, items, Counters.of(pid).minus(before)


def threaded(
    items: Sequence[T], threads: int, batch: int, call: Callable[[list[T]], object]
) -> Callable[[], int]:
    """A run of `call` over `items` in chunks of `batch`, on `threads` threads at once."""
    chunks = [list(items[i : i + batch]) for i in range(0, len(items), batch)]

    def work(part: list[list[T]]) -> None:
        for chunk in part:
            call(chunk)

    def run() -> int:
        workers = [
            threading.Thread(target=work, args=(chunks[n::threads],)) for n in range(threads)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return len(items)

    return run


def isrc_lookups(snapshot: Snapshot) -> Callable[[list[str]], object]:
    return partial(snapshot.lookup_json, Kind.ISRC)


def searches(snapshot: Snapshot) -> Callable[[list[Query]], object]:
    def run(chunk: list[Query]) -> None:
        for kind, q, filters in chunk:
            snapshot.search_json(kind, q, **filters)

    return run


def matches_one_by_one(snapshot: Snapshot) -> Callable[[list[dict[str, Any]]], object]:
    def run(chunk: list[dict[str, Any]]) -> None:
        for given in chunk:
            snapshot.match_track_json(**given)

    return run


def matches_together(snapshot: Snapshot) -> Callable[[list[dict[str, Any]]], object]:
    return snapshot.match_tracks


@dataclass(frozen=True, slots=True)
class Case(Generic[T]):
    """One in-process case: `call` of a snapshot over `items`, `threads` callers at once."""

    name: str
    items: Sequence[T]
    threads: int
    batch: int
    call: Callable[[Snapshot], Callable[[list[T]], object]]


def name_cases(directory: Path) -> list[Case[Any]]:
    """Search queries and matches, each item never asked before in the run (a cold pass
    must not find another case's pages cached): rare words alone, after a common word,
    and as artist names; matches of held-out tracks as a tagger holds them."""
    rare = search_bench.rare_words(directory, 600, seed=5)
    common = search_bench.COMMON
    asked: list[Query] = []
    for n, word in enumerate(rare):
        asked.append([("track", word, {}), ("track", f"{common[n % len(common)]} {word}", {}),
                      ("artist", word, {})][n % 3])  # fmt: skip
    samples = [
        match_bench.inputs(sample, "exact")
        for sample in match_bench.sample_tracks(directory, 1400, seed=13)
    ]
    return [
        Case("in-process search, 1 thread", asked[:150], 1, 1, searches),
        Case("in-process search, 16 threads", asked[150:], 16, 1, searches),
        Case("in-process match, 1 thread", samples[:200], 1, 1, matches_one_by_one),
        Case("in-process match, 16 threads", samples[200:800], 16, 1, matches_one_by_one),
        Case(
            f"in-process match_tracks {MATCH_BATCH}, 1 caller",
            samples[800:],
            1,
            MATCH_BATCH,
            matches_together,
        ),
    ]


def isrc_cases(fresh: Sequence[str]) -> list[Case[str]]:
    # sized so that mmap's cold passes (about 40 lookups/s on one thread) stay under a minute
    return [
        Case("in-process single, 1 thread", fresh[:600], 1, 1, isrc_lookups),
        Case("in-process single, 16 threads", fresh[600:3000], 16, 1, isrc_lookups),
        Case(f"in-process batch {BATCH}, 1 caller", fresh[3000:5400], 1, BATCH, isrc_lookups),
    ]


def measure_inprocess(directory: Path, mode: str, cases: Sequence[Case[Any]]) -> list[Figure]:
    figures = []
    for case in cases:
        for state in ("cold", "warm"):
            if state == "cold":
                evict(directory)
            with Snapshot.open(directory, mmap=mode) as snapshot:
                call = case.call(snapshot)
                if state == "warm":  # the same items again: every page they need is cached
                    threaded(case.items, 4, case.batch, call)()
                rate, items, read = _timed(threaded(case.items, case.threads, case.batch, call))
            figures.append(Figure(case.name, mode, state, rate, items, read))
            say(_line(figures[-1]))
    return figures


def post_each_once(port: int, path: str, bodies: Sequence[bytes], connections: int) -> float:
    """Seconds to POST every body once over `connections` keep-alive connections.

    Batches are timed this way rather than by wrk: in a fixed duration wrk counts
    whole batches (at 2 s, steps of 200 items/s), and a longer run would ask the
    same keys again, warm. Here every batch counts and no key is asked twice.
    """
    pending = iter(bodies)
    lock = threading.Lock()
    failures: list[str] = []

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            while not failures:
                with lock:
                    body = next(pending, None)
                if body is None:
                    return
                connection.request("POST", path, body, {"content-type": "application/json"})
                answer = connection.getresponse()
                answer.read()
                if answer.status != 200:
                    failures.append(f"{path}: HTTP {answer.status}")
        except (OSError, http.client.HTTPException) as exc:  # a batch lost: no rate at all
            failures.append(f"{path}: {exc}")
        finally:
            connection.close()

    clients = [threading.Thread(target=client) for _ in range(connections)]
    started = time.perf_counter()
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    if failures:
        raise BenchError(failures[0])
    return time.perf_counter() - started


def measure_http(
    directory: Path, mode: str, fresh: Sequence[str], seconds: int, logs: Path
) -> list[Figure]:
    figures = []
    logs.mkdir(parents=True, exist_ok=True)
    port = free_port()
    start = [PYTHON, "-c", ON_THE_LOOP] if mode == "off-loop" else [PYTHON, "-m", "snapshot_api"]
    argv = [*start, "serve", str(directory), "--host", "127.0.0.1",
            "--port", str(port), "--workers", "1", "--rate", "0",
            "--mmap", mode.removesuffix("-loop"),
            "--max-batch-items", str(BATCH), "--log-level", "warning"]  # fmt: skip
    half = len(fresh) // 2
    single = wrk.write_get_script(
        logs / f"cold-single-{mode}.lua", [isrc_path(k) for k in fresh[:half]]
    )
    bodies = [orjson.dumps({"isrcs": list(fresh[i : i + BATCH])})
              for i in range(half, len(fresh) - BATCH + 1, BATCH)]  # fmt: skip
    cases = [("HTTP single, 1 connection", single, 1, 1),
             ("HTTP single, 16 connections", single, 16, 1),
             (f"HTTP batch {BATCH}, 1 connection", None, 1, BATCH),
             (f"HTTP batch {BATCH}, 4 connections", None, 4, BATCH)]  # fmt: skip

    def run(server: Background, state: str, case: str, script: Path | None, connections: int,
            per_request: int) -> None:  # fmt: skip
        before = Counters.of(server.pid)
        if script is None:
            seconds_taken = post_each_once(port, "/batch/lookup", bodies, connections)
            items = len(bodies) * per_request
            rate = items / seconds_taken
        else:
            result = wrk.run(port, connections=connections, seconds=seconds, script=script)
            if result.bad_responses:
                raise BenchError(f"{case}: {result}")
            if result.socket_errors:  # requests slower than wrk's 10 s timeout: lost
                say(f"{mode} {case} {state}: {result.socket_errors} requests timed out (> 10 s)")
            items = result.requests * per_request
            rate = result.requests_per_second * per_request
        read = Counters.of(server.pid).minus(before)
        figures.append(Figure(case, mode, state, rate, items, read))
        say(_line(figures[-1]))

    log = logs / f"cold-server-{mode}.log"
    # A fresh server per cold case: pages a process has mapped and touched stay resident
    # (neither drop_caches nor DONTNEED evicts them), so a running mmap server is never cold.
    for case, script, connections, per_request in cases:
        evict(directory)
        with Background(argv, log=log) as server:
            wait_until_answers(server, port, "/health", 60)
            run(server, "cold", case, script, connections, per_request)
    warm(directory)
    with Background(argv, log=log) as server:
        wait_until_answers(server, port, "/health", 60)
        for case, script, connections, per_request in cases:
            run(server, "warm", case, script, connections, per_request)
    return figures


def render(
    directory: Path, figures: list[Figure], limits: dict[int, float], method: str, took: float
) -> str:
    files = [p for p in directory.iterdir() if p.suffix == ".sqlite3"]
    size = total_bytes(files)
    available = mem_available()
    auto = "mmap" if use_mmap(ReadMode.AUTO, size, available) else "pread"
    per_lookup_pages = [
        f.pages_per_item
        for f in figures
        if f.state == "cold" and f.mode == "off" and not any(w in f.case for w in NAME_WORK)
    ]
    pages = sorted(per_lookup_pages)[len(per_lookup_pages) // 2] if per_lookup_pages else 30.0
    lines = [
        f"Generated by `python -m tools.bench.cold {directory}` in {took / 60:.1f} minutes "
        f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())} at the end).",
        "",
        f"Snapshot: {size / 1e9:.1f} GB of SQLite files; MemAvailable "
        f"{(available or 0) / 2**30:.1f} GiB, so `--mmap auto` picks {auto} here. "
        f"Cold = right after {method}; warm = the same keys again. `on` is the read mode "
        "before this change (every file mapped); `off` reads with `pread`, readahead off "
        f"(`POSIX_FADV_RANDOM`), many-key lookups split across {READ_THREADS} reader threads "
        "and, over HTTP, single lookups run on those threads.",
        "",
        "Disk's own limit, measured in the same run (fio, O_DIRECT random 4 KiB reads on the "
        "main file): "
        + ", ".join(f"{iops:,.0f} reads/s at queue depth {depth}" for depth, iops in limits.items())
        + f"; at the {pages:.0f} pages a cold lookup reads (median below), that is "
        + ", ".join(
            f"{iops / pages:,.0f} lookups/s at depth {depth}" for depth, iops in limits.items()
        )
        + ".",
        "",
        "| case | mode | state | items/s | share of the disk limit | KiB read / item | "
        "4 KiB pages read / item | major faults / item |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    best = max(limits.values())
    for f in figures:
        share = (
            f"{f.items_per_second * f.pages_per_item / best:.0%}"
            if f.state == "cold" and 0 < f.kib_per_item <= RANDOM_READ_KIB
            else ""
        )
        lines.append(
            f"| {f.case} | {f.mode} | {f.state} | {f.items_per_second:,.0f} | {share} | "
            f"{f.kib_per_item:,.1f} | {f.pages_per_item:,.1f} | {f.faults_per_item:,.2f} |"
        )
    lines.append("")
    lines.append(
        "Share of the disk limit: 4 KiB pages read per second over the disk's best measured "
        "random reads per second. Not shown for mapped reads of megabytes per item: those "
        "are readahead, large sequential reads, which a random-read limit does not bound."
    )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.cold", description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--modes", default="on,off")
    parser.add_argument(
        "--seconds",
        type=int,
        default=2,
        help="per wrk run (default 2: wrk cycles through its keys, and at 10 s a cold run "
        "at 1,500 lookups/s asked most keys again, warm)",
    )
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--no-inprocess", action="store_true")
    parser.add_argument("--no-names", action="store_true", help="no search or match cases")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    directory: Path = args.directory
    main_file = directory / "spotify_clean.sqlite3"
    limits = {depth: disk_limit(main_file, depth, 5) for depth in (1, 16, 32)}
    say(f"disk: {limits}")
    fresh = bench_keys.sample(directory, 40_000, 11, [Kind.ISRC]).of(Kind.ISRC)
    cases: list[Case[Any]] = [*isrc_cases(fresh), *([] if args.no_names else name_cases(directory))]
    method = evict(directory)
    figures: list[Figure] = []
    for mode in args.modes.split(","):
        if not args.no_inprocess and mode != "off-loop":
            figures += measure_inprocess(directory, mode, cases)
        if not args.no_http:
            figures += measure_http(
                directory, mode, fresh[16_000:], args.seconds, directory.parent / "logs"
            )
    text = render(directory, figures, limits, method, time.perf_counter() - started)
    if args.output:
        args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
