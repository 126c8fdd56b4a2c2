"""Removing a RECURRENCE-ID override locally reverts the Google exception to the series."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bridge.google.ids import event_id
from emulators.google.server import ALICE
from tests.sync.conftest import CAL, TZ, Harness

UID = "weekly@termin"


def series(overrides: dict[int, int], *, exdates: tuple[int, ...] = (),
           summary: str = "Weekly") -> str:
    """A weekly series (Mondays 10:00 Berlin, from 2030-03-04) with moved occurrences.

    ``overrides`` maps the day of March of an occurrence to its new hour.
    """
    ex = "".join(f"EXDATE;TZID={TZ}:203003{d:02d}T100000\r\n" for d in exdates)
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{UID}\r\nDTSTAMP:20300101T000000Z\r\n"
        f"DTSTART;TZID={TZ}:20300304T100000\r\nDTEND;TZID={TZ}:20300304T110000\r\n"
        f"RRULE:FREQ=WEEKLY;COUNT=6\r\n{ex}SUMMARY:{summary}\r\nEND:VEVENT\r\n"
    )
    for day, hour in sorted(overrides.items()):
        text += (
            "BEGIN:VEVENT\r\n"
            f"UID:{UID}\r\nDTSTAMP:20300101T000000Z\r\n"
            f"RECURRENCE-ID;TZID={TZ}:203003{day:02d}T100000\r\n"
            f"DTSTART;TZID={TZ}:203003{day:02d}T{hour:02d}0000\r\n"
            f"DTEND;TZID={TZ}:203003{day:02d}T{hour + 1:02d}0000\r\n"
            f"SUMMARY:{summary} (moved)\r\nEND:VEVENT\r\n"
        )
    return text + "END:VCALENDAR\r\n"


def instance(day: int) -> str:
    """The Google instance id of the 10:00 Berlin (09:00 UTC) occurrence on ``day``."""
    return f"{event_id(CAL, UID)}_203003{day:02d}T090000Z"


def exceptions(h: Harness) -> dict[str, dict[str, Any]]:
    """Every exception object Google stores for the series (cancelled ones included)."""
    return {e["id"]: e for e in h.emu.hooks.stored_events(ALICE)
            if e.get("recurringEventId") == event_id(CAL, UID)}


async def instances(h: Harness) -> dict[str, dict[str, Any]]:
    """``events.instances`` of the series (what a Google calendar shows), cancelled included."""
    svc = h.emu.service(h.emu.credentials(ALICE))
    request = svc.events().instances(calendarId=ALICE, eventId=event_id(CAL, UID),
                                     showDeleted=True, maxResults=50)
    result = await asyncio.to_thread(request.execute)
    return {i["id"]: i for i in result["items"]}


def starts_at(event: dict[str, Any], hour: int) -> bool:
    """True when ``event`` runs from ``hour``:00 Berlin time on its original day, one hour."""
    zone = ZoneInfo(TZ)
    start = datetime.fromisoformat(event["start"]["dateTime"]).astimezone(zone)
    end = datetime.fromisoformat(event["end"]["dateTime"]).astimezone(zone)
    original = datetime.fromisoformat(event["originalStartTime"]["dateTime"]).astimezone(zone)
    return (start.date() == original.date() and (start.hour, start.minute) == (hour, 0)
            and end - start == timedelta(hours=1))


async def assert_quiet(h: Harness) -> None:
    """The next sync (pull + push, twice) writes nothing on either side."""
    before = h.local()[UID].etag
    h.emu.hooks.reset_counters()
    await h.sync()
    assert h.emu.hooks.state()["writes"] == []
    assert h.local()[UID].etag == before
    assert h.store.outbox_stats(h.connection_id).pending == 0


async def test_removed_override_reverts_the_google_exception(h: Harness) -> None:
    h.put(UID, series({11: 14}))
    await h.push()
    assert starts_at((await instances(h))[instance(11)], 14)
    await h.sync()

    local = h.put(UID, series({}))
    await h.push()
    shown = await instances(h)
    assert starts_at(shown[instance(11)], 10)  # back at 10:00
    assert shown[instance(11)]["summary"] == "Weekly"
    assert all(starts_at(i, 10) and i["summary"] == "Weekly" and i["status"] == "confirmed"
               for i in shown.values())
    # Google keeps an exception object, but it is identical to the series.
    for exc in exceptions(h).values():
        assert exc["status"] == "cancelled" or (
            starts_at(exc, 10) and exc["summary"] == "Weekly")
    assert h.local()[UID].etag == local.etag
    await assert_quiet(h)
    assert "RECURRENCE-ID" not in h.local()[UID].text

    # A later change of the series reaches the reverted instance too, and stays quiet.
    h.put(UID, series({}, summary="Weekly yoga"))
    await h.push()
    assert {i["summary"] for i in (await instances(h)).values()} == {"Weekly yoga"}
    await assert_quiet(h)


async def test_one_of_two_overrides_removed(h: Harness) -> None:
    h.put(UID, series({11: 14, 25: 16}))
    await h.push()
    await h.sync()
    local = h.put(UID, series({25: 16}))
    await h.push()
    shown = await instances(h)
    assert starts_at(shown[instance(11)], 10) and shown[instance(11)]["summary"] == "Weekly"
    assert starts_at(shown[instance(25)], 16)
    assert shown[instance(25)]["summary"] == "Weekly (moved)"
    assert h.local()[UID].etag == local.etag
    await assert_quiet(h)
    text = h.local()[UID].text
    assert text.count("RECURRENCE-ID") == 1 and "20300325T100000" in text


async def test_excluded_instance_ends_cancelled(h: Harness) -> None:
    h.put(UID, series({11: 14, 18: 15}, exdates=(25,)))
    await h.push()
    await h.sync()
    # The override of the 11th goes; the 18th becomes an EXDATE (the 25th stays one).
    h.put(UID, series({}, exdates=(18, 25)))
    await h.push()
    shown = await instances(h)
    live = {k for k, v in shown.items() if v["status"] != "cancelled"}
    assert instance(18) not in live and instance(25) not in live
    assert starts_at(shown[instance(11)], 10)
    assert all(exc["status"] == "cancelled" for k, exc in exceptions(h).items()
               if k in (instance(18), instance(25)))
    await assert_quiet(h)
    text = h.local()[UID].text
    assert "RECURRENCE-ID" not in text and "EXDATE" in text


async def test_no_listing_without_stale_exceptions(h: Harness) -> None:
    h.put(UID, series({11: 14}))
    await h.push()
    h.emu.hooks.reset_counters()
    h.put(UID, series({11: 14}, summary="Renamed"))  # the override is still there
    await h.push()
    requests = h.emu.hooks.state()["api_requests"]
    assert requests.get("calendar.events.list", 0) == 0
    assert requests.get("calendar.events.instances", 0) == 0
