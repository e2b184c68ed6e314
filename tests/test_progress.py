"""The progress display of long jobs (build, verify, synth): terminal, logs, formats."""

from __future__ import annotations

import io
import re

from snapshot_api.progress import Progress, format_bytes, format_duration


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_redraws_one_line_on_a_terminal_and_logs_lines_otherwise() -> None:
    terminal = Terminal()
    progress = Progress("decompressing x", 2_000_000, unit="bytes", stream=terminal, interval=0)
    progress.update(500_000)
    progress.update(1_000_000)
    progress.finish("done")
    text = terminal.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n") and text.count("\n") == 1
    assert text.rsplit("\r", 1)[1].strip() == "done"  # padded over the longer status line
    assert "500.0 kB of 2.0 MB (25%)" in text and "ETA" in text and "/s" in text

    log = io.StringIO()
    progress = Progress("counting", None, stream=log, log_interval=0)
    progress.update(1234)
    progress.finish()
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert lines[0].startswith("counting: 1,234, ")
    assert len(lines) == 2


def test_counts_show_done_total_unit_and_steps_say_when() -> None:
    log = io.StringIO()
    progress = Progress("synth", 500, unit="tracks", stream=log, log_interval=3600)
    progress.step("artists")
    progress.restart()
    progress.update(100)  # throttled: not drawn
    progress.update(500)  # the end is always drawn
    progress.finish("synth: done in 0.1 s")
    lines = log.getvalue().splitlines()
    assert re.fullmatch(r"synth: artists \(at 0s\)", lines[0])
    assert re.match(r"synth: 500/500 tracks \(100\.0%\), [\d,]+ tracks/s, ETA 0s", lines[1])
    assert lines[2:] == ["synth: done in 0.1 s"]


def test_formatters() -> None:
    assert format_bytes(999) == "999 B"
    assert format_bytes(1_234_567) == "1.2 MB"
    assert format_bytes(1_234_567, 2) == "1.23 MB"
    assert format_bytes(3e15) == "3,000.0 TB"
    assert [format_duration(s) for s in (5, 75, 4000)] == ["5s", "1m15s", "1h06m"]
