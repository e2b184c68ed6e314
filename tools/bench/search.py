"""`python -m tools.bench.search DIR [DIR...]`: name search on built snapshots, in-process.

For each snapshot: per-query latency (p50, p99) of `Snapshot.search_*_json`
(documents included) for one- and two-word queries on common and rare words,
with and without filters, and prefixes; the Go server's method
(`name LIKE '%q%' ORDER BY popularity DESC LIMIT 20`) on the same file for the
ratio; index bytes per track; and, with `--build`, the search index build
timed in a child process (µs per track, peak RSS); with `--cold MODE`, each query
class once right after the page cache is evicted, with the bytes read; with
`--http`, the classes end to end through one `serve` worker. Prints a
Markdown section, and with several snapshots each class's p50 against the
smallest one's (the cost must not grow with the snapshot).

Words are drawn from the snapshot itself: "common" are the synthetic
vocabulary's head words, "rare" are words of random tracks whose rank in
the vocabulary is beyond the first 5,000 (each in a handful of names). The
synthetic vocabulary does not grow with the snapshot, so such a word is in ten
times more tracks at 10M than at 1M; the "word of N tracks" classes take words
from the index's terms by how many tracks hold them, the same band at every
size, so their cost compares like for like across sizes.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

from snapshot_api import Snapshot
from snapshot_api.layout import SEARCH_NAME
from snapshot_api.manifest import Manifest
from snapshot_api.search.index import RANKINGS, SearchKind
from snapshot_api.search.text import words
from snapshot_api.synth.text import Script, vocabulary
from tools.bench.processes import (
    PYTHON,
    Background,
    BenchError,
    free_port,
    run_measured,
    wait_until_answers,
)

COMMON = ("love", "night", "heart", "fire", "dream", "light", "rain", "summer", "blue", "gold")
RARE_RANK = 5_000
BANDS = ((50, 100), (500, 1_000))
"""Tracks holding a word of the fixed-frequency classes (inclusive)."""
Medians: TypeAlias = dict[str, float]
"""Query class → p50 seconds, for comparing snapshot sizes (`ratio_report`)."""


@dataclass(slots=True)
class Latency:
    name: str
    samples: list[float] = field(default_factory=list)
    """Seconds per query."""
    hits: int = 0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def rare_words(directory: Path, count: int, seed: int = 1) -> list[str]:
    """Words of random tracks that rank far down the synthetic Latin vocabulary."""
    rank = {word.lower(): index for index, word in enumerate(vocabulary(Script.LATIN))}
    db = sqlite3.connect(f"file:{directory / 'spotify_clean.sqlite3'}?mode=ro", uri=True)
    try:
        top = db.execute("SELECT max(rowid) FROM tracks").fetchone()[0]
        rng = random.Random(seed)
        found: list[str] = []
        while len(found) < count:
            row = db.execute(
                "SELECT name FROM tracks WHERE rowid = ?", (rng.randrange(1, top + 1),)
            ).fetchone()
            for word in words(row[0] if row else ""):
                if rank.get(word, 0) > RARE_RANK and word not in found:
                    found.append(word)
                    break
        return found
    finally:
        db.close()


def banded_words(directory: Path, low: int, high: int, count: int, seed: int = 1) -> list[str]:
    """Title words (plain letters, 4 or more) held by `low` to `high` tracks, in random order."""
    db = sqlite3.connect(f"file:{directory / SEARCH_NAME}?mode=ro", uri=True)
    try:
        found = [
            str(row[0])
            for row in db.execute(
                f"SELECT term FROM {RANKINGS[SearchKind.TRACK].terms_table} "
                "WHERE docs BETWEEN ? AND ? "
                "AND term GLOB '[a-z][a-z][a-z][a-z]*' AND term NOT GLOB '*[^a-z]*' ORDER BY term",
                (low, high),
            )
        ]
    finally:
        db.close()
    random.Random(seed).shuffle(found)
    return found[:count]


def queries(directory: Path) -> dict[str, list[tuple[str, str, dict[str, str]]]]:
    """Query class → [(kind, q, filters)]; a band without words (a small snapshot) is left out."""
    rare = rare_words(directory, 40)
    chosen: dict[str, list[tuple[str, str, dict[str, str]]]] = {
        "track, 1 common word": [("track", w, {}) for w in COMMON],
        "track, 1 rare word": [("track", w, {}) for w in rare],
        "track, 2 common words": [("track", f"{a} {b}", {}) for a, b in itertools.pairwise(COMMON)],
        "track, common + rare word": [
            ("track", f"{a} {b}", {}) for a, b in zip(COMMON * 4, rare, strict=False)
        ],
        "track, common word, artist=common word": [
            ("track", a, {"artist": b})
            for a, b in zip(COMMON, COMMON[3:] + COMMON[:3], strict=True)
        ],
        "track, rare word, album=common word": [
            ("track", r, {"album": a}) for r, a in zip(rare, COMMON * 4, strict=False)
        ],
        "track, prefix of 3 (lov*)": [("track", w[:3] + "*", {}) for w in COMMON],
        "track, prefix of 4+ (love*)": [("track", w[:4] + "*", {}) for w in COMMON],
        "track, rare prefix of 5": [("track", w[:5] + "*", {}) for w in rare if len(w) > 5],
        "album, 1 common word": [("album", w, {}) for w in COMMON],
        "artist, 1 common word": [("artist", w, {}) for w in COMMON],
        "artist, 1 rare word": [("artist", w, {}) for w in rare],
    }
    for low, high in BANDS:
        band = banded_words(directory, low, high, 40)
        if band:
            chosen[f"track, common + word of {low:,}–{high:,} tracks"] = [
                ("track", f"{a} {b}", {}) for a, b in zip(COMMON * 4, band, strict=False)
            ]
    return chosen


def measure(
    snapshot: Snapshot, chosen: list[tuple[str, str, dict[str, str]]], rounds: int
) -> Latency:
    latency = Latency("")
    for kind, q, filters in chosen:  # warm
        snapshot.search_json(kind, q, **filters)
    for _ in range(rounds):
        for kind, q, filters in chosen:
            started = time.perf_counter()
            answer = snapshot.search_json(kind, q, **filters)
            latency.samples.append(time.perf_counter() - started)
            latency.hits += answer != b"[]"
    return latency


def peer_method(directory: Path, word: str, runs: int = 3) -> float:
    """Seconds per query of the Go server's LIKE scan, on the same file."""
    db = sqlite3.connect(
        f"file:{directory / 'spotify_clean.sqlite3'}?mode=ro&immutable=1", uri=True
    )
    try:
        best = float("inf")
        for _ in range(runs):
            started = time.perf_counter()
            db.execute(
                "SELECT id FROM tracks WHERE name LIKE ? ORDER BY popularity DESC LIMIT 20",
                (f"%{word}%",),
            ).fetchall()
            best = min(best, time.perf_counter() - started)
        return best
    finally:
        db.close()


