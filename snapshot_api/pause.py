"""Named pause points, so tests can kill a real build at a known moment.

"Interrupting and re-running always ends in a correct result" is only worth
claiming if it is tested against a real process killed mid-way. Timing a kill
against a racing process is flaky, so long-running steps call `point(name)` once
they have left partial output on disk; when `SNAPSHOT_API_TEST_PAUSE` names that
point, the process announces it on stderr and sleeps, and the test kills it
there. Unset (always, outside tests) this is one dictionary lookup.
"""

from __future__ import annotations

import os
import sys
import time

ENV = "SNAPSHOT_API_TEST_PAUSE"
MARKER = "snapshot-api: paused at"
MAX_PAUSE_SECONDS = 300.0


def point(name: str) -> None:
    """Pause here (up to 5 minutes) when the environment asks for this point."""
    if os.environ.get(ENV) != name:
        return
    sys.stderr.write(f"{MARKER} {name} (pid {os.getpid()})\n")
    sys.stderr.flush()
    time.sleep(MAX_PAUSE_SECONDS)
