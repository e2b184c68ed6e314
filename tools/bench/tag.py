"""`python -m tools.bench.tag DIR`: `snapshot-api tag` dry run over many small audio files.

Makes (once, under `--work`) a directory of `--files` small real audio files,
the five formats in turn (copies of the test tones), each tagged with only an
ISRC drawn at random from the snapshot (well-formed ones, so every file is
identified by ISRC), spread over 100 album folders. Then measures, warm
(the files read once before):
- in-process `Tagger.run(dir)` dry run: files/s, and the split between tag
  I/O (mutagen reading the files), lookups (identification, the match included) and the rest
  (walking, proposals), from `Tagger.timings`;
- the same with one file per chunk (`CHUNK_FILES = 1`: one lookup statement
  per file), to show what batching the lookups is worth;
- the real command, `snapshot-api tag DIR FILES --json > /dev/null`, wall time
  including start-up.
Medians of `--repeat` runs. Prints a Markdown section.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mutagen
from mutagen.id3 import TIT2, TPE1, TSRC
from mutagen.mp4 import MP4FreeForm

from snapshot_api import Snapshot
from snapshot_api.tagging import Status, Tagger
from snapshot_api.tagging import tagger as tagger_module

ROOT = Path(__file__).resolve().parents[2]
TONES = ROOT / "tests" / "data" / "audio"
SUFFIXES = ("mp3", "flac", "ogg", "opus", "m4a")
WELL_FORMED = "[A-Z][A-Z][A-Z0-9][A-Z0-9][A-Z0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]"


def sample_isrcs(directory: Path, count: int, seed: int) -> list[str]:
    """`count` distinct well-formed ISRCs of random tracks (random rowids: no scan)."""
    db = sqlite3.connect(f"file:{directory / 'spotify_clean.sqlite3'}?mode=ro", uri=True)
    try:
        top = db.execute("SELECT max(rowid) FROM tracks").fetchone()[0]
        rng = random.Random(seed)
        found: dict[str, None] = {}
        while len(found) < count:
            row = db.execute(
                "SELECT external_id_isrc FROM tracks WHERE rowid = ?"
                f" AND external_id_isrc GLOB '{WELL_FORMED}'",
                (rng.randrange(1, top + 1),),
            ).fetchone()
            if row is not None:
                found[row[0]] = None
        return list(found)
    finally:
        db.close()


_TSRC: Any = TSRC
_TIT2: Any = TIT2
_TPE1: Any = TPE1
_FREEFORM: Any = MP4FreeForm  # mutagen's constructors are untyped


def set_isrc(path: Path, isrc: str) -> None:
    audio = mutagen.File(path)
    if audio.tags is None:
        audio.add_tags()
    if path.suffix == ".mp3":
        audio.tags.add(_TSRC(encoding=3, text=[isrc]))
    elif path.suffix == ".m4a":
        audio.tags["----:com.apple.iTunes:ISRC"] = [_FREEFORM(isrc.encode())]
    else:
        audio.tags["ISRC"] = [isrc]
    audio.save()


def long_mp3(seconds: float) -> bytes:
    """A real MP3 of about `seconds`: the tone's MPEG-2.5 Layer III frames repeated (8 kbps,
    72 bytes a frame, no Xing header: the length comes from the bitrate and the size)."""
    data = (TONES / "tone.mp3").read_bytes()
    offset = _id3_size(data)
    frames = []
    while offset + 4 <= len(data) and data[offset] == 0xFF:
        kbps = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)[data[offset + 2] >> 4]
        length = 72 * kbps * 1000 // 8000 + ((data[offset + 2] >> 1) & 1)
        frame = data[offset : offset + length]
        if b"Info" not in frame and b"Xing" not in frame:
            frames.append(frame)
        offset += length
    count = int(seconds * 8000 / 576) + 1
    return b"".join(frames[i % len(frames)] for i in range(count))


def _id3_size(data: bytes) -> int:
    if data[:3] != b"ID3":
        return 0
    size = 0
    for byte in data[6:10]:
        size = (size << 7) | (byte & 0x7F)
    return 10 + size


def make_match_files(snapshot: Path, work: Path, count: int, seed: int) -> Path:
    """`count` MP3s as long as random tracks, tagged with only their title and first artist."""
    marker = work / f".made-{count}-{seed}"
    if marker.exists():
        return work
    work.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(f"file:{snapshot / 'spotify_clean.sqlite3'}?mode=ro", uri=True)
    rng = random.Random(seed)
    top = db.execute("SELECT max(rowid) FROM tracks").fetchone()[0]
    made = 0
    while made < count:
        row = db.execute(
            "SELECT t.name, a.name, t.duration_ms FROM tracks AS t"
            " JOIN track_artists AS ta ON ta.track_rowid = t.rowid"
            " JOIN artists AS a ON a.rowid = ta.artist_rowid WHERE t.rowid = ? LIMIT 1",
            (rng.randrange(1, top + 1),),
        ).fetchone()
        if (
            row is None
            or not row[0].strip()
            or not row[1].strip()
            or not 10_000 <= row[2] <= 600_000
        ):
            continue
        path = work / f"{made:05d}.mp3"
        path.write_bytes(long_mp3(row[2] / 1000))
        audio = mutagen.File(path)
        audio.add_tags()
        audio.tags.add(_TIT2(encoding=3, text=[row[0]]))
        audio.tags.add(_TPE1(encoding=3, text=[row[1]]))
        audio.save()
        made += 1
    db.close()
    marker.touch()
    return work


def make_files(snapshot: Path, work: Path, count: int, seed: int) -> Path:
    """The file tree (reused when a previous run made the same one)."""
    marker = work / f".made-{count}-{seed}"
    if marker.exists():
        return work
    work.mkdir(parents=True, exist_ok=True)
    tones = {suffix: (TONES / f"tone.{suffix}").read_bytes() for suffix in SUFFIXES}
    for number, isrc in enumerate(sample_isrcs(snapshot, count, seed)):
        suffix = SUFFIXES[number % len(SUFFIXES)]
        folder = work / f"album-{number % 100:03d}"
        folder.mkdir(exist_ok=True)
        path = folder / f"{number:05d}.{suffix}"
        path.write_bytes(tones[suffix])
        set_isrc(path, isrc)
    marker.touch()
    return work


@dataclass(slots=True)
class Run:
    seconds: float
    read: float
    identify: float
    files: int
    identified: int


def in_process(snapshot: Path, files: Path, chunk: int) -> Run:
    previous = tagger_module.CHUNK_FILES
    tagger_module.CHUNK_FILES = chunk
    try:
        with Snapshot.open(snapshot) as snap:
            tagger = Tagger(snap)
            started = time.perf_counter()
            reports = list(tagger.run([files]))
            seconds = time.perf_counter() - started
    finally:
        tagger_module.CHUNK_FILES = previous
    identified = sum(r.status is Status.IDENTIFIED for r in reports)
    timings = tagger.timings
    return Run(seconds, timings.read, timings.identify, len(reports), identified)


def command(snapshot: Path, files: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "snapshot_api", "tag", str(snapshot), str(files), "--json"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    return time.perf_counter() - started


def median_run(runs: list[Run]) -> Run:
    return sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.tag", description=__doc__)
    parser.add_argument("snapshot", type=Path, help="a built snapshot")
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/tagging-bench/files"))
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--match-files", type=int, default=500, help="files identified by match (0: none)"
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    files = make_files(args.snapshot, args.work, args.files, args.seed)
    made = time.perf_counter() - started
    with Snapshot.open(args.snapshot) as snap:
        tracks = snap.manifest.counts.get("tracks")
    in_process(args.snapshot, files, tagger_module.CHUNK_FILES)  # warm the page cache
    batched = median_run(
        [in_process(args.snapshot, files, tagger_module.CHUNK_FILES) for _ in range(args.repeat)]
    )
    single = median_run([in_process(args.snapshot, files, 1) for _ in range(args.repeat)])
    wall = statistics.median(command(args.snapshot, files) for _ in range(args.repeat))
    matched: Run | None = None
    if args.match_files:
        match_dir = make_match_files(
            args.snapshot,
            args.work.with_name(args.work.name + "-match"),
            args.match_files,
            args.seed,
        )
        in_process(args.snapshot, match_dir, tagger_module.CHUNK_FILES)
        matched = median_run(
            [
                in_process(args.snapshot, match_dir, tagger_module.CHUNK_FILES)
                for _ in range(args.repeat)
            ]
        )

    def row(name: str, run: Run) -> str:
        rest = run.seconds - run.read - run.identify
        return (
            f"| {name} | {run.files / run.seconds:,.0f} | {run.seconds:.2f} "
            f"| {run.read / run.files * 1e3:.3f} ({run.read / run.seconds:.0%}) "
            f"| {run.identify / run.files * 1e3:.3f} ({run.identify / run.seconds:.0%}) "
            f"| {rest / run.files * 1e3:.3f} ({rest / run.seconds:.0%}) |"
        )

    size = sum(p.stat().st_size for p in files.rglob("*") if p.is_file())
    print(f"### Dry run over {batched.files:,} files ({size / batched.files / 1e3:.1f} kB each)")
    print()
    print(
        f"Snapshot `{args.snapshot.name}`"
        + (f" ({tracks:,} tracks)" if isinstance(tracks, int) else "")
        + f"; files made in {made:.1f} s; identified by ISRC: {batched.identified:,}"
        f" of {batched.files:,}; median of {args.repeat} warm runs; {os.cpu_count()} cores."
    )
    print()
    print("| how | files/s | s | tag I/O ms/file | lookups ms/file | rest ms/file |")
    print("|---|---:|---:|---:|---:|---:|")
    print(row(f"`Tagger.run`, {tagger_module.CHUNK_FILES} files per lookup", batched))
    print(row("`Tagger.run`, 1 file per lookup", single))
    if matched is not None:
        print(
            row(f"`Tagger.run`, title/artist/length only (match), {matched.files:,} files", matched)
        )
    print()
    print(
        f"`snapshot-api tag DIR FILES --json > /dev/null` (whole process): {wall:.2f} s, "
        f"{batched.files / wall:,.0f} files/s."
    )
    if matched is not None:
        print()
        print(
            f"Match step: {matched.identified:,} of {matched.files:,} files identified at the"
            f" default --min-score (title, first artist and the audio's length of random tracks)."
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
