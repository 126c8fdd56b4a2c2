"""Customer books on the page → confirmation e-mail (real SMTP) → cancel or move by the signed
link, without an account; expired and forged links are refused."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from collections.abc import AsyncIterator, Iterator
from email.message import Message
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient

from bridge.api.model import AppointmentChange, apply_change
from bridge.booking.tokens import Signer
from bridge.ical import parse_resource
from bridge.notify.web import NOTIFY_WORKER
from bridge.store import SqlStore
from bridge.web.app import create_app
from tests.booking.cases import CALENDAR
from tests.notify.conftest import SmtpSink

from .support import LINK, SECRET, Clock, book, csrf_from, open_seeded, settings_for


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def seeded(sqlite_url: str, clock: Clock) -> Iterator[tuple[SqlStore, str]]:
    store, public_id = open_seeded(sqlite_url, clock)
    try:
        yield store, public_id
    finally:
        store.close()


@pytest.fixture
async def client(aiohttp_client: Any, seeded: tuple[SqlStore, str], sqlite_url: str,
                 tmp_path: Path, smtp: SmtpSink) -> AsyncIterator[TestClient[Any, Any]]:
    store, _ = seeded
    yield await aiohttp_client(create_app(settings_for(tmp_path, sqlite_url, smtp.port), store))


async def _mail(smtp: SmtpSink, count: int) -> Message:
    deadline = time.monotonic() + 30
    while len(smtp.messages) < count:
        assert time.monotonic() < deadline, "no e-mail arrived"
        await asyncio.sleep(0.05)
    return smtp.messages[count - 1]


def _body(msg: Message) -> str:
    part = msg.get_body(("plain",)) if hasattr(msg, "get_body") else msg
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def _link(msg: Message) -> str:
    match = LINK.search(_body(msg))
    assert match, _body(msg)
    return "/book/manage/" + match.group(2)


def _booked(store: SqlStore) -> list[Any]:
    return [i for i in store.items_in_range(CALENDAR, 0, 2**40, "VEVENT")
            if i.origin == "booking"]


async def test_book_mail_cancel(client: TestClient[Any, Any], seeded: tuple[SqlStore, str],
                                smtp: SmtpSink) -> None:
    store, pid = seeded
    await client.get(f"/book/{pid}?lang=de")  # the customer's e-mails follow the page language
    resp = await book(client, pid, "2026-06-01T11:00", email="erika@example.org")
    assert resp.status == 201, await resp.text()
    msg = await _mail(smtp, 1)
    assert msg["To"] == "erika@example.org"
    body = _body(msg)
    assert "11:00" in body and "absagen oder verschieben" in body
    link = _link(msg)
    page = await client.get(link)
    html = await page.text()
    assert page.status == 200 and "Europe/Berlin" in html and "11:00" in html
    cancel = await client.post(link + "/cancel", data={"csrf_token": csrf_from(html)})
    assert cancel.status == 200, await cancel.text()
    assert _booked(store) == []
    cancelled = await _mail(smtp, 2)
    assert "manage" not in _body(cancelled)
    # The link of a cancelled appointment answers 410.
    assert (await client.get(link)).status == 410


async def test_reschedule_by_link(client: TestClient[Any, Any], seeded: tuple[SqlStore, str],
                                  smtp: SmtpSink) -> None:
    store, pid = seeded
    await client.get(f"/book/{pid}?lang=de")
    assert (await book(client, pid, "2026-06-01T11:00", minutes=60)).status == 201
    link = _link(await _mail(smtp, 1))
    page = await client.get(link + "?day=2026-06-02")
    html = await page.text()
    assert 'value="2026-06-02T09:00"' in html
    assert 'value="2026-06-02T12:00"' not in html  # the team meeting
    token = csrf_from(html)
    taken = await client.post(link + "/reschedule",
                              data={"csrf_token": token, "start": "2026-06-02T11:30"})
    assert taken.status == 409  # overlaps the Tuesday team meeting at 12:00
    moved = await client.post(link + "/reschedule",
                              data={"csrf_token": token, "start": "2026-06-02T09:00"})
    assert moved.status == 200, await moved.text()
    [item] = _booked(store)
    assert item.start_ts == 1780383600  # 2026-06-02T07:00Z
    assert item.end_ts - item.start_ts == 3600
    changed = await _mail(smtp, 2)
    assert "geändert" in changed["Subject"]
    new_link = _link(changed)
    assert (await client.get(new_link)).status == 200
    # Moving back onto its own old neighbourhood is fine: it does not block itself.
    page = await client.get(new_link + "?day=2026-06-02")
    assert 'value="2026-06-02T09:30"' in await page.text()


async def test_the_link_survives_a_move_by_the_staff(client: TestClient[Any, Any],
                                                    seeded: tuple[SqlStore, str],
                                                    smtp: SmtpSink) -> None:
    """The staff move a booked appointment (here straight in the store, as the admin calendar,
    a phone or the connected calendar do): the customer's change e-mail carries a link for the
    new time, and so do the reminders planned from then on."""
    store, pid = seeded
    assert (await book(client, pid, "2026-06-01T11:00", minutes=30)).status == 201
    await _mail(smtp, 1)
    [item] = _booked(store)
    zone = ZoneInfo("Europe/Berlin")
    start = dt.datetime(2026, 6, 2, 9, 0, tzinfo=zone)
    text = apply_change(item.text, AppointmentChange(start=start,
                                                     end=start + dt.timedelta(minutes=30)),
                        zone, dt.datetime.now(dt.UTC))
    store.put_item(CALENDAR, item.href, parse_resource(text), origin="admin",
                   if_match=item.etag)
    client.app[NOTIFY_WORKER].wake()  # what the admin calendar view does after a write
    changed = await _mail(smtp, 2)
    link = _link(changed)
    page = await client.get(link)
    html = await page.text()
    when = re.search(r'<p class="when"><strong>([^<]*)</strong>', html)
    assert page.status == 200 and when is not None
    assert "09:00" in when.group(1) and "11:00" not in when.group(1)
    claim = Signer(SECRET).read_manage_token(link.rsplit("/", 1)[1], store.clock())
    assert claim.expires == int(start.timestamp())  # valid until the new start
    queued = [n for n in store.list_notifications(uid=item.uid) if n.kind == "reminder"
              and n.state == "pending"]
    assert queued and all(n.origin == "admin" and n.payload["booked_online"] for n in queued)


async def test_expired_and_forged_links(client: TestClient[Any, Any],
                                        seeded: tuple[SqlStore, str], clock: Clock,
                                        smtp: SmtpSink) -> None:
    store, pid = seeded
    assert (await book(client, pid, "2026-06-01T11:00")).status == 201
    link = _link(await _mail(smtp, 1))
    body, mac = link.rsplit("/", 1)[1].split(".")
    forged = f"/book/manage/{body}.{mac[:-2]}{'AA' if mac[-2:] != 'AA' else 'BB'}"
    resp = await client.get(forged)
    assert resp.status == 403 and "not valid" in await resp.text()
    [item] = _booked(store)
    calendar = store.get_collection(CALENDAR)
    assert calendar is not None
    other_key = Signer("another-secret-key-" + "z" * 30).manage_token(
        calendar.id, item.uid, int(clock.now) + 86400)
    assert (await client.get(f"/book/manage/{other_key}")).status == 403
    assert (await client.get("/book/manage/garbage")).status == 403
    # Signed with our key but already expired.
    expired = Signer(SECRET).manage_token(calendar.id, item.uid, int(clock.now) - 1)
    resp = await client.get(f"/book/manage/{expired}")
    assert resp.status == 410 and "expired" in await resp.text()
    # The e-mailed link expires when the appointment starts.
    clock.now = item.start_ts + 1
    assert (await client.get(link)).status == 410
    cancel = await client.post(link + "/cancel", data={"csrf_token": "x"})
    assert cancel.status in (403, 410)
    assert len(_booked(store)) == 1


async def test_the_customers_mails_follow_the_page_language(
        client: TestClient[Any, Any], seeded: tuple[SqlStore, str], smtp: SmtpSink) -> None:
    """Booked on the English page of a calendar whose notifications are German: the customer
    gets English e-mails, the rescheduled one too."""
    _, pid = seeded
    assert (await client.get(f"/book/{pid}?lang=en")).status == 200  # remembered in a cookie
    assert (await book(client, pid, "2026-06-01T11:00")).status == 201
    confirmed = await _mail(smtp, 1)
    assert confirmed["Subject"].startswith("Appointment confirmed")
    assert "Cancel or move the appointment" in _body(confirmed)
    link = _link(confirmed)
    html = await (await client.get(link + "?day=2026-06-02")).text()
    moved = await client.post(link + "/reschedule",
                              data={"csrf_token": csrf_from(html), "start": "2026-06-02T09:00"})
    assert moved.status == 200, await moved.text()
    assert (await _mail(smtp, 2))["Subject"].startswith("Your appointment has changed")
