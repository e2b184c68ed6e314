"""`Tagger`: identify audio files in a snapshot and give them its tags, in-process.

    from snapshot_api import Snapshot
    from snapshot_api.tagging import Tagger

    with Snapshot.open("snapshot") as snap:
        tagger = Tagger(snap)
        for report in tagger.run(["Music"], write=True):
            print(report.path, report.status, report.track_id)

or step by step: `read(path)` → `identify(file)` → `propose(file, track)` →
`apply(file, proposal)`. `snapshot-api tag` is this class and a printer.

Identification, first that applies (each step only for files the earlier
ones left):
1. `spotify_id`: a Spotify track id (or URI/URL) in `SPOTIFY_TRACK_ID`;
2. `isrc`: the file's ISRC; when several tracks share it (re-releases,
   compilations), the one whose album has the file's barcode, else the file's
   album name, else the most popular;
3. `barcode`: the file's barcode with its track number (disc 1 when absent):
   that position on the album with that barcode (the one named like the
   file's album first, when several albums share the barcode);
4. `match`: title, artist, album and the audio's own duration scored by
   `Snapshot.match_tracks` (one call per chunk), the best candidate accepted
   at `min_score` or above.

Files are read and identified in chunks (`CHUNK_FILES`): the lookups of one
chunk are one statement per kind (ids, ISRCs, barcodes) whatever the chunk
size, so a large library costs a few statements per few hundred files.
A `Tagger` is used from one thread at a time (it keeps a small cache of album
track lists); the snapshot it wraps may be shared.
"""

from __future__ import annotations

import os
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from snapshot_api.errors import InvalidIdentifier, InvalidParameter, NotFound, TaggingError
from snapshot_api.identifiers import Kind, parse
from snapshot_api.match import params as match_params
from snapshot_api.snapshot import Snapshot
from snapshot_api.tagging import audio, safewrite
from snapshot_api.tagging.audio import AudioFile, Container, Values
from snapshot_api.tagging.fields import Field, slot_of
from snapshot_api.tagging.propose import (
    Change,
    Proposal,
    canonical_barcode,
    canonical_isrc,
    propose,
)

Document = dict[str, Any]

DEFAULT_MIN_SCORE = 0.9
"""The lowest match score accepted (`--min-score`): above the contract's 0.8 for one typo,
below its 0.95 for an exact title and artist within 2 s."""

CHUNK_FILES = 256
"""Files read and identified together (one lookup statement per kind and chunk)."""

ALBUM_CACHE = 512
"""Album track lists kept for barcode identification: the files of one album come together."""


class Method(StrEnum):
    """How a file was identified; the value is the report's `by`."""

    SPOTIFY_ID = "spotify_id"
    ISRC = "isrc"
    BARCODE = "barcode"
    MATCH = "match"


class Status(StrEnum):
    """A file's outcome; the value is the report's `status`."""

    IDENTIFIED = "identified"
    UNIDENTIFIED = "unidentified"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Identification:
    """The track a file is, how it was found, and the match score when matched."""

    track: Document
    by: Method
    score: float | None = None

    @property
    def track_id(self) -> str | None:
        value = self.track.get("id")
        return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Report:
    """What happened to one file: the JSON object `tag --json` prints (`as_json`)."""

    path: Path
    status: Status
    container: Container | None = None
    identification: Identification | None = None
    changes: tuple[Change, ...] = ()
    kept: tuple[Change, ...] = ()
    written: bool = False
    error: str | None = None
    note: str | None = None

    @property
    def track_id(self) -> str | None:
        return self.identification.track_id if self.identification else None

    def as_json(self) -> dict[str, object]:
        found = self.identification
        return {
            "path": str(self.path),
            "status": self.status.value,
            "format": self.container.value if self.container else None,
            "by": found.by.value if found else None,
            "score": found.score if found else None,
            "track_id": self.track_id,
            "changes": {c.tag: [_json_values(c.old), _json_values(c.new)] for c in self.changes},
            "kept": {c.tag: [_json_values(c.old), _json_values(c.new)] for c in self.kept},
            "written": self.written,
            "error": self.error,
            "note": self.note,
        }


def _json_values(values: Values | None) -> str | list[str] | None:
    """One value as a string, several (artists) as a list, none as null."""
    if values is None:
        return None
    return values[0] if len(values) == 1 else list(values)


