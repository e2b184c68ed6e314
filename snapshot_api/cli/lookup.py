"""`snapshot-api lookup DIR KIND VALUE...`: the HTTP API's documents, offline.

Prints one JSON object keyed by the values as given: ISRC and barcode values
map to an array of documents (`[]` when unknown), ids to a document or `null`
when unknown; `album-tracks` maps album ids to their track arrays and
`artist-albums` artist ids to a page of their albums (`--limit`, `--offset`).
Malformed values are named on stderr, one line each, and make the exit status
1; the well-formed values are still looked up and printed, so a tagging script
loses nothing to one bad value.

A VALUE of `-` reads values from standard input, one per line. The output is
then JSON Lines, one `{"VALUE": answer}` object per value read (repeats
included, so lines follow the input), written as the values are read,
`STREAM_CHUNK` at a time: a million ISRCs need constant memory and the first
answers appear as soon as a chunk is read.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from snapshot_api.cli import fail
from snapshot_api.documents.paging import DEFAULT_LIMIT, Page
from snapshot_api.identifiers import Kind, parse_many
from snapshot_api.snapshot import Snapshot

ALBUM_TRACKS = "album-tracks"
ARTIST_ALBUMS = "artist-albums"
KINDS = (*(kind.value for kind in Kind), ALBUM_TRACKS, ARTIST_ALBUMS)
"""Every KIND word: the lookup kinds, and the two listings."""
KEY_KIND = {ALBUM_TRACKS: Kind.ALBUM, ARTIST_ALBUMS: Kind.ARTIST}
"""The identifier kind of each listing's values."""
STDIN = "-"
STREAM_CHUNK = 500
"""Values read from standard input per lookup: one statement each, and bounded memory."""

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
        if kind not in KINDS:
            if directory in KINDS and not Path(directory).exists():
                problem = f"DIR is missing: {directory!r} is a kind, not a snapshot directory"
            else:
                problem = f"KIND is missing or wrong: {kind!r} is not one of {', '.join(KINDS)}"
            parser.error(f"{problem}; usage: {USAGE}")
        setattr(namespace, self.dest, kind)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", metavar="DIR", help="a snapshot directory prepared by build")
    parser.add_argument(
        "kind", metavar="KIND", action=_KindAction, help=f"what the values are: {', '.join(KINDS)}"
    )
    parser.add_argument(
        "values",
        nargs="+",
        metavar="VALUE",
        help="identifiers as pasted; - reads them from standard input, one per line",
    )
    parser.add_argument("--compact", action="store_true", help="one line of JSON, not indented")
    parser.add_argument(
        "--limit", default=None, help=f"artist-albums: albums per page, 1 to 50 ({DEFAULT_LIMIT})"
    )
    parser.add_argument("--offset", default=None, help="artist-albums: albums to skip (0)")


class _Answers:
    """JSON text per value for one KIND; malformed values are reported as they come."""

    def __init__(self, snap: Snapshot, kind: str, page: Page) -> None:
        self.snap = snap
        self.kind = kind
        self.page = page
        self.key_kind = KEY_KIND.get(kind) or Kind(kind)
        self.rejected = 0

    def empty(self) -> bytes:
        return b"[]" if self.kind in (Kind.ISRC, Kind.UPC) else b"null"

    def of(self, values: Iterable[str]) -> dict[str, bytes]:
        accepted, rejected = parse_many(self.key_kind, values, allow_url=True)
        for rejection in rejected:
            fail("lookup", rejection.describe())
        self.rejected += len(rejected)
        if not accepted:
            return {}
        keys = list(dict.fromkeys(accepted.values()))
        if self.kind == ALBUM_TRACKS:
            found = {key: self.snap.album_tracks_json(key) for key in keys}
        elif self.kind == ARTIST_ALBUMS:
            found = {key: self._artist_albums(key) for key in keys}
        else:
            found = dict(self.snap.lookup_json(self.key_kind, keys))
        empty = self.empty()
        return {value: found.get(key) or empty for value, key in accepted.items()}

    def _artist_albums(self, key: str) -> bytes | None:
        page = self.snap.artist_albums_json(key, self.page)
        if page is None:
            return None
        total, items = page
        return b'{"items":[%s],"total":%d,"limit":%d,"offset":%d}' % (
            b",".join(items),
            total,
            self.page.limit,
            self.page.offset,
        )


def _stdin_values() -> Iterator[str]:
    for line in sys.stdin:
        value = line.rstrip("\r\n")
        if value.strip():
            yield value


def _values(arguments: Sequence[str]) -> Iterator[str]:
    for value in arguments:
        if value == STDIN:
            yield from _stdin_values()
        else:
            yield value


def run(args: argparse.Namespace) -> int:
    page = Page.of(args.limit, args.offset)
    out = sys.stdout.buffer
    with Snapshot.open(args.directory) as snap:
        answers = _Answers(snap, args.kind, page)
        if STDIN in args.values:
            values = _values(args.values)
            while chunk := list(itertools.islice(values, STREAM_CHUNK)):
                found = answers.of(chunk)
                # one line per value read, repeats included (a malformed one: stderr only)
                out.write(
                    b"".join(
                        orjson.dumps({value: orjson.Fragment(found[value])}) + b"\n"
                        for value in chunk
                        if value in found
                    )
                )
                out.flush()
            return 1 if answers.rejected else 0
        found = answers.of(args.values)
    answer = {value: orjson.Fragment(text) for value, text in found.items()}
    option = 0 if args.compact else orjson.OPT_INDENT_2
    out.write(orjson.dumps(answer, option=option) + b"\n")
    out.flush()
    return 1 if answers.rejected else 0
