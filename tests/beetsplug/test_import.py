"""`beet import` with the snapshot plugin, run as a user runs it, on real audio files.

The files are silent FLAC/MP3 of the snapshot tracks' own durations, carrying
only the tags each test names; what beets stored is read back from its library
database and from the files' tags (mediafile, beets' own tag reader), and
compared with what the reference computes from the dump.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from mediafile import MediaFile

from tests.support.beets_home import (
    BeetsHome,
    SnapshotAlbum,
    all_isrcs,
    expected_album_fields,
    expected_item_fields,
    one_disc,
    rip,
)


def assert_imported_as(home: BeetsHome, album: SnapshotAlbum) -> None:
    """The library holds exactly this album, every field as the snapshot has it."""
    (stored,) = home.albums()
    expected = expected_album_fields(album)
    assert {key: stored[key] for key in expected} == expected
    items = home.items()
    wanted = expected_item_fields(album)
    assert [{key: item[key] for key in want} for item, want in zip(items, wanted, strict=True)] == (
        wanted
    )
    for item, track in zip(items, album.tracks, strict=True):
        assert abs(item["length"] - track["duration_ms"] / 1000) < 0.1


def test_album_found_by_name_and_written(
    beets_home: BeetsHome, pick_album: Callable[..., SnapshotAlbum], tmp_path: Path
) -> None:
    album = pick_album(one_disc)
    source = rip(tmp_path / "rip", album, tags=("artist", "album", "title", "track"))

    beets_home.run("import", "-q", str(source))

    assert_imported_as(beets_home, album)
    items = beets_home.items()
    for item, track in zip(items, album.tracks, strict=True):
        written = MediaFile(beets_home.path_of(item))
        assert written.title == track["name"]
        assert written.album == album.album["name"]
        assert (written.isrc or None) == track.get("isrc")
        assert written.mb_albumid == album.id
        assert written.mb_trackid == track["id"]
        assert (written.barcode or None) == album.album.get("upc")


def test_multi_disc_album_numbered_across_discs(
    beets_home: BeetsHome,
    reference: object,
    tmp_path: Path,
    pick_album: Callable[..., SnapshotAlbum],
) -> None:
    album = pick_album(lambda a: not one_disc(a), most=30)
    source = rip(
        tmp_path / "rip", album, fmt="mp3", tags=("artist", "album", "title", "track", "disc")
    )

    beets_home.run("import", "-q", str(source))

    assert_imported_as(beets_home, album)


@pytest.mark.parametrize(
    "tags", [("artist", "title", "isrc"), ("artist", "title")], ids=["by-isrc", "by-match"]
)
def test_singletons(
    beets_home: BeetsHome,
    pick_album: Callable[..., SnapshotAlbum],
    tmp_path: Path,
    tags: tuple[str, ...],
) -> None:
    """Files carrying a title and an artist (no album), with or without an ISRC: each is
    imported as its track (by the ISRC, else matched with the file's length)."""
    album = pick_album(lambda a: all_isrcs(a) and one_disc(a), skip=1, unique=True)
    source = rip(tmp_path / "rip", album, fmt="mp3", tags=tags)

    beets_home.run("import", "-q", "-s", str(source))

    items = sorted(beets_home.items(), key=lambda item: item["mb_trackid"])
    tracks = sorted(album.tracks, key=lambda track: track["id"])
    assert [item["mb_trackid"] for item in items] == [track["id"] for track in tracks]
    for item, track in zip(items, tracks, strict=True):
        assert item["isrc"] == track["isrc"]
        assert item["album"] == album.album["name"]
        assert item["spotify_album_id"] == album.id
        position = [t["id"] for t in album.tracks].index(track["id"]) + 1
        assert item["track"] == position


def test_a_second_import_finds_the_album_by_its_stored_id(
    beets_home: BeetsHome, pick_album: Callable[..., SnapshotAlbum], tmp_path: Path
) -> None:
    album = pick_album(one_disc, skip=2)
    source = rip(tmp_path / "rip", album, tags=("artist", "album", "title", "track"))
    beets_home.run("import", "-q", str(source))
    imported = beets_home.path_of(beets_home.items()[0]).parent

    again = BeetsHome(tmp_path / "again", {"path": beets_home_snapshot(beets_home)})
    result = again.run("-v", "import", "-q", "-C", str(imported))

    assert f"Searching for discovered album ID: {album.id}" in result.stderr
    assert "ID match." in result.stderr
    assert_imported_as(again, album)


def beets_home_snapshot(home: BeetsHome) -> str:
    import yaml

    config = yaml.safe_load((home.config_dir / "config.yaml").read_text())
    return str(config["snapshot"]["path"])


def test_no_source_configured_is_one_line_and_exit_1(tmp_path: Path) -> None:
    home = BeetsHome(tmp_path / "beets", {})
    result = home.run("import", "-q", str(tmp_path), check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "snapshot: set `path`" in result.stderr


def test_a_directory_that_is_no_snapshot_fails_the_import_with_one_line(tmp_path: Path) -> None:
    home = BeetsHome(tmp_path / "beets", {"path": str(tmp_path / "nowhere")})
    result = home.run("import", "-q", str(tmp_path), check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "error: snapshot:" in result.stderr and "nowhere" in result.stderr
