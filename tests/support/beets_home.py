"""Helpers for the beets plugin tests: test albums, a beets home run as a child process,
audio rips of snapshot albums, and the fields beets should store (from the reference).

- `BeetsHome`: a temporary beets configuration directory (BEETSDIR) with a
  library database and music directory inside it; `run("import", "-q", DIR)`
  runs `python -m beets` as a user would, and `items()` / `albums()` read what
  it stored from the library database with sqlite3 (fixed columns and
  flexible attributes alike), so nothing of beets' in-process state leaks in.
- `SnapshotAlbum`s are described by `tests.support.reference` (plain sqlite3), the
  oracle that expected values are computed from.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support.fixtures import ROOT
from tests.support.reference import Reference
from tools.audio_files import album_files, make_files

Doc = dict[str, Any]


@dataclass(frozen=True)
class SnapshotAlbum:
    """An album of the snapshot as the reference reads it: the album and its tracklist."""

    album: Doc
    tracks: list[Doc]

    @property
    def id(self) -> str:
        return str(self.album["id"])


def all_albums(reference: Reference) -> Iterator[SnapshotAlbum]:
    for (rowid,) in reference.db.execute("SELECT rowid FROM albums ORDER BY popularity DESC"):
        album = reference.album(rowid)
        assert album is not None
        yield SnapshotAlbum(album, reference.album_tracks(rowid))


def unique_isrcs(reference: Reference, tracks: list[Doc]) -> bool:
    return all(len(reference.tracks_by_isrc(t["isrc"])) == 1 for t in tracks if t.get("isrc"))


def all_isrcs(album: SnapshotAlbum) -> bool:
    return all(t.get("isrc") for t in album.tracks)


def one_disc(album: SnapshotAlbum) -> bool:
    return {t["disc_number"] for t in album.tracks} == {1}


class BeetsHome:
    """A beets configuration directory with its own library, run as `python -m beets`."""

    def __init__(self, root: Path, snapshot: dict[str, object], **settings: object) -> None:
        self.root = root
        self.config_dir = root / "beetsdir"
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.music = root / "music"
        self.database = root / "library.db"
        config = {
            "directory": str(self.music),
            "library": str(self.database),
            "plugins": ["snapshot"],
            "snapshot": snapshot,
            "import": {"log": str(root / "import.log")},
            **settings,
        }
        (self.config_dir / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "BEETSDIR": str(self.config_dir), "HOME": str(self.root)}
        result = subprocess.run(
            [sys.executable, "-m", "beets", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"beet {' '.join(args)} exited {result.returncode}: {result}")
        return result

    def _rows(self, table: str, attributes: str) -> list[Doc]:
        with sqlite3.connect(self.database) as db:
            db.row_factory = sqlite3.Row
            rows = [dict(row) for row in db.execute(f"SELECT * FROM {table} ORDER BY id")]
            for row in rows:
                flexible = db.execute(
                    f"SELECT key, value FROM {attributes} WHERE entity_id = ?", (row["id"],)
                )
                row.update(dict(flexible.fetchall()))
        return rows

    def items(self) -> list[Doc]:
        """Every item's fields as stored, flexible attributes included, by disc and track."""
        return sorted(
            self._rows("items", "item_attributes"), key=lambda row: (row["disc"], row["track"])
        )

    def path_of(self, item: Doc) -> Path:
        """An item's file: beets stores paths relative to the music directory, as bytes."""
        stored = item["path"]
        path = Path(stored.decode() if isinstance(stored, bytes) else stored)
        return path if path.is_absolute() else self.music / path

    def albums(self) -> list[Doc]:
        return self._rows("albums", "album_attributes")


def rip(directory: Path, album: SnapshotAlbum, *, fmt: str = "flac", tags: tuple[str, ...]) -> Path:
    """Real audio files for the album's tracks carrying only `tags`; the directory."""
    make_files(album_files(directory, album.tracks, fmt=fmt, tags=tags, album=album.album))
    return directory


def expected_album_fields(album: SnapshotAlbum) -> Doc:
    """What beets should store for the album, computed from the reference documents."""
    doc = album.album
    names = [a["name"] for a in doc["artists"]]
    parts = [int(p) for p in doc["release_date"].split("-")]
    known = {"year": 1, "month": 2, "day": 3}[doc["release_date_precision"]]
    date = [*parts[:known], 0, 0][:3]
    return {
        "album": doc["name"],
        "albumartist": ", ".join(names),
        "mb_albumid": doc["id"],
        "spotify_album_id": doc["id"],
        "mb_albumartistid": doc["artists"][0]["id"],
        "albumtype": doc["type"],
        "label": doc.get("label", ""),
        "barcode": doc.get("upc", ""),
        "year": date[0],
        "month": date[1],
        "day": date[2],
        "disctotal": max(t["disc_number"] for t in album.tracks),
        "comp": int(names == ["Various Artists"]),
        "data_source": "Spotify",
    }


def expected_item_fields(album: SnapshotAlbum) -> list[Doc]:
    """What beets should store for each track, in tracklist order."""
    rows = []
    for position, track in enumerate(album.tracks, start=1):
        rows.append(
            {
                "title": track["name"],
                "artist": ", ".join(a["name"] for a in track["artists"]),
                "mb_artistid": track["artists"][0]["id"],
                "track": position,
                "tracktotal": len(album.tracks),
                "disc": track["disc_number"],
                "isrc": track.get("isrc", ""),
                "mb_trackid": track["id"],
                "spotify_track_id": track["id"],
                "mb_albumid": album.id,
                "data_source": "Spotify",
            }
        )
    return rows
