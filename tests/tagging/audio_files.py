"""Real audio files for the tagging tests, and independent ways to look inside them.

`tests/data/audio` holds one second of a 440 Hz tone per format, made with
ffmpeg (a few KB each; see its README). Tests copy them into `tmp_path`,
set tags with mutagen directly (this module's own tag names, not the
package's table, so a wrong name in the table fails a test), and compare
the audio part of a file before and after with the parsers below, which
share no code with `snapshot_api.tagging`.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import mutagen
import mutagen.id3
import mutagen.mp3
from mutagen.id3 import ID3, TXXX, Frames
from mutagen.mp4 import MP4, MP4FreeForm
from mutagen.ogg import OggPage

AUDIO = Path(__file__).resolve().parents[1] / "data" / "audio"
SUFFIXES = ("mp3", "flac", "ogg", "opus", "m4a")

# the tag names of Picard / beets, written out here independently of the package
ID3_NAMES = {
    "title": "TIT2",
    "artist": "TPE1",
    "album": "TALB",
    "albumartist": "TPE2",
    "date": "TDRC",
    "track": "TRCK",
    "disc": "TPOS",
    "isrc": "TSRC",
    "barcode": "TXXX:BARCODE",
    "label": "TPUB",
    "copyright": "TCOP",
    "spotify_track_id": "TXXX:SPOTIFY_TRACK_ID",
    "spotify_album_id": "TXXX:SPOTIFY_ALBUM_ID",
    "spotify_artist_id": "TXXX:SPOTIFY_ARTIST_ID",
}
VORBIS_NAMES = {
    "title": "TITLE",
    "artist": "ARTIST",
    "album": "ALBUM",
    "albumartist": "ALBUMARTIST",
    "date": "DATE",
    "track": "TRACKNUMBER",
    "tracktotal": "TRACKTOTAL",
    "disc": "DISCNUMBER",
    "isrc": "ISRC",
    "barcode": "BARCODE",
    "label": "LABEL",
    "copyright": "COPYRIGHT",
    "spotify_track_id": "SPOTIFY_TRACK_ID",
    "spotify_album_id": "SPOTIFY_ALBUM_ID",
    "spotify_artist_id": "SPOTIFY_ARTIST_ID",
}
ITUNES = "----:com.apple.iTunes:"
MP4_NAMES = {
    "title": "©nam",
    "artist": "©ART",
    "album": "©alb",
    "albumartist": "aART",
    "date": "©day",
    "track": "trkn",
    "disc": "disk",
    "isrc": ITUNES + "ISRC",
    "barcode": ITUNES + "BARCODE",
    "label": ITUNES + "LABEL",
    "copyright": "cprt",
    "spotify_track_id": ITUNES + "SPOTIFY_TRACK_ID",
    "spotify_album_id": ITUNES + "SPOTIFY_ALBUM_ID",
    "spotify_artist_id": ITUNES + "SPOTIFY_ARTIST_ID",
}


def copy_audio(directory: Path, suffix: str, name: str = "song") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{name}.{suffix}"
    shutil.copyfile(AUDIO / f"tone.{suffix}", target)
    return target


def names_for(path: Path) -> dict[str, str]:
    suffix = path.suffix.lstrip(".")
    if suffix == "mp3":
        return ID3_NAMES
    if suffix == "m4a":
        return MP4_NAMES
    return VORBIS_NAMES


def set_tags(path: Path, values: dict[str, list[str]], *, id3_version: int = 4) -> None:
    """Give `path` these tags (keys of the *_NAMES tables) with mutagen, nothing else."""
    audio = mutagen.File(path)
    if audio.tags is None:
        audio.add_tags()
    tags = audio.tags
    names = names_for(path)
    for key, texts in values.items():
        name = names[key]
        if isinstance(audio, mutagen.mp3.MP3):
            if name.startswith("TXXX:"):
                tags.add(TXXX(encoding=3, desc=name[5:], text=texts))
            else:
                tags.add(Frames[name](encoding=3, text=texts))
        elif isinstance(audio, MP4):
            if name in ("trkn", "disk"):
                number, _, total = texts[0].partition("/")
                tags[name] = [(int(number), int(total or 0))]
            elif name.startswith("----:"):
                tags[name] = [MP4FreeForm(t.encode()) for t in texts]
            else:
                tags[name] = texts
        else:
            tags[name] = texts
    if isinstance(audio, mutagen.mp3.MP3):
        audio.save(v2_version=id3_version)
    else:
        audio.save()


def get_tag(path: Path, key: str) -> list[str] | None:
    """The tag's values as mutagen reads them (numbers as 'N/TOTAL' text), None when absent."""
    audio = mutagen.File(path)
    tags = audio.tags
    name = names_for(path)[key]
    if tags is None:
        return None
    if isinstance(audio, mutagen.mp3.MP3):
        if name.startswith("TXXX:"):
            frames = [f for f in tags.getall("TXXX") if f.desc == name[5:]]
        else:
            frames = tags.getall(name)
        values = [str(t) for f in frames for t in f.text]
    elif isinstance(audio, MP4):
        raw = tags.get(name)
        if raw is None:
            return None
        if name in ("trkn", "disk"):
            values = [f"{n}/{t}" if t else str(n) for n, t in raw]
        elif name.startswith("----:"):
            values = [bytes(v).decode() for v in raw]
        else:
            values = [str(v) for v in raw]
    else:
        values = list(tags.get(name) or [])
    return values or None


