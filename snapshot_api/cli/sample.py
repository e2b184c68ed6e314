"""`snapshot-api sample [--json | --dir]`: the built-in sample's directory and values to try on it.

Makes the sample if need be (as `serve` with no directory does), then prints
where it is and identifiers that exist in it, so every example in the docs can
be tried as written. Each value is looked up before it is printed: a value the
sample does not hold is an error here, never a puzzling empty answer later.
"""

from __future__ import annotations

import argparse

import orjson

from snapshot_api.errors import SnapshotError
from snapshot_api.snapshot import Snapshot
from snapshot_api.synth import sample_values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--json", action="store_true", help="print one JSON object")
    shown.add_argument(
        "--dir",
        action="store_true",
        help="print only the directory (for scripts: SAMPLE=$(snapshot-api sample --dir))",
    )


def _check(snapshot: Snapshot) -> None:
    values = sample_values
    missing = [
        name
        for name, found in (
            ("isrc", snapshot.lookup_isrcs([values.ISRC])[values.ISRC]),
            ("upc", snapshot.lookup_upcs([values.UPC])[values.UPC]),
            ("track", snapshot.tracks([values.TRACK_ID])),
            ("album", snapshot.albums([values.ALBUM_ID])),
            ("artist", snapshot.artists([values.ARTIST_ID])),
            ("search_word", snapshot.search_tracks(values.SEARCH_WORD, limit=1)),
        )
        if not found
    ]
    if missing:
        raise SnapshotError(f"{snapshot.directory}: the sample lacks its {', '.join(missing)}")


def run(args: argparse.Namespace) -> int:
    from snapshot_api.synth.sample import ensure_sample  # the synthesiser, only when needed

    directory = ensure_sample()
    with Snapshot.open(directory) as snapshot:
        _check(snapshot)
    values = sample_values.as_dict()
    if args.dir:
        print(directory)
        return 0
    if args.json:
        print(orjson.dumps({"directory": str(directory), **values}).decode())
        return 0
    v = sample_values
    print(f"sample snapshot: {directory}")
    for name, value in values.items():
        print(f"  {name:<12} {value}")
    print("try:")
    print("  snapshot-api serve        # serves it on http://127.0.0.1:8080")
    print(f"  curl http://127.0.0.1:8080/lookup/isrc/{v.ISRC}")
    print(f"  curl 'http://127.0.0.1:8080/search/track?q={v.SEARCH_WORD}'")
    print(f"  snapshot-api lookup {directory} track {v.TRACK_ID}")
    return 0
