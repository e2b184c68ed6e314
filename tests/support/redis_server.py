"""A real `redis-server` on a free loopback port, in its own temporary directory.

Started, killed (SIGKILL, like a crash) and started again on the same port by
the tests that check the rate limiter's behaviour when Redis goes away.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

from tests.support.server_process import free_port
from tests.support.tools import require_program


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """`redis-server` with no persistence, bound to 127.0.0.1 on `port`."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.program = require_program("redis-server", "redis-server")
        self.directory = directory
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                self.program,
                "--bind", "127.0.0.1",
                "--port", str(self.port),
                "--dir", str(self.directory),
                "--save", "",
                "--appendonly", "no",
                "--protected-mode", "yes",
                "--daemonize", "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 15
        while not _answers(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start: {self.log_tail()}")
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: Redis vanishes as in a crash (connections reset, data gone)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def pause(self) -> None:
        """SIGSTOP: Redis still accepts connections but answers nothing (a stalled server)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self) -> str:
        path = self.directory / "redis.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def client(self) -> redis.Redis:
        """A plain synchronous client, for tests that look at what the limiter stored."""
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)
