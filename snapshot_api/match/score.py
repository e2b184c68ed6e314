"""How well one track fits what a tagger holds: a score in [0, 1] and its components.

The components, each a similarity in [0, 1]:
- **title**: the folded, detuned titles compared (`snapshot_api.match.fold`),
  or the whole folded titles when those agree better. When the cores agree but
  one title names another recording (`Live`, `Remix`, `Acoustic`, ...) and
  the other does not, the title counts `VERSION_FACTOR` of itself: the live
  cut of the right song is a near match, not an exact one.
- **artist**: the best of the tagger's credit (whole, or its first name)
  against each of the track's artists and against all of them together, so
  `A feat. B`, `A & B` and `A` all fit a track by A and B. Only the first
  name of a credit of several fitting counts `PARTIAL_CREDIT` of itself.
- **duration** (when the tagger gives one and the track has one): 1 within
  `DURATION_EXACT_S` (rounding, encoder padding), a gentle slope to
  `GRACE_VALUE` at `GRACE_S` (beets' 10 s grace), then linearly to 0 at
  `ZERO_S` (beets and Picard count 30 s as entirely off).
- **album** (when given): the folded album names compared.

String similarity: `d`, the optimal-string-alignment distance (rapidfuzz;
an insertion, deletion, substitution or swap of neighbours is one edit),
over the longer length is `n`; the similarity is `1 - (n / DIFFERENT)²`,
reaching 0 when 40 % of the string differs (another name, not a misspelling),
and never below `ONE_EDIT` for one edit in a string of 3 or more characters
(a typo costs the same in a short word as in a long one). Word order is
forgiven: the names are also compared with their words sorted.

The score is the **weighted geometric mean** of title, artist and duration
with beets' weights (title 3, artist 2, length 2), each similarity first
raised to `FLOOR`, times an album factor between `1 - ALBUM_WEIGHT` and 1:
- A geometric mean, not beets' arithmetic one, because every component must
  be right for the recording to be right: with the arithmetic mean a track of
  another artist with the same title and length would still score 5/7. Here a
  component at its floor costs `floor ** (w / W)`: a wrong artist or a
  duration 30 s or more off leaves at most 0.52 (`FLOOR`).
- That floor keeps such near misses visible (above the 0.3 cut) so a user
  sees why a file did not match (the right song, another length: a live cut,
  a hidden track), while two wrong components (0.27) are left out. A wrong
  title has the lower `TITLE_FLOOR` (0.28): another song of the same artist
  and length is not close, however alike the rest.
- The album only moves a score by a few hundredths: a recording is on many
  albums (singles, compilations), so an album name picks among equal
  recordings rather than deciding whether it is one (the way Picard weighs
  the release apart from the recording).

Resulting figures: title and artist equal after folding and the duration
within 2 s score 1.0 (0.96 with another album); one typo in a title or artist
of 4+ characters scores 0.93 or more, in 3 characters 0.86 (0.79 without a
duration); a duration 30 s off, or another artist, 0.52; equal scores are
ordered by popularity by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz.distance import OSA

from snapshot_api.match import fold

TITLE_WEIGHT = 3.0
ARTIST_WEIGHT = 2.0
DURATION_WEIGHT = 2.0
ALBUM_WEIGHT = 0.04
"""The most an album that differs entirely takes off a score."""

FLOOR = 0.1
"""The least the artist or duration counts for in the geometric mean."""
TITLE_FLOOR = 0.05
"""The least the title counts for: below the 0.3 cut on its own."""
DIFFERENT = 0.4
"""Share of a string's characters that differ when it is another string (similarity 0)."""
ONE_EDIT = 0.85
"""Similarity of strings of 3+ characters one edit apart, at least."""
VERSION_FACTOR = 0.85
"""Title similarity kept when one title names another recording (live, remix) and the other not."""
PARTIAL_CREDIT = 0.95
"""Artist similarity kept when only the first name of a credit of several fits."""

DURATION_EXACT_S = 2.0
GRACE_S = 10.0
GRACE_VALUE = 0.9
ZERO_S = 30.0

DIGITS = 4
"""Scores and components are rounded to this many decimals (equal after rounding is a tie)."""


def similarity(left: str, right: str) -> float:
    """Similarity of two folded strings (see module doc)."""
    if left == right:
        return 1.0 if left else 0.0
    if not left or not right:
        return 0.0
    best = _similarity(left, right)
    if best < 1.0 and " " in left + right:
        ordered = _similarity(" ".join(sorted(left.split())), " ".join(sorted(right.split())))
        best = max(best, ordered)
    return best


