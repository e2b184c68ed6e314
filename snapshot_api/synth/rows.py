"""The rows of the main database, generated in independent chunks with the real data's shape.

Shape (the real dump's statistics, per track): ≈0.229 albums, ≈0.060 artists,
≈1.36 track_artists rows, ≈0.437 artist_albums rows, ≈3 album_images per album,
artist_images for a minority of artists, ≈0.145 genres per artist from 768
genres, and few distinct available_markets lists shared by many rows.

How it stays fast and flat in memory:
- Tracks are generated album by album in chunks of about `TRACKS_PER_CHUNK`
  tracks, artists in chunks of `ARTISTS_PER_CHUNK` rowids. A cheap sequential
  pass (`track_chunk_plans`) decides each album's type, size and discs from
  its own random stream and so fixes where every chunk starts; after that a
  chunk depends only on the seed and its `ChunkPlan`, with its own
  `random.Random`, so chunks can be made in parallel processes.
- What another row must know (Spotify ids, artist names, a recording's ISRC,
  title and duration) is a pure function of a rowid (`synth.ids`), so nothing
  generated earlier is kept.
- Rare dirty cases are guaranteed per chunk: after a chunk is generated, each
  dirty case it lacks is forced onto one of its rows (`_force_*`), so even a
  2,000-track dump has every case, while at scale the natural rates dominate.
- Each track also yields a `TrackInfo`, all that `synth.files` needs to make
  the track's track_files row.

Why one module of some 700 lines: `Generator` is one set of row makers over
shared per-seed state (the id makers, the name and form hashers, the label
cache, the artist window) whose methods call each other across tables (a
track's title names a featured artist, an album's rows need its artists' ids,
the `_force_*` pass rewrites rows of several tables). Split by table, every
piece would take that whole state back as arguments; the pure helpers it uses
already live in `synth.values`, `synth.text`, `synth.ids` and `synth.dirty`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from snapshot_api.synth.ids import Hasher, IdMaker, stream_key
from snapshot_api.synth.text import (
    GENRES,
    LABEL_SUFFIXES,
    MARKETS,
    VERSION_SUFFIXES,
    Script,
    name_of,
    word_in,
)
from snapshot_api.synth.values import (
    ALBUM_IMAGE_KINDS,
    ARTIST_IMAGE_SETS,
    IMAGE_URL,
    MALFORMED_ISRC_FORMS,
    BarcodeForm,
    IsrcForm,
    Isrcs,
    make_barcode,
    pick_barcode_form,
)

Row = list[Any]
Rows = dict[str, list[Row]]

# --- shape of the real data ------------------------------------------------------
REAL_TRACKS = 256_039_007
ALBUMS_PER_TRACK = 58_590_982 / REAL_TRACKS
ARTISTS_PER_TRACK = 15_430_442 / REAL_TRACKS
MARKET_LISTS_PER_TRACK = 89_501 / REAL_TRACKS
MIN_MARKET_LISTS = 24

TRACKS_PER_CHUNK = 8192
ARTISTS_PER_CHUNK = 8192
RECENT_BARCODES = 64
LABEL_CACHE = 4096

VARIOUS_ARTISTS = 1
"""Artist rowid 1 is "Various Artists", the album artist of most compilations."""

FETCHED_FROM_MS = 1_735_689_600_000  # 2025-01-01, the crawl the dump comes from
FETCHED_SPAN_MS = 200 * 86_400_000
DAY_MS = 86_400_000

COLUMNS: dict[str, tuple[str, ...]] = {
    "artists": ("rowid", "id", "fetched_at", "name", "followers_total", "popularity"),
    "artist_genres": ("artist_rowid", "genre"),
    "artist_images": ("artist_rowid", "width", "height", "url"),
    "available_markets": ("rowid", "available_markets"),
    "albums": (
        "rowid", "id", "fetched_at", "name", "album_type", "available_markets_rowid",
        "external_id_upc", "external_id_amgid", "copyright_c", "copyright_p", "label",
        "popularity", "release_date", "release_date_precision", "total_tracks",
    ),
    "album_images": ("album_rowid", "width", "height", "url"),
    "artist_albums": (
        "artist_rowid", "album_rowid", "is_appears_on", "is_implicit_appears_on",
        "index_in_album",
    ),
    "tracks": (
        "rowid", "id", "fetched_at", "name", "preview_url", "album_rowid", "track_number",
        "external_id_isrc", "popularity", "available_markets_rowid", "disc_number",
        "duration_ms", "explicit",
    ),
    "track_artists": ("track_rowid", "artist_rowid"),
}  # fmt: skip
"""Columns each generated row fills, in row order; the writer inserts by these names."""

# Column positions used when a chunk is patched after generation.
_T_NAME, _T_ALBUM, _T_NUMBER, _T_ISRC, _T_POP, _T_DISC = 3, 5, 6, 7, 8, 10
_AL_NAME, _AL_UPC, _AL_POPULARITY = 3, 6, 11


class TrackInfo(NamedTuple):
    """What a track's track_files row depends on, sent to the process writing that file."""

    rowid: int
    id: str
    has_isrc: bool
    popularity: int
    duration_ms: int
    artists: int
    album_artists: int
    title: str
    version: str | None
    fetched_at: int


