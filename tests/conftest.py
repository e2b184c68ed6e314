"""Shared session fixtures: one synthetic dump and one built snapshot for the whole suite.

Generating data is the slow part of the tests, so each is made once per test
session and shared:
- `synthetic_dump`: a synthesised dump (about 3,000 tracks, seed 7), NOT built.
- `built_snapshot`: the same dump after `snapshot-api build` (sidecar + manifest).
Both are shared: treat them as read-only. A test that changes files (corrupts,
deletes, chmods, rebuilds) takes a private copy from `snapshot_factory`.
`snap` opens `built_snapshot` once per module with mmap `on` and `off` (`auto` always
resolves to one of them), so the tests using it run twice: the documents must not
depend on the mode, and
with mmap `off` a many-key lookup, a search page's documents and many matches
are read in parts on the reader threads, and must answer the same as in one piece.
`run_cli` runs `python -m snapshot_api ...` as a real process.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from snapshot_api import Snapshot
from snapshot_api.build.pipeline import build
from snapshot_api.progress import Reporter
from snapshot_api.readmode import ReadMode
from snapshot_api.synth.generate import synthesize
from tests.support.fixtures import (
    CliRunner,
    SnapshotFactory,
    compress_dump,
    copy_snapshot,
    run_command,
)
from tests.support.handmade import write_dump
from tests.support.prepare import prepare

# Properties, not timings: on a busy machine one example may take longer than hypothesis's
# default 200 ms deadline, which would fail a correct test (benchmarks measure speed).
settings.register_profile("snapshot-api", deadline=None)
settings.load_profile("snapshot-api")

SYNTHETIC_TRACKS = 3_000
SYNTHETIC_SEED = 7


@pytest.fixture(scope="session")
def synthetic_dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthesised dump directory (not built). Shared: copy it before changing anything."""
    directory = tmp_path_factory.mktemp("synthetic-dump")
    synthesize(directory, SYNTHETIC_TRACKS, seed=SYNTHETIC_SEED, progress=False)
    return directory


@pytest.fixture(scope="session")
def built_snapshot(synthetic_dump: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`synthetic_dump` built (sidecar + manifest), ready to open. Shared: read-only."""
    directory = tmp_path_factory.mktemp("built-snapshot")
    copy_snapshot(synthetic_dump, directory)
    build(directory, reporter=Reporter(quiet=True))
    return directory


@pytest.fixture(scope="module", params=[ReadMode.ON, ReadMode.OFF], ids=lambda mode: f"mmap-{mode}")
def snap(built_snapshot: Path, request: pytest.FixtureRequest) -> Iterator[Snapshot]:
    """`built_snapshot` open in each read mode (see the module docstring)."""
    with Snapshot.open(built_snapshot, mmap=request.param) as snapshot:
        yield snapshot


@pytest.fixture
def snapshot_factory(synthetic_dump: Path, built_snapshot: Path, tmp_path: Path) -> SnapshotFactory:
    """make(built=True, compressed=False, name="snapshot") → a private copy to change freely.

    built=True: the built snapshot (files, sidecar, manifest with matching mtimes);
    built=False: the bare dump; compressed=True: the bare dump as `.zst` files.
    """

    def make(*, built: bool = True, compressed: bool = False, name: str = "snapshot") -> Path:
        target = tmp_path / name
        if compressed:
            copy_snapshot(synthetic_dump, target)
            compress_dump(target)
        else:
            copy_snapshot(built_snapshot if built else synthetic_dump, target)
        return target

    return make


@pytest.fixture(scope="session")
def run_cli() -> CliRunner:
    """run_cli("build", DIR, ...) → CompletedProcess of a real `python -m snapshot_api`."""

    return run_command


@pytest.fixture(scope="session")
def hand_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-written dump (tests/handmade.py), prepared for serving. Shared: read-only."""
    directory = tmp_path_factory.mktemp("hand-snapshot")
    write_dump(directory)
    prepare(directory)
    return directory
