"""schemathesis's own command line against a real server: every check, every phase.

Unlike `test_schemathesis.py` (the pytest plugin, five response checks), this
runs `schemathesis run` as an operator would, with all checks (positive data
accepted, negative data rejected, unsupported methods, ...) and the examples,
coverage, fuzzing and stateful phases, on a short time budget, against a
server over a built snapshot with its search index. `schemathesis.toml` beside
this file says which statuses count as a rejection where the checks' defaults
do not know the server's rules; docs/serving.md has the figures of a longer run.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server_process import ServerProcess, start_server

CONFIG = Path(__file__).with_name("schemathesis.toml")
BUDGET_SECONDS = 40


def schemathesis() -> str:
    found = Path(sys.executable).parent / "schemathesis"
    assert found.is_file(), "schemathesis is missing: pip install -e '.[test]'"
    return str(found)


@pytest.fixture(scope="module")
def default_server(built_snapshot: Path) -> Iterator[ServerProcess]:
    """Default settings but rate limiting (a fuzzer from one address would be 429s)."""
    server = start_server(built_snapshot, "--rate", "0")
    yield server
    server.stop()


def test_schemathesis_finds_no_failure(default_server: ServerProcess, tmp_path: Path) -> None:
    run = subprocess.run(
        [
            schemathesis(),
            "--config-file",
            str(CONFIG),
            "run",
            default_server.url + "/openapi.json",
            "--checks",
            "all",
            "--mode",
            "all",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-time",
            str(BUDGET_SECONDS),
            "--seed",
            "1",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=BUDGET_SECONDS * 4,
        cwd=tmp_path,  # its cache (.schemathesis/) stays out of the repository
    )
    report = run.stdout[-6000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
    assert " passed" in run.stdout and "failures" not in run.stdout.split("SUMMARY")[-1], report
