"""Audio files as `tag` sees them: which container, which tags it holds, its duration.

Reading and writing go through mutagen, one container class per format; this
module turns mutagen's per-format values (ID3 frames, Vorbis comment lists,
MP4 atoms and tuples) into the plain text values of `fields.Slot`, and back.

It also defines what "the audio" of a file is, so a write can prove it left
it alone (`audio_digest`): everything that is not tags.
- MP3: the bytes after the ID3v2 tag and before an ID3v1 tag at the end.
- FLAC: the bytes after the last metadata block.
- Ogg Vorbis / Opus: every packet except the comment header (packet 1 of each
  stream), and the granule positions of the pages after the headers. Page
  sequence numbers and checksums are not compared: a longer comment packet
  shifts every later page number, by design of the format.
- MP4: the payload of every top-level `mdat` atom (mutagen moves the chunk
  offsets in `moov` when the tags grow; the samples themselves never move).
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO

from mutagen import FileType, MutagenError
from mutagen.flac import FLAC
from mutagen.id3 import TXXX, Frames
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4, MP4FreeForm
from mutagen.ogg import OggPage
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

from snapshot_api.errors import TaggingError
from snapshot_api.tagging.fields import SLOTS, Format, Slot

_TXXX: Any = TXXX
_FREEFORM: Any = MP4FreeForm
_OGG_PAGE: Any = OggPage
# mutagen's constructors are untyped; called through these names

Values = tuple[str, ...]
"""A tag's values as text: one for most tags, one per artist for multi-valued ones."""


class Container(StrEnum):
    """The file formats `tag` reads and writes; the value is how reports name them."""

    MP3 = "mp3"
    FLAC = "flac"
    OGG_VORBIS = "ogg_vorbis"
    OPUS = "opus"
    MP4 = "mp4"

    @property
    def tag_format(self) -> Format:
        if self is Container.MP3:
            return Format.ID3
        if self is Container.MP4:
            return Format.MP4
        return Format.VORBIS


_CLASSES: dict[type[FileType], Container] = {
    MP3: Container.MP3,
    FLAC: Container.FLAC,
    OggVorbis: Container.OGG_VORBIS,
    OggOpus: Container.OPUS,
    MP4: Container.MP4,
}

