"""`python -m tools.bench.spotify DIR`: the `/v1` surface against the routes it mirrors.

On one built snapshot (with its audio features file), one server worker:
- `/v1/tracks?ids=` with 50 ids against `POST /batch/lookup` with the same 50
  ids as `tracks`: items per second (wrk, the same id lists in the same order);
- `/v1/tracks/{id}` against `/lookup/track/{id}`: requests per second;
- a page of the artist with the most own albums: in-process
  (`Snapshot.artist_albums_json`, p50/p99 over random offsets in the whole
  listing) and over HTTP (`/lookup/artist/{id}/albums` and
  `/v1/artists/{id}/albums`, wrk's p50/p99, random offsets).
Ids are sampled from the dump (random rowids), never one cached id. Prints a
Markdown section for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
from pathlib import Path

import orjson

from snapshot_api import Snapshot
from snapshot_api.documents.paging import Page
from tools.bench import wrk
from tools.bench.servers import ours

IDS_PER_LIST = 50
LISTS = 400
SINGLES = 5_000
PAGES = 2_000


def _sample_ids(directory: Path, count: int, seed: int) -> list[str]:
    db = sqlite3.connect(f"file:{directory / 'spotify_clean.sqlite3'}?mode=ro", uri=True)
    try:
        top = db.execute("SELECT max(rowid) FROM tracks").fetchone()[0]
        rng = random.Random(seed)
        found: list[str] = []
        while len(found) < count:
            row = db.execute(
                "SELECT id FROM tracks WHERE rowid = ?", (rng.randrange(1, top + 1),)
            ).fetchone()
            if row is not None:
                found.append(row[0])
        return found
    finally:
        db.close()


def _busiest_artist(directory: Path) -> tuple[str, int]:
    """The artist with the most own albums, from the sidecar (its last position)."""
    sidecar = sqlite3.connect(f"file:{directory / 'snapshot-index.sqlite3'}?mode=ro", uri=True)
    try:
        rowid, last = sidecar.execute(
            "SELECT artist_rowid, max(position) FROM artist_album_order"
            " GROUP BY artist_rowid ORDER BY 2 DESC LIMIT 1"
        ).fetchone()
    finally:
        sidecar.close()
    db = sqlite3.connect(f"file:{directory / 'spotify_clean.sqlite3'}?mode=ro", uri=True)
    try:
        artist_id = db.execute("SELECT id FROM artists WHERE rowid = ?", (rowid,)).fetchone()[0]
    finally:
        db.close()
    return str(artist_id), int(last) + 1


def _percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(directory: Path, seconds: int, connections: int) -> str:
    lists = [_sample_ids(directory, IDS_PER_LIST, seed) for seed in range(LISTS)]
    singles = _sample_ids(directory, SINGLES, 10_000)
    artist_id, total = _busiest_artist(directory)
    rng = random.Random(3)
    offsets = [rng.randrange(0, max(1, total - 20)) for _ in range(PAGES)]

    with Snapshot.open(directory) as snapshot:
        assert snapshot.has_audio_features, "the snapshot has no audio features file"
        samples = []
        for offset in offsets:
            started = time.perf_counter()
            found = snapshot.artist_albums_json(artist_id, Page(20, offset))
            samples.append(time.perf_counter() - started)
            assert found is not None and len(found[1]) == 20
        probe_isrc = next(t["isrc"] for t in snapshot.tracks(singles[:50]).values() if "isrc" in t)

    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="spotify-bench-") as scratch:
        work = Path(scratch)
        with ours(directory, 1, work, probe_isrc) as server:

            def measure(name: str, script: Path) -> wrk.WrkResult:
                result = wrk.run(
                    server.port, connections=connections, seconds=seconds, script=script
                )
                if not result.clean:
                    raise SystemExit(f"{name}: {result.bad_responses} bad answers")
                return result

            v1_list = measure(
                "v1 ids",
                wrk.write_get_script(
                    work / "v1-ids.lua", [f"/v1/tracks?ids={','.join(ids)}" for ids in lists]
                ),
            )
            batch = measure(
                "batch",
                wrk.write_post_script(
                    work / "batch.lua",
                    "/batch/lookup",
                    [orjson.dumps({"tracks": ids}).decode() for ids in lists],
                ),
            )
            v1_one = measure(
                "v1 one",
                wrk.write_get_script(work / "v1-one.lua", [f"/v1/tracks/{i}" for i in singles]),
            )
            lookup_one = measure(
                "lookup one",
                wrk.write_get_script(
                    work / "lookup-one.lua", [f"/lookup/track/{i}" for i in singles]
                ),
            )
            pages = measure(
                "lookup pages",
                wrk.write_get_script(
                    work / "pages.lua",
                    [f"/lookup/artist/{artist_id}/albums?offset={o}" for o in offsets],
                ),
            )
            v1_pages = measure(
                "v1 pages",
                wrk.write_get_script(
                    work / "v1-pages.lua",
                    [f"/v1/artists/{artist_id}/albums?offset={o}" for o in offsets],
                ),
            )
    per_list = IDS_PER_LIST
    rows = [
        ["`/v1/tracks?ids=` (50 ids)", f"{v1_list.requests_per_second:,.0f}",
         f"{v1_list.requests_per_second * per_list:,.0f}", f"{v1_list.p50_ms:.2f}",
         f"{v1_list.p99_ms:.2f}"],
        ["`POST /batch/lookup` (the same 50 ids)", f"{batch.requests_per_second:,.0f}",
         f"{batch.requests_per_second * per_list:,.0f}", f"{batch.p50_ms:.2f}",
         f"{batch.p99_ms:.2f}"],
        ["`/v1/tracks/{id}`", f"{v1_one.requests_per_second:,.0f}", "",
         f"{v1_one.p50_ms:.2f}", f"{v1_one.p99_ms:.2f}"],
        ["`/lookup/track/{id}`", f"{lookup_one.requests_per_second:,.0f}", "",
         f"{lookup_one.p50_ms:.2f}", f"{lookup_one.p99_ms:.2f}"],
        [f"`/lookup/artist/{{id}}/albums`, {total:,} albums, random offsets",
         f"{pages.requests_per_second:,.0f}", "", f"{pages.p50_ms:.2f}", f"{pages.p99_ms:.2f}"],
        [f"`/v1/artists/{{id}}/albums`, {total:,} albums, random offsets",
         f"{v1_pages.requests_per_second:,.0f}", "", f"{v1_pages.p50_ms:.2f}",
         f"{v1_pages.p99_ms:.2f}"],
    ]  # fmt: skip
    lines = [
        f"wrk, 1 worker, {connections} connections, {seconds} s per case; snapshot `{directory}`.",
        "",
        "| case | req/s | items/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|",
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
        f"Ratios: `/v1/tracks?ids=` / batch items/s = "
        f"{v1_list.requests_per_second / batch.requests_per_second:.2f}; "
        f"`/v1/tracks/{{id}}` / `/lookup/track/{{id}}` req/s = "
        f"{v1_one.requests_per_second / lookup_one.requests_per_second:.2f}.",
        "",
        f"In-process `Snapshot.artist_albums_json`, {PAGES:,} pages of 20 at random offsets of "
        f"the artist with the most own albums ({total:,}): p50 "
        f"{_percentile(samples, 0.5) * 1e3:.3f} ms, p99 {_percentile(samples, 0.99) * 1e3:.3f} ms.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    print(run(args.directory, args.seconds, args.connections))


if __name__ == "__main__":
    main()
