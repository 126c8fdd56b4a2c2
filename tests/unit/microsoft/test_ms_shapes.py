"""Example tests with Graph JSON as Graph answers it (shapes from the Graph v1.0 event
reference and its examples): a series master with exceptions and cancelled occurrences, all-day
events answered in another zone, Windows and UTC zone spellings, occurrence keys."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from icalendar import Calendar

from bridge.ical.model import EventDeleted, MappingError
from bridge.ical.validate import parse_resource
from bridge.microsoft.mapping import (
    graph_hash,
    graph_to_ical,
    graph_to_resource,
    ical_hash,
    ical_to_graph,
    item_uid,
    occurrence_key,
)
from bridge.microsoft.mapping_graph import PROP_UID

MASTER_ID = "AAMkAGIAAAoZDOFAAA="
WEST = "W. Europe Standard Time"
HTML = ("<html>\r\n<head>\r\n<meta http-equiv=\"Content-Type\" content=\"text/html; "
        "charset=utf-8\">\r\n</head>\r\n<body>\r\n<div>Does noon work for you?<br>\r\n"
        "Bring the <b>menu</b> &amp; a pen.</div>\r\n</body>\r\n</html>\r\n")


def series_master() -> dict[str, Any]:
    """A weekday lunch series in Pacific time as ``GET /me/events/{id}`` answers it."""
    return {
        "@odata.etag": 'W/"hJSYzq5B7UOZ4m3bSMD4BAAAAAAGjg=="',
        "id": MASTER_ID,
        "createdDateTime": "2017-08-30T07:06:33.8673345Z",
        "lastModifiedDateTime": "2017-08-30T07:06:34.5079772Z",
        "changeKey": "hJSYzq5B7UOZ4m3bSMD4BAAAAAAGjg==",
        "categories": ["Red category"],
        "originalStartTimeZone": "Pacific Standard Time",
        "originalEndTimeZone": "Pacific Standard Time",
        "iCalUId": "040000008200E00074C5B7101A82E00800000000D02AC02A76B5C8D3010000000000000000"
                   "10000000D61E11D3A66F584B9F7DD6FD00F6C1A4",
        "reminderMinutesBeforeStart": 15,
        "isReminderOn": True,
        "hasAttachments": False,
        "subject": "Let's go for lunch",
        "bodyPreview": "Does noon work for you?",
        "importance": "normal",
        "sensitivity": "normal",
        "isAllDay": False,
        "isCancelled": False,
        "isOrganizer": True,
        "responseRequested": True,
        "seriesMasterId": None,
        "showAs": "busy",
        "type": "seriesMaster",
        "webLink": "https://outlook.office365.com/owa/?itemid=AAMkAGIAAAoZDOFAAA%3D",
        "onlineMeetingUrl": None,
        "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
        "body": {"contentType": "html", "content": HTML},
        "start": {"dateTime": "2017-09-04T12:00:00.0000000", "timeZone": "Pacific Standard Time"},
        "end": {"dateTime": "2017-09-04T14:00:00.0000000", "timeZone": "Pacific Standard Time"},
        "location": {"displayName": "Harry's Bar", "locationType": "default",
                     "uniqueId": "Harry's Bar", "uniqueIdType": "private"},
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "month": 0, "dayOfMonth": 0,
                        "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                        "firstDayOfWeek": "sunday", "index": "first"},
            "range": {"type": "endDate", "startDate": "2017-09-04", "endDate": "2017-12-31",
                      "recurrenceTimeZone": "Pacific Standard Time", "numberOfOccurrences": 0},
        },
        "attendees": [{"type": "required",
                       "status": {"response": "accepted", "time": "2017-08-30T08:00:00Z"},
                       "emailAddress": {"name": "Adele Vance",
                                        "address": "AdeleV@contoso.onmicrosoft.com"}}],
        "organizer": {"emailAddress": {"name": "Alex Wilber",
                                       "address": "AlexW@contoso.onmicrosoft.com"}},
    }


def exception() -> dict[str, Any]:
    """The Wednesday 6 September lunch moved to 13:00, as ``/instances`` lists it (answered
    in UTC: no ``Prefer: outlook.timezone``)."""
    row = copy.deepcopy(series_master())
    row.update({
        "id": "AAMkAGIAAAoZDOFAAA=_exc1", "type": "exception", "seriesMasterId": MASTER_ID,
        "originalStart": "2017-09-06T19:00:00Z", "recurrence": None,
        "subject": "Lunch, later",
        "start": {"dateTime": "2017-09-06T20:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2017-09-06T22:00:00.0000000", "timeZone": "UTC"},
    })
    return row


def test_a_series_master_with_exceptions_and_cancelled_occurrences() -> None:
    cancelled = ["2017-09-07T19:00:00Z", f"OID.{MASTER_ID}.2017-09-08"]
    text = graph_to_ical(series_master(), [exception()], cancelled, calendar_tz="Europe/Berlin")
    parse_resource(text)
    cal = Calendar.from_ical(text)
    master, override = cal.walk("VEVENT")
    assert str(master["UID"]) == series_master()["iCalUId"]
    assert master["DTSTART"].params["TZID"] == "America/Los_Angeles"
    assert master["DTSTART"].dt.hour == 12
    assert master["RRULE"].to_ical() == (
        b"FREQ=WEEKLY;UNTIL=20171231T200000Z;BYDAY=MO,TU,WE,TH,FR")
    assert sorted(d.dt.day for p in master["EXDATE"] for d in p.dts) == [7, 8]
    assert str(master["DESCRIPTION"]) == "Does noon work for you?\nBring the menu & a pen."
    assert str(master["LOCATION"]) == "Harry's Bar"
    assert [str(c) for c in master["CATEGORIES"].cats] == ["Red category"]
    assert str(master["ATTENDEE"]) == "mailto:adelev@contoso.onmicrosoft.com"
    assert master["ATTENDEE"].params["PARTSTAT"] == "ACCEPTED"
    assert str(master["ORGANIZER"]) == "mailto:alexw@contoso.onmicrosoft.com"
    assert master.walk("VALARM")[0]["TRIGGER"].to_ical() == b"-PT15M"
    assert override["RECURRENCE-ID"].dt.hour == 12 and override["RECURRENCE-ID"].dt.day == 6
    assert override["DTSTART"].dt.hour == 13
    assert str(override["SUMMARY"]) == "Lunch, later"
    # The written bodies: no attendees, the pattern in Windows zone names, Monday weeks.
    bodies = ical_to_graph(text, calendar_tz="Europe/Berlin")
    assert bodies.unsupported == ()
    assert "attendees" not in bodies.master and "organizer" not in bodies.master
    assert bodies.master["start"] == {"dateTime": "2017-09-04T12:00:00",
                                      "timeZone": "Pacific Standard Time"}
    assert bodies.master["recurrence"]["range"] == {
        "type": "endDate", "startDate": "2017-09-04", "endDate": "2017-12-31",
        "recurrenceTimeZone": "Pacific Standard Time", "numberOfOccurrences": 0}
    assert bodies.master["recurrence"]["pattern"]["daysOfWeek"] == series_master()[
        "recurrence"]["pattern"]["daysOfWeek"]
    assert [o.original_start for o in bodies.exdates] == ["2017-09-07T19:00:00Z",
                                                          "2017-09-08T19:00:00Z"]
    (moved,) = bodies.overrides
    assert moved.original_start == "2017-09-06T19:00:00Z"
    assert moved.key == occurrence_key(exception(), master=series_master(),
                                       calendar_tz="Europe/Berlin")
    # One hash space: Graph's series and the resource made of it.
    series = (series_master(), [exception()], cancelled)
    assert graph_hash(series, calendar_tz="Europe/Berlin") == ical_hash(
        text, calendar_tz="Europe/Berlin") == bodies.content_hash
    parsed, digest = graph_to_resource(*series, calendar_tz="Europe/Berlin")
    assert parsed.text == text and digest == bodies.content_hash


def test_occurrence_rows_answered_in_another_zone_find_their_occurrence() -> None:
    row = exception()
    row["originalStart"] = "2017-09-06T12:00:00-07:00"
    row["start"] = {"dateTime": "2017-09-06T22:00:00.0000000", "timeZone": WEST}
    assert occurrence_key(row, master=series_master(), calendar_tz="UTC") == "Z20170906T190000Z"


def test_all_day_event_answered_in_utc_keeps_its_dates() -> None:
    item = {
        "id": "AAMkAllDay", "iCalUId": "allday-1", "type": "singleInstance",
        "subject": "Betriebsausflug", "isAllDay": True, "showAs": "free",
        "sensitivity": "private", "isReminderOn": False, "reminderMinutesBeforeStart": 1080,
        "originalStartTimeZone": "W. Europe Standard Time",
        "originalEndTimeZone": "W. Europe Standard Time",
        "start": {"dateTime": "2025-03-09T23:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2025-03-11T23:00:00.0000000", "timeZone": "UTC"},
        "body": {"contentType": "text", "content": ""},
    }
    text = graph_to_ical(item, calendar_tz="W. Europe Standard Time")
    event = Calendar.from_ical(text).walk("VEVENT")[0]
    assert event["DTSTART"].to_ical() == b"20250310" and event["DTEND"].to_ical() == b"20250312"
    assert str(event["TRANSP"]) == "TRANSPARENT" and str(event["CLASS"]) == "PRIVATE"
    assert not event.walk("VALARM")
    body = ical_to_graph(text, calendar_tz="Europe/Berlin").master
    assert body["isAllDay"] is True
    assert body["start"] == {"dateTime": "2025-03-10T00:00:00", "timeZone": WEST}
    assert body["end"] == {"dateTime": "2025-03-12T00:00:00", "timeZone": WEST}
    assert (body["showAs"], body["sensitivity"], body["isReminderOn"]) == ("free", "private", False)


@pytest.mark.parametrize("zone", ["UTC", "tzone://Microsoft/Utc", "Etc/GMT"])
def test_utc_spellings(zone: str) -> None:
    item = {"id": "x", "iCalUId": "utc-1", "subject": "Call",
            "start": {"dateTime": "2025-06-01T08:00:00.0000000", "timeZone": zone},
            "end": {"dateTime": "2025-06-01T08:30:00.0000000", "timeZone": zone}}
    event = Calendar.from_ical(graph_to_ical(item, calendar_tz="Europe/Berlin")).walk(
        "VEVENT")[0]
    assert event["DTSTART"].to_ical() == b"20250601T080000Z"


def test_windows_and_iana_names_are_one_zone() -> None:
    base = {"id": "x", "iCalUId": "w-1", "subject": "Sprechstunde",
            "start": {"dateTime": "2025-10-26T09:00:00", "timeZone": "W. Europe Standard Time"},
            "end": {"dateTime": "2025-10-26T10:00:00", "timeZone": "W. Europe Standard Time"},
            "recurrence": {"pattern": {"type": "daily", "interval": 1},
                           "range": {"type": "numbered", "startDate": "2025-10-26",
                                     "numberOfOccurrences": 3}}}
    iana = copy.deepcopy(base)
    iana["start"]["timeZone"] = iana["end"]["timeZone"] = "Europe/Berlin"
    assert graph_hash(base) == graph_hash(iana)
    text = graph_to_ical(base, calendar_tz="UTC")
    assert "DTSTART;TZID=Europe/Berlin:20251026T090000" in text
    assert "RRULE:FREQ=DAILY;COUNT=3" in text


def test_our_uid_comes_from_the_extended_property_in_any_case() -> None:
    item = series_master()
    item["singleValueExtendedProperties"] = [
        {"id": PROP_UID.upper().replace("NAME TERMINBRIDGEUID", "Name terminBridgeUid"),
         "value": "appt-7@termin.test"}]
    assert item_uid(item) == "appt-7@termin.test"
    del item["singleValueExtendedProperties"]
    assert item_uid(item) == item["iCalUId"]


def test_cancelled_masters_and_foreign_exceptions_are_refused() -> None:
    with pytest.raises(EventDeleted):
        graph_to_ical({**series_master(), "isCancelled": True}, calendar_tz="UTC")
    foreign = {**exception(), "seriesMasterId": "another"}
    with pytest.raises(MappingError):
        graph_to_ical(series_master(), [foreign], calendar_tz="UTC")
    with pytest.raises(MappingError):
        graph_to_ical(exception(), calendar_tz="UTC")


def test_attendees_reach_graph_only_when_allowed() -> None:
    text = graph_to_ical(series_master(), calendar_tz="UTC")
    assert "attendees" not in ical_to_graph(text, calendar_tz="UTC").master
    allowed = ical_to_graph(text, calendar_tz="UTC", write_attendees=True).master
    assert allowed["attendees"] == [{"emailAddress": {"address": "adelev@contoso.onmicrosoft.com",
                                                      "name": "Adele Vance"},
                                     "type": "required"}]
    assert "organizer" not in allowed
    # Answers do not count, attendees do only when written.
    answered = series_master()
    answered["attendees"][0]["status"]["response"] = "declined"
    for write in (False, True):
        assert graph_hash(answered, write_attendees=write) == graph_hash(
            series_master(), write_attendees=write)
    alone = series_master()
    alone["attendees"] = []
    assert graph_hash(alone) == graph_hash(series_master())
    assert graph_hash(alone, write_attendees=True) != graph_hash(series_master(),
                                                                 write_attendees=True)


def test_a_series_across_the_dst_change_keeps_its_wall_clock() -> None:
    master = {
        "id": "AAMkDst", "iCalUId": "dst-1", "type": "seriesMaster", "subject": "Team",
        "originalStartTimeZone": WEST, "originalEndTimeZone": WEST,
        "start": {"dateTime": "2025-03-24T08:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2025-03-24T09:00:00.0000000", "timeZone": "UTC"},
        "recurrence": {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"],
                                   "firstDayOfWeek": "sunday"},
                       "range": {"type": "numbered", "startDate": "2025-03-24",
                                 "numberOfOccurrences": 3, "recurrenceTimeZone": WEST}},
    }
    moved = {**master, "id": "AAMkDst-2", "type": "exception", "seriesMasterId": "AAMkDst",
             "recurrence": None, "originalStart": "2025-03-31T07:00:00Z",
             "start": {"dateTime": "2025-03-31T08:00:00.0000000", "timeZone": "UTC"},
             "end": {"dateTime": "2025-03-31T09:00:00.0000000", "timeZone": "UTC"}}
    text = graph_to_ical(master, [moved], ["2025-04-07T07:00:00Z"], calendar_tz="UTC")
    assert "DTSTART;TZID=Europe/Berlin:20250324T090000" in text
    assert "RECURRENCE-ID;TZID=Europe/Berlin:20250331T090000" in text
    assert "DTSTART;TZID=Europe/Berlin:20250331T100000" in text
    assert "EXDATE;TZID=Europe/Berlin:20250407T090000" in text
    bodies = ical_to_graph(text, calendar_tz="UTC")
    assert [o.original_start for o in bodies.overrides] == ["2025-03-31T07:00:00Z"]
    assert bodies.master["start"] == {"dateTime": "2025-03-24T09:00:00", "timeZone": WEST}


@pytest.mark.parametrize("day", [30, 31])
def test_a_day_of_month_past_the_months_end_is_its_last_day(day: int) -> None:
    """Outlook's ``absoluteYearly`` on April 31 falls on April 30 (Exchange's DayOfMonth rule):
    one RRULE and one hash whichever day Graph holds (found by the property test in CI)."""
    master = {
        "id": "AAMkApril", "iCalUId": "april-1", "type": "seriesMaster", "isAllDay": True,
        "originalStartTimeZone": WEST, "originalEndTimeZone": WEST,
        "start": {"dateTime": "2024-04-30T00:00:00.0000000", "timeZone": WEST},
        "end": {"dateTime": "2024-05-01T00:00:00.0000000", "timeZone": WEST},
        "recurrence": {"pattern": {"type": "absoluteYearly", "interval": 1, "month": 4,
                                   "dayOfMonth": day, "firstDayOfWeek": "sunday"},
                       "range": {"type": "numbered", "startDate": "2024-04-30",
                                 "numberOfOccurrences": 3, "recurrenceTimeZone": WEST}},
    }
    text = graph_to_ical(master, calendar_tz="Europe/Berlin")
    assert "RRULE:FREQ=YEARLY;COUNT=3;BYMONTHDAY=30;BYMONTH=4" in text
    bodies = ical_to_graph(text, calendar_tz="Europe/Berlin")
    assert bodies.master["recurrence"]["pattern"]["dayOfMonth"] == 30
    assert graph_hash((master, [], []), calendar_tz="Europe/Berlin") == bodies.content_hash
