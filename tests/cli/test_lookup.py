"""`snapshot-api lookup` as a user runs it: a real process, stdout, stderr, exit status."""

from __future__ import annotations

import subprocess
from pathlib import Path

import orjson
import pytest

from snapshot_api import Snapshot
from tests.support.fixtures import run_command
from tests.support.handmade import ALBUM, SHARED_ISRC, TRACK, write_dump


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_command(*args, timeout=60)


def test_prints_the_library_documents_keyed_by_value(hand_snapshot: Path) -> None:
    done = cli("lookup", str(hand_snapshot), "isrc", "us-rc1-76-07839", "ZZZZZ9999999")
    assert done.returncode == 0, done.stderr
    printed = orjson.loads(done.stdout)
    with Snapshot.open(hand_snapshot) as snap:
        expected = snap.lookup_isrcs(["us-rc1-76-07839"])
    assert printed == {**expected, "ZZZZZ9999999": []}
    assert done.stderr == ""


def test_unknown_ids_print_null_and_urls_are_accepted(hand_snapshot: Path) -> None:
    url = f"https://open.spotify.com/track/{TRACK[1]}?si=x"
    done = cli("lookup", str(hand_snapshot), "track", url, "0" * 22, "--compact")
    assert done.returncode == 0
    printed = orjson.loads(done.stdout)
    assert printed[url]["id"] == TRACK[1]
    assert printed["0" * 22] is None
    assert done.stdout.count("\n") == 1


def test_malformed_values_are_named_on_stderr_and_exit_1(hand_snapshot: Path) -> None:
    done = cli(
        "lookup", str(hand_snapshot), "album", ALBUM[1], "not-an-id", f"spotify:track:{TRACK[1]}"
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2
    assert "'not-an-id'" in lines[0] and "track URI, expected an album" in lines[1]
    assert list(orjson.loads(done.stdout)) == [ALBUM[1]]
    assert "Traceback" not in done.stderr


def test_unprepared_directory_is_one_line_exit_1(tmp_path: Path) -> None:
    write_dump(tmp_path)
    done = cli("lookup", str(tmp_path), "isrc", SHARED_ISRC)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "snapshot-api build" in done.stderr


@pytest.mark.parametrize("args", [["lookup"], ["lookup", "x", "colour", "y"], ["nonsense"]])
def test_bad_arguments_are_one_line_exit_2(args: list[str]) -> None:
    done = cli(*args)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "error:" in done.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["isrc", SHARED_ISRC], "DIR is missing: 'isrc' is a kind, not a snapshot directory"),
        (["track", TRACK[1], ALBUM[1]], "DIR is missing: 'track' is a kind"),
        ([SHARED_ISRC], "the following arguments are required: KIND, VALUE"),
    ],
)
def test_a_forgotten_dir_is_named_as_missing(args: list[str], expected: str) -> None:
    done = cli("lookup", *args)
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and expected in done.stderr
    assert "invalid choice" not in done.stderr


def test_a_wrong_kind_names_the_kinds(hand_snapshot: Path) -> None:
    done = cli("lookup", str(hand_snapshot), SHARED_ISRC, SHARED_ISRC)
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1
    assert f"KIND is missing or wrong: {SHARED_ISRC!r} is not one of isrc, upc" in done.stderr


def test_options_may_stand_between_the_words(hand_snapshot: Path) -> None:
    done = cli("lookup", str(hand_snapshot), "--compact", "isrc", SHARED_ISRC)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1


def test_a_malformed_url_is_one_line_not_a_traceback(hand_snapshot: Path) -> None:
    done = cli("lookup", str(hand_snapshot), "track", "https://[::1/track/x", TRACK[1])
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "snapshot-api lookup: track 'https://[::1/track/x': not a valid URL"
    ]
    assert list(orjson.loads(done.stdout)) == [TRACK[1]]
