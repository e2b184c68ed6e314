"""The paging parameters of listings (an artist's albums, an album's tracks on `/v1`).

Listings are numbered in the sidecar (or short), so any offset costs the same:
unlike search, there is no ceiling on `offset`. A `limit` outside 1 to 50 is an
error rather than clipped, as Spotify's Web API answers it.
"""

from __future__ import annotations

from dataclasses import dataclass

from snapshot_api.errors import InvalidParameter
from snapshot_api.search.params import integer

DEFAULT_LIMIT = 20
MAX_LIMIT = 50


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    offset: int

    @classmethod
    def of(cls, limit: object = None, offset: object = None, *, maximum: int = MAX_LIMIT) -> Page:
        """From ints or query-string text; `InvalidParameter` naming a bad one."""
        wanted = DEFAULT_LIMIT if limit is None else integer("limit", limit)
        if not 1 <= wanted <= maximum:
            raise InvalidParameter("limit", f"limit must be between 1 and {maximum}, not {wanted}")
        start = 0 if offset is None else integer("offset", offset)
        if start < 0:
            raise InvalidParameter("offset", f"offset must be 0 or more, not {start}")
        return cls(wanted, start)