def _fold(text: str | None) -> str:
    """Case, accents and spacing do not make two album names different."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


@dataclass(slots=True)
class Timings:
    """Seconds spent per phase, for the benchmark's split of tag I/O against lookups."""

    read: float = 0.0
    identify: float = 0.0
    write: float = 0.0
    files: int = 0


@dataclass(slots=True)
class _Pending:
    """A file being identified: what its tags say, and why each step did not find it."""

    file: AudioFile
    found: Identification | None = None
    notes: list[str] = field(default_factory=list)

    def first(self, wanted: Field) -> str | None:
        values = self.file.slot_values(slot_of(self.file.tag_format, wanted))
        if not values:
            return None
        if wanted in (Field.TRACKNUMBER, Field.DISCNUMBER):
            number = values[0].partition("/")[0].strip()
            return number or None
        return values[0]


def _number(text: str | None) -> int | None:
    if text is None:
        return None
    digits = text.strip()
    return int(digits) if digits.isdigit() else None


class Tagger:
    """Identifies audio files in `snapshot` and proposes and writes its tags (see module doc)."""

    def __init__(self, snapshot: Snapshot, *, min_score: float = DEFAULT_MIN_SCORE) -> None:
        if not 0.0 <= min_score <= 1.0:
            raise InvalidParameter("min_score", f"min_score is between 0 and 1, not {min_score}")
        self.snapshot = snapshot
        self.min_score = min_score
        self.timings = Timings()
        self._albums: OrderedDict[str, list[Document]] = OrderedDict()

    @property
    def can_match(self) -> bool:
        """Whether step 4 runs: matching needs the snapshot's search index."""
        return self.snapshot.has_search

    # --- steps ------------------------------------------------------------------------

    def read(self, path: str | os.PathLike[str]) -> AudioFile:
        """The file's tags and duration; `TaggingError` when it cannot be read."""
        started = time.perf_counter()
        try:
            return audio.read(Path(path))
        finally:
            self.timings.read += time.perf_counter() - started

    def identify(self, file: AudioFile) -> Identification | None:
        """The track `file` is, or None."""
        return self.identify_many([file])[0]

    def identify_many(self, files: Sequence[AudioFile]) -> list[Identification | None]:
        """`identify` for many files, with one lookup statement per kind for all of them."""
        return [pending.found for pending in self._identify(files)]

    def propose(self, file: AudioFile, track: Document, *, overwrite: bool = False) -> Proposal:
        """The tag changes that give `file` the track's values (`propose.propose`)."""
        return propose(file, track, overwrite=overwrite)

    def apply(self, file: AudioFile, proposal: Proposal) -> bool:
        """Write the proposal's changes, all or nothing (`safewrite`); False when none."""
        if not proposal.changes:
            return False
        started = time.perf_counter()
        try:
            safewrite.write(file, proposal.new_tags())
        finally:
            self.timings.write += time.perf_counter() - started
        return True

    # --- the whole job ----------------------------------------------------------------

    def run(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        write: bool = False,
        overwrite: bool = False,
    ) -> Iterator[Report]:
        """A report per file under `paths` (files, or directories walked recursively), in order.

        Without `write` no file is opened for writing. Errors are reports,
        never exceptions: one bad file does not stop the others.
        """
        chunk: list[Path | Report] = []
        for item in walk(paths):
            chunk.append(item)
            if len(chunk) >= CHUNK_FILES:
                yield from self._run_chunk(chunk, write=write, overwrite=overwrite)
                chunk = []
        if chunk:
            yield from self._run_chunk(chunk, write=write, overwrite=overwrite)

    def _run_chunk(
        self, chunk: list[Path | Report], *, write: bool, overwrite: bool
    ) -> Iterator[Report]:
        read: list[AudioFile | Report] = []
        for item in chunk:
            if isinstance(item, Report):
                read.append(item)
                continue
            try:
                read.append(self.read(item))
            except TaggingError as exc:
                read.append(Report(item, Status.ERROR, error=str(exc)))
        files = [item for item in read if isinstance(item, AudioFile)]
        identified = iter(self._identify(files))
        for entry in read:
            self.timings.files += 1
            if isinstance(entry, Report):
                yield entry
                continue
            yield self._finish(next(identified), write=write, overwrite=overwrite)

    def _finish(self, pending: _Pending, *, write: bool, overwrite: bool) -> Report:
        file, found = pending.file, pending.found
        if found is None:
            note = "; ".join(pending.notes) or None
            return Report(file.path, Status.UNIDENTIFIED, file.container, note=note)
        proposal = self.propose(file, found.track, overwrite=overwrite)
        report = Report(
            file.path,
            Status.IDENTIFIED,
            file.container,
            found,
            proposal.changes,
            proposal.kept,
        )
        if not write or not proposal.changes:
            return report
        try:
            self.apply(file, proposal)
        except TaggingError as exc:
            return replace(report, status=Status.ERROR, error=str(exc))
        return replace(report, written=True)

    # --- identification ---------------------------------------------------------------

    def _identify(self, files: Sequence[AudioFile]) -> list[_Pending]:
        started = time.perf_counter()
        try:
            pending = [_Pending(file) for file in files]
            self._by_spotify_id(pending)
            self._by_isrc([p for p in pending if p.found is None])
            self._by_barcode([p for p in pending if p.found is None])
            self._by_match([p for p in pending if p.found is None])
            return pending
        finally:
            self.timings.identify += time.perf_counter() - started

    def _by_spotify_id(self, pending: list[_Pending]) -> None:
        wanted: dict[int, str] = {}
        for number, item in enumerate(pending):
            value = item.first(Field.SPOTIFY_TRACK_ID)
            if value is None:
                continue
            try:
                wanted[number] = parse(Kind.TRACK, value)
            except InvalidIdentifier:
                item.notes.append(f"malformed Spotify track id {value!r}")
        if not wanted:
            return
        found = self.snapshot.tracks(sorted(set(wanted.values())))
        for number, track_id in wanted.items():
            track = found.get(track_id)
            if track is None:
                pending[number].notes.append(f"Spotify track {track_id} not in this snapshot")
            else:
                pending[number].found = Identification(track, Method.SPOTIFY_ID)

    def _by_isrc(self, pending: list[_Pending]) -> None:
        wanted: dict[int, str] = {}
        for number, item in enumerate(pending):
            value = item.first(Field.ISRC)
            if value is None:
                continue
            canonical = canonical_isrc(value)
            if canonical is None:
                item.notes.append(f"malformed ISRC {value!r}")
            else:
                wanted[number] = canonical
        if not wanted:
            return
        found = self.snapshot.lookup_isrcs(sorted(set(wanted.values())))
        for number, isrc in wanted.items():
            candidates = found.get(isrc) or []
            item = pending[number]
            if not candidates:
                item.notes.append(f"ISRC {isrc} not in this snapshot")
                continue
            item.found = Identification(self._prefer(candidates, item), Method.ISRC)

    @staticmethod
    def _prefer(candidates: list[Document], item: _Pending) -> Document:
        """Among tracks sharing an ISRC: the file's barcode, then album name, then popularity.

        Both count together: two albums may share a barcode (regional copies),
        and then the one also named like the file's album wins.
        """
        barcode = canonical_barcode(item.first(Field.BARCODE))
        album = _fold(item.first(Field.ALBUM))

        def agreement(track: Document) -> tuple[bool, bool]:
            of = track.get("album") or {}
            return (
                barcode is not None and canonical_barcode(of.get("upc")) == barcode,
                bool(album) and _fold(of.get("name")) == album,
            )

        # max() keeps the first of equals: candidates come most popular first
        return max(candidates, key=agreement)

    def _by_barcode(self, pending: list[_Pending]) -> None:
        wanted: dict[int, tuple[int, int, str]] = {}
        for number, item in enumerate(pending):
            barcode = item.first(Field.BARCODE)
            if barcode is None:
                continue
            if canonical_barcode(barcode) is None:
                item.notes.append(f"malformed barcode {barcode!r}")
                continue
            track_number = _number(item.first(Field.TRACKNUMBER))
            if track_number is None:
                item.notes.append("a barcode without a track number")
                continue
            disc = _number(item.first(Field.DISCNUMBER)) or 1
            wanted[number] = (disc, track_number, barcode)
        if not wanted:
            return
        found = self.snapshot.lookup_upcs(sorted({barcode for _, _, barcode in wanted.values()}))
        for number, (disc, track_number, barcode) in wanted.items():
            item = pending[number]
            albums = found.get(barcode) or []
            if not albums:
                item.notes.append(f"barcode {barcode} not in this snapshot")
                continue
            name = _fold(item.first(Field.ALBUM))
            ordered = sorted(albums, key=lambda a: bool(name) and _fold(a.get("name")) != name)
            track = self._at_position(ordered, disc, track_number)
            if track is None:
                item.notes.append(f"no disc {disc} track {track_number} on barcode {barcode}")
            else:
                item.found = Identification(track, Method.BARCODE)

    def _at_position(self, albums: list[Document], disc: int, number: int) -> Document | None:
        for album in albums:
            album_id = album.get("id")
            if not isinstance(album_id, str):
                continue
            for track in self._album_tracks(album_id):
                if track.get("disc_number") == disc and track.get("track_number") == number:
                    return {**track, "album": album}
        return None

    def _album_tracks(self, album_id: str) -> list[Document]:
        cached = self._albums.get(album_id)
        if cached is not None:
            self._albums.move_to_end(album_id)
            return cached
        try:
            tracks = self.snapshot.album_tracks(album_id)
        except NotFound:
            tracks = []
        self._albums[album_id] = tracks
        if len(self._albums) > ALBUM_CACHE:
            self._albums.popitem(last=False)
        return tracks

    def _by_match(self, pending: list[_Pending]) -> None:
        """Step 4 for the chunk: one `match_tracks` call for every file that can be matched."""
        asked: list[tuple[_Pending, dict[str, object]]] = []
        for item in pending:
            title, artist = item.first(Field.TITLE), item.first(Field.ARTIST)
            if not title or not artist:
                if not item.notes:
                    item.notes.append(
                        "no Spotify id, ISRC, barcode and track number, or title and artist"
                    )
                continue
            if not self.can_match:
                item.notes.append(
                    "not matched by title and artist: the snapshot has no search index"
                )
                continue
            album, duration = item.first(Field.ALBUM), item.file.duration_ms
            query: dict[str, object] = {
                "title": title,
                "artist": artist,
                "album": album,
                "duration_ms": duration,
            }
            try:  # checked one by one: one unusable title must not fail the chunk
                match_params.request(title, artist, album, duration)
            except InvalidParameter as exc:
                item.notes.append(f"not matched: {exc}")
                continue
            asked.append((item, query))
        if not asked:
            return
        answers = self.snapshot.match_tracks([query for _, query in asked], limit=1)
        for (item, _), candidates in zip(asked, answers, strict=True):
            if not candidates:
                item.notes.append("no track matches its title and artist")
                continue
            best = candidates[0]
            score = float(best["score"])
            if score >= self.min_score:
                item.found = Identification(best["track"], Method.MATCH, round(score, 4))
            else:
                item.notes.append(
                    f"best match {best['track'].get('id')} scores {score:.2f},"
                    f" below {self.min_score:.2f}"
                )


