"""Untrusted server URLs: where a login provider (CalDAV, iCloud, Exchange) may connect.

The admin types a server URL and the *server* fetches it, so the URL is untrusted input
(server-side request forgery).  :class:`NetGuard` is the one policy every login provider uses:

* Only ``http``/``https`` URLs with a host name are accepted.
* Every address a host name resolves to must be a public unicast address: loopback, link-local,
  private, shared (CGNAT), multicast, reserved and unspecified ranges are refused unless the
  operator's ``[providers] allow_networks`` (CIDR list) permits them.  The check runs in the
  resolver of the HTTP connector (:class:`GuardedResolver`), i.e. at *connect* time for every
  connection, redirects included, so a host name that changes its answer after a first check
  (DNS rebinding) is still caught; literal IP addresses are checked before the request
  (:meth:`NetGuard.check_url`), because the connector does not resolve them.
* Credentials go only to the host the user entered, or to hosts the provider's preset names
  (:meth:`NetGuard.may_send_credentials`; iCloud answers on ``pNN-caldav.icloud.com``).
* The size of an answer, the number of redirects and the time of a request are bounded by the
  client that uses the guard (:data:`MAX_REDIRECTS`, :data:`MAX_BODY_BYTES`).

Refusals raise :class:`UnsafeTarget` (``FlowError`` reason ``"unsafe_url"`` at connect time).

Name lookups of the blocking (requests-based) clients go through the guard's :class:`Lookup`
(addresses and DNS SRV records): :class:`SystemLookup` asks the system resolver and DNS
(dnspython, as exchangelib's autodiscovery does); a test gives a fixed table instead, so
example domains reach the emulators without touching ``/etc/hosts``.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from bridge.errors import BridgeError

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_REDIRECTS",
    "GuardedResolver",
    "Lookup",
    "NetGuard",
    "SrvAnswer",
    "SystemLookup",
    "UnsafeTarget",
    "guarded_connector",
    "parse_networks",
]

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Redirects followed per request, and the largest answer read (a calendar listing of 10,000
# events is about 3 MB).
MAX_REDIRECTS = 5
MAX_BODY_BYTES = 64 * 1024 * 1024


class UnsafeTarget(BridgeError):
    """A URL or address the policy refuses (``reason``: ``"scheme"``, ``"address"``,
    ``"host"``: credentials not sent to another host, ``"size"``: an oversized answer)."""

    def __init__(self, message: str, reason: str = "address") -> None:
        self.reason = reason
        super().__init__(message)

    @property
    def flow_reason(self) -> str:
        """The reason the admin page explains for a login test refused this way."""
        return {"size": "too_large", "host": "redirect"}.get(self.reason, "unsafe_url")


def parse_networks(text: str | Iterable[str]) -> tuple[IPNetwork, ...]:
    """``"10.0.0.0/8, 127.0.0.1"`` → networks (``ValueError`` for a malformed entry)."""
    parts = text.replace(";", ",").split(",") if isinstance(text, str) else list(text)
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in parts if p.strip())


def _public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return _public(ip.ipv4_mapped)
    return not (ip.is_loopback or ip.is_link_local or ip.is_private or ip.is_multicast
                or ip.is_reserved or ip.is_unspecified or not ip.is_global)


@dataclass(frozen=True)
class SrvAnswer:
    """One DNS SRV record: priority, weight, port and target host (no trailing dot)."""

    priority: int
    weight: int
    port: int
    target: str


class Lookup(Protocol):
    """Name lookups of the blocking clients (see the module doc)."""

    def addresses(self, host: str, port: int) -> list[tuple[str, int]]:
        """Where a connection to ``host:port`` goes: (IP address, port) pairs; ``OSError``
        when the name does not resolve."""

    def srv(self, name: str) -> list[SrvAnswer]:
        """The SRV records of ``name`` (``_autodiscover._tcp.example.com``); empty if none."""


class SystemLookup:
    """The system resolver for addresses, DNS (dnspython) for SRV records."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout

    def addresses(self, host: str, port: int) -> list[tuple[str, int]]:
        """``getaddrinfo``'s answers."""
        return [(str(info[4][0]), port)
                for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]

    def srv(self, name: str) -> list[SrvAnswer]:
        """dnspython's SRV answers (none on any DNS failure)."""
        import dns.exception
        import dns.resolver

        try:
            answers = dns.resolver.resolve(name.rstrip(".") + ".", "SRV",
                                           lifetime=self.timeout)
        except dns.exception.DNSException:
            return []
        return [SrvAnswer(int(a.priority), int(a.weight), int(a.port),
                          str(a.target).rstrip(".")) for a in answers]


