"""`snapshot-api verify DIR [--full] [--json]`: is this snapshot fit to serve?

Quick mode (default) costs seconds whatever the snapshot's size: headers,
manifest, sidecar, schema and indexes, the library's query plans, and random
samples (`tools.checks`, `tools.sampling`). `--full` adds what needs every
page: integrity_check, SHA-256 against the manifest, full-table reference and
row counts (`tools.fullchecks`). One line per check, or a JSON report; exit
status 0 when no check failed, 1 otherwise. Everything is opened
`mode=ro&immutable=1`: verify never writes, locks or touches a file's mtime.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apsw
import orjson

from tools import fullchecks, sampling
from tools.checks import (
    Check,
    Status,
    Target,
    check_files,
    check_manifest,
    check_query_plans,
    check_schemas,
    check_sidecar_file,
    check_statistics,
)
from tools.progress import Reporter


@dataclass(slots=True)
class VerifyReport:
    """Every check's verdict; `fit` when none failed."""

    directory: Path
    full: bool
    seed: int
    sample: int
    checks: list[Check] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def fit(self) -> bool:
        return not any(check.status is Status.FAILED for check in self.checks)

    def tally(self) -> dict[str, int]:
        return {
            status.value: sum(check.status is status for check in self.checks) for status in Status
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "directory": str(self.directory),
            "mode": "full" if self.full else "quick",
            "fit_to_serve": self.fit,
            "summary": self.tally(),
            "seconds": round(self.seconds, 3),
            "sample": {"rows_per_check": self.sample, "seed": self.seed},
            "checks": [check.as_dict() for check in self.checks],
        }


def _guarded(step: str, run: Callable[[], list[Check]]) -> list[Check]:
    """A check that hits an unreadable or corrupt file reports it instead of crashing."""
    try:
        return run()
    except apsw.Error as exc:
        return [Check(step, Status.FAILED, f"SQLite error: {exc}")]
    except OSError as exc:
        return [Check(step, Status.FAILED, f"{exc.filename or ''}: {exc.strerror or exc}")]


def verify(
    directory: str | Path,
    *,
    full: bool = False,
    sample: int = sampling.DEFAULT_SAMPLE,
    seed: int | None = None,
    reporter: Reporter | None = None,
) -> VerifyReport:
    """Run every check on `directory` (the API benchmarks time)."""
    started = time.monotonic()
    reporter = reporter or Reporter()
    path = Path(directory)
    seed = random.randrange(2**31) if seed is None else seed
    report = VerifyReport(path, full, seed, sample)
    if not path.is_dir():
        report.checks.append(Check("directory", Status.FAILED, f"{path} is not a directory"))
        return report
    target = Target(path)
    rng = random.Random(seed)
    steps: list[tuple[str, Callable[[], list[Check]]]] = [
        ("files", lambda: check_files(target)),
        ("manifest", lambda: check_manifest(target)),
        ("sidecar", lambda: check_sidecar_file(target)),
        ("schema", lambda: check_schemas(target)),
        ("statistics", lambda: check_statistics(target)),
        ("query plans", lambda: check_query_plans(target)),
        ("sample references", lambda: sampling.check_references(target, rng, sample)),
        ("sample identifiers", lambda: sampling.check_identifiers(target, rng, sample)),
        ("sample sidecar", lambda: sampling.check_sidecar_sample(target, rng, sample)),
    ]
    if full:
        steps += [
            ("integrity", lambda: fullchecks.check_integrity(target, reporter)),
            ("checksums", lambda: fullchecks.check_checksums(target, reporter)),
            ("references", lambda: fullchecks.check_full_references(target, reporter)),
            ("row counts", lambda: fullchecks.check_counts(target, reporter)),
        ]
    for step, run_step in steps:
        report.checks.extend(_guarded(step, run_step))
    report.seconds = time.monotonic() - started
    return report


# --- command line ---------------------------------------------------------------------


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
