"""Writes are all or nothing: real processes killed, refused or starved of space mid-write."""

from __future__ import annotations

import os
import random
import resource
import signal
import stat
import subprocess
from contextlib import AbstractContextManager
from pathlib import Path

import mutagen
import orjson
import pytest

from snapshot_api import Snapshot
from snapshot_api.errors import TaggingError
from snapshot_api.tagging import Tagger, safewrite
from tests.support.fixtures import ROOT, cli_command, paused_command, run_command
from tests.support.handmade import SHARED_ISRC, TRACK
from tests.tagging.audio_files import SUFFIXES, audio_part, copy_audio, get_tag, set_tags


def tagged_copy(directory: Path, suffix: str, name: str = "song") -> Path:
    path = copy_audio(directory, suffix, name)
    set_tags(path, {"isrc": [SHARED_ISRC], "title": ["Old title"]})
    return path


def leftovers(directory: Path) -> list[Path]:
    return [p for p in directory.iterdir() if p.name.endswith(safewrite.TEMPORARY_SUFFIX)]


def paused_tag(*args: str) -> AbstractContextManager[subprocess.Popen[str]]:
    """A real `snapshot-api tag` process stopped at the write's pause point."""
    return paused_command(safewrite.PAUSE_POINT, "tag", *args)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_write_killed_halfway_leaves_the_old_file(
    suffix: str, hand_snapshot: Path, tmp_path: Path
) -> None:
    path = tagged_copy(tmp_path, suffix)
    before = path.read_bytes()
    with paused_tag(str(hand_snapshot), str(path), "--write") as process:
        assert leftovers(tmp_path), "the new tags are in a copy beside the file"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert path.read_bytes() == before
    assert get_tag(path, "title") == ["Old title"]  # still readable, with its old tags
    assert mutagen.File(path).info.length > 0

    rerun = run_command("tag", str(hand_snapshot), str(path), "--write", timeout=60)
    assert rerun.returncode == 0, rerun.stderr
    assert leftovers(tmp_path) == []  # the killed write's copy is cleaned up
    assert get_tag(path, "spotify_track_id") == [TRACK[4]]
    assert get_tag(path, "title") == ["Old title"]  # no --overwrite


def test_a_read_only_file_is_reported_and_left_alone(hand_snapshot: Path, tmp_path: Path) -> None:
    locked = tagged_copy(tmp_path, "flac", "locked")
    other = tagged_copy(tmp_path, "ogg", "other")
    locked.chmod(0o444)
    before = locked.read_bytes()
    mtime = locked.stat().st_mtime_ns
    done = run_command("tag", str(hand_snapshot), str(tmp_path), "--write", timeout=60)
    assert done.returncode == 1
    complaints = [line for line in done.stderr.splitlines() if "locked.flac" in line]
    assert len(complaints) == 1 and "read-only" in complaints[0]
    assert locked.read_bytes() == before
    assert locked.stat().st_mtime_ns == mtime
    assert get_tag(other, "spotify_track_id") == [TRACK[4]]  # the other file was still written
    assert leftovers(tmp_path) == []


def _limit_file_size(limit: int) -> None:
    """In the child: writes past `limit` bytes fail with EFBIG, as on a full disk."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@pytest.mark.parametrize("suffix", ["flac", "m4a"])
def test_a_write_that_runs_out_of_space_leaves_the_old_file(
    suffix: str, hand_snapshot: Path, tmp_path: Path
) -> None:
    path = tagged_copy(tmp_path, suffix)
    before = path.read_bytes()
    done = subprocess.run(
        cli_command("tag", str(hand_snapshot), str(path), "--write"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: _limit_file_size(len(before) // 2),
    )
    assert done.returncode == 1
    assert "not written" in done.stderr and "File too large" in done.stderr
    assert "Traceback" not in done.stderr
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_mode_attributes_and_symbolic_links_are_kept(hand_snapshot: Path, tmp_path: Path) -> None:
    target = tagged_copy(tmp_path / "real", "mp3")
    target.chmod(0o640)
    os.setxattr(target, "user.rating", b"5")
    link = tmp_path / "link.mp3"
    link.symlink_to(target)
    audio = audio_part(target)
    with Snapshot.open(hand_snapshot) as snap:
        [report] = Tagger(snap).run([link], write=True)
    assert report.written
    assert link.is_symlink()
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert os.getxattr(target, "user.rating") == b"5"
    assert get_tag(target, "spotify_track_id") == [TRACK[4]]
    assert audio_part(target) == audio


def test_a_file_changed_after_it_was_read_is_not_written(
    hand_snapshot: Path, tmp_path: Path
) -> None:
    path = tagged_copy(tmp_path, "opus")
    with Snapshot.open(hand_snapshot) as snap:
        tagger = Tagger(snap)
        file = tagger.read(path)
        found = tagger.identify(file)
        assert found is not None
        proposal = tagger.propose(file, found.track)
        set_tags(path, {"title": ["Changed by another program"]})
        changed = path.read_bytes()
        with pytest.raises(TaggingError, match="changed since it was read"):
            tagger.apply(file, proposal)
    assert path.read_bytes() == changed
    assert leftovers(tmp_path) == []


def test_damaged_files_are_one_line_each_and_never_half_written(
    hand_snapshot: Path, tmp_path: Path
) -> None:
    """Truncated and bit-flipped copies of every format: read, refused or written whole."""
    rng = random.Random(5)
    before: dict[Path, bytes] = {}
    for suffix in SUFFIXES:
        good = tagged_copy(tmp_path / "good", suffix)
        data = good.read_bytes()
        for number, cut in enumerate((len(data) // 3, len(data) - 5)):
            path = tmp_path / f"cut{number}.{suffix}"
            path.write_bytes(data[:cut])
            before[path] = path.read_bytes()
        flipped = bytearray(data)
        for _ in range(8):
            flipped[rng.randrange(len(flipped))] ^= 0xFF
        path = tmp_path / f"flipped.{suffix}"
        path.write_bytes(bytes(flipped))
        before[path] = path.read_bytes()
    done = run_command("tag", str(hand_snapshot), str(tmp_path), "--write", "--json", timeout=60)
    assert done.returncode in (0, 1)
    assert "Traceback" not in done.stderr
    reports = {Path(r["path"]).name: r for r in map(orjson.loads, done.stdout.splitlines())}
    for path, old in before.items():
        report = reports[path.name]
        complaints = [line for line in done.stderr.splitlines() if f"/{path.name}:" in line]
        assert len(complaints) == (report["status"] == "error"), path.name
        if not report["written"]:
            assert path.read_bytes() == old, path.name
        else:
            assert mutagen.File(path) is not None
    assert leftovers(tmp_path) == []
