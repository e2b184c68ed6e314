"""Words, names, genres and market codes for synthetic rows.

Names are made from per-script vocabularies chosen by the bits of a 64-bit
hash, so a name is a pure function of a number (a re-released recording keeps
its title) and costs a few integer operations, not a random stream.

Search is only measured honestly on a realistic vocabulary: each script has a
head of real words followed by generated ones (syllables of that script) up to
`VOCABULARY_SIZES` (about 60,000 distinct words in all), drawn with a Zipf
law (rank r with probability about 1/r), so a few words ("Love") are in
millions of names and most in a handful, as in real titles. The vocabularies
and the rank tables are built once per process, on first use (under a second).
The scripts are the ones that break naive code: combining marks (NFD),
diacritics, Cyrillic, Greek, CJK, kana, Hangul, Arabic and Hebrew (RTL),
Devanagari, Thai, and emoji including ZWJ sequences and flags.
"""

from __future__ import annotations

import functools
import math
from array import array
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

VOCABULARY_SIZES: dict[Script, int] = {
    Script.LATIN: 40_000,
    Script.DIACRITICS: 4_000,
    Script.CYRILLIC: 5_000,
    Script.GREEK: 1_500,
    Script.CJK: 4_000,
    Script.KANA: 3_000,
    Script.HANGUL: 2_000,
    Script.ARABIC: 2_000,
    Script.HEBREW: 1_500,
    Script.DEVANAGARI: 2_000,
    Script.THAI: 1_500,
    Script.EMOJI: 12,
}
"""Distinct words per script: the real head (`VOCABULARY`) then generated words."""

_SYLLABLES: dict[Script, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    # (onsets, nuclei, codas); a generated word is 1-3 syllables
    Script.LATIN: (
        ("", "b", "br", "c", "ch", "d", "dr", "f", "fl", "g", "gr", "h", "j", "k", "l", "m",
         "n", "p", "pr", "r", "s", "sh", "st", "t", "tr", "v", "w", "z"),
        ("a", "e", "i", "o", "u", "ai", "ea", "ou", "y", "ee"),
        ("", "", "n", "r", "s", "l", "m", "t", "nd", "ck"),
    ),
    Script.DIACRITICS: (
        ("", "b", "c", "d", "f", "g", "l", "m", "n", "p", "r", "s", "t", "v", "ž", "ł", "ç"),
        ("á", "é", "í", "ó", "ú", "ñe", "ø", "å", "ü", "ä", "ö", "ê", "ã", "a", "e"),
        ("", "n", "r", "s", "ł", "ß"),
    ),
    Script.CYRILLIC: (
        ("", "б", "в", "г", "д", "ж", "з", "к", "л", "м", "н", "п", "р", "с", "т", "ш"),
        ("а", "е", "и", "о", "у", "я", "ю", "ы", "ё"),
        ("", "", "н", "р", "й", "ль", "ст"),
    ),
    Script.GREEK: (
        ("", "β", "γ", "δ", "θ", "κ", "λ", "μ", "ν", "π", "ρ", "σ", "τ", "φ", "χ"),
        ("α", "ε", "ι", "ο", "υ", "ω", "ά", "έ", "ή"),
        ("", "", "ς", "ν", "ρ"),
    ),
    Script.CJK: (
        tuple("爱夜星月梦城心雨青春时间故事花風光海山天地人生歌情世界美日水火你我他的不了在是"),
        ("",),
        ("",),
    ),
    Script.KANA: (
        tuple("かきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわ"),
        tuple("あいうえおんー") + ("",) * 4,
        tuple("カキクケコサシスセソタチツテトラリルレロ") + ("",) * 20,
    ),
    Script.HANGUL: (
        tuple("사랑밤별꿈하늘노래마음봄날서울우리나너그대시간바다"),
        ("",),
        ("",),
    ),
    Script.ARABIC: (
        tuple("بتثجحخدذرزسشصضطعغفقكلمنهوي"),
        ("ا", "و", "ي", ""),
        ("", "ة", "ن", "ك"),
    ),
    Script.HEBREW: (
        tuple("אבגדהוזחטיכלמנסעפצקרשת"),
        ("", "ו", "י"),
        ("", "ם", "ן", "ה"),
    ),
    Script.DEVANAGARI: (
        tuple("कखगघचजझटडतथदधनपफबभमयरलवशसह"),
        ("", "ा", "ि", "ी", "ु", "ू", "े", "ो"),
        ("", "", "न", "र", "ं"),
    ),
    Script.THAI: (
        tuple("กขคงจฉชซดตถทนบปผพฟมยรลวสหอ"),
        ("", "า", "ิ", "ี", "ั", "ุ", "เ", "แ", "โ"),
        ("", "ก", "ง", "น", "ม", "ย"),
    ),
}  # fmt: skip

_JOINER: dict[Script, str] = {Script.CJK: "", Script.KANA: "", Script.THAI: ""}
_SCRIPT_OF: tuple[Script, ...] = tuple(
    script for script, weight in SCRIPT_WEIGHTS.items() for _ in range(weight)
)
"""1024 entries, a script as often as its weight says."""
assert len(_SCRIPT_OF) == 1024
_WORD_COUNTS = (1, 1, 2, 2, 2, 3, 3, 4)
ZIPF_BITS = 16


