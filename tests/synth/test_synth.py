"""The synthetic dump generator: schema, shape, dirty cases, determinism, safety, CLI.

Dumps are generated once per session (a few thousand tracks each) and only
read by the tests; tests that write make their own directories. One module
because those session dumps are what nearly every test reads.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import apsw
import pytest

from snapshot_api import Snapshot
from snapshot_api.layout import schema_sql
from snapshot_api.synth.db import split_ddl
from snapshot_api.synth.dirty import CASES, find_dirty
from snapshot_api.synth.generate import SynthError, SynthReport, synthesize
from tests.support.fixtures import ROOT, run_command
from tests.support.prepare import prepare

MAIN = "spotify_clean.sqlite3"
FILES = "spotify_clean_track_files.sqlite3"
AUDIO = "spotify_clean_audio_features.sqlite3"
SMALL = 2000
MEDIUM = 20_000
BASE62_ID = re.compile(r"[0-9A-Za-z]{22}")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def digests(directory: Path) -> dict[str, str]:
    return {name: digest(directory / name) for name in (MAIN, FILES, AUDIO)}


def connect(path: Path) -> apsw.Connection:
    flags = apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI
    return apsw.Connection(f"file:{path}?mode=ro", flags=flags)


def scalar(db: apsw.Connection, sql: str) -> object:
    return db.execute(sql).fetchall()[0][0]


@pytest.fixture(scope="session")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("small")
    synthesize(directory, SMALL, seed=0, progress=False)
    return directory


@pytest.fixture(scope="session")
def medium(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthReport]:
    """Big enough for ratios; made by two worker processes."""
    directory = tmp_path_factory.mktemp("medium")
    report = synthesize(directory, MEDIUM, seed=3, progress=False, workers=2)
    return directory, report


@pytest.fixture
def main_db(medium: tuple[Path, SynthReport]) -> Iterator[apsw.Connection]:
    db = connect(medium[0] / MAIN)
    db.execute("ATTACH ? AS tf", (f"file:{medium[0] / FILES}?mode=ro",))
    db.execute("ATTACH ? AS af", (f"file:{medium[0] / AUDIO}?mode=ro",))
    yield db
    db.close()


# --- schema ---------------------------------------------------------------------------


def _schema(db: apsw.Connection) -> dict[str, object]:
    """Everything about tables and indexes a reader can see, stats tables left out."""
    shape: dict[str, object] = {}
    for kind, name, table, sql in db.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
    ):
        shape[f"{kind} {name}"] = (table, sql)
        if kind == "table":
            shape[f"columns {name}"] = db.execute(f"PRAGMA table_info({name})").fetchall()
            shape[f"indexes {name}"] = sorted(db.execute(f"PRAGMA index_list({name})").fetchall())
        else:
            shape[f"index columns {name}"] = db.execute(f"PRAGMA index_xinfo({name})").fetchall()
    return shape


@pytest.mark.parametrize(
    ("name", "ddl"),
    [(MAIN, "main.sql"), (FILES, "track_files.sql"), (AUDIO, "audio_features.sql")],
)
def test_schema_is_exactly_the_ddl(small: Path, name: str, ddl: str) -> None:
    reference = apsw.Connection(":memory:")
    reference.execute(schema_sql(ddl))
    with connect(small / name) as db:
        assert _schema(db) == _schema(reference)
        assert scalar(db, "PRAGMA integrity_check") == "ok"
    reference.close()


def test_split_ddl_keeps_semicolons_in_literals_and_refuses_other_statements() -> None:
    ddl = split_ddl(
        "-- a comment; with a semicolon\n"
        "CREATE TABLE t (a text DEFAULT ';');\n"
        "CREATE UNIQUE INDEX t_a ON t (a);\n"
        "CREATE INDEX t_b ON t (a) WHERE a != ';';\n"
    )
    assert ddl.tables == ("CREATE TABLE t (a text DEFAULT ';');",)
    assert [ddl.index_name(s) for s in ddl.indexes] == ["t_a", "t_b"]
    with pytest.raises(ValueError, match="unexpected statement"):
        split_ddl("CREATE TABLE t (a);\nINSERT INTO t VALUES (1);")
    main = split_ddl(schema_sql("main.sql"))
    assert len(main.tables) == 9 and len(main.indexes) == 20


# --- shape ----------------------------------------------------------------------------


def test_every_table_is_filled_and_counts_match_the_report(
    medium: tuple[Path, SynthReport], main_db: apsw.Connection
) -> None:
    _, report = medium
    assert report.tracks == MEDIUM and report.counts["tracks"] == MEDIUM
    for table, count in report.counts.items():
        schema = {"track_files": "tf", "track_audio_features": "af"}.get(table, "main")
        assert scalar(main_db, f"SELECT count(*) FROM {schema}.{table}") == count > 0, table
    assert set(report.sizes) == {MAIN, FILES, AUDIO}
    assert report.sizes[MAIN] == (medium[0] / MAIN).stat().st_size
    assert report.elapsed > 0


@pytest.mark.parametrize(
    ("table", "per_track", "tolerance"),
    [
        ("albums", 0.229, 0.10),
        ("artists", 0.060, 0.05),
        ("track_artists", 1.36, 0.08),
        ("artist_albums", 0.437, 0.15),
        ("album_images", 0.229 * 3, 0.12),
        ("artist_images", 26_777_840 / 256_039_007, 0.25),
        ("artist_genres", 2_229_947 / 256_039_007, 0.35),
        ("track_files", 1.0, 0.01),
        ("track_audio_features", 255_594_909 / 256_039_007, 0.01),
    ],
)
def test_row_ratios_follow_the_real_dump(
    medium: tuple[Path, SynthReport], table: str, per_track: float, tolerance: float
) -> None:
    ratio = medium[1].counts[table] / MEDIUM
    assert abs(ratio - per_track) <= tolerance * per_track, (table, ratio)


def test_value_distributions(main_db: apsw.Connection) -> None:
    def share(sql: str) -> float:
        value = scalar(main_db, sql)
        assert isinstance(value, float)
        return value

    assert 0.05 <= share("SELECT avg(external_id_isrc IS NULL) FROM tracks") <= 0.2
    distinct = share(
        "SELECT count(DISTINCT external_id_isrc) * 1.0 / count(external_id_isrc) FROM tracks"
    )
    assert 0.7 <= distinct <= 0.9  # real: 186M distinct among ~230M non-NULL
    assert share("SELECT avg(popularity = 0) FROM tracks") >= 0.6
    assert 0.0002 <= share("SELECT avg(popularity >= 50) FROM tracks") <= 0.005
    assert 0.3 <= share("SELECT avg(preview_url IS NULL) FROM tracks") <= 0.8
    assert 0.02 <= share("SELECT avg(explicit) FROM tracks") <= 0.3
    assert 0.02 <= share("SELECT avg(external_id_upc IS NULL) FROM albums") <= 0.2
    # artist images for a minority of artists, genres for fewer still
    assert share("SELECT avg(rowid IN (SELECT artist_rowid FROM artist_images)) FROM artists") < 0.5
    assert share("SELECT avg(rowid IN (SELECT artist_rowid FROM artist_genres)) FROM artists") < 0.2
    genres = scalar(main_db, "SELECT count(DISTINCT genre) FROM artist_genres")
    assert isinstance(genres, int) and 50 <= genres <= 768  # Zipf over 768
    # a few market lists shared by most rows
    markets = scalar(main_db, "SELECT count(*) FROM available_markets")
    assert isinstance(markets, int) and markets < 100
    assert share("SELECT avg(available_markets_rowid = 1) FROM tracks") > 0.3
    for (text,) in main_db.execute("SELECT available_markets FROM available_markets"):
        assert text == "" or re.fullmatch(r"[A-Z]{2}(,[A-Z]{2})*", text)
    assert share("SELECT avg(has_lyrics IS NULL) FROM tf.track_files") > 0.1


def test_albums_and_tracks_are_consistent(main_db: apsw.Connection) -> None:
    def none(sql: str) -> None:
        assert main_db.execute(sql).fetchall() == [], sql

    none(
        "SELECT a.rowid FROM albums AS a LEFT JOIN (SELECT album_rowid, count(*) AS n "
        "FROM tracks GROUP BY album_rowid) AS t ON t.album_rowid = a.rowid "
        "WHERE a.total_tracks IS NOT coalesce(t.n, 0)"
    )
    none(
        "SELECT album_rowid, disc_number FROM tracks GROUP BY album_rowid, disc_number "
        "HAVING min(track_number) != 1 OR max(track_number) != count(*) "
        "OR count(DISTINCT track_number) != count(*)"
    )
    none(
        "SELECT album_rowid FROM artist_albums WHERE is_appears_on = 0 AND "
        "is_implicit_appears_on = 0 GROUP BY album_rowid HAVING min(index_in_album) != 0 "
        "OR max(index_in_album) != count(*) - 1 OR count(DISTINCT index_in_album) != count(*)"
    )
    none(
        "SELECT rowid FROM artist_albums WHERE (index_in_album IS NULL) != "
        "(is_appears_on = 1 OR is_implicit_appears_on = 1)"
    )
    none("SELECT rowid FROM albums WHERE rowid NOT IN (SELECT album_rowid FROM artist_albums)")
    none(
        "SELECT album_rowid FROM album_images GROUP BY album_rowid "
        "HAVING group_concat(width, ',' ORDER BY rowid) NOT IN "
        "('640,300,64', '640,640,300,64', '640,300,300,64', '640,300,64,64')"
    )
    none("SELECT rowid FROM tracks WHERE rowid NOT IN (SELECT track_rowid FROM track_artists)")
    among = scalar(
        main_db,
        "SELECT avg(EXISTS (SELECT 1 FROM artist_albums AS aa JOIN track_artists AS ta "
        "ON ta.artist_rowid = aa.artist_rowid AND ta.track_rowid = t.rowid "
        "WHERE aa.album_rowid = t.album_rowid AND aa.index_in_album IS NOT NULL)) FROM tracks AS t",
    )
    assert isinstance(among, float) and among > 0.6  # compilations are by "Various Artists"


def test_references_resolve_but_a_few_artists_and_ids_are_valid(main_db: apsw.Connection) -> None:
    chunks = -(-MEDIUM // 8192)
    for table, column, target, dangling_at_most in (
        ("track_artists", "artist_rowid", "artists", chunks),  # one forced per chunk
        ("artist_albums", "artist_rowid", "artists", chunks),
    ):
        dangling = scalar(
            main_db,
            f"SELECT count(*) FROM {table} WHERE {column} NOT IN (SELECT rowid FROM {target})",
        )
        assert isinstance(dangling, int) and 1 <= dangling <= dangling_at_most, table
    for table, column, target in (
        ("tracks", "album_rowid", "albums"),
        ("track_artists", "track_rowid", "tracks"),
        ("artist_albums", "album_rowid", "albums"),
        ("album_images", "album_rowid", "albums"),
        ("artist_images", "artist_rowid", "artists"),
        ("artist_genres", "artist_rowid", "artists"),
        ("tracks", "available_markets_rowid", "available_markets"),
        ("albums", "available_markets_rowid", "available_markets"),
    ):
        dangling = scalar(
            main_db,
            f"SELECT count(*) FROM {table} WHERE {column} NOT IN (SELECT rowid FROM {target})",
        )
        assert dangling == 0, (table, column)
    orphans = scalar(
        main_db, "SELECT count(*) FROM tf.track_files WHERE track_id NOT IN (SELECT id FROM tracks)"
    )
    assert orphans == 0
    for table in ("tracks", "albums", "artists"):
        ids = [row[0] for row in main_db.execute(f"SELECT id FROM {table}")]
        assert all(BASE62_ID.fullmatch(i) for i in ids), table
        assert len(set(ids)) == len(ids), table
    # the order of a track's artists is rowid order: the first is an album artist as a rule
    first_is_album_artist = scalar(
        main_db,
        "SELECT avg(ta.artist_rowid IN (SELECT artist_rowid FROM artist_albums AS aa "
        "WHERE aa.album_rowid = t.album_rowid AND aa.index_in_album IS NOT NULL)) "
        "FROM tracks AS t JOIN track_artists AS ta ON ta.rowid = "
        "(SELECT min(rowid) FROM track_artists WHERE track_rowid = t.rowid)",
    )
    assert isinstance(first_is_album_artist, float) and first_is_album_artist > 0.6


# --- dirty cases ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 12345])
def test_every_dirty_case_is_present_in_a_small_dump(
    small: Path, tmp_path: Path, seed: int
) -> None:
    directory = small
    if seed:
        directory = tmp_path / "other"
        synthesize(directory, SMALL, seed=seed, progress=False)
    found = find_dirty(directory)
    assert set(found) == {case.name for case in CASES}
    assert [name for name, examples in found.items() if not examples] == []


def test_dirty_values_mean_what_their_names_say(small: Path) -> None:
    from snapshot_api.identifiers import Kind, parse, stored_barcode_key

    found = find_dirty(small)
    for value in found["isrc_lowercase"] + found["isrc_hyphenated"]:
        assert parse(Kind.ISRC, value) != value  # normalises to another spelling
    both = found["upc_both_spellings"][0]
    assert stored_barcode_key(both) == stored_barcode_key("0" + both)
    assert all(stored_barcode_key(v) is None for v in found["upc_letters"])
    with connect(small / MAIN) as db:
        shared = found["isrc_shared"][0]
        assert scalar(db, f"SELECT count(*) FROM tracks WHERE external_id_isrc = '{shared}'") >= 2


def test_the_library_reads_a_synthetic_dump(tmp_path: Path) -> None:
    synthesize(tmp_path, SMALL, seed=5, progress=False)
    found = find_dirty(tmp_path)
    prepare(tmp_path)
    with Snapshot.open(tmp_path) as snap:
        shared = found["isrc_shared"][0]
        assert len(snap.lookup_isrcs([shared])[shared]) >= 2
        upc = found["upc_both_spellings"][0]
        assert len(snap.lookup_upcs([upc])[upc]) >= 2
        missing = found["track_files_missing"][0]
        document = snap.tracks([missing])[missing]
        assert "has_lyrics" not in document and document["id"] == missing
        empty = found["album_name_empty"][0]
        assert snap.albums([empty])[empty]["name"] == ""


# --- determinism ----------------------------------------------------------------------


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(
    small: Path, tmp_path: Path
) -> None:
    synthesize(tmp_path / "again", SMALL, seed=0, progress=False)
    synthesize(tmp_path / "other", SMALL, seed=1, progress=False)
    assert digests(tmp_path / "again") == digests(small)
    other = digests(tmp_path / "other")
    assert other[MAIN] != digests(small)[MAIN] and other[FILES] != digests(small)[FILES]


def test_the_number_of_workers_does_not_change_the_bytes(
    medium: tuple[Path, SynthReport], tmp_path: Path
) -> None:
    synthesize(tmp_path, MEDIUM, seed=3, progress=False, workers=1)
    assert digests(tmp_path) == digests(medium[0])


def test_with_stats_adds_sqlite_stat1_and_stat4_deterministically(tmp_path: Path) -> None:
    assert "ENABLE_STAT4" in apsw.compile_options
    for name in ("one", "two"):
        synthesize(tmp_path / name, SMALL, seed=2, progress=False, with_stats=True)
    for file in (MAIN, FILES, AUDIO):
        with connect(tmp_path / "one" / file) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
            assert {"sqlite_stat1", "sqlite_stat4"} <= tables
            assert scalar(db, "SELECT count(*) FROM sqlite_stat4") > 0
    assert digests(tmp_path / "one") == digests(tmp_path / "two")


def test_without_track_files_the_main_database_is_unchanged(small: Path, tmp_path: Path) -> None:
    report = synthesize(
        tmp_path, SMALL, seed=0, progress=False, track_files=False, audio_features=False
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [MAIN]
    assert "track_files" not in report.counts
    assert digest(tmp_path / MAIN) == digest(small / MAIN)


def test_without_audio_features_the_other_files_are_unchanged(small: Path, tmp_path: Path) -> None:
    report = synthesize(tmp_path, SMALL, seed=0, progress=False, audio_features=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([MAIN, FILES])
    assert "track_audio_features" not in report.counts
    assert digest(tmp_path / MAIN) == digest(small / MAIN)
    assert digest(tmp_path / FILES) == digest(small / FILES)


def test_audio_features_have_every_dirty_case_and_spotify_ranges(small: Path) -> None:
    with connect(small / MAIN) as db:
        db.execute("ATTACH ? AS af", (f"file:{small / AUDIO}?mode=ro",))
        tracks = scalar(db, "SELECT count(*) FROM tracks")
        rows = scalar(db, "SELECT count(*) FROM af.track_audio_features")
        assert isinstance(rows, int) and isinstance(tracks, int)
        assert 0 < rows < tracks, "a few tracks have no row"
        orphans = "SELECT count(*) FROM af.track_audio_features WHERE track_id NOT IN"
        assert scalar(db, orphans + " (SELECT id FROM tracks)") == 0
        null_rows = "SELECT count(*) FROM af.track_audio_features WHERE null_response = 1"
        assert scalar(db, null_rows) > 0
        assert scalar(db, null_rows + " AND coalesce(tempo, key, energy, valence) IS NOT NULL") == 0
        partial = (
            "SELECT count(*) FROM af.track_audio_features WHERE null_response = 0"
            " AND (duration_ms IS NULL OR time_signature IS NULL OR tempo IS NULL OR key IS NULL"
            " OR mode IS NULL OR danceability IS NULL OR energy IS NULL OR loudness IS NULL"
            " OR speechiness IS NULL OR acousticness IS NULL OR instrumentalness IS NULL"
            " OR liveness IS NULL OR valence IS NULL)"
        )
        assert scalar(db, partial) > 0
        ranges = (
            "SELECT count(*) FROM af.track_audio_features WHERE null_response = 0 AND NOT ("
            " coalesce(key BETWEEN -1 AND 11, 1) AND coalesce(mode IN (0, 1), 1)"
            " AND coalesce(time_signature BETWEEN 3 AND 7, 1) AND coalesce(loudness <= 0, 1)"
            " AND coalesce(energy BETWEEN 0 AND 1, 1) AND coalesce(valence BETWEEN 0 AND 1, 1))"
        )
        assert scalar(db, ranges) == 0


# --- safety ---------------------------------------------------------------------------


def test_existing_dump_is_kept_unless_forced(small: Path, tmp_path: Path) -> None:
    synthesize(tmp_path, 50, seed=0, progress=False)
    before = digests(tmp_path)
    with pytest.raises(SynthError, match="already holds dump files"):
        synthesize(tmp_path, 60, seed=0, progress=False)
    assert digests(tmp_path) == before
    (tmp_path / "manifest.json").write_text("{}")
    (tmp_path / "snapshot-index.sqlite3").write_bytes(b"stale")
    (tmp_path / "main_database.sqlite3.zst").write_bytes(b"old dump under another name")
    synthesize(tmp_path, SMALL, seed=0, progress=False, force=True)
    assert digests(tmp_path) == digests(small)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([MAIN, FILES, AUDIO])


def test_leftovers_of_an_interrupted_run_are_replaced(tmp_path: Path) -> None:
    partial = tmp_path / f".{MAIN}.synth-partial"
    partial.write_bytes(b"half a file")
    synthesize(tmp_path, 50, seed=0, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([MAIN, FILES, AUDIO])


@pytest.mark.parametrize(
    ("tracks", "seed", "message"),
    [(0, 0, "number of tracks"), (400_000_000, 0, "number of tracks"), (10, -1, "seed")],
)
def test_bad_arguments_raise_before_anything_is_written(
    tmp_path: Path, tracks: int, seed: int, message: str
) -> None:
    with pytest.raises(SynthError, match=message):
        synthesize(tmp_path / "never", tracks, seed=seed, progress=False)
    assert not (tmp_path / "never").exists()


def test_progress_goes_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    synthesize(tmp_path, 500, seed=0, progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert re.search(r"500/500 tracks \(100\.0%\), [\d,]+ tracks/s, ETA", captured.err)
    assert "index 20/20" in captured.err and "done in" in captured.err


# --- command line -------------------------------------------------------------------


def cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    return run_command("synth", *arguments)


@pytest.mark.parametrize(
    "arguments",
    [
        ["--tracks", "0"],
        ["--tracks", "abc"],
        ["--tracks", "400M"],
        ["--tracks", "10", "--seed", "-1"],
        ["--tracks", "10", "--jobs", "0"],
        [],
    ],
)
def test_cli_rejects_bad_arguments_with_one_line_and_status_2(
    tmp_path: Path, arguments: list[str]
) -> None:
    result = cli(str(tmp_path / "dump"), *arguments)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and "error" in result.stderr
    assert not (tmp_path / "dump").exists()


def test_cli_runtime_errors_are_one_line_with_status_1(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("x")
    result = cli(str(not_a_directory), "--tracks", "10")
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1
    assert "cannot create directory" in result.stderr

    assert cli(str(tmp_path / "dump"), "--tracks", "100", "-q").returncode == 0
    result = cli(str(tmp_path / "dump"), "--tracks", "100", "-q")
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1
    assert "--force" in result.stderr


def test_cli_writes_a_dump_and_prints_a_summary(tmp_path: Path) -> None:
    result = cli(str(tmp_path), "--tracks", "1k", "--seed", "9", "--no-track-files")
    assert result.returncode == 0, result.stderr
    assert "tracks 1,000" in result.stdout and MAIN in result.stdout
    assert "ETA" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([MAIN, AUDIO])
    only_main = tmp_path / "main-only"
    result = cli(str(only_main), "--tracks", "1k", "--no-track-files", "--no-audio-features", "-q")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in only_main.iterdir()) == [MAIN]


def test_an_interrupted_run_leaves_nothing_under_the_real_names(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "snapshot_api", "synth", str(tmp_path), "-n", "300k"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:  # the first progress line: rows are being written
            if "tracks (" in line:
                break
        assert (tmp_path / f".{MAIN}.synth-partial").exists()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130
    assert stderr.strip().splitlines()[-1] == "snapshot-api: interrupted"
    assert os.listdir(tmp_path) == []
