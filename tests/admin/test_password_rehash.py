"""Hashes made with older argon2 parameters are upgraded at the next successful login."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher

from bridge.passwords import needs_rehash, verify_password
from bridge.store import SqlStore
from radicale_plugins.store_registry import unregister_store
from tests.caldav.caldav_support import make_dav, password

from .conftest import ADMIN_PASSWORD, login

_WEAK = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)


async def test_admin_login_upgrades_an_old_hash(client: TestClient[Any, Any],
                                                admin_store: SqlStore) -> None:
    admin_store.set_password_hash("admin", _WEAK.hash(ADMIN_PASSWORD))
    assert (await login(client, password="wrong")).status == 401
    user = admin_store.get_user("admin")
    assert user is not None and needs_rehash(user.password_hash)  # a failure changes nothing
    assert (await login(client)).status == 303
    user = admin_store.get_user("admin")
    assert user is not None and not needs_rehash(user.password_hash)
    assert verify_password(user.password_hash, ADMIN_PASSWORD)


def test_caldav_login_upgrades_an_old_hash(sqlite_url: str, tmp_path: Path) -> None:
    dav, store = make_dav(sqlite_url, tmp_path)
    try:
        store.set_password_hash("alice", _WEAK.hash(password("alice")))
        assert dav.request("PROPFIND", "/alice/", headers={"Depth": "0"}).status == 207
        user = store.get_user("alice")
        assert user is not None and not needs_rehash(user.password_hash)
        assert verify_password(user.password_hash, password("alice"))
        # The new hash works for the next request (cache and store agree).
        assert dav.request("PROPFIND", "/alice/", headers={"Depth": "0"}).status == 207
    finally:
        unregister_store(sqlite_url)
        store.close()
