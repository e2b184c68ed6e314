"""The plugin with `url:`, against a real `snapshot-api serve` on loopback.

The same import as with `path:` must store the same fields; a server that
rate-limits must slow the plugin down (it waits out each 429's Retry-After),
never make it fail; and the server's errors come back as the library's errors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from beets.library import Item

from beetsplug.snapshot import HttpSource
from snapshot_api.errors import RemoteError
from tests.support.beets_home import BeetsHome, SnapshotAlbum, one_disc, rip
from tests.support.server_process import ServerProcess, free_port, start_server

Pick = Callable[..., SnapshotAlbum]


@pytest.fixture(scope="module")
def mirror(built_snapshot: Path) -> Iterator[ServerProcess]:
    """A server over `built_snapshot` without rate limiting."""
    server = start_server(built_snapshot, "--rate", "0")
    yield server
    server.stop()


@pytest.fixture
def strict_mirror(built_snapshot: Path) -> Iterator[ServerProcess]:
    """A server allowing 4 requests per second in bursts of 4."""
    server = start_server(built_snapshot, "--rate", "4", "--burst", "4")
    yield server
    server.stop()


def test_import_through_a_server_stores_what_the_library_does(
    mirror: ServerProcess, beets_home: BeetsHome, pick_album: Pick, tmp_path: Path
) -> None:
    album = pick_album(one_disc, skip=6)
    tags = ("artist", "album", "title", "track")
    over_http = BeetsHome(tmp_path / "http", {"url": mirror.url})
    over_http.run("import", "-q", str(rip(tmp_path / "rip-http", album, tags=tags)))
    beets_home.run("import", "-q", str(rip(tmp_path / "rip-path", album, tags=tags)))

    ignored = {"id", "path", "added", "mtime", "album_id", "artpath"}

    def fields(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in row.items() if k not in ignored} for row in rows]

    assert over_http.albums()[0]["mb_albumid"] == album.id
    assert fields(over_http.albums()) == fields(beets_home.albums())
    assert fields(over_http.items()) == fields(beets_home.items())


def test_url_mode_plugin_methods(
    mirror: ServerProcess, load_plugin: Callable[[dict[str, object]], Any], pick_album: Pick
) -> None:
    album = pick_album(lambda a: not one_disc(a), most=30)
    plugin = load_plugin({"url": mirror.url})

    info = plugin.album_for_id(f"https://open.spotify.com/album/{album.id}")
    track = plugin.track_for_id(album.tracks[-1]["id"])

    assert [t.track_id for t in info.tracks] == [t["id"] for t in album.tracks]
    assert track.index == len(album.tracks)
    assert list(plugin.albums_for_ids(["0" * 22, album.id]))[1].album_id == album.id
    first = album.tracks[0]
    item = Item(
        title=first["name"],
        artist=first["artists"][0]["name"],
        length=first["duration_ms"] / 1000,
    )
    candidates = list(plugin.item_candidates(item, item.artist, item.title))
    assert candidates[0].track_id == first["id"]


def test_rate_limited_server_is_waited_for(
    strict_mirror: ServerProcess, pick_album: Pick, tmp_path: Path
) -> None:
    album = pick_album(skip=7)
    source = HttpSource(strict_mirror.url)
    try:
        answers = [source.album_tracks(album.id) for _ in range(8)]
    finally:
        source.close()
    assert all(tracks is not None and len(tracks) == len(album.tracks) for tracks in answers)
    assert source.waited_seconds >= 1


def test_unreachable_server_is_a_remote_error() -> None:
    source = HttpSource(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(RemoteError, match=r"127\.0\.0\.1"):
        source.albums(["0" * 22])
    source.close()
