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

import orjson

from snapshot_api.cli import fail
from snapshot_api.identifiers import Kind, parse_many
from snapshot_api.snapshot import Snapshot


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", metavar="DIR", help="a snapshot directory prepared by build")
    parser.add_argument("kind", choices=[k.value for k in Kind], help="what the values are")
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
