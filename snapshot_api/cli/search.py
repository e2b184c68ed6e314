"""`snapshot-api search DIR (track|album|artist) QUERY`: the search routes' JSON array, offline.

The words of QUERY (and of `--artist` / `--album`) must all be words of the
names found (`word*` for a prefix); results come most popular first (artists:
most followers first). A wordless query or an out-of-range `--limit` or
`--offset` is one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import sys

import orjson

from snapshot_api.search.index import SearchKind
from snapshot_api.search.params import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET
from snapshot_api.snapshot import Snapshot


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", metavar="DIR", help="a snapshot directory prepared by build")
    parser.add_argument("kind", choices=[k.value for k in SearchKind], help="what to search")
    parser.add_argument(
        "query", metavar="QUERY", nargs="?", default=None, help="words of the name ('' for none)"
    )
    parser.add_argument(
        "--limit", type=int, default=DEFAULT_LIMIT, help=f"results (1-{MAX_LIMIT}, default 20)"
    )
    parser.add_argument("--offset", type=int, default=0, help=f"results skipped (0-{MAX_OFFSET})")
    parser.add_argument("--artist", help="words of an artist's name (track and album search)")
    parser.add_argument("--album", help="words of the album's name (track search)")
    parser.add_argument("--compact", action="store_true", help="one line of JSON, not indented")


def run(args: argparse.Namespace) -> int:
    with Snapshot.open(args.directory) as snap:
        answer = snap.search_json(
            SearchKind(args.kind),
            args.query,
            artist=args.artist,
            album=args.album,
            limit=args.limit,
            offset=args.offset,
        )
    option = 0 if args.compact else orjson.OPT_INDENT_2
    sys.stdout.buffer.write(orjson.dumps(orjson.Fragment(answer), option=option) + b"\n")
    sys.stdout.flush()
    return 0
