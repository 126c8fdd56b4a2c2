"""Renaming a series after a conflict, from a stale copy: a moved instance whose title equalled
the series' title takes the new title on both sides."""

from __future__ import annotations

import asyncio
from datetime import date

from bridge.google.ids import event_id
from emulators.google.server import ALICE
from tests.sync.conftest import CAL, TZ, Harness
from tests.sync.twoway import (
    Phone,
    assert_quiet,
    berlin,
    google_instances,
    local_instances,
    phone_h,  # noqa: F401  (fixture)
    plus,
)

UID = "weekly-rename@termin"
Z = "DTSTAMP:20300101T000000Z\r\n"


def series(title: str, *, note: str = "", moved_title: str = "Weekly") -> str:
    """Weekly Mondays 10:00 Berlin from 2030-03-04, four times; the 11 Mar moved to 14:00
    (its title as the series had it)."""
    desc = f"DESCRIPTION:{note}\r\n" if note else ""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//phone//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{UID}\r\n{Z}DTSTART;TZID={TZ}:20300304T100000\r\n"
        f"DTEND;TZID={TZ}:20300304T110000\r\nRRULE:FREQ=WEEKLY;COUNT=4\r\n"
        f"SUMMARY:{title}\r\n{desc}END:VEVENT\r\n"
        f"BEGIN:VEVENT\r\nUID:{UID}\r\n{Z}RECURRENCE-ID;TZID={TZ}:20300311T100000\r\n"
        f"DTSTART;TZID={TZ}:20300311T140000\r\nDTEND;TZID={TZ}:20300311T150000\r\n"
        f"SUMMARY:{moved_title}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def shown(title: str, moved_title: str) -> list[tuple[str, str, str]]:
    """The four instances, the moved one at 14:00."""
    rows = [(berlin(date(2030, 3, 4), 10), title), (berlin(date(2030, 3, 11), 14), moved_title),
            (berlin(date(2030, 3, 18), 10), title), (berlin(date(2030, 3, 25), 10), title)]
    return sorted((start, plus(start), name) for start, name in rows)


async def test_rename_after_conflict_on_stale_copy(phone_h: tuple[Harness, Phone]  # noqa: F811
                                                  ) -> None:
    h, phone = phone_h
    await asyncio.to_thread(phone.put, series("Weekly"))
    await h.push()
    await h.sync()
    assert await google_instances(h) == local_instances(h) == shown("Weekly", "Weekly")

    # Both edit: the phone notes something on the series, Google (later) on the series too.
    await asyncio.to_thread(phone.put, series("Weekly", note="phone note"))
    h.emu.hooks.advance_clock(3600)
    h.emu.hooks.external_change(ALICE, "patch", event_id=event_id(CAL, UID),
                                event={"description": "google note"})
    await h.sync()  # a conflict: Google's edit is newer and wins
    conflicts = h.store.query_ledger(connection_id=h.connection_id, action="conflict")
    assert conflicts and conflicts[0].detail["winner"] == "remote"
    assert "google note" in h.local()[UID].text

    # The phone still holds its own copy and renames the series there.
    await asyncio.to_thread(phone.put, series("Yoga", note="phone note"))
    await h.push()
    await h.sync()
    assert local_instances(h) == shown("Yoga", "Yoga")
    assert await google_instances(h) == shown("Yoga", "Yoga")
    await assert_quiet(h)


async def test_own_title_of_a_moved_instance_stays(phone_h: tuple[Harness, Phone]  # noqa: F811
                                                   ) -> None:
    h, phone = phone_h
    await asyncio.to_thread(phone.put, series("Weekly", moved_title="Special"))
    await h.push()
    await h.sync()
    await asyncio.to_thread(phone.put, series("Yoga", moved_title="Special"))
    await h.push()
    await h.sync()
    assert local_instances(h) == await google_instances(h) == shown("Yoga", "Special")
    await assert_quiet(h)


async def test_google_rename_reaches_the_moved_instance(
        phone_h: tuple[Harness, Phone]) -> None:  # noqa: F811
    h, phone = phone_h
    await asyncio.to_thread(phone.put, series("Weekly"))
    await h.push()
    await h.sync()
    # Renamed in Google's UI: the exception we wrote keeps its title there.
    h.emu.hooks.external_change(ALICE, "patch", event_id=event_id(CAL, UID),
                                event={"summary": "Yoga"})
    await h.sync()
    assert local_instances(h) == shown("Yoga", "Yoga")
    assert await google_instances(h) == shown("Yoga", "Yoga")
    await assert_quiet(h)
