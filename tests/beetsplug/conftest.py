"""beets with the snapshot plugin, for real: its CLI in a child process, its autotagger in this one.

- `beets_home`: a temporary beets configuration directory, run as `python -m beets`
  (`tests.support.beets_home.BeetsHome`).
- `beets_plugin`: the plugin loaded into this process the way beets loads it
  (`beets.plugins.load_plugins` from a `plugins:` setting), for the
  autotagger API (`tag_album`, `tag_item`) and the plugin's own methods;
  beets' global configuration and plugin caches are reset afterwards.
- Test albums are chosen from the shared `built_snapshot` by their shape and
  described by `tests.support.reference` (plain sqlite3), the oracle that
  expected values are computed from.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import beets
import beets.plugins
import pytest
from beets import metadata_plugins
from beets.autotag.distance import get_track_length_grace, get_track_length_max

from tests.support.beets_home import BeetsHome, SnapshotAlbum, all_albums, unique_isrcs
from tests.support.reference import Reference

Doc = dict[str, Any]


@pytest.fixture(scope="session")
def reference(built_snapshot: Path) -> Iterator[Reference]:
    ref = Reference(built_snapshot)
    yield ref
    ref.close()


@pytest.fixture(scope="session")
def pick_album(reference: Reference) -> Callable[..., SnapshotAlbum]:
    """pick_album(predicate, skip=n, most=12, unique=False): the most popular album of a
    plain shape (4 to `most` tracks, as many as announced, a name and artists; with
    `unique`, every ISRC on no other track) for which predicate(SnapshotAlbum) holds;
    `skip` passes over the first n such albums."""
    cache = list(all_albums(reference))

    def pick(
        predicate: Callable[[SnapshotAlbum], bool] = lambda _: True,
        skip: int = 0,
        most: int = 12,
        unique: bool = False,
    ) -> SnapshotAlbum:
        for candidate in cache:
            tracks = candidate.tracks
            if not (4 <= len(tracks) <= most and len(tracks) == candidate.album["total_tracks"]):
                continue
            if not candidate.album.get("name") or not candidate.album.get("artists"):
                continue
            if not all(t.get("artists") and t.get("name") for t in tracks):
                continue
            if not predicate(candidate) or (unique and not unique_isrcs(reference, tracks)):
                continue
            if skip == 0:
                return candidate
            skip -= 1
        raise AssertionError("no album of that shape in the snapshot")

    return pick


# --- beets in a child process -----------------------------------------------------------


@pytest.fixture
def beets_home(tmp_path: Path, built_snapshot: Path) -> BeetsHome:
    """A beets home whose snapshot plugin reads `built_snapshot` in-process."""
    return BeetsHome(tmp_path / "beets", {"path": str(built_snapshot)})


# --- beets in this process --------------------------------------------------------------


def _reset_beets_caches() -> None:
    metadata_plugins.find_metadata_source_plugins.cache_clear()
    metadata_plugins.get_metadata_source.cache_clear()
    metadata_plugins.get_penalty.cache_clear()
    get_track_length_grace.cache_clear()
    get_track_length_max.cache_clear()


@pytest.fixture
def load_plugin(tmp_path: Path) -> Iterator[Callable[[dict[str, object]], Any]]:
    """load_plugin({"path": DIR} or {"url": URL}) → the SnapshotPlugin beets loaded."""
    previous = os.environ.get("BEETSDIR")
    os.environ["BEETSDIR"] = str(tmp_path / "beetsdir-in-process")
    config = beets.config
    loaded: list[Any] = []

    def load(snapshot: dict[str, object]) -> Any:
        config.clear()
        config.read(user=False, defaults=True)
        config["plugins"] = ["snapshot"]
        config["threaded"] = False
        config["snapshot"].set(snapshot)
        beets.plugins._instances.clear()
        _reset_beets_caches()
        beets.plugins.load_plugins()
        plugins = metadata_plugins.find_metadata_source_plugins()
        assert [type(p).__name__ for p in plugins] == ["SnapshotPlugin"]
        loaded.append(plugins[0])
        return plugins[0]

    yield load
    for plugin in loaded:
        plugin.close()
    beets.plugins.BeetsPlugin.listeners.clear()
    beets.plugins.BeetsPlugin._raw_listeners.clear()
    beets.plugins._instances.clear()
    _reset_beets_caches()
    config.clear()
    if previous is None:
        os.environ.pop("BEETSDIR", None)
    else:
        os.environ["BEETSDIR"] = previous


@pytest.fixture
def beets_plugin(load_plugin: Callable[[dict[str, object]], Any], built_snapshot: Path) -> Any:
    """The plugin loaded in this process, reading `built_snapshot`."""
    return load_plugin({"path": str(built_snapshot)})
