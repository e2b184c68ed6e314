"""This server's own absolute URLs, for `href`, `next` and `previous`.

A Spotify object links to itself (`href`) and a paging object to its
neighbours, as absolute URLs a client follows as they are (spotipy's `next()`
does). They must name this server as the client reached it: the `Host`
header, or, when and only when the TCP peer is a trusted proxy (the same
`--trusted-proxy` list as the rate limiter's), the first `X-Forwarded-Proto`
and `X-Forwarded-Host` the proxy sets. A value that is not a plausible scheme
or host is ignored, so a header can never inject text into a link.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from snapshot_api.server.ratelimit.client_ip import (
    LOCAL_PEER,
    Network,
    TrustedProxies,
    parse_address,
)

API_PREFIX = "/v1"
_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?"
)


def _header(scope: Mapping[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _first(value: str | None) -> str | None:
    return None if value is None else value.split(",", 1)[0].strip()


class Links:
    """Resolves the base URL of a request (`http://host:port/v1`)."""

    def __init__(self, trusted: Sequence[Network]) -> None:
        self.trusted = TrustedProxies.of(trusted)

    def _from_proxy(self, scope: Mapping[str, Any]) -> bool:
        client = scope.get("client")
        peer = LOCAL_PEER if client is None else parse_address(str(client[0]))
        return peer is not None and self.trusted.contains(peer)

    def base(self, scope: Mapping[str, Any]) -> str:
        scheme = str(scope.get("scheme", "http"))
        host = _header(scope, b"host")
        if self._from_proxy(scope):
            proto = _first(_header(scope, b"x-forwarded-proto"))
            if proto in ("http", "https"):
                scheme = proto
            forwarded = _first(_header(scope, b"x-forwarded-host"))
            if forwarded and _HOST.fullmatch(forwarded):
                host = forwarded
        if not host or not _HOST.fullmatch(host):
            server = scope.get("server") or ("127.0.0.1", 80)
            host = f"{server[0]}:{server[1]}"
        return f"{scheme}://{host}{API_PREFIX}"


def page_links(
    url: str,
    *,
    offset: int,
    limit: int,
    total: int,
    query: Mapping[str, str] | None = None,
    last_offset: int | None = None,
) -> dict[str, Any]:
    """`href`, `next` and `previous` of a page of `url`: `offset` and `limit` (and `query`)
    in the query string, `next` None on the last page (or past `last_offset`), `previous`
    None on the first."""

    def link(at: int) -> str:
        return url + "?" + urlencode({**(query or {}), "offset": at, "limit": limit})

    following = offset + limit
    more = following < total and (last_offset is None or following <= last_offset)
    return {
        "href": link(offset),
        "next": link(following) if more else None,
        "previous": link(max(0, offset - limit)) if offset > 0 else None,
    }
