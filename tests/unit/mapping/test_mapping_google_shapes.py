"""Real Google event shapes (full responses as Google documents them) parsed without loss."""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bridge.google.mapping import (
    EventDeleted,
    google_hash,
    google_to_ical,
    ical_to_google,
    is_echo,
    is_syncable,
    same_content,
)
from bridge.ical.validate import parse_resource
from tests.unit.mapping.mapping_testlib import event_props

LA = ZoneInfo("America/Los_Angeles")

# The shape of the events.get example in Google's API reference / guides.
RECURRING_MASTER: dict[str, Any] = {
    "kind": "calendar#event",
    "etag": '"3181161784712000"',
    "id": "4eahs9ghkhrvkld72hogu9ph3e",
    "status": "confirmed",
    "htmlLink": "https://www.google.com/calendar/event?eid=NGVhaHM5Z2hraHJ2a2xkNzJob2d1OXBoM2U",
    "created": "2025-05-20T20:40:24.000Z",
    "updated": "2025-05-20T20:41:32.356Z",
    "summary": "Google I/O",
    "description": "A chance to hear more about Google's developer products.",
    "location": "800 Howard St., San Francisco, CA 94103",
    "creator": {"email": "owner@example.com", "displayName": "Owner", "self": True},
    "organizer": {"email": "owner@example.com", "displayName": "Owner", "self": True},
    "start": {"dateTime": "2030-05-28T09:00:00-07:00", "timeZone": "America/Los_Angeles"},
    "end": {"dateTime": "2030-05-28T17:00:00-07:00", "timeZone": "America/Los_Angeles"},
    "recurrence": ["RRULE:FREQ=DAILY;COUNT=4",
                   "EXDATE;TZID=America/Los_Angeles:20300530T090000"],
    "iCalUID": "4eahs9ghkhrvkld72hogu9ph3e@google.com",
    "sequence": 1,
    "attendees": [
        {"email": "owner@example.com", "displayName": "Owner", "organizer": True, "self": True,
         "responseStatus": "accepted"},
        {"email": "lpage@example.com", "responseStatus": "needsAction"},
        {"email": "sbrin@example.com", "displayName": "Sergey", "optional": True,
         "responseStatus": "tentative", "comment": "maybe"},
        {"email": "c_1889@resource.calendar.google.com", "displayName": "Room 1",
         "resource": True, "responseStatus": "accepted"},
    ],
    "guestsCanModify": False,
    "hangoutLink": "https://meet.google.com/abc-defg-hij",
    "conferenceData": {"conferenceId": "abc-defg-hij", "entryPoints": []},
    "reminders": {"useDefault": False, "overrides": [{"method": "email", "minutes": 1440},
                                                     {"method": "popup", "minutes": 10}]},
    "colorId": "5",
    "eventType": "default",
}

MOVED_EXCEPTION: dict[str, Any] = {
    **copy.deepcopy(RECURRING_MASTER),
    "etag": '"3181161784712001"',
    "id": "4eahs9ghkhrvkld72hogu9ph3e_20300529T160000Z",
    "summary": "Google I/O (day 2, afternoon)",
    "start": {"dateTime": "2030-05-29T13:00:00-07:00", "timeZone": "America/Los_Angeles"},
    "end": {"dateTime": "2030-05-29T18:00:00-07:00", "timeZone": "America/Los_Angeles"},
    "recurringEventId": "4eahs9ghkhrvkld72hogu9ph3e",
    "originalStartTime": {"dateTime": "2030-05-29T09:00:00-07:00",
                          "timeZone": "America/Los_Angeles"},
}
del MOVED_EXCEPTION["recurrence"]

CANCELLED_EXCEPTION: dict[str, Any] = {
    "kind": "calendar#event",
    "etag": '"3181161784712002"',
    "id": "4eahs9ghkhrvkld72hogu9ph3e_20300531T160000Z",
    "status": "cancelled",
    "recurringEventId": "4eahs9ghkhrvkld72hogu9ph3e",
    "originalStartTime": {"dateTime": "2030-05-31T09:00:00-07:00",
                          "timeZone": "America/Los_Angeles"},
}

ALL_DAY: dict[str, Any] = {
    "kind": "calendar#event", "etag": '"1"', "id": "7cbh8rpc10lrc0ckih9tafss99",
    "status": "confirmed", "htmlLink": "https://www.google.com/calendar/event?eid=x",
    "created": "2025-01-01T00:00:00.000Z", "updated": "2025-01-02T00:00:00.000Z",
    "summary": "Holiday", "transparency": "transparent", "visibility": "private",
    "creator": {"email": "owner@example.com", "self": True},
    "organizer": {"email": "owner@example.com", "self": True},
    "start": {"date": "2030-12-24"}, "end": {"date": "2030-12-27"},
    "iCalUID": "7cbh8rpc10lrc0ckih9tafss99@google.com", "sequence": 0,
    "reminders": {"useDefault": True}, "eventType": "default",
}


