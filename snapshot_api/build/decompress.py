"""Decompress `NAME.sqlite3.zst` to `NAME.sqlite3`: streaming, checked, atomic.

Why it is written this way:
- Constant memory at any size: the input is fed to the decompressor in small
  pieces. A zstd RLE block turns 4 bytes into 128 KiB, so the piece size bounds
  the worst-case output held at once (8 KiB in → at most 256 MiB out, about
  28 KiB for the real files); output goes through a large write buffer.
- Truncated input is an error, not a short file: `zstandard`'s stream readers
  stop quietly at the end of a cut-off input, so frames are followed explicitly
  and a frame still open at the end of the input fails the job. Frame checksums
  (when the producer wrote them) are verified by the decompressor.
- Atomic: output goes to `NAME.sqlite3.partial` and is renamed (after fsync)
  only when complete, so an interrupted run never leaves a plausible but short
  database under the real name; the next run deletes the partial file and
  starts over. The `.zst` file is only read (it is what the torrent seeds).
- Optionally hashes the decompressed bytes on the way through, so
  `build --checksums` does not read a 125 GB file a second time.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import zstandard

from snapshot_api import pause
from snapshot_api.progress import Reporter, format_bytes

PARTIAL_SUFFIX = ".partial"
INPUT_PIECE = 8 * 1024
READ_SIZE = 4 * 1024 * 1024
WRITE_BUFFER = 4 * 1024 * 1024
FRAME_HEADER_MAX = 18
SPACE_MARGIN = 64 * 1024 * 1024
"""Free space to leave on the disk besides the decompressed file itself."""


class DecompressError(Exception):
    """The input cannot be decompressed (corrupt, truncated, no space); the message says which."""


@dataclass(frozen=True, slots=True)
class Decompressed:
    source: Path
    target: Path
    compressed_bytes: int
    bytes_written: int
    seconds: float
    sha256: str | None

    @property
    def mb_per_second(self) -> float:
        """Decompressed megabytes written per second."""
        return self.bytes_written / 1e6 / self.seconds if self.seconds > 0 else 0.0


def target_of(source: Path) -> Path:
    """`NAME.sqlite3.zst` → `NAME.sqlite3`."""
    return source.with_name(source.name.removesuffix(".zst"))


def partial_of(target: Path) -> Path:
    return target.with_name(target.name + PARTIAL_SUFFIX)


def expected_size(source: Path) -> int | None:
    """The decompressed size recorded in the first frame header, when the producer wrote it."""
    with open(source, "rb") as packed:
        head = packed.read(FRAME_HEADER_MAX)
    try:
        size = zstandard.frame_content_size(head)
    except zstandard.ZstdError:
        return None
    return size if size >= 0 else None


def _check_free_space(source: Path, target: Path) -> None:
    size = expected_size(source)
    if size is None:
        return
    free = shutil.disk_usage(target.parent).free
    if free < size + SPACE_MARGIN:
        raise DecompressError(
            f"{source.name}: needs {format_bytes(size)} free to decompress, "
            f"{format_bytes(free)} available in {target.parent}"
        )


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def decompress(source: Path, reporter: Reporter, *, checksum: bool = False) -> Decompressed:
    """Decompress `source` beside itself; raises `DecompressError` or `OSError` naming the file."""
    target = target_of(source)
    partial = partial_of(target)
    partial.unlink(missing_ok=True)
    _check_free_space(source, target)
    total_in = source.stat().st_size
    digest = hashlib.sha256() if checksum else None
    progress = reporter.progress(f"decompressing {source.name}", total_in, unit="bytes")
    context = zstandard.ZstdDecompressor()
    written = 0
    frame_open = False
    consumed = 0
    try:
        with open(source, "rb") as packed, open(partial, "xb", buffering=WRITE_BUFFER) as out:
            frame = context.decompressobj()
            while block := packed.read(READ_SIZE):
                for start in range(0, len(block), INPUT_PIECE):
                    piece = block[start : start + INPUT_PIECE]
                    while piece:
                        try:
                            data = frame.decompress(piece)
                        except zstandard.ZstdError as exc:
                            raise DecompressError(
                                f"{source.name} is corrupt near byte {consumed + start:,}: {exc}"
                            ) from None
                        frame_open = True
                        if data:
                            out.write(data)
                            written += len(data)
                            if digest is not None:
                                digest.update(data)
                        if frame.eof:
                            piece = frame.unused_data
                            frame = context.decompressobj()
                            frame_open = False
                        else:
                            piece = b""
                consumed += len(block)
                progress.update(consumed, note=f"{format_bytes(written)} written")
                pause.point("decompress")
            if frame_open:
                raise DecompressError(
                    f"{source.name} is truncated (the input ends inside a zstd frame); "
                    "download it again"
                )
            if written == 0:
                raise DecompressError(f"{source.name} holds no compressed data")
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
        _fsync_directory(target.parent)
    except BaseException:
        progress.clear()
        partial.unlink(missing_ok=True)
        raise
    seconds = progress.elapsed
    result = Decompressed(
        source, target, total_in, written, seconds, digest.hexdigest() if digest else None
    )
    progress.finish(
        f"decompressed {source.name} → {target.name}: {format_bytes(written)} "
        f"in {seconds:.1f}s ({result.mb_per_second:.0f} MB/s)"
    )
    return result
