"""The client's address behind trusted reverse proxies (``[http] trusted_proxies``).

A sidecar behind nginx, Caddy or a load balancer sees every request coming from the proxy, so
the login lockout per address and the rate limits of feeds and the booking page would lump all
clients together.  When the peer is one of the operator's trusted proxies, the client is read
from ``X-Forwarded-For``: walking it from the right (the entry the nearest proxy appended), every
trusted hop is skipped and the first untrusted address is the client.  A client can prepend
anything it likes to the header, which is why the walk never goes past the first address that
is not a trusted proxy; with no trusted proxies configured the header is ignored entirely.

:func:`forwarded_middleware` hands the handlers a request whose ``remote`` is that address, so
every ``request.remote`` in the feature modules is the client's (and the access log names it).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bridge.providers.netguard import IPNetwork

__all__ = ["CLIENT", "client_address", "forwarded_middleware"]

# Set on the original request too, for the access log (aiohttp logs the request it received).
CLIENT = web.RequestKey("client", str)


def _trusted(address: str, trusted: Sequence[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in trusted)


def client_address(peer: str, forwarded_for: Sequence[str],
                   trusted: Sequence[IPNetwork]) -> str:
    """The client behind ``peer``: ``forwarded_for`` are the ``X-Forwarded-For`` header lines."""
    hops = [h.strip() for line in forwarded_for for h in line.split(",")]
    client = peer
    for hop in reversed(hops):
        if not _trusted(client, trusted):
            break
        try:
            client = str(ipaddress.ip_address(hop.strip("[]")))
        except ValueError:  # garbage or a port: the hop before it is the last one known
            break
    return client


def forwarded_middleware(trusted: Sequence[IPNetwork]) -> Middleware:
    """A middleware giving handlers the client's address as ``request.remote``."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        peer = request.remote or ""
        if trusted and _trusted(peer, trusted):
            client = client_address(peer, request.headers.getall("X-Forwarded-For", []),
                                    trusted)
            if client != peer:
                request[CLIENT] = client
                request = request.clone(remote=client)
        return await handler(request)

    return middleware
