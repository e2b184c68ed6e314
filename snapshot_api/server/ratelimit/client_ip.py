"""Which client sent this request: the TCP peer, or what a trusted proxy says it saw.

The peer address of the connection is the only fact nobody can forge. A
reverse proxy (Caddy) is a peer that speaks for others: it appends the address
it saw to `X-Forwarded-For`. So when, and only when, the peer is a trusted
proxy, we walk that header from the right, skipping further trusted proxies,
and take the first address that is not one: the right-most hop nobody we trust
could have made up. Everything to its left was written by the client and is
ignored. When every hop is trusted, the left-most address is the best we know.

uvicorn's own `proxy_headers` handling must stay off (`proxy_headers=False`):
it takes the left-most address when every hop is trusted *by uvicorn's rule*,
which lets a client behind a trusted chain choose its own identity. Here one
function decides, and the rate limiter keys on its answer.

Parsing is strict and cheap: `socket.inet_pton` rather than `ipaddress`
(0.3 µs against 3 µs here, and this runs on every request). Garbage in the
header (words such as `unknown`, bad addresses, absurdly long chains) stops the
walk: nothing left of a token that no trusted proxy would write is believed.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: At most this many right-most `X-Forwarded-For` entries are looked at. A real
#: chain has a handful of hops; a longer header costs us nothing beyond this.
MAX_HOPS = 32

#: A token longer than this is not an address (the longest IPv6 text with a
#: zone and a port is well below it); checked before any parsing.
_MAX_TOKEN = 64

_V4_MAPPED_PREFIX = bytes(10) + b"\xff\xff"

#: An address as the limiter uses it: (4 or 6, the address as an integer).
Address = tuple[int, int]


def parse_address(token: str) -> Address | None:
    """One address as found in a peer tuple or an `X-Forwarded-For` entry, or None.

    Accepts `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]`,
    `[2001:db8::1]:443` and a zone suffix (`fe80::1%eth0`, dropped). An
    IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, what a dual-stack socket
    reports) is the IPv4 address it maps. Anything else is None.
    """
    token = token.strip(" \t\"'")
    try:  # the common case first: a plain IPv4 address
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, token), "big")
    except (OSError, ValueError):
        pass
    if not token or len(token) > _MAX_TOKEN:
        return None
    if token[0] == "[":
        end = token.find("]")
        rest = token[end + 1 :] if end > 0 else "?"
        if rest and not (rest[0] == ":" and rest[1:].isdigit() and len(rest) <= 6):
            return None
        token = token[1:end]
        if "." in token and ":" not in token:
            return None  # brackets are for IPv6 only
    elif token.count(":") == 1:  # IPv4 with a port
        token, _, port = token.partition(":")
        if not (port.isdigit() and len(port) <= 5):
            return None
    if ":" in token:
        token = token.partition("%")[0]
        try:
            packed = socket.inet_pton(socket.AF_INET6, token)
        except (OSError, ValueError):
            return None
        if packed[:12] == _V4_MAPPED_PREFIX:
            return 4, int.from_bytes(packed[12:], "big")
        return 6, int.from_bytes(packed, "big")
    try:
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, token), "big")
    except (OSError, ValueError):
        return None


def format_address(address: Address) -> str:
    """The canonical text of an address (`inet_ntop`): lower case, zeros compressed."""
    family, value = address
    if family == 4:
        return socket.inet_ntop(socket.AF_INET, value.to_bytes(4, "big"))
    return socket.inet_ntop(socket.AF_INET6, value.to_bytes(16, "big"))


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    """A set of networks as integer ranges per family, so membership is a few comparisons."""

    v4: tuple[tuple[int, int], ...]
    v6: tuple[tuple[int, int], ...]

    @classmethod
    def of(cls, networks: Sequence[Network]) -> TrustedProxies:
        v4: list[tuple[int, int]] = []
        v6: list[tuple[int, int]] = []
        for net in networks:
            low, high = int(net.network_address), int(net.broadcast_address)
            if net.version == 4:
                v4.append((low, high))
            else:
                v6.append((low, high))
                mapped = net.network_address.ipv4_mapped
                if mapped is not None and net.prefixlen >= 96:
                    # ::ffff:a.b.c.d/N also names IPv4 peers, which we report as IPv4.
                    v4.append((int(mapped), int(net.broadcast_address) & 0xFFFFFFFF))
        return cls(tuple(v4), tuple(v6))

    def contains(self, address: Address) -> bool:
        family, value = address
        # A plain loop: any() over a generator costs 3x as much, on every request.
        for low, high in self.v4 if family == 4 else self.v6:  # noqa: SIM110
            if low <= value <= high:
                return True
        return False


#: What a connection without a peer address (a Unix socket) counts as: a local
#: process, exactly as trustworthy as one connecting over loopback.
LOCAL_PEER: Address = (4, 0x7F000001)

#: What an unparseable peer counts as (uvicorn always gives a valid one; this
#: only keeps odd ASGI servers from crashing the limiter). Never trusted unless
#: 0.0.0.0 is configured as a proxy, and all such peers share one bucket.
UNKNOWN_PEER: Address = (4, 0)


class ClientAddressResolver:
    """Resolves the client address of an ASGI scope against one trusted-proxy list."""

    __slots__ = ("_last_peer", "max_hops", "trusted")

    def __init__(self, trusted: Sequence[Network], max_hops: int = MAX_HOPS) -> None:
        self.trusted = TrustedProxies.of(trusted)
        self.max_hops = max_hops
        # Behind a proxy every request has the same peer: remember the last one
        # (peer text, its address, whether it is trusted). One entry, so bounded.
        self._last_peer: tuple[object, Address, bool] = (None, LOCAL_PEER, False)

    def resolve(self, scope: Mapping[str, Any]) -> Address:
        """The client's address as (family, integer); see the module docstring for the rule."""
        client = scope.get("client")
        host = None if client is None else client[0]
        last_host, peer, trusted = self._last_peer
        if host != last_host or last_host is None:
            peer = LOCAL_PEER if host is None else parse_address(str(host)) or UNKNOWN_PEER
            trusted = self.trusted.contains(peer)
            self._last_peer = (host, peer, trusted)
        if not trusted:
            return peer
        return self._forwarded(scope, peer)

    def __call__(self, scope: Mapping[str, Any]) -> str:
        return format_address(self.resolve(scope))

    def _forwarded(self, scope: Mapping[str, Any], peer: Address) -> Address:
        # ASGI servers give header names in lower case.
        values = [value for name, value in scope.get("headers", ()) if name == b"x-forwarded-for"]
        if not values:
            return peer
        chain = (values[0] if len(values) == 1 else b",".join(values)).decode("latin-1")
        tokens = chain.rsplit(",", self.max_hops)
        unsplit_rest = len(tokens) > self.max_hops  # tokens[0] still holds several entries
        candidate = peer
        for index in range(len(tokens) - 1, -1, -1):
            address = None if index == 0 and unsplit_rest else parse_address(tokens[index])
            if address is None:
                if not tokens[index].strip():
                    continue  # "a, , b": empty entries carry nothing
                break  # no trusted proxy writes this: believe nothing further left
            candidate = address
            if not self.trusted.contains(address):
                return address
        return candidate


@functools.lru_cache(maxsize=16)
def _resolver(trusted: tuple[Network, ...]) -> ClientAddressResolver:
    return ClientAddressResolver(trusted)


def client_ip(scope: Mapping[str, Any], trusted: Sequence[Network]) -> str:
    """The client address of `scope` as canonical text (see the module docstring)."""
    return _resolver(tuple(trusted))(scope)
