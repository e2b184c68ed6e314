"""`snapshot-api match DIR --title T --artist A`: the candidates for one recording, offline.

Prints one line per candidate, best first: the score, its components (so
the reason for a low score shows), the track id, title, artists, album and
length; `--json` prints the JSON array `GET /match/track` answers instead.
No candidate close enough prints nothing (`[]` with `--json`) and exits 0.
A bad parameter (a wordless title and artist, a negative duration, ...) is
one line on stderr and exit status 2, like any other bad argument.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from snapshot_api.cli import EXIT_USAGE, fail
from snapshot_api.errors import InvalidParameter
from snapshot_api.match import params
from snapshot_api.snapshot import Snapshot


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", metavar="DIR", help="a snapshot directory prepared by build")
    parser.add_argument("--title", required=True, help="the title as tagged")
    parser.add_argument("--artist", required=True, help="the artist credit as tagged")
    parser.add_argument("--album", help="the album name, when known")
    parser.add_argument(
        "--duration-ms", metavar="MS", help="the audio's length in milliseconds, when known"
    )
    parser.add_argument(
        "--limit",
        default=params.DEFAULT_LIMIT,
        help=f"candidates (1-{params.MAX_LIMIT}, default {params.DEFAULT_LIMIT})",
    )
    parser.add_argument("--json", action="store_true", help="print the JSON array")


def _length(milliseconds: object) -> str:
    if not isinstance(milliseconds, int) or milliseconds <= 0:
        return "?"
    minutes, seconds = divmod(round(milliseconds / 1000), 60)
    return f"{minutes}:{seconds:02d}"


def line(candidate: dict[str, Any]) -> str:
    """One candidate for people: score, components, id, title, artists, album, length."""
    track = candidate["track"]
    parts = " ".join(f"{name}={value:.2f}" for name, value in candidate["components"].items())
    artists = ", ".join(str(artist.get("name", "")) for artist in track.get("artists", []))
    album = track.get("album", {}).get("name", "")
    return (
        f"{candidate['score']:.3f}  {parts}  {track['id']}  {track.get('name', '')} — {artists}"
        f"  [{album}]  {_length(track.get('duration_ms'))}"
    )


def run(args: argparse.Namespace) -> int:
    given = (args.title, args.artist, args.album, args.duration_ms, args.limit)
    try:
        params.request(*given)  # bad arguments are told before the snapshot is opened
    except InvalidParameter as exc:
        return fail("match", str(exc), EXIT_USAGE)
    with Snapshot.open(args.directory) as snap:
        answer = snap.match_track_json(*given)
    if args.json:
        sys.stdout.buffer.write(answer + b"\n")
    else:
        for candidate in orjson.loads(answer):
            print(line(candidate))
    sys.stdout.flush()
    return 0
