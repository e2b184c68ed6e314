"""Where things are in a snapshot directory, under both naming schemes.

The published torrent names the files `spotify_clean*.sqlite3`; the older Go
server renamed the first two to `main_database.sqlite3` and `track_files.sqlite3`.
Users may have either, so every reader finds files through `find_dump_files`.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

SIDECAR_NAME = "snapshot-index.sqlite3"
SEARCH_NAME = "snapshot-search.sqlite3"
"""The name search index (made by `build` unless `--no-search`)."""
MANIFEST_NAME = "manifest.json"
ZST_SUFFIX = ".zst"


class Role(StrEnum):
    """What a dump file is for; the value names it in the manifest and in messages."""

    MAIN = "main"
    TRACK_FILES = "track_files"
    AUDIO_FEATURES = "audio_features"


FILE_NAMES: dict[Role, tuple[str, ...]] = {
    Role.MAIN: ("spotify_clean.sqlite3", "main_database.sqlite3"),
    Role.TRACK_FILES: ("spotify_clean_track_files.sqlite3", "track_files.sqlite3"),
    Role.AUDIO_FEATURES: ("spotify_clean_audio_features.sqlite3",),
}
"""Accepted names per role, the published name first."""

SCHEMA_FILES: dict[Role, str] = {
    Role.MAIN: "main.sql",
    Role.TRACK_FILES: "track_files.sql",
    Role.AUDIO_FEATURES: "audio_features.sql",
}
SIDECAR_SCHEMA_FILE = "sidecar.sql"
SEARCH_SCHEMA_FILE = "search.sql"


@dataclass(frozen=True, slots=True)
class DumpFile:
    role: Role
    path: Path
    compressed: bool
    """True when only `NAME.sqlite3.zst` exists: `build` must decompress it first."""


def find_dump_files(directory: Path) -> dict[Role, DumpFile]:
    """The dump files present in `directory`, preferring a decompressed file to its `.zst`."""
    found: dict[Role, DumpFile] = {}
    for role, names in FILE_NAMES.items():
        for name in names:
            plain = directory / name
            if plain.is_file():
                found[role] = DumpFile(role, plain, compressed=False)
                break
        else:
            for name in names:
                packed = directory / (name + ZST_SUFFIX)
                if packed.is_file():
                    found[role] = DumpFile(role, packed, compressed=True)
                    break
    return found


def schema_sql(name: str) -> str:
    """The text of one DDL file (e.g. "main.sql"), package data of `snapshot_api.schema`."""
    return importlib.resources.files("snapshot_api.schema").joinpath(name).read_text("utf-8")
