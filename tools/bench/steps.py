"""`python -m tools.bench.steps STEP ...`: one step of the benchmark in its own process.

The benchmark runs synth and build through here rather than in its own
process so each step's peak RSS is its own (measured with `os.wait4` by the
parent), and so the build's own timings (decompression MB/s, albums pass rows
per second) come back as one JSON line on stdout. `loop` runs lookups for a
while in a process of its own, for py-spy to sample down into SQLite's C code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson


def _synth(args: argparse.Namespace) -> dict[str, object]:
    from snapshot_api.synth.generate import synthesize

    synthesize(Path(args.directory), args.tracks, args.seed)
    return {"tracks": args.tracks, "seed": args.seed}


def _build(args: argparse.Namespace) -> dict[str, object]:
    from snapshot_api.build.pipeline import build
    from snapshot_api.progress import Reporter

    report = build(args.directory, force=True, reporter=Reporter(quiet=args.quiet))
    sidecar = report.sidecar
    return {
        "seconds": report.seconds,
        "count_seconds": report.count_seconds,
        "decompressed": [
            {"file": d.target.name, "bytes": d.bytes_written, "seconds": d.seconds}
            for d in report.decompressed
        ],
        "albums": sidecar.albums if sidecar else 0,
        "barcodes_indexed": sidecar.barcodes_indexed if sidecar else 0,
        "sidecar_seconds": sidecar.seconds if sidecar else 0.0,
    }


def _analyze(args: argparse.Namespace) -> dict[str, object]:
    """ANALYZE every dump file of a copied snapshot: sqlite_stat1/stat4 as a real dump may carry.

    Only ever run on the benchmark's own copy, never on a dump someone downloaded.
    """
    import apsw

    from snapshot_api.layout import find_dump_files

    for dump in find_dump_files(Path(args.directory)).values():
        connection = apsw.Connection(str(dump.path))
        try:
            connection.execute("ANALYZE")
        finally:
            connection.close()
    return {"analyzed": True}


def _loop(args: argparse.Namespace) -> dict[str, object]:
    """`lookup_json` of one kind in batches for `seconds` (a target for py-spy --native)."""
    import time

    from snapshot_api import Snapshot
    from snapshot_api.identifiers import Kind
    from tools.bench.keys import sample
    from tools.bench.throughput import batches

    kind = Kind(args.kind)
    chunks = batches(sample(Path(args.directory), 20_000, 0, [kind]).of(kind), args.batch)
    done = 0
    with Snapshot.open(args.directory) as snapshot:
        for chunk in chunks:
            snapshot.lookup_json(kind, chunk)
        sys.stdout.write("warm\n")  # the profiler attaches now, past start-up and sampling
        sys.stdout.flush()
        started = time.perf_counter()
        while time.perf_counter() - started < args.seconds:
            for chunk in chunks:
                snapshot.lookup_json(kind, chunk)
                done += len(chunk)
        elapsed = time.perf_counter() - started
    return {"items_per_second": done / elapsed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.steps")
    sub = parser.add_subparsers(dest="step", required=True)
    synth = sub.add_parser("synth")
    synth.add_argument("directory")
    synth.add_argument("tracks", type=int)
    synth.add_argument("--seed", type=int, default=0)
    build = sub.add_parser("build")
    build.add_argument("directory")
    build.add_argument("--quiet", action="store_true")
    analyze = sub.add_parser("analyze")
    analyze.add_argument("directory")
    loop = sub.add_parser("loop")
    loop.add_argument("directory")
    loop.add_argument("--kind", default="isrc")
    loop.add_argument("--batch", type=int, default=400)
    loop.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    steps = {"synth": _synth, "build": _build, "analyze": _analyze, "loop": _loop}
    result = steps[args.step](args)
    sys.stdout.buffer.write(orjson.dumps(result) + b"\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
