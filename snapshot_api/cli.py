"""`snapshot-api` command line: parse, call, print, exit code.

Each subcommand lives in its own module exposing `add_arguments(parser)` and
`run(args) -> int`; this file only knows their names and imports the one being
run, so `snapshot-api lookup` does not pay for importing the server.
Exit codes: 0 success, 1 the work failed (e.g. snapshot not fit, malformed
value), 2 bad command-line arguments.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn, Protocol, cast

COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("snapshot_api.server.command", "serve a snapshot over HTTP"),
    "lookup": ("snapshot_api.lookup_command", "look identifiers up offline and print JSON"),
    "build": ("tools.build", "prepare a downloaded dump for serving (decompress, index, manifest)"),
    "verify": ("tools.verify", "check a snapshot's integrity and fitness to serve"),
    "synth": ("tools.synth", "write a synthetic dump in the real schema and shape"),
    "bench": ("tools.bench", "measure lookups in-process, over HTTP and against peers"),
}


class Command(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...
    def run(self, args: argparse.Namespace) -> int: ...


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments give one clear line on stderr and exit status 2, not a usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _load(name: str) -> Command:
    return cast(Command, importlib.import_module(COMMANDS[name][0]))


def build_parser(only: str | None = None) -> OneLineParser:
    """The parser; with `only`, just that subcommand's module is imported."""
    from snapshot_api import __version__

    parser = OneLineParser(
        prog="snapshot-api",
        description="Serve and look up the Anna's Archive Spotify metadata dump, offline.",
    )
    parser.add_argument("--version", action="version", version=f"snapshot-api {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    sub.required = True
    for name, (_module, summary) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=summary, description=summary)
        if name == only:
            _load(name).add_arguments(command_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in arguments if not a.startswith("-")), None)
    parser = build_parser(chosen if chosen in COMMANDS else None)
    args = parser.parse_args(arguments)
    try:
        return _load(args.command).run(args)
    except KeyboardInterrupt:
        print("snapshot-api: interrupted", file=sys.stderr)
        return 130
