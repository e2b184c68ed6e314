"""Client address resolution: TCP peer, trusted proxies, X-Forwarded-For from the right."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from snapshot_api.server.ratelimit.client_ip import (
    ClientAddressResolver,
    client_ip,
    format_address,
    parse_address,
)

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
PROXIES = (*LOOPBACK, ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8"))


def scope(peer: str | None, *forwarded: str) -> dict[str, Any]:
    headers = [(b"host", b"example.org")]
    headers += [(b"x-forwarded-for", value.encode("latin-1")) for value in forwarded]
    return {
        "type": "http",
        "path": "/",
        "client": None if peer is None else (peer, 40000),
        "headers": headers,
    }


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7 ", "203.0.113.7"),
        ("203.0.113.7:8443", "203.0.113.7"),
        ("2001:DB8::1", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("::ffff:198.51.100.4", "198.51.100.4"),
        ('"203.0.113.7"', "203.0.113.7"),
    ],
)
def test_parse_address_accepts_what_proxies_write(token: str, expected: str) -> None:
    address = parse_address(token)
    assert address is not None
    assert format_address(address) == expected


@pytest.mark.parametrize(
    "token",
    [
        "",
        "unknown",
        "_hidden",
        "203.0.113",
        "203.0.113.256",
        "010.0.0.1",
        "0x7f.0.0.1",
        "203.0.113.7:",
        "203.0.113.7:port",
        "203.0.113.7:1234567",
        "[203.0.113.7]",
        "[2001:db8::1",
        "[2001:db8::1]x",
        "[2001:db8::1]:",
        "2001:db8::g",
        "1.2.3.4\x00",
        "é.1.1.1",
        "1" * 100,
    ],
)
def test_parse_address_rejects_garbage(token: str) -> None:
    assert parse_address(token) is None


def test_untrusted_peer_is_the_client_whatever_it_forwards() -> None:
    # A forged header from an untrusted peer changes nothing.
    assert client_ip(scope("198.51.100.9", "203.0.113.1"), LOOPBACK) == "198.51.100.9"
    assert client_ip(scope("198.51.100.9", "127.0.0.1"), LOOPBACK) == "198.51.100.9"


def test_trusted_peer_without_header_is_the_client() -> None:
    assert client_ip(scope("127.0.0.1"), LOOPBACK) == "127.0.0.1"


def test_trusted_peer_gives_the_right_most_untrusted_address() -> None:
    # The client forged "1.1.1.1"; Caddy on loopback appended the address it saw.
    assert client_ip(scope("127.0.0.1", "1.1.1.1, 203.0.113.5"), LOOPBACK) == "203.0.113.5"


def test_chain_of_trusted_proxies_is_walked_from_the_right() -> None:
    value = "1.1.1.1, 203.0.113.5, 10.1.2.3, 10.9.9.9"
    assert client_ip(scope("127.0.0.1", value), PROXIES) == "203.0.113.5"
    # The same chain with only loopback trusted stops at the first hop we do not trust.
    assert client_ip(scope("127.0.0.1", value), LOOPBACK) == "10.9.9.9"


def test_every_hop_trusted_gives_the_left_most() -> None:
    assert client_ip(scope("127.0.0.1", "10.0.0.1, 10.0.0.2, 127.0.0.2"), PROXIES) == "10.0.0.1"


def test_several_headers_are_one_list_in_order() -> None:
    resolved = client_ip(scope("127.0.0.1", "1.1.1.1, 203.0.113.5", "10.0.0.2"), PROXIES)
    assert resolved == "203.0.113.5"
    resolved = client_ip(scope("127.0.0.1", "10.0.0.2", "198.51.100.1"), PROXIES)
    assert resolved == "198.51.100.1"


def test_ports_brackets_and_empty_entries() -> None:
    resolved = client_ip(scope("127.0.0.1", "[2001:db8::5]:5555, , 10.0.0.1:80,"), PROXIES)
    assert resolved == "2001:db8::5"


def test_garbage_stops_the_walk_at_the_last_believed_hop() -> None:
    # No trusted proxy writes "unknown": nothing left of it is believed, and the
    # proxy that passed it on is the best-known client.
    assert client_ip(scope("127.0.0.1", "203.0.113.5, unknown, 10.0.0.7"), PROXIES) == "10.0.0.7"
    assert client_ip(scope("127.0.0.1", "203.0.113.5, unknown"), PROXIES) == "127.0.0.1"
    assert client_ip(scope("127.0.0.1", "garbage"), LOOPBACK) == "127.0.0.1"


def test_very_long_chains_are_cut() -> None:
    resolver = ClientAddressResolver(PROXIES, max_hops=8)
    # Only trusted hops within reach: the left-most reachable one is the answer.
    value = ", ".join(["203.0.113.5"] + ["10.0.0.1"] * 100)
    assert resolver(scope("127.0.0.1", value)) == "10.0.0.1"
    value = ", ".join(["1.1.1.1"] * 10_000 + ["203.0.113.5"])
    assert resolver(scope("127.0.0.1", value)) == "203.0.113.5"


def test_ipv4_mapped_and_ipv6_peers() -> None:
    assert client_ip(scope("::ffff:127.0.0.1", "203.0.113.5"), LOOPBACK) == "203.0.113.5"
    assert client_ip(scope("::ffff:198.51.100.2", "203.0.113.5"), LOOPBACK) == "198.51.100.2"
    assert client_ip(scope("::1", "2001:db8::7"), LOOPBACK) == "2001:db8::7"
    assert client_ip(scope("2001:db8::9", "203.0.113.5"), LOOPBACK) == "2001:db8::9"


def test_ipv4_mapped_trusted_network_covers_ipv4_peers() -> None:
    trusted = (ipaddress.ip_network("::ffff:192.0.2.0/120"),)
    assert client_ip(scope("192.0.2.10", "203.0.113.5"), trusted) == "203.0.113.5"


def test_no_trusted_proxies_means_the_peer_always() -> None:
    assert client_ip(scope("127.0.0.1", "203.0.113.5"), ()) == "127.0.0.1"


def test_unix_socket_peer_counts_as_loopback() -> None:
    assert client_ip(scope(None, "203.0.113.5"), LOOPBACK) == "203.0.113.5"
    assert client_ip(scope(None, "203.0.113.5"), ()) == "127.0.0.1"


HEADER_TEXT = st.text(
    alphabet=st.sampled_from(list('0123456789abcdefABCDEF.:,[]% \t"unknow\x00é')), max_size=200
)


@given(peer=st.sampled_from(["127.0.0.1", "198.51.100.1", "::1"]), values=st.lists(HEADER_TEXT))
def test_any_header_gives_an_address_from_the_peer_or_the_header(
    peer: str, values: list[str]
) -> None:
    resolved = client_ip(scope(peer, *values), PROXIES)
    candidates = {peer}
    for value in values:
        for token in value.split(","):
            address = parse_address(token)
            if address is not None:
                candidates.add(format_address(address))
    assert resolved in candidates
    if peer == "198.51.100.1":
        assert resolved == peer