AUDIO_SUFFIXES = frozenset({".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".m4b", ".mp4"})
"""Names `tag` opens when walking a directory (case-insensitive); other files are skipped."""


def is_audio_name(path: Path) -> bool:
    return path.suffix.lower() in AUDIO_SUFFIXES


@dataclass(frozen=True, slots=True)
class AudioFile:
    """What one file holds, read once: tags by slot name, duration, and its identity on disk.

    `size` and `mtime_ns` are those at reading: a write refuses a file that
    changed since (another program tagging it at the same time).
    """

    path: Path
    container: Container
    tags: dict[str, Values]
    duration_ms: int | None
    size: int
    mtime_ns: int

    @property
    def tag_format(self) -> Format:
        return self.container.tag_format

    def slot_values(self, slot: Slot) -> Values | None:
        return self.tags.get(slot.name)


def read(path: Path) -> AudioFile:
    """Read `path`'s tags and duration; `TaggingError` when mutagen cannot read it."""
    try:
        stat = path.stat()
        audio = _open(path)
    except (MutagenError, OSError) as exc:
        raise TaggingError(path, f"cannot read: {_reason(exc)}") from None
    except Exception as exc:  # mutagen on damaged data can fail in any way: still one line
        raise TaggingError(path, f"cannot read: {type(exc).__name__}: {_reason(exc)}") from None
    if audio is None:
        raise TaggingError(path, "not an audio file (MP3, FLAC, Ogg Vorbis, Opus or MP4/M4A)")
    container = _CLASSES[type(audio)]
    length = getattr(audio.info, "length", None)
    duration = round(length * 1000) if isinstance(length, int | float) and length > 0 else None
    return AudioFile(
        path=path,
        container=container,
        tags=_read_tags(container.tag_format, audio.tags),
        duration_ms=duration,
        size=stat.st_size,
        mtime_ns=stat.st_mtime_ns,
    )


def _open(path: Path) -> FileType | None:
    # mutagen.File scores each class on the file's first bytes and its name
    import mutagen

    result: FileType | None = mutagen.File(path, options=list(_CLASSES))
    return result


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc).strip()
    return text if text and text != "error" else "damaged or truncated file"


# --- reading: mutagen's values -> text ------------------------------------------------


def _read_tags(tag_format: Format, tags: Any) -> dict[str, Values]:
    if tags is None:
        return {}
    reader = _READERS[tag_format]
    found: dict[str, Values] = {}
    for slot in SLOTS[tag_format]:
        values = tuple(v for v in reader(tags, slot.name) if v != "")
        if values:
            found[slot.name] = values
    return found


def _id3_values(tags: Any, name: str) -> list[str]:
    if name.startswith("TXXX:"):
        wanted = name[5:].upper()
        frames = [f for f in tags.getall("TXXX") if str(f.desc).upper() == wanted]
    else:
        frames = tags.getall(name)
    return [str(text) for frame in frames for text in frame.text]


def _vorbis_values(tags: Any, name: str) -> list[str]:
    values: list[str] = tags.get(name) or []
    return [str(v) for v in values]


def _mp4_values(tags: Any, name: str) -> list[str]:
    if name.startswith("----:"):
        wanted = name.lower()
        items = [v for key, vs in tags.items() if key.lower() == wanted for v in vs]
        return [bytes(v).decode("utf-8", errors="replace") for v in items]
    values = tags.get(name) or []
    if name in ("trkn", "disk"):
        return [_number_text(n, total) for n, total in values if n]
    return [str(v) for v in values]


def _number_text(number: int, total: int | None) -> str:
    return f"{number}/{total}" if total else str(number)


_READERS: dict[Format, Callable[[Any, str], list[str]]] = {
    Format.ID3: _id3_values,
    Format.VORBIS: _vorbis_values,
    Format.MP4: _mp4_values,
}


# --- writing: text -> mutagen's values ------------------------------------------------


def write_tags(path: Path, container: Container, new: dict[str, Values]) -> dict[str, Values]:
    """Set the tags in `new` (slot name → values) in the file at `path`, in place.

    Returns the values as they will read back: an ID3v2.3 file keeps its
    version (old players cannot read v2.4), and v2.3 has no multiple values,
    so several artists are joined with "/" as mutagen and Picard do there.
    Only `safewrite` calls this, on its private copy of the file.
    """
    audio = _open(path)
    if audio is None or _CLASSES[type(audio)] is not container:
        raise TaggingError(path, "the copy is no longer the same kind of audio file")
    if audio.tags is None:
        audio.add_tags()
    tags: Any = audio.tags  # mutagen's tag classes are untyped
    if container is Container.MP3:
        version = 3 if tags.version[:2] == (2, 3) else 4
        expected = {
            name: (ID3V23_SEPARATOR.join(values),) if version == 3 else values
            for name, values in new.items()
        }
        for name, values in new.items():
            _set_id3(tags, name, values)
        audio.save(v2_version=version, v23_sep=ID3V23_SEPARATOR)
        return expected
    if container is Container.MP4:
        for name, values in new.items():
            _set_mp4(tags, name, values)
    else:
        for name, values in new.items():
            tags[name] = list(values)
    audio.save()
    return dict(new)


ID3V23_SEPARATOR = "/"


def _set_id3(tags: Any, name: str, values: Values) -> None:
    if name.startswith("TXXX:"):
        description = name[5:]
        for frame in list(tags.getall("TXXX")):
            if str(frame.desc).upper() == description.upper():
                del tags[frame.HashKey]
        tags.add(_TXXX(encoding=3, desc=description, text=list(values)))
        return
    tags.delall(name)
    tags.add(Frames[name](encoding=3, text=list(values)))


def _set_mp4(tags: Any, name: str, values: Values) -> None:
    if name.startswith("----:"):
        for key in [k for k in tags if k.lower() == name.lower()]:
            del tags[key]
        tags[name] = [_FREEFORM(v.encode()) for v in values]
    elif name in ("trkn", "disk"):
        tags[name] = [_number_pair(v) for v in values[:1]]
    else:
        tags[name] = list(values)


def _number_pair(text: str) -> tuple[int, int]:
    number, _, total = text.partition("/")
    return (int(number), int(total) if total.isdigit() else 0)


# --- the audio part, for proving a write left it alone --------------------------------

CHUNK = 1 << 20


def audio_digest(path: Path, container: Container) -> bytes:
    """A digest of everything in the file that is not tags (see the module docstring).

    `TaggingError` when the file is too damaged to tell (a write is then refused:
    what cannot be checked is not rewritten).
    """
    try:
        return _audio_digest(path, container)
    except TaggingError:
        raise
    except (MutagenError, struct.error, EOFError, ValueError) as exc:
        raise TaggingError(path, f"damaged audio data: {_reason(exc)}") from None


def _audio_digest(path: Path, container: Container) -> bytes:
    digest = hashlib.blake2b(digest_size=32)
    with open(path, "rb") as handle:
        if container is Container.MP3:
            start = _id3v2_end(handle)
            end = os.fstat(handle.fileno()).st_size
            if end - start >= 128:
                handle.seek(end - 128)
                if handle.read(3) == b"TAG":
                    end -= 128
            _hash_range(handle, start, end, digest)
        elif container is Container.FLAC:
            start = _flac_audio_start(handle)
            _hash_range(handle, start, os.fstat(handle.fileno()).st_size, digest)
        elif container is Container.MP4:
            _hash_mdat(handle, digest)
        else:
            _hash_ogg(handle, digest)
    return digest.digest()


def _hash_range(handle: BinaryIO, start: int, end: int, digest: Any) -> None:
    handle.seek(start)
    remaining = end - start
    while remaining > 0:
        block = handle.read(min(CHUNK, remaining))
        if not block:
            break
        digest.update(block)
        remaining -= len(block)


def _id3v2_end(handle: BinaryIO) -> int:
    """Offset after the ID3v2 tags at the start of the file (0 when there is none)."""
    offset = 0
    while True:
        handle.seek(offset)
        header = handle.read(10)
        if len(header) < 10 or header[:3] != b"ID3":
            return offset
        size = 0
        for byte in header[6:10]:
            size = (size << 7) | (byte & 0x7F)
        footer = 10 if header[5] & 0x10 else 0
        offset += 10 + size + footer


def _flac_audio_start(handle: BinaryIO) -> int:
    offset = _id3v2_end(handle)
    handle.seek(offset)
    if handle.read(4) != b"fLaC":
        raise TaggingError(getattr(handle, "name", "?"), "not a FLAC stream")
    offset += 4
    while True:
        handle.seek(offset)
        header = handle.read(4)
        if len(header) < 4:
            return offset
        offset += 4 + int.from_bytes(header[1:4], "big")
        if header[0] & 0x80:
            return offset


def _hash_mdat(handle: BinaryIO, digest: Any) -> None:
    end = os.fstat(handle.fileno()).st_size
    offset = 0
    while offset + 8 <= end:
        handle.seek(offset)
        size, kind = struct.unpack(">I4s", handle.read(8))
        header = 8
        if size == 1:
            (size,) = struct.unpack(">Q", handle.read(8))
            header = 16
        elif size == 0:
            size = end - offset
        if size < header:
            raise TaggingError(getattr(handle, "name", "?"), "damaged MP4 atom")
        if kind == b"mdat":
            digest.update(b"mdat")
            _hash_range(handle, offset + header, offset + size, digest)
        offset += size


def _hash_ogg(handle: BinaryIO, digest: Any) -> None:
    """Packets other than each stream's comment header, and audio pages' granules."""
    index: dict[int, int] = {}  # serial -> number of the packet being assembled
    partial: dict[int, bytes] = {}
    while True:
        try:
            page = _OGG_PAGE(handle)
        except EOFError:
            return
        serial = page.serial
        number = index.setdefault(serial, 0)
        packets = list(page.packets)
        if page.continued and packets:
            packets[0] = partial.pop(serial, b"") + packets[0]
        for position, data in enumerate(packets):
            last = position == len(packets) - 1
            if last and not page.complete:
                partial[serial] = data
                break
            if number != 1:
                digest.update(struct.pack(">IQ", serial, number) + data)
            number += 1
        index[serial] = number
        if page.position not in (0, -1):
            digest.update(struct.pack(">Iq", serial, page.position))
