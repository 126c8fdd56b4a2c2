"""Fixtures for the admin-page tests: a store with an admin and a staff user, the sidecar app."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bridge.config import Settings, load
from bridge.passwords import hash_password
from bridge.store import SqlStore, open_store

ADMIN_PASSWORD = "correct horse battery staple"
STAFF_PASSWORD = "staff password 123"
_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_settings(tmp_path: Path, **google: Any) -> Settings:
    """Settings for a test sidecar (SQLite in ``tmp_path``)."""
    settings = load(tmp_path / "none.toml", env={})
    return settings.with_overrides(
        storage={"url": f"sqlite:///{tmp_path / 'bridge.db'}", "data_dir": str(tmp_path)},
        security={"secret_key": "test-secret-key-" + "x" * 40},
        google=google,
    )


@pytest.fixture(scope="session")
def _template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate and fill one database per run; each test gets a copy (argon2 and Alembic once)."""
    path = tmp_path_factory.mktemp("admin-template") / "bridge.db"
    store = open_store(f"sqlite:///{path}")
    store.create_user("admin", hash_password(ADMIN_PASSWORD), role="admin")
    store.create_user("staff", hash_password(STAFF_PASSWORD), role="staff")
    store.create_collection("staff/praxis", tag="VCALENDAR", props={
        "D:displayname": "Praxis"}, timezone="Europe/Berlin")
    store.close()
    return path


@pytest.fixture
def admin_store(tmp_path: Path, _template_db: Path) -> Iterator[SqlStore]:
    """A migrated SQLite store with ``admin`` (admin), ``staff`` (staff) and one calendar."""
    shutil.copyfile(_template_db, tmp_path / "bridge.db")
    store = open_store(f"sqlite:///{tmp_path / 'bridge.db'}")
    yield store
    store.close()


@pytest.fixture
def admin_settings(tmp_path: Path) -> Settings:
    """Settings pointing at the test store."""
    return make_settings(tmp_path)


@pytest.fixture
async def client(aiohttp_client: Any, admin_store: SqlStore, admin_settings: Settings
                 ) -> TestClient[Any, Any]:
    """An aiohttp test client of the whole sidecar."""
    from bridge.web.app import create_app

    result: TestClient[Any, Any] = await aiohttp_client(create_app(admin_settings, admin_store))
    return result


def csrf_from(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = _CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


async def login(client: TestClient[Any, Any], user: str = "admin",
                password: str = ADMIN_PASSWORD) -> Any:
    """Log in through the form; returns the final response (redirects not followed)."""
    page = await client.get("/admin/login")
    token = csrf_from(await page.text())
    return await client.post("/admin/login", data={
        "username": user, "password": password, "csrf_token": token, "next": "/admin/sync",
    }, allow_redirects=False)


async def csrf_of(client: TestClient[Any, Any], path: str = "/admin/feeds") -> str:
    """The CSRF token of the logged-in session, read from a page."""
    resp = await client.get(path)
    assert resp.status == 200, await resp.text()
    return csrf_from(await resp.text())
