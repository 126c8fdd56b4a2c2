"""Radicale rights plugin (``[rights] type = radicale_plugins.rights``).

* Every authenticated user may read the root (``R``), so discovery works.
* Staff: their own principal (``RW``) and the collections directly below it (``rw``).
* Admins: the same on every user's principal and collections.
* Grants (``termin-bridge`` grants, store table): ``r`` or ``rw`` on one other user's collection,
  and the same on its alias ``/<grantee>/<owner>~<slug>/`` in the (staff) grantee's home, where
  write grants also carry ``d``, ``o`` and ``l``: the alias cannot be deleted, overwritten or
  PROPPATCHed.
* Anything else, including deeper paths and other principals: no rights (Radicale answers 403).

Roles and grants are read from the store and cached per user for ``CACHE_SECONDS``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from radicale import pathutils
from radicale import rights as radicale_rights

from radicale_plugins.aliases import alias_target, is_alias_name
from radicale_plugins.store_registry import store_for

__all__ = ["ALIAS_RIGHTS", "CACHE_SECONDS", "Rights"]

CACHE_SECONDS = 2.0
# Rights on a shared calendar's alias in the grantee's home, by grant level.
ALIAS_RIGHTS = {"read": "r", "write": "rwdlo"}


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
        if len(parts) == 2 and is_alias_name(parts[1]):
            return self._alias_rights(user, is_admin, grants, sane)
        if parts[0] == user or is_admin:
            return "RW" if len(parts) == 1 else "rw"
        level = grants.get(sane) if len(parts) == 2 else None
        if level == "write":
            return "rw"
        if level == "read":
            return "r"
        return ""

    @staticmethod
    def _alias_rights(user: str, is_admin: bool, grants: dict[str, str], sane: str) -> str:
        """Rights on ``/<home>/<owner>~<slug>/``: the grant, for the home's staff owner only.

        Write grants may read and write items but not delete, overwrite or PROPPATCH the alias
        (``d``, ``o``, ``l``), so ``current-user-privilege-set`` offers no write-properties.
        """
        alias = alias_target(sane)
        if alias is None or is_admin or alias[0] != user:
            return ""
        return ALIAS_RIGHTS.get(grants.get(alias[1], ""), "")
