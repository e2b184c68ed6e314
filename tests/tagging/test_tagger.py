"""`Tagger` in-process on real audio files: identification, proposals, round trips."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mutagen
import mutagen.id3
import mutagen.mp3
import pytest

from snapshot_api import Snapshot
from snapshot_api.tagging import Method, Status, Tagger
from tests.support.handmade import ALBUM, SHARED_ISRC, TRACK
from tests.tagging.audio_files import (
    SUFFIXES,
    audio_part,
    copy_audio,
    get_tag,
    names_for,
    set_tags,
)


@pytest.fixture(scope="module")
def snap(hand_snapshot: Path) -> Iterator[Snapshot]:
    with Snapshot.open(hand_snapshot) as snapshot:
        yield snapshot


@pytest.fixture
def tagger(snap: Snapshot) -> Tagger:
    return Tagger(snap)


def expected_tags(track: dict[str, Any], suffix: str) -> dict[str, list[str]]:
    """What a fully tagged file holds for `track`, read off the document field by field."""
    album = track["album"]
    numbered = suffix in ("mp3", "m4a")  # ID3 TRCK and MP4 trkn hold 'N/TOTAL'
    tags = {
        "title": [track["name"]],
        "artist": [a["name"] for a in track["artists"]],
        "album": [album["name"]],
        "albumartist": [a["name"] for a in album["artists"]],
        "date": [album["release_date"]],
        "isrc": [track["isrc"]],
        "barcode": [album["upc"]],
        "label": [album["label"]],
        "copyright": [album["copyright"]],
        "spotify_track_id": [track["id"]],
        "spotify_album_id": [album["id"]],
        "spotify_artist_id": [a["id"] for a in track["artists"]],
        "track": [
            f"{track['track_number']}/{album['total_tracks']}"
            if numbered
            else str(track["track_number"])
        ],
        "disc": [str(track["disc_number"])],
    }
    if not numbered:
        tags["tracktotal"] = [str(album["total_tracks"])]
    return tags


def one(tagger: Tagger, path: Path, **options: bool) -> Any:
    reports = list(tagger.run([path], **options))
    assert len(reports) == 1
    return reports[0]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_round_trip_writes_the_snapshot_values_and_keeps_the_audio(
    suffix: str, tagger: Tagger, snap: Snapshot, tmp_path: Path
) -> None:
    path = copy_audio(tmp_path, suffix)
    set_tags(path, {"isrc": [SHARED_ISRC], "album": ["Première"]})
    audio_before = audio_part(path)
    length_before = mutagen.File(path).info.length

    report = one(tagger, path, write=True)

    # the file's album picks Track 1 among the three tracks sharing the ISRC
    track = snap.tracks([TRACK[1]])[TRACK[1]]
    assert (report.status, report.identification.by, report.track_id) == (
        Status.IDENTIFIED,
        Method.ISRC,
        TRACK[1],
    )
    assert report.written
    for key, values in expected_tags(track, suffix).items():
        assert get_tag(path, key) == values, key
    assert len(track["artists"]) == 2  # every artist, each its own value, in order
    assert audio_part(path) == audio_before
    assert mutagen.File(path).info.length == length_before
    # a second run finds the file complete and identifies it by the id it wrote
    again = one(tagger, path, write=True)
    assert again.identification.by is Method.SPOTIFY_ID
    assert (again.changes, again.written) == ((), False)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_existing_values_are_kept_unless_overwrite(
    suffix: str, tagger: Tagger, snap: Snapshot, tmp_path: Path
) -> None:
    path = copy_audio(tmp_path, suffix)
    set_tags(path, {"isrc": ["GBAYE0000002"], "title": ["My own title"], "disc": ["2"]})
    track = snap.tracks([TRACK[3]])[TRACK[3]]
    title_tag = names_for(path)["title"]

    report = one(tagger, path, write=True)
    assert report.track_id == TRACK[3]
    assert get_tag(path, "title") == ["My own title"]
    assert [(c.tag, c.old, c.new) for c in report.kept] == [
        (title_tag, ("My own title",), (track["name"],))
    ]
    assert title_tag not in {c.tag for c in report.changes}
    assert get_tag(path, "album") == [track["album"]["name"]]  # missing ones were filled
    assert get_tag(path, "disc") == ["2"]  # equal to the snapshot's: untouched

    overwritten = one(tagger, path, write=True, overwrite=True)
    assert [(c.tag, c.old, c.new) for c in overwritten.changes] == [
        (title_tag, ("My own title",), (track["name"],))
    ]
    assert get_tag(path, "title") == [track["name"]]


def test_equal_values_in_other_spellings_are_not_changes(tagger: Tagger, tmp_path: Path) -> None:
    path = copy_audio(tmp_path, "flac")
    # stored as "us-rc1-..." ISRC, "03"-style numbers and a barcode without leading zeros
    set_tags(
        path,
        {
            "isrc": ["us-rc1-76-07839"],
            "album": ["Première"],
            "track": ["01"],
            "disc": ["1/2"],
            "barcode": ["12345678905"],
        },
    )
    report = one(tagger, path, overwrite=True)
    assert report.track_id == TRACK[1]
    changed = {c.tag for c in report.changes}
    assert changed.isdisjoint({"ISRC", "TRACKNUMBER", "DISCNUMBER", "BARCODE"})
    assert "TITLE" in changed


def test_id3v23_files_stay_v23_with_artists_joined(
    tagger: Tagger, snap: Snapshot, tmp_path: Path
) -> None:
    path = copy_audio(tmp_path, "mp3")
    set_tags(path, {"isrc": [SHARED_ISRC], "album": ["premiere"]}, id3_version=3)
    before = audio_part(path)
    report = one(tagger, path, write=True)
    assert report.written
    tags = mutagen.id3.ID3(path)
    assert tags.version[:2] == (2, 3)
    names = [a["name"] for a in snap.tracks([TRACK[1]])[TRACK[1]]["artists"]]
    assert tags["TPE1"].text == ["/".join(names)]
    assert audio_part(path) == before


def test_spotify_id_comes_before_isrc(tagger: Tagger, tmp_path: Path) -> None:
    path = copy_audio(tmp_path, "ogg")
    url = f"https://open.spotify.com/track/{TRACK[8]}?si=abc"
    set_tags(path, {"spotify_track_id": [url], "isrc": [SHARED_ISRC]})
    report = one(tagger, path)
    assert (report.identification.by, report.track_id) == (Method.SPOTIFY_ID, TRACK[8])


def test_shared_isrc_prefers_the_album_then_popularity(
    tagger: Tagger, snap: Snapshot, tmp_path: Path
) -> None:
    by_popularity = [t["id"] for t in snap.lookup_isrcs([SHARED_ISRC])[SHARED_ISRC]]
    plain = copy_audio(tmp_path, "opus", "plain")
    set_tags(plain, {"isrc": [SHARED_ISRC]})
    named = copy_audio(tmp_path, "opus", "named")
    set_tags(named, {"isrc": [SHARED_ISRC], "album": ["COMPILATION"]})
    reports = {r.path.name: r for r in tagger.run([plain, named])}
    assert reports["plain.opus"].track_id == by_popularity[0]
    assert reports["named.opus"].track_id == TRACK[5]  # album "Compilation"


def test_shared_isrc_prefers_the_files_barcode(built_snapshot: Path, tmp_path: Path) -> None:
    """On the synthetic dump: an ISRC whose less popular track is on another barcode."""
    main = sqlite3.connect(f"file:{built_snapshot / 'spotify_clean.sqlite3'}?mode=ro", uri=True)
    shared = [
        isrc
        for (isrc,) in main.execute(
            "SELECT external_id_isrc FROM tracks WHERE external_id_isrc GLOB"
            " '[A-Z][A-Z][A-Z0-9][A-Z0-9][A-Z0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]'"
            " GROUP BY 1 HAVING count(*) > 1"
        )
    ]
    main.close()
    with Snapshot.open(built_snapshot) as snap:
        found = snap.lookup_isrcs(shared)
        isrc, wanted = next(
            (isrc, track)
            for isrc, tracks in found.items()
            for track in tracks[1:]
            if track.get("album", {}).get("upc")
            and track["album"]["upc"] != tracks[0].get("album", {}).get("upc")
        )
        path = copy_audio(tmp_path, "m4a")
        set_tags(path, {"isrc": [isrc], "barcode": [wanted["album"]["upc"]]})
        report = one(Tagger(snap), path)
    assert report.track_id == wanted["id"]
    assert report.identification.by is Method.ISRC


def test_barcode_and_position(tagger: Tagger, tmp_path: Path) -> None:
    # two albums share this barcode; the more popular one (album 1) has the position
    first = copy_audio(tmp_path, "mp3", "d2t1")
    set_tags(first, {"barcode": ["0 12345 67890 5"], "disc": ["2"], "track": ["1/4"]})
    second = copy_audio(tmp_path, "flac", "t2")
    set_tags(second, {"barcode": ["012345678905"], "track": ["2"]})
    nowhere = copy_audio(tmp_path, "ogg", "t9")
    set_tags(nowhere, {"barcode": ["012345678905"], "track": ["9"]})
    reports = {r.path.stem: r for r in tagger.run([tmp_path])}
    assert reports["d2t1"].track_id == TRACK[3]
    assert reports["d2t1"].identification.by is Method.BARCODE
    assert reports["d2t1"].identification.track["album"]["id"] == ALBUM[1]
    assert reports["t2"].track_id == TRACK[2]
    assert reports["t9"].status is Status.UNIDENTIFIED
    assert "no disc 1 track 9" in (reports["t9"].note or "")


def test_malformed_or_unknown_ids_fall_through_to_the_next_step(
    tagger: Tagger, tmp_path: Path
) -> None:
    path = copy_audio(tmp_path, "m4a")
    set_tags(
        path,
        {
            "spotify_track_id": ["0" * 22],
            "isrc": ["not an isrc"],
            "barcode": ["12345678905"],
            "track": ["3"],
        },
    )
    report = one(tagger, path)
    assert (report.identification.by, report.track_id) == (Method.BARCODE, TRACK[10])


def test_a_file_with_nothing_to_go_on_is_unidentified(tagger: Tagger, tmp_path: Path) -> None:
    path = copy_audio(tmp_path, "mp3")
    report = one(tagger, path, write=True)
    assert report.status is Status.UNIDENTIFIED
    assert report.note
    assert report.as_json()["track_id"] is None


def test_walk_skips_non_audio_and_hidden_files_inside_directories(
    tagger: Tagger, tmp_path: Path
) -> None:
    library = tmp_path / "library"
    copy_audio(library / "a" / "b", "flac", "deep")
    copy_audio(library, "mp3", "top")
    (library / "cover.jpg").write_bytes(b"\xff\xd8 not audio")
    (library / "._top.mp3").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    notes = tmp_path / "notes.txt"
    notes.write_text("not audio\n")
    reports = list(tagger.run([library, notes, library / "top.mp3", tmp_path / "missing.ogg"]))
    assert [r.path.name for r in reports] == ["deep.flac", "top.mp3", "notes.txt", "missing.ogg"]
    assert [r.status for r in reports[2:]] == [Status.ERROR, Status.ERROR]
    assert "not an audio file" in (reports[2].error or "")


def test_an_mp3_with_an_id3v1_tag_keeps_its_frames(tagger: Tagger, tmp_path: Path) -> None:
    path = copy_audio(tmp_path, "mp3")
    set_tags(path, {"isrc": ["GBAYE0000002"]})
    id3v1 = b"TAG" + b"Old v1 title".ljust(30, b"\0") + b"\0" * 94 + b"\xff"
    with open(path, "ab") as handle:
        handle.write(id3v1)
    frames = audio_part(path)
    assert frames == path.read_bytes()[mutagen.id3.ID3(path).size : -128]
    report = one(tagger, path, write=True)
    assert report.written and report.track_id == TRACK[3]
    assert audio_part(path) == frames
    assert path.read_bytes()[-128:-125] == b"TAG"  # still there, updated by mutagen


def statements_to_identify(snap: Snapshot, files: list[Path]) -> int:
    """SQL statements one `identify_many` runs (on this thread's connection)."""
    tagger = Tagger(snap)
    read = [tagger.read(path) for path in files]
    connection = snap._connection()
    executed: list[str] = []

    def tracer(_cursor: object, sql: str, _bindings: object) -> bool:
        executed.append(sql)
        return True

    connection.exec_trace = tracer
    try:
        found = tagger.identify_many(read)
    finally:
        connection.exec_trace = None
    assert all(found), "every file is identified"
    return len(executed)


def test_identifying_many_files_costs_the_statements_of_one(snap: Snapshot, tmp_path: Path) -> None:
    """Per chunk one statement per kind (ids, ISRCs, barcodes) and one album track list per
    album, whatever the number of files."""

    def files(count: int, directory: Path) -> list[Path]:
        made = []
        for number in range(count):
            by_id = copy_audio(directory, SUFFIXES[number % 5], f"id{number}")
            set_tags(by_id, {"spotify_track_id": [TRACK[1 + number % 9]]})
            by_isrc = copy_audio(directory, SUFFIXES[number % 5], f"isrc{number}")
            set_tags(by_isrc, {"isrc": [[SHARED_ISRC, "GBAYE0000002"][number % 2]]})
            by_barcode = copy_audio(directory, SUFFIXES[number % 5], f"upc{number}")
            set_tags(by_barcode, {"barcode": ["012345678905"], "track": [str(1 + number % 2)]})
            made += [by_id, by_isrc, by_barcode]
        return made

    few = statements_to_identify(snap, files(1, tmp_path / "few"))
    many = statements_to_identify(snap, files(12, tmp_path / "many"))
    assert few >= 4  # tracks, ISRCs, barcodes, album 1's tracks
    assert many == few
