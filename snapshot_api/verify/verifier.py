"""`snapshot-api verify DIR [--full] [--json]`: is this snapshot fit to serve?

Quick mode (default) costs seconds whatever the snapshot's size: headers,
manifest, sidecar, schema and indexes, the library's query plans, and random
samples (`checks`, `sampling`). `--full` adds what needs every page:
integrity_check, SHA-256 against the manifest, full-table reference and row
counts (`full`), and text cells that are not UTF-8 (`encoding`). One line
per check, or a JSON report; exit status 0 when no check failed, 1 otherwise.
Everything is opened `mode=ro&immutable=1`: verify never writes, locks or
touches a file's mtime.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apsw

from snapshot_api.progress import Reporter
from snapshot_api.verdict import Status
from snapshot_api.verify import full as fullchecks
from snapshot_api.verify import sampling
from snapshot_api.verify.checks import (
    Check,
    Target,
    check_files,
    check_manifest,
    check_query_plans,
    check_schemas,
    check_sidecar_file,
    check_statistics,
)
from snapshot_api.verify.encoding import check_text_encoding


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
    """A check that hits an unreadable or corrupt file reports it instead of crashing.

    Text that is not UTF-8 stops a check where it reads a cell as a string; the
    check did not finish, but lookups serve such cells (with U+FFFD), so it is
    a warning, and `--full` counts every such cell.
    """
    try:
        return run()
    except apsw.Error as exc:
        return [Check(step, Status.FAILED, f"SQLite error: {exc}")]
    except UnicodeDecodeError as exc:
        return [
            Check(
                step,
                Status.WARNING,
                f"stopped at text that is not UTF-8 (byte 0x{exc.object[exc.start]:02x}); "
                "the file may be damaged: `verify --full` counts such cells",
            )
        ]
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
            ("text encoding", lambda: check_text_encoding(target, reporter)),
        ]
    for step, run_step in steps:
        report.checks.extend(_guarded(step, run_step))
    report.seconds = time.monotonic() - started
    return report
