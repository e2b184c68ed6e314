"""`snapshot-api tag` as a user runs it: a real process, stdout, stderr, exit status."""

from __future__ import annotations

import subprocess
from pathlib import Path

import orjson
import pytest

from snapshot_api import Snapshot
from tests.support.fixtures import run_command
from tests.support.handmade import SHARED_ISRC, TRACK
from tests.tagging.audio_files import SUFFIXES, copy_audio, get_tag, names_for, set_tags

JSON_KEYS = {"path", "status", "by", "score", "track_id", "changes", "error"}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_command("tag", *args, timeout=60)


def library(directory: Path) -> list[Path]:
    paths = []
    for suffix in SUFFIXES:
        path = copy_audio(directory / "album", suffix, f"song-{suffix}")
        set_tags(path, {"isrc": [SHARED_ISRC], "title": ["Old title"]})
        paths.append(path)
    return paths


def state(paths: list[Path]) -> list[tuple[bytes, int]]:
    return [(p.read_bytes(), p.stat().st_mtime_ns) for p in paths]


def test_dry_run_prints_the_changes_and_changes_no_file(
    hand_snapshot: Path, tmp_path: Path
) -> None:
    paths = library(tmp_path)
    before = state(paths)
    done = cli(str(hand_snapshot), str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert state(paths) == before  # bytes and mtime
    with Snapshot.open(hand_snapshot) as snap:
        track = snap.lookup_isrcs([SHARED_ISRC])[SHARED_ISRC][0]
    for path in paths:
        assert f"{path}: isrc → {track['id']}" in done.stdout
        id_tag = names_for(path)["spotify_track_id"]
        assert f"  {id_tag}: (none) → {track['id']!r}" in done.stdout
    assert "dry run" in done.stderr.splitlines()[-1]


def test_json_is_one_object_per_file_and_write_applies_it(
    hand_snapshot: Path, tmp_path: Path
) -> None:
    paths = library(tmp_path)
    dry = cli(str(hand_snapshot), str(tmp_path), "--json")
    assert dry.returncode == 0, dry.stderr
    lines = [orjson.loads(line) for line in dry.stdout.splitlines()]
    assert [line["path"] for line in lines] == [str(p) for p in sorted(paths)]
    for line in lines:
        assert set(line) >= JSON_KEYS
        assert (line["status"], line["by"], line["score"], line["error"]) == (
            "identified",
            "isrc",
            None,
            None,
        )
        assert line["track_id"] == TRACK[4]
        assert all(old is None for old, _new in line["changes"].values())

    written = cli(str(hand_snapshot), str(tmp_path), "--json", "--write")
    assert written.returncode == 0, written.stderr
    for line, path in zip(
        (orjson.loads(x) for x in written.stdout.splitlines()), sorted(paths), strict=True
    ):
        assert line["written"] is True
        for tag, (_old, new) in line["changes"].items():
            key = {v: k for k, v in names_for(path).items()}[tag]
            assert get_tag(path, key) == ([new] if isinstance(new, str) else new), tag
        assert get_tag(path, "title") == ["Old title"]


def test_an_unreadable_file_is_one_line_and_exit_1_and_others_go_on(
    hand_snapshot: Path, tmp_path: Path
) -> None:
    paths = library(tmp_path)
    broken = tmp_path / "album" / "broken.flac"
    broken.write_bytes(b"fLaC this is not a FLAC stream at all")
    done = cli(str(hand_snapshot), str(tmp_path), "--write")
    assert done.returncode == 1
    about = [line for line in done.stderr.splitlines() if "broken.flac" in line]
    assert len(about) == 1 and about[0].startswith("snapshot-api tag: ")
    assert "broken.flac" not in done.stdout
    assert "Traceback" not in done.stderr
    assert all(get_tag(p, "spotify_track_id") == [TRACK[4]] for p in paths)


def test_a_named_non_audio_file_is_reported(hand_snapshot: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    (tmp_path / "cover.jpg").write_bytes(b"\xff\xd8\xff")
    skipped = cli(str(hand_snapshot), str(tmp_path), "--json")
    assert (skipped.returncode, skipped.stdout) == (0, "")  # inside a directory: skipped
    named = cli(str(hand_snapshot), str(notes), "--json")
    assert named.returncode == 1
    [line] = [orjson.loads(x) for x in named.stdout.splitlines()]
    assert line["status"] == "error" and "not an audio file" in line["error"]


@pytest.mark.parametrize(
    "args",
    [
        ["--min-score", "1.5"],
        ["--min-score", "high"],
        ["--frobnicate"],
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    args: list[str], hand_snapshot: Path, tmp_path: Path
) -> None:
    done = cli(str(hand_snapshot), str(tmp_path), *args)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1


def test_missing_path_argument_exits_2(hand_snapshot: Path) -> None:
    done = cli(str(hand_snapshot))
    assert done.returncode == 2
    assert "PATH" in done.stderr


def test_an_unprepared_directory_exits_1(tmp_path: Path) -> None:
    song = copy_audio(tmp_path, "mp3")
    done = cli(str(tmp_path), str(song))
    assert done.returncode == 1
    assert done.stderr.startswith("snapshot-api tag: ")
    assert "Traceback" not in done.stderr
