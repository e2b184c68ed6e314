"""Real server processes for HTTP tests: `snapshot-api serve`, and the pieces every harness shares.

Each server is started the way a user starts it (`python -m snapshot_api serve
DIR --port 0 ...`); the port it got is read from its JSON start-up line, and
`start_server` waits for `/health` before handing it out (fixtures are in
conftest.py). `wait_until_answers` and `free_port` are the one way the test
harnesses (this one, the rate-limit app, Caddy) wait for a process to serve.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson

from snapshot_api.config import ServeSettings
from tests.support.fixtures import ROOT

SHARED_SERVER_SETTINGS = ServeSettings(rate=0, max_batch_items=20, max_body_bytes=4096)
"""The shared `server`: rate limiting off, small limits for the limit tests."""
START_TIMEOUT = 30.0


def free_port() -> int:
    """A loopback TCP port nothing listens on right now (for programs that cannot take 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_answers(
    url: str,
    process: subprocess.Popen[bytes],
    *,
    timeout: float = START_TIMEOUT,
    status: int | None = 200,
    context: Callable[[], str] = lambda: "",
) -> None:
    """Poll `url` until it answers (with `status`, unless None) while `process` lives.

    Raises RuntimeError if the process exits first and TimeoutError after
    `timeout` seconds; both messages end with `context()` (its stderr, a log).
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = httpx.get(url, timeout=2)
            if status is None or answer.status_code == status:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}: {context()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout:.0f} s: {context()}")
        time.sleep(0.05)


class ServerProcess:
    """One `snapshot-api serve` process; its stdout (JSON log lines) is collected."""

    def __init__(self, directory: Path | None, *args: str, env: dict[str, str] | None = None):
        command = [sys.executable, "-m", "snapshot_api", "serve"]
        if directory is not None:
            command.append(str(directory))
        command += ["--host", "127.0.0.1", "--port", "0", *args]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
        self.lines: list[dict[str, object]] = []
        self.raw_lines: list[bytes] = []
        self._port: int | None = None
        self._seen = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.stderr = b""

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            with self._seen:
                self.raw_lines.append(raw)
                try:
                    line = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    line = {"unparsed": raw.decode(errors="replace")}
                self.lines.append(line)
                if line.get("event") == "serving":
                    self._port = int(str(line["port"]))
                self._seen.notify_all()
        with self._seen:
            self._seen.notify_all()

    @property
    def port(self) -> int:
        assert self._port is not None
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = START_TIMEOUT) -> ServerProcess:
        deadline = time.monotonic() + timeout
        with self._seen:
            while self._port is None:
                if self.process.poll() is not None:
                    raise RuntimeError(f"server exited: {self.read_stderr()!r}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("no start-up line")
                self._seen.wait(min(remaining, 0.2))
        wait_until_answers(
            self.url + "/health",
            self.process,
            timeout=max(deadline - time.monotonic(), 0.1),
            context=self.read_stderr,
        )
        return self

    def events(self, name: str) -> list[dict[str, object]]:
        with self._seen:
            return [line for line in self.lines if line.get("event") == name]

    def wait_for(self, predicate: object, timeout: float = 10.0) -> dict[str, object]:
        """The first log line for which `predicate(line)` holds, waiting for it to appear."""
        assert callable(predicate)
        deadline = time.monotonic() + timeout
        with self._seen:
            while True:
                for line in self.lines:
                    if predicate(line):
                        return line
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("no such log line")
                self._seen.wait(min(remaining, 0.2))

    def read_stderr(self) -> str:
        if self.process.poll() is not None and self.process.stderr is not None:
            self.stderr += self.process.stderr.read()
        return self.stderr.decode(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 40.0) -> int:
        """Send `sig` and wait for the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            status = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            status = self.process.wait()
        self._reader.join(5)
        self.read_stderr()
        return status


def start_server(
    directory: Path | None, *args: str, env: dict[str, str] | None = None
) -> ServerProcess:
    server = ServerProcess(directory, *args, env=env)
    try:
        return server.wait_ready()
    except BaseException:
        server.stop(signal.SIGKILL)
        raise
