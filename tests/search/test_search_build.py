"""The search index as `build` makes it: interruptible, re-runnable, optional, verified."""

from __future__ import annotations

import hashlib
import signal
import time
from pathlib import Path

import apsw
import orjson
import pytest

from snapshot_api import Snapshot
from snapshot_api.build.pipeline import build
from snapshot_api.errors import SearchUnavailable, SnapshotNotPrepared
from snapshot_api.files.sqlite import open_read_only
from snapshot_api.layout import MANIFEST_NAME, SEARCH_NAME, find_dump_files
from snapshot_api.manifest import Manifest
from snapshot_api.progress import Reporter
from snapshot_api.search import build as search_build
from snapshot_api.search import folding
from snapshot_api.search.build import SearchStats, build_search
from snapshot_api.search.index import RANKINGS
from snapshot_api.verify.verifier import verify
from tests.build.test_build import paused_build
from tests.support.fixtures import CliRunner, SnapshotFactory


def index_content(directory: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of the search file (FTS5's shadow tables hold the index)."""
    connection = open_read_only(directory / SEARCH_NAME)
    try:
        tables = [
            str(row[0])
            for row in connection.execute(
                "SELECT name FROM sqlite_master "
                "WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'"
            )
        ]
        return {t: list(connection.execute(f'SELECT * FROM "{t}" ORDER BY 1')) for t in tables}
    finally:
        connection.close()


def index_answers(directory: Path) -> dict[str, list[tuple[str, list[int]]]]:
    """What the index answers, whatever its segments' layout: for each kind, each term and
    each 3-character prefix with the keys of its rows, in the order FTS5 gives them."""
    connection = open_read_only(directory / SEARCH_NAME)
    try:
        answers: dict[str, list[tuple[str, list[int]]]] = {}
        for ranking in RANKINGS.values():
            terms = [
                str(row[0])
                for row in connection.execute(
                    f"SELECT term FROM {ranking.terms_table} ORDER BY term"
                )
            ]
            queries = [f'"{term}"' for term in terms]
            queries += sorted({f'"{term[:3]}"*' for term in terms if len(term) >= 3})
            answers[ranking.kind.value] = [
                (
                    query,
                    [
                        int(row[0])
                        for row in connection.execute(
                            f"SELECT rowid FROM {ranking.words_table} WHERE {ranking.words_table} "
                            "MATCH ? ORDER BY rowid",
                            (query,),
                        )
                    ],
                )
                for query in queries
            ]
        return answers
    finally:
        connection.close()


def digests(directory: Path) -> dict[str, str]:
    return {
        f.path.name: hashlib.sha256(f.path.read_bytes()).hexdigest()
        for f in find_dump_files(directory).values()
    }


def test_killed_search_build_ends_with_the_same_index(
    snapshot_factory: SnapshotFactory, built_snapshot: Path, run_cli: CliRunner
) -> None:
    directory = snapshot_factory(built=False)
    with paused_build(directory, "search") as process:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert (directory / (SEARCH_NAME + ".tmp")).is_file()
    assert not (directory / SEARCH_NAME).exists()
    assert not (directory / MANIFEST_NAME).exists()
    rerun = run_cli("build", str(directory))
    assert rerun.returncode == 0, rerun.stderr
    assert "removed files left by an interrupted build" in rerun.stderr
    assert not (directory / (SEARCH_NAME + ".tmp")).exists()
    assert index_content(directory) == index_content(built_snapshot)


def _children(pid: int) -> set[int]:
    tasks = Path(f"/proc/{pid}/task")
    return {int(c) for task in tasks.iterdir() for c in (task / "children").read_text().split()}


def _running(pid: int) -> bool:
    """Whether `pid` exists and is not a zombie (whoever reaps orphans may be slow to)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def test_a_killed_build_leaves_no_folding_process_behind(
    snapshot_factory: SnapshotFactory,
) -> None:
    directory = snapshot_factory(built=False)
    with paused_build(directory, "search") as process:
        folders = _children(process.pid)
        assert folders, "the build folds names in child processes"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while (alive := {pid for pid in folders if _running(pid)}) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive, f"folders outlived the killed build: {alive}"


def rebuild_search(directory: Path, processes: int) -> SearchStats:
    manifest = Manifest.read(directory)
    return build_search(
        directory / "spotify_clean.sqlite3",
        directory,
        manifest.snapshot_id,
        Reporter(quiet=True),
        force=True,
        processes=processes,
    )


@pytest.mark.parametrize("processes", [1, 3])
def test_the_index_is_the_same_whatever_the_number_of_folding_processes(
    processes: int, snapshot_factory: SnapshotFactory, built_snapshot: Path
) -> None:
    directory = snapshot_factory()
    rebuild_search(directory, processes)
    assert index_content(directory) == index_content(built_snapshot)


@pytest.mark.parametrize("processes", [1, 3])
def test_chunks_of_more_buckets_than_max_groups_make_the_same_index(
    processes: int,
    snapshot_factory: SnapshotFactory,
    built_snapshot: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Artists' follower counts rarely repeat: a chunk of more buckets than `MAX_GROUPS` is
    one group spanning them, merged by key with the run's others (here every chunk of more
    than two buckets, in runs of several chunks)."""
    monkeypatch.setattr(folding, "MAX_GROUPS", 2)
    monkeypatch.setattr(search_build, "CHUNK_ROWS", 7)
    directory = snapshot_factory()
    rebuild_search(directory, processes)
    assert index_content(directory) == index_content(built_snapshot)


@pytest.mark.parametrize("processes", [1, 3])
def test_runs_fed_to_fts5_one_after_another_make_the_same_index(
    processes: int,
    snapshot_factory: SnapshotFactory,
    built_snapshot: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rows are read in rowid order and fed to FTS5 a run at a time, each run sorted by
    ranking key: with runs of a few rows (many segments, merged by `optimize`) the index
    answers what one run makes it answer."""
    monkeypatch.setattr(search_build, "CHUNK_ROWS", 7)
    monkeypatch.setattr(search_build, "RUN_ROWS", 40)
    directory = snapshot_factory()
    stats = rebuild_search(directory, processes)
    assert stats.rows["track"] > 10 * 40, "the fixture must span many runs"
    answers = index_answers(directory)
    assert answers == index_answers(built_snapshot)
    assert sum(len(rows) for rows in answers.values()) > 1000


def test_every_kind_is_written_in_leaves_of_leaf_bytes(built_snapshot: Path) -> None:
    """The leaf size is FTS5 configuration kept in the file: an index built without it would
    answer the same, only slower (see `LEAF_BYTES`)."""
    connection = open_read_only(built_snapshot / SEARCH_NAME)
    try:
        for ranking in RANKINGS.values():
            value = connection.execute(
                f"SELECT v FROM {ranking.words_table}_config WHERE k = 'pgsz'"
            ).get
            assert value == search_build.LEAF_BYTES, ranking.words_table
    finally:
        connection.close()


def test_build_leaves_dump_files_byte_identical(snapshot_factory: SnapshotFactory) -> None:
    directory = snapshot_factory(built=False)
    before = digests(directory)
    report = build(directory, reporter=Reporter(quiet=True))
    assert report.search is not None and report.search.rows["track"] > 0
    assert digests(directory) == before


def test_rerun_does_nothing_and_force_rebuilds(
    snapshot_factory: SnapshotFactory, run_cli: CliRunner
) -> None:
    directory = snapshot_factory()
    index = directory / SEARCH_NAME
    before = index.stat().st_mtime_ns
    again = run_cli("build", str(directory))
    assert again.returncode == 0, again.stderr
    assert "up to date" in again.stderr
    assert index.stat().st_mtime_ns == before
    content = index_content(directory)
    forced = run_cli("build", "--force", str(directory))
    assert forced.returncode == 0, forced.stderr
    assert index.stat().st_mtime_ns != before
    assert index_content(directory) == content


def test_no_search_build_answers_search_unavailable(
    snapshot_factory: SnapshotFactory, run_cli: CliRunner
) -> None:
    directory = snapshot_factory(built=False)
    result = run_cli("build", "--no-search", str(directory))
    assert result.returncode == 0, result.stderr
    assert not (directory / SEARCH_NAME).exists()
    with Snapshot.open(directory) as snap:
        assert not snap.has_search
        with pytest.raises(SearchUnavailable, match="--no-search"):
            snap.search_tracks("love")
        assert snap.tracks([]) == {}  # lookups still work
    report = verify(directory, reporter=Reporter(quiet=True))
    assert report.fit
    [check] = [c for c in report.checks if c.name == "search index"]
    assert check.status == "warning" and "--no-search" in check.detail
    cli = run_cli("search", str(directory), "track", "love")
    assert cli.returncode == 1
    assert cli.stderr.count("\n") == 1 and "search index" in cli.stderr

    # building again without --no-search adds the index
    result = run_cli("build", str(directory))
    assert result.returncode == 0, result.stderr
    with Snapshot.open(directory) as snap:
        assert snap.has_search
        assert isinstance(snap.search_tracks("love"), list)


def test_a_removed_index_is_a_warning_and_search_unavailable(
    snapshot_factory: SnapshotFactory,
) -> None:
    directory = snapshot_factory()
    (directory / SEARCH_NAME).unlink()
    report = verify(directory, reporter=Reporter(quiet=True))
    assert report.fit
    [check] = [c for c in report.checks if c.name == "search index"]
    assert check.status == "warning" and "missing" in check.detail
    with Snapshot.open(directory) as snap, pytest.raises(SearchUnavailable):
        snap.search_artists("love")


def test_verify_checks_the_index(built_snapshot: Path, snapshot_factory: SnapshotFactory) -> None:
    report = verify(built_snapshot, full=True, reporter=Reporter(quiet=True))
    statuses = {c.name: c.status for c in report.checks}
    assert statuses["search index"] == "ok"
    assert statuses["integrity search index"] == "ok"

    other = snapshot_factory(name="other")
    with apsw.Connection(str(other / SEARCH_NAME)) as connection:
        connection.execute("UPDATE search_meta SET value = 'elsewhere' WHERE key = 'snapshot_id'")
    report = verify(other, reporter=Reporter(quiet=True))
    assert not report.fit
    [check] = [c for c in report.checks if c.name == "search index"]
    assert check.status == "failed" and "another snapshot" in check.detail


def test_an_index_of_another_format_is_refused_until_build_lays_it_out_again(
    snapshot_factory: SnapshotFactory,
) -> None:
    """Its terms or keys are laid out otherwise, so it would answer wrongly."""
    directory = snapshot_factory(name="older")
    with apsw.Connection(str(directory / SEARCH_NAME)) as connection:
        connection.execute("UPDATE search_meta SET value = 'older' WHERE key = 'format'")
    with pytest.raises(SnapshotNotPrepared, match="is in format older, this version reads"):
        Snapshot.open(directory)
    [check] = [
        c
        for c in verify(directory, reporter=Reporter(quiet=True)).checks
        if c.name == "search index"
    ]
    assert check.status == "failed" and "format older" in check.detail

    report = build(directory, reporter=Reporter(quiet=True))
    assert report.search is not None and not report.search.up_to_date
    with Snapshot.open(directory) as snap:
        assert snap.search_tracks("love", limit=1)


def test_cli_prints_the_library_answer(built_snapshot: Path, run_cli: CliRunner) -> None:
    with Snapshot.open(built_snapshot) as snap:
        expected = snap.search_tracks("love", limit=7, offset=2)
    result = run_cli(
        "search", str(built_snapshot), "track", "love", "--limit", "7", "--offset", "2"
    )
    assert result.returncode == 0, result.stderr
    assert orjson.loads(result.stdout) == expected
    bad = run_cli("search", str(built_snapshot), "track", "love", "--limit", "0")
    assert bad.returncode == 1 and bad.stderr.startswith("snapshot-api search: limit")
    assert "Traceback" not in bad.stderr
