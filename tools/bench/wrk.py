"""Load with `wrk`: a C load generator, so the client is not what is measured.

Requests are varied and hit real data: a Lua script cycles through a list of
request paths (or POST bodies) made from sampled keys, one per request, never
one cached key. wrk sends no `If-None-Match`, so no answer is a 304. p50 and
p99 come from wrk's own latency distribution (`--latency`). Every run is
bounded (`--duration`, `--timeout`) and counts non-2xx answers and socket
errors, which invalidate a run rather than flatter it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tools.bench.processes import BenchError

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad_responses: int
    socket_errors: int

    @property
    def clean(self) -> bool:
        return self.bad_responses == 0 and self.socket_errors == 0 and self.requests > 0


def _lua_string(text: str) -> str:
    """A Lua long-bracket string literal that no content can close early."""
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def write_get_script(path: Path, request_paths: Sequence[str]) -> Path:
    """A script sending GET to each path in turn (each wrk thread starts elsewhere)."""
    items = ",\n".join(_lua_string(p) for p in request_paths)
    path.write_text(
        f"""local paths = {{
{items}
}}
local n = #paths
local i = 0
function setup(thread)
  thread:set("i", math.random(n))
end
function request()
  i = (i % n) + 1
  return wrk.format("GET", paths[i])
end
"""
    )
    return path


def write_post_script(path: Path, request_path: str, bodies: Sequence[str]) -> Path:
    """A script POSTing each JSON body in turn to `request_path`."""
    items = ",\n".join(_lua_string(b) for b in bodies)
    path.write_text(
        f"""local bodies = {{
{items}
}}
local n = #bodies
local i = 0
local headers = {{["Content-Type"] = "application/json"}}
function setup(thread)
  thread:set("i", math.random(n))
end
function request()
  i = (i % n) + 1
  return wrk.format("POST", {_lua_string(request_path)}, headers, bodies[i])
end
"""
    )
    return path


def wrk_binary() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise BenchError("wrk is not installed: apt-get install -y wrk")
    return path


def run(
    port: int,
    *,
    connections: int,
    seconds: int,
    script: Path | None = None,
    path: str = "/",
    threads: int = 1,
) -> WrkResult:
    """One wrk run against 127.0.0.1:`port`; bounded by `seconds` plus a margin."""
    argv = [
        wrk_binary(),
        f"--threads={min(threads, connections)}",
        f"--connections={connections}",
        f"--duration={seconds}s",
        "--timeout=10s",
        "--latency",
    ]
    if script is not None:
        argv.append(f"--script={script}")
    argv.append(f"http://127.0.0.1:{port}{path}")
    try:
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=seconds + 30, check=False
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk did not finish within {seconds + 30} s") from None
    if result.returncode != 0:
        raise BenchError(f"wrk failed: {(result.stderr or result.stdout).strip()[:200]}")
    return parse(result.stdout)


def _milliseconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if match is None:
        raise BenchError(f"cannot read wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse(output: str) -> WrkResult:
    """Figures from wrk's report (with `--latency`)."""
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    total = re.search(r"^\s*(\d+) requests in", output, re.MULTILINE)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    if rate is None or total is None or p50 is None or p99 is None:
        raise BenchError("cannot read wrk's output: " + " ".join(output.split())[:200])
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return WrkResult(
        requests_per_second=float(rate.group(1)),
        p50_ms=_milliseconds(p50.group(1)),
        p99_ms=_milliseconds(p99.group(1)),
        requests=int(total.group(1)),
        bad_responses=int(bad.group(1)) if bad else 0,
        socket_errors=sum(int(g) for g in errors.groups()) if errors else 0,
    )
