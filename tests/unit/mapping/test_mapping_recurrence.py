"""Table tests: recurrence, overrides, cancelled instances, ids and a missing master."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from bridge.errors import InvalidICalendar
from bridge.google import ids
from bridge.google.mapping import (
    MappingError,
    MasterRequired,
    UnsupportedResource,
    google_hash,
    google_to_ical,
    ical_hash,
    ical_to_google,
    is_echo,
    same_content,
)
from bridge.ical.validate import parse_resource
from tests.unit.mapping.mapping_testlib import (
    cancelled_instance,
    event_props,
    google_echo,
    vcal,
    vevent,
)

BERLIN = ZoneInfo("Europe/Berlin")
WEEKLY = [
    "DTSTART;TZID=Europe/Berlin:20300110T100000",
    "DTEND;TZID=Europe/Berlin:20300110T110000",
    "RRULE:FREQ=WEEKLY;COUNT=6",
    "SUMMARY:Weekly",
]


def series(*overrides: str, master: list[str] | None = None) -> str:
    return vcal(vevent(*(master or WEEKLY)), *overrides)


def override(rid: str, *lines: str) -> str:
    return vevent(f"RECURRENCE-ID;TZID=Europe/Berlin:{rid}", *lines)


# (case id, master lines, expected recurrence list)
RECURRENCE_CASES = [
    ("rrule-only", WEEKLY, ["RRULE:FREQ=WEEKLY;COUNT=6"]),
    ("rrule-canonical-order", [*WEEKLY[:2], "RRULE:BYDAY=TH;FREQ=WEEKLY;INTERVAL=2"],
     ["RRULE:FREQ=WEEKLY;BYDAY=TH;INTERVAL=2"]),
    ("until-utc", [*WEEKLY[:2], "RRULE:FREQ=DAILY;UNTIL=20300120T090000Z"],
     ["RRULE:FREQ=DAILY;UNTIL=20300120T090000Z"]),
    ("exdate-zoned-is-written-in-utc", [*WEEKLY, "EXDATE;TZID=Europe/Berlin:20300117T100000"],
     ["RRULE:FREQ=WEEKLY;COUNT=6", "EXDATE:20300117T090000Z"]),
    ("exdate-list-sorted", [*WEEKLY, "EXDATE;TZID=Europe/Berlin:20300124T100000,20300117T100000"],
     ["RRULE:FREQ=WEEKLY;COUNT=6", "EXDATE:20300117T090000Z", "EXDATE:20300124T090000Z"]),
    ("rdate", [*WEEKLY, "RDATE;TZID=Europe/Berlin:20300112T150000"],
     ["RRULE:FREQ=WEEKLY;COUNT=6", "RDATE:20300112T140000Z"]),
    ("all-day", ["DTSTART;VALUE=DATE:20300110", "RRULE:FREQ=YEARLY",
                 "EXDATE;VALUE=DATE:20310110"],
     ["RRULE:FREQ=YEARLY", "EXDATE;VALUE=DATE:20310110"]),
    ("floating", ["DTSTART:20300110T100000", "DTEND:20300110T110000", "RRULE:FREQ=DAILY;COUNT=3",
                  "EXDATE:20300111T100000"],
     ["RRULE:FREQ=DAILY;COUNT=3", "EXDATE:20300111T100000"]),
    ("not-recurring", WEEKLY[:2], []),
]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [case[1:] for case in RECURRENCE_CASES],
    ids=[case[0] for case in RECURRENCE_CASES],
)
def test_recurrence_lines(lines: list[str], expected: list[str]) -> None:
    text = vcal(vevent(*lines))
    result = ical_to_google(text, calendar_key="cal", calendar_tz="Europe/Berlin")
    assert result.master["recurrence"] == expected
    back = google_to_ical(google_echo(result.master), [], calendar_tz="Europe/Berlin")
    parse_resource(back)
    assert same_content(text, back)


def test_recurring_events_always_carry_time_zones() -> None:
    for lines, tz in (
        (["DTSTART;VALUE=DATE:20300110", "RRULE:FREQ=WEEKLY"], "America/New_York"),
        (["DTSTART:20300110T100000", "RRULE:FREQ=WEEKLY"], "Europe/Berlin"),
        (["DTSTART:20300110T090000Z", "DURATION:PT1H", "RRULE:FREQ=WEEKLY"], "Europe/Berlin"),
        (WEEKLY, "UTC"),
    ):
        body = ical_to_google(vcal(vevent(*lines)), calendar_key="c", calendar_tz=tz).master
        assert body["start"].get("timeZone"), lines
        assert body["end"].get("timeZone"), lines
    body = ical_to_google(
        vcal(vevent("DTSTART;VALUE=DATE:20300110", "RRULE:FREQ=WEEKLY")),
        calendar_key="c", calendar_tz="America/New_York",
    ).master
    assert body["start"] == {"date": "2030-01-10", "timeZone": "America/New_York"}


def test_override_becomes_exception_with_instance_id() -> None:
    text = series(override("20300124T100000", "DTSTART;TZID=Europe/Berlin:20300124T140000",
                           "DTEND;TZID=Europe/Berlin:20300124T150000", "SUMMARY:Moved"))
    result = ical_to_google(text, calendar_key="cal", calendar_tz="Europe/Berlin")
    master_id = ids.event_id("cal", "appt-1@termin.test")
    assert result.event_id == master_id == result.master["id"]
    [exc] = result.exceptions
    assert exc["id"] == f"{master_id}_20300124T090000Z"
    assert exc["recurringEventId"] == master_id
    assert exc["originalStartTime"] == {
        "dateTime": "2030-01-24T10:00:00+01:00", "timeZone": "Europe/Berlin"}
    assert exc["start"]["dateTime"] == "2030-01-24T14:00:00+01:00"
    assert exc["summary"] == "Moved"
    assert "recurrence" not in exc
    assert exc["extendedProperties"]["private"]["terminUid"] == "appt-1@termin.test"
    assert result.exception_ids == {exc["id"]}
    back = google_to_ical(
        google_echo(result.master), [google_echo(exc)], calendar_tz="Europe/Berlin"
    )
    moved = event_props(back, 1)
    assert moved["RECURRENCE-ID"].dt == datetime(2030, 1, 24, 10, tzinfo=BERLIN)
    assert str(moved["SUMMARY"]) == "Moved"
    assert same_content(text, back)


def test_override_across_dst_keeps_wall_clock_identity() -> None:
    text = series(
        override("20300404T100000", "DTSTART;TZID=Europe/Berlin:20300404T120000",
                 "DTEND;TZID=Europe/Berlin:20300404T130000"),
        master=[*WEEKLY[:2], "RRULE:FREQ=WEEKLY;COUNT=20"],
    )
    result = ical_to_google(text, calendar_key="cal", calendar_tz="UTC")
    [exc] = result.exceptions
    assert exc["id"].endswith("_20300404T080000Z")  # 10:00 CEST
    assert exc["originalStartTime"]["dateTime"] == "2030-04-04T10:00:00+02:00"


def test_cancelled_override_becomes_exdate() -> None:
    text = series(override("20300117T100000", "DTSTART;TZID=Europe/Berlin:20300117T100000",
                           "DTEND;TZID=Europe/Berlin:20300117T110000", "STATUS:CANCELLED"))
    result = ical_to_google(text, calendar_key="cal", calendar_tz="Europe/Berlin")
    assert result.exceptions == ()
    assert "EXDATE:20300117T090000Z" in result.master["recurrence"]
    assert result.excluded_instance_ids == {f"{result.event_id}_20300117T090000Z"}
    with_exdate = series(master=[*WEEKLY, "EXDATE;TZID=Europe/Berlin:20300117T100000"])
    assert same_content(text, with_exdate)


def test_google_cancelled_exception_becomes_exdate_and_round_trips() -> None:
    master = google_echo(ical_to_google(series(), calendar_key="c",
                                        calendar_tz="Europe/Berlin").master)
    gone = cancelled_instance(
        master["id"], {"dateTime": "2030-01-17T10:00:00+01:00", "timeZone": "Europe/Berlin"},
        "20300117T090000Z",
    )
    text = google_to_ical(master, [gone], calendar_tz="Europe/Berlin")
    ev = event_props(text)
    assert [d.dt for d in ev["EXDATE"].dts] == [datetime(2030, 1, 17, 10, tzinfo=BERLIN)]
    assert len(vevents(text)) == 1
    again = ical_to_google(text, calendar_key="c", calendar_tz="Europe/Berlin",
                           event_id=master["id"])
    # The cancelled exception and the EXDATE are the same content.
    assert same_content((master, [gone]), again)
    assert google_hash((master, [gone])) == again.content_hash == ical_hash(text)
    assert again.excluded_instance_ids == {gone["id"]}


def vevents(text: str) -> list[object]:
    return list(Calendar.from_ical(text).walk("VEVENT"))


def test_all_day_series_instance_ids_use_dates() -> None:
    text = vcal(vevent("DTSTART;VALUE=DATE:20300110", "RRULE:FREQ=DAILY;COUNT=5"),
                vevent("RECURRENCE-ID;VALUE=DATE:20300112", "DTSTART;VALUE=DATE:20300113",
                       "DTEND;VALUE=DATE:20300115", "SUMMARY:Moved"))
    result = ical_to_google(text, calendar_key="cal", calendar_tz="Europe/Berlin")
    [exc] = result.exceptions
    assert exc["id"] == f"{result.event_id}_20300112"
    assert exc["originalStartTime"] == {"date": "2030-01-12"}
    assert exc["end"] == {"date": "2030-01-15", "timeZone": "Europe/Berlin"}
    back = google_to_ical(result.master, list(result.exceptions), calendar_tz="Europe/Berlin")
    assert event_props(back, 1)["RECURRENCE-ID"].dt == date(2030, 1, 12)
    assert same_content(text, back)


def test_floating_series_instance_ids_use_calendar_zone() -> None:
    text = vcal(vevent("DTSTART:20300110T100000", "DTEND:20300110T110000",
                       "RRULE:FREQ=DAILY;COUNT=5"),
                vevent("RECURRENCE-ID:20300112T100000", "DTSTART:20300112T120000",
                       "DTEND:20300112T130000"))
    result = ical_to_google(text, calendar_key="cal", calendar_tz="America/New_York")
    [exc] = result.exceptions
    assert exc["id"] == f"{result.event_id}_20300112T150000Z"
    back = google_to_ical(google_echo(result.master), [google_echo(exc)],
                          calendar_tz="America/New_York")
    rid = event_props(back, 1)["RECURRENCE-ID"].dt
    assert rid == datetime(2030, 1, 12, 10) and rid.tzinfo is None
    assert same_content(text, back)


def test_google_origin_event_keeps_its_id_and_uid() -> None:
    item = {"kind": "calendar#event", "id": "abcdef123", "iCalUID": "abcdef123@google.com",
            "summary": "From Google", "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"],
            "start": {"dateTime": "2030-01-10T10:00:00+01:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2030-01-10T11:00:00+01:00", "timeZone": "Europe/Berlin"}}
    exc = dict(item, id="abcdef123_20300117T090000Z", recurringEventId="abcdef123",
               originalStartTime={"dateTime": "2030-01-17T10:00:00+01:00",
                                  "timeZone": "Europe/Berlin"},
               summary="Changed", recurrence=None,
               start={"dateTime": "2030-01-17T12:00:00+01:00", "timeZone": "Europe/Berlin"},
               end={"dateTime": "2030-01-17T13:00:00+01:00", "timeZone": "Europe/Berlin"})
    text = google_to_ical(item, [exc], calendar_tz="Europe/Berlin")
    assert parse_resource(text).uid == "abcdef123@google.com"
    result = ical_to_google(text, calendar_key="cal", calendar_tz="Europe/Berlin",
                            event_id="abcdef123")
    assert result.master["id"] == "abcdef123"
    assert [e["id"] for e in result.exceptions] == ["abcdef123_20300117T090000Z"]
    assert same_content((item, [exc]), result)


def test_uid_prefers_our_private_property() -> None:
    body = ical_to_google(series(), calendar_key="c", calendar_tz="UTC").master
    echo = google_echo(body)
    assert echo["iCalUID"] != "appt-1@termin.test"
    assert parse_resource(google_to_ical(echo, [], calendar_tz="UTC")).uid == "appt-1@termin.test"
    anonymous = {"id": "zzzz12345", "start": {"date": "2030-01-01"}, "end": {"date": "2030-01-02"}}
    assert parse_resource(google_to_ical(anonymous, [], calendar_tz="UTC")).uid == (
        "zzzz12345@google.com")


def test_missing_master_asks_for_it() -> None:
    gone = cancelled_instance("abcdef123", {"date": "2030-01-17"}, "20300117")
    with pytest.raises(MasterRequired) as info:
        google_to_ical(None, [gone], calendar_tz="UTC")
    assert info.value.recurring_event_id == "abcdef123"


def test_exception_of_another_series_is_refused() -> None:
    body = google_echo(ical_to_google(series(), calendar_key="c", calendar_tz="UTC").master)
    stray = cancelled_instance("otherseries1", {"date": "2030-01-17"}, "20300117")
    with pytest.raises(MappingError):
        google_to_ical(body, [stray], calendar_tz="UTC")


def test_overrides_without_master_are_unsupported() -> None:
    text = vcal(override("20300117T100000", "DTSTART;TZID=Europe/Berlin:20300117T100000"))
    with pytest.raises(UnsupportedResource):
        ical_to_google(text, calendar_key="c", calendar_tz="UTC")


def test_vtodo_is_unsupported_and_garbage_is_invalid() -> None:
    todo = vcal("BEGIN:VTODO\r\nUID:t1\r\nSUMMARY:x\r\nEND:VTODO")
    with pytest.raises(UnsupportedResource):
        ical_to_google(todo, calendar_key="c", calendar_tz="UTC")
    with pytest.raises(InvalidICalendar):
        ical_to_google("not a calendar", calendar_key="c", calendar_tz="UTC")


def test_unknown_calendar_zone_is_refused() -> None:
    with pytest.raises(MappingError):
        ical_to_google(series(), calendar_key="c", calendar_tz="Mars/Olympus")


def test_echo_per_item_for_master_and_exceptions() -> None:
    text = series(override("20300124T100000", "DTSTART;TZID=Europe/Berlin:20300124T140000",
                           "DTEND;TZID=Europe/Berlin:20300124T150000", "SUMMARY:Moved"))
    result = ical_to_google(text, calendar_key="cal", calendar_tz="Europe/Berlin")
    echoes = [google_echo(b) for b in result.bodies()]
    assert all(is_echo(e) for e in echoes)
    moved_again = dict(echoes[1], summary="Moved again")
    assert not is_echo(moved_again)
    assert not is_echo(cancelled_instance(result.event_id, {"date": "2030-01-17"}, "x"))
