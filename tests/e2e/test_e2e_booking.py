"""Scenario 3, booking API → everywhere: the booking page (an API key made with the CLI) books a
customer; the appointment shows up on the phone, in Google and in an ICS feed (made with the
CLI), and the customer gets exactly one confirmation.  Moving it with ``PATCH`` + ``If-Match``
updates all three and sends exactly one more.  SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from emulators.google.server import ALICE
from tests.e2e.conftest import MakeBridge
from tests.e2e.support import CAL, TZ, Bridge, HttpResult, google_uid, http, wait_until

CUSTOMER = "erika@example.org"
BERLIN = ZoneInfo(TZ)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def storage_url(request: pytest.FixtureRequest) -> str | None:
    """``None`` (SQLite in the site directory) or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return None
    return str(request.getfixturevalue("postgres_url"))


def utc(google_time: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(google_time["dateTime"]).astimezone(UTC)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in the calendar's zone."""
    return datetime.combine(day, time(hour, minute), tzinfo=BERLIN)


def settle(bridge: Bridge, connection_id: int, uid: str) -> None:
    """Wait until Google has been pulled after our last push (so an echo would have arrived)
    and no confirmation or cancellation for ``uid`` is still waiting to be sent."""
    pushed = bridge.store.get_connection(connection_id).last_push_at or 0.0
    wait_until(lambda: (bridge.store.get_connection(connection_id).last_pull_at or 0) > pushed,
               10, "a pull after the last push")
    wait_until(lambda: not [n for n in bridge.store.list_notifications(uid=uid)
                            if n.state in ("pending", "sending") and n.kind != "reminder"],
               10, "the notification outbox to settle")


def feed_event(feed: HttpResult, uid: str) -> str:
    """The VEVENT block of ``uid`` in a feed body."""
    blocks = [b for b in feed.text.split("BEGIN:VEVENT")[1:] if f"UID:{uid}" in b]
    assert len(blocks) == 1, feed.text
    return blocks[0]


def test_booking_reaches_phone_google_feed_and_customer(make_bridge: MakeBridge,
                                                        storage_url: str | None) -> None:
    bridge = make_bridge(storage_url)
    bridge.add_staff()
    calendar_id = bridge.add_calendar()
    key = bridge.cli("apikey", "create", "booking-page", "--scope", "write").stdout
    secret = key.strip().splitlines()[-1]
    assert secret.startswith("tbk_")
    feed_out = bridge.cli("feed", "create", CAL, "--privacy", "full").stdout
    match = re.search(r"URL:\s+(\S+)", feed_out)
    assert match, feed_out
    feed_path = "/feeds/" + match.group(1).rsplit("/feeds/", 1)[1]
    bridge.start_thread()
    connection_id = bridge.connect_google()
    bridge.wait_imported(connection_id)
    auth = {"Authorization": f"Bearer {secret}"}
    # two weeks ahead: inside the feed's default window (365 days)
    day = datetime.now(BERLIN).date() + timedelta(days=14)
    ymd = f"{day:%Y%m%d}"
    api = f"{bridge.http_url}/api/v1/calendars/{calendar_id}/appointments"

    booked = http("POST", api, headers=auth, body={
        "start": f"{day}T11:00:00", "duration_minutes": 30, "service": "Beratung",
        "customer": {"name": "Erika Mustermann", "email": CUSTOMER, "phone": "+49 30 1234"}})
    assert booked.status == 201, booked.text
    appointment = booked.json()
    uid, etag = appointment["uid"], booked.headers["ETag"]
    assert appointment["start"] == local(day, 11).isoformat()

    # the phone
    cal = bridge.phone_calendar()
    on_phone = cal.event_by_uid(uid).icalendar_component
    assert on_phone["DTSTART"].dt == local(day, 11)
    assert str(on_phone["X-TERMIN-CUSTOMER-EMAIL"]) == CUSTOMER
    # Google
    in_google = wait_until(lambda: bridge.google_live_by_uid(uid), 10, "the booking in Google")
    assert len(in_google) == 1
    assert utc(in_google[0]["start"]) == local(day, 11)
    assert utc(in_google[0]["end"]) == local(day, 11, 30)
    # the ICS feed
    feed = http("GET", bridge.http_url + feed_path)
    assert feed.status == 200 and feed.headers["Content-Type"].startswith("text/calendar")
    assert f"DTSTART;TZID=Europe/Berlin:{ymd}T110000" in feed_event(feed, uid)
    # the customer: exactly one confirmation, also after Google echoed the write back
    first = wait_until(lambda: bridge.smtp.to(CUSTOMER), 10, "the confirmation e-mail")
    assert "Appointment confirmed" in str(first[0]["Subject"])
    assert "11:00" in first[0].get_content()
    settle(bridge, connection_id, uid)
    assert len(bridge.smtp.to(CUSTOMER)) == 1

    # Move it to 15:00: a stale If-Match is refused, the current one wins.
    url = f"{api}/{appointment['id']}"
    moved = http("PATCH", url, headers=auth | {"If-Match": etag},
                 body={"start": f"{day}T15:00:00", "end": f"{day}T15:30:00"})
    assert moved.status == 200, moved.text
    assert moved.headers["ETag"] != etag
    stale = http("PATCH", url, headers=auth | {"If-Match": etag},
                 body={"start": f"{day}T16:00:00", "end": f"{day}T16:30:00"})
    assert stale.status == 412

    assert cal.event_by_uid(uid).icalendar_component["DTSTART"].dt == local(day, 15)
    wait_until(lambda: [e for e in bridge.google_live_by_uid(uid)
                        if utc(e["start"]) == local(day, 15)],
               10, "the move in Google")
    assert [google_uid(e) for e in bridge.google(ALICE)] == [uid]
    feed = http("GET", bridge.http_url + feed_path)
    assert f"DTSTART;TZID=Europe/Berlin:{ymd}T150000" in feed_event(feed, uid)
    second = wait_until(lambda: len(bridge.smtp.to(CUSTOMER)) >= 2 and bridge.smtp.to(CUSTOMER),
                        10, "the second confirmation")
    assert "changed" in str(second[1]["Subject"])
    assert "15:00" in second[1].get_content()
    settle(bridge, connection_id, uid)
    assert len(bridge.smtp.to(CUSTOMER)) == 2
    assert bridge.stop_thread() == 0
