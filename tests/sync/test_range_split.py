"""A phone's ``RANGE=THISANDFUTURE`` edit splits the series on Google as "this and following"
does, and Google's own split comes back; both sides show the same instances."""

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
    expand,
    google_instances,
    local_instances,
    phone_h,  # noqa: F401  (fixture)
    plus,
)

UID = "weekly-range@termin"
NEW_UID = UID + "-R20300325T090000Z"
Z = "DTSTAMP:20300101T000000Z\r\n"


def series(*, ranged: bool) -> str:
    """Weekly Mondays 10:00 Berlin from 2030-03-04, eight times; EXDATE on 11 Mar (before the
    split) and 8 Apr (after); the 18 Mar moved to 12:00, the 15 Apr moved to 16 Apr 09:00.
    ``ranged``: the phone moved 25 Mar *and all following* to 14:00 and renamed them."""
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//phone//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{UID}\r\n{Z}DTSTART;TZID={TZ}:20300304T100000\r\n"
        f"DTEND;TZID={TZ}:20300304T110000\r\nRRULE:FREQ=WEEKLY;COUNT=8\r\n"
        f"EXDATE;TZID={TZ}:20300311T100000\r\nEXDATE;TZID={TZ}:20300408T100000\r\n"
        "SUMMARY:Weekly\r\nEND:VEVENT\r\n"
        f"BEGIN:VEVENT\r\nUID:{UID}\r\n{Z}RECURRENCE-ID;TZID={TZ}:20300318T100000\r\n"
        f"DTSTART;TZID={TZ}:20300318T120000\r\nDTEND;TZID={TZ}:20300318T130000\r\n"
        "SUMMARY:Weekly (early)\r\nEND:VEVENT\r\n"
        f"BEGIN:VEVENT\r\nUID:{UID}\r\n{Z}RECURRENCE-ID;TZID={TZ}:20300415T100000\r\n"
        f"DTSTART;TZID={TZ}:20300416T090000\r\nDTEND;TZID={TZ}:20300416T100000\r\n"
        "SUMMARY:Weekly (late)\r\nEND:VEVENT\r\n"
    )
    if ranged:
        text += (
            f"BEGIN:VEVENT\r\nUID:{UID}\r\n{Z}"
            f"RECURRENCE-ID;RANGE=THISANDFUTURE;TZID={TZ}:20300325T100000\r\n"
            f"DTSTART;TZID={TZ}:20300325T140000\r\nDTEND;TZID={TZ}:20300325T150000\r\n"
            "SUMMARY:Yoga\r\nEND:VEVENT\r\n"
        )
    return text + "END:VCALENDAR\r\n"


def expected_after_split() -> list[tuple[str, str, str]]:
    """The instances the ranged edit means (written out, not computed by the code under test)."""
    rows = [
        (berlin(date(2030, 3, 4), 10), "Weekly"),
        (berlin(date(2030, 3, 18), 12), "Weekly (early)"),
        (berlin(date(2030, 3, 25), 14), "Yoga"),
        (berlin(date(2030, 4, 1), 14), "Yoga"),
        (berlin(date(2030, 4, 16), 9), "Weekly (late)"),
        (berlin(date(2030, 4, 22), 14), "Yoga"),
    ]
    return sorted((start, plus(start), title) for start, title in rows)


