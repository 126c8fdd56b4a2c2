"""Table tests: event fields between iCalendar and Google (both directions)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from bridge.google.mapping import (
    EventDeleted,
    google_to_ical,
    ical_to_google,
    is_echo,
    same_content,
    with_min_sequence,
)
from bridge.ical.validate import parse_resource
from tests.unit.mapping.mapping_testlib import event_props, google_echo, vcal, vevent

START = ["DTSTART;TZID=Europe/Berlin:20300110T100000", "DTEND;TZID=Europe/Berlin:20300110T110000"]


def to_google(*lines: str) -> dict[str, Any]:
    text = vcal(vevent(*START, *lines))
    return ical_to_google(text, calendar_key="cal", calendar_tz="Europe/Berlin").master


def alarm(*lines: str) -> str:
    return "\r\n".join(["BEGIN:VALARM", *lines, "END:VALARM"])


# (case id, VEVENT lines, path into the body, expected value)
FIELD_CASES: list[tuple[str, list[str], tuple[str, ...], object]] = [
    ("summary", ["SUMMARY:Haircut, wash; dry"], ("summary",), "Haircut, wash; dry"),
    ("no-summary-is-empty", [], ("summary",), ""),
    ("description-multiline", ["DESCRIPTION:line 1\\nline 2"], ("description",),
     "line 1\nline 2"),
    ("location", ["LOCATION:Hauptstr. 1\\, Berlin"], ("location",), "Hauptstr. 1, Berlin"),
    ("status-default", [], ("status",), "confirmed"),
    ("status-tentative", ["STATUS:TENTATIVE"], ("status",), "tentative"),
    ("transp-opaque", ["TRANSP:OPAQUE"], ("transparency",), "opaque"),
    ("transp-transparent", ["TRANSP:TRANSPARENT"], ("transparency",), "transparent"),
    ("class-none", [], ("visibility",), "default"),
    ("class-public", ["CLASS:PUBLIC"], ("visibility",), "public"),
    ("class-private", ["CLASS:PRIVATE"], ("visibility",), "private"),
    ("class-confidential", ["CLASS:CONFIDENTIAL"], ("visibility",), "confidential"),
    ("class-unknown-is-private", ["CLASS:X-SECRET"], ("visibility",), "private"),
    ("url-http-in-source", ["URL:https://shop.example/b/42"], ("source", "url"),
     "https://shop.example/b/42"),
    ("url-in-private", ["URL:https://shop.example/b/42"],
     ("extendedProperties", "private", "terminUrl"), "https://shop.example/b/42"),
    ("url-non-http-private-only", ["URL:urn:booking:42"],
     ("extendedProperties", "private", "terminUrl"), "urn:booking:42"),
    ("categories", ["CATEGORIES:Cut,Colour", "CATEGORIES:VIP"],
     ("extendedProperties", "private", "terminCategories"), json.dumps(["Cut", "Colour", "VIP"])),
    ("customer-name", ["X-TERMIN-CUSTOMER-NAME:Anna Müller"],
     ("extendedProperties", "private", "terminCustomerName"), "Anna Müller"),
    ("customer-email", ["X-TERMIN-CUSTOMER-EMAIL:anna@example.com"],
     ("extendedProperties", "private", "terminCustomerEmail"), "anna@example.com"),
    ("customer-phone", ["X-TERMIN-CUSTOMER-PHONE:+49 30 1234"],
     ("extendedProperties", "private", "terminCustomerPhone"), "+49 30 1234"),
    ("service", ["X-TERMIN-SERVICE:Haircut"],
     ("extendedProperties", "private", "terminService"), "Haircut"),
    ("customer-absent-is-empty", [],
     ("extendedProperties", "private", "terminCustomerName"), ""),
    ("uid-private", [], ("extendedProperties", "private", "terminUid"), "appt-1@termin.test"),
    ("sequence", ["SEQUENCE:4"], ("sequence",), 4),
    ("organizer-private", ["ORGANIZER;CN=Shop:mailto:Shop@Example.com"],
     ("extendedProperties", "private", "terminOrganizerEmail"), "shop@example.com"),
    ("attendees", ["ATTENDEE;CN=Anna;PARTSTAT=ACCEPTED:mailto:anna@example.com",
                   "ATTENDEE;ROLE=OPT-PARTICIPANT;PARTSTAT=TENTATIVE:mailto:bob@example.com",
                   "ATTENDEE;CUTYPE=ROOM:mailto:room1@example.com",
                   "ATTENDEE;PARTSTAT=DELEGATED:mailto:carl@example.com",
                   "ATTENDEE:tel:+49301234"],
     ("attendees",),
     [{"email": "anna@example.com", "responseStatus": "accepted", "displayName": "Anna"},
      {"email": "bob@example.com", "responseStatus": "tentative", "optional": True},
      {"email": "carl@example.com", "responseStatus": "needsAction"},
      {"email": "room1@example.com", "responseStatus": "needsAction", "resource": True}]),
    ("no-alarm-uses-default", [], ("reminders",), {"useDefault": True, "overrides": []}),
    ("explicitly-no-reminders", ["X-TERMIN-GOOGLE-REMINDERS:NONE"], ("reminders",),
     {"useDefault": False, "overrides": []}),
    ("display-alarm", [alarm("ACTION:DISPLAY", "TRIGGER:-PT15M", "DESCRIPTION:x")],
     ("reminders",), {"useDefault": False, "overrides": [{"method": "popup", "minutes": 15}]}),
    ("email-and-audio", [alarm("ACTION:EMAIL", "TRIGGER:-P1D", "SUMMARY:s", "DESCRIPTION:d",
                               "ATTENDEE:mailto:a@example.com"),
                         alarm("ACTION:AUDIO", "TRIGGER:-PT5M")],
     ("reminders",), {"useDefault": False, "overrides": [{"method": "popup", "minutes": 5},
                                                         {"method": "email", "minutes": 1440}]}),
    ("alarm-related-end", [alarm("ACTION:DISPLAY", "TRIGGER;RELATED=END:-PT90M",
                                 "DESCRIPTION:x")],
     ("reminders",), {"useDefault": False, "overrides": [{"method": "popup", "minutes": 30}]}),
    ("alarm-absolute", [alarm("ACTION:DISPLAY", "TRIGGER;VALUE=DATE-TIME:20300110T080000Z",
                              "DESCRIPTION:x")],
     ("reminders",), {"useDefault": False, "overrides": [{"method": "popup", "minutes": 60}]}),
    ("alarm-seconds-rounded-earlier", [alarm("ACTION:DISPLAY", "TRIGGER:-PT90S",
                                             "DESCRIPTION:x")],
     ("reminders",), {"useDefault": False, "overrides": [{"method": "popup", "minutes": 2}]}),
    ("alarm-after-start-dropped", [alarm("ACTION:DISPLAY", "TRIGGER:PT5M", "DESCRIPTION:x")],
     ("reminders",), {"useDefault": False, "overrides": []}),
    ("alarm-too-early-clamped", [alarm("ACTION:DISPLAY", "TRIGGER:-P40D", "DESCRIPTION:x")],
     ("reminders",), {"useDefault": False, "overrides": [{"method": "popup", "minutes": 40320}]}),
    ("alarms-capped-at-five-closest",
     [alarm("ACTION:DISPLAY", f"TRIGGER:-PT{m}M", "DESCRIPTION:x")
      for m in (120, 5, 60, 10, 30, 15, 45, 5)],
     ("reminders",), {"useDefault": False, "overrides": [
         {"method": "popup", "minutes": m} for m in (5, 10, 15, 30, 45)]}),
]


@pytest.mark.parametrize(
    ("lines", "path", "expected"),
    [case[1:] for case in FIELD_CASES],
    ids=[case[0] for case in FIELD_CASES],
)
def test_field_to_google_and_back(
    lines: list[str], path: tuple[str, ...], expected: object
) -> None:
    text = vcal(vevent(*START, *lines))
    body = ical_to_google(text, calendar_key="cal", calendar_tz="Europe/Berlin").master
    value: Any = body
    for key in path:
        value = value[key]
    assert value == expected
    back = google_to_ical(google_echo(body), [], calendar_tz="Europe/Berlin")
    parse_resource(back)
    assert same_content(text, back)
    again = ical_to_google(back, calendar_key="cal", calendar_tz="Europe/Berlin").master
    assert again == body


def test_cancelled_master_means_delete_on_google() -> None:
    text = vcal(vevent(*START, "STATUS:CANCELLED"))
    result = ical_to_google(text, calendar_key="cal", calendar_tz="Europe/Berlin")
    assert result.cancelled
    assert result.master["status"] == "cancelled"
    with pytest.raises(EventDeleted):
        google_to_ical(result.master, [], calendar_tz="Europe/Berlin")


def test_bodies_never_carry_notification_settings_or_organizer() -> None:
    body = to_google("ORGANIZER:mailto:shop@example.com", "ATTENDEE:mailto:a@example.com")
    assert "sendUpdates" not in body
    assert "sendNotifications" not in body
    assert "organizer" not in body
    assert not any(key.startswith("guestsCan") for key in body)


def test_fields_from_google_event() -> None:
    item = {
        "kind": "calendar#event", "id": "g0000001", "iCalUID": "g0000001@google.com",
        "status": "tentative", "summary": "Meeting", "description": "<b>HTML</b> kept",
        "location": "Room 1", "transparency": "transparent", "visibility": "confidential",
        "source": {"title": "Booking", "url": "https://shop.example/b/1"},
        "start": {"dateTime": "2030-01-10T10:00:00+01:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2030-01-10T11:00:00+01:00", "timeZone": "Europe/Berlin"},
        "organizer": {"email": "boss@example.com", "displayName": "Boss"},
        "attendees": [
            {"email": "boss@example.com", "organizer": True, "responseStatus": "accepted"},
            {"email": "Me@Example.com", "self": True, "responseStatus": "declined"},
        ],
        "reminders": {"useDefault": False,
                      "overrides": [{"method": "email", "minutes": 30},
                                    {"method": "popup", "minutes": 10}]},
        "sequence": 2,
    }
    ev = event_props(google_to_ical(item, [], calendar_tz="UTC"))
    assert str(ev["UID"]) == "g0000001@google.com"
    assert str(ev["STATUS"]) == "TENTATIVE"
    assert str(ev["DESCRIPTION"]) == "<b>HTML</b> kept"
    assert str(ev["TRANSP"]) == "TRANSPARENT"
    assert str(ev["CLASS"]) == "CONFIDENTIAL"
    assert str(ev["URL"]) == "https://shop.example/b/1"
    assert str(ev["ORGANIZER"]) == "mailto:boss@example.com"
    assert ev["ORGANIZER"].params["CN"] == "Boss"
    attendees = sorted(str(a) for a in ev["ATTENDEE"])
    assert attendees == ["mailto:boss@example.com", "mailto:me@example.com"]
    assert int(ev["SEQUENCE"]) == 2
    alarms = sorted(
        (str(a["ACTION"]), a["TRIGGER"].dt) for a in ev.subcomponents if a.name == "VALARM"
    )
    assert alarms == [("DISPLAY", timedelta(minutes=-10)), ("EMAIL", timedelta(minutes=-30))]


def test_google_self_organizer_without_guests_is_not_content() -> None:
    item = {"id": "g0000002", "iCalUID": "x@google.com", "summary": "Solo",
            "start": {"date": "2030-01-10"}, "end": {"date": "2030-01-11"},
            "organizer": {"email": "me@example.com", "self": True},
            "creator": {"email": "me@example.com", "self": True}}
    text = google_to_ical(item, [], calendar_tz="UTC")
    assert "ORGANIZER" not in text
    assert "ATTENDEE" not in text


def test_google_no_reminders_round_trips_with_marker() -> None:
    item = {"id": "g0000003", "summary": "Quiet", "reminders": {"useDefault": False},
            "start": {"date": "2030-01-10"}, "end": {"date": "2030-01-11"}}
    text = google_to_ical(item, [], calendar_tz="UTC")
    assert "X-TERMIN-GOOGLE-REMINDERS:NONE" in text
    body = ical_to_google(text, calendar_key="c", calendar_tz="UTC", event_id="g0000003").master
    assert body["reminders"] == {"useDefault": False, "overrides": []}
    assert same_content(item, body)


def test_google_defaults_do_not_count_as_change() -> None:
    body = to_google("SUMMARY:Cut", "X-TERMIN-CUSTOMER-NAME:Anna")
    echo = google_echo(body, revision=7)
    assert same_content(body, echo)
    assert is_echo(echo)
    edited = dict(echo, summary="Cut and colour")
    assert not same_content(body, edited)
    assert not is_echo(edited)


def test_ical_formatting_does_not_count_as_change() -> None:
    a = vcal(vevent(*START, "SUMMARY:Cut", "LOCATION:Shop", "SEQUENCE:1"))
    b = vcal(vevent("LOCATION:Shop", "SEQUENCE:7", "SUMMARY:Cut", *reversed(START)))
    b = b.replace("LOCATION:Shop", "LOCATION:Sh\r\n op")  # folded line
    b = b.replace("PRODID:-//tests//mapping//EN", "PRODID:-//Apple Inc.//iOS 17//EN")
    assert same_content(a, b)
    assert not same_content(a, a.replace("SUMMARY:Cut", "SUMMARY:Cut!"))


def test_with_min_sequence() -> None:
    body = to_google("SEQUENCE:1")
    assert with_min_sequence(body, 5)["sequence"] == 5
    assert with_min_sequence(body, 0)["sequence"] == 1
    assert body["sequence"] == 1


def test_long_private_values_are_capped_at_google_limit() -> None:
    long_name = "N" * 2000
    body = to_google(f"X-TERMIN-CUSTOMER-NAME:{long_name}")
    assert body["extendedProperties"]["private"]["terminCustomerName"] == "N" * 1024
    cats = ",".join(f"category-{i:03d}" for i in range(200))
    body = to_google(f"CATEGORIES:{cats}")
    assert len(body["extendedProperties"]["private"]["terminCategories"]) <= 1024
