"""`snapshot-api lookup DIR KIND VALUE...`: the HTTP API's documents, offline.

Prints one JSON object keyed by the values as given: ISRC and barcode values
map to an array of documents (`[]` when unknown), ids to a document or `null`
when unknown. Malformed values are named on stderr, one line each, and make the
exit status 1; the well-formed values are still looked up and printed, so a
tagging script loses nothing to one bad value.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from snapshot_api.cli import fail
from snapshot_api.identifiers import Kind, parse_many
from snapshot_api.snapshot import Snapshot

USAGE = "snapshot-api lookup DIR KIND VALUE..."


class _KindAction(argparse.Action):
    """Checks KIND knowing DIR, so a forgotten DIR is named as what is missing.

    With `choices`, `snapshot-api lookup isrc INS2E2072118` reads `isrc` as the
    directory and reports the ISRC as an "invalid choice" of kind. (Fewer
    words than DIR KIND VALUE get argparse's own "required: KIND, VALUE".)
    """

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        kind, directory = str(values), str(namespace.directory)
        if kind not in set(Kind):
            if directory in set(Kind) and not Path(directory).exists():
                problem = f"DIR is missing: {directory!r} is a kind, not a snapshot directory"
            else:
                problem = f"KIND is missing or wrong: {kind!r} is not one of {', '.join(Kind)}"
            parser.error(f"{problem}; usage: {USAGE}")
        setattr(namespace, self.dest, kind)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", metavar="DIR", help="a snapshot directory prepared by build")
    parser.add_argument(
        "kind", metavar="KIND", action=_KindAction, help=f"what the values are: {', '.join(Kind)}"
    )
    parser.add_argument("values", nargs="+", metavar="VALUE", help="identifiers as pasted")
    parser.add_argument("--compact", action="store_true", help="one line of JSON, not indented")


def run(args: argparse.Namespace) -> int:
    kind = Kind(args.kind)
    accepted, rejected = parse_many(kind, args.values, allow_url=True)
    for rejection in rejected:
        fail("lookup", rejection.describe())
    with Snapshot.open(args.directory) as snap:
        found = snap.lookup_json(kind, list(accepted.values())) if accepted else {}
    empty = b"[]" if kind in (Kind.ISRC, Kind.UPC) else b"null"
    answer = {value: orjson.Fragment(found.get(key, empty)) for value, key in accepted.items()}
    option = 0 if args.compact else orjson.OPT_INDENT_2
    sys.stdout.buffer.write(orjson.dumps(answer, option=option) + b"\n")
    sys.stdout.flush()
    return 1 if rejected else 0
