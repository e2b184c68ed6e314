"""`snapshot-api lookup`: album-tracks, artist-albums, audio-features, and `-` (stdin).

Real processes; expected output from the library. Streaming is shown by
reading answers while the command's standard input is still open.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import orjson
import pytest

from snapshot_api import Snapshot
from snapshot_api.cli.lookup import STREAM_CHUNK
from tests.support.fixtures import ROOT, cli_command, run_command
from tests.support.handmade import ALBUM, ARTIST, LONELY_ISRC, SHARED_ISRC, TRACK


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    if stdin is None:
        return run_command(*args, timeout=60)
    return subprocess.run(
        cli_command(*args), input=stdin, capture_output=True, text=True, timeout=60, cwd=ROOT
    )


@pytest.fixture(scope="module")
def library(hand_snapshot: Path) -> Snapshot:
    return Snapshot.open(hand_snapshot)


def test_album_tracks(hand_snapshot: Path, library: Snapshot) -> None:
    done = cli("lookup", str(hand_snapshot), "album-tracks", ALBUM[1], "0" * 22)
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout) == {ALBUM[1]: library.album_tracks(ALBUM[1]), "0" * 22: None}


def test_artist_albums_with_limit_and_offset(hand_snapshot: Path, library: Snapshot) -> None:
    done = cli(
        "lookup", str(hand_snapshot), "artist-albums", ARTIST[1], "--limit", "1", "--offset", "1"
    )
    assert done.returncode == 0, done.stderr
    expected = library.artist_albums(ARTIST[1], limit=1, offset=1)
    assert orjson.loads(done.stdout) == {ARTIST[1]: expected}
    assert expected["total"] == 2 and len(expected["items"]) == 1
    bad = cli("lookup", str(hand_snapshot), "artist-albums", ARTIST[1], "--limit", "99")
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "limit" in bad.stderr


def test_audio_features(hand_snapshot: Path, library: Snapshot) -> None:
    values = [f"spotify:track:{TRACK[1]}", TRACK[2], TRACK[4]]
    done = cli("lookup", str(hand_snapshot), "audio-features", *values, "--compact")
    assert done.returncode == 0, done.stderr
    printed = orjson.loads(done.stdout)
    assert printed == {values[0]: library.audio_features(values[:1])[values[0]],
                       TRACK[2]: None, TRACK[4]: None}  # fmt: skip


def test_dash_reads_values_from_stdin_as_json_lines(hand_snapshot: Path, library: Snapshot) -> None:
    lines = f"{SHARED_ISRC}\n\nnot-an-isrc\n{LONELY_ISRC}\r\n"
    done = cli("lookup", str(hand_snapshot), "isrc", "-", stdin=lines)
    assert done.returncode == 1  # one malformed value
    assert done.stderr.count("\n") == 1 and "not-an-isrc" in done.stderr
    printed = [orjson.loads(line) for line in done.stdout.splitlines()]
    assert printed == [
        {SHARED_ISRC: library.lookup_isrcs([SHARED_ISRC])[SHARED_ISRC]},
        {LONELY_ISRC: library.lookup_isrcs([LONELY_ISRC])[LONELY_ISRC]},
    ]


def test_answers_stream_out_while_stdin_is_still_open(hand_snapshot: Path) -> None:
    process = subprocess.Popen(
        cli_command("lookup", str(hand_snapshot), "track", "-"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=dict(os.environ),
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        ids = list(TRACK.values())
        first_chunk = [ids[n % len(ids)] for n in range(STREAM_CHUNK)]
        process.stdin.write(("\n".join(first_chunk) + "\n").encode())
        process.stdin.flush()
        # the first chunk's answers arrive although no end of input has been seen
        for expected in first_chunk:
            line = process.stdout.readline()
            assert list(orjson.loads(line)) == [expected]
        assert process.poll() is None
        process.stdin.write(f"{TRACK[1]}\n".encode())
        process.stdin.close()
        rest = process.stdout.read().splitlines()
        assert [list(orjson.loads(line)) for line in rest] == [[TRACK[1]]]
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()
        if process.stderr is not None:
            process.stderr.close()
