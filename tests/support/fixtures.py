"""Helpers shared by the tests that use the session snapshots of the root conftest.

A module of its own (not `conftest`): `tests/server/conftest.py` is also a
module named `conftest`, so importing helpers from one of them by name picks
whichever pytest loaded last.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import zstandard

from snapshot_api import pause
from snapshot_api.layout import (
    MANIFEST_NAME,
    SEARCH_NAME,
    SIDECAR_NAME,
    ZST_SUFFIX,
    find_dump_files,
)

ROOT = Path(__file__).resolve().parents[2]
CLI_TIMEOUT = 120

SnapshotFactory = Callable[..., Path]
"""make(built=True, compressed=False, name="snapshot") -> a private snapshot directory."""


def copy_snapshot(source: Path, target: Path) -> Path:
    """Copy a snapshot directory's files, keeping mtimes (so a manifest still matches)."""
    target.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        if path.is_file():
            shutil.copy2(path, target / path.name)
    return target


def compress_dump(directory: Path) -> list[Path]:
    """Replace each dump `.sqlite3` by `.sqlite3.zst` (as downloaded); drop build outputs."""
    packed = []
    for dump_file in find_dump_files(directory).values():
        target = dump_file.path.with_name(dump_file.path.name + ZST_SUFFIX)
        compressor = zstandard.ZstdCompressor(level=3, write_checksum=True)
        with open(dump_file.path, "rb") as source, open(target, "wb") as out:
            compressor.copy_stream(source, out, size=dump_file.path.stat().st_size)
        dump_file.path.unlink()
        packed.append(target)
    for name in (SIDECAR_NAME, SEARCH_NAME, MANIFEST_NAME):
        (directory / name).unlink(missing_ok=True)
    return packed


CliRunner = Callable[..., subprocess.CompletedProcess[str]]


@contextlib.contextmanager
def paused_command(point: str, *args: str) -> Iterator[subprocess.Popen[str]]:
    """A real `snapshot-api ARGS...` process, stopped at pause point `point` (it announces
    itself on stderr), for the kill tests; killed and reaped afterwards."""
    process = subprocess.Popen(
        cli_command(*args),
        cwd=ROOT,
        env={**os.environ, pause.ENV: point},
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stderr is not None
        seen = []
        for line in process.stderr:
            seen.append(line)
            if line.startswith(pause.MARKER):
                break
        else:
            raise AssertionError(f"{args[0]} never reached {point}: {''.join(seen)}")
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "snapshot_api", *args]


def run_command(
    *args: str,
    env: Mapping[str, str] | None = None,
    prefix: tuple[str, ...] = (),
    timeout: float = CLI_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """`python -m snapshot_api ARGS` as a real process, run to its end; `env` adds variables."""
    return subprocess.run(
        [*prefix, *cli_command(*args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
