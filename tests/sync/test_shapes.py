"""Recurring series with moved/cancelled instances, all-day events, and the store-level paths."""

from __future__ import annotations

from bridge.google.ids import event_id
from emulators.google.server import ALICE
from tests.sync.conftest import CAL, TZ, Harness

SERIES = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n"
    "BEGIN:VEVENT\r\nUID:series@x\r\nDTSTAMP:20300101T000000Z\r\n"
    f"DTSTART;TZID={TZ}:20300304T090000\r\nDTEND;TZID={TZ}:20300304T100000\r\n"
    "RRULE:FREQ=WEEKLY;COUNT=6\r\nEXDATE;TZID=" + TZ + ":20300318T090000\r\n"
    "SUMMARY:Weekly\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:series@x\r\nDTSTAMP:20300101T000000Z\r\n"
    f"RECURRENCE-ID;TZID={TZ}:20300311T090000\r\n"
    f"DTSTART;TZID={TZ}:20300311T140000\r\nDTEND;TZID={TZ}:20300311T150000\r\n"
    "SUMMARY:Weekly (moved)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)

ALLDAY = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:allday@x\r\n"
    "DTSTAMP:20300101T000000Z\r\nDTSTART;VALUE=DATE:20300310\r\nDTEND;VALUE=DATE:20300311\r\n"
    "SUMMARY:Closed\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


async def test_local_series_with_moved_and_cancelled_instances_reach_google(h: Harness) -> None:
    h.put("series@x", SERIES)
    await h.push()
    master_id = event_id(CAL, "series@x")
    google = h.google()
    master = google[master_id]
    assert any(line.startswith("RRULE") for line in master["recurrence"])
    moved = [e for e in google.values() if e.get("recurringEventId") == master_id]
    assert len(moved) == 1 and moved[0]["summary"] == "Weekly (moved)"
    # Nothing bounces back.
    before = h.local()["series@x"].etag
    await h.sync()
    assert h.local()["series@x"].etag == before


async def test_google_instance_moved_and_cancelled_reach_local(h: Harness) -> None:
    created = h.emu.hooks.external_change(ALICE, "insert", event={
        "summary": "Yoga", "recurrence": ["RRULE:FREQ=DAILY;COUNT=5"],
        "start": {"dateTime": "2030-03-04T09:00:00", "timeZone": TZ},
        "end": {"dateTime": "2030-03-04T10:00:00", "timeZone": TZ}})
    await h.pull()
    uid = created["iCalUID"]
    assert "RRULE:FREQ=DAILY" in h.local()[uid].text
    # Move the 2nd instance, cancel the 3rd, on Google.
    inst2 = f"{created['id']}_20300305T080000Z"
    inst3 = f"{created['id']}_20300306T080000Z"
    h.emu.hooks.external_change(ALICE, "patch", event_id=inst2, event={
        "start": {"dateTime": "2030-03-05T15:00:00", "timeZone": TZ},
        "end": {"dateTime": "2030-03-05T16:00:00", "timeZone": TZ}})
    h.emu.hooks.external_change(ALICE, "delete", event_id=inst3)
    await h.pull()
    text = h.local()[uid].text
    assert "RECURRENCE-ID" in text and "EXDATE" in text
    assert len(h.local()) == 1


async def test_all_day_end_is_exclusive_both_ways(h: Harness) -> None:
    h.put("allday@x", ALLDAY)
    await h.push()
    event = h.google()[event_id(CAL, "allday@x")]
    assert event["start"] == {"date": "2030-03-10"} and event["end"] == {"date": "2030-03-11"}
    created = h.emu.hooks.external_change(ALICE, "insert", event={
        "summary": "Holiday", "start": {"date": "2030-04-01"}, "end": {"date": "2030-04-03"}})
    await h.pull()
    text = h.local()[created["iCalUID"]].text
    assert "DTSTART;VALUE=DATE:20300401" in text and "DTEND;VALUE=DATE:20300403" in text


async def test_caldav_edit_reaches_google_and_google_edit_reaches_sync_collection(
        h: Harness) -> None:
    h.put("phone@x", summary="From phone", origin="caldav")
    await h.push()
    assert h.google()[event_id(CAL, "phone@x")]["summary"] == "From phone"
    coll = h.store.get_collection(CAL)
    assert coll is not None
    h.emu.hooks.external_change(ALICE, "patch", event_id=event_id(CAL, "phone@x"),
                                event={"summary": "Moved in Google"})
    await h.pull()
    change = h.store.changes_since(CAL, coll.revision)
    item = h.local()["phone@x"]
    assert change.hrefs == (item.href,)
    assert "SUMMARY:Moved in Google" in item.text
    # The pulled write did not queue a push back to the same connection (no echo).
    assert h.store.outbox_stats(h.connection_id).pending == 0