# --- the audio part, parsed without the package ------------------------------------------


def audio_part(path: Path) -> bytes | list[bytes]:
    """What must never change when tags are written, per format."""
    data = path.read_bytes()
    suffix = path.suffix
    if suffix == ".mp3":
        tag = ID3(path)
        end = len(data) - 128 if data[-128:-125] == b"TAG" else len(data)  # an ID3v1 tag
        return data[tag.size : end]  # tag.size: header, frames and padding
    if suffix == ".flac":
        offset = 4
        while True:
            header = data[offset : offset + 4]
            offset += 4 + int.from_bytes(header[1:4], "big")
            if header[0] & 0x80:
                return data[offset:]
    if suffix == ".m4a":
        chunks, offset = [], 0
        while offset < len(data):
            size, kind = struct.unpack(">I4s", data[offset : offset + 8])
            if kind == b"mdat":
                chunks.append(data[offset + 8 : offset + size])
            offset += size
        return chunks
    with open(path, "rb") as handle:  # Ogg: every packet but the comment header (packet 1)
        pages = []
        while True:
            try:
                pages.append(OggPage(handle))
            except EOFError:
                break
    packets = OggPage.to_packets(pages)
    return [packets[0], *packets[2:]]


_V2_LAYER3_KBPS = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_V25_RATES = (11025, 12000, 8000)
_V2_RATES = (22050, 24000, 16000)


def _mp3_frames(data: bytes, offset: int) -> list[bytes]:
    """The MPEG-2/2.5 Layer III frames of `data` from `offset` (the test tone's kind)."""
    frames = []
    while offset + 4 <= len(data) and data[offset] == 0xFF:
        header = data[offset : offset + 4]
        version = (header[1] >> 3) & 3
        rates = _V25_RATES if version == 0 else _V2_RATES
        kbps = _V2_LAYER3_KBPS[header[2] >> 4]
        rate = rates[(header[2] >> 2) & 3]
        length = 72 * kbps * 1000 // rate + ((header[2] >> 1) & 1)
        frames.append(data[offset : offset + length])
        offset += length
    return frames


def long_mp3(directory: Path, seconds: float, name: str = "long") -> Path:
    """A real MP3 of about `seconds`: the tone's audio frames repeated (no Xing header,
    so players and mutagen take the length from the constant bitrate and the size)."""
    data = (AUDIO / "tone.mp3").read_bytes()
    start = ID3(AUDIO / "tone.mp3").size
    frames = [f for f in _mp3_frames(data, start) if b"Info" not in f and b"Xing" not in f]
    samples_per_frame = 576
    wanted = int(seconds * 8000 / samples_per_frame) + 1
    body = b"".join(frames[i % len(frames)] for i in range(wanted))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.mp3"
    path.write_bytes(body)
    return path
