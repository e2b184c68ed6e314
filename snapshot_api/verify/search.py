"""verify's checks of the search index: present, built for these files, answering, sound.

A snapshot built with `--no-search` (or whose search file was removed) still
serves every lookup, so a missing index is a warning; an index built for other
files, one that gives wrong answers or plans that scan, are failures.
"""

from __future__ import annotations

import apsw

from snapshot_api.errors import SnapshotError
from snapshot_api.files.sqlite import inspect
from snapshot_api.layout import SEARCH_NAME
from snapshot_api.progress import Reporter, format_bytes
from snapshot_api.search import build as search_build
from snapshot_api.search.index import SearchKind
from snapshot_api.snapshot import Snapshot
from snapshot_api.verdict import Status
from snapshot_api.verify.checks import Check, Target, full_scans, reading

NAME = "search index"


def check_search(target: Target) -> list[Check]:
    """Quick: the manifest's record, the file's meta, one probe per kind, the query plans."""
    if target.manifest is None:
        return [Check(NAME, Status.SKIPPED, "no usable manifest (see above)")]
    if not target.manifest.search:
        return [Check(NAME, Status.WARNING, "not built (--no-search): search and match answer 503")]
    path = target.directory / str(target.manifest.search.get("file", SEARCH_NAME))
    if not path.is_file():
        return [
            Check(
                NAME,
                Status.WARNING,
                f"{path.name} is missing: search and match answer 503; run "
                f"`snapshot-api build {target.directory}` to rebuild it",
            )
        ]
    header = inspect(path)
    if header.problem is not None:
        return [Check(NAME, Status.FAILED, f"{path.name} {header.problem}")]
    meta = search_build.read_meta(path) or {}
    if meta.get("snapshot_id") != target.manifest.snapshot_id:
        return [
            Check(
                NAME,
                Status.FAILED,
                f"{path.name} was built for another snapshot ({meta.get('snapshot_id')}); run "
                f"`snapshot-api build {target.directory}` again",
            )
        ]
    try:
        with Snapshot.open(target.directory) as snapshot:
            problems = _probe(snapshot) + _plans(snapshot)
    except (SnapshotError, apsw.Error) as exc:
        return [Check(NAME, Status.FAILED, f"{path.name} cannot be queried: {exc}")]
    if problems:
        return [Check(NAME, Status.FAILED, "; ".join(problems))]
    target.search = path
    rows = target.manifest.search.get("rows", {})
    counted = ", ".join(f"{rows[kind]} {kind}s" for kind in sorted(rows))
    return [
        Check(
            NAME,
            Status.OK,
            f"{path.name}: {format_bytes(header.size)}, built for snapshot "
            f"{meta.get('snapshot_id')} ({counted}); probes answered",
        )
    ]


def _probe(snapshot: Snapshot) -> list[str]:
    """Search the first word of each kind's best-ranked named row: it must come first."""
    problems = []
    for kind in SearchKind:
        expected = snapshot.search_probe(kind)
        if expected is None:
            continue
        word, document_id = expected
        found = snapshot.search_json(kind, word, limit=1)
        if document_id.encode() not in found:
            problems.append(f"searching {kind.value}s for {word!r} did not find {document_id}")
    return problems


def _plans(snapshot: Snapshot) -> list[str]:
    bad = []
    for name, plan in snapshot.query_plans().items():
        if not name.startswith("search_"):
            continue
        scans = full_scans(plan)
        if scans or any("TEMP B-TREE FOR ORDER BY" in line for line in plan):
            bad.append(f"{name} does not read the index in order ({'; '.join(plan)})")
    return bad


def check_search_integrity(target: Target, reporter: Reporter) -> list[Check]:
    """Full: `PRAGMA integrity_check` of the search file, which includes FTS5's own check."""
    if target.search is None:
        return [Check(f"integrity {NAME}", Status.SKIPPED, "no usable search index (see above)")]
    progress = reporter.progress(f"integrity_check {target.search.name}", None, estimate=False)
    try:
        with reading(target.search) as connection:
            rows = [str(row[0]) for row in connection.execute("PRAGMA integrity_check")]
    except apsw.Error as exc:
        progress.clear()
        return [Check(f"integrity {NAME}", Status.FAILED, f"{target.search.name}: {exc}")]
    progress.finish(f"integrity_check {target.search.name}: done in {progress.elapsed:.1f}s")
    bad = [row for row in rows if row != "ok"]
    if bad:
        return [Check(f"integrity {NAME}", Status.FAILED, "; ".join(bad[:3]))]
    return [Check(f"integrity {NAME}", Status.OK, f"{target.search.name}: integrity_check ok")]
