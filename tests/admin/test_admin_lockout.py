"""Admin login lockout: per account and address, in the database, bounded, spray-proof."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

import bridge.passwords
from bridge.admin.pages import ADMIN
from bridge.config import Settings
from bridge.store import SqlStore, open_store
from bridge.store.logins import AttemptKey, LoginPolicy
from bridge.web.app import create_app
from tests.admin.conftest import ADMIN_PASSWORD, csrf_from, login

Client = TestClient[Any, Any]
POLICY = LoginPolicy()


def _claim(store: SqlStore, name: str, addr: str | None = None, *, keep: bool = False,
           policy: LoginPolicy = POLICY) -> bool:
    keys = [AttemptKey("user", name, keep=keep)]
    if addr is not None:
        keys.append(AttemptKey("addr", addr))
    return store.claim_login_attempt(keys, policy)


@pytest.fixture
def verify_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every argon2 verification made through :mod:`bridge.passwords` (the hash verified)."""
    calls: list[str] = []
    real = bridge.passwords.verify_password

    def spy(password_hash: str, password: str) -> bool:
        calls.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(bridge.passwords, "verify_password", spy)
    return calls


@pytest.mark.timeout(900)  # 10,050 store transactions: ~15 s when quiet, minutes when very busy
async def test_spray_of_other_names_does_not_unlock_the_admin(
    client: Client, admin_store: SqlStore
) -> None:
    for _ in range(POLICY.account_failures):
        assert (await login(client, password="wrong")).status == 401
    assert (await login(client, password="wrong")).status == 429
    # 10,050 other names: the old in-memory table was cleared past 10,000 names.
    for i in range(10_050):
        assert _claim(admin_store, f"spray-{i}")
    assert admin_store.count_login_attempts() <= POLICY.max_rows + POLICY.prune_every
    resp = await login(client)  # even the right password waits for the lock to end
    assert resp.status == 429
    assert "Too many failed attempts" in await resp.text()


async def test_lock_per_account_and_per_address_through_the_form(
    client: Client, admin_store: SqlStore
) -> None:
    app = client.server.app
    assert app is not None
    app[ADMIN].login_policy = LoginPolicy(account_failures=3, address_failures=5)
    for _ in range(3):
        assert (await login(client, user="staff", password="wrong")).status == 401
    assert (await login(client, user="staff", password="wrong")).status == 429
    assert admin_store.login_locked(AttemptKey("user", "staff"))
    # The address has 3 attempts now (the refused one did not count): two more names, then
    # every name is refused from here, the admin with the right password too.
    assert (await login(client, user="nobody", password="x")).status == 401
    assert not admin_store.login_locked(AttemptKey("addr", "127.0.0.1"))
    assert (await login(client, user="nobody2", password="x")).status == 401
    assert admin_store.login_locked(AttemptKey("addr", "127.0.0.1"))
    assert not admin_store.login_locked(AttemptKey("user", "admin"))
    assert (await login(client)).status == 429


async def test_success_forgets_the_account_failures(client: Client, admin_store: SqlStore
                                                    ) -> None:
    for _ in range(POLICY.account_failures - 1):
        assert (await login(client, password="wrong")).status == 401
    assert (await login(client)).status == 303
    client.session.cookie_jar.clear()
    for _ in range(POLICY.account_failures):
        assert (await login(client, password="wrong")).status == 401
    assert (await login(client)).status == 429


def test_lock_per_account_and_per_address(store: SqlStore) -> None:
    for _ in range(POLICY.account_failures):
        assert _claim(store, "admin", "192.0.2.1", keep=True)
    assert not _claim(store, "admin", "198.51.100.7", keep=True)  # any address: account locked
    assert _claim(store, "staff", "198.51.100.7")
    for i in range(POLICY.address_failures):
        assert _claim(store, f"name-{i}", "203.0.113.9")
    assert not _claim(store, "staff", "203.0.113.9")  # this address is locked for every name
    assert _claim(store, "staff", "198.51.100.7")


def test_lock_is_shared_between_processes_and_survives_a_restart(store_url: str) -> None:
    first = open_store(store_url)
    second = open_store(store_url)
    try:
        for i in range(POLICY.account_failures):
            # Alternate the two "processes": each sees the other's failures.
            assert _claim(first if i % 2 else second, "admin", keep=True)
        assert not _claim(second, "admin", keep=True)
        assert not _claim(first, "admin", keep=True)
    finally:
        first.close()
        second.close()
    restarted = open_store(store_url)
    try:
        assert restarted.login_locked(AttemptKey("user", "admin"))
        assert not _claim(restarted, "admin", keep=True)
    finally:
        restarted.close()


def test_parallel_guesses_never_exceed_the_limit(store_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    stores = [open_store(store_url) for _ in range(2)]  # two "processes"
    try:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(
                lambda i: _claim(stores[i % 2], "admin", f"192.0.2.{i}", keep=True), range(24)))
        assert results.count(True) == POLICY.account_failures
    finally:
        for one in stores:
            one.close()


