"""What the booking-page tests share: a store with the booking-rule cases' calendar, settings
with a real SMTP server, the page switched on, and form/link helpers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bridge.bootstrap import open_bridge_store
from bridge.config import Settings, load
from bridge.store import SqlStore
from tests.booking.cases import CALENDAR, NOW, seed

SECRET = "booking-page-test-secret-" + "k" * 30
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
LINK = re.compile(r"(https?://\S+/book/manage/(\S+))")


class Clock:
    """The store's clock, movable by the test (starts at the cases' NOW)."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def open_seeded(url: str, clock: Clock, *, enabled: bool = True) -> tuple[SqlStore, str]:
    """A store with the cases' Berlin calendar and busy times; returns it and the page id."""
    store = open_bridge_store(url, clock=clock)
    store.create_user("alice", "x", role="staff")
    store.create_collection(CALENDAR, tag="VCALENDAR", props={"D:displayname": "Praxis"},
                            timezone="Europe/Berlin")
    seed(store)
    page = store.save_booking_page(CALENDAR, enabled=enabled, durations=(30, 60),
                                   horizon_days=60, lead_minutes=60)
    return store, page.public_id


def settings_for(tmp_path: Path, url: str, smtp_port: int | None = None,
                 **http: Any) -> Settings:
    """Settings with a secret key and, when given, the test SMTP server."""
    notifications: dict[str, Any] = {"poll_interval": 0.05, "retry_base": 0.05}
    if smtp_port is not None:
        notifications |= {"smtp_host": "127.0.0.1", "smtp_port": smtp_port,
                          "smtp_security": "none", "sender": "praxis@example.org"}
    return load(tmp_path / "none.toml", env={}).with_overrides(
        storage={"url": url, "data_dir": str(tmp_path)},
        security={"secret_key": SECRET}, notifications=notifications,
        http={"public_url": "http://127.0.0.1:8080", **http})


def csrf_from(html: str) -> str:
    """The form token of a page."""
    match = _CSRF.search(html)
    assert match, "no form token on the page"
    return match.group(1)


async def form_token(client: TestClient[Any, Any], path: str) -> str:
    """Open ``path`` (sets the page's cookie) and return its form token."""
    resp = await client.get(path)
    assert resp.status == 200, await resp.text()
    return csrf_from(await resp.text())


def token_path(public_id: str, minutes: int = 30) -> str:
    """A page with the contact form (a free slot chosen), so it carries the form token."""
    return f"/book/{public_id}?duration={minutes}&day=2026-06-01&start=2026-06-01T09:00"


async def book(client: TestClient[Any, Any], public_id: str, start: str, *, minutes: int = 30,
               name: str = "Max Muster", email: str = "max@example.org",
               phone: str = "+49 30 1234567", token: str | None = None,
               headers: dict[str, str] | None = None) -> Any:
    """Post the booking form for ``start`` (Berlin local, ``2026-06-01T11:00``)."""
    if token is None:
        token = await form_token(client, token_path(public_id, minutes))
    return await client.post(f"/book/{public_id}", data={
        "csrf_token": token, "duration": str(minutes), "start": start, "name": name,
        "email": email, "phone": phone}, headers=headers or {})
