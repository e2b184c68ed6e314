"""Identifier parsing: what people paste becomes one canonical key, or a named rejection."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from snapshot_api.errors import InvalidIdentifier
from snapshot_api.identifiers import (
    MAX_INPUT_LENGTH,
    Kind,
    parse,
    parse_all,
    parse_many,
    path_pattern,
    stored_barcode_key,
)
from snapshot_api.server.errors import api_error_of

BASE62 = string.ascii_letters + string.digits
ID = "4uLU6hMCjMI75M1A2tKUQC"


@pytest.mark.parametrize(
    "pasted",
    ["USRC17607839", "us-rc1-76-07839", " usrc17607839 ", "US RC1 76 07839", "usRC1-7607839"],
)
def test_isrc_spellings_are_one_key(pasted: str) -> None:
    assert parse(Kind.ISRC, pasted) == "USRC17607839"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty"),
        ("USRC1760783", "12 characters"),
        ("1SRC17607839", "country code"),
        ("US_C17607839", "registrant"),
        ("USRC1760783X", "7 digits"),
        ("x" * 300, "longer than"),
    ],
)
def test_malformed_isrcs_say_why(value: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason) as caught:
        parse(Kind.ISRC, value)
    assert caught.value.rejections[0].value == value


@pytest.mark.parametrize(
    "pasted", ["0 12345 67890 5", "012345678905", "0012345678905", "12345678905", "00-012345678905"]
)
def test_barcode_leading_zeros_do_not_matter(pasted: str) -> None:
    assert parse(Kind.UPC, pasted) == "00012345678905"


def test_barcode_lengths_and_characters() -> None:
    assert parse(Kind.UPC, "96385074") == "00000096385074"  # EAN-8
    assert parse(Kind.UPC, "4006381333932") == "04006381333932"  # bad check digit: still a key
    for bad, reason in [
        ("1234567", "8 to 14"),
        ("123456789012345", "8 to 14"),
        ("12AB5678", "only digits"),
        ("", "empty"),
    ]:
        with pytest.raises(InvalidIdentifier, match=reason):
            parse(Kind.UPC, bad)


def test_stored_barcodes_use_the_same_rule() -> None:
    assert stored_barcode_key("0012345678905") == stored_barcode_key("12345678905") == 12345678905
    assert stored_barcode_key("12AB5") is None
    assert stored_barcode_key(None) is None


@pytest.mark.parametrize(
    "pasted",
    [
        ID,
        f" {ID} ",
        f"spotify:track:{ID}",
        f"https://open.spotify.com/track/{ID}",
        f"https://open.spotify.com/track/{ID}?si=abcdef",
        f"https://open.spotify.com/intl-de/track/{ID}",
        f"open.spotify.com/track/{ID}/",
    ],
)
def test_spotify_id_forms(pasted: str) -> None:
    assert parse(Kind.TRACK, pasted) == ID


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (f"spotify:album:{ID}", "album URI, expected a track"),
        (f"https://open.spotify.com/artist/{ID}", "artist URL, expected a track"),
        ("spotify:track:short", "22 letters"),
        (ID[:-1], "22 letters"),
        (ID[:-1] + "!", "22 letters"),
        (f"https://example.com/track/{ID}", "open.spotify.com"),
        ("spotify:track", "looks like"),
    ],
)
def test_spotify_id_rejections(value: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason):
        parse(Kind.TRACK, value)


def test_urls_can_be_refused_where_a_path_segment_is_expected() -> None:
    with pytest.raises(InvalidIdentifier, match="batch bodies"):
        parse(Kind.TRACK, f"https://open.spotify.com/track/{ID}", allow_url=False)
    assert parse(Kind.TRACK, f"spotify:track:{ID}", allow_url=False) == ID


def test_parse_many_keeps_order_and_answers_duplicates_once() -> None:
    accepted, rejected = parse_many(Kind.ISRC, ["usrc17607839", "bad", "USRC17607839", "bad"])
    assert accepted == {"usrc17607839": "USRC17607839", "USRC17607839": "USRC17607839"}
    assert [r.value for r in rejected] == ["bad"]
    with pytest.raises(InvalidIdentifier) as caught:
        parse_all(Kind.ALBUM, ["x", ID, "y"])
    assert [r.value for r in caught.value.rejections] == ["x", "y"]
    assert "'x'" in str(caught.value) and "'y'" in str(caught.value)


@given(st.text(alphabet=string.ascii_uppercase, min_size=2, max_size=2),
       st.text(alphabet=string.ascii_uppercase + string.digits, min_size=3, max_size=3),
       st.integers(0, 9_999_999), st.lists(st.sampled_from([" ", "-", ""]), min_size=3, max_size=3),
       st.booleans())  # fmt: skip
def test_any_isrc_spelling_normalises_to_its_compact_form(
    country: str, registrant: str, number: int, separators: list[str], lower: bool
) -> None:
    compact = f"{country}{registrant}{number:07d}"
    spelled = f"{country}{separators[0]}{registrant}{separators[1]}{number:07d}{separators[2]}"
    assert parse(Kind.ISRC, spelled.lower() if lower else spelled) == compact


@given(st.integers(min_value=10_000_000, max_value=99_999_999_999_999), st.integers(0, 3))
def test_any_barcode_with_extra_leading_zeros_is_the_same_key(code: int, zeros: int) -> None:
    digits = "0" * zeros + str(code)
    if len(digits) > 14:
        return
    assert parse(Kind.UPC, digits) == str(code).rjust(14, "0")
    assert int(parse(Kind.UPC, digits)) == stored_barcode_key(digits)


@given(st.text(alphabet=BASE62, min_size=22, max_size=22), st.sampled_from(list(Kind)[2:]))
def test_any_base62_id_round_trips_through_uri_and_url(spotify_id: str, kind: Kind) -> None:
    # audio features are looked up by track ids: their URIs and URLs name a track
    assert parse(kind, f"spotify:{kind.id_kind}:{spotify_id}") == spotify_id
    assert parse(kind, f"https://open.spotify.com/{kind.id_kind}/{spotify_id}?si=1") == spotify_id


@given(st.text(max_size=40))
def test_arbitrary_text_never_crashes(value: str) -> None:
    for kind in Kind:
        try:
            key = parse(kind, value)
        except InvalidIdentifier as rejected:
            assert rejected.rejections[0].reason
        else:
            assert key == parse(kind, key)  # canonical keys are fixed points


MALFORMED_URLS = [
    "https://[::1/track/x",
    "http://]/album/x",
    "https://[zz]/track/x",
    "https://a\u2100b.com/artist/x",
    "https://open.spotify.com\uff0f@evil/track/x",
]
"""URLs `urllib.parse.urlsplit` raises ValueError on (bad IPv6 host, NFKC-unsafe host)."""


@pytest.mark.parametrize("value", MALFORMED_URLS)
@pytest.mark.parametrize("kind", [Kind.TRACK, Kind.ALBUM, Kind.ARTIST])
def test_malformed_urls_are_invalid_identifiers(value: str, kind: Kind) -> None:
    with pytest.raises(InvalidIdentifier, match="not a valid URL"):
        parse(kind, value)
    accepted, rejected = parse_many(kind, [value, ID])
    assert accepted == {ID: ID}
    assert [r.value for r in rejected] == [value]


URL_PREFIXES = ["https://", "http://", "open.spotify.com/", "spotify:", "https://open.spotify.com/"]


@given(st.sampled_from(URL_PREFIXES), st.text(max_size=60), st.sampled_from(list(Kind)))
def test_arbitrary_text_after_a_url_prefix_never_crashes(
    prefix: str, rest: str, kind: Kind
) -> None:
    """The URL branch (`urlsplit`) fed any text: a key or `InvalidIdentifier`, nothing else."""
    for allow_url in (True, False):
        try:
            key = parse(kind, prefix + rest, allow_url=allow_url)
        except InvalidIdentifier as rejected:
            assert rejected.rejections[0].reason
        else:
            assert key == parse(kind, key)


def test_long_rejected_values_are_clipped_in_messages() -> None:
    long_value = "Z" * 5000
    with pytest.raises(InvalidIdentifier) as caught:
        parse(Kind.ISRC, long_value)
    message = str(caught.value)
    assert len(message) < 300
    assert "(5000 characters)" in message
    assert caught.value.rejections[0].value == long_value  # the value itself is kept whole
    assert api_error_of(caught.value).to_json()["error"]["values"][0].endswith("characters)")


def _accepted_in_a_path(kind: Kind, value: str) -> bool:
    try:
        parse(kind, value, allow_url=False)
    except InvalidIdentifier:
        return False
    return True


def _near_identifiers(kind: Kind) -> st.SearchStrategy[str]:
    """Arbitrary text, values matching the pattern, and such values with a character changed."""
    matching = st.from_regex(path_pattern(kind), fullmatch=True)
    changed = st.tuples(matching, st.integers(0, 40), st.characters()).map(
        lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + 1 :]
    )
    return st.one_of(st.text(max_size=40), matching, changed)


@pytest.mark.parametrize("kind", list(Kind))
def test_the_openapi_pattern_is_exactly_what_a_path_accepts(kind: Kind) -> None:
    pattern = re.compile(path_pattern(kind))

    @given(_near_identifiers(kind))
    def check(value: str) -> None:
        described = pattern.search(value) is not None and len(value) <= MAX_INPUT_LENGTH
        assert described == _accepted_in_a_path(kind, value), repr(value)

    check()
