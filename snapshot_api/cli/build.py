"""`snapshot-api build DIR`: prepare a dump for serving; the work is in `snapshot_api.build`."""

from __future__ import annotations

import argparse

from snapshot_api.build.pipeline import build
from snapshot_api.progress import Reporter, format_bytes, format_count


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", metavar="DIR", help="directory holding the dump files")
    parser.add_argument(
        "--checksums",
        action="store_true",
        help="also record the SHA-256 of every dump file in the manifest (reads every byte; "
        "`verify --full` then checks them)",
    )
    parser.add_argument(
        "--force", action="store_true", help="rebuild even when the build is up to date"
    )
    parser.add_argument(
        "--no-search",
        action="store_true",
        help="skip the name search index (faster, smaller; search and match then answer 503)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress or step messages, only errors"
    )


def run(args: argparse.Namespace) -> int:
    report = build(
        args.directory,
        checksums=args.checksums,
        force=args.force,
        search=not args.no_search,
        reporter=Reporter(quiet=args.quiet),
    )
    manifest = report.manifest
    counts = ", ".join(
        f"{format_count(manifest.counts[table])} {table}"
        for table in ("tracks", "albums", "artists")
        if table in manifest.counts
    )
    size = sum(record.size for record in manifest.files)
    print(
        f"snapshot {manifest.snapshot_id} ready in {report.directory}: {counts} "
        f"({format_bytes(size)} of dump files); next: snapshot-api verify {report.directory}"
    )
    return 0
