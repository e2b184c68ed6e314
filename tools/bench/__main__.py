"""`python -m tools.bench`: measure lookups in-process, over HTTP and against peers."""

from __future__ import annotations

import sys

from snapshot_api.cli import OneLineParser
from tools.bench import add_arguments, run


def main() -> int:
    parser = OneLineParser(prog="python -m tools.bench", description=__doc__)
    add_arguments(parser)
    try:
        return run(parser.parse_args())
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
