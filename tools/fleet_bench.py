"""Several hosts, measured on one: `python -m tools.fleet_bench`.

1. The rate limiter's cost over HTTP: `snapshot-api serve` (the built-in
   sample, one worker) loaded by wrk at 16 connections with limiting off, with
   the shared-memory table and with Redis (a temporary `redis-server`, or
   `--redis URL`); the rate is huge so every request is admitted and the
   common path is what is timed. The added cost per request is the difference
   of 1 / throughput (one worker on one core is CPU-bound).
2. Fleet throughput: Caddy (the shipped Caddyfile) in front of one server,
   then in front of two, limiting off. On one machine the servers and Caddy
   share its cores, so this shows what balancing costs and whether a second
   server helps when cores are free, not what two hosts give.
Each figure is the median of `--runs` wrk runs of `--seconds` each.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tools.bench.wrk import WrkResult, run
from tools.ratelimit_overhead import temporary_redis

ROOT = Path(__file__).resolve().parents[1]
PATH = "/lookup/isrc/USAAA0000001"
HUGE = ["--rate", "1000000000", "--burst", "1000000000"]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{process.args!r} did not answer {url}") from None
            time.sleep(0.1)


@contextlib.contextmanager
def server(*options: str) -> Iterator[int]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "snapshot_api", "serve", "--port", str(port),
         "--log-level", "warning", *options],
        cwd=ROOT, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{port}/ready", process)
        yield port
    finally:
        process.terminate()
        process.wait(60)


@contextlib.contextmanager
def caddy(upstreams: list[int]) -> Iterator[int]:
    program = shutil.which("caddy")
    if program is None:
        raise SystemExit("caddy is not installed (apt-get install caddy)")
    port = free_port()
    with tempfile.TemporaryDirectory() as home:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SNAPSHOT_API_")},
            "HOME": home,
            "XDG_DATA_HOME": home,
            "XDG_CONFIG_HOME": home,
            "SNAPSHOT_API_SITE_ADDRESS": f"http://127.0.0.1:{port}",
            "SNAPSHOT_API_UPSTREAM": " ".join(f"127.0.0.1:{p}" for p in upstreams),
            "SNAPSHOT_API_CADDY_ADMIN": "off",
        }
        process = subprocess.Popen(
            [program, "run", "--config", str(ROOT / "Caddyfile"), "--adapter", "caddyfile"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_for(f"http://127.0.0.1:{port}/ready", process)
            time.sleep(2.5)  # one health-check round: every upstream in rotation
            yield port
        finally:
            process.terminate()
            process.wait(30)


def median_of(port: int, runs: int, seconds: int) -> tuple[float, float]:
    """Median requests/s and p50 (ms) over `runs` clean wrk runs at 16 connections."""
    run(port, connections=16, seconds=2, path=PATH)  # warm-up, not counted
    results: list[WrkResult] = []
    for _ in range(runs):
        result = run(port, connections=16, seconds=seconds, path=PATH)
        if not result.clean:
            raise SystemExit(f"wrk saw errors: {result}")
        results.append(result)
    return (
        statistics.median(r.requests_per_second for r in results),
        statistics.median(r.p50_ms for r in results),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.fleet_bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--redis", metavar="URL", help="an existing Redis (default: start one)")
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        url = args.redis or stack.enter_context(temporary_redis())
        configs = {
            "limiting off": ["--rate", "0"],
            "bucket table": HUGE,
            "Redis": [*HUGE, "--rate-limit-redis", url],
        }
        print(f"HTTP, one worker, wrk -c16 {PATH} (median of {args.runs} x {args.seconds} s)")
        off = None
        for name, options in configs.items():
            with server(*options) as port:
                rps, p50 = median_of(port, args.runs, args.seconds)
            off = off or rps
            added = (1 / rps - 1 / off) * 1e6
            print(f"  {name:22} {rps:8,.0f} req/s  p50 {p50:6.2f} ms  +{added:6.1f} us/request")
    print("Fleet behind Caddy, limiting off, one worker per server")
    with server("--rate", "0") as first, server("--rate", "0") as second:
        for upstreams in ([first], [first, second]):
            with caddy(upstreams) as port:
                rps, p50 = median_of(port, args.runs, args.seconds)
            print(f"  {len(upstreams)} server(s)           {rps:8,.0f} req/s  p50 {p50:6.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
