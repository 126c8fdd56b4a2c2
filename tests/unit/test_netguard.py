"""The URL policy for server URLs the admin types (bridge/providers/netguard.py)."""

from __future__ import annotations

import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from bridge.providers.netguard import (
    GuardedResolver,
    NetGuard,
    SrvAnswer,
    UnsafeTarget,
    parse_networks,
)


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "224.0.0.1", "240.0.0.1", "255.255.255.255", "::1", "fe80::1", "fc00::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "ff02::1", "::"])
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not NetGuard().allowed_address(address)


@pytest.mark.parametrize("address", ["17.253.144.10", "8.8.8.8", "2a01:111:f400::1"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert NetGuard().allowed_address(address)


def test_the_operator_allow_list_opens_networks() -> None:
    guard = NetGuard(parse_networks("10.1.2.0/24, 127.0.0.1"))
    assert guard.allowed_address("10.1.2.99") and guard.allowed_address("127.0.0.1")
    assert not guard.allowed_address("10.1.3.1")
    with pytest.raises(ValueError):
        parse_networks("10.0.0.0/33")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://x/", "http:///nohost",
                                 "http://127.0.0.1:5232/", "http://[::1]/",
                                 "https://localhost/", "http://app.localhost/"])
def test_urls_refused_before_any_request(url: str) -> None:
    with pytest.raises(UnsafeTarget):
        NetGuard().check_url(url)


def test_credentials_go_to_the_entered_host_or_the_preset_pattern() -> None:
    guard = NetGuard(credential_hosts=("*.icloud.com",))
    assert guard.may_send_credentials("caldav.icloud.com", "p42-caldav.icloud.com")
    assert guard.may_send_credentials("dav.example.org", "DAV.example.org.")
    assert not guard.may_send_credentials("dav.example.org", "evil.example")
    assert not guard.may_send_credentials("caldav.icloud.com", "icloud.com.evil.example")


class Rebinding(AbstractResolver):
    """A name that answers a public address first and loopback afterwards."""

    def __init__(self) -> None:
        self.answers = ["17.253.144.10", "127.0.0.1"]

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        address = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return [{"hostname": host, "host": address, "port": port, "family": socket.AF_INET,
                 "proto": 0, "flags": 0}]

    async def close(self) -> None:
        """Nothing to close."""


async def test_every_connection_is_checked_again_dns_rebinding() -> None:
    resolver = GuardedResolver(NetGuard(), Rebinding())
    assert (await resolver.resolve("dav.example.org", 443))[0]["host"] == "17.253.144.10"
    with pytest.raises(UnsafeTarget):
        await resolver.resolve("dav.example.org", 443)


class Table:
    """A lookup from a fixed table (what the Exchange autodiscover tests inject)."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers

    def addresses(self, host: str, port: int) -> list[tuple[str, int]]:
        if host not in self.answers:
            raise OSError(f"{host} does not resolve")
        return [(a, port) for a in self.answers[host]]

    def srv(self, name: str) -> list[SrvAnswer]:
        return []


def test_the_blocking_clients_resolve_through_the_guards_lookup() -> None:
    lookup = Table({"mail.example.org": ["17.253.144.10"],
                    "mixed.example.org": ["17.253.144.10", "10.0.0.5"]})
    guard = NetGuard(lookup=lookup)
    assert guard.resolve("mail.example.org", 443) == [("17.253.144.10", 443)]
    with pytest.raises(UnsafeTarget):  # one refused answer refuses the name
        guard.resolve("mixed.example.org", 443)
    with pytest.raises(OSError):
        guard.resolve("nowhere.example.org", 443)
    assert NetGuard(parse_networks("10.0.0.0/8"), lookup=lookup).resolve(
        "mixed.example.org", 443)[1] == ("10.0.0.5", 443)
    assert guard.with_hosts(["*.example.org"]).lookup is lookup  # kept by with_hosts
    with pytest.raises(UnsafeTarget):  # literal addresses are not looked up
        guard.resolve("127.0.0.1", 80)
