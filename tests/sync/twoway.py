"""Two-way scenarios: a phone over real CalDAV (Radicale on the store, the ``caldav`` library),
Google through the emulator and the real client, and the instances each side shows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import caldav
import pytest
import recurring_ical_events
from icalendar import Calendar

from bridge.passwords import hash_password
from bridge.store import SqlStore
from emulators.google.server import ALICE, EmulatorServer
from radicale_plugins.server import DavServer
from radicale_plugins.store_registry import unregister_store
from tests.caldav.caldav_support import FAST, settings_for
from tests.sync.conftest import CAL, TZ, Harness, connect, make_engine

PHONE_PASSWORD = "alice-phone-secret"
# An instance as a calendar shows it: UTC start, UTC end, title.
Instance = tuple[str, str, str]
_WINDOW = (datetime(2029, 1, 1, tzinfo=UTC), datetime(2032, 1, 1, tzinfo=UTC))


def _utc(value: date | datetime) -> str:
    if not isinstance(value, datetime):
        return value.isoformat()
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expand(texts: Iterable[str]) -> list[Instance]:
    """The instances iCalendar resources show (recurring-ical-events, RANGE understood)."""
    out: list[Instance] = []
    for text in texts:
        cal = Calendar.from_ical(text)
        for event in recurring_ical_events.of(cal).between(*_WINDOW):
            out.append((_utc(event["DTSTART"].dt), _utc(event["DTEND"].dt),
                        str(event.get("SUMMARY", ""))))
    return sorted(out)


def local_instances(h: Harness) -> list[Instance]:
    """What the stored calendar shows."""
    return expand(item.text for item in h.store.list_items(CAL))


async def google_instances(h: Harness) -> list[Instance]:
    """What Google shows: ``events.list(singleEvents=true)`` through the real client."""
    svc = h.emu.service(h.emu.credentials(ALICE))
    out: list[Instance] = []
    page: str | None = None
    while True:
        request = svc.events().list(calendarId=ALICE, singleEvents=True, maxResults=2500,
                                    pageToken=page)
        data = await asyncio.to_thread(request.execute)
        for item in data.get("items", []):
            start = datetime.fromisoformat(item["start"]["dateTime"])
            end = datetime.fromisoformat(item["end"]["dateTime"])
            out.append((_utc(start), _utc(end), item.get("summary", "")))
        page = data.get("nextPageToken")
        if not page:
            return sorted(out)


async def assert_quiet(h: Harness) -> None:
    """Another pull/push round writes nothing on either side (no ping-pong)."""
    before = {uid: item.etag for uid, item in h.local().items()}
    h.emu.hooks.reset_counters()
    await h.sync()
    assert h.emu.hooks.state()["writes"] == []
    assert {uid: item.etag for uid, item in h.local().items()} == before
    assert h.store.outbox_stats(h.connection_id).pending == 0


def berlin(day: datetime | date, hour: int, minute: int = 0) -> str:
    """A UTC instance stamp of a wall time in Europe/Berlin (for expected instance lists)."""
    from zoneinfo import ZoneInfo

    wall = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(TZ))
    return _utc(wall)


def plus(stamp: str, hours: int = 1) -> str:
    """``stamp`` (UTC) ``hours`` later."""
    return _utc(datetime.fromisoformat(stamp.replace("Z", "+00:00")) + timedelta(hours=hours))


@dataclass
class Phone:
    """Alice's phone: the ``caldav`` library against Radicale on the harness's store."""

    calendar: Any

    def put(self, text: str) -> None:
        """Create or replace the resource of the UID in ``text`` (as a calendar app saves)."""
        uid = str(next(iter(Calendar.from_ical(text).walk("VEVENT")))["UID"])
        try:
            event = self.calendar.event_by_uid(uid)
        except caldav.lib.error.NotFoundError:
            self.calendar.save_event(text)
            return
        event.data = text
        event.save()

    def texts(self) -> list[str]:
        """Every resource of the calendar as the phone reads it."""
        return [str(e.data) for e in self.calendar.events()]


@pytest.fixture
async def phone_h(emu: EmulatorServer, sync_store: SqlStore, sqlite_url: str, tmp_path: Path
                  ) -> AsyncIterator[tuple[Harness, Phone]]:
    """A connected harness and a phone on the same calendar over real CalDAV."""
    sync_store.create_user("alice", hash_password(PHONE_PASSWORD))
    sync_store.create_collection(CAL, tag="VCALENDAR", timezone=TZ,
                                 props={"D:displayname": "Work"})
    cid = connect(sync_store, emu)
    engine = make_engine(sync_store, emu)
    harness = Harness(emu, sync_store, engine, cid)
    await harness.pull("import")
    server = DavServer(settings_for(sqlite_url, tmp_path), sync_store, port=0,
                       extra=FAST).start()
    try:
        client = caldav.DAVClient(url=server.url + ".well-known/caldav", username="alice",
                                  password=PHONE_PASSWORD, timeout=20)
        calendar = await asyncio.to_thread(
            lambda: next(c for c in client.principal().calendars()
                         if str(c.url).rstrip("/").endswith("/work")))
        yield harness, Phone(calendar)
    finally:
        server.stop()
        unregister_store(sqlite_url)
        await engine.stop()
        await asyncio.sleep(0)
