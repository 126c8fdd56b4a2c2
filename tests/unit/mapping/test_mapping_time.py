"""Table tests: time values between iCalendar and Google (zones, DST, all-day, floating)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bridge.google.mapping import google_to_ical, ical_to_google, same_content
from bridge.ical.validate import parse_resource
from tests.unit.mapping.mapping_testlib import (
    BERLIN_VTIMEZONE,
    ODD_VTIMEZONE,
    event_props,
    vcal,
    vevent,
)

# (case id, extra blocks, VEVENT lines, calendar zone, expected start, expected end)
TIME_CASES = [
    ("utc", [], ["DTSTART:20300110T090000Z", "DTEND:20300110T100000Z"], "Europe/Berlin",
     {"dateTime": "2030-01-10T09:00:00Z", "timeZone": "UTC"},
     {"dateTime": "2030-01-10T10:00:00Z", "timeZone": "UTC"}),
    ("berlin", [], ["DTSTART;TZID=Europe/Berlin:20300110T100000",
                    "DTEND;TZID=Europe/Berlin:20300110T110000"], "UTC",
     {"dateTime": "2030-01-10T10:00:00+01:00", "timeZone": "Europe/Berlin"},
     {"dateTime": "2030-01-10T11:00:00+01:00", "timeZone": "Europe/Berlin"}),
    ("new-york-summer", [], ["DTSTART;TZID=America/New_York:20300710T100000",
                             "DTEND;TZID=America/New_York:20300710T113000"], "Europe/Berlin",
     {"dateTime": "2030-07-10T10:00:00-04:00", "timeZone": "America/New_York"},
     {"dateTime": "2030-07-10T11:30:00-04:00", "timeZone": "America/New_York"}),
    ("windows-berlin", [], ["DTSTART;TZID=W. Europe Standard Time:20300710T100000",
                            "DTEND;TZID=W. Europe Standard Time:20300710T110000"], "UTC",
     {"dateTime": "2030-07-10T10:00:00+02:00", "timeZone": "Europe/Berlin"},
     {"dateTime": "2030-07-10T11:00:00+02:00", "timeZone": "Europe/Berlin"}),
    ("windows-eastern", [], ["DTSTART;TZID=Eastern Standard Time:20300110T100000",
                             "DTEND;TZID=Eastern Standard Time:20300110T110000"], "UTC",
     {"dateTime": "2030-01-10T10:00:00-05:00", "timeZone": "America/New_York"},
     {"dateTime": "2030-01-10T11:00:00-05:00", "timeZone": "America/New_York"}),
    ("custom-vtimezone", [BERLIN_VTIMEZONE], ["DTSTART;TZID=Berlin custom:20300710T100000",
                                              "DTEND;TZID=Berlin custom:20300710T110000"], "UTC",
     {"dateTime": "2030-07-10T10:00:00+02:00", "timeZone": "Europe/Berlin"},
     {"dateTime": "2030-07-10T11:00:00+02:00", "timeZone": "Europe/Berlin"}),
    ("unmatched-vtimezone-becomes-utc", [ODD_VTIMEZONE],
     ["DTSTART;TZID=Nowhere Time:20300110T100000", "DTEND;TZID=Nowhere Time:20300110T110000"],
     "Europe/Berlin",
     {"dateTime": "2030-01-10T06:43:00Z", "timeZone": "UTC"},
     {"dateTime": "2030-01-10T07:43:00Z", "timeZone": "UTC"}),
    ("floating-in-calendar-zone", [], ["DTSTART:20300110T100000", "DTEND:20300110T110000"],
     "America/New_York",
     {"dateTime": "2030-01-10T10:00:00-05:00", "timeZone": "America/New_York"},
     {"dateTime": "2030-01-10T11:00:00-05:00", "timeZone": "America/New_York"}),
    ("all-day-no-end", [], ["DTSTART;VALUE=DATE:20300110"], "Europe/Berlin",
     {"date": "2030-01-10"}, {"date": "2030-01-11"}),
    ("all-day-one-day", [], ["DTSTART;VALUE=DATE:20300110", "DTEND;VALUE=DATE:20300111"],
     "Europe/Berlin", {"date": "2030-01-10"}, {"date": "2030-01-11"}),
    ("all-day-multi-day", [], ["DTSTART;VALUE=DATE:20301230", "DTEND;VALUE=DATE:20310102"],
     "Europe/Berlin", {"date": "2030-12-30"}, {"date": "2031-01-02"}),
    ("all-day-duration", [], ["DTSTART;VALUE=DATE:20300110", "DURATION:P3D"], "UTC",
     {"date": "2030-01-10"}, {"date": "2030-01-13"}),
    ("all-day-zero-length", [], ["DTSTART;VALUE=DATE:20300110", "DTEND;VALUE=DATE:20300110"],
     "UTC", {"date": "2030-01-10"}, {"date": "2030-01-11"}),
    ("duration-minutes", [], ["DTSTART;TZID=Europe/Berlin:20300110T100000", "DURATION:PT1H30M"],
     "UTC", {"dateTime": "2030-01-10T10:00:00+01:00", "timeZone": "Europe/Berlin"},
     {"dateTime": "2030-01-10T11:30:00+01:00", "timeZone": "Europe/Berlin"}),
    ("duration-day-is-nominal-over-dst", [],
     ["DTSTART;TZID=Europe/Berlin:20300330T120000", "DURATION:P1D"], "UTC",
     {"dateTime": "2030-03-30T12:00:00+01:00", "timeZone": "Europe/Berlin"},
     {"dateTime": "2030-03-31T12:00:00+02:00", "timeZone": "Europe/Berlin"}),
    ("duration-hours-exact-over-dst", [],
     ["DTSTART;TZID=Europe/Berlin:20300331T010000", "DURATION:PT3H"], "UTC",
     {"dateTime": "2030-03-31T01:00:00+01:00", "timeZone": "Europe/Berlin"},
     {"dateTime": "2030-03-31T05:00:00+02:00", "timeZone": "Europe/Berlin"}),
    ("no-end-timed", [], ["DTSTART;TZID=Europe/Berlin:20300110T100000"], "UTC",
     {"dateTime": "2030-01-10T10:00:00+01:00", "timeZone": "Europe/Berlin"},
     {"dateTime": "2030-01-10T10:00:00+01:00", "timeZone": "Europe/Berlin"}),
    ("spans-midnight", [], ["DTSTART;TZID=Europe/Berlin:20301231T230000",
                            "DTEND;TZID=Europe/Berlin:20310101T013000"], "UTC",
     {"dateTime": "2030-12-31T23:00:00+01:00", "timeZone": "Europe/Berlin"},
     {"dateTime": "2031-01-01T01:30:00+01:00", "timeZone": "Europe/Berlin"}),
    ("berlin-spring-forward", [], ["DTSTART;TZID=Europe/Berlin:20300331T013000",
                                   "DTEND;TZID=Europe/Berlin:20300331T033000"], "UTC",
     {"dateTime": "2030-03-31T01:30:00+01:00", "timeZone": "Europe/Berlin"},
     {"dateTime": "2030-03-31T03:30:00+02:00", "timeZone": "Europe/Berlin"}),
    ("berlin-in-the-gap-moves-forward", [], ["DTSTART;TZID=Europe/Berlin:20300331T023000",
                                             "DTEND;TZID=Europe/Berlin:20300331T040000"], "UTC",
     {"dateTime": "2030-03-31T03:30:00+02:00", "timeZone": "Europe/Berlin"},
     {"dateTime": "2030-03-31T04:00:00+02:00", "timeZone": "Europe/Berlin"}),
    ("berlin-fall-back-ambiguous-is-first", [], ["DTSTART;TZID=Europe/Berlin:20301027T023000",
                                                 "DTEND;TZID=Europe/Berlin:20301027T033000"],
     "UTC",
     {"dateTime": "2030-10-27T02:30:00+02:00", "timeZone": "Europe/Berlin"},
     {"dateTime": "2030-10-27T03:30:00+01:00", "timeZone": "Europe/Berlin"}),
    ("new-york-spring-forward", [], ["DTSTART;TZID=America/New_York:20300310T013000",
                                     "DTEND;TZID=America/New_York:20300310T033000"], "UTC",
     {"dateTime": "2030-03-10T01:30:00-05:00", "timeZone": "America/New_York"},
     {"dateTime": "2030-03-10T03:30:00-04:00", "timeZone": "America/New_York"}),
    ("new-york-fall-back", [], ["DTSTART;TZID=America/New_York:20301103T013000",
                                "DTEND;TZID=America/New_York:20301103T013000"], "UTC",
     {"dateTime": "2030-11-03T01:30:00-04:00", "timeZone": "America/New_York"},
     {"dateTime": "2030-11-03T01:30:00-04:00", "timeZone": "America/New_York"}),
    ("new-york-overnight-over-fall-back", [],
     ["DTSTART;TZID=America/New_York:20301102T220000",
      "DTEND;TZID=America/New_York:20301103T060000"], "UTC",
     {"dateTime": "2030-11-02T22:00:00-04:00", "timeZone": "America/New_York"},
     {"dateTime": "2030-11-03T06:00:00-05:00", "timeZone": "America/New_York"}),
    ("end-in-other-zone", [], ["DTSTART;TZID=Europe/Berlin:20300110T100000",
                               "DTEND;TZID=America/New_York:20300110T060000"], "UTC",
     {"dateTime": "2030-01-10T10:00:00+01:00", "timeZone": "Europe/Berlin"},
     {"dateTime": "2030-01-10T06:00:00-05:00", "timeZone": "America/New_York"}),
]


@pytest.mark.parametrize(
    ("blocks", "lines", "tz", "start", "end"),
    [case[1:] for case in TIME_CASES],
    ids=[case[0] for case in TIME_CASES],
)
def test_time_to_google_and_back(
    blocks: list[str], lines: list[str], tz: str, start: dict[str, str], end: dict[str, str]
) -> None:
    text = vcal(*blocks, vevent(*lines, "SUMMARY:t"))
    result = ical_to_google(text, calendar_key="cal", calendar_tz=tz)
    assert result.master["start"] == start
    assert result.master["end"] == end
    back = google_to_ical(result.master, [], calendar_tz=tz)
    parse_resource(back)
    assert same_content(text, back, calendar_tz=tz)
    assert same_content(text, result, calendar_tz=tz)


def test_floating_is_flagged_and_comes_back_floating() -> None:
    text = vcal(vevent("DTSTART:20300110T100000", "DTEND:20300110T110000"))
    result = ical_to_google(text, calendar_key="cal", calendar_tz="Europe/Berlin")
    assert result.master["extendedProperties"]["private"]["terminFloating"] == "1"
    back = google_to_ical(result.master, [], calendar_tz="Europe/Berlin")
    ev = event_props(back)
    assert ev["DTSTART"].dt == datetime(2030, 1, 10, 10, 0)
    assert ev["DTSTART"].dt.tzinfo is None
    assert "VTIMEZONE" not in back


def test_floating_event_moved_in_google_stays_floating_at_new_wall_time() -> None:
    text = vcal(vevent("DTSTART:20300110T100000", "DTEND:20300110T110000"))
    body = ical_to_google(text, calendar_key="c", calendar_tz="Europe/Berlin").master
    body["start"] = {"dateTime": "2030-01-10T13:00:00+01:00", "timeZone": "Europe/Berlin"}
    body["end"] = {"dateTime": "2030-01-10T14:00:00+01:00", "timeZone": "Europe/Berlin"}
    ev = event_props(google_to_ical(body, [], calendar_tz="Europe/Berlin"))
    assert ev["DTSTART"].dt == datetime(2030, 1, 10, 13, 0)


def test_floating_and_zoned_at_same_wall_time_differ() -> None:
    floating = vcal(vevent("DTSTART:20300110T100000", "DTEND:20300110T110000"))
    zoned = vcal(vevent("DTSTART;TZID=Europe/Berlin:20300110T100000",
                        "DTEND;TZID=Europe/Berlin:20300110T110000"))
    assert not same_content(floating, zoned, calendar_tz="Europe/Berlin")


def test_tzid_spelling_does_not_count() -> None:
    iana = vcal(vevent("DTSTART;TZID=Europe/Berlin:20300710T100000",
                       "DTEND;TZID=Europe/Berlin:20300710T110000"))
    windows = vcal(vevent("DTSTART;TZID=W. Europe Standard Time:20300710T100000",
                          "DTEND;TZID=W. Europe Standard Time:20300710T110000"))
    custom = vcal(BERLIN_VTIMEZONE, vevent("DTSTART;TZID=Berlin custom:20300710T100000",
                                           "DTEND;TZID=Berlin custom:20300710T110000"))
    assert same_content(iana, windows)
    assert same_content(iana, custom)


# (case id, Google start, Google end, calendar zone, expected DTSTART, expected DTEND)
GOOGLE_TIME_CASES = [
    ("zone-given", {"dateTime": "2030-01-10T10:00:00+01:00", "timeZone": "Europe/Berlin"},
     {"dateTime": "2030-01-10T11:00:00+01:00", "timeZone": "Europe/Berlin"}, "UTC",
     datetime(2030, 1, 10, 10, tzinfo=ZoneInfo("Europe/Berlin")),
     datetime(2030, 1, 10, 11, tzinfo=ZoneInfo("Europe/Berlin"))),
    ("offset-only-uses-calendar-zone", {"dateTime": "2030-01-10T09:00:00Z"},
     {"dateTime": "2030-01-10T10:00:00Z"}, "America/New_York",
     datetime(2030, 1, 10, 4, tzinfo=ZoneInfo("America/New_York")),
     datetime(2030, 1, 10, 5, tzinfo=ZoneInfo("America/New_York"))),
    ("utc-zone", {"dateTime": "2030-01-10T09:00:00.000Z", "timeZone": "Etc/UTC"},
     {"dateTime": "2030-01-10T10:00:00.000Z", "timeZone": "Etc/UTC"}, "Europe/Berlin",
     datetime(2030, 1, 10, 9, tzinfo=ZoneInfo("UTC")),
     datetime(2030, 1, 10, 10, tzinfo=ZoneInfo("UTC"))),
    ("all-day-exclusive-end", {"date": "2030-01-10"}, {"date": "2030-01-12"}, "UTC",
     date(2030, 1, 10), date(2030, 1, 12)),
    ("all-day-bad-end-fixed", {"date": "2030-01-10"}, {"date": "2030-01-10"}, "UTC",
     date(2030, 1, 10), date(2030, 1, 11)),
]


@pytest.mark.parametrize(
    ("start", "end", "tz", "dtstart", "dtend"),
    [case[1:] for case in GOOGLE_TIME_CASES],
    ids=[case[0] for case in GOOGLE_TIME_CASES],
)
def test_time_from_google(
    start: dict[str, str], end: dict[str, str], tz: str, dtstart: object, dtend: object
) -> None:
    item = {"kind": "calendar#event", "id": "evt00001", "status": "confirmed",
            "summary": "x", "start": start, "end": end, "iCalUID": "evt00001@google.com"}
    text = google_to_ical(item, [], calendar_tz=tz)
    ev = event_props(text)
    assert ev["DTSTART"].dt == dtstart
    assert ev["DTEND"].dt == dtend
    if isinstance(dtstart, datetime):
        assert ev["DTSTART"].dt.utcoffset() == dtstart.utcoffset()
    assert same_content(item, ical_to_google(text, calendar_key="c", calendar_tz=tz,
                                             event_id="evt00001").master, calendar_tz=tz)
