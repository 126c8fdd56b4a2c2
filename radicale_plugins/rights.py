"""Radicale rights plugin (``[rights] type = radicale_plugins.rights``).

* Every authenticated user may read the root (``R``), so discovery works.
* Staff: their own principal (``RW``) and the collections directly below it (``rw``).
* Admins: the same on every user's principal and collections.
* Grants (``termin-bridge`` grants, store table): ``r`` or ``rw`` on one other user's collection.
* Anything else, including deeper paths and other principals: no rights (Radicale answers 403).

Roles and grants are read from the store and cached per user for ``CACHE_SECONDS``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from radicale import pathutils
from radicale import rights as radicale_rights

from radicale_plugins.shared import store_for

__all__ = ["CACHE_SECONDS", "Rights"]

CACHE_SECONDS = 2.0


class Rights(radicale_rights.BaseRights):
    """Owner, admin and grant based rights."""

    def __init__(self, configuration: Any) -> None:
        super().__init__(configuration)
        self._store = store_for(configuration)
        self._cache: dict[str, tuple[float, bool, dict[str, str]]] = {}
        self._lock = threading.Lock()

    def _account(self, user: str) -> tuple[bool, bool, dict[str, str]]:
        """(exists, is_admin, {granted path: level}) for ``user``."""
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(user)
        if cached is not None and cached[0] > now:
            return True, cached[1], cached[2]
        account = self._store.get_user(user)
        if account is None:
            return False, False, {}
        grants: dict[str, str] = {g.collection_path: g.level for g in self._store.list_grants(user)}
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[user] = (now + CACHE_SECONDS, account.is_admin, grants)
        return True, account.is_admin, grants

    def authorization(self, user: str, user_groups: set[str], path: str) -> str:
        """Rights of ``user`` on the collection ``path``."""
        if not user:
            return ""
        sane = pathutils.strip_path(path)
        if not sane:
            return "R"
        exists, is_admin, grants = self._account(user)
        if not exists:
            return ""
        parts = sane.split("/")
        if len(parts) > 2:
            return ""
        if parts[0] == user or is_admin:
            return "RW" if len(parts) == 1 else "rw"
        level = grants.get(sane) if len(parts) == 2 else None
        if level == "write":
            return "rw"
        if level == "read":
            return "r"
        return ""