@dataclass(frozen=True, slots=True)
class Plan:
    """Sizes derived from the requested track count, with the real data's ratios."""

    tracks: int
    seed: int
    artists: int
    market_lists: int
    labels: int

    @classmethod
    def of(cls, tracks: int, seed: int) -> Plan:
        return cls(
            tracks=tracks,
            seed=seed,
            artists=max(1, round(tracks * ARTISTS_PER_TRACK)),
            market_lists=max(MIN_MARKET_LISTS, round(tracks * MARKET_LISTS_PER_TRACK)),
            labels=max(20, round(tracks * ALBUMS_PER_TRACK / 25)),
        )

    @property
    def expected_albums(self) -> float:
        return self.tracks * ALBUMS_PER_TRACK


class AlbumShape(NamedTuple):
    album_type: str
    tracks: int
    discs: int


@dataclass(frozen=True, slots=True)
class ChunkPlan:
    """Where a chunk of albums starts and what shape its albums have."""

    number: int
    first_album: int
    first_track: int
    albums: tuple[AlbumShape, ...]

    @property
    def tracks(self) -> int:
        return sum(album.tracks for album in self.albums)


@dataclass(slots=True)
class TrackChunk:
    """One chunk of albums with their tracks: rows per table, and per-track info."""

    number: int
    rows: Rows
    tracks: list[TrackInfo]


@dataclass(slots=True)
class _Seen:
    """Which dirty cases a chunk has, to see which must still be forced."""

    isrc_forms: set[IsrcForm] = field(default_factory=set)
    barcode_forms: set[BarcodeForm] = field(default_factory=set)
    scripts: set[Script] = field(default_factory=set)
    multi_disc: bool = False
    empty_album_name: bool = False
    image_duplicate: bool = False
    popular_track: bool = False