def _similarity(left: str, right: str) -> float:
    edits = OSA.distance(left, right)
    if edits == 0:
        return 1.0
    share = edits / max(len(left), len(right))
    value = max(0.0, 1.0 - (share / DIFFERENT) ** 2)
    if edits == 1 and max(len(left), len(right)) >= 3:
        value = max(value, ONE_EDIT)
    return value


def title_similarity(given: fold.Title, found: fold.Title) -> float:
    core = similarity(given.core, found.core)
    if given.version != found.version:
        core *= VERSION_FACTOR
    return max(core, similarity(given.full, found.full))


def artist_similarity(given: fold.Artist, names: list[str]) -> float:
    """`names`: the track's artist names, each folded with `fold.artist_name`."""
    if not names:
        return 0.0
    together = " ".join(names)
    best = max(similarity(given.full, name) for name in (*names, together))
    if best < 1.0 and given.several:
        first = max(similarity(given.first, name) for name in names) * PARTIAL_CREDIT
        best = max(best, first)
    return best


def duration_similarity(given_ms: int, found_ms: int) -> float:
    off = abs(given_ms - found_ms) / 1000.0
    if off <= DURATION_EXACT_S:
        return 1.0
    if off <= GRACE_S:
        return 1.0 - (1.0 - GRACE_VALUE) * (off - DURATION_EXACT_S) / (GRACE_S - DURATION_EXACT_S)
    if off >= ZERO_S:
        return 0.0
    return GRACE_VALUE * (ZERO_S - off) / (ZERO_S - GRACE_S)


@dataclass(frozen=True, slots=True)
class Given:
    """What the tagger holds, folded once per request."""

    title: fold.Title
    artist: fold.Artist
    album: str | None
    duration_ms: int | None

    @classmethod
    def of(cls, title: str, artist: str, album: str | None, duration_ms: int | None) -> Given:
        folded_album = fold.fold(album) if album else None
        return cls(fold.title(title), fold.artist(artist), folded_album or None, duration_ms)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A track as scored: its names and duration as the dump holds them."""

    title: str
    artists: list[str]
    album: str | None
    duration_ms: int | None


class Scorer:
    """Scores candidates against what one tagger holds.

    A page read deep holds an artist's tracks of one title many times over (the
    same song on albums, singles and compilations), so each distinct title,
    credit and album name is folded and compared once per request, not once
    per row: that was a third of the slowest exact match at 10M tracks (31.8 ms
    before, 18.9 after; 200 rows scored).
    """

    def __init__(self, given: Given) -> None:
        self.given = given
        self._titles: dict[str, float] = {}
        self._credits: dict[tuple[str, ...], float] = {}
        self._albums: dict[str, float] = {}

    def score(self, candidate: Candidate) -> tuple[float, dict[str, float]]:
        """(score, components) of one candidate; both rounded to `DIGITS` decimals."""
        given = self.given
        title = self._titles.get(candidate.title)
        if title is None:
            title = title_similarity(given.title, fold.title(candidate.title))
            self._titles[candidate.title] = title
        credit = tuple(candidate.artists)
        artist = self._credits.get(credit)
        if artist is None:
            artist = artist_similarity(given.artist, [fold.artist_name(a) for a in credit])
            self._credits[credit] = artist
        components = {"title": title, "artist": artist}
        weights = {"title": TITLE_WEIGHT, "artist": ARTIST_WEIGHT}
        if given.duration_ms is not None and candidate.duration_ms and candidate.duration_ms > 0:
            components["duration"] = duration_similarity(given.duration_ms, candidate.duration_ms)
            weights["duration"] = DURATION_WEIGHT
        total = sum(weights.values())
        value = 1.0
        for name, weight in weights.items():
            floor = TITLE_FLOOR if name == "title" else FLOOR
            value *= max(components[name], floor) ** (weight / total)
        if given.album is not None and candidate.album:
            album = self._albums.get(candidate.album)
            if album is None:
                album = similarity(given.album, fold.fold(candidate.album))
                self._albums[candidate.album] = album
            components["album"] = album
            value *= 1.0 - ALBUM_WEIGHT * (1.0 - album)
        return round(value, DIGITS), {name: round(v, DIGITS) for name, v in components.items()}
