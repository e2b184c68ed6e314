"""Identifier-shaped values of the dump, clean and dirty: ISRCs, barcodes, image URLs.

Each dirty form is one a reader of the real dump meets; the names in
`IsrcForm` and `BarcodeForm` are what `synth_dirty` queries and tests look for.
"""

from __future__ import annotations

import random
from enum import StrEnum

from snapshot_api.synth.ids import Hasher
from snapshot_api.synth.text import ISRC_COUNTRIES

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class IsrcForm(StrEnum):
    """How a track's ISRC is stored."""

    NULL = "null"
    FRESH = "fresh"
    SHARED = "shared"
    LOWER = "lower"
    HYPHENATED = "hyphenated"
    SHORT = "short"
    JUNK = "junk"


MALFORMED_ISRC_FORMS = (IsrcForm.LOWER, IsrcForm.HYPHENATED, IsrcForm.SHORT, IsrcForm.JUNK)
JUNK_ISRCS = ("N/A", "0", "ISRC", "unknown", "TBA", "????????????", "US-XXX-00-00000")


class Isrcs:
    """ISRC of a recording number: a pure function, so re-releases can share it."""

    def __init__(self, seed: int) -> None:
        self._hash = Hasher(seed, "isrc")

    def of(self, recording: int) -> str:
        h = self._hash(recording)
        country = ISRC_COUNTRIES[h % len(ISRC_COUNTRIES)]
        h //= len(ISRC_COUNTRIES)
        registrant = _ALNUM[h % 36] + _ALNUM[(h >> 6) % 36] + _ALNUM[(h >> 12) % 36]
        year = (h >> 18) % 100
        designation = (h >> 25) % 100_000
        return f"{country}{registrant}{year:02d}{designation:05d}"

    def malformed(self, recording: int, form: IsrcForm) -> str:
        """A stored value that is not a canonical ISRC, in the given dirty form."""
        good = self.of(recording)
        if form is IsrcForm.LOWER:
            return good.lower()
        if form is IsrcForm.HYPHENATED:
            return f"{good[:2]}-{good[2:5]}-{good[5:7]}-{good[7:]}"
        if form is IsrcForm.SHORT:
            return good[: 5 + self._hash(recording + 1) % 5]
        return JUNK_ISRCS[self._hash(recording + 2) % len(JUNK_ISRCS)]


def gtin_check_digit(data: str) -> int:
    """The GS1 check digit of `data` (weights 3,1,3,... from the right)."""
    total = 3 * sum(map(int, data[-1::-2])) + sum(map(int, data[-2::-2]))
    return (10 - total % 10) % 10


class BarcodeForm(StrEnum):
    """How an album's `external_id_upc` is stored."""

    NULL = "null"
    UPC_A = "upc_a"  # 12 digits, valid check digit
    UPC_AS_EAN = "upc_as_ean"  # the same code as 13 digits with a leading 0
    EAN_13 = "ean_13"  # 13 digits, first digit not 0
    OTHER_SPELLING = "other_spelling"  # a code another album stores in its other spelling
    BAD_CHECK = "bad_check"  # right length, wrong check digit
    LETTERS = "letters"
    SHORT = "short"


BARCODE_WEIGHTS: tuple[tuple[BarcodeForm, float], ...] = (
    (BarcodeForm.NULL, 0.08),
    (BarcodeForm.UPC_A, 0.54),
    (BarcodeForm.UPC_AS_EAN, 0.10),
    (BarcodeForm.EAN_13, 0.235),
    (BarcodeForm.OTHER_SPELLING, 0.015),
    (BarcodeForm.BAD_CHECK, 0.02),
    (BarcodeForm.LETTERS, 0.005),
    (BarcodeForm.SHORT, 0.005),
)
_BARCODE_THRESHOLDS: tuple[tuple[float, BarcodeForm], ...] = tuple(
    (sum(weight for _, weight in BARCODE_WEIGHTS[: i + 1]), form)
    for i, (form, _) in enumerate(BARCODE_WEIGHTS)
)


def pick_barcode_form(rng: random.Random) -> BarcodeForm:
    roll = rng.random()
    for threshold, form in _BARCODE_THRESHOLDS:
        if roll < threshold:
            return form
    return BarcodeForm.UPC_A


def make_barcode(rng: random.Random, form: BarcodeForm, recent_upc_a: list[str]) -> str | None:
    """A stored barcode of `form`; `recent_upc_a` holds 12-digit codes other albums used.

    OTHER_SPELLING re-uses a recent 12-digit code as 13 digits with a leading
    zero, so one code is stored in both spellings on different albums (falls
    back to a plain UPC-A when there is none yet). New UPC-A codes are appended
    to `recent_upc_a` (the caller bounds its length); only codes stored with 12
    digits go there, so the re-use really is the other spelling.
    """
    if form is BarcodeForm.NULL:
        return None
    if form is BarcodeForm.OTHER_SPELLING and recent_upc_a:
        return "0" + recent_upc_a[rng.randrange(len(recent_upc_a))]
    if form in (BarcodeForm.UPC_A, BarcodeForm.UPC_AS_EAN, BarcodeForm.OTHER_SPELLING):
        data = f"{rng.randrange(10**11):011d}"
        upc = data + str(gtin_check_digit(data))
        if form is BarcodeForm.UPC_AS_EAN:
            return "0" + upc
        recent_upc_a.append(upc)
        return upc
    if form is BarcodeForm.EAN_13:
        data = f"{rng.randrange(10**11, 10**12)}"
        return data + str(gtin_check_digit(data))
    if form is BarcodeForm.BAD_CHECK:
        data = f"{rng.randrange(10**11):011d}" if rng.random() < 0.5 else f"{rng.randrange(10**12)}"
        wrong = (gtin_check_digit(data) + 1 + rng.randrange(9)) % 10
        return data + str(wrong)
    if form is BarcodeForm.LETTERS:
        digits = f"{rng.randrange(10**12):012d}"
        where = rng.randrange(1, 10)
        return digits[:where] + rng.choice(("AB", "X", "O", "l", "-N/A")) + digits[where + 2 :]
    return f"{rng.randrange(10**6)}"[: 1 + rng.randrange(7)]  # SHORT: 1 to 7 digits


ALBUM_IMAGE_KINDS = (
    (640, "ab67616d0000b273"),
    (300, "ab67616d00001e02"),
    (64, "ab67616d00004851"),
)
"""Album cover sizes and the URL prefix Spotify's CDN uses for each, widest first."""

ARTIST_IMAGE_SETS: tuple[tuple[tuple[int, str], ...], ...] = (
    ((640, "ab6761610000e5eb"), (320, "ab67616100005174"), (160, "ab6761610000f178")),
    ((1000, "0a1b2c3d4e5f6071"), (640, "1b2c3d4e5f607182"), (200, "2c3d4e5f60718293"),
     (64, "3d4e5f6071829304")),
    ((1280, "4e5f607182930415"), (1000, "0a1b2c3d4e5f6071"), (640, "1b2c3d4e5f607182"),
     (200, "2c3d4e5f60718293"), (64, "3d4e5f6071829304")),
)  # fmt: skip
"""Artist picture size sets (newer artists 3, older 4 or 5), widest first."""

IMAGE_URL = "https://i.scdn.co/image/"
