"""SHA-256 of a large file, streamed with progress (100+ GB never sits in memory)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from snapshot_api.progress import Reporter, format_bytes

READ_SIZE = 8 * 1024 * 1024


def sha256_file(path: Path, reporter: Reporter) -> str:
    """The hex SHA-256 of `path`, read sequentially in 8 MiB blocks."""
    total = path.stat().st_size
    progress = reporter.progress(f"sha256 {path.name}", total, unit="bytes")
    digest = hashlib.sha256()
    done = 0
    try:
        with open(path, "rb", buffering=0) as handle:
            buffer = bytearray(READ_SIZE)
            view = memoryview(buffer)
            while count := handle.readinto(buffer):
                digest.update(view[:count])
                done += count
                progress.update(done)
    except BaseException:
        progress.clear()
        raise
    seconds = progress.elapsed
    rate = done / 1e6 / seconds if seconds > 0 else 0.0
    progress.finish(f"sha256 {path.name}: {format_bytes(done)} in {seconds:.1f}s ({rate:.0f} MB/s)")
    return digest.hexdigest()
