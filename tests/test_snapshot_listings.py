"""The library's audio features and artist albums: keys as given, errors of the one hierarchy."""

from __future__ import annotations

from pathlib import Path

import pytest

from snapshot_api import InvalidIdentifier, NotFound, Snapshot
from snapshot_api.errors import InvalidParameter
from tests.support.handmade import ARTIST, AUDIO_FEATURES_ROWS, TRACK

COLUMNS = (
    "rowid", "track_id", "fetched_at", "null_response", "duration_ms", "time_signature", "tempo",
    "key", "mode", "danceability", "energy", "loudness", "speechiness", "acousticness",
    "instrumentalness", "liveness", "valence",
)  # fmt: skip


def test_audio_features_are_keyed_as_given_and_equal_the_rows(hand_snapshot: Path) -> None:
    expected = {}
    for row in AUDIO_FEATURES_ROWS:
        values = dict(zip(COLUMNS, row, strict=True))
        if values["null_response"]:
            continue
        features = {k: v for k, v in values.items() if k not in COLUMNS[:4] and v is not None}
        expected[values["track_id"]] = {"id": values["track_id"], **features}
    uri = f"spotify:track:{TRACK[1]}"
    url = f"https://open.spotify.com/track/{TRACK[3]}?si=1"
    with Snapshot.open(hand_snapshot) as snap:
        found = snap.audio_features([uri, url, TRACK[2], TRACK[4], TRACK[5]])
        assert found == {
            uri: expected[TRACK[1]],
            url: expected[TRACK[3]],
            TRACK[5]: expected[TRACK[5]],
        }
        with pytest.raises(InvalidIdentifier, match="album"):
            snap.audio_features(["spotify:album:" + "A" * 22, "bad"])


def test_artist_albums_raise_the_librarys_errors(hand_snapshot: Path) -> None:
    with Snapshot.open(hand_snapshot) as snap:
        with pytest.raises(NotFound):
            snap.artist_albums("0" * 22)
        with pytest.raises(InvalidIdentifier):
            snap.artist_albums("nope")
        for limit, offset in ((0, 0), (51, 0), (10, -1), ("x", 0)):
            with pytest.raises(InvalidParameter):
                snap.artist_albums(ARTIST[1], limit=limit, offset=offset)
        page = snap.artist_albums(ARTIST[1], limit="1", offset="0")
        assert page["limit"] == 1 and page["total"] == 2 and len(page["items"]) == 1
