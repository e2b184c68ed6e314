"""Read modes: the `auto` decision, readahead advice on every descriptor, split lookups."""

from __future__ import annotations

import argparse
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from snapshot_api import Snapshot, snapshot
from snapshot_api.config import add_serve_arguments, settings_from
from snapshot_api.errors import SettingsError
from snapshot_api.identifiers import Kind
from snapshot_api.readmode import ReadMode, mem_available, parse_read_mode, use_mmap

GIB = 1 << 30


@pytest.mark.parametrize(
    ("mode", "files", "available", "expected"),
    [
        (ReadMode.AUTO, 8 * GIB, 23 * GIB, True),  # 10M tracks on this 23 GiB machine
        (ReadMode.AUTO, 225 * GIB, 28 * GIB, False),  # the real dump on a 32 GB host
        (ReadMode.AUTO, 12 * GIB, 24 * GIB, True),  # exactly half: still fits
        (ReadMode.AUTO, 12 * GIB + 1, 24 * GIB, False),
        (ReadMode.AUTO, 1, None, False),  # unknown memory: the safe choice cold
        (ReadMode.ON, 225 * GIB, 1 * GIB, True),
        (ReadMode.OFF, 1, 64 * GIB, False),
    ],
)
def test_auto_maps_only_what_fits_comfortably_in_available_memory(
    mode: ReadMode, files: int, available: int | None, expected: bool
) -> None:
    assert use_mmap(mode, files, available) is expected


def test_mem_available_is_read_from_meminfo(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24000000 kB\nMemAvailable:   1000 kB\n")
    assert mem_available(meminfo) == 1000 * 1024
    meminfo.write_text("MemTotal:       24000000 kB\n")
    assert mem_available(meminfo) is None
    assert mem_available(tmp_path / "absent") is None
    assert mem_available() is not None  # this machine's kernel reports it


def test_read_mode_values() -> None:
    assert parse_read_mode(" OFF ") is ReadMode.OFF
    with pytest.raises(ValueError, match="one of auto, on, off"):
        parse_read_mode("sometimes")


def _descriptors_on(paths: list[Path]) -> set[int]:
    """This process's open descriptors whose target is one of `paths`."""
    wanted = {str(path.resolve()) for path in paths}
    found = set()
    for entry in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{entry}") in wanted:
                found.add(int(entry))
        except OSError:
            continue
    return found


def _isrcs(directory: Path, count: int) -> list[str]:
    with sqlite3.connect(f"file:{directory / 'spotify_clean.sqlite3'}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT DISTINCT external_id_isrc FROM tracks "
            "WHERE external_id_isrc GLOB '[A-Z][A-Z][A-Z0-9][A-Z0-9][A-Z0-9][0-9]*' "
            "AND length(external_id_isrc) = 12 LIMIT ?",
            (count,),
        )
        return [row[0] for row in rows]


def test_every_descriptor_sqlite_opens_is_advised_random_in_pread_mode(
    built_snapshot: Path,
) -> None:
    files = [p for p in built_snapshot.iterdir() if p.suffix == ".sqlite3"]
    keys = _isrcs(built_snapshot, 200)
    assert len(keys) >= 2 * snapshot.KEYS_PER_PART
    before = _descriptors_on(files)
    with Snapshot.open(built_snapshot, mmap="off") as snap:
        assert not snap.uses_mmap and snap.overlaps_reads
        snap.lookup_json(Kind.ISRC, keys)  # split across the reader threads
        with ThreadPoolExecutor(3) as threads:
            list(threads.map(lambda key: snap.lookup_json(Kind.ISRC, [key]), keys[:30]))
        opened = _descriptors_on(files) - before
        # main, track files and sidecar, on the caller, 3 threads and the reader pool
        assert len(opened) >= 3 * (1 + 3 + 2)
        assert opened <= snap.advised_descriptors
    assert not _descriptors_on(files) - before, "closing the snapshot closes its files"


def test_mmap_mode_maps_and_guards_instead_of_advising(built_snapshot: Path) -> None:
    with Snapshot.open(built_snapshot, mmap="on") as snap:
        snap.lookup_json(Kind.ISRC, _isrcs(built_snapshot, 50))
        assert snap.uses_mmap and not snap.overlaps_reads
        assert snap.guarded
        assert snap.advised_descriptors == set()
        mapped = Path("/proc/self/maps").read_text()
        assert str((built_snapshot / "spotify_clean.sqlite3").resolve()) in mapped


def test_a_split_lookup_answers_as_one_lookup_per_key(built_snapshot: Path) -> None:
    keys = [*_isrcs(built_snapshot, 300), "ZZ0000000000", "QQ9999999999"]
    with (
        Snapshot.open(built_snapshot, mmap="off") as split,
        Snapshot.open(built_snapshot, mmap="on") as whole,
    ):
        together = split.lookup_json(Kind.ISRC, keys)
        assert together == whole.lookup_json(Kind.ISRC, keys)
        assert together == {k: whole.lookup_json(Kind.ISRC, [k])[k] for k in keys}
        assert together["ZZ0000000000"] == b"[]"


def test_the_serve_option_reads_flag_then_variable() -> None:
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    assert settings_from(parser.parse_args([]), {}).mmap is ReadMode.AUTO
    assert settings_from(parser.parse_args([]), {"SNAPSHOT_API_MMAP": "off"}).mmap is ReadMode.OFF
    flagged = settings_from(parser.parse_args(["--mmap", "on"]), {"SNAPSHOT_API_MMAP": "off"})
    assert flagged.mmap is ReadMode.ON
    with pytest.raises(SettingsError, match=r"SNAPSHOT_API_MMAP.*'yes'.*one of auto, on, off"):
        settings_from(parser.parse_args([]), {"SNAPSHOT_API_MMAP": "yes"})
