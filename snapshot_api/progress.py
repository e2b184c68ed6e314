"""Progress display for long offline jobs (decompressing, indexing, checking 100+ GB).

One small reusable piece so every tool reports the same way: on a terminal, one
tidy line refreshed in place with `\\r` (done, total, rate, ETA); when stderr is
a file or a pipe (CI logs, `nohup`), a plain line every few seconds instead,
because a log full of carriage returns is unreadable. Always on stderr, so
stdout stays clean for reports and JSON.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

_BYTE_UNITS = ("B", "kB", "MB", "GB", "TB")


def format_bytes(count: float, digits: int = 1) -> str:
    """1234567 → '1.2 MB' (decimal units, as disks and download sizes are quoted)."""
    value = float(count)
    for unit in _BYTE_UNITS:
        if abs(value) < 1000 or unit == _BYTE_UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:,.{digits}f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def format_count(count: float) -> str:
    """1234567 → '1,234,567'."""
    return f"{count:,.0f}"


def format_duration(seconds: float) -> str:
    """75 → '1m15s'; 4000 → '1h06m'."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Progress:
    """Progress of one job, shown on `stream` (stderr by default).

    `update(done)` may be called as often as convenient: the display is redrawn
    at most `interval` seconds apart on a terminal and `log_interval` seconds
    apart otherwise (and once more when `done` reaches `total`), so calling it
    per chunk costs nothing measurable. Amounts in bytes read "1.0 MB of 2.0 MB
    (50%)", counts "1,000/2,000 tracks (50.0%)".
    """

    def __init__(
        self,
        label: str,
        total: float | None = None,
        *,
        unit: str = "rows",
        enabled: bool = True,
        stream: TextIO | None = None,
        interval: float = 0.2,
        log_interval: float = 10.0,
        estimate: bool = True,
    ) -> None:
        self.label = label
        self.estimate = estimate
        self.total = total
        self.unit = unit
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.interval = interval if self.tty else log_interval
        self.origin = self.started = time.monotonic()
        self.done = 0.0
        self.note = ""
        self._last_draw = self.started
        self._width = 0

    def _format_amount(self, amount: float) -> str:
        return format_bytes(amount) if self.unit == "bytes" else format_count(amount)

    def _rate(self, elapsed: float) -> str:
        rate = self.done / elapsed if elapsed > 0 else 0.0
        if self.unit == "bytes":
            return f"{format_bytes(rate)}/s"
        return f"{format_count(rate)} {self.unit}/s"

    def _share(self, total: float) -> str:
        share = min(self.done / total, 1.0)
        if self.unit == "bytes":
            return f"{format_bytes(self.done)} of {format_bytes(total)} ({share:.0%})"
        return f"{format_count(self.done)}/{format_count(total)} {self.unit} ({share:.1%})"

    def line(self) -> str:
        """The current status as one line (also used for the final summary)."""
        now = time.monotonic()
        elapsed = now - self.started
        parts = [self.label]
        if self.total:
            parts[0] += f": {self._share(self.total)}"
        elif self.done:
            parts[0] += f": {self._format_amount(self.done)}"
        if self.done and self.estimate:
            parts.append(self._rate(elapsed))
        if self.estimate and self.total and self.done:
            remaining = max(self.total - self.done, 0)
            parts.append(f"ETA {format_duration(elapsed * remaining / self.done)}")
        parts.append(f"elapsed {format_duration(now - self.origin)}")
        if self.note:
            parts.append(self.note)
        return ", ".join(parts)

    def update(self, done: float, *, note: str | None = None) -> None:
        """Record progress (an absolute amount) and redraw if it is time to."""
        self.done = done
        if note is not None:
            self.note = note
        if not self.enabled:
            return
        now = time.monotonic()
        finished = self.total is not None and done >= self.total
        if now - self._last_draw >= self.interval or finished:
            self._last_draw = now
            self._draw()

    def restart(self) -> None:
        """Measure rate and ETA from now on (after a preparatory phase); elapsed keeps counting."""
        self.started = time.monotonic()

    def step(self, what: str) -> None:
        """A stage without an amount (an index, ANALYZE), with the time since the start.

        On a terminal it replaces the status line; in a log it is a line of its own.
        """
        if self.enabled:
            self._draw(f"{self.label}: {what} (at {format_duration(self.elapsed)})")

    def _draw(self, text: str | None = None) -> None:
        text = self.line() if text is None else text
        if self.tty:
            padding = max(0, self._width - len(text))
            self.stream.write("\r" + text + " " * padding)
            self._width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def finish(self, summary: str | None = None) -> None:
        """End the display with a final line (the summary, or the last status)."""
        if not self.enabled:
            return
        text = summary if summary is not None else self.line()
        if self.tty:
            padding = max(0, self._width - len(text))
            self.stream.write("\r" + text + " " * padding + "\n")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self._width = 0

    def clear(self) -> None:
        """Erase the refreshed line (on a terminal) so an error message starts clean."""
        if self.enabled and self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.origin


class Reporter:
    """Step messages of a tool: plain lines on stderr unless quiet; makes `Progress` bars."""

    def __init__(self, *, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.quiet = quiet
        self.stream = stream if stream is not None else sys.stderr

    def say(self, message: str) -> None:
        if not self.quiet:
            self.stream.write(message + "\n")
            self.stream.flush()

    def progress(
        self, label: str, total: float | None = None, *, unit: str = "rows", estimate: bool = True
    ) -> Progress:
        """A progress display; `estimate=False` when work units vary too much for rate and ETA."""
        return Progress(
            label, total, unit=unit, enabled=not self.quiet, stream=self.stream, estimate=estimate
        )
