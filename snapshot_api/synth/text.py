"""Words, names, genres and market codes for synthetic rows.

Names are made from small per-script vocabularies chosen by the bits of a
64-bit hash, so a name is a pure function of a number (a re-released recording
keeps its title) and costs a few integer operations, not a random stream.
The scripts are the ones that break naive code: combining marks (NFD),
diacritics, Cyrillic, Greek, CJK, kana, Hangul, Arabic and Hebrew (RTL),
Devanagari, Thai, and emoji including ZWJ sequences and flags.
"""

from __future__ import annotations

from enum import StrEnum


class Script(StrEnum):
    """Writing systems names are drawn from; tests check each appears in the output."""

    LATIN = "latin"
    DIACRITICS = "diacritics"
    CYRILLIC = "cyrillic"
    GREEK = "greek"
    CJK = "cjk"
    KANA = "kana"
    HANGUL = "hangul"
    ARABIC = "arabic"
    HEBREW = "hebrew"
    DEVANAGARI = "devanagari"
    THAI = "thai"
    EMOJI = "emoji"


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


VOCABULARY: dict[Script, tuple[str, ...]] = {
    Script.LATIN: _words(
        """Love Night Heart Fire Dream Light Rain Summer Blue Gold City Road Home Time Star
        Moon Sun River Wild Young Golden Electric Midnight Broken Falling Dancing Silver Ghost
        Echo Paradise Shadow Ocean Thunder Velvet Neon Crystal Secret Forever Lonely Sweet
        Highway Memory Sky Storm Angel Devil Diamond Honey Paper Glass Stone Bird Wolf Tiger
        Rose Garden Winter Spring Morning Evening Radio Machine Future Heaven Island Desert
        Mountain Kingdom Empire Rebel Hero Lover Stranger Mirror Window Shelter Harbor Signal"""
    ),
    Script.DIACRITICS: (
        "Café",
        "Niño",
        "Straße",
        "Øresund",
        "Łódź",
        "Ærø",
        "Mañana",
        "Über",
        "Crème",
        "Dvořák",
        "Güneş",
        "Şarkı",
        "Ça",
        "Façade",
        "Ångström",
        "Jalapeño",
        "São",
        "Kraków",
        "Þórr",
        "Smörgåsbord",
        "Déjà",
        "Vu",
        "Noël",
        "Fiancée",
        "Naïve",
        "Señorita",
        "Ćevapi",
        "Žižek",
        "Cafe\u0301",  # NFD: e + combining acute accent, looks like the first word
        "Ōsaka",
        "Hà Nội",
        "Tiếng",
        "Việt",
    ),
    Script.CYRILLIC: (
        "Любовь",
        "Ночь",
        "Звезда",
        "Город",
        "Мечта",
        "Песня",
        "Зима",
        "Солнце",
        "Ветер",
        "Небо",
        "Душа",
        "Сердце",
        "Дорога",
        "Весна",
        "Молодость",
        "Україна",
        "Світло",
        "Љубав",
        "Њива",
    ),
    Script.GREEK: (
        "Αγάπη",
        "Νύχτα",
        "Θάλασσα",
        "Ήλιος",
        "Καρδιά",
        "Όνειρο",
        "Φως",
        "Ψυχή",
        "Ζωή",
        "Άνεμος",
    ),
    Script.CJK: (
        "爱",
        "夜晚",
        "星星",
        "月亮",
        "梦想",
        "城市",
        "心",
        "雨",
        "青春",
        "时间",
        "故事",
        "花",
        "風",
        "𠮷野家",  # a character outside the Basic Multilingual Plane
    ),
    Script.KANA: (
        "さくら",
        "ありがとう",
        "ラブ",
        "ソング",
        "ひかり",
        "ゆめ",
        "トーキョー",
        "なみだ",
        "カラオケ",
    ),
    Script.HANGUL: ("사랑", "밤", "별", "꿈", "하늘", "노래", "마음", "봄날", "서울", "우리"),
    Script.ARABIC: ("حب", "ليل", "قمر", "حلم", "قلب", "شمس", "بحر", "يا", "حبيبي", "سلام"),
    Script.HEBREW: ("אהבה", "לילה", "ירח", "חלום", "לב", "שמש", "ים", "שלום", "שיר"),
    Script.DEVANAGARI: ("प्यार", "रात", "सपना", "दिल", "गीत", "चाँद", "बारिश", "ज़िंदगी", "मेरा"),
    Script.THAI: ("รัก", "คืน", "ฝัน", "ใจ", "ทะเล", "เพลง", "ดาว"),
    Script.EMOJI: ("🔥", "🎵", "💔", "🌙", "✨", "👑", "👨‍👩‍👧", "🇯🇵", "🏳️‍🌈", "😂", "❤️", "🎸"),
}

SCRIPT_WEIGHTS: dict[Script, int] = {
    Script.LATIN: 700,
    Script.DIACRITICS: 90,
    Script.CYRILLIC: 45,
    Script.GREEK: 15,
    Script.CJK: 30,
    Script.KANA: 25,
    Script.HANGUL: 25,
    Script.ARABIC: 20,
    Script.HEBREW: 12,
    Script.DEVANAGARI: 25,
    Script.THAI: 10,
    Script.EMOJI: 27,
}
"""Out of 1024: how often a name is in each script (Latin dominates, as in the real data)."""

