"""Child processes the benchmark starts: timed, measured, and always stopped.

Why it is done this way:
- Each step (synth, build, verify) runs as its own process and is reaped with
  `os.wait4`, which returns that one child's resource usage: its peak RSS is
  exact, not the maximum over every child so far (`RUSAGE_CHILDREN`).
- Servers and load generators run in their own session (process group), so
  stopping one also stops its workers; `Background.__exit__` runs on errors
  and on Ctrl-C (a SIGTERM to the benchmark is turned into the same path), and
  nothing outlives the run.
- Memory is read as `RssAnon` from /proc: pages of memory-mapped snapshot files
  are the page cache's, shared and reclaimable, and would make a 10 GB map look
  like 10 GB of process memory.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

PYTHON = sys.executable


_STARTED = time.monotonic()


def say(message: str) -> None:
    """A progress line on stdout with the time since the benchmark started."""
    elapsed = time.monotonic() - _STARTED
    print(f"bench [{int(elapsed // 60):02d}:{elapsed % 60:04.1f}] {message}", flush=True)


class BenchError(Exception):
    """A step of the benchmark failed; the message says which and why, in one line."""


@dataclass(frozen=True, slots=True)
class Measured:
    """One finished child: wall time, its own peak RSS, exit status."""

    seconds: float
    peak_rss_kib: int
    returncode: int


def run_measured(
    argv: Sequence[str],
    *,
    log: Path,
    timeout: float,
    cwd: Path | None = None,
    show_progress: bool = True,
) -> Measured:
    """Run `argv` to completion (at most `timeout` s); stdout goes to `log` (truncated first).

    stderr (where our tools print progress) is passed through when
    `show_progress`, else appended to `log` too. A non-zero exit raises
    `BenchError` quoting the end of the log.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=None if show_progress else out,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            start_new_session=True,
        )
        try:
            status, usage = _wait4(process.pid, started + timeout)
        except BaseException:
            _kill_group(process.pid)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(process.pid, 0)
            raise
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-3:]
        raise BenchError(
            f"{' '.join(argv[:4])} ... exited with status {process.returncode}: "
            + (" | ".join(tail) or "no output")
        )
    return Measured(seconds, int(usage.ru_maxrss), process.returncode)


def _wait4(pid: int, deadline: float) -> tuple[int, resource.struct_rusage]:
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done == pid:
            return status, usage
        if time.perf_counter() > deadline:
            raise BenchError(f"process {pid} did not finish in time; stopped it")
        time.sleep(0.02)


def _kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


class Background:
    """A long-running child (a server, a load generator) stopped on exit whatever happens.

    Started in its own session; on exit its whole process group gets SIGTERM,
    then SIGKILL after `grace` seconds.
    """

    def __init__(self, argv: Sequence[str], *, log: Path, cwd: Path | None = None) -> None:
        self.argv = list(argv)
        self.log = log
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    @property
    def pid(self) -> int:
        if self.process is None:
            raise BenchError("process not started")
        return self.process.pid

    def start(self) -> Background:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log, "ab")  # noqa: SIM115 - closed with the process in stop()
        self.started_at = time.perf_counter()
        try:
            self.process = subprocess.Popen(
                self.argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.cwd,
                start_new_session=True,
            )
        finally:
            out.close()
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, grace: float = 5.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            _kill_group(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=grace)
        # workers of a stopped supervisor may linger in the group: always sweep it
        _kill_group(self.process.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace)

    def log_tail(self, lines: int = 3) -> str:
        try:
            text = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:])

    def __enter__(self) -> Background:
        return self.start() if self.process is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt so `with Background(...)` blocks clean up."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """One GET on 127.0.0.1 with a fresh connection: (status, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def http_post(port: int, path: str, body: bytes, timeout: float = 30.0) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("POST", path, body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_until_answers(server: Background, port: int, path: str, timeout: float) -> float:
    """Poll `path` every few ms until it answers 200; seconds since the process was started."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if not server.alive():
            raise BenchError(f"{server.argv[0]} exited during start-up: {server.log_tail()}")
        try:
            status, _body = http_get(port, path, timeout=2.0)
            if status == 200:
                return time.perf_counter() - server.started_at
        except OSError:
            pass
        time.sleep(0.005)
    raise BenchError(f"no answer on port {port}{path} after {timeout:.0f} s: {server.log_tail()}")


def rss_anon_kib(pid: int) -> int:
    """Anonymous resident memory of `pid` (heap, stacks; not mapped files), in KiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (workers of a supervisor), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name may hold spaces or parentheses: parse after the last ')'
        fields = stat[stat.rfind(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found
