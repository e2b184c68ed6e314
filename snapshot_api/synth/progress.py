"""Progress on stderr: rows done, rate and ETA while loading, then each finishing step.

On a terminal one line is rewritten in place a few times a second; into a file
or pipe a line is written every `PIPE_INTERVAL` seconds, so logs stay short.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

TTY_INTERVAL = 0.5
PIPE_INTERVAL = 10.0


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class Progress:
    """Reports `done` of `total` units; silent when not enabled."""

    def __init__(
        self, total: int, unit: str, *, enabled: bool = True, stream: TextIO | None = None
    ) -> None:
        self.total = total
        self.unit = unit
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.origin = self.started = time.monotonic()
        self._last = 0.0
        self._open_line = False

    def restart(self) -> None:
        """Measure the rate from now on (after a preparatory phase)."""
        self.started = time.monotonic()

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < (TTY_INTERVAL if self.tty else PIPE_INTERVAL) and done < self.total:
            return
        self._last = now
        elapsed = max(now - self.started, 1e-9)
        rate = done / elapsed
        eta = (self.total - done) / rate if rate > 0 else 0.0
        share = 100.0 * done / self.total if self.total else 100.0
        self._write(
            f"synth: {done:,}/{self.total:,} {self.unit} ({share:.1f}%), "
            f"{rate:,.0f} {self.unit}/s, ETA {_duration(eta)}"
        )

    def step(self, what: str) -> None:
        """A finishing step (an index, ANALYZE), with the time since the start."""
        if not self.enabled:
            return
        now = time.monotonic()
        self._write(f"synth: {what} (at {_duration(now - self.origin)})", final=not self.tty)

    def done(self, message: str) -> None:
        if not self.enabled:
            return
        self._write(f"synth: {message}", final=True)

    def _write(self, line: str, *, final: bool = False) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K" + line + ("\n" if final else ""))
            self._open_line = not final
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty and self._open_line:
            self.stream.write("\n")
            self.stream.flush()
            self._open_line = False
