"""`POST /batch/lookup`: validate the body, look every kind up at once, splice the answer.

Rules (CONTRACT §3), and how they are kept:
- The body must be an object whose keys are among the five kinds and whose
  values are lists of strings; anything else is a 400 for the whole request,
  naming the first offending key or item, before any lookup runs.
- Items are the strings exactly as sent. Duplicates are dropped first (order of
  first appearance kept), so they are answered once and counted once for the
  item limit; the limit and the empty check apply to distinct items.
- Every distinct item lands in exactly one place: its kind's section when
  found, `not_found` when well-formed but unknown (an ISRC or barcode with no
  documents included), `invalid` when malformed. `invalid_reasons` says why each
  malformed item was refused ({item: reason}, per kind): a section beside
  `invalid` rather than objects inside it, so clients reading `invalid` as a
  list of strings keep working. All eight sections are always present (empty
  objects and lists included), so clients need no key checks.
- One `Snapshot.lookup_json` call per kind present: a fixed number of SQL
  statements whatever the number of items. The library's JSON text is spliced
  in with `orjson.Fragment`, never parsed and re-encoded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from snapshot_api.identifiers import Kind, parse_many
from snapshot_api.server.errors import ApiError, ErrorCode
from snapshot_api.snapshot import Snapshot

KINDS_BY_KEY: dict[str, Kind] = {kind.batch_key: kind for kind in Kind}
BATCH_KEYS = tuple(KINDS_BY_KEY)
MULTI_DOCUMENT_KINDS = frozenset({Kind.ISRC, Kind.UPC})
"""Kinds answered with an array of documents, where `[]` means not found."""
_EMPTY_ARRAY = b"[]"


def _invalid_body(message: str, **details: object) -> ApiError:
    return ApiError(ErrorCode.INVALID_BODY, message, **details)


def parse_request(body: bytes, max_items: int) -> dict[Kind, list[str]]:
    """The distinct items per kind, in order of first appearance; `ApiError` (400) otherwise."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(ErrorCode.INVALID_JSON, f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise _invalid_body(
            'the body must be a JSON object such as {"isrcs": ["USRC17607839"]}, '
            f"not {_json_type(data)}"
        )
    unknown = [key for key in data if key not in KINDS_BY_KEY]
    if unknown:
        raise _invalid_body(
            f"unknown keys {', '.join(repr(k[:64]) for k in unknown[:10])}; "
            f"the keys are {', '.join(BATCH_KEYS)}",
            unknown_keys=unknown[:10],
        )
    wanted: dict[Kind, list[str]] = {}
    total = 0
    for key, values in data.items():
        if not isinstance(values, list):
            raise _invalid_body(f"{key!r} must be a list of strings, not {_json_type(values)}")
        for index, value in enumerate(values):
            if not isinstance(value, str):
                raise _invalid_body(
                    f"{key}[{index}] must be a string, not {_json_type(value)}",
                    key=key,
                    index=index,
                )
        distinct = list(dict.fromkeys(values))
        total += len(distinct)
        wanted[KINDS_BY_KEY[key]] = distinct
    if total == 0:
        raise ApiError(ErrorCode.EMPTY_BATCH, "the batch has no items; send at least one")
    if total > max_items:
        raise ApiError(
            ErrorCode.BATCH_TOO_LARGE,
            f"the batch has {total} distinct items; at most {max_items} are allowed per request",
            items=total,
            limit=max_items,
        )
    return wanted


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


@dataclass(slots=True)
class Tally:
    """How many items of one kind were hits, misses and invalid (for metrics)."""

    hit: int = 0
    miss: int = 0
    invalid: int = 0


@dataclass(slots=True)
class BatchAnswer:
    body: bytes
    items: int
    tallies: dict[Kind, Tally] = field(default_factory=dict)


def answer(snapshot: Snapshot, wanted: dict[Kind, list[str]]) -> BatchAnswer:
    """Look every kind up with one library call each and build the response body."""
    found: dict[str, dict[str, orjson.Fragment]] = {kind.batch_key: {} for kind in Kind}
    not_found: dict[str, list[str]] = {kind.batch_key: [] for kind in Kind}
    invalid: dict[str, list[str]] = {kind.batch_key: [] for kind in Kind}
    reasons: dict[str, dict[str, str]] = {kind.batch_key: {} for kind in Kind}
    tallies: dict[Kind, Tally] = {}
    items = 0
    for kind, values in wanted.items():
        items += len(values)
        accepted, rejected = parse_many(kind, values, allow_url=True)
        tally = tallies[kind] = Tally(invalid=len(rejected))
        invalid[kind.batch_key] = [str(rejection.value) for rejection in rejected]
        reasons[kind.batch_key] = {str(r.value): r.reason for r in rejected}
        if not accepted:
            continue
        texts = snapshot.lookup_json(kind, list(dict.fromkeys(accepted.values())))
        section = found[kind.batch_key]
        missing = not_found[kind.batch_key]
        multi = kind in MULTI_DOCUMENT_KINDS
        for value, key in accepted.items():
            text = texts.get(key)
            if text is None or (multi and text == _EMPTY_ARRAY):
                missing.append(value)
            else:
                section[value] = orjson.Fragment(text)
        tally.hit = len(section)
        tally.miss = len(missing)
    body = orjson.dumps(
        {**found, "not_found": not_found, "invalid": invalid, "invalid_reasons": reasons}
    )
    return BatchAnswer(body, items, tallies)
