"""Deterministic values derived from (seed, purpose, number) by hashing, not stored.

Why hashing instead of a random stream: the generator never holds all rows in
memory, yet a row sometimes needs a value of another row (a track re-using an
earlier track's ISRC and title, an `alternatives` list naming another track,
a title naming its featured artist). When such a value is a pure function of
a rowid, any row can be named at any time for free, and memory stays flat.

Spotify ids are a *bijection* of the rowid, so they are unique per table by
construction: rowid → 64-bit `x` by an invertible multiply-add and xor-shift,
then each 16-bit word of `x` becomes three base62 characters through a table
of 65,536 distinct triples (injective), interleaved with filler triples from
another hash of `x`. Plain Python integer work: about a microsecond an id.
"""

from __future__ import annotations

import hashlib

MASK64 = (1 << 64) - 1
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ID_LENGTH = 22
_GOLDEN = 0x9E3779B97F4A7C15
_MIX = 0xBF58476D1CE4E5B9


def _triple(value: int) -> str:
    return BASE62[value // 3844] + BASE62[value // 62 % 62] + BASE62[value % 62]


_TRIPLES: tuple[str, ...] = tuple(
    _triple((word * 100_003 + 12_345) % 238_328) for word in range(65_536)
)
"""Distinct base62 triples for every 16-bit word, scattered over the 238,328 possible
(100,003 is coprime with 62**3, so the map is injective)."""


def stream_key(seed: int, purpose: str) -> int:
    """A 64-bit key for one purpose under one seed (stable across runs and platforms)."""
    digest = hashlib.blake2b(f"{seed}\0{purpose}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class IdMaker:
    """Spotify ids for the rowids of one table: unique, deterministic, random-looking."""

    __slots__ = ("_key",)

    def __init__(self, seed: int, table: str) -> None:
        self._key = stream_key(seed, "id:" + table)

    def __call__(self, rowid: int) -> str:
        x = (rowid * _GOLDEN + self._key) & MASK64
        x ^= x >> 32  # both steps are invertible: x is a bijection of the rowid
        y = ((x ^ (x >> 29)) * _MIX) & MASK64
        t = _TRIPLES
        return (
            t[x >> 48]
            + t[y >> 48]
            + t[(x >> 32) & 0xFFFF]
            + t[(y >> 32) & 0xFFFF]
            + t[(x >> 16) & 0xFFFF]
            + t[(y >> 16) & 0xFFFF]
            + t[x & 0xFFFF]
            + t[y & 0xFFFF][0]
        )

    def many(self, first: int, count: int) -> list[str]:
        """Ids of the rowids `first` .. `first + count - 1`."""
        return [self(rowid) for rowid in range(first, first + count)]


class Hasher:
    """Cheap 64-bit hashes of integers under one key (not cryptographic; well spread)."""

    __slots__ = ("_key",)

    def __init__(self, seed: int, purpose: str) -> None:
        self._key = stream_key(seed, purpose)

    def __call__(self, number: int) -> int:
        x = (number * _GOLDEN + self._key) & MASK64
        x ^= x >> 31
        x = (x * _MIX) & MASK64
        return x ^ (x >> 29)
