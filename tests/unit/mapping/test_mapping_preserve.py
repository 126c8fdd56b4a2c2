"""A pulled Google edit keeps what Google cannot hold from the stored text (mapping_preserve)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import icalendar

from bridge.google.mapping import google_hash, google_to_ical, ical_hash, ical_to_google
from bridge.google.mapping_ical import MAPPED_PROPS, resource_from_ical
from bridge.google.mapping_ical_render import resource_to_ical
from bridge.google.mapping_preserve import preserve_local_only
from bridge.ical import parse_resource
from bridge.ical.model import (
    Attendee,
    EventData,
    Moment,
    Person,
    Reminder,
    ResourceData,
)
from tests.unit.mapping.mapping_testlib import BERLIN_VTIMEZONE, google_echo, vcal, vevent

TZ = "Europe/Berlin"
UID = "appt-1@termin.test"
SINGLE = ["DTSTART;TZID=Europe/Berlin:20300110T100000",
          "DTEND;TZID=Europe/Berlin:20300110T110000", "SUMMARY:Haircut"]
LOCAL_ONLY = [
    "PRIORITY:1",
    "GEO:52.52;13.405",
    "ATTACH:https://example.com/a.pdf",
    "ATTACH;FMTTYPE=image/png:https://example.com/b.png",
    "RESOURCES:Chair 3",
    "COMMENT:bring the voucher",
    "CONTACT:Jim Dolittle\\, ABC Industries\\, +1-919-555-1234",
    "RELATED-TO:other@termin.test",
    "X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC",
]
WEEKLY = ["DTSTART;TZID=Europe/Berlin:20300110T100000",
          "DTEND;TZID=Europe/Berlin:20300110T110000", "RRULE:FREQ=WEEKLY;COUNT=6",
          "SUMMARY:Weekly"]

Edit = Callable[[dict[str, Any]], None]


def retitle(title: str) -> Edit:
    def edit(body: dict[str, Any]) -> None:
        body["summary"] = title
    return edit


def pulled(old: str, edit_master: Edit | None = None, *, drop_exceptions: bool = False,
           edit_exception: Edit | None = None) -> tuple[str, str]:
    """``old`` pushed to Google, edited there, pulled: (Google's text, text kept locally)."""
    bodies = ical_to_google(old, calendar_key="alice/work", calendar_tz=TZ)
    master = google_echo(bodies.master, revision=2)
    exceptions = [] if drop_exceptions else [google_echo(e, revision=2)
                                             for e in bodies.exceptions]
    if edit_master:
        edit_master(master)
    if edit_exception:
        edit_exception(exceptions[0])
    new = google_to_ical(master, exceptions, calendar_tz=TZ)
    merged = preserve_local_only(new, old, calendar_tz=TZ)
    parse_resource(merged)  # through the gate
    assert ical_hash(merged, calendar_tz=TZ) == ical_hash(new, calendar_tz=TZ)
    assert ical_hash(merged, calendar_tz=TZ) == google_hash((master, exceptions),
                                                            calendar_tz=TZ)
    return new, merged


def events(text: str) -> list[Any]:
    return icalendar.Calendar.from_ical(text).walk("VEVENT")


def lines(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")


def test_master_keeps_local_only_properties_byte_for_byte() -> None:
    old = vcal(vevent(*SINGLE, *LOCAL_ONLY))
    new, merged = pulled(old, retitle("Haircut and beard"))
    assert "PRIORITY" not in new
    assert str(events(merged)[0]["SUMMARY"]) == "Haircut and beard"
    for line in LOCAL_ONLY:
        assert line in lines(merged)
    assert preserve_local_only(merged, old, calendar_tz=TZ) == merged  # idempotent


def test_nothing_to_keep_returns_the_new_text_itself() -> None:
    old = vcal(vevent(*SINGLE))
    new, merged = pulled(old, retitle("Other"))
    assert merged is new


def test_master_and_overrides_matched_by_recurrence_id() -> None:
    override = vevent("RECURRENCE-ID:20300117T090000Z",  # same instant as 10:00 Berlin
                      "DTSTART;TZID=Europe/Berlin:20300117T120000",
                      "DTEND;TZID=Europe/Berlin:20300117T130000", "SUMMARY:Weekly",
                      "X-APPLE-STRUCTURED-LOCATION;VALUE=URI;X-TITLE=Home:geo:52.5,13.4",
                      "PRIORITY:9")
    old = vcal(vevent(*WEEKLY, "PRIORITY:1", "COMMENT:master only"), override)
    _, merged = pulled(old, retitle("Weekly (new)"))
    master, moved = events(merged)
    assert "RECURRENCE-ID" not in master
    assert str(master["SUMMARY"]) == "Weekly (new)"
    assert str(master["PRIORITY"]) == "1" and str(master["COMMENT"]) == "master only"
    assert "X-APPLE-STRUCTURED-LOCATION" not in master
    assert str(moved["PRIORITY"]) == "9"
    assert "X-APPLE-STRUCTURED-LOCATION;VALUE=URI;X-TITLE=Home:geo:52.5,13.4" in lines(merged)
    assert "COMMENT" not in moved


def test_property_in_both_new_wins() -> None:
    old = vcal(vevent(*SINGLE, "X-CLIENT:old", "X-CLIENT:old too", "PRIORITY:5"))
    new = vcal(vevent(*SINGLE, "X-CLIENT:new"))
    merged = preserve_local_only(new, old, calendar_tz=TZ)
    assert "X-CLIENT:new" in lines(merged)
    assert "X-CLIENT:old" not in lines(merged) and "X-CLIENT:old too" not in lines(merged)
    assert "PRIORITY:5" in lines(merged)


def test_mapped_properties_are_never_carried() -> None:
    old = vcal(vevent(*SINGLE, "LOCATION:Salon", "DESCRIPTION:old notes",
                      "CATEGORIES:VIP", "X-TERMIN-SERVICE:Cut", "PRIORITY:2"))
    _, merged = pulled(old, lambda b: b.update(location="", description=""))
    ev = events(merged)[0]
    assert "LOCATION" not in ev and "DESCRIPTION" not in ev  # cleared in Google: stays cleared
    assert str(ev["PRIORITY"]) == "2"


def test_removed_override_is_not_resurrected() -> None:
    override = vevent("RECURRENCE-ID;TZID=Europe/Berlin:20300117T100000",
                      "DTSTART;TZID=Europe/Berlin:20300117T120000",
                      "DTEND;TZID=Europe/Berlin:20300117T130000", "SUMMARY:Weekly",
                      "X-ONLY-HERE:1")
    old = vcal(vevent(*WEEKLY, "PRIORITY:1"), override)
    _, merged = pulled(old, drop_exceptions=True)
    assert len(events(merged)) == 1
    assert "X-ONLY-HERE" not in merged
    assert "PRIORITY:1" in lines(merged)


def test_override_edited_in_google_keeps_its_local_properties() -> None:
    override = vevent("RECURRENCE-ID;TZID=Europe/Berlin:20300117T100000",
                      "DTSTART;TZID=Europe/Berlin:20300117T120000",
                      "DTEND;TZID=Europe/Berlin:20300117T130000", "SUMMARY:Weekly",
                      "X-ONLY-HERE:1")
    old = vcal(vevent(*WEEKLY), override)
    _, merged = pulled(old, edit_exception=retitle("Moved, renamed"))
    moved = events(merged)[1]
    assert str(moved["SUMMARY"]) == "Moved, renamed" and str(moved["X-ONLY-HERE"]) == "1"


RICH_ALARM = [
    "BEGIN:VALARM", "ACTION:AUDIO", "TRIGGER:-PT15M", "REPEAT:2", "DURATION:PT5M",
    "ATTACH;FMTTYPE=audio/basic:https://example.com/ding.au", "X-WR-ALARMUID:abc-1",
    "END:VALARM",
]


def test_alarm_details_kept_when_reminders_unchanged() -> None:
    old = vcal(vevent(*SINGLE, *RICH_ALARM))
    new, merged = pulled(old, retitle("Renamed"))
    assert "REPEAT" not in new
    for line in RICH_ALARM:
        assert line in lines(merged)
    assert merged.count("BEGIN:VALARM") == 1


def test_alarm_details_dropped_when_google_changed_reminders() -> None:
    old = vcal(vevent(*SINGLE, *RICH_ALARM))
    new, merged = pulled(old, lambda b: b.update(
        reminders={"useDefault": False, "overrides": [{"method": "popup", "minutes": 30}]}))
    assert merged == new
    assert "TRIGGER:-PT30M" in lines(merged)


def test_absolute_trigger_not_kept_when_the_event_moved() -> None:
    alarm = ["BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:Go",
             "TRIGGER;VALUE=DATE-TIME:20300110T084500Z", "END:VALARM"]
    old = vcal(vevent(*SINGLE, *alarm))
    # Unmoved: the absolute trigger still gives 15 minutes, so it is kept.
    _, kept = pulled(old, retitle("Renamed"))
    assert "TRIGGER;VALUE=DATE-TIME:20300110T084500Z" in lines(kept)

    def move(body: dict[str, Any]) -> None:
        body["start"] = {"dateTime": "2030-01-10T12:00:00+01:00", "timeZone": TZ}
        body["end"] = {"dateTime": "2030-01-10T13:00:00+01:00", "timeZone": TZ}
    # Moved by two hours, still 15 minutes on Google: the old trigger would say 135.
    new, merged = pulled(old, move)
    assert "20300110T084500Z" not in merged
    assert "TRIGGER:-PT15M" in lines(merged)
    assert merged == new


def test_alarms_the_mapping_rendered_follow_the_new_summary() -> None:
    # Came from Google: its VALARM is the mapping's own rendering (DESCRIPTION = summary).
    first = google_echo(ical_to_google(
        vcal(vevent(*SINGLE, "BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT10M",
                    "DESCRIPTION:x", "END:VALARM")),
        calendar_key="k", calendar_tz=TZ).master)
    old = google_to_ical(first, [], calendar_tz=TZ)
    second = dict(first, summary="Renamed")
    new = google_to_ical(second, [], calendar_tz=TZ)
    assert preserve_local_only(new, old, calendar_tz=TZ) is new


def test_hostile_and_odd_values_still_pass_the_gate() -> None:
    odd = [
        'X-ODD;X-P="a:b;c";X-Q=plain:va\\,l\\;ue\\\\n with ünïcødé ✓',
        "x-lower-case:kept as written",
        "X-LONG:" + "€" * 300,
        "X-WHEN;TZID=Berlin custom:20300110T100000",
        "ATTACH;ENCODING=BASE64;VALUE=BINARY:SGVsbG8gd29ybGQ=",
        "X-EMPTY:",
        "BEGIN:X-CLIENT-THING", "X-INNER:1", "END:X-CLIENT-THING",
    ]
    body = vevent("DTSTART;TZID=Berlin custom:20300110T100000",
                  "DTEND;TZID=Berlin custom:20300110T110000", "SUMMARY:Odd", *odd)
    # Stored with LF line ends and the long line folded, as some clients send it.
    old = parse_resource(vcal(BERLIN_VTIMEZONE, body)).text
    folded = icalendar.Calendar.from_ical(old).to_ical().decode()
    assert parse_resource(folded.replace("\r\n", "\n"))
    for text in (old, folded.replace("\r\n", "\n")):
        new, merged = pulled(text, retitle("Odd, renamed"))
        assert "Berlin custom" not in new  # Google speaks IANA
        assert "TZID:Berlin custom" in lines(merged)  # the carried X-WHEN needs it
        assert "X-EMPTY:" in lines(merged) and "X-INNER:1" in lines(merged)
        cal = icalendar.Calendar.from_ical(merged)
        assert str(cal.walk("VEVENT")[0]["X-LONG"]) == "€" * 300
        assert "\n" not in merged.replace("\r\n", "")


def test_unusable_old_text_gives_the_new_text() -> None:
    new = vcal(vevent(*SINGLE))
    for old in ("", "garbage", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VCALENDAR\r\n",
                vcal(vevent("SUMMARY:no start"))):
        assert preserve_local_only(new, old, calendar_tz=TZ) == new


# The field set and the mapping must not drift apart: the reader touches and the renderer
# writes nothing outside MAPPED_PROPS (else a property Google now holds would be carried over
# a Google edit and bring an old value back).

def test_reader_reads_only_mapped_properties() -> None:
    # From the outside: the model read from an event is the same whatever the event holds
    # besides MAPPED_PROPS (alarms are components, read as reminders).
    text = vcal(
        vevent(*WEEKLY, *LOCAL_ONLY, "DESCRIPTION:d", "LOCATION:l", "URL:https://e.com",
               "STATUS:TENTATIVE", "TRANSP:TRANSPARENT", "CLASS:PRIVATE", "CATEGORIES:A,B",
               "ORGANIZER;CN=O:mailto:o@example.com", "ATTENDEE;CN=A:mailto:a@example.com",
               "RDATE;TZID=Europe/Berlin:20300301T100000",
               "EXDATE;TZID=Europe/Berlin:20300124T100000", "SEQUENCE:3",
               "X-TERMIN-CUSTOMER-NAME:N", "X-TERMIN-SERVICE:S", *RICH_ALARM),
        vevent("RECURRENCE-ID;TZID=Europe/Berlin:20300117T100000",
               "DTSTART;TZID=Europe/Berlin:20300117T120000", "DURATION:PT1H",
               "SUMMARY:Moved", "X-TERMIN-GOOGLE-REMINDERS:NONE", *LOCAL_ONLY),
    )
    full = icalendar.Calendar.from_ical(text)
    stripped = icalendar.Calendar.from_ical(text)
    removed: set[str] = set()
    for comp in stripped.walk("VEVENT"):
        for name in [n for n in comp if n not in MAPPED_PROPS]:
            removed.add(name)
            del comp[name]
    changed = icalendar.Calendar.from_ical(text)
    for comp in changed.walk("VEVENT"):
        for name in [n for n in comp if n not in MAPPED_PROPS]:
            del comp[name]
            comp.add(name, icalendar.vText("another value"))
    assert {"PRIORITY", "GEO", "ATTACH", "COMMENT", "RELATED-TO"} <= removed
    expected = resource_from_ical(full, calendar_tz=TZ)
    assert expected.master.summary and expected.master.description == "d"
    assert resource_from_ical(stripped, calendar_tz=TZ) == expected
    assert resource_from_ical(changed, calendar_tz=TZ) == expected


def test_renderer_writes_only_mapped_properties() -> None:
    start = Moment(datetime(2030, 1, 10, 10, tzinfo=UTC), "UTC")
    end = Moment(datetime(2030, 1, 10, 11, tzinfo=UTC), "UTC")
    full = EventData(
        start=start, end=end, summary="s", description="d", location="l", klass="PRIVATE",
        transparent=True, url="https://e.com", categories=("a",),
        organizer=Person("o@example.com", "O"), attendees=(Attendee("a@example.com", "A"),),
        reminders=(Reminder("email", 10),), customer=(("X-TERMIN-SERVICE", "S"),),
        rrule="FREQ=DAILY;COUNT=3", rdates=(Moment(datetime(2030, 2, 1, tzinfo=UTC), "UTC"),),
        exdates=(Moment(datetime(2030, 1, 11, 10, tzinfo=UTC), "UTC"),), sequence=2,
        created=datetime(2029, 1, 1, tzinfo=UTC), updated=datetime(2029, 1, 2, tzinfo=UTC))
    override = EventData(start=end, end=end, recurrence_id=start, reminders=())
    text = resource_to_ical(ResourceData(UID, full, (override,)))
    names = {name.upper() for ev in events(text) for name in ev}
    assert names <= MAPPED_PROPS, names - MAPPED_PROPS
