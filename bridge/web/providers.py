"""The calendar providers the product offers: the registry the sync engine receives.

Composition only: the one place (with the CLI, which calls it too) that names every provider
package, so ``bridge.sync`` never imports one.  Microsoft and Exchange (EWS, a login form, no
OAuth configuration) are always registered, as Google is:
without ``[microsoft] client_id`` its connect flow says so (``check_connect``) and nothing else
changes.  Both share the one token cipher of ``[security]``.
"""

from __future__ import annotations

from typing import Any

from bridge.caldav.factory import CALDAV, ICLOUD, CaldavProviderFactory, ConnectionLookup
from bridge.config import Settings
from bridge.errors import BridgeError
from bridge.exchange.factory import ExchangeOptions, ExchangeProviderFactory
from bridge.exchange.tls import parse_pins
from bridge.google.crypto import TokenCipher, cipher_from_settings
from bridge.google.provider import GoogleProviderFactory
from bridge.microsoft.auth import MicrosoftEndpoints
from bridge.microsoft.factory import MicrosoftProviderFactory, TokenSink
from bridge.providers.base import ProviderFactory
from bridge.providers.netguard import NetGuard, parse_networks

__all__ = ["caldav_factories", "exchange_factory", "microsoft_factory", "provider_factories"]


def microsoft_factory(settings: Settings, store: TokenSink | None = None
                      ) -> MicrosoftProviderFactory:
    """The Microsoft factory of ``[microsoft]`` (``store``: where rotated tokens go)."""
    try:
        cipher: TokenCipher | None = cipher_from_settings(settings)
    except BridgeError:  # no key: connections will show "error", nothing crashes
        cipher = None
    ms = settings.microsoft
    endpoints = MicrosoftEndpoints(ms.client_id, ms.client_secret, ms.authority,
                                   ms.graph_endpoint, ms.ca_file or None)
    return MicrosoftProviderFactory(cipher=cipher, endpoints=endpoints, store=store,
                                    write_attendees=ms.write_attendees,
                                    requests_per_minute=ms.requests_per_minute or None)


def caldav_factories(settings: Settings, store: ConnectionLookup | None = None
                     ) -> dict[str, CaldavProviderFactory]:
    """Any CalDAV server and iCloud: one factory class, two presets, the operator's
    ``[providers] allow_networks``, and this bridge's own URLs refused (loop protection)."""
    try:
        cipher: TokenCipher | None = cipher_from_settings(settings)
    except BridgeError:
        cipher = None
    guard = NetGuard(parse_networks(settings.providers.allow_networks))
    own = [settings.http.public_url, f"http://{settings.dav.host}:{settings.dav.port}/"]
    return {preset.name: CaldavProviderFactory(cipher=cipher, preset=preset, guard=guard,
                                               own_urls=own, store=store)
            for preset in (CALDAV, ICLOUD)}


def exchange_factory(settings: Settings) -> ExchangeProviderFactory:
    """The Exchange (EWS) factory of ``[exchange]`` with the ``[providers]`` network policy."""
    try:
        cipher: TokenCipher | None = cipher_from_settings(settings)
    except BridgeError:
        cipher = None
    ex = settings.exchange
    return ExchangeProviderFactory(
        cipher=cipher, guard=NetGuard(parse_networks(settings.providers.allow_networks)),
        options=ExchangeOptions(ca_file=ex.ca_file, pins=parse_pins(ex.pinned_certificates),
                                max_connections=ex.max_connections, max_wait=ex.max_wait,
                                time_zone=ex.time_zone))


def provider_factories(settings: Settings, store: Any = None) -> dict[str, ProviderFactory]:
    """A factory per provider name (the ``<provider>`` of origins and connection rows);
    ``store`` receives Microsoft's rotated refresh tokens and answers the CalDAV factories'
    loop checks (pass the engine's store)."""
    return {"google": GoogleProviderFactory.from_settings(settings),
            "microsoft": microsoft_factory(settings, store),
            "exchange": exchange_factory(settings),
            **caldav_factories(settings, store)}
