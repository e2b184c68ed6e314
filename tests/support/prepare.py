"""Test helper: prepare a dump for serving the way `build` does (sidecar + manifest).

Kept minimal and separate so library tests do not depend on the build tool's
progress, decompression and checks; `tests/test_build.py` covers `build` itself.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from snapshot_api import __version__
from snapshot_api.identifiers import stored_barcode_key
from snapshot_api.layout import SIDECAR_NAME, SIDECAR_SCHEMA_FILE, Role, find_dump_files, schema_sql
from snapshot_api.manifest import FileRecord, Manifest, snapshot_id_of


def prepare(directory: Path) -> Manifest:
    dump_files = find_dump_files(directory)
    files = [FileRecord.of(f.role.value, f.path) for f in dump_files.values()]
    snapshot_id = snapshot_id_of(files)
    main = sqlite3.connect(f"file:{dump_files[Role.MAIN].path}?mode=ro", uri=True)
    pairs = sorted(
        (key, rowid)
        for rowid, upc in main.execute("SELECT rowid, external_id_upc FROM albums")
        if (key := stored_barcode_key(upc)) is not None
    )
    # artist albums, numbered as `build` does, computed here in Python from the raw rows
    release = dict(main.execute("SELECT rowid, release_date FROM albums"))
    own: dict[int, set[int]] = {}
    for artist_rowid, album_rowid in main.execute(
        "SELECT artist_rowid, album_rowid FROM artist_albums"
        " WHERE is_appears_on = 0 AND is_implicit_appears_on = 0"
    ):
        if album_rowid in release:
            own.setdefault(artist_rowid, set()).add(album_rowid)
    ordered = [
        (artist, position, album)
        for artist, albums in own.items()
        for position, album in enumerate(
            # newest first (stable, so equal dates keep album rowid order), NULL dates last
            sorted(
                sorted(albums),
                key=lambda a: (release[a] is not None, release[a] or ""),
                reverse=True,
            )
        )
    ]
    counts = {
        table: main.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("tracks", "albums", "artists")
    }
    main.close()
    sidecar_path = directory / SIDECAR_NAME
    sidecar_path.unlink(missing_ok=True)
    sidecar = sqlite3.connect(sidecar_path)
    sidecar.executescript(schema_sql(SIDECAR_SCHEMA_FILE))
    sidecar.executemany("INSERT OR IGNORE INTO barcode_albums VALUES (?, ?)", pairs)
    sidecar.executemany("INSERT INTO artist_album_order VALUES (?, ?, ?)", ordered)
    sidecar.executemany(
        "INSERT INTO sidecar_meta VALUES (?, ?)",
        [("snapshot_id", snapshot_id), ("tool_version", __version__)],
    )
    sidecar.commit()
    sidecar.close()
    manifest = Manifest(
        snapshot_id=snapshot_id,
        tool_version=__version__,
        built_at="test",
        files=files,
        counts=counts,
        schema_fingerprint="test",
    )
    manifest.write(directory)
    return manifest
