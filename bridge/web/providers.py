"""The calendar providers the product offers: the registry the sync engine receives.

Composition only: the one place (with the CLI, which calls it too) that names every provider
package, so ``bridge.sync`` never imports one.  Microsoft and Exchange (EWS, a login form, no
OAuth configuration) are always registered, as Google is:
without ``[microsoft] client_id`` its connect flow says so (``check_connect``) and nothing else
changes.  Both share the one token cipher of ``[security]``.
"""

from __future__ import annotations

from bridge.config import Settings
from bridge.errors import BridgeError
from bridge.exchange.factory import ExchangeOptions, ExchangeProviderFactory
from bridge.exchange.tls import parse_pins
from bridge.google.crypto import TokenCipher, cipher_from_settings
from bridge.google.provider import GoogleProviderFactory
from bridge.microsoft.auth import MicrosoftEndpoints
from bridge.microsoft.factory import MicrosoftProviderFactory, TokenSink
from bridge.providers.base import ProviderFactory

__all__ = ["exchange_factory", "microsoft_factory", "provider_factories"]


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


def exchange_factory(settings: Settings) -> ExchangeProviderFactory:
    """The Exchange (EWS) factory of ``[exchange]``."""
    try:
        cipher: TokenCipher | None = cipher_from_settings(settings)
    except BridgeError:
        cipher = None
    ex = settings.exchange
    return ExchangeProviderFactory(cipher=cipher, options=ExchangeOptions(
        ca_file=ex.ca_file, pins=parse_pins(ex.pinned_certificates),
        max_connections=ex.max_connections, max_wait=ex.max_wait, time_zone=ex.time_zone))


def provider_factories(settings: Settings, store: TokenSink | None = None
                       ) -> dict[str, ProviderFactory]:
    """A factory per provider name (the ``<provider>`` of origins and connection rows);
    ``store`` receives Microsoft's rotated refresh tokens (pass the engine's store)."""
    return {"google": GoogleProviderFactory.from_settings(settings),
            "microsoft": microsoft_factory(settings, store),
            "exchange": exchange_factory(settings)}
