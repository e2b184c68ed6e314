"""`python -m tools.bench.steps STEP ...`: one snapshot tool step in its own process.

The benchmark runs synth and build through here rather than in its own
process so each step's peak RSS is its own (measured with `os.wait4` by the
parent), and so the build's own timings (decompression MB/s, albums pass rows
per second) come back as one JSON line on stdout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson


def _synth(args: argparse.Namespace) -> dict[str, object]:
    from tools.synth import synthesize

    synthesize(Path(args.directory), args.tracks, args.seed, with_stats=args.with_stats)
    return {"tracks": args.tracks, "seed": args.seed, "with_stats": args.with_stats}


def _build(args: argparse.Namespace) -> dict[str, object]:
    from tools.build import build
    from tools.progress import Reporter

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.steps")
    sub = parser.add_subparsers(dest="step", required=True)
    synth = sub.add_parser("synth")
    synth.add_argument("directory")
    synth.add_argument("tracks", type=int)
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--with-stats", action="store_true")
    build = sub.add_parser("build")
    build.add_argument("directory")
    build.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    result = _synth(args) if args.step == "synth" else _build(args)
    sys.stdout.buffer.write(orjson.dumps(result) + b"\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
