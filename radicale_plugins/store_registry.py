"""State shared by the storage, auth and rights plugins of one process: the open store.

Radicale loads each plugin separately from its configuration; all three read the database URL
from ``[storage] bridge_db_url`` (or fall back to an SQLite file inside ``[storage]
filesystem_folder``) and get the same :class:`~bridge.store.SqlStore` (one engine, one pool)
from :func:`store_for`.  :mod:`radicale_plugins.server` registers an already-open store with
:func:`register_store` so the CLI and Radicale share it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from bridge.bootstrap import open_bridge_store
from bridge.store import SqlStore

__all__ = ["database_url", "register_store", "store_for", "unregister_store"]

_LOGGER = logging.getLogger(__name__)
_LOCK = threading.Lock()
_STORES: dict[str, SqlStore] = {}


def database_url(configuration: Any) -> str:
    """The store URL a Radicale configuration names (``[storage] bridge_db_url`` or a default)."""
    try:
        url = str(configuration.get_raw("storage", "bridge_db_url") or "")
    except KeyError:
        url = ""
    if url:
        return url
    folder = Path(str(configuration.get("storage", "filesystem_folder"))).expanduser()
    return f"sqlite:///{folder / 'termin-bridge.db'}"


def register_store(url: str, store: SqlStore) -> None:
    """Make an already-open store the one the plugins use for ``url``."""
    with _LOCK:
        _STORES[url] = store


def unregister_store(url: str) -> None:
    """Forget a registered store (tests; it is not closed here)."""
    with _LOCK:
        _STORES.pop(url, None)


def store_for(configuration: Any) -> SqlStore:
    """The process-wide store for a Radicale configuration, opened (and migrated) once."""
    url = database_url(configuration)
    with _LOCK:
        store = _STORES.get(url)
        if store is None:
            _LOGGER.info("opening the termin-bridge store for Radicale")
            store = open_bridge_store(url)  # with the notification hook, like every process
            _STORES[url] = store
        return store
