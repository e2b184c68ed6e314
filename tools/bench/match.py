"""`python -m tools.bench.match DIR`: matching speed and accuracy on a built snapshot.

- **Accuracy** on a held-out set generated from the snapshot's own rows:
  random tracks (seeded) whose title and first artist hold a word, each asked
  for four ways: exact (title, first artist, duration), one typo (a letter of
  the title's longest word replaced, past its first character), a
  `(feat. Someone Else)` suffix added to the title, and the duration 1 s off.
  A case counts as found when the top candidate is the track or the same
  recording: the same ISRC, or the same title, credits and duration (copies
  of one recording on several albums, which no input can tell apart).
- **Throughput** in-process, one thread, warm (the set is run once first):
  matches per second of wall time and per second of this process's CPU time
  (the per-core figure on a shared machine), over the same inputs.
- **HTTP** with `--http`: a 1-worker server (rate limiting off), the exact
  inputs sent one at a time with one keep-alive connection, once to warm the
  worker (as in-process) and again measured; p50 and p99.

Prints a Markdown section for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import http.client
import random
import sqlite3
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snapshot_api import Snapshot
from snapshot_api.search.text import words
from tools.bench import servers

KINDS = ("exact", "typo", "feat", "duration ±1 s")


@dataclass(frozen=True, slots=True)
class Sample:
    id: str
    title: str
    artists: tuple[str, ...]
    duration_ms: int | None
    isrc: str | None


@dataclass(slots=True)
class Outcome:
    found: int = 0
    asked: int = 0
    seconds: list[float] = field(default_factory=list)


def sample_tracks(directory: Path, count: int, seed: int) -> list[Sample]:
    db = sqlite3.connect(f"file:{directory / 'spotify_clean.sqlite3'}?mode=ro", uri=True)
    db.text_factory = lambda raw: raw.decode(errors="replace")
    top = db.execute("SELECT max(rowid) FROM tracks").fetchone()[0]
    rng = random.Random(seed)
    found: list[Sample] = []
    while len(found) < count:
        row = db.execute(
            "SELECT id, name, duration_ms, external_id_isrc, (SELECT group_concat(ar.name, "
            "char(10)) FROM track_artists AS ta JOIN artists AS ar ON ar.rowid = ta.artist_rowid"
            " WHERE ta.track_rowid = t.rowid) FROM tracks AS t WHERE rowid = ?",
            (rng.randrange(1, top + 1),),
        ).fetchone()
        if row is None or not row[4]:
            continue
        artists = tuple(row[4].split("\n"))
        if not words(row[1]) or not words(artists[0]):
            continue
        found.append(Sample(row[0], row[1], artists, row[2] or None, row[3]))
    db.close()
    return found


def typo(title: str) -> str:
    parts = title.split(" ")
    longest = max(range(len(parts)), key=lambda i: len(parts[i]))
    word = parts[longest]
    letters = [i for i, c in enumerate(word) if c.isalpha() and i > 0]
    if len(word) < 4 or not letters:
        return title + "x" if len(title) >= 4 else title
    at = letters[len(letters) // 2]
    parts[longest] = word[:at] + ("q" if word[at].lower() != "q" else "z") + word[at + 1 :]
    return " ".join(parts)


def inputs(sample: Sample, kind: str) -> dict[str, Any]:
    given: dict[str, Any] = {
        "title": sample.title,
        "artist": sample.artists[0],
        "duration_ms": sample.duration_ms,
    }
    if kind == "typo":
        given["title"] = typo(sample.title)
    elif kind == "feat":
        given["title"] = sample.title + " (feat. Someone Else)"
    elif kind == "duration ±1 s" and sample.duration_ms:
        given["duration_ms"] = sample.duration_ms + 1000
    return given


def is_recording(sample: Sample, track: dict[str, Any]) -> bool:
    if track["id"] == sample.id or (sample.isrc and track.get("isrc") == sample.isrc):
        return True
    return (
        track.get("name") == sample.title
        and tuple(a.get("name") for a in track.get("artists", [])) == sample.artists
        and track.get("duration_ms") == sample.duration_ms
    )


def measure(snap: Snapshot, samples: list[Sample]) -> dict[str, Outcome]:
    outcomes = {kind: Outcome() for kind in KINDS}
    for kind, outcome in outcomes.items():
        for sample in samples:
            given = inputs(sample, kind)
            started = time.perf_counter()
            found = snap.match_track(**given)
            outcome.seconds.append(time.perf_counter() - started)
            outcome.asked += 1
            outcome.found += bool(found) and is_recording(sample, found[0]["track"])
    return outcomes


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def http_latency(directory: Path, samples: list[Sample]) -> tuple[float, float, int]:
    """(p50 ms, p99 ms, requests) over one keep-alive connection to a 1-worker server."""
    probe = next((s.isrc for s in samples if s.isrc), "USRC17607839")
    with (
        tempfile.TemporaryDirectory(prefix="match-bench-") as logs,
        servers.ours(directory, 1, Path(logs), probe) as running,
    ):
        connection = http.client.HTTPConnection("127.0.0.1", running.port, timeout=10)
        paths = []
        for sample in samples:
            query = {k: v for k, v in inputs(sample, "exact").items() if v is not None}
            paths.append("/match/track?" + urllib.parse.urlencode(query))

        def get(path: str) -> None:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"{path}: HTTP {response.status}")

        for path in paths:  # warm, as in-process: the worker has seen the set once
            get(path)
        seconds = timed(get, paths)
        connection.close()
    return percentile(seconds, 0.5) * 1e3, percentile(seconds, 0.99) * 1e3, len(seconds)


def timed(call: Callable[[str], None], paths: list[str]) -> list[float]:
    seconds = []
    for path in paths:
        started = time.perf_counter()
        call(path)
        seconds.append(time.perf_counter() - started)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.match", description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--samples", type=int, default=1000, help="held-out tracks (default 1000)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--http", action="store_true", help="also measure over HTTP")
    args = parser.parse_args(argv)
    samples = sample_tracks(args.directory, args.samples, args.seed)
    with Snapshot.open(args.directory) as snap:
        tracks = snap.manifest.counts.get("tracks", 0)
        measure(snap, samples)  # warm
        wall, cpu = time.perf_counter(), time.process_time()
        outcomes = measure(snap, samples)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    total = sum(o.asked for o in outcomes.values())
    print(f"### {tracks:,} tracks ({len(samples):,} held-out tracks, seed {args.seed})\n")
    print("| input | top candidate is the recording | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|")
    for kind, outcome in outcomes.items():
        print(
            f"| {kind} | {outcome.found / outcome.asked:.1%} | "
            f"{percentile(outcome.seconds, 0.5) * 1e3:.2f} | "
            f"{percentile(outcome.seconds, 0.99) * 1e3:.2f} |"
        )
    print(
        f"\nIn-process, one thread, warm: **{total / cpu:,.0f} matches per CPU-second** "
        f"({total / wall:,.0f}/s wall, {total:,} matches)."
    )
    if args.http:
        p50, p99, count = http_latency(args.directory, samples)
        print(
            f"\nHTTP, 1 worker, one connection, exact inputs: p50 {p50:.2f} ms, "
            f"**p99 {p99:.2f} ms** ({count:,} requests)."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