@dataclass(frozen=True)
class NetGuard:
    """The policy: operator-allowed networks and host patterns that may receive credentials
    besides the entered host (``credential_hosts``: shell patterns, e.g. ``*.icloud.com``),
    and the :class:`Lookup` the blocking clients resolve names with."""

    allow_networks: tuple[IPNetwork, ...] = ()
    credential_hosts: tuple[str, ...] = field(default=())
    lookup: Lookup = field(default_factory=SystemLookup, compare=False, repr=False)

    def with_hosts(self, patterns: Sequence[str]) -> NetGuard:
        """The same policy with more credential host patterns."""
        return NetGuard(self.allow_networks, (*self.credential_hosts, *patterns), self.lookup)

    def resolve(self, host: str, port: int) -> list[tuple[str, int]]:
        """Where ``host:port`` may be connected to: the lookup's answers, each one allowed
        (:class:`UnsafeTarget` when any is refused, ``OSError`` when there is none)."""
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            answers = self.lookup.addresses(host, port)
        else:
            answers = [(host, port)]
        if not answers:
            raise OSError(f"{host} has no address")
        for address, _port in answers:
            self.check_address(host, address)
        return answers

    def allowed_address(self, address: str) -> bool:
        """Whether a connection to ``address`` (an IP literal) is allowed."""
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if any(ip in net for net in self.allow_networks):
            return True
        return _public(ip)

    def check_address(self, host: str, address: str) -> None:
        """Raise :class:`UnsafeTarget` unless ``address`` (what ``host`` resolved to) is
        allowed."""
        if not self.allowed_address(address):
            raise UnsafeTarget(f"{host} resolves to {address}, a network that is not allowed "
                               "([providers] allow_networks)")

    def check_url(self, url: str) -> str:
        """The URL's host (lower case) when its scheme and any literal address are allowed."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UnsafeTarget(f"not an http(s) URL: {url[:200]!r}", reason="scheme")
        host = parts.hostname.lower().rstrip(".")
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            if host == "localhost" or host.endswith(".localhost"):
                self.check_address(host, "127.0.0.1")
            return host
        self.check_address(host, host)
        return host

    def may_send_credentials(self, entered_host: str, host: str) -> bool:
        """Whether credentials entered for ``entered_host`` may go to ``host``."""
        host = host.lower().rstrip(".")
        if host == entered_host.lower().rstrip("."):
            return True
        return any(fnmatch.fnmatchcase(host, p.lower()) for p in self.credential_hosts)


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver with :class:`NetGuard` applied to every answer (at connect time)."""

    def __init__(self, guard: NetGuard, inner: AbstractResolver | None = None) -> None:
        self.guard = guard
        self.inner = inner or aiohttp.ThreadedResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        """The inner resolver's answers; :class:`UnsafeTarget` when any is refused."""
        answers = await self.inner.resolve(host, port, family)
        for answer in answers:
            self.guard.check_address(host, str(answer["host"]))
        return answers

    async def close(self) -> None:
        """Close the inner resolver."""
        await self.inner.close()


def guarded_connector(guard: NetGuard, **kwargs: Any) -> aiohttp.TCPConnector:
    """A connector that resolves through :class:`GuardedResolver` (no DNS cache, so every
    connection is checked again)."""
    return aiohttp.TCPConnector(resolver=GuardedResolver(guard), use_dns_cache=False, **kwargs)

