"""`snapshot-api` command line: parse, call, print, exit code.

Each command lives in its own module of this package exposing
`add_arguments(parser)` and `run(args) -> int`; this file only knows their
names and imports the one being run, so `snapshot-api lookup` does not pay for
importing the server. It is also the one place where an error becomes a line
on stderr and an exit status: a command raises any `SnapshotApiError` and
`main` prints `snapshot-api COMMAND: message`.

Exit codes: 0 success, 1 the work failed (e.g. snapshot not fit, malformed
value, unreadable file), 2 bad command-line arguments or settings, 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn, Protocol, cast

from snapshot_api.errors import SettingsError, SnapshotApiError

COMMANDS: dict[str, str] = {
    "serve": "serve a snapshot over HTTP",
    "lookup": "look identifiers up offline and print JSON",
    "build": "prepare a downloaded dump for serving (decompress, index, manifest)",
    "verify": "check a snapshot's integrity and fitness to serve",
    "synth": "write a synthetic dump in the real schema and shape",
    "search": "search track, album or artist names offline and print JSON",
    "match": "find the track a title, artist and duration (as tagged) belong to",
}
"""Command name → summary; the module is `snapshot_api.cli.<name>`."""

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class Command(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...
    def run(self, args: argparse.Namespace) -> int: ...


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments give one clear line on stderr and exit status 2, not a usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _load(name: str) -> Command:
    return cast(Command, importlib.import_module(f"snapshot_api.cli.{name}"))


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
    for name, summary in COMMANDS.items():
        command_parser = sub.add_parser(name, help=summary, description=summary)
        if name == only:
            _load(name).add_arguments(command_parser)
    return parser


def fail(command: str, message: str, status: int = EXIT_FAILED) -> int:
    """Print `snapshot-api COMMAND: message` on stderr; returns `status` for `return fail(...)`."""
    print(f"snapshot-api {command}: {message}", file=sys.stderr)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in arguments if not a.startswith("-")), None)
    parser = build_parser(chosen if chosen in COMMANDS else None)
    args = parser.parse_args(arguments)
    try:
        return _load(args.command).run(args)
    except SettingsError as exc:
        return fail(args.command, f"error: {exc}", EXIT_USAGE)
    except SnapshotApiError as exc:
        return fail(args.command, str(exc))
    except KeyboardInterrupt:
        print("snapshot-api: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away (`... | head`): not an error worth a traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