def test_recurring_series_with_exceptions_parsed_without_loss() -> None:
    text = google_to_ical(RECURRING_MASTER, [MOVED_EXCEPTION, CANCELLED_EXCEPTION],
                          calendar_tz="Europe/Berlin")
    parsed = parse_resource(text)
    assert parsed.uid == "4eahs9ghkhrvkld72hogu9ph3e@google.com"
    assert parsed.recurring
    master, moved = event_props(text, 0), event_props(text, 1)
    assert master["DTSTART"].dt == datetime(2030, 5, 28, 9, tzinfo=LA)
    assert master["DTEND"].dt == datetime(2030, 5, 28, 17, tzinfo=LA)
    assert str(master["SUMMARY"]) == "Google I/O"
    assert str(master["LOCATION"]) == RECURRING_MASTER["location"]
    assert str(master["DESCRIPTION"]) == RECURRING_MASTER["description"]
    assert master["RRULE"].to_ical() == b"FREQ=DAILY;COUNT=4"
    exdates = sorted(d.dt for prop in _list(master["EXDATE"]) for d in prop.dts)
    assert exdates == [datetime(2030, 5, 30, 9, tzinfo=LA), datetime(2030, 5, 31, 9, tzinfo=LA)]
    assert str(master["ORGANIZER"]) == "mailto:owner@example.com"
    attendees = {str(a): a.params for a in master["ATTENDEE"]}
    assert set(attendees) == {"mailto:lpage@example.com", "mailto:sbrin@example.com",
                              "mailto:c_1889@resource.calendar.google.com"}
    assert attendees["mailto:sbrin@example.com"]["PARTSTAT"] == "TENTATIVE"
    assert attendees["mailto:sbrin@example.com"]["ROLE"] == "OPT-PARTICIPANT"
    assert attendees["mailto:c_1889@resource.calendar.google.com"]["CUTYPE"] == "RESOURCE"
    assert int(master["SEQUENCE"]) == 1
    assert master["DTSTAMP"].dt == datetime(2025, 5, 20, 20, 41, 32, tzinfo=ZoneInfo("UTC"))
    triggers = sorted(a["TRIGGER"].dt for a in master.subcomponents)
    assert triggers == [timedelta(days=-1), timedelta(minutes=-10)]
    assert moved["RECURRENCE-ID"].dt == datetime(2030, 5, 29, 9, tzinfo=LA)
    assert moved["DTSTART"].dt == datetime(2030, 5, 29, 13, tzinfo=LA)
    assert str(moved["SUMMARY"]) == "Google I/O (day 2, afternoon)"
    assert "BEGIN:VTIMEZONE\r\nTZID:America/Los_Angeles" in text


def test_real_series_round_trips_through_our_bodies() -> None:
    exceptions = [MOVED_EXCEPTION, CANCELLED_EXCEPTION]
    text = google_to_ical(RECURRING_MASTER, exceptions, calendar_tz="Europe/Berlin")
    result = ical_to_google(text, calendar_key="cal", calendar_tz="Europe/Berlin",
                            event_id=RECURRING_MASTER["id"])
    assert same_content((RECURRING_MASTER, exceptions), result)
    assert result.master["id"] == RECURRING_MASTER["id"]
    assert [e["id"] for e in result.exceptions] == [MOVED_EXCEPTION["id"]]
    assert CANCELLED_EXCEPTION["id"] in result.excluded_instance_ids
    assert result.master["start"]["timeZone"] == "America/Los_Angeles"
    # Our write, echoed by Google, is recognised; the original Google item is not ours.
    assert not is_echo(RECURRING_MASTER)
    text2 = google_to_ical(result.master, list(result.exceptions), calendar_tz="Europe/Berlin")
    assert same_content(text, text2)


def test_google_noise_does_not_change_the_hash() -> None:
    noisy = copy.deepcopy(RECURRING_MASTER)
    noisy.update(etag='"9"', updated="2026-01-01T00:00:00.000Z", htmlLink="https://x",
                 sequence=5, colorId="7", hangoutLink=None, kind="calendar#event")
    noisy["creator"] = {"email": "someone@example.com"}
    noisy["attendees"] = list(reversed(noisy["attendees"]))
    noisy["recurrence"] = ["EXDATE:20300530T160000Z", "RRULE:COUNT=4;FREQ=DAILY"]
    assert google_hash(noisy) == google_hash(RECURRING_MASTER)
    assert same_content(noisy, RECURRING_MASTER)
    noisy["location"] = "elsewhere"
    assert not same_content(noisy, RECURRING_MASTER)


def test_all_day_event_from_google() -> None:
    text = google_to_ical(ALL_DAY, [], calendar_tz="Europe/Berlin")
    ev = event_props(text)
    assert ev["DTSTART"].dt == date(2030, 12, 24)
    assert ev["DTEND"].dt == date(2030, 12, 27)  # both sides: exclusive end
    assert str(ev["TRANSP"]) == "TRANSPARENT"
    assert str(ev["CLASS"]) == "PRIVATE"
    assert "VALARM" not in text
    assert "X-TERMIN-GOOGLE-REMINDERS" not in text
    body = ical_to_google(text, calendar_key="c", calendar_tz="Europe/Berlin",
                          event_id=ALL_DAY["id"]).master
    assert body["start"] == {"date": "2030-12-24"}
    assert body["end"] == {"date": "2030-12-27"}
    assert same_content(ALL_DAY, body)


def test_special_event_types() -> None:
    assert is_syncable(ALL_DAY)
    assert is_syncable({**ALL_DAY, "eventType": "outOfOffice"})
    assert not is_syncable({**ALL_DAY, "eventType": "workingLocation"})
    assert not is_syncable({**ALL_DAY, "eventType": "birthday"})
    text = google_to_ical({**ALL_DAY, "eventType": "focusTime"}, [], calendar_tz="UTC")
    assert same_content(text, google_to_ical(ALL_DAY, [], calendar_tz="UTC"))


def test_minimal_cancelled_master_tombstone_is_a_deletion() -> None:
    tombstone = {"kind": "calendar#event", "etag": '"5"', "id": "7cbh8rpc10lrc0ckih9tafss99",
                 "status": "cancelled"}
    with pytest.raises(EventDeleted) as info:
        google_to_ical(tombstone, [], calendar_tz="UTC")
    assert info.value.event_id == tombstone["id"]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
