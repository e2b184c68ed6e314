"""Real audio files tagged like a user's rips of snapshot albums, for tests and benchmarks.

mutagen reads and writes tags but cannot encode audio, so the audio itself is
silence encoded by ffmpeg (Debian's `ffmpeg`): FLAC at 8 kHz mono (about
60 KB for five minutes) or MP3 at 8 kbit/s. One ffmpeg process writes many
files (one output per file, each with its own duration), because starting
ffmpeg costs more than encoding minutes of silence. The durations are the
snapshot's own, so beets' length comparison sees what it would on real rips.
Tags are written with mutagen, only those a test asks for.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mutagen.flac import FLAC
from mutagen.id3 import ID3, TALB, TIT2, TPE1, TPE2, TPOS, TRCK, TSRC, TXXX, ID3NoHeaderError

FORMATS = ("flac", "mp3")
_CODEC = {
    "flac": ["-c:a", "flac"],
    "mp3": ["-c:a", "libmp3lame", "-b:a", "8k"],
}
FILES_PER_FFMPEG = 40
"""Outputs per ffmpeg process (each holds an encoder; a few dozen stay well within memory)."""

TAG_NAMES = ("title", "artist", "albumartist", "album", "track", "disc", "isrc", "barcode")
"""The tags `write_tags` knows, named as beets names the fields."""


@dataclass(frozen=True, slots=True)
class AudioFile:
    """One file to make: where, how long, and the tags it carries (beets field names)."""

    path: Path
    seconds: float
    tags: Mapping[str, str | int] = field(default_factory=dict)


def ffmpeg() -> str:
    """The ffmpeg program; a clear error when it is not installed."""
    program = shutil.which("ffmpeg")
    if program is None:
        raise RuntimeError("ffmpeg is not installed (apt-get install ffmpeg)")
    return program


def encode_silence(files: Sequence[AudioFile]) -> None:
    """Write each file's audio: silence of its duration, in the format its suffix names."""
    for start in range(0, len(files), FILES_PER_FFMPEG):
        chunk = files[start : start + FILES_PER_FFMPEG]
        command = [ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono"]
        for audio in chunk:
            audio.path.parent.mkdir(parents=True, exist_ok=True)
            fmt = audio.path.suffix.lstrip(".")
            command += ["-map", "0:a", "-t", f"{audio.seconds:.3f}", *_CODEC[fmt], str(audio.path)]
        subprocess.run(command, check=True, capture_output=True)


def write_tags(path: Path, tags: Mapping[str, str | int]) -> None:
    """Replace the file's tags by `tags` (beets field names, see TAG_NAMES)."""
    unknown = set(tags) - set(TAG_NAMES)
    if unknown:
        raise ValueError(f"unknown tags: {sorted(unknown)}")
    text = {name: str(value) for name, value in tags.items()}
    if path.suffix == ".flac":
        flac = FLAC(path)
        flac.delete()
        names = {"title": "TITLE", "artist": "ARTIST", "albumartist": "ALBUMARTIST",
                 "album": "ALBUM", "track": "TRACKNUMBER", "disc": "DISCNUMBER",
                 "isrc": "ISRC", "barcode": "BARCODE"}  # fmt: skip
        for name, value in text.items():
            flac[names[name]] = value
        flac.save()
        return
    try:
        id3 = ID3(path)
        id3.delete(path)
    except ID3NoHeaderError:
        pass
    id3 = ID3()
    frames: dict[str, Any] = {"title": TIT2, "artist": TPE1, "albumartist": TPE2,
                              "album": TALB, "track": TRCK, "disc": TPOS, "isrc": TSRC}  # fmt: skip
    for name, value in text.items():
        if name == "barcode":
            id3.add(TXXX(encoding=3, desc="BARCODE", text=[value]))
        else:
            id3.add(frames[name](encoding=3, text=[value]))
    id3.save(path)


def make_files(files: Sequence[AudioFile]) -> list[Path]:
    """Encode and tag every file; the paths, in order."""
    encode_silence(files)
    for audio in files:
        write_tags(audio.path, audio.tags)
    return [audio.path for audio in files]


def album_files(
    directory: Path,
    tracks: Sequence[Mapping[str, Any]],
    *,
    fmt: str = "flac",
    tags: Sequence[str] = ("artist", "title", "track"),
    album: Mapping[str, Any] | None = None,
) -> list[AudioFile]:
    """One file per track document of an album (`Snapshot.album_tracks` order), carrying
    only the named tags, taken from the documents (`album` for album and barcode)."""
    files = []
    for position, track in enumerate(tracks, start=1):
        values: dict[str, str | int] = {
            "title": track["name"],
            "artist": ", ".join(a["name"] for a in track["artists"]),
            "track": track["track_number"],
            "disc": track["disc_number"],
        }
        if track.get("isrc"):
            values["isrc"] = track["isrc"]
        if album is not None:
            values["album"] = album["name"]
            values["albumartist"] = ", ".join(a["name"] for a in album["artists"])
            if album.get("upc"):
                values["barcode"] = album["upc"]
        chosen = {name: values[name] for name in tags if name in values}
        name = f"{track['disc_number']:02d}-{position:03d}.{fmt}"
        files.append(AudioFile(directory / name, track["duration_ms"] / 1000, chosen))
    return files
