"""Write new tags all or nothing: the file holds its old tags or its new ones, never half.

mutagen writes in place, moving audio bytes when the tags grow: a process
killed in the middle of that (or a disk that fills up) would leave a file
that is neither. So the tags are never written into the file itself:

1. refuse a read-only file (its permission bits say the owner wants it kept;
   the rename below would otherwise get past them, and root ignores them);
2. copy the file to a temporary file in the same directory (same file system,
   so the final rename is atomic), named `.NAME.snapshot-api-XXXX.tmp`;
3. write the tags with mutagen on the copy, read them back, and compare the
   audio part of the copy with the original's (`audio.audio_digest`): equal,
   or the copy is thrown away;
4. give the copy the original's permission bits, extended attributes and
   owner (where allowed),
   fsync it, check the original did not change meanwhile (size and mtime as
   first read), and `os.replace` it over the original, then fsync the
   directory so the rename itself survives a power cut.

Any failure (full disk, `EFBIG`, a permission error, a verification that does
not hold) removes the temporary file and raises `TaggingError`: the original
is untouched. A `kill -9` before step 4's rename leaves the original as it was
plus a temporary file, which the next write of that file removes.
Symbolic links are followed: the file they point to is replaced, the link
stays. A file with several hard links gets a new inode: the other names keep
the old tags (as with every tagger that writes through a copy).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from pathlib import Path

from snapshot_api import pause
from snapshot_api.errors import TaggingError
from snapshot_api.tagging import audio
from snapshot_api.tagging.audio import AudioFile, Values

PAUSE_POINT = "tag-write"
"""Where tests kill a write: the copy holds the new tags, the original is not yet replaced."""

TEMPORARY_MARK = ".snapshot-api-"
TEMPORARY_SUFFIX = ".tmp"


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _temporary_prefix(target: Path) -> str:
    return f".{target.name}{TEMPORARY_MARK}"


def remove_leftovers(target: Path) -> list[Path]:
    """Delete temporary copies of `target` left by a killed write; returns those removed."""
    prefix = _temporary_prefix(target)
    removed = []
    with contextlib.suppress(OSError):
        for leftover in target.parent.iterdir():
            if leftover.name.startswith(prefix) and leftover.name.endswith(TEMPORARY_SUFFIX):
                with contextlib.suppress(OSError):
                    leftover.unlink()
                    removed.append(leftover)
    return removed


def write(file: AudioFile, new: dict[str, Values]) -> None:
    """Give `file` the tags in `new` (slot name → values), keeping the others; all or nothing."""
    target = file.path.resolve()
    try:
        before = target.stat()
    except OSError as exc:
        raise TaggingError(file.path, f"cannot write: {_reason(exc)}") from None
    if not stat.S_ISREG(before.st_mode):
        raise TaggingError(file.path, "cannot write: not a regular file")
    if not before.st_mode & stat.S_IWUSR or not os.access(target, os.W_OK):
        raise TaggingError(file.path, "not written: the file is read-only")
    if (before.st_size, before.st_mtime_ns) != (file.size, file.mtime_ns):
        raise TaggingError(file.path, "not written: the file changed since it was read")
    remove_leftovers(target)
    try:
        descriptor, name = tempfile.mkstemp(
            prefix=_temporary_prefix(target), suffix=TEMPORARY_SUFFIX, dir=target.parent
        )
    except OSError as exc:
        raise TaggingError(file.path, f"not written: {_reason(exc)}") from None
    temporary = Path(name)
    try:
        _fill(target, descriptor, temporary, file, new, before)
        _check_unchanged(file, target)
        os.replace(temporary, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        if isinstance(exc, OSError):
            raise TaggingError(file.path, f"not written: {_reason(exc)}") from None
        if isinstance(exc, TaggingError):
            raise TaggingError(file.path, str(exc)) from None
        if isinstance(exc, Exception):  # mutagen failing on data it read itself
            raise TaggingError(
                file.path, f"not written: {type(exc).__name__}: {exc}".rstrip(": ")
            ) from None
        raise
    _fsync_directory(target.parent)


def _fill(
    target: Path,
    descriptor: int,
    temporary: Path,
    file: AudioFile,
    new: dict[str, Values],
    before: os.stat_result,
) -> None:
    """The copy, with the new tags, checked, with the original's mode, on disk."""
    with os.fdopen(descriptor, "wb") as out, open(target, "rb") as source:
        shutil.copyfileobj(source, out, audio.CHUNK)
        out.flush()
    expected = audio.write_tags(temporary, file.container, new)
    written = audio.read(temporary)
    wrong = [name for name, values in expected.items() if written.tags.get(name) != values]
    if wrong:
        raise TaggingError(file.path, f"not written: {', '.join(wrong)} did not read back")
    if audio.audio_digest(temporary, file.container) != audio.audio_digest(target, file.container):
        raise TaggingError(file.path, "not written: the audio data would have changed")
    os.chmod(temporary, stat.S_IMODE(before.st_mode))
    _copy_extended_attributes(target, temporary)
    with contextlib.suppress(OSError):
        if (before.st_uid, before.st_gid) != (os.getuid(), os.getgid()):
            os.chown(temporary, before.st_uid, before.st_gid)
    pause.point(PAUSE_POINT)
    with open(temporary, "rb+") as handle:
        os.fsync(handle.fileno())


def _copy_extended_attributes(source: Path, target: Path) -> None:
    """Best effort: user xattrs (e.g. a file manager's tags, ratings) move to the new inode."""
    if not hasattr(os, "listxattr"):
        return
    with contextlib.suppress(OSError):
        for name in os.listxattr(source):
            with contextlib.suppress(OSError):
                os.setxattr(target, name, os.getxattr(source, name))


def _check_unchanged(file: AudioFile, target: Path) -> None:
    now = target.stat()
    if (now.st_size, now.st_mtime_ns) != (file.size, file.mtime_ns):
        raise TaggingError(file.path, "not written: the file changed while it was being tagged")


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):
        handle = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)
