"""Fixtures for the CalDAV suite: Radicale on our store, in-process (WSGI) and over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.bootstrap import open_bridge_store
from radicale_plugins.server import DavServer
from radicale_plugins.store_registry import unregister_store
from tests.caldav.caldav_support import FAST, Dav, Served, make_dav, populate, settings_for


@pytest.fixture
def dav(store_url: str, tmp_path: Path) -> Iterator[Dav]:
    """Radicale on a fresh, populated store (SQLite and PostgreSQL), in-process."""
    client, store = make_dav(store_url, tmp_path)
    try:
        yield client
    finally:
        unregister_store(store_url)
        store.close()


def _module_url(kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('davdb') / 'bridge.db'}"
    else:
        from tests.conftest import postgres_url_or_skip

        yield from postgres_url_or_skip()


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Served]:
    """One threaded HTTP server per module and back end."""
    for url in _module_url(request.param, tmp_path_factory):
        store = open_bridge_store(url)
        populate(store)
        settings = settings_for(url, tmp_path_factory.mktemp("davdata"))
        server = DavServer(settings, store, port=0, extra=FAST).start()
        try:
            yield Served(server.url, store, server)
        finally:
            server.stop()
            unregister_store(url)
            store.close()