# --- which files --------------------------------------------------------------------


def walk(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path | Report]:
    """Each audio file under `paths` once, in order; a `Report` for each path that is not one.

    Directories are walked recursively in path order, without following
    symbolic links to directories (no loops); inside them, files that are not
    audio by name are skipped, and so are hidden files (`._Song.mp3` is a
    macOS resource fork, and `tag` leaves its own temporary files hidden).
    A file named explicitly is always opened, so a non-audio file named on the
    command line is reported rather than silently ignored.
    """
    seen: set[Path] = set()

    def once(path: Path) -> bool:
        key = path.resolve()
        if key in seen:
            return False
        seen.add(key)
        return True

    for given in paths:
        path = Path(given)
        if path.is_dir():
            for candidate in _audio_under(path):
                if isinstance(candidate, Report) or once(candidate):
                    yield candidate
        elif path.is_file():
            if once(path):
                yield path
        elif path.exists() or path.is_symlink():
            yield Report(path, Status.ERROR, error="not a file or directory")
        else:
            yield Report(path, Status.ERROR, error="no such file or directory")


def _audio_under(directory: Path) -> Iterator[Path | Report]:
    """Audio files under `directory` in path order (each directory's entries by name)."""
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        yield Report(directory, Status.ERROR, error=f"cannot list the directory: {reason}")
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                yield from _audio_under(path)
            elif entry.is_file() and audio.is_audio_name(path):
                yield path
        except OSError:
            continue
