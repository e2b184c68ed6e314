"""`snapshot-api verify DIR`: print the checks of `snapshot_api.verify` and exit 0 only when fit."""

from __future__ import annotations

import argparse
import sys

import orjson

from snapshot_api.verdict import Status
from snapshot_api.verify import sampling
from snapshot_api.verify.checks import Check
from snapshot_api.verify.verifier import verify


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", metavar="DIR", help="a snapshot directory")
    parser.add_argument(
        "--full",
        action="store_true",
        help="also read every page: integrity_check, SHA-256 against the manifest, "
        "full-table reference and row counts (hours on the real dump)",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON report on stdout")
    parser.add_argument(
        "--sample",
        type=_sample_size,
        default=sampling.DEFAULT_SAMPLE,
        metavar="N",
        help=f"rows sampled per table (default {sampling.DEFAULT_SAMPLE})",
    )
    parser.add_argument(
        "--seed", type=int, help="random seed of the samples (default: a new one, reported)"
    )


def _sample_size(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError("--sample is 1 to 100000")
    return value


def format_line(check: Check) -> str:
    return f"{check.status.value:<8}{check.name:<22} {check.detail}"


def run(args: argparse.Namespace) -> int:
    report = verify(args.directory, full=args.full, sample=args.sample, seed=args.seed)
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(report.to_json(), option=orjson.OPT_INDENT_2) + b"\n")
    else:
        for check in report.checks:
            print(format_line(check))
        tally = report.tally()
        counts = ", ".join(f"{n} {status}" for status, n in tally.items() if n)
        if report.fit:
            print(f"fit to serve ({counts}; {report.seconds:.1f}s)")
        else:
            failed = ", ".join(c.name for c in report.checks if c.status is Status.FAILED)
            print(f"NOT fit to serve: failed {failed} ({counts}; {report.seconds:.1f}s)")
    sys.stdout.flush()
    return 0 if report.fit else 1