def test_table_is_bounded_but_keeps_attacked_accounts(store_url: str) -> None:
    now = [1_000_000.0]
    store = open_store(store_url, clock=lambda: now[0])
    policy = LoginPolicy(account_failures=8, address_failures=1_000, window=900.0, max_rows=200)
    try:
        for _ in range(8):  # a locked name that is no account
            assert _claim(store, "ghost", policy=policy)
        for _ in range(7):  # the admin one guess short of the lock
            assert _claim(store, "admin", keep=True, policy=policy)
        for i in range(1_000):
            now[0] += 0.1
            assert _claim(store, f"spray-{i}", policy=policy)
        assert store.count_login_attempts() <= policy.max_rows + policy.prune_every
        assert store.login_locked(AttemptKey("user", "ghost"))
        assert _claim(store, "admin", keep=True, policy=policy)  # the 8th guess: still counted
        assert not _claim(store, "admin", keep=True, policy=policy)
        now[0] += policy.window + 1  # windows and locks over: old rows go as they age
        for i in range(policy.prune_every):
            assert _claim(store, f"fresh-{i}", policy=policy)
        assert store.count_login_attempts() <= policy.prune_every
        assert not store.login_locked(AttemptKey("user", "ghost"))
        assert _claim(store, "admin", keep=True, policy=policy)
    finally:
        store.close()


def _timed(verify_calls: list[str]) -> Callable[[], int]:
    start = len(verify_calls)
    return lambda: len(verify_calls) - start


async def test_empty_password_costs_one_verification_like_a_wrong_one(
    client: Client, verify_calls: list[str]
) -> None:
    for user, password in [("admin", ""), ("admin", "wrong"), ("nobody", ""),
                           ("nobody", "wrong"), ("", "")]:
        count = _timed(verify_calls)
        resp = await login(client, user=user, password=password)
        assert resp.status == 401, (user, password)
        assert count() == 1, (user, password)
    assert verify_calls[0] == verify_calls[1]  # the admin's own hash, empty or not
    assert verify_calls[2] == verify_calls[3] != verify_calls[0]  # unknown: the dummy hash
    assert (await login(client, password=ADMIN_PASSWORD)).status == 303


@pytest.fixture
def dav_auth(admin_store: SqlStore, tmp_path: Any) -> Iterator[Any]:
    """The Radicale auth plugin on the admin test store."""
    from radicale_plugins.auth import Auth
    from radicale_plugins.server import build_configuration
    from radicale_plugins.store_registry import register_store, unregister_store
    from tests.caldav.caldav_support import settings_for

    url = admin_store.engine.url.render_as_string(hide_password=False)
    register_store(url, admin_store)
    try:
        yield Auth(build_configuration(settings_for(url, tmp_path)))
    finally:
        unregister_store(url)


def test_caldav_basic_auth_has_no_cheap_refusal(dav_auth: Any, verify_calls: list[str]
                                                ) -> None:
    from tests.admin.conftest import STAFF_PASSWORD

    for user, password in [("staff", ""), ("nobody", ""), ("staff", "wrong"),
                           ("Not A Name", "")]:
        count = _timed(verify_calls)
        assert dav_auth._login(user, password) == "", (user, password)
        assert count() == 1, (user, password)
    assert dav_auth._login("staff", STAFF_PASSWORD) == "staff"


async def _fail_login(client: TestClient[Any, Any], forwarded_for: str) -> int:
    page = await client.get("/admin/login")
    token = csrf_from(await page.text())
    resp = await client.post("/admin/login", data={
        "username": "nobody", "password": "x", "csrf_token": token, "next": "/admin/sync",
    }, headers={"X-Forwarded-For": forwarded_for}, allow_redirects=False)
    return resp.status


@pytest.mark.parametrize("trusted", ["", "127.0.0.1"])
async def test_login_lockout_counts_the_forwarded_client(
    aiohttp_client: Any, admin_store: SqlStore, admin_settings: Settings, trusted: str
) -> None:
    """Behind a trusted proxy each client has its own address counter; without one the header
    is ignored, so a client cannot escape the lock by inventing addresses."""
    settings = admin_settings.with_overrides(http={"trusted_proxies": trusted})
    app = create_app(settings, admin_store)
    app[ADMIN].login_policy = LoginPolicy(account_failures=100, address_failures=3)
    client: TestClient[Any, Any] = await aiohttp_client(app)
    statuses = [await _fail_login(client, f"198.51.100.{i}") for i in range(5)]
    if trusted:
        assert statuses == [401] * 5
        assert not admin_store.login_locked(AttemptKey("addr", "127.0.0.1"))
        assert admin_store.login_locked(AttemptKey("addr", "198.51.100.1")) is False
    else:
        assert statuses == [401, 401, 401, 429, 429]
        assert admin_store.login_locked(AttemptKey("addr", "127.0.0.1"))