async def test_phone_this_and_future_splits_the_series_on_google(
        phone_h: tuple[Harness, Phone]) -> None:  # noqa: F811
    h, phone = phone_h
    await asyncio.to_thread(phone.put, series(ranged=False))
    await h.push()
    await h.sync()
    assert await google_instances(h) == local_instances(h)

    # The phone moves the 25 Mar and all following to 14:00 and renames them.
    await asyncio.to_thread(phone.put, series(ranged=True))
    meant = expand([series(ranged=True)])
    assert meant == expected_after_split()
    await h.push()

    # Google: the old series ends before the 25th, a new series runs from it.
    masters = h.google_masters()
    assert set(masters) == {event_id(CAL, UID), event_id(CAL, NEW_UID)}
    assert any("UNTIL=20300325T085959Z" in line
               for line in masters[event_id(CAL, UID)]["recurrence"])
    assert await google_instances(h) == meant
    # Locally two resources showing the same; the phone reads them too.
    assert set(h.local()) == {UID, NEW_UID}
    assert local_instances(h) == meant
    assert expand(await asyncio.to_thread(phone.texts)) == meant
    assert "THISANDFUTURE" not in "".join(i.text for i in h.local().values())
    await assert_quiet(h)
    assert await google_instances(h) == meant == local_instances(h)


async def test_google_split_of_a_split_series_comes_back(
        phone_h: tuple[Harness, Phone]) -> None:  # noqa: F811
    h, phone = phone_h
    await asyncio.to_thread(phone.put, series(ranged=True))
    await h.push()
    await h.sync()
    new_id = event_id(CAL, NEW_UID)
    new_master = h.google_masters()[new_id]
    # Google's own "this and following" on the new series from 22 Apr: the old one ends with
    # UNTIL before it, a new event (Google's id, its own iCalUID) runs from it at 16:00.
    h.emu.hooks.external_change(ALICE, "patch", event_id=new_id, event={"recurrence": [
        "RRULE:FREQ=WEEKLY;UNTIL=20300421T215959Z",
        *[line for line in new_master["recurrence"] if line.startswith("EXDATE")]]})
    h.emu.hooks.external_change(ALICE, "insert", event={
        "summary": "Yoga late",
        "start": {"dateTime": "2030-04-22T16:00:00+02:00", "timeZone": TZ},
        "end": {"dateTime": "2030-04-22T17:00:00+02:00", "timeZone": TZ},
        "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=1"]})
    await h.sync()
    expected = [row for row in expected_after_split() if row[2] != "Yoga"
                or row[0] < berlin(date(2030, 4, 22), 0)]
    expected.append((berlin(date(2030, 4, 22), 16), berlin(date(2030, 4, 22), 17),
                     "Yoga late"))
    assert await google_instances(h) == sorted(expected)
    assert local_instances(h) == sorted(expected)
    assert len(h.local()) == 3
    await assert_quiet(h)


async def test_range_from_the_first_instance_moves_the_whole_series(
        phone_h: tuple[Harness, Phone]) -> None:  # noqa: F811
    h, phone = phone_h
    text = series(ranged=False)
    await asyncio.to_thread(phone.put, text)
    await h.push()
    await h.sync()
    # "This and following" from the very first instance: all move to 15:00 (one series).
    ranged = text.replace("END:VCALENDAR\r\n", (
        f"BEGIN:VEVENT\r\nUID:{UID}\r\n{Z}"
        f"RECURRENCE-ID;RANGE=THISANDFUTURE;TZID={TZ}:20300304T100000\r\n"
        f"DTSTART;TZID={TZ}:20300304T150000\r\nDTEND;TZID={TZ}:20300304T160000\r\n"
        "SUMMARY:Late yoga\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
    await asyncio.to_thread(phone.put, ranged)
    await h.push()
    rows = [(berlin(date(2030, 3, 4), 15), "Late yoga"),
            (berlin(date(2030, 3, 18), 12), "Weekly (early)"),
            (berlin(date(2030, 3, 25), 15), "Late yoga"),
            (berlin(date(2030, 4, 1), 15), "Late yoga"),
            (berlin(date(2030, 4, 16), 9), "Weekly (late)"),
            (berlin(date(2030, 4, 22), 15), "Late yoga")]
    expected = sorted((start, plus(start), title) for start, title in rows)
    assert expand([ranged]) == expected
    assert set(h.local()) == {UID}
    assert local_instances(h) == expected
    # Google's exceptions at the old 10:00 starts are no instances any more: deleted.
    assert await google_instances(h) == expected
    await assert_quiet(h)
