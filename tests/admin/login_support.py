"""Stock Radicale behind the CalDAV kit's proxy for the admin's login-provider tests, and the
sidecar's provider registry with iCloud's test host names (``*.icloud.test`` on the proxy).

The peer, the proxy and the iCloud shape are the CalDAV provider's test kit
(:mod:`tests.sync.davpeer`, :mod:`tests.sync.providers`); nothing here speaks CalDAV itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.caldav.factory import CaldavProviderFactory
from bridge.config import Settings
from bridge.google.crypto import cipher_from_settings
from bridge.providers.base import ProviderFactory
from bridge.providers.netguard import NetGuard, parse_networks
from bridge.store import SqlStore
from bridge.web.providers import provider_factories
from tests.sync.davpeer import PASSWORD, USER, DavProxy, RadicaleServer
from tests.sync.providers import CaldavControls, icloud_preset, icloud_sessions

from .conftest import make_settings

__all__ = ["PASSWORD", "USER", "DavPeer", "login_settings", "registry"]


class DavPeer:
    """Radicale, the proxy in front of it and a fresh calendar with events for each test."""

    def __init__(self, root: Path) -> None:
        self.server = RadicaleServer(root)
        self.proxy = DavProxy(self.server.base)

    def calendar(self, *summaries: str, icloud: bool = False) -> tuple[str, CaldavControls]:
        """A new calendar holding ``summaries`` (iCloud's shape on the proxy when ``icloud``);
        its URL as the bridge sees it, and the kit's controls over it."""
        self.proxy.reset()
        self.proxy.icloud = icloud
        self.proxy.password = PASSWORD
        self.server.set_password(PASSWORD)
        path = self.server.new_calendar()
        controls = CaldavControls(self.server, self.proxy, path)
        for day, summary in enumerate(summaries, start=10):
            controls.create(summary, day=day)
        host = f"http://p42-caldav.icloud.test:{self.proxy.port}" if icloud else self.proxy.base
        return host + path, controls

    def stop(self) -> None:
        """Stop proxy and server."""
        self.proxy.stop()
        self.server.stop()


@pytest.fixture(scope="module")
def dav_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DavPeer]:
    """One Radicale process (and proxy) per test module."""
    peer = DavPeer(tmp_path_factory.mktemp("radicale"))
    try:
        yield peer
    finally:
        peer.stop()


def login_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Test settings whose CalDAV providers may reach loopback (the peer)."""
    return make_settings(tmp_path).with_overrides(providers={"allow_networks": "127.0.0.0/8"},
                                                  **overrides)


def registry(settings: Settings, store: SqlStore, proxy: DavProxy
             ) -> dict[str, ProviderFactory]:
    """The product's registry, iCloud's preset pointed at the proxy's test host names."""
    factories = provider_factories(settings, store)
    factories["icloud"] = CaldavProviderFactory(
        cipher=cipher_from_settings(settings), preset=icloud_preset(proxy),
        guard=NetGuard(parse_networks("127.0.0.0/8")), store=store,
        session_factory=icloud_sessions)
    return factories