def build_figures(directory: Path, log: Path) -> tuple[float, int]:
    """(seconds, peak RSS KiB) of rebuilding the search index in a child process."""
    code = (
        "import sys; from pathlib import Path; from snapshot_api.manifest import Manifest; "
        "from snapshot_api.progress import Reporter; "
        "from snapshot_api.search.build import build_search; d = Path(sys.argv[1]); "
        "m = Manifest.read(d); build_search(d / 'spotify_clean.sqlite3', d, m.snapshot_id, "
        "Reporter(), totals=m.counts, force=True)"
    )
    measured = run_measured([PYTHON, "-c", code, str(directory)], log=log, timeout=7200)
    return measured.seconds, measured.peak_rss_kib


def cold_report(directory: Path, mode: str, out: Callable[[str], None]) -> Medians:
    """Each query class once, right after the snapshot's pages are evicted (fresh snapshot)."""
    from tools.bench.cold import Counters, evict  # needs /proc; only for this report

    out(f"Cold (pages evicted before each class, `--mmap {mode}`), one pass, 1 thread:\n")
    out("| query | queries | p50 ms | p99 ms | KiB read / query |")
    out("|---|---:|---:|---:|---:|")
    medians: Medians = {}
    for name, chosen in queries(directory).items():
        evict(directory)
        with Snapshot.open(directory, mmap=mode) as snapshot:
            before = Counters.of()
            latency = Latency(name)
            for kind, q, filters in chosen:
                started = time.perf_counter()
                snapshot.search_json(kind, q, **filters)
                latency.samples.append(time.perf_counter() - started)
            read = Counters.of().minus(before)
        p50, p99 = latency.percentile(0.5) * 1e3, latency.percentile(0.99) * 1e3
        kib = read.read_bytes / 1024 / len(chosen)
        out(f"| {name} | {len(chosen)} | {p50:.2f} | {p99:.2f} | {kib:,.0f} |")
        medians[name] = latency.percentile(0.5)
    out("")
    return medians


def http_report(directory: Path, rounds: int, out: Callable[[str], None]) -> Medians:
    """The same query classes end to end through one `serve` worker, one client at a time."""
    import httpx

    port = free_port()
    argv = [PYTHON, "-m", "snapshot_api", "serve", str(directory), "--port", str(port),
            "--rate", "0", "--log-level", "warning"]  # fmt: skip
    log = Path(tempfile.gettempdir()) / "snapshot-api-bench-search-http.log"
    with Background(argv, log=log) as server:
        wait_until_answers(server, port, "/ready", 60)
        out("Over HTTP (one worker, one keep-alive client, documents included):\n")
        out("| query | requests | p50 ms | p99 ms |")
        out("|---|---:|---:|---:|")
        medians: Medians = {}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for name, chosen in queries(directory).items():
                latency = Latency(name)
                for round_number in range(rounds + 1):  # the first round warms
                    for kind, q, filters in chosen:
                        started = time.perf_counter()
                        answer = client.get(f"/search/{kind}", params={"q": q, **filters})
                        if answer.status_code != 200:
                            raise BenchError(f"{answer.url}: {answer.status_code} {answer.text}")
                        if round_number:
                            latency.samples.append(time.perf_counter() - started)
                p50, p99 = latency.percentile(0.5) * 1e3, latency.percentile(0.99) * 1e3
                out(f"| {name} | {len(latency.samples)} | {p50:.2f} | {p99:.2f} |")
                medians[name] = latency.percentile(0.5)
    out("")
    return medians


