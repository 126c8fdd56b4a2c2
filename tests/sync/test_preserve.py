"""A Google edit pulled into a local appointment keeps what Google cannot hold, and stays quiet."""

from __future__ import annotations

import icalendar

from bridge.google.ids import event_id
from emulators.google.server import ALICE
from tests.sync.conftest import CAL, TZ, Harness, ics

UID = "keep@termin"
LOCAL_ONLY = [
    "PRIORITY:1",
    "GEO:52.52;13.405",
    "ATTACH;FMTTYPE=application/pdf:https://example.com/voucher.pdf",
    "X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC",
]
ALARM = ["BEGIN:VALARM", "ACTION:AUDIO", "TRIGGER:-PT15M", "REPEAT:2", "DURATION:PT5M",
         "X-WR-ALARMUID:alarm-1", "END:VALARM"]


def lines(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")


async def assert_quiet(h: Harness, uid: str) -> None:
    """The next sync (pull + push, twice) writes nothing on either side."""
    before = h.local()[uid].etag
    h.emu.hooks.reset_counters()
    await h.sync()
    assert h.emu.hooks.state()["writes"] == []
    assert h.local()[uid].etag == before
    assert h.store.outbox_stats(h.connection_id).pending == 0


async def test_google_edit_keeps_local_only_properties(h: Harness) -> None:
    extra = "".join(f"{line}\r\n" for line in [*LOCAL_ONLY, *ALARM])
    h.put(UID, ics(UID, "Haircut", extra=extra))
    await h.push()
    eid = event_id(CAL, UID)
    assert h.google()[eid]["summary"] == "Haircut"
    await h.sync()

    h.emu.hooks.external_change(ALICE, "patch", event_id=eid,
                                event={"summary": "Haircut and beard"})
    result = await h.pull()
    assert result.updated == 1
    text = h.local()[UID].text
    event = icalendar.Calendar.from_ical(text).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == "Haircut and beard"
    for line in [*LOCAL_ONLY, *ALARM]:
        assert line in lines(text), line
    await assert_quiet(h, UID)
    assert "PRIORITY:1" in lines(h.local()[UID].text)
    assert h.google()[eid]["summary"] == "Haircut and beard"


def weekly() -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{UID}\r\nDTSTAMP:20300101T000000Z\r\n"
        f"DTSTART;TZID={TZ}:20300304T100000\r\nDTEND;TZID={TZ}:20300304T110000\r\n"
        "RRULE:FREQ=WEEKLY;COUNT=6\r\nSUMMARY:Weekly\r\nPRIORITY:1\r\n"
        "X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\n"
        f"UID:{UID}\r\nDTSTAMP:20300101T000000Z\r\n"
        f"RECURRENCE-ID;TZID={TZ}:20300311T100000\r\n"
        f"DTSTART;TZID={TZ}:20300311T140000\r\nDTEND;TZID={TZ}:20300311T150000\r\n"
        "SUMMARY:Weekly (moved)\r\nGEO:48.1;11.6\r\nCOMMENT:only this one\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    )


async def test_series_keeps_properties_per_component(h: Harness) -> None:
    h.put(UID, weekly())
    await h.push()
    await h.sync()
    eid = event_id(CAL, UID)
    h.emu.hooks.external_change(ALICE, "patch", event_id=eid, event={"summary": "Yoga"})
    h.emu.hooks.external_change(
        ALICE, "patch", event_id=f"{eid}_20300311T090000Z",
        event={"summary": "Yoga (moved)"})
    await h.pull()
    master, moved = icalendar.Calendar.from_ical(h.local()[UID].text).walk("VEVENT")
    assert str(master["SUMMARY"]) == "Yoga" and str(master["PRIORITY"]) == "1"
    assert "X-APPLE-TRAVEL-ADVISORY-BEHAVIOR" in master and "GEO" not in master
    assert str(moved["SUMMARY"]) == "Yoga (moved)"
    assert str(moved["COMMENT"]) == "only this one" and "GEO" in moved
    assert "PRIORITY" not in moved
    await assert_quiet(h, UID)
