"""The built-in sample snapshot: what `snapshot-api serve` serves when given no directory.

Made on first use, so a new user sees the server answer within seconds of
installing it, without downloading 36 GB: about 2,000 synthetic tracks (fixed
seed, so every machine gets the same data), synthesised and built into the
user's cache directory (`$XDG_CACHE_HOME/snapshot-api/sample-<version>`, else
`~/.cache/...`). One directory per version, so an upgrade never serves a
sample built by older code.

Two processes starting at once (e.g. `serve --workers 4`) must not build into
each other's files: each builds in its own temporary directory beside the
target and renames it into place; renaming a directory onto an existing
non-empty one fails, so the first finished wins and the others discard their
copy and use the winner's.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from snapshot_api import __version__
from snapshot_api.build.pipeline import build
from snapshot_api.errors import BuildError, SnapshotError, SynthError
from snapshot_api.layout import MANIFEST_NAME
from snapshot_api.progress import Reporter
from snapshot_api.synth.generate import synthesize

SAMPLE_TRACKS = 2_000
SAMPLE_SEED = 2025
STALE_SECONDS = 3600
"""Temporary sample directories older than this were left by a killed process."""


def cache_root() -> Path:
    configured = os.environ.get("XDG_CACHE_HOME")
    base = Path(configured) if configured else Path.home() / ".cache"
    return base / "snapshot-api"


def sample_dir(cache_dir: Path | None = None) -> Path:
    return (cache_dir if cache_dir is not None else cache_root()) / f"sample-{__version__}"


def _remove_stale(root: Path) -> None:
    now = time.time()
    for leftover in root.glob(f".sample-{__version__}-*"):
        try:
            if now - leftover.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(leftover, ignore_errors=True)
        except OSError:
            continue


def ensure_sample(cache_dir: Path | None = None, *, quiet: bool = False) -> Path:
    """The sample snapshot's directory, synthesised and built first if need be.

    Raises `SnapshotError` with a one-line reason when it cannot be made
    (e.g. the cache directory is not writable).
    """
    target = sample_dir(cache_dir)
    try:
        if (target / MANIFEST_NAME).is_file():
            return target
        return _make(target, quiet)
    except (BuildError, SynthError) as exc:
        raise SnapshotError(f"cannot make the sample snapshot in {target}: {exc}") from None
    except OSError as exc:
        where = exc.filename or target
        raise SnapshotError(
            f"cannot make the sample snapshot in {target}: {where}: {exc.strerror or exc}"
        ) from None


def _make(target: Path, quiet: bool) -> Path:
    root = target.parent
    root.mkdir(parents=True, exist_ok=True)
    _remove_stale(root)
    if not quiet:
        print(f"snapshot-api: making the sample snapshot in {target} (first use)", file=sys.stderr)
    workspace = Path(tempfile.mkdtemp(prefix=f".sample-{__version__}-", dir=root))
    try:
        synthesize(workspace, SAMPLE_TRACKS, seed=SAMPLE_SEED, progress=False)
        build(workspace, reporter=Reporter(quiet=True))
        # mkdtemp makes it 0700: a sample made by root (a container image's build step)
        # must stay readable by the unprivileged user who serves it
        workspace.chmod(0o755)
        if target.exists() and not (target / MANIFEST_NAME).is_file():
            # an incomplete sample (files deleted by hand): move it out of the way
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.rename(workspace, target)
        except OSError:
            if not (target / MANIFEST_NAME).is_file():
                raise
            # another process finished first: use its sample
    finally:
        if workspace.exists():
            shutil.rmtree(workspace, ignore_errors=True)
    return target
