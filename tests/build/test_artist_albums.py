"""Artist albums: `build` numbers every artist's own albums, and any page costs the same.

The dump here is the hand-made one plus one artist with thousands of albums
(dates drawn at random, some equal, some empty; a duplicate row, a dangling
album reference and appears-on rows that must not count). The expected order
is computed in Python from the rows; the cost of a page is counted in SQLite
virtual machine instructions (no timing), at the first and the last offset.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from snapshot_api import Snapshot
from snapshot_api.build.pipeline import build
from snapshot_api.documents.paging import Page
from snapshot_api.errors import SnapshotNotPrepared
from snapshot_api.progress import Reporter
from snapshot_api.verify.checks import full_scans
from tests.support.fixtures import SnapshotFactory
from tests.support.handmade import ARTIST, write_dump
from tests.support.reference import own_album_ids

MANY = 3_000
BUSY = ARTIST[2]


def _add_albums(directory: Path) -> None:
    rng = random.Random(11)
    dump = sqlite3.connect(directory / "spotify_clean.sqlite3")
    first = 1000
    albums = []
    links = []
    for n in range(MANY):
        rowid = first + n
        year = rng.randrange(1960, 2025)
        date = rng.choice([f"{year}", f"{year}-{rng.randrange(1, 13):02d}", None, "2001-02-03"])
        albums.append(
            (rowid, f"Many{n}".ljust(22, "y"), f"Album {n}", date, "day" if date else None)
        )
        links.append((2, rowid, 0, 0, 0))
    dump.executemany(
        "INSERT INTO albums VALUES (?, ?, 0, ?, 'album', 1, NULL, NULL, NULL, NULL, 'L', 0,"
        " coalesce(?, ''), coalesce(?, 'year'), 1)",
        albums,
    )
    links += [
        (2, first, 0, 0, 0),  # duplicate row
        (2, 999_999, 0, 0, 0),  # dangling album
        (2, first + 1, 1, 0, None),  # appears on (already own: still listed once)
        (6, first + 2, 0, 1, None),  # implicit appears-on only: not ARTIST[6]'s own
    ]
    dump.executemany("INSERT INTO artist_albums VALUES (?, ?, ?, ?, ?)", links)
    dump.commit()
    dump.close()


@pytest.fixture(scope="module")
def busy_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("busy-artist")
    write_dump(directory)
    _add_albums(directory)
    build(directory, reporter=Reporter(quiet=True))
    return directory


def test_every_artist_is_numbered_newest_first(busy_snapshot: Path) -> None:
    with Snapshot.open(busy_snapshot) as snapshot:
        for artist_id in ARTIST.values():
            expected = own_album_ids(busy_snapshot, artist_id)
            page = snapshot.artist_albums(artist_id, limit=50)
            assert page["total"] == len(expected), artist_id
            assert [a["id"] for a in page["items"]] == expected[:50], artist_id
        expected = own_album_ids(busy_snapshot, BUSY)
        assert len(expected) == MANY + 1  # and the hand-made album it already had
        end = len(expected) - 50
        last = snapshot.artist_albums(f"spotify:artist:{BUSY}", limit=50, offset=end)
        assert [a["id"] for a in last["items"]] == expected[-50:]


def test_a_page_costs_the_same_at_any_offset(busy_snapshot: Path) -> None:
    with Snapshot.open(busy_snapshot) as snapshot:
        connection = snapshot._connection()
        steps = [0]

        def count() -> bool:
            steps[0] += 1
            return False

        costs = []
        for offset in (0, MANY // 2, MANY - 20):
            steps[0] = 0
            connection.set_progress_handler(count, 1)
            found = snapshot.artist_albums_json(BUSY, Page(20, offset))
            connection.set_progress_handler(None)
            assert found is not None and len(found[1]) == 20
            costs.append(steps[0])
    assert max(costs) < 1.5 * min(costs), costs


def test_the_statements_search_the_sidecar_key_and_scan_nothing(busy_snapshot: Path) -> None:
    with Snapshot.open(busy_snapshot) as snapshot:
        plans = snapshot.query_plans()
    for name in ("artist_albums_total", "artist_albums_page"):
        assert full_scans(plans[name]) == [], plans[name]
    assert any(
        "USING PRIMARY KEY (artist_rowid=? AND position>? AND position<?)" in line
        for line in plans["artist_albums_page"]
    ), plans["artist_albums_page"]
    assert any(
        "USING PRIMARY KEY (artist_rowid=?)" in line for line in plans["artist_albums_total"]
    )


def test_build_records_the_count_in_the_manifest(busy_snapshot: Path) -> None:
    with Snapshot.open(busy_snapshot) as snapshot:
        recorded = snapshot.manifest.sidecar["artist_albums"]
    sidecar = sqlite3.connect(busy_snapshot / "snapshot-index.sqlite3")
    rows = sidecar.execute("SELECT count(*) FROM artist_album_order").fetchone()[0]
    sidecar.close()
    dump = sqlite3.connect(busy_snapshot / "spotify_clean.sqlite3")
    own = dump.execute(
        "SELECT count(*) FROM (SELECT DISTINCT aa.artist_rowid, aa.album_rowid"
        " FROM artist_albums AS aa JOIN albums AS al ON al.rowid = aa.album_rowid"
        " WHERE aa.is_appears_on = 0 AND aa.is_implicit_appears_on = 0)"
    ).fetchone()[0]
    dump.close()
    # every own-album row whose album exists, the dangling artist rowid of the hand-made
    # dump included (no lookup reaches it: it has no artists row)
    assert recorded == rows == own


def test_a_sidecar_from_before_artist_albums_is_rebuilt(snapshot_factory: SnapshotFactory) -> None:
    directory = snapshot_factory()
    sidecar = sqlite3.connect(directory / "snapshot-index.sqlite3")
    sidecar.execute("DROP TABLE artist_album_order")
    sidecar.execute("DELETE FROM sidecar_meta WHERE key = 'sidecar_layout'")
    sidecar.commit()
    sidecar.close()
    with Snapshot.open(directory) as snapshot:
        artist_id = _any_artist(directory)
        with pytest.raises(SnapshotNotPrepared, match="build"):
            snapshot.artist_albums(artist_id)
        assert snapshot.tracks([]) == {}  # everything else still answers
    report = build(directory, reporter=Reporter(quiet=True))
    assert not report.up_to_date and report.sidecar is not None
    with Snapshot.open(directory) as snapshot:
        assert snapshot.artist_albums(artist_id)["total"] >= 0


def _any_artist(directory: Path) -> str:
    dump = sqlite3.connect(directory / "spotify_clean.sqlite3")
    artist_id = dump.execute("SELECT id FROM artists LIMIT 1").fetchone()[0]
    dump.close()
    return str(artist_id)