class Generator:
    """Yields the rows of every table of the main database, chunk by chunk, for one plan."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        seed = plan.seed
        self.track_id = IdMaker(seed, "tracks")
        self.album_id = IdMaker(seed, "albums")
        self.artist_id = IdMaker(seed, "artists")
        self.isrcs = Isrcs(seed)
        self._isrc_form = Hasher(seed, "isrc-form")
        self._recording = Hasher(seed, "recording")
        self._album_name = Hasher(seed, "album-name")
        self._artist_name = Hasher(seed, "artist-name")
        self._label_name = Hasher(seed, "label-name")
        self._chunk_pick = Hasher(seed, "chunk-pick")
        self._window = max(16.0, plan.artists / 400)
        self._labels: dict[int, str] = {}
        self._artists_per_album = plan.artists / plan.expected_albums

    # --- pure functions of rowids ----------------------------------------------------

    def artist_name(self, rowid: int) -> str:
        """Pure, so a track title can name its featured artist without a lookup."""
        if rowid == VARIOUS_ARTISTS:
            return "Various Artists"
        h = self._artist_name(rowid)
        if h % 1000 < 2 or rowid == self._forced_empty_artist(rowid):
            return ""
        return name_of(h)[0]

    def _forced_empty_artist(self, rowid: int) -> int:
        """The one artist per artist chunk whose name is forced to ''."""
        chunk = (rowid - 1) // ARTISTS_PER_CHUNK
        first = chunk * ARTISTS_PER_CHUNK + 1
        size = min(ARTISTS_PER_CHUNK, self.plan.artists - first + 1)
        chosen = first + self._chunk_pick(chunk) % size
        return chosen + 1 if chosen == VARIOUS_ARTISTS and size > 1 else chosen

    def isrc_form(self, track_rowid: int) -> IsrcForm:
        """The ISRC form a track gets by default (compilations re-use more on top)."""
        roll = self._isrc_form(track_rowid) % 100_000
        if roll >= 20_000:
            return IsrcForm.FRESH
        if roll < 10_000:
            return IsrcForm.NULL
        if roll < 10_300:
            return MALFORMED_ISRC_FORMS[roll % 4]
        return IsrcForm.SHARED

    def label(self, number: int) -> str:
        """Label names, Zipf-distributed: the popular ones are kept (bounded) to save work."""
        cached = self._labels.get(number)
        if cached is not None:
            return cached
        h = self._label_name(number)
        label = ""
        if h % 200 != 0:
            label = (name_of(h >> 3)[0] + " " + LABEL_SUFFIXES[h % len(LABEL_SUFFIXES)]).strip()
        if number <= LABEL_CACHE:
            self._labels[number] = label
        return label

    # --- small tables ----------------------------------------------------------------

    def market_rows(self) -> list[Row]:
        """Distinct comma-separated market lists: everything, nothing, then variants."""
        rng = random.Random(stream_key(self.plan.seed, "markets"))
        everything = ",".join(MARKETS)
        lists = [everything, ""]
        seen = set(lists)
        while len(lists) < self.plan.market_lists:
            if rng.random() < 0.7:
                dropped = set(rng.sample(MARKETS, 1 + int(rng.expovariate(0.15)) % 100))
                chosen = [m for m in MARKETS if m not in dropped]
            else:
                kept = set(rng.sample(MARKETS, 1 + int(rng.expovariate(0.1)) % len(MARKETS)))
                chosen = [m for m in MARKETS if m in kept]
            text = ",".join(chosen)
            if text not in seen:
                seen.add(text)
                lists.append(text)
        return [[rowid, text] for rowid, text in enumerate(lists, start=1)]

    def _pick_market(self, rng: random.Random) -> int:
        """Half the rows share the full list; the rest are spread Zipf-like over the others."""
        roll = rng.random()
        if roll < 0.55:
            return 1
        if roll < 0.56:
            return 2
        count = self.plan.market_lists
        return min(count, 2 + int((count - 1) ** rng.random()))

    # --- artists ---------------------------------------------------------------------

    def artist_chunk_count(self) -> int:
        return -(-self.plan.artists // ARTISTS_PER_CHUNK)

    def artist_chunk(self, chunk: int) -> Rows:
        """Rows of artists, their genres and images for one chunk of artist rowids."""
        first = chunk * ARTISTS_PER_CHUNK + 1
        last = min(self.plan.artists, first + ARTISTS_PER_CHUNK - 1)
        rng = random.Random(stream_key(self.plan.seed, f"artists:{chunk}"))
        random_ = rng.random
        artists: list[Row] = []
        genres: list[Row] = []
        images: list[Row] = []
        duplicate = False
        for rowid, artist_id in zip(
            range(first, last + 1), self.artist_id.many(first, last - first + 1), strict=True
        ):
            followers = int(10 ** (random_() ** 2.2 * 7.2)) - 1
            popularity = 0
            if followers >= 10:
                popularity = int(math.log10(followers + 1) * 12) - 8 + int(random_() * 17)
                popularity = min(100, max(0, popularity))
            artists.append(
                [
                    rowid,
                    artist_id,
                    FETCHED_FROM_MS + int(random_() * FETCHED_SPAN_MS),
                    self.artist_name(rowid),
                    followers,
                    popularity,
                ]
            )
            if random_() < 0.08:
                count = 1 + (random_() < 0.5) + (random_() < 0.3)
                chosen: list[str] = []
                while len(chosen) < count:
                    genre = GENRES[int(len(GENRES) ** random_()) - 1]
                    if genre not in chosen:
                        chosen.append(genre)
                genres.extend([rowid, g] for g in chosen)
            if random_() < 0.45:
                roll = random_()
                sizes = ARTIST_IMAGE_SETS[0 if roll < 0.25 else 1 if roll < 0.9 else 2]
                suffix = rng.randbytes(12).hex()
                tall = random_() < 0.1
                own = [
                    [rowid, width, width * 2 // 3 if tall else width, IMAGE_URL + prefix + suffix]
                    for width, prefix in sizes
                ]
                if random_() < 0.02:
                    at = int(random_() * len(own))
                    own.insert(at, list(own[at]))
                    duplicate = True
                images.extend(own)
        if not duplicate and images:
            at = int(random_() * len(images))
            images.insert(at, list(images[at]))
        if not genres:
            rowid = last if last != VARIOUS_ARTISTS else first
            genres.append([rowid, GENRES[0]])
        return {"artists": artists, "artist_genres": genres, "artist_images": images}

    def _pick_artist(self, random_: Any, album_rowid: int) -> int:
        """Mostly an artist 'near' the album (so artists spread over albums), some stars."""
        total = self.plan.artists
        if total <= 2:
            return total
        if random_() < 0.25:
            return 1 + int((total - 1) ** random_())  # Zipf-like head: low rowids
        rowid = int(album_rowid * self._artists_per_album + (random_() - 0.5) * self._window)
        return min(total, max(2, rowid))

    # --- albums and tracks -----------------------------------------------------------

    def track_chunk_plans(self) -> Iterator[ChunkPlan]:
        """The chunks' starting rowids and album shapes, until exactly `plan.tracks` tracks.

        Sequential but cheap (a few random numbers per album): it is what makes
        every later chunk independent of the ones before it.
        """
        next_album, next_track, number = 1, 1, 0
        total = self.plan.tracks
        while next_track <= total:
            rng = random.Random(stream_key(self.plan.seed, f"albums:{number}"))
            random_ = rng.random
            end_of_chunk = min(total, next_track + TRACKS_PER_CHUNK - 1)
            first_album, first_track = next_album, next_track
            shapes: list[AlbumShape] = []
            while next_track <= end_of_chunk:
                roll = random_()
                if roll < 0.70:
                    album_type = "single"
                    roll = random_()
                    size = 1 if roll < 0.75 else 2 if roll < 0.87 else 3 if roll < 0.95 else 4
                elif roll < 0.95:
                    album_type = "album"
                    size = min(80, 5 + int(rng.expovariate(1 / 5.5)))
                else:
                    album_type = "compilation"
                    size = min(100, 8 + int(rng.expovariate(1 / 9)))
                size = min(size, total - next_track + 1)
                discs = 1
                if size >= 14 and random_() < 0.12:
                    discs = 3 if size >= 30 and random_() < 0.3 else 2
                shapes.append(AlbumShape(album_type, size, discs))
                next_album += 1
                next_track += size
            yield ChunkPlan(number, first_album, first_track, tuple(shapes))
            number += 1

    def track_chunk(self, plan: ChunkPlan) -> TrackChunk:
        """The rows of one chunk: a pure function of the seed and the plan."""
        number = plan.number
        rng = random.Random(stream_key(self.plan.seed, f"tracks:{number}"))
        random_ = rng.random
        seen = _Seen()
        albums: list[Row] = []
        album_images: list[Row] = []
        artist_albums: list[Row] = []
        tracks: list[Row] = []
        track_artists: list[Row] = []
        infos: list[TrackInfo] = []
        album_spans: list[tuple[int, int]] = []  # (first, end) indices into `tracks`
        recent_upc: list[str] = []
        isrcs_of = self.isrcs.of
        isrc_form = self.isrc_form
        recording_hash = self._recording
        pick_artist = self._pick_artist
        fresh, shared, null = IsrcForm.FRESH, IsrcForm.SHARED, IsrcForm.NULL
        isrc_forms_add, scripts_add = seen.isrc_forms.add, seen.scripts.add
        make_info = tuple.__new__  # TrackInfo without NamedTuple's Python-level __new__
        next_track = plan.first_track

        for album, (album_type, size, discs) in enumerate(plan.albums, start=plan.first_album):
            if discs > 1:
                seen.multi_disc = True
            compilation = album_type == "compilation"

            if compilation and random_() < 0.75:
                album_artists = [VARIOUS_ARTISTS]
            else:
                roll = random_()
                wanted = 1 if roll < 0.82 else 2 if roll < 0.95 else 3 if roll < 0.99 else 4
                album_artists = []
                for _ in range(wanted * 2):
                    artist = pick_artist(random_, album)
                    if artist not in album_artists:
                        album_artists.append(artist)
                        if len(album_artists) == wanted:
                            break
            album_artist_count = len(album_artists)

            fetched = FETCHED_FROM_MS + int(random_() * FETCHED_SPAN_MS)
            album_market = self._pick_market(rng)
            appears_on: list[int] = []
            first_index = len(tracks)
            album_popularity = 0
            per_disc = -(-size // discs)
            track_ids = self.track_id.many(next_track, size)
            for position in range(size):
                rowid = next_track
                next_track += 1
                form = isrc_form(rowid)
                if compilation and form is not null and random_() < 0.6:
                    form = shared
                recording = rowid
                if form is shared:
                    form = fresh
                    for _ in range(3):
                        if rowid == 1:
                            break
                        earlier = 1 + int(random_() * (rowid - 1))
                        if isrc_form(earlier) is fresh:
                            recording, form = earlier, shared
                            break
                if form is fresh or form is shared:
                    isrc = isrcs_of(recording)
                elif form is null:
                    isrc = None
                else:
                    isrc = self.isrcs.malformed(recording, form)
                isrc_forms_add(form)

                # artists: the album's own (sometimes another), plus featured ones
                if compilation:
                    roll = random_()
                    artists = [pick_artist(random_, album)]
                    if roll >= 0.75:
                        artist = pick_artist(random_, album)
                        if artist not in artists:
                            artists.append(artist)
                elif random_() < 0.05:
                    artists = [pick_artist(random_, album)]
                else:
                    artists = album_artists.copy()
                featured = 0
                if random_() < 0.12:
                    artist = pick_artist(random_, album)
                    if artist not in artists:
                        artists.append(artist)
                        featured = artist
                for artist in artists:
                    if artist not in album_artists and artist not in appears_on:
                        appears_on.append(artist)

                title_hash = recording_hash(recording)
                title, script = name_of(title_hash)
                scripts_add(script)
                name = title
                version = None
                if featured and random_() < 0.5:
                    name = f"{title} (feat. {self.artist_name(featured)})"
                if random_() < 0.07:
                    version = VERSION_SUFFIXES[int(random_() * len(VERSION_SUFFIXES))]
                    name = f"{name} - {version}"

                popularity = 0
                if random_() >= 0.72:
                    popularity = min(100, 1 + int(-9 * math.log(1.0 - random_())))
                    if popularity > album_popularity:
                        album_popularity = popularity
                duration = 90_000 + (title_hash >> 20) % 240_000
                if (title_hash >> 40) % 2000 == 0:
                    duration = 0
                track_id = track_ids[position]
                disc, index = divmod(position, per_disc)
                track_fetched = fetched + int(random_() * DAY_MS)
                tracks.append(
                    [
                        rowid,
                        track_id,
                        track_fetched,
                        name,
                        None
                        if random_() < 0.6
                        else "https://p.scdn.co/mp3-preview/" + rng.randbytes(20).hex(),
                        album,
                        index + 1,
                        isrc,
                        popularity,
                        album_market if random_() < 0.92 else self._pick_market(rng),
                        disc + 1,
                        duration,
                        1 if random_() < 0.12 else 0,
                    ]
                )
                if len(artists) == 1:
                    track_artists.append([rowid, artists[0]])
                else:
                    track_artists.extend([rowid, artist] for artist in artists)
                infos.append(
                    make_info(
                        TrackInfo,
                        (
                            rowid,
                            track_id,
                            isrc is not None,
                            popularity,
                            duration,
                            len(artists),
                            album_artist_count,
                            title,
                            version,
                            track_fetched,
                        ),
                    )
                )

            album_spans.append((first_index, len(tracks)))
            name_hash = self._album_name(album)
            album_name, script = name_of(name_hash)
            scripts_add(script)
            if name_hash % 500 == 0:
                album_name = ""  # taken down
                seen.empty_album_name = True
            barcode_form = pick_barcode_form(rng)
            if barcode_form is BarcodeForm.OTHER_SPELLING and not recent_upc:
                barcode_form = BarcodeForm.UPC_A
            seen.barcode_forms.add(barcode_form)
            label = self.label(int(self.plan.labels ** random_()))
            year = max(1950, 2025 - int(rng.expovariate(1 / 8)))
            roll = random_()
            month, day = 1 + int(random_() * 12), 1 + int(random_() * 28)
            if roll < 0.78:
                date, precision = f"{year}-{month:02d}-{day:02d}", "day"
            elif roll < 0.96:
                date, precision = str(year), "year"
            else:
                date, precision = f"{year}-{month:02d}", "month"
            albums.append(
                [
                    album,
                    self.album_id(album),
                    fetched,
                    album_name,
                    album_type,
                    album_market,
                    make_barcode(rng, barcode_form, recent_upc),
                    None if random_() < 0.95 else f"R  {100_000 + int(random_() * 9_900_000)}",
                    None if random_() < 0.08 else f"© {year} {label}".rstrip(),
                    None if random_() < 0.12 else f"℗ {year} {label}".rstrip(),
                    label,
                    max(0, album_popularity - int(random_() * 5)),
                    date,
                    precision,
                    size,
                ]
            )
            if len(recent_upc) > RECENT_BARCODES:
                del recent_upc[: len(recent_upc) - RECENT_BARCODES]
            if random_() >= 0.01:
                suffix = rng.randbytes(12).hex()
                own = [
                    [album, width, width, IMAGE_URL + prefix + suffix]
                    for width, prefix in ALBUM_IMAGE_KINDS
                ]
                if random_() < 0.02:
                    at = int(random_() * len(own))
                    own.insert(at, list(own[at]))
                    seen.image_duplicate = True
                album_images.extend(own)
            order = list(enumerate(album_artists))
            if len(order) > 1 and random_() < 0.1:
                order.reverse()  # rowid order is not index order: readers sort by index
            artist_albums.extend([artist, album, 0, 0, index] for index, artist in order)
            for artist in appears_on:
                roll = random_()
                if roll < 0.08:  # implicit appearance
                    artist_albums.append([artist, album, 0, 1, None])
                elif roll < 0.5:  # only artists whose albums were fetched have these rows
                    artist_albums.append([artist, album, 1, 0, None])

        rows: Rows = {
            "albums": albums,
            "album_images": album_images,
            "artist_albums": artist_albums,
            "tracks": tracks,
            "track_artists": track_artists,
        }
        self._force_dirty(rng, number, seen, rows, album_spans, infos)
        return TrackChunk(number, rows, infos)

    # --- dirty cases every chunk must have ---------------------------------------------

    def _force_dirty(
        self,
        rng: random.Random,
        number: int,
        seen: _Seen,
        rows: Rows,
        album_spans: list[tuple[int, int]],
        infos: list[TrackInfo],
    ) -> None:
        """Force each dirty case the chunk lacks onto rows not already forced (per column)."""
        tracks, albums = rows["tracks"], rows["albums"]
        self._force_isrcs(rng, seen, tracks, infos)
        self._force_barcodes(rng, seen, albums)
        names = _Untouched(rng, len(albums))
        if not seen.empty_album_name and len(albums) > 1:
            albums[names.pick()][_AL_NAME] = ""
        for script in Script:
            if script not in seen.scripts:
                hashed = self._chunk_pick(number * 64 + len(seen.scripts))
                albums[names.pick()][_AL_NAME] = word_in(script, hashed)
                seen.scripts.add(script)
        if not seen.multi_disc:
            first, end = max(album_spans, key=lambda span: span[1] - span[0])
            if end - first >= 2:
                half = -(-(end - first) // 2)
                for position in range(end - first):
                    row = tracks[first + position]
                    row[_T_DISC], row[_T_NUMBER] = 1 + position // half, 1 + position % half
        if not seen.image_duplicate and rows["album_images"]:
            images = rows["album_images"]
            at = int(rng.random() * len(images))
            images.insert(at, list(images[at]))
        # references are documentation only in the real dump: one artist row that is not there
        missing_artist = self.plan.artists + 1 + int(rng.random() * 1000)
        rows["track_artists"].append([tracks[int(rng.random() * len(tracks))][0], missing_artist])
        rows["artist_albums"].append([missing_artist, albums[-1][0], 1, 0, None])
        if not seen.popular_track and not any(row[_T_POP] >= 50 for row in tracks):
            at = int(rng.random() * len(tracks))
            row = tracks[at]
            row[_T_POP] = 50 + int(rng.random() * 30)
            infos[at] = infos[at]._replace(popularity=row[_T_POP])
            album_row = albums[row[_T_ALBUM] - albums[0][0]]
            album_row[_AL_POPULARITY] = max(album_row[_AL_POPULARITY], row[_T_POP])

    def _force_isrcs(
        self, rng: random.Random, seen: _Seen, tracks: list[Row], infos: list[TrackInfo]
    ) -> None:
        untouched = _Untouched(rng, len(tracks))
        if IsrcForm.SHARED not in seen.isrc_forms and len(tracks) >= 2:
            source, target = untouched.pick(), untouched.pick()
            if not is_plain_isrc(tracks[source][_T_ISRC]):
                tracks[source][_T_ISRC] = self.isrcs.of(tracks[source][0])
            tracks[target][_T_ISRC] = tracks[source][_T_ISRC]
        for form in (IsrcForm.NULL, *MALFORMED_ISRC_FORMS):
            if form not in seen.isrc_forms:
                row = tracks[untouched.pick()]
                row[_T_ISRC] = None if form is IsrcForm.NULL else self.isrcs.malformed(row[0], form)
        for at in untouched.used:
            infos[at] = infos[at]._replace(has_isrc=tracks[at][_T_ISRC] is not None)

    def _force_barcodes(self, rng: random.Random, seen: _Seen, albums: list[Row]) -> None:
        untouched = _Untouched(rng, len(albums))
        recent: list[str] = []
        for form in (
            BarcodeForm.NULL, BarcodeForm.UPC_A, BarcodeForm.UPC_AS_EAN,
            BarcodeForm.EAN_13, BarcodeForm.BAD_CHECK, BarcodeForm.LETTERS, BarcodeForm.SHORT,
        ):  # fmt: skip
            if form not in seen.barcode_forms:
                albums[untouched.pick()][_AL_UPC] = make_barcode(rng, form, recent)
        if BarcodeForm.OTHER_SPELLING not in seen.barcode_forms and len(albums) >= 2:
            first, second = untouched.pick(), untouched.pick()
            upc = make_barcode(rng, BarcodeForm.UPC_A, recent)
            albums[first][_AL_UPC] = upc
            albums[second][_AL_UPC] = make_barcode(rng, BarcodeForm.OTHER_SPELLING, [upc or ""])


class _Untouched:
    """Random distinct row indices, so one forced case does not overwrite another."""

    def __init__(self, rng: random.Random, count: int) -> None:
        self._rng = rng
        self._count = count
        self.used: set[int] = set()

    def pick(self) -> int:
        if len(self.used) >= self._count:
            return int(self._rng.random() * self._count)  # fewer rows than cases
        while True:
            index = int(self._rng.random() * self._count)
            if index not in self.used:
                self.used.add(index)
                return index


def is_plain_isrc(value: object) -> bool:
    """A stored ISRC in canonical form (12 upper-case letters and digits)."""
    return isinstance(value, str) and len(value) == 12 and value.isupper() and value.isalnum()
