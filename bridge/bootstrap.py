"""Start-up helpers shared by every command: settings, store, first-start initialisation."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from bridge.config import DEFAULT_CONFIG_PATH, ENV_PREFIX, Settings, ensure_secret_key, load
from bridge.passwords import generate_password, hash_password
from bridge.store import SqlStore, open_store
from bridge.store.notify import policy_from_settings

__all__ = ["ensure_admin", "load_settings", "open_settings_store", "prepare"]

_LOGGER = logging.getLogger(__name__)
_EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "bridge.example.toml"


def load_settings(path: str | None, *, create: bool = False) -> Settings:
    """Load the configuration; with ``create`` a missing default file is made from the example."""
    target = Path(path or os.environ.get(ENV_PREFIX + "CONFIG") or DEFAULT_CONFIG_PATH)
    if create and not target.exists() and _EXAMPLE.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_EXAMPLE, target)
        _LOGGER.info("created %s from the example configuration", target)
    return load(target, require_file=path is not None)


def open_settings_store(settings: Settings, *, migrate: bool = True) -> SqlStore:
    """Open the store the settings name (applying migrations), with their notification policy."""
    store = open_store(
        settings.storage_url,
        migrate=migrate,
        history_days=int(settings.get("storage", "sync_history_days")),
    )
    # Every process that writes items (CalDAV alone included) plans reminders the same way.
    store.set_notify_policy(policy_from_settings(settings))
    return store


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


def prepare(path: str | None, *, create: bool = False) -> tuple[Settings, SqlStore]:
    """Settings with a secret key, and the migrated store."""
    settings = ensure_secret_key(load_settings(path, create=create))
    return settings, open_settings_store(settings)