def _mix(number: int) -> int:
    """A fixed 64-bit scramble (splitmix64's finaliser): the same words in every process."""
    number = (number + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    number = ((number ^ (number >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    number = ((number ^ (number >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return number ^ (number >> 31)


def _generated(script: Script, head: tuple[str, ...], size: int) -> tuple[str, ...]:
    """`head`, then distinct words of 1-3 syllables of the script until `size` words."""
    syllables = _SYLLABLES.get(script)
    words = list(dict.fromkeys(head))
    if syllables is None:
        return tuple(words)
    onsets, nuclei, codas = syllables
    seen = set(words)
    number = 0
    base = list(Script).index(script) * 1_000_003
    while len(words) < size and number < size * 4:
        bits = _mix(base + number)
        number += 1
        count = 1 + (bits & 3) % 3 if script is not Script.CJK else 1 + (bits & 1)
        word = ""
        for index in range(count):
            part = bits >> (8 + 16 * index)
            word += onsets[part % len(onsets)]
            word += nuclei[(part >> 5) % len(nuclei)]
            word += codas[(part >> 9) % len(codas)]
        if script in (Script.LATIN, Script.DIACRITICS) and word:
            word = word[0].upper() + word[1:]
        if len(word) < 2 or word in seen:
            continue
        if script is Script.DIACRITICS and word.isascii():
            continue
        seen.add(word)
        words.append(word)
    return tuple(words)


def _zipf_table(size: int) -> array[int]:
    """Rank (0-based) for each of 2^16 hash values: P(rank r) ~ 1/(r+1) over `size` words.

    The slots of rank r are those whose position u in [0, 1) has
    floor((size+1)^u) - 1 == r, i.e. from ln(r+1)/ln(size+1) to ln(r+2)/ln(size+1).
    """
    slots = 1 << ZIPF_BITS
    log_size = math.log(size + 1)
    table = array("I")
    start = 0
    for rank in range(size):
        end = slots if rank == size - 1 else round(math.log(rank + 2) / log_size * slots)
        if end > start:
            table.extend([rank] * (end - start))
            start = end
    return table


@functools.cache
def _tables() -> tuple[
    tuple[tuple[Script, tuple[str, ...], array[int], str], ...], tuple[str, ...]
]:
    """Per script: (script, words, Zipf rank table, joiner); and the Latin words."""
    per_script: dict[Script, tuple[Script, tuple[str, ...], array[int], str]] = {}
    for script in Script:
        words = _generated(script, VOCABULARY[script], VOCABULARY_SIZES[script])
        per_script[script] = (script, words, _zipf_table(len(words)), _JOINER.get(script, " "))
    return tuple(per_script[script] for script in _SCRIPT_OF), per_script[Script.LATIN][1]


def vocabulary(script: Script) -> tuple[str, ...]:
    """Every word `name_of` can use in `script`, most frequent first."""
    for entry in _tables()[0]:
        if entry[0] is script:
            return entry[1]
    raise KeyError(script)


_MASK = (1 << ZIPF_BITS) - 1


def name_of(hashed: int) -> tuple[str, Script]:
    """A 1-4 word name in one script, from the bits of a 64-bit hash; also the script."""
    table, latin = _tables()
    script, words, ranks, joiner = table[hashed & 1023]
    count = _WORD_COUNTS[(hashed >> 10) & 7]
    name = words[ranks[(hashed >> 13) & _MASK]]
    if count > 1:
        name += joiner + words[ranks[(hashed >> 29) & _MASK]]
        if count > 2:
            name += joiner + words[ranks[(hashed >> 45) & _MASK]]
            if count > 3:
                name += joiner + words[ranks[((hashed >> 3) ^ (hashed >> 37)) & _MASK]]
    if (hashed >> 61) == 7 and script is not Script.EMOJI:
        name += " " + latin[(hashed >> 3) % 512]  # mixed-script names, common Latin words
    return name, script


COMMON_TITLES = (
    "Intro", "Outro", "Interlude", "Untitled", "Skit", "Home", "Love", "Forever", "Hello",
    "Stay", "Tonight", "Closer", "Alone", "Dreams", "Prelude", "Reprise", "Silent Night",
    "Jingle Bells", "Amazing Grace", "Hallelujah",
)  # fmt: skip
"""Titles that thousands of artists share ("Intro" above all): a title search must still
find a given artist's one when the artist's words are given too."""


def title_of(hashed: int) -> tuple[str, Script]:
    """A recording's title: mostly `name_of`, about 1% a common title (`COMMON_TITLES`)."""
    roll = (hashed >> 52) % 1000
    if roll < 10:
        # Zipf over the common titles too: "Intro" the most shared
        return COMMON_TITLES[min(roll * roll // 5, len(COMMON_TITLES) - 1)], Script.LATIN
    return name_of(hashed)


def word_in(script: Script, hashed: int) -> str:
    """One word of `script` (used to make sure every script appears)."""
    words = VOCABULARY[script]
    return words[hashed % len(words)]


VERSION_SUFFIXES = (
    "Radio Edit",
    "Remastered 2011",
    "Remastered 2009",
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