_JOINER: dict[Script, str] = {Script.CJK: "", Script.KANA: "", Script.THAI: ""}
_SCRIPT_TABLE: tuple[tuple[Script, tuple[str, ...], str], ...] = tuple(
    (script, VOCABULARY[script], _JOINER.get(script, " "))
    for script, weight in SCRIPT_WEIGHTS.items()
    for _ in range(weight)
)
"""1024 entries, a script as often as its weight says: (script, words, word separator)."""
assert len(_SCRIPT_TABLE) == 1024
_WORD_COUNTS = (1, 1, 2, 2, 2, 3, 3, 4)
_WORDS_LATIN = VOCABULARY[Script.LATIN]


def name_of(hashed: int) -> tuple[str, Script]:
    """A 1-4 word name in one script, from the bits of a 64-bit hash; also the script."""
    script, words, joiner = _SCRIPT_TABLE[hashed & 1023]
    count = _WORD_COUNTS[(hashed >> 10) & 7]
    size = len(words)
    name = words[(hashed >> 13) % size]
    if count > 1:
        name += joiner + words[(hashed >> 25) % size]
        if count > 2:
            name += joiner + words[(hashed >> 37) % size]
            if count > 3:
                name += joiner + words[(hashed >> 49) % size]
    if (hashed >> 61) == 7 and script is not Script.EMOJI:
        name += " " + _WORDS_LATIN[(hashed >> 3) % len(_WORDS_LATIN)]  # mixed-script names
    return name, script


def word_in(script: Script, hashed: int) -> str:
    """One word of `script` (used to make sure every script appears)."""
    words = VOCABULARY[script]
    return words[hashed % len(words)]


VERSION_SUFFIXES = (
    "Radio Edit",
    "Remastered 2011",
    "Live",
    "Acoustic Version",
    "Extended Mix",
    "Instrumental",
    "Remix",
    "Mono",
    "Demo",
    "Single Version",
)

LABEL_SUFFIXES = ("Records", "Music", "Recordings", "Entertainment", "Sound", "Label", "")

ARTIST_ROLES_EXTRA = ("composer", "producer", "remixer", "lyricist")

_GENRE_BASES = (
    "pop", "rock", "hip hop", "rap", "jazz", "blues", "metal", "punk", "folk", "country",
    "soul", "funk", "house", "techno", "trance", "reggaeton", "r&b", "indie", "electronica",
    "ambient", "classical", "gospel", "cumbia", "drill",
)  # fmt: skip
_GENRE_MODIFIERS = (
    "", "german ", "latin ", "dark ", "deep ", "modern ", "classic ", "alternative ", "uk ",
    "brazilian ", "japanese ", "turkish ", "swedish ", "russian ", "indian ", "christian ",
    "experimental ", "progressive ", "underground ", "vintage ", "chill ", "dutch ", "french ",
    "italian ", "polish ", "korean ", "mexican ", "nigerian ", "arab ", "greek ", "finnish ",
    "australian ",
)  # fmt: skip
GENRES: tuple[str, ...] = tuple(m + b for m in _GENRE_MODIFIERS for b in _GENRE_BASES)
"""768 distinct genres, as many as the real dump has."""
assert len(set(GENRES)) == 768

MARKETS: tuple[str, ...] = _words(
    """AD AE AG AL AM AO AR AT AU AZ BA BB BD BE BF BG BH BI BJ BN BO BR BS BT BW BY BZ CA CD
    CG CH CI CL CM CO CR CV CW CY CZ DE DJ DK DM DO DZ EC EE EG ES ET FI FJ FM FR GA GB GD GE
    GH GM GN GQ GR GT GW GY HK HN HR HT HU ID IE IL IN IQ IS IT JM JO JP KE KG KH KI KM KN KR
    KW KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MG MH MK ML MN MO MR MT MU MV MW MX MY
    MZ NA NE NG NI NL NO NP NR NZ OM PA PE PG PH PK PL PR PS PT PW PY QA RO RS RW SA SB SC SE
    SG SI SK SL SM SN SR ST SV SZ TD TG TH TJ TL TN TO TR TT TV TW TZ UA UG US UY UZ VC VE VN
    VU WS XK ZA ZM ZW"""
)
"""ISO 3166-1 alpha-2 codes of the markets Spotify lists, in the order the dump lists them."""

LANGUAGES = ("en", "es", "pt", "de", "fr", "ja", "ko", "hi", "ar", "ru", "it", "sv", "zxx")

ISRC_COUNTRIES = (
    "US", "GB", "DE", "FR", "SE", "JP", "KR", "BR", "MX", "NL", "IT", "ES", "CA", "AU", "IN",
    "QM", "QZ", "TC", "NO", "FI", "RU", "PL", "TR", "ZA", "NG", "AR", "CO", "DK", "BE", "CH",
)  # fmt: skip
