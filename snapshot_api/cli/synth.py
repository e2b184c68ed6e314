"""`snapshot-api synth DIR --tracks N`: write a synthetic dump; the work is `snapshot_api.synth`."""

from __future__ import annotations

import argparse
from pathlib import Path

from snapshot_api.synth.generate import MAX_SEED, MAX_TRACKS, MAX_WORKERS, synthesize


def _track_count(text: str) -> int:
    """N as an integer, also with `_`/`,` separators or a k/M suffix (100k, 10M)."""
    cleaned = text.strip().replace("_", "").replace(",", "")
    factor = 1
    if cleaned[-1:].lower() in ("k", "m"):
        factor = 1_000 if cleaned[-1].lower() == "k" else 1_000_000
        cleaned = cleaned[:-1]
    try:
        value = int(cleaned) * factor
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= MAX_TRACKS:
        raise argparse.ArgumentTypeError(f"must be 1 to {MAX_TRACKS:,}, not {value:,}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be 0 to {MAX_SEED}")
    return value


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"must be 1 to {MAX_WORKERS}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", metavar="DIR", type=Path, help="where to write the dump")
    parser.add_argument(
        "--tracks",
        "-n",
        type=_track_count,
        required=True,
        metavar="N",
        help="number of tracks (100k and 10M are accepted); the other tables follow the "
        "real dump's ratios",
    )
    parser.add_argument("--seed", type=_seed, default=0, help="same seed, same bytes (default 0)")
    parser.add_argument(
        "--with-stats",
        action="store_true",
        help="run ANALYZE, leaving sqlite_stat1 and sqlite_stat4 as a real dump may carry them",
    )
    parser.add_argument(
        "--no-track-files",
        dest="track_files",
        action="store_false",
        help="write only the main database (no spotify_clean_track_files.sqlite3)",
    )
    parser.add_argument(
        "--no-audio-features",
        dest="audio_features",
        action="store_false",
        help="write no spotify_clean_audio_features.sqlite3",
    )
    parser.add_argument("--force", action="store_true", help="replace dump files already in DIR")
    parser.add_argument(
        "--jobs",
        "-j",
        type=_jobs,
        default=None,
        metavar="J",
        help="processes generating rows (default: one per core, up to 4, for large dumps); "
        "the files are the same bytes for any J",
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")


def run(args: argparse.Namespace) -> int:
    report = synthesize(
        args.directory,
        args.tracks,
        args.seed,
        with_stats=args.with_stats,
        track_files=args.track_files,
        audio_features=args.audio_features,
        progress=not args.quiet,
        force=args.force,
        workers=args.jobs,
    )
    print(report.summary())
    return 0
