"""Fixtures for the booking-API tests: a sidecar app with one Berlin calendar and API keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.bootstrap import open_bridge_store
from bridge.config import Settings, load
from bridge.store import SqlStore
from bridge.web.app import create_app

CALENDAR = "alice/work"


def make_settings(tmp_path: Path, **sections: dict[str, Any]) -> Settings:
    """Default settings for tests (no SMTP, no webhook, fast worker)."""
    base = load(tmp_path / "absent.toml", env={})
    notifications = {"poll_interval": 0.05} | sections.pop("notifications", {})
    return base.with_overrides(storage={"data_dir": str(tmp_path)},
                               security={"secret_key": "k" * 40},
                               notifications=notifications, **sections)


def seed_calendar(store: SqlStore, path: str = CALENDAR, tz: str = "Europe/Berlin") -> int:
    """Create a calendar and return its id."""
    store.create_collection(path, tag="VCALENDAR", props={"D:displayname": "Praxis"},
                            timezone=tz, exist_ok=True)
    coll = store.get_collection(path)
    assert coll is not None
    return coll.id


@pytest.fixture
def api_store(sqlite_url: str) -> Iterator[SqlStore]:
    """A migrated SQLite store with the calendar alice/work (Europe/Berlin)."""
    st = open_bridge_store(sqlite_url)
    seed_calendar(st)
    try:
        yield st
    finally:
        st.close()


@pytest.fixture
def calendar_id(api_store: SqlStore) -> int:
    """The id of alice/work."""
    coll = api_store.get_collection(CALENDAR)
    assert coll is not None
    return coll.id


@pytest.fixture
def keys(api_store: SqlStore) -> dict[str, str]:
    """Secrets of a read key and a write key."""
    _r, read = api_store.create_api_key("reader", "read")
    _w, write = api_store.create_api_key("booking-page", "write")
    return {"read": read, "write": write}


@pytest.fixture
def auth(keys: dict[str, str]) -> dict[str, str]:
    """Headers of the write key."""
    return {"Authorization": f"Bearer {keys['write']}"}


@pytest.fixture
async def client(aiohttp_client: Any, tmp_path: Path, api_store: SqlStore) -> Any:
    """A test client of the whole sidecar."""
    return await aiohttp_client(create_app(make_settings(tmp_path), api_store))