def report(directory: Path, rounds: int, build: bool, out: Callable[[str], None]) -> Medians:
    with Snapshot.open(directory) as snapshot:
        tracks = snapshot.manifest.counts["tracks"]
        out(f"### {tracks:,} tracks ({directory.name})\n")
        size = (directory / SEARCH_NAME).stat().st_size
        out(f"Index {size / 1e6:,.1f} MB: {size / tracks:.1f} bytes per track (all three kinds).\n")
        out("| query | queries | p50 ms | p99 ms | answered |")
        out("|---|---:|---:|---:|---:|")
        medians: Medians = {}
        for name, chosen in queries(directory).items():
            latency = measure(snapshot, chosen, rounds)
            medians[name] = latency.percentile(0.5)
            p50, p99 = latency.percentile(0.5) * 1e3, latency.percentile(0.99) * 1e3
            answered = latency.hits / len(latency.samples)
            out(f"| {name} | {len(latency.samples)} | {p50:.2f} | {p99:.2f} | {answered:.0%} |")
        rare = rare_words(directory, 1, seed=7)[0]
        ours = {
            word: measure(snapshot, [("track", word, {})], rounds * 5).percentile(0.5)
            for word in ("love", rare)
        }
    out("\nThe Go server's method on the same file (`name LIKE '%q%' ORDER BY popularity DESC")
    out("LIMIT 20`, ids only, best of 3) against ours (p50, documents included):\n")
    out("| word | Go server's method ms | ours ms | ratio |")
    out("|---|---:|---:|---:|")
    for word, seconds in ours.items():
        peer = peer_method(directory, word)
        out(f"| {word} | {peer * 1e3:,.2f} | {seconds * 1e3:.2f} | {peer / seconds:,.1f}× |")
    out("")
    if build:
        seconds, rss = build_figures(directory, directory / "search-build.log")
        out(
            f"Search index build alone: {seconds:,.1f} s, {seconds / tracks * 1e6:.1f} µs per "
            f"track, peak RSS {rss / 1024:,.0f} MB.\n"
        )
    return medians


def ratio_report(
    measured: dict[Path, Medians], tracks: dict[Path, int], out: Callable[[str], None]
) -> None:
    """Each class's p50 on every snapshot against the smallest one's: the cost must stay
    flat as the snapshot grows. Classes of fixed frequency compare like for like; the
    rank-defined rare words are in more tracks in a larger synthetic snapshot."""
    smallest = min(measured, key=tracks.__getitem__)
    others = [d for d in sorted(measured, key=tracks.__getitem__) if d != smallest]
    out(f"Per-query cost (p50) against {tracks[smallest]:,} tracks ({smallest.name}):\n")
    out("| query | " + " | ".join(f"{tracks[d]:,} tracks" for d in others) + " |")
    out("|---|" + "---:|" * len(others))
    for name, base in measured[smallest].items():
        ratios = [measured[d][name] / base if name in measured[d] else None for d in others]
        cells = ["—" if r is None else f"{r:.2f}×" for r in ratios]
        out(f"| {name} | " + " | ".join(cells) + " |")
    out("")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.search", description=__doc__)
    parser.add_argument("directories", nargs="+", type=Path, metavar="DIR")
    parser.add_argument("--rounds", type=int, default=20, help="passes over each query class")
    parser.add_argument("--build", action="store_true", help="also time a search index rebuild")
    parser.add_argument("--http", action="store_true", help="only the pass over HTTP")
    parser.add_argument(
        "--cold", metavar="MODE", help="only the cold pass, read with --mmap MODE (on, off)"
    )
    args = parser.parse_args(argv)
    measured: dict[Path, Medians] = {}
    tracks: dict[Path, int] = {}
    for directory in args.directories:
        tracks[directory] = Manifest.read(directory).counts["tracks"]
        if args.http:
            measured[directory] = http_report(directory, args.rounds, _print)
        elif args.cold:
            measured[directory] = cold_report(directory, args.cold, _print)
        else:
            measured[directory] = report(directory, args.rounds, args.build, _print)
    if len(measured) > 1:
        ratio_report(measured, tracks, _print)
    return 0


def _print(line: str) -> None:
    print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
