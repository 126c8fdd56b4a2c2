"""Start-up helpers shared by every command: settings, store, first-start initialisation."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from bridge.config import DEFAULT_CONFIG_PATH, ENV_PREFIX, Settings, load, render_example
from bridge.notify import hooks as notify_hooks
from bridge.notify.planning import NotifyPolicy, policy_from_settings
from bridge.passwords import generate_password, hash_password
from bridge.store import SqlStore, open_store

__all__ = ["ensure_admin", "load_settings", "open_bridge_store", "open_settings_store"]

_LOGGER = logging.getLogger(__name__)


def load_settings(path: str | None, *, create_default: bool = False) -> Settings:
    """Load the configuration from ``path``, ``$TERMIN_BRIDGE_CONFIG`` or the default path.

    A file named explicitly must exist.  With ``create_default`` (first start of ``serve``) a
    missing file at the default path is written from the schema's documented example.
    """
    explicit = path or os.environ.get(ENV_PREFIX + "CONFIG") or None
    target = Path(explicit or DEFAULT_CONFIG_PATH)
    if create_default and explicit is None and not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render_example(), encoding="utf-8")
        _LOGGER.info("created %s with every setting at its default", target)
    return load(target, require_file=explicit is not None)


def open_bridge_store(
    url: str,
    *,
    policy: NotifyPolicy | None = None,
    migrate: bool = True,
    clock: Callable[[], float] = time.time,
    history_days: int = 30,
) -> SqlStore:
    """Open the store at ``url`` with the product's hooks: the one way a process opens it.

    Every process that writes items (a lone ``dav`` or standalone Radicale included) queues
    notifications in the item's transaction, with ``policy`` (the default when ``None``).
    """
    store = open_store(url, migrate=migrate, clock=clock, history_days=history_days)
    notify_hooks.install(store, policy)
    return store


def open_settings_store(settings: Settings, *, migrate: bool = True) -> SqlStore:
    """Open the store the settings name (applying migrations), with their notification policy."""
    return open_bridge_store(
        settings.storage_url,
        policy=policy_from_settings(settings),
        migrate=migrate,
        history_days=settings.storage.sync_history_days,
    )


def ensure_admin(store: SqlStore) -> str | None:
    """Create the ``admin`` user on first start; returns a generated password to print once.

    ``TERMIN_BRIDGE_ADMIN_PASSWORD`` sets the password instead (nothing is returned then).
    """
    if store.count_users() > 0:
        return None
    given = os.environ.get(ENV_PREFIX + "ADMIN_PASSWORD")
    password = given or generate_password()
    store.create_user("admin", hash_password(password), role="admin")
    return None if given else password
