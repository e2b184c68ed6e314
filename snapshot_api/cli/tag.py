"""`snapshot-api tag DIR PATH...`: identify audio files offline and fill their tags.

Dry run unless `--write`: every file is read, identified and its changes
printed, and no file is opened for writing. Per file, on stdout, either
a text block (how it was identified, then each tag `old → new`) or with
`--json` one JSON object per line. A file that cannot be read or written is
also one line on stderr; the others are still processed, and the exit status
is 1. A summary and, for long runs, progress go to stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import TextIO

import orjson

from snapshot_api.progress import Progress, format_count
from snapshot_api.snapshot import Snapshot
from snapshot_api.tagging import DEFAULT_MIN_SCORE, Report, Status, Tagger
from snapshot_api.tagging.audio import Values


def _score(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", metavar="DIR", help="a snapshot directory prepared by build")
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="audio files or directories (searched recursively)"
    )
    parser.add_argument(
        "--write", action="store_true", help="write the tags (default: show what would change)"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="also replace tags whose values differ"
    )
    parser.add_argument(
        "--min-score",
        type=_score,
        default=DEFAULT_MIN_SCORE,
        metavar="S",
        help=f"lowest title/artist match score accepted, 0-1 (default {DEFAULT_MIN_SCORE})",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per file and line")


def _shown(values: Values | None) -> str:
    if values is None:
        return "(none)"
    return " / ".join(repr(value) for value in values)


def _describe(report: Report, write: bool) -> list[str]:
    """The text block of one report: a heading line, then one line per tag."""
    if report.status is Status.UNIDENTIFIED:
        return [f"{report.path}: unidentified ({report.note or 'nothing to go on'})"]
    found = report.identification
    if found is None:  # not printed: the error is its line on stderr
        return [f"{report.path}: error: {report.error}"]
    how = found.by.value + (f" {found.score:.2f}" if found.score is not None else "")
    track = found.track
    artists = ", ".join(a.get("name", "") for a in track.get("artists") or [])
    heading = f"{report.path}: {how} → {found.track_id} {track.get('name', '')!r} by {artists}"
    lines = [heading]
    verb = "written" if report.written else ("not written" if write else "would change")
    if report.status is Status.ERROR:
        lines.append(f"  error: {report.error}")
    for change in report.changes:
        lines.append(f"  {change.tag}: {_shown(change.old)} → {_shown(change.new)}")
    if report.changes:
        lines.append(f"  ({len(report.changes)} tags {verb})")
    for change in report.kept:
        lines.append(
            f"  {change.tag}: {_shown(change.old)} kept (differs from {_shown(change.new)};"
            " --overwrite replaces it)"
        )
    if not report.changes and not report.kept:
        lines.append("  (tags already complete)")
    return lines


def _print(report: Report, *, as_json: bool, write: bool, out: TextIO) -> None:
    if as_json:
        out.buffer.write(orjson.dumps(report.as_json()) + b"\n")
    else:
        out.write("\n".join(_describe(report, write)) + "\n")


def _files(count: int) -> str:
    return f"{format_count(count)} file" + ("" if count == 1 else "s")


def _summary(counts: Counter[str], changed: int, write: bool) -> str:
    parts = [_files(counts["files"])]
    identified = counts[Status.IDENTIFIED.value]
    methods = ", ".join(
        f"{name} {format_count(counts[name])}"
        for name in ("spotify_id", "isrc", "barcode", "match")
        if counts[name]
    )
    parts.append(f"{format_count(identified)} identified" + (f" ({methods})" if methods else ""))
    parts.append(f"{format_count(counts[Status.UNIDENTIFIED.value])} unidentified")
    errors = counts[Status.ERROR.value]
    parts.append(f"{format_count(errors)} error" + ("" if errors == 1 else "s"))
    if write:
        parts.append(f"{_files(changed)} written")
    else:
        parts.append(f"{_files(changed)} would change (dry run: add --write)")
    return "tag: " + ", ".join(parts)


def run(args: argparse.Namespace) -> int:
    counts: Counter[str] = Counter()
    changed = 0
    with Snapshot.open(args.directory) as snap:
        tagger = Tagger(snap, min_score=args.min_score)
        warned = False
        progress = Progress("tag", None, unit="files", estimate=True)
        for report in tagger.run(args.paths, write=args.write, overwrite=args.overwrite):
            counts["files"] += 1
            counts[report.status.value] += 1
            if report.identification is not None and report.status is Status.IDENTIFIED:
                counts[report.identification.by.value] += 1
            if report.changes and (report.written or not args.write):
                changed += 1
            progress.clear()
            if report.status is Status.UNIDENTIFIED and not tagger.can_match and not warned:
                warned = True
                print(
                    "snapshot-api tag: files without ids are not matched by title and artist"
                    " (this snapshot has no search index: build it without --no-search)",
                    file=sys.stderr,
                )
            if report.status is Status.ERROR:
                print(f"snapshot-api tag: {report.path}: {report.error}", file=sys.stderr)
            if args.json or report.identification is not None or report.note is not None:
                _print(report, as_json=args.json, write=args.write, out=sys.stdout)
            progress.update(counts["files"])
        sys.stdout.flush()
        progress.finish(_summary(counts, changed, args.write))
    return 1 if counts[Status.ERROR.value] else 0
