"""`python -m tools.bench.beets DIR`: the beets plugin on a built snapshot.

Two measurements, printed as a Markdown section:
1. Candidates per second: the plugin's `candidates` (what beets asks a source
   per album) for albums drawn at random from the snapshot, given beets Items
   in memory holding the album's artist, album name, titles, track numbers and
   lengths (found by name search), and the same with only artist, title and
   track (no album tag: found by title searches); also `item_candidates` by
   ISRC and `tag_album` (the plugin plus beets' own distance and assignment).
   Medians of per-call times over `--albums` albums, in-process.
2. An import: `--files` real audio files (silent FLAC of the tracks' own
   durations, tagged like a plain rip (RIP_TAGS), tools.audio_files)
   imported with `beet import -q` in a child process into a fresh library,
   once with `path:` and once with `url:` through a local `snapshot-api serve`
   (rate limiting off); wall time, files per second, and the identified share
   (files whose stored `mb_trackid` is the track they were made from).

Albums are drawn by random rowid (an indexed lookup each), so picking them costs
the same on any snapshot size.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from tools.audio_files import AudioFile, album_files, make_files
from tools.bench.processes import PYTHON, say

Doc = dict[str, Any]

RIP_TAGS = ("artist", "albumartist", "album", "title", "track")
"""What a ripper writes (no ids, ISRCs or barcodes): without `albumartist`, beets compares the
album's artist with the files' track artists and a featured artist costs the strong match."""


def random_albums(snapshot: Any, seed: int, *, max_tracks: int) -> Iterator[Doc]:
    """Albums with 1 to `max_tracks` tracks and a name, drawn by random rowid, without end."""
    db = sqlite3.connect(f"file:{snapshot.directory / 'spotify_clean.sqlite3'}?mode=ro", uri=True)
    (top,) = db.execute("SELECT max(rowid) FROM albums").fetchone()
    rng = random.Random(seed)
    seen: set[str] = set()
    try:
        while True:
            row = db.execute(
                "SELECT id FROM albums WHERE rowid = ?", (rng.randint(1, top),)
            ).fetchone()
            if row is None or row[0] in seen:
                continue
            seen.add(row[0])
            album = snapshot.albums([row[0]]).get(row[0])
            if not album or not album.get("name") or not album.get("artists"):
                continue
            tracks = snapshot.album_tracks(row[0])
            if 1 <= len(tracks) <= max_tracks:
                yield {"album": album, "tracks": tracks}
    finally:
        db.close()


def _load_plugin(snapshot_config: dict[str, object], home: Path) -> Any:
    os.environ["BEETSDIR"] = str(home)
    import beets
    import beets.plugins
    from beets import metadata_plugins

    beets.config.clear()
    beets.config.read(user=False, defaults=True)
    beets.config["plugins"] = ["snapshot"]
    beets.config["snapshot"].set(snapshot_config)
    beets.plugins.load_plugins()
    return metadata_plugins.find_metadata_source_plugins()[0]


def _items(entry: Doc, *, album_tag: bool) -> list[Any]:
    from beets.library import Item

    album = entry["album"]
    return [
        Item(
            title=t["name"],
            artist=", ".join(a["name"] for a in t["artists"]),
            album=album["name"] if album_tag else "",
            track=t["track_number"],
            disc=t["disc_number"],
            length=t["duration_ms"] / 1000,
        )
        for t in entry["tracks"]
    ]


def _timed(calls: Sequence[Callable[[], object]]) -> tuple[float, list[object]]:
    """Median seconds per call, and the answers."""
    times, answers = [], []
    for call in calls:
        start = time.perf_counter()
        answers.append(call())
        times.append(time.perf_counter() - start)
    return statistics.median(times), answers


def candidates_section(directory: Path, albums: int, seed: int) -> list[str]:
    from beets.autotag import Source, tag_album
    from beets.library import Item

    from snapshot_api import Snapshot

    with Snapshot.open(directory) as snapshot:
        entries = list(itertools.islice(random_albums(snapshot, seed, max_tracks=30), albums))
    home = Path(tempfile.mkdtemp(prefix="beets-bench-home-"))
    plugin = _load_plugin({"path": str(directory)}, home)
    plugin.source()
    rows = []

    def found(answers: list[object], wanted: list[str], key: str = "album_id") -> int:
        hits = 0
        for answer, want in zip(answers, wanted, strict=True):
            infos = list(answer)  # type: ignore[call-overload]
            hits += any(getattr(info, key) == want for info in infos)
        return hits

    wanted = [e["album"]["id"] for e in entries]
    for label, album_tag in (
        ("artist + album + titles", True),
        ("artist + titles, no album", False),
    ):
        batches = [_items(e, album_tag=album_tag) for e in entries]
        calls: list[Callable[[], object]] = [
            partial(
                plugin.candidates, b, b[0].artist, e["album"]["name"] if album_tag else "", False
            )
            for b, e in zip(batches, entries, strict=True)
        ]
        median, answers = _timed(calls)
        rows.append((f"`candidates` ({label})", median, found(answers, wanted), len(entries)))

    isrc_tracks = [t for e in entries for t in e["tracks"][:1] if t.get("isrc")]
    isrc_calls: list[Callable[[], object]] = [
        partial(plugin.item_candidates, Item(isrc=t["isrc"]), "", "") for t in isrc_tracks
    ]
    median, answers = _timed(isrc_calls)
    hits = found(answers, [t["id"] for t in isrc_tracks], key="track_id")
    rows.append(("`item_candidates` by ISRC", median, hits, len(isrc_tracks)))

    batches = [_items(e, album_tag=True) for e in entries]
    tag_calls: list[Callable[[], object]] = [
        partial(tag_album, Source.from_items(b)) for b in batches
    ]
    median, answers = _timed(tag_calls)
    best = sum(
        bool(p.candidates) and p.candidates[0].info.album_id == w  # type: ignore[attr-defined]
        for p, w in zip(answers, wanted, strict=True)
    )
    rows.append(("beets `tag_album` (plugin + beets' matching)", median, best, len(entries)))
    plugin.close()

    lines = [
        f"Candidates, in-process, {len(entries)} random albums (seed {seed}); medians per call:",
        "",
        "| call | median per call | calls/s | right answer among them |",
        "|---|---:|---:|---:|",
    ]
    for label, median, hits, total in rows:
        lines.append(f"| {label} | {median * 1000:.2f} ms | {1 / median:,.0f} | {hits}/{total} |")
    return lines


def _server(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    from tools.bench.processes import free_port

    port = free_port()
    process = subprocess.Popen(
        [PYTHON, "-m", "snapshot_api", "serve", str(directory), "--port", str(port), "--rate", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the server did not start")


def _import(
    files_dir: Path, work: Path, snapshot_config: Mapping[str, str], *flags: str
) -> tuple[float, Path]:
    home = work / "beetsdir"
    home.mkdir(parents=True)
    config = {
        "directory": str(work / "music"),
        "library": str(work / "library.db"),
        "plugins": ["snapshot"],
        "snapshot": dict(snapshot_config),
        "threaded": True,
    }
    (home / "config.yaml").write_text(yaml.safe_dump(config))
    env = {**os.environ, "BEETSDIR": str(home), "HOME": str(work)}
    start = time.perf_counter()
    subprocess.run(
        [PYTHON, "-m", "beets", "import", "-q", *flags, str(files_dir)],
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start, work / "library.db"


def import_section(directory: Path, files: int, seed: int, work: Path, runs: int) -> list[str]:
    from snapshot_api import Snapshot

    with Snapshot.open(directory) as snapshot:
        library: list[Doc] = []
        total = 0
        for entry in random_albums(snapshot, seed + 1, max_tracks=20):
            if total == files:
                break
            if total + len(entry["tracks"]) <= files:  # whole albums only, as rips are
                library.append(entry)
                total += len(entry["tracks"])
    source = work / "rips"
    audio: list[AudioFile] = []
    for number, entry in enumerate(library):
        folder = source / f"{number:04d}"
        audio += album_files(folder, entry["tracks"], tags=RIP_TAGS, album=entry["album"])
    started = time.perf_counter()
    make_files(audio)
    say(f"beets: made {len(audio)} files in {time.perf_counter() - started:.1f} s")
    expected = {t["id"]: e["album"]["id"] for e in library for t in e["tracks"]}
    lines = [
        f"Import: `beet import -q` of {len(audio)} generated files ({len(library)} albums, "
        f"FLAC, tagged {'/'.join(RIP_TAGS)}), a fresh library each time; "
        f"median of {runs} runs (min–max):",
        "",
        "| source | wall time | files/s | identified |",
        "|---|---:|---:|---:|",
    ]
    server, url = _server(directory)
    try:
        sources = (
            ("`path:`", {"path": str(directory)}, ()),
            ("`url:`", {"url": url}, ()),
            (
                "as-is (`-A`: beets' own copy and write, no lookups)",
                {"path": str(directory)},
                ("-A",),
            ),
        )
        for number, (label, config, flags) in enumerate(sources):
            times = []
            for run in range(runs):
                seconds, database = _import(source, work / f"{number}-{run}", config, *flags)
                times.append(seconds)
                say(f"beets: import with {label} took {seconds:.1f} s")
            with sqlite3.connect(database) as db:
                rows = db.execute("SELECT mb_trackid, mb_albumid FROM items").fetchall()
            right = sum(expected.get(track) == album for track, album in rows)
            median = statistics.median(times)
            identified = "—" if flags else f"{right}/{len(audio)} ({right / len(audio):.0%})"
            lines.append(
                f"| {label} | {median:.1f} s ({min(times):.1f}–{max(times):.1f}) | "
                f"{len(audio) / median:.0f} | {identified} |"
            )
    finally:
        server.terminate()
        server.wait(30)
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.beets", description=__doc__)
    parser.add_argument("directory", type=Path, help="a built snapshot")
    parser.add_argument("--albums", type=int, default=200, help="albums for candidates/s")
    parser.add_argument("--files", type=int, default=500, help="files in the import")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=3, help="imports per source (median)")
    parser.add_argument("--no-import", action="store_true", help="only candidates per second")
    args = parser.parse_args(argv)
    lines = [f"## beets plugin ({args.directory.name})", ""]
    say("beets: candidates")
    lines += candidates_section(args.directory, args.albums, args.seed)
    lines.append("")
    if not args.no_import:
        with tempfile.TemporaryDirectory(prefix="beets-bench-") as work:
            say("beets: import")
            lines += import_section(args.directory, args.files, args.seed, Path(work), args.runs)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
