"""The client's address behind trusted reverse proxies (``[http] trusted_proxies``)."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.providers.netguard import parse_networks
from bridge.web.forwarded import client_address

PROXIES = parse_networks("10.0.0.0/8, 127.0.0.1, fd00::/8")


@pytest.mark.parametrize(("peer", "header", "client"), [
    ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),     # not from a proxy: header ignored
    ("10.0.0.2", [], "10.0.0.2"),                         # a proxy without the header
    ("10.0.0.2", ["198.51.100.1"], "198.51.100.1"),
    ("10.0.0.2", ["1.2.3.4, 198.51.100.1"], "198.51.100.1"),  # a prepended entry is not trusted
    ("10.0.0.2", ["198.51.100.1, 10.1.1.1"], "198.51.100.1"),  # two proxies in a chain
    ("10.0.0.2", ["1.2.3.4", "198.51.100.1"], "198.51.100.1"),  # the header given twice
    ("10.0.0.2", ["198.51.100.1, garbage"], "10.0.0.2"),  # an unreadable hop ends the walk
    ("10.0.0.2", ["198.51.100.1:443"], "10.0.0.2"),
    ("127.0.0.1", ["2001:db8::7"], "2001:db8::7"),
    ("::ffff:10.0.0.2", ["[2001:db8::7]"], "2001:db8::7"),  # v4-mapped proxy, bracketed v6
    ("fd00::1", ["198.51.100.1"], "198.51.100.1"),
])
def test_client_address(peer: str, header: list[str], client: str) -> None:
    assert client_address(peer, header, PROXIES) == client


@given(st.lists(st.ip_addresses(), min_size=1, max_size=6), st.ip_addresses())
def test_never_past_the_first_untrusted_hop(chain: list[Any], peer: Any) -> None:
    """Whatever a client prepends, the answer is the peer or an address from the header that
    only trusted hops stand between; never an entry left of an untrusted one."""
    header = [", ".join(str(a) for a in chain)]
    answer = ipaddress.ip_address(client_address(str(peer), header, PROXIES))
    hops = [peer, *reversed(chain)]
    index = hops.index(answer) if answer in hops else -1
    assert index >= 0
    for hop in hops[:index]:
        mapped = hop.ipv4_mapped if isinstance(hop, ipaddress.IPv6Address) else None
        hop = mapped or hop
        assert any(hop.version == n.version and hop in n for n in PROXIES)
