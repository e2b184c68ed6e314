"""Reliability load test: many clients, mixed lookups, rate limiting on, bounded in time.

    python -m tools.loadtest DIR [--clients 64] [--greedy 16] [--duration 60] [--workers 2]
                                 [--rate 10] [--burst 20] [--json]

Starts `snapshot-api serve DIR` on a free port of 127.0.0.1 (or uses `--url`,
which must be a loopback address), samples real identifiers from the snapshot,
then runs `--clients` concurrent keep-alive clients for `--duration` seconds
of single lookups (tracks, ISRCs, albums, barcodes, artists, album tracks, a
few unknown ids) and batches of 20 to 200 mixed items. Each client is its own
client address (an `X-Forwarded-For` from loopback, a trusted proxy by
default). Two kinds of client:

- *greedy* ones send as fast as they can: each should be admitted its whole
  allowance, `burst + rate x seconds` tokens, and not one token more;
- *polite* ones pace themselves at half the rate: none should ever see a 429,
  however hard the greedy ones push.

It reports status counts, connection errors, latencies, the 429 share against
the share predicted by replaying every client's requests through a token
bucket on the client side (and how many decisions match), the server's
resident memory (all its processes; their own and file-mapped pages apart)
before and after, and whether `serve` exited with status 0 on SIGTERM. The exit status is 1 when a
reliability check fails: any 5xx, any connection error, a polite client
refused, a greedy client admitted more than its allowance, or an unclean exit.
Traffic goes to loopback only, and everything stops by itself.

One file of some 500 lines (identifiers to ask for, a keep-alive client, the
server under test, the run and its report) so that this developer program
reads top to bottom as one run; nothing in it is shared with anything else.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import apsw

from snapshot_api.layout import Role, find_dump_files
from tools.bench.processes import free_port

ITEMS_PER_TOKEN = 50
REQUEST_TIMEOUT = 30.0
SAMPLES = 2000


# -- identifiers to ask for ---------------------------------------------------------------------


@dataclass(slots=True)
class Samples:
    tracks: list[str] = field(default_factory=list)
    isrcs: list[str] = field(default_factory=list)
    albums: list[str] = field(default_factory=list)
    upcs: list[str] = field(default_factory=list)
    artists: list[str] = field(default_factory=list)


def sample_identifiers(directory: Path, count: int, seed: int) -> Samples:
    """Real identifiers, by random rowid: point lookups only, read-only and immutable."""
    files = find_dump_files(directory)
    if Role.MAIN not in files or files[Role.MAIN].compressed:
        raise SystemExit(f"loadtest: {directory} holds no decompressed main database")
    uri = f"file:{files[Role.MAIN].path}?mode=ro&immutable=1"
    connection = apsw.Connection(uri, flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI)
    rng = random.Random(seed)
    samples = Samples()
    try:
        (top_track,) = connection.execute("SELECT max(rowid) FROM tracks").fetchone() or (0,)
        (top_artist,) = connection.execute("SELECT max(rowid) FROM artists").fetchone() or (0,)
        if not top_track or not top_artist:
            raise SystemExit(f"loadtest: {directory} has no tracks or artists")
        for _ in range(count):
            row = connection.execute(
                "SELECT t.id, t.external_id_isrc, a.id, a.external_id_upc "
                "FROM tracks AS t JOIN albums AS a ON a.rowid = t.album_rowid WHERE t.rowid = ?",
                (rng.randint(1, top_track),),
            ).fetchone()
            if row is not None:
                track, isrc, album, upc = row
                samples.tracks.append(track)
                samples.albums.append(album)
                if isrc:
                    samples.isrcs.append(isrc)
                if upc:
                    samples.upcs.append(upc)
            artist = connection.execute(
                "SELECT id FROM artists WHERE rowid = ?", (rng.randint(1, top_artist),)
            ).fetchone()
            if artist is not None:
                samples.artists.append(artist[0])
    finally:
        connection.close()
    if not samples.tracks or not samples.artists:
        raise SystemExit("loadtest: could not sample identifiers")
    samples.isrcs = samples.isrcs or ["USRC17607839"]
    samples.upcs = samples.upcs or ["012345678905"]
    return samples


class Traffic:
    """Makes the next request of the mix: (raw HTTP/1.1 request bytes, its token cost)."""

    def __init__(self, samples: Samples, host: str, rng: random.Random) -> None:
        self.samples = samples
        self.host = host
        self.rng = rng

    def _get(self, path: str, client: bytes) -> bytes:
        return (
            f"GET {path} HTTP/1.1\r\nhost: {self.host}\r\n".encode()
            + b"x-forwarded-for: "
            + client
            + b"\r\n\r\n"
        )

    def next(self, client: bytes) -> tuple[bytes, int]:
        s, pick, roll = self.samples, self.rng.choice, self.rng.random()
        if roll < 0.80:
            if roll < 0.30:
                path = "/lookup/track/" + pick(s.tracks)
            elif roll < 0.50:
                path = "/lookup/isrc/" + pick(s.isrcs)
            elif roll < 0.60:
                path = "/lookup/album/" + pick(s.albums)
            elif roll < 0.66:
                path = "/lookup/upc/" + pick(s.upcs)
            elif roll < 0.72:
                path = "/lookup/artist/" + pick(s.artists)
            elif roll < 0.77:
                path = f"/lookup/album/{pick(s.albums)}/tracks"
            else:
                path = "/lookup/track/" + "".join(self.rng.choices("ABCDEFabcdef0123456789", k=22))
            return self._get(path, client), 1
        size = self.rng.randint(20, 200)
        kinds = {"tracks": s.tracks, "isrcs": s.isrcs, "albums": s.albums, "upcs": s.upcs,
                 "artists": s.artists}  # fmt: skip
        body: dict[str, list[str]] = {}
        for _ in range(size):
            kind = self.rng.choice(list(kinds))
            body.setdefault(kind, []).append(self.rng.choice(kinds[kind]))
        distinct = sum(len(set(values)) for values in body.values())
        payload = json.dumps(body).encode()
        request = (
            f"POST /batch/lookup HTTP/1.1\r\nhost: {self.host}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(payload)}\r\n".encode()
            + b"x-forwarded-for: "
            + client
            + b"\r\n\r\n"
            + payload
        )
        return request, -(-distinct // ITEMS_PER_TOKEN)


# -- a small HTTP/1.1 keep-alive client ---------------------------------------------------------


class ProtocolError(Exception):
    pass


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response: (status, whether the server will close the connection)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise ProtocolError(f"bad status line {lines[0][:80]!r}")
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
    if b"content-length" in headers:
        await reader.readexactly(int(headers[b"content-length"]))
    elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        raise ProtocolError("response without a length")
    return int(parts[1]), headers.get(b"connection", b"").lower() == b"close"


@dataclass(slots=True)
class ClientResult:
    greedy: bool
    statuses: Counter[int] = field(default_factory=Counter)
    admitted_tokens: int = 0
    refused: int = 0
    connection_errors: int = 0
    latencies: list[float] = field(default_factory=list)
    demanded_tokens: int = 0
    first_sent: float = 0.0
    last_done: float = 0.0
    """Its bucket exists from its first request on: the window its allowance is counted over."""
    requests: list[tuple[float, int, bool]] = field(default_factory=list)
    """(moment between sending and the answer, cost, admitted) of every answered request."""

    def allowance(self, rate: float, burst: int) -> float:
        return burst + rate * max(0.0, self.last_done - self.first_sent)

    def replay(self, rate: float, burst: int) -> list[bool]:
        """What a token bucket decides for this client's requests at the moments they were made.

        The server decided each one somewhere between sending and answer; the
        middle of that span stands for it. Under light load spans are short
        and the replay is exact; under heavy load a few decisions near the
        edge of the bucket may fall the other way.
        """
        decisions = []
        tokens, last = float(burst), None
        for moment, cost, _ in self.requests:
            if last is not None:
                tokens = min(float(burst), tokens + (moment - last) * rate)
            last = moment
            admitted = tokens + 1e-9 >= cost
            if admitted:
                tokens -= cost
            decisions.append(admitted)
        return decisions


_TRANSPORT_ERRORS = (
    OSError,
    TimeoutError,
    asyncio.IncompleteReadError,
    asyncio.LimitOverrunError,
    ProtocolError,
    ValueError,
)


async def run_client(
    host: str,
    port: int,
    address: bytes,
    traffic: Traffic,
    deadline: float,
    greedy: bool,
    pace: float,
) -> ClientResult:
    """One client: keep-alive requests until the deadline; polite ones spend `pace` tokens/s."""
    result = ClientResult(greedy=greedy)
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    next_send = time.monotonic()
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        if not greedy:
            delay = next_send - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if loop.time() >= deadline:
                break
        request, cost = traffic.next(address)
        try:
            if connection is None:
                connection = await asyncio.wait_for(
                    asyncio.open_connection(host, port), REQUEST_TIMEOUT
                )
            reader, writer = connection
            started = time.monotonic()
            if not result.first_sent:
                result.first_sent = started
            writer.write(request)
            status, closing = await asyncio.wait_for(read_response(reader), REQUEST_TIMEOUT)
            result.last_done = time.monotonic()
            result.latencies.append(result.last_done - started)
            moment = (started + result.last_done) / 2
        except _TRANSPORT_ERRORS:
            result.connection_errors += 1
            if connection is not None:
                connection[1].close()
            connection = None
            continue
        result.statuses[status] += 1
        result.demanded_tokens += cost
        result.requests.append((moment, cost, status != 429))
        if status == 429:
            result.refused += 1
        else:
            result.admitted_tokens += cost
        # A polite client waits after each answer for the tokens it spent to come
        # back at half the rate; it never catches up after a slow answer, so the
        # server's decisions about it are at least that far apart.
        next_send = time.monotonic() + cost / pace
        if closing:
            writer.close()
            connection = None
    if connection is not None:
        connection[1].close()
    return result


# -- the server under test ----------------------------------------------------------------------


def process_tree_memory(pid: int) -> dict[str, int]:
    """Resident memory of a process and its descendants, in bytes (Linux /proc).

    `anonymous` is the processes' own memory (heaps, the rate-limit table);
    `file` is mapped file pages, mostly SQLite's memory-mapped database, which
    the kernel can drop at will.
    """
    totals = {"rss": 0, "anonymous": 0, "file": 0, "processes": 0}
    fields = {"VmRSS": "rss", "RssAnon": "anonymous", "RssFile": "file"}
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        totals["processes"] += 1
        for line in status.splitlines():
            name, _, rest = line.partition(":")
            if name in fields:
                totals[fields[name]] += int(rest.split()[0]) * 1024
        pending.extend(int(child) for child in children)
    return totals


def wait_ready(host: str, port: int, process: subprocess.Popen[bytes] | None) -> None:
    deadline = time.monotonic() + 120
    request = f"GET /ready HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n".encode()
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"loadtest: serve exited with status {process.returncode}")
        try:
            with socket.create_connection((host, port), timeout=2) as sock:
                sock.sendall(request)
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("loadtest: the server did not become ready within 120 s")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- the run ------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def drive(
    host: str, port: int, samples: Samples, args: argparse.Namespace
) -> tuple[list[ClientResult], float]:
    rng = random.Random(args.seed)
    traffic = Traffic(samples, f"{host}:{port}", rng)
    loop = asyncio.get_running_loop()
    start = loop.time()
    deadline = start + args.duration
    pace = args.rate / 2
    tasks = []
    for n in range(args.clients):
        # 198.18.0.0/15 is set aside for benchmarks: never a real client.
        address = f"198.18.{n // 250}.{n % 250 + 1}".encode()
        tasks.append(run_client(host, port, address, traffic, deadline, n < args.greedy, pace))
    results = await asyncio.wait_for(asyncio.gather(*tasks), args.duration + 2 * REQUEST_TIMEOUT)
    return list(results), loop.time() - start


def report(
    results: list[ClientResult],
    elapsed: float,
    args: argparse.Namespace,
    memory: tuple[dict[str, int], dict[str, int]] | None,
    exit_status: int | None,
) -> tuple[dict[str, object], list[str]]:
    statuses: Counter[int] = Counter()
    for result in results:
        statuses.update(result.statuses)
    total = sum(statuses.values())
    greedy = [r for r in results if r.greedy]
    polite = [r for r in results if not r.greedy]
    # Every decision the server made, against a token bucket replayed client-side.
    predicted_refused = agreeing = 0
    ratios = []
    for r in results:
        replayed = r.replay(args.rate, args.burst)
        predicted_refused += replayed.count(False)
        agreeing += sum(p == a for p, (_, _, a) in zip(replayed, r.requests, strict=True))
        if r.greedy:
            due = sum(cost for (_, cost, _), p in zip(r.requests, replayed, strict=True) if p)
            ratios.append(r.admitted_tokens / due if due else 1.0)
    latencies = [t for r in results for t in r.latencies]
    failures = []
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    connection_errors = sum(r.connection_errors for r in results)
    if server_errors:
        failures.append(f"{server_errors} answers with status 5xx")
    if connection_errors:
        failures.append(f"{connection_errors} connection errors")
    polite_refused = sum(r.refused for r in polite)
    if polite_refused:
        failures.append(f"{polite_refused} refusals of clients staying under the rate")
    slack = 4  # one batch admitted at the very end of the window
    if any(r.admitted_tokens > r.allowance(args.rate, args.burst) + slack for r in results):
        failures.append("a greedy client was admitted more than its allowance")
    if exit_status not in (None, 0):
        failures.append(f"serve exited with status {exit_status} on SIGTERM")
    figures: dict[str, object] = {
        "clients": args.clients,
        "greedy_clients": len(greedy),
        "seconds": round(elapsed, 2),
        "requests": total,
        "requests_per_second": round(total / elapsed, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "connection_errors": connection_errors,
        "share_429": round(statuses[429] / total, 4) if total else 0.0,
        "predicted_share_429": round(predicted_refused / total, 4) if total else 0.0,
        "decisions_matching_replay": round(agreeing / total, 4) if total else 1.0,
        "allowance_tokens": round(args.burst + args.rate * elapsed, 1),
        "greedy_admitted_over_replay": {
            "min": round(min(ratios), 4) if ratios else None,
            "max": round(max(ratios), 4) if ratios else None,
        },
        "polite_refused": polite_refused,
        "latency_ms": {
            "p50": round(percentile(latencies, 0.50) * 1000, 2),
            "p99": round(percentile(latencies, 0.99) * 1000, 2),
            "max": round(max(latencies, default=0.0) * 1000, 2),
        },
        "server_memory_before": memory[0] if memory else None,
        "server_memory_after": memory[1] if memory else None,
        "serve_exit_status": exit_status,
        "failures": failures,
    }
    return figures, failures


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("snapshot_dir", metavar="DIR", type=Path, help="a built snapshot")
    parser.add_argument("--url", help="an already running server on loopback (default: start one)")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--greedy", type=int, default=16, help="clients that ignore the limit")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=10.0, help="the server's --rate")
    parser.add_argument("--burst", type=int, default=20, help="the server's --burst")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.clients <= 1024 or not 0 <= args.greedy <= args.clients:
        print("loadtest: --clients must be 1..1024 and --greedy 0..clients", file=sys.stderr)
        return 2
    if not 1 <= args.duration <= 600 or args.rate <= 0:
        print("loadtest: --duration must be 1..600 s and --rate above 0", file=sys.stderr)
        return 2
    samples = sample_identifiers(args.snapshot_dir, SAMPLES, args.seed)
    process: subprocess.Popen[bytes] | None = None
    if args.url:
        parts = urlsplit(args.url)
        host, port = parts.hostname or "", parts.port or 80
        if not is_loopback(host):
            print("loadtest: --url must be a loopback address", file=sys.stderr)
            return 2
    else:
        host, port = "127.0.0.1", free_port()
        command = [
            sys.executable, "-m", "snapshot_api", "serve", str(args.snapshot_dir),
            "--host", host, "--port", str(port), "--workers", str(args.workers),
            "--rate", str(args.rate), "--burst", str(args.burst), "--log-level", "warning",
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPSHOT_API_")}
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    exit_status: int | None = None
    memory: tuple[dict[str, int], dict[str, int]] | None = None
    try:
        wait_ready(host, port, process)
        before = process_tree_memory(process.pid) if process else {}
        results, elapsed = asyncio.run(drive(host, port, samples, args))
        if process is not None:
            memory = (before, process_tree_memory(process.pid))
    finally:
        if process is not None:
            process.send_signal(signal.SIGTERM)
            try:
                exit_status = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                exit_status = process.wait()
    figures, failures = report(results, elapsed, args, memory, exit_status)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for name, value in figures.items():
            print(f"{name:32} {value}")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.loadtest", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
