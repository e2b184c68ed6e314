"""`snapshot-api serve [DIR]`: settings, the snapshot, then `snapshot_api.server.runner`."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import shutil
import tempfile
from pathlib import Path

import structlog

from snapshot_api.cli import fail
from snapshot_api.config import add_serve_arguments, settings_from
from snapshot_api.server import runner
from snapshot_api.server.logs import configure_logging
from snapshot_api.server.ratelimit import create_shared_state
from snapshot_api.snapshot import Snapshot

_log = structlog.get_logger("snapshot_api.server")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "snapshot_dir",
        nargs="?",
        metavar="DIR",
        help="a snapshot directory prepared by `snapshot-api build`; without it, the built-in "
        "sample snapshot (made on first use in the user's cache directory)",
    )
    add_serve_arguments(parser)


def _sample_directory() -> Path:
    """The built-in sample snapshot, made on first use (a few seconds) in the user's cache."""
    from snapshot_api.synth.sample import ensure_sample  # loads the synthesiser only when needed

    return ensure_sample()


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    configure_logging(settings.log_level)
    directory = settings.snapshot_dir or _sample_directory()
    settings = dataclasses.replace(settings, snapshot_dir=directory.resolve())
    snapshot = Snapshot.open(directory, mmap=settings.mmap)
    try:
        sock = runner.listen_socket(settings.host, settings.port)
    except OSError as exc:
        snapshot.close()
        where = f"{settings.host}:{settings.port}"
        return fail("serve", f"cannot listen on {where}: {exc.strerror or exc}")
    # prometheus_client picks its storage when first imported: the private
    # directory must be in the environment before the app (and it) is imported.
    metrics_dir = tempfile.mkdtemp(prefix="snapshot-api-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        with contextlib.closing(sock), create_shared_state(settings):
            runner.log_start(settings, snapshot, sock)
            if settings.workers == 1:
                runner.serve_in_process(settings, snapshot, sock)
            else:
                snapshot.close()  # each worker opens its own
                if not runner.serve_workers(settings, snapshot.manifest, sock):
                    return fail("serve", "a worker process could not start (see the log); stopped")
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    _log.info("stopped", pid=os.getpid())
    return 0
